//! [`KeyStore`] for [`Pkcs11Hsm`]: each call runs the token's key calls on a pooled session and
//! names its errors after the public operation.

use cryptoki::object::{Attribute, ObjectClass};
use hsm_core::{
    Capabilities, Error, ImportRequest, KeyId, KeyInfo, KeyStore, KeyTemplate, PublicKey, Result,
};

use crate::backend::{Pkcs11Hsm, named};
use crate::client::{import, keys};
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

    #[tracing::instrument(name = "pkcs11.public_key", skip_all)]
    fn public_key(&self, key: &KeyId) -> Result<PublicKey> {
        self.pool
            .run("pkcs11.public_key", |s| {
                keys::public_key(s, key, "pkcs11.public_key")
            })
            .map_err(named("pkcs11.public_key"))
    }
}
