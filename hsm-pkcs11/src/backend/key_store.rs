//! [`KeyStore`] for [`Pkcs11Hsm`]: each call runs the token's key calls on a pooled session and
//! names its errors after the public operation.

use cryptoki::object::{Attribute, ObjectClass};
use hsm_core::{
    Capabilities, Error, ImportRequest, KeyId, KeyInfo, KeyStore, KeyTemplate, PublicKey, Result,
};

use crate::backend::{Pkcs11Hsm, named};
use crate::client::{import, keys, objects};
use crate::protocol::attributes::id_and_label;

impl KeyStore for Pkcs11Hsm {
    fn backend(&self) -> &'static str {
        "pkcs11"
    }

    fn capabilities(&self) -> Capabilities {
        self.capabilities.clone()
    }

    #[tracing::instrument(name = "pkcs11.list_keys", skip_all)]
    fn list_keys(&self) -> Result<Vec<KeyInfo>> {
        // Without the login the private keys are invisible and the list would be silently short.
        self.pool.check_token("pkcs11.list_keys")?;
        if self.pool.login_lost() {
            self.pool.recover()?;
        }
        self.pool
            .run("pkcs11.list_keys", |s| {
                let handles = s.find_objects(&[Attribute::Class(ObjectClass::PRIVATE_KEY)])?;
                handles.into_iter().map(|h| keys::info(s, h)).collect()
            })
            .map_err(named("pkcs11.list_keys"))
    }

    #[tracing::instrument(name = "pkcs11.key_info", skip_all)]
    fn key_info(&self, key: &KeyId) -> Result<KeyInfo> {
        self.pool
            .run("pkcs11.key_info", |s| {
                let h = keys::find_private(s, key, "pkcs11.key_info")?;
                let mut info = keys::info(s, h)?;
                info.id = key.clone();
                Ok(info)
            })
            .map_err(named("pkcs11.key_info"))
    }

    #[tracing::instrument(name = "pkcs11.generate_key", skip_all)]
    fn generate_key(&self, template: &KeyTemplate) -> Result<KeyInfo> {
        const OP: &str = "pkcs11.generate_key";
        let spec = template.spec;
        if !self.capabilities.has_spec(spec) {
            return Err(Error::unsupported(
                OP,
                format!("the token cannot generate {spec} keys"),
            ));
        }
        let (id, label) = id_and_label(&template.id, template.label.as_deref());
        self.forget(&template.id);
        self.pool
            .run(OP, |s| {
                keys::ensure_free(s, &template.id, &id, &label, OP)?;
                let h = keys::generate(s, spec, &id, &label)?;
                let mut info = keys::info(s, h)?;
                info.id = template.id.clone();
                Ok(info)
            })
            .map_err(named(OP))
    }

    #[tracing::instrument(name = "pkcs11.import_key", skip_all)]
    fn import_key(&self, request: &ImportRequest) -> Result<KeyInfo> {
        const OP: &str = "pkcs11.import_key";
        let parts = request.key.decode().map_err(named(OP))?;
        let public = import::public_of(&parts).map_err(named(OP))?;
        let (id, label) = id_and_label(&request.id, request.label.as_deref());
        self.forget(&request.id);
        self.pool
            .run(OP, |s| {
                keys::ensure_free(s, &request.id, &id, &label, OP)?;
                let h = keys::import(s, &parts, &public, &id, &label)?;
                let mut info = keys::info(s, h)?;
                info.id = request.id.clone();
                Ok(info)
            })
            .map_err(named(OP))
    }

    #[tracing::instrument(name = "pkcs11.delete_key", skip_all)]
    fn delete_key(&self, key: &KeyId) -> Result<()> {
        self.forget(key);
        self.pool.run("pkcs11.delete_key", |s| keys::delete(s, key))
    }

    /// The token answers (`C_GetTokenInfo` for the token this backend opened) and the
    /// application is logged in: a login lost behind the backend's back is taken again with the
    /// PIN that worked (as any operation would); opened without a PIN on a token that needs a
    /// login, it is [`PermissionDenied`](hsm_core::ErrorKind::PermissionDenied).
    #[tracing::instrument(name = "pkcs11.health", skip_all)]
    fn health(&self) -> Result<()> {
        self.pool.health("pkcs11.health")
    }

    #[tracing::instrument(name = "pkcs11.certificate", skip_all)]
    fn certificate(&self, key: &KeyId) -> Result<Option<Vec<u8>>> {
        const OP: &str = "pkcs11.certificate";
        self.pool
            .run(OP, |s| objects::key_certificate(s, key, OP))
            .map_err(named(OP))
    }

    #[tracing::instrument(name = "pkcs11.store_certificate", skip_all)]
    fn store_certificate(&self, key: &KeyId, der: &[u8]) -> Result<()> {
        const OP: &str = "pkcs11.store_certificate";
        hsm_core::certificate::check_certificate_der(der, OP)?;
        self.pool
            .run(OP, |s| objects::store_key_certificate(s, key, der, OP))
            .map_err(named(OP))
    }

    #[tracing::instrument(name = "pkcs11.delete_certificate", skip_all)]
    fn delete_certificate(&self, key: &KeyId) -> Result<()> {
        const OP: &str = "pkcs11.delete_certificate";
        self.pool
            .run(OP, |s| objects::delete_key_certificate(s, key, OP))
            .map_err(named(OP))
    }

    /// `C_GenerateRandom`, declared only when the token has an RNG (`CKF_RNG`).
    #[tracing::instrument(name = "pkcs11.random", skip_all)]
    fn random(&self, len: usize) -> Result<Vec<u8>> {
        const OP: &str = "pkcs11.random";
        hsm_core::store::check_random_len(len, OP)?;
        if !self.capabilities.random {
            return Err(Error::unsupported(
                OP,
                "the token has no random number generator (no CKF_RNG)",
            ));
        }
        if len == 0 {
            return Ok(Vec::new());
        }
        let len = u32::try_from(len).map_err(|_| Error::invalid_input(OP, "too many bytes"))?;
        self.pool
            .run(OP, |s| Ok(s.generate_random_vec(len)?))
            .map_err(named(OP))
    }

    #[tracing::instrument(name = "pkcs11.public_key", skip_all)]
    fn public_key(&self, key: &KeyId) -> Result<PublicKey> {
        self.pool
            .run("pkcs11.public_key", |s| {
                keys::public_key(s, key, "pkcs11.public_key")
            })
            .map_err(named("pkcs11.public_key"))
    }
}
