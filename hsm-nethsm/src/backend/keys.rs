//! The key store operations: readiness, key details, generation, import, deletion, public
//! keys.

use hsm_core::store::check_algorithm_fits;
use hsm_core::{
    Error, ImportRequest, KeyId, KeyInfo, KeySpec, KeyTemplate, PrivateKeyParts, PublicKey, Result,
    SignAlgorithm,
};

use super::AsyncNetHsm;
use super::lock;
use super::trace::traced;
use crate::protocol::{
    GenerateKeyRequest, ImportKeyRequest, KeyPrivateData, KeyType, key_ids, key_types, signing,
};

impl AsyncNetHsm {
    /// Whether the device can serve this handle now, for a readiness probe: `GET
    /// /health/ready` (the device is operational), then `GET /keys` with the credentials (they
    /// are accepted). Two cheap requests; no key details are fetched.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidState`](hsm_core::ErrorKind::InvalidState) for a locked or unprovisioned device,
    /// [`ErrorKind::AuthenticationFailed`](hsm_core::ErrorKind::AuthenticationFailed) for credentials it refuses, transport errors.
    pub async fn health(&self) -> Result<()> {
        traced("health", None, None, async {
            let _slot = self.slot("nethsm.health").await?;
            self.inner.client.health_ready().await?;
            self.inner.client.list_keys().await.map(drop)
        })
        .await
    }

    /// One key's details (from the cache after the first use).
    ///
    /// # Errors
    /// As [`hsm_core::KeyStore::key_info`].
    pub async fn key_info(&self, key: &KeyId) -> Result<KeyInfo> {
        traced("key_info", Some(key), None, async {
            let id = key_ids::to_device(key, "nethsm.key_info")?;
            Self::info(&id, self.key(&id).await?.as_ref())
        })
        .await
    }

    /// Generates a key with the mechanisms of the template's algorithms (AES keys get CBC
    /// encryption and decryption), as the administrator when one is configured.
    ///
    /// # Errors
    /// As [`hsm_core::KeyStore::generate_key`].
    pub async fn generate_key(&self, template: &KeyTemplate) -> Result<KeyInfo> {
        let call = self.generate_key_untraced(template);
        traced("generate_key", Some(&template.id), None, call).await
    }

    async fn generate_key_untraced(&self, template: &KeyTemplate) -> Result<KeyInfo> {
        const OP: &str = "nethsm.generate_key";
        let (key_type, length) = self.device_key_type(template.spec, OP)?;
        let id = key_ids::to_device(&template.id, OP)?;
        let mechanisms = signing::mechanisms(template.spec, &template.effective_algorithms());
        if mechanisms.is_empty() {
            return Err(Error::invalid_input(OP, "no algorithm fits the key spec"));
        }
        self.forget(&id);
        if key_type == KeyType::Generic {
            let _ = lock(&self.inner.secret_specs).insert(id.clone(), template.spec);
        }
        let request = GenerateKeyRequest {
            mechanisms,
            key_type,
            length,
            id: Some(id.clone()),
            restrictions: None,
            label: None,
        };
        let created = {
            let _slot = self.slot(OP).await?;
            self.manager().generate_key(&request).await
        };
        let created = created.inspect_err(|_| {
            if key_type == KeyType::Generic {
                self.forget_secret_spec(&id);
            }
        })?;
        Self::info(&created.id, self.key(&created.id).await?.as_ref())
    }

    /// Imports an RSA, EC or Ed25519 key (`PUT /keys/{id}`): the client sends the parts the
    /// device wants (RSA primes and exponent, the EC scalar, the Ed25519 seed).
    ///
    /// # Errors
    /// As [`hsm_core::KeyStore::import_key`].
    pub async fn import_key(&self, request: &ImportRequest) -> Result<KeyInfo> {
        let call = self.import_key_untraced(request);
        traced("import_key", Some(&request.id), None, call).await
    }

    async fn import_key_untraced(&self, request: &ImportRequest) -> Result<KeyInfo> {
        const OP: &str = "nethsm.import_key";
        let parts = request.key.decode()?;
        let spec = parts.spec();
        let (key_type, _) = self.device_key_type(spec, OP)?;
        let algorithms = request.algorithms.clone().unwrap_or_else(|| {
            SignAlgorithm::ALL
                .iter()
                .copied()
                .filter(|a| check_algorithm_fits(spec, *a, OP).is_ok())
                .collect()
        });
        let mechanisms = signing::mechanisms(spec, &algorithms);
        if mechanisms.is_empty() {
            return Err(Error::invalid_input(OP, "no algorithm fits the key"));
        }
        let private = match &parts {
            PrivateKeyParts::Rsa {
                public_exponent,
                prime_p,
                prime_q,
                ..
            } => KeyPrivateData {
                prime_p: Some(prime_p.clone()),
                prime_q: Some(prime_q.clone()),
                public_exponent: Some(public_exponent.clone()),
                data: None,
            },
            PrivateKeyParts::Ec { scalar, .. } => KeyPrivateData {
                prime_p: None,
                prime_q: None,
                public_exponent: None,
                data: Some(scalar.clone()),
            },
            PrivateKeyParts::Ed25519 { seed } => KeyPrivateData {
                prime_p: None,
                prime_q: None,
                public_exponent: None,
                data: Some(seed.clone()),
            },
            _ => return Err(Error::unsupported(OP, format!("{spec} keys"))),
        };
        let id = key_ids::to_device(&request.id, OP)?;
        self.forget(&id);
        let body = ImportKeyRequest {
            mechanisms,
            key_type,
            private,
            restrictions: None,
            label: request.label.clone(),
        };
        let id = {
            let _slot = self.slot(OP).await?;
            self.manager().import_key(Some(&id), &body).await?
        };
        Self::info(&id, self.key(&id).await?.as_ref())
    }

    /// Deletes a key, as the administrator when one is configured.
    ///
    /// # Errors
    /// As [`hsm_core::KeyStore::delete_key`].
    pub async fn delete_key(&self, key: &KeyId) -> Result<()> {
        traced("delete_key", Some(key), None, async {
            let id = key_ids::to_device(key, "nethsm.delete_key")?;
            self.forget(&id);
            {
                let _slot = self.slot("nethsm.delete_key").await?;
                self.manager().delete_key(&id).await?;
            }
            self.forget_secret_spec(&id);
            Ok(())
        })
        .await
    }

    /// The key's public key (from the cache after the first use).
    ///
    /// # Errors
    /// As [`hsm_core::KeyStore::public_key`].
    pub async fn public_key(&self, key: &KeyId) -> Result<PublicKey> {
        traced("public_key", Some(key), None, async {
            let id = key_ids::to_device(key, "nethsm.public_key")?;
            self.key(&id).await?.public_key.clone().ok_or_else(|| {
                Error::invalid_input("nethsm.public_key", format!("{id} is a secret key"))
            })
        })
        .await
    }

    /// The device's key type and length for `spec`, when this handle declares it.
    fn device_key_type(
        &self,
        spec: KeySpec,
        operation: &'static str,
    ) -> Result<(KeyType, Option<u32>)> {
        let unsupported = || Error::unsupported(operation, format!("{spec} keys"));
        if !self.capabilities().has_spec(spec) {
            return Err(unsupported());
        }
        key_types::key_type(spec).ok_or_else(unsupported)
    }
}
