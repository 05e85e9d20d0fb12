//! [`N200`]: the `KeyStore + Signer` backend over [`N200Client`].
//!
//! Keys are named by their `nice_name` (what the GET API and the PKCS#11 object label use). A
//! [`KeyId`] may also be the REST key id (`hsm0101...`, 39 characters), the PKCS#11 token label
//! (31 characters) or `id:HEX` (the PKCS#11 `CKA_ID`, the N200's `id` field). The first use of a
//! key costs one lookup; after that a signature is one HTTP request on a kept connection.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use hsm_core::secret::SecretString;
use hsm_core::store::{check_algorithm_fits, check_digest, check_message};
use hsm_core::{
    Capabilities, Curve, Error, ErrorKind, ImportRequest, KeyId, KeyInfo, KeySpec, KeyStore,
    KeyTemplate, PrivateKeyParts, PublicKey, Result, SignAlgorithm, Signature, Signer,
};

use crate::client::N200Client;
use crate::keytypes::{LISTED_TYPES, spec_of};
use crate::labels::KeyIdent;
use crate::model::KeyEntry;
use crate::post_api;
use crate::sigformat;

/// A key resolved to what a signature request needs.
#[derive(Clone, Debug)]
struct Resolved {
    nice_name: String,
    spec: KeySpec,
}

/// The N200 backend: a client bound to one core, the key PIN, and a cache of resolved keys.
pub struct N200 {
    client: N200Client,
    pin: Arc<SecretString>,
    acl: String,
    cache: RwLock<HashMap<KeyId, Resolved>>,
    #[cfg(feature = "sim")]
    pub(crate) simulator: Option<crate::sim::Simulator>,
}

impl std::fmt::Debug for N200 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("N200")
            .field("client", &self.client)
            .field("acl", &self.acl)
            .finish_non_exhaustive()
    }
}

/// Every key spec the N200 backend declares.
const SPECS: [KeySpec; 10] = [
    KeySpec::Rsa2048,
    KeySpec::Rsa3072,
    KeySpec::Rsa4096,
    KeySpec::Ec(Curve::P256),
    KeySpec::Ec(Curve::P384),
    KeySpec::Ec(Curve::P521),
    KeySpec::Ec(Curve::Secp256k1),
    KeySpec::Ec(Curve::BrainpoolP256r1),
    KeySpec::Ec(Curve::BrainpoolP384r1),
    KeySpec::Ec(Curve::BrainpoolP512r1),
];

impl N200 {
    /// A backend over `client`, signing with the key PIN `pin` (empty when the device stores
    /// the PIN itself) and creating keys with `acl` (the record uses `FFFF`).
    #[must_use]
    pub fn new(client: N200Client, pin: SecretString, acl: impl Into<String>) -> Self {
        Self {
            client,
            pin: Arc::new(pin),
            acl: acl.into(),
            cache: RwLock::new(HashMap::new()),
            #[cfg(feature = "sim")]
            simulator: None,
        }
    }

    /// The client underneath (for the typed commands, the GET API and other cores).
    #[must_use]
    pub fn client(&self) -> &N200Client {
        &self.client
    }

    /// The simulator this backend started (`n200+sim:`), if any.
    #[cfg(feature = "sim")]
    #[must_use]
    pub fn simulator(&self) -> Option<&crate::sim::Simulator> {
        self.simulator.as_ref()
    }

    /// Every key of the bound core, as the device lists it.
    fn entries(&self) -> Result<Vec<KeyEntry>> {
        let mut out = Vec::new();
        for key_type in LISTED_TYPES {
            out.extend(self.client.list_keys(key_type)?.keys);
        }
        Ok(out)
    }

    /// The device's entry for `key`.
    fn entry(&self, key: &KeyId, operation: &'static str) -> Result<KeyEntry> {
        let not_found = || {
            Error::not_found(
                operation,
                format!("no key {key} on core {}", self.client.core()),
            )
        };
        if let Some(bytes) = key.as_bytes() {
            let wanted = hex::encode_upper(bytes);
            return self
                .entries()?
                .into_iter()
                .find(|e| {
                    e.id.as_deref()
                        .is_some_and(|id| id.eq_ignore_ascii_case(&wanted))
                })
                .ok_or_else(not_found);
        }
        let name = key.as_name().ok_or_else(not_found)?;
        if let Ok(ident) = name.parse::<KeyIdent>() {
            return self
                .entries()?
                .into_iter()
                .find(|e| e.key_id == ident.as_str())
                .ok_or_else(not_found);
        }
        self.client
            .key_attributes(name)
            .map_err(|e| e.with_operation(operation))
    }

    fn resolve(&self, key: &KeyId, operation: &'static str) -> Result<Resolved> {
        if let Some(r) = self.cache.read().ok().and_then(|c| c.get(key).cloned()) {
            return Ok(r);
        }
        let entry = self.entry(key, operation)?;
        let resolved = Resolved {
            spec: entry_spec(&entry, operation)?,
            nice_name: entry
                .nice_name
                .clone()
                .ok_or_else(|| Error::protocol(operation, "the key has no nice_name"))?,
        };
        if let Ok(mut cache) = self.cache.write() {
            let _ = cache.insert(key.clone(), resolved.clone());
        }
        Ok(resolved)
    }

    fn forget(&self, key: &KeyId) {
        if let Ok(mut cache) = self.cache.write() {
            cache.clear();
            let _ = key;
        }
    }

    fn key_info_of(&self, entry: &KeyEntry, operation: &'static str) -> Result<KeyInfo> {
        let spec = spec_of(
            entry.key_type.as_deref().unwrap_or_default(),
            entry.key_len.unwrap_or_default(),
        );
        let name = entry
            .nice_name
            .clone()
            .unwrap_or_else(|| entry.key_id.clone());
        let mut info = KeyInfo::new(
            KeyId::name(name.clone()).map_err(|e| e.with_operation(operation))?,
            spec,
        )
        .with_label(name.clone())
        .with_extra("key_id", entry.key_id.clone())
        .with_extra("core", self.client.core().to_string());
        if let Ok(ident) = entry.key_id.parse::<KeyIdent>() {
            if let Ok(label) = ident.token_label() {
                info = info.with_extra("token_label", label);
            }
            if let Ok(uri) = ident.pkcs11_uri(&name) {
                info = info.with_extra("pkcs11_uri", uri);
            }
        }
        for (field, value) in [
            ("cka_id", &entry.id),
            ("acl", &entry.key_acl),
            ("owner", &entry.key_owner),
            ("created", &entry.date_of_creation),
            ("last_used", &entry.date_of_last_use),
        ] {
            if let Some(v) = value {
                info = info.with_extra(field, v.clone());
            }
        }
        Ok(info)
    }

    fn refuse_duplicate(&self, nice_name: &str, operation: &'static str) -> Result<()> {
        match self.client.key_attributes(nice_name) {
            Ok(_) => Err(
                Error::new(ErrorKind::AlreadyExists, operation).with_message(format!(
                    "a key named {nice_name:?} exists on core {}",
                    self.client.core()
                )),
            ),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.with_operation(operation)),
        }
    }

    /// Checks the request and resolves the key: shared by `sign`, `sign_digest`, `sign_many`.
    fn prepare(
        &self,
        key: &KeyId,
        algorithm: SignAlgorithm,
        operation: &'static str,
    ) -> Result<Resolved> {
        if !self.capabilities().has_algorithm(algorithm) {
            return Err(Error::unsupported(
                operation,
                format!("the N200 has no {algorithm}"),
            ));
        }
        let resolved = self.resolve(key, operation)?;
        check_algorithm_fits(resolved.spec, algorithm, operation)?;
        Ok(resolved)
    }

    fn digest_of(algorithm: SignAlgorithm, message: &[u8]) -> Vec<u8> {
        match algorithm.hash() {
            Some(h) => h.digest(message),
            None => message.to_vec(),
        }
    }

    fn sign_resolved(
        &self,
        key: &KeyId,
        r: &Resolved,
        algorithm: SignAlgorithm,
        digest: &[u8],
    ) -> Result<Signature> {
        let result = match (r.spec.curve(), r.spec.rsa_bits()) {
            (Some(curve), _) => {
                self.client
                    .sign_ecc(&r.nice_name, &self.pin, curve, algorithm, digest)
            }
            (None, Some(bits)) => {
                self.client
                    .sign_rsa(&r.nice_name, &self.pin, bits / 8, algorithm, digest)
            }
            _ => Err(Error::unsupported(
                "n200.sign",
                format!("a {} key cannot sign", r.spec),
            )),
        };
        if let Err(e) = &result
            && e.kind() == ErrorKind::NotFound
        {
            self.forget(key);
        }
        result
    }
}

fn entry_spec(entry: &KeyEntry, operation: &'static str) -> Result<KeySpec> {
    let key_type = entry.key_type.as_deref().unwrap_or_default();
    let bits = entry.key_len.unwrap_or_default();
    spec_of(key_type, bits).ok_or_else(|| {
        Error::unsupported(
            operation,
            format!("key type {key_type:?} of {bits} bits is not modelled"),
        )
    })
}

impl KeyStore for N200 {
    fn backend(&self) -> &'static str {
        "n200"
    }

    fn capabilities(&self) -> Capabilities {
        let algorithms = vec![
            SignAlgorithm::EcdsaSha256,
            SignAlgorithm::EcdsaSha384,
            SignAlgorithm::EcdsaSha512,
            SignAlgorithm::EcdsaPrehashed,
            SignAlgorithm::RsaPkcs1Sha256,
            SignAlgorithm::RsaPkcs1Sha384,
            SignAlgorithm::RsaPkcs1Sha512,
            SignAlgorithm::RsaPssSha256,
            SignAlgorithm::RsaPssSha384,
            SignAlgorithm::RsaPssSha512,
        ];
        Capabilities::new(SPECS.to_vec(), algorithms)
            .with_import(true)
            .with_delete(true)
    }

    fn list_keys(&self) -> Result<Vec<KeyInfo>> {
        let _span = tracing::debug_span!("n200.list_keys").entered();
        self.entries()?
            .iter()
            .map(|e| self.key_info_of(e, "n200.list_keys"))
            .collect()
    }

    fn key_info(&self, key: &KeyId) -> Result<KeyInfo> {
        let _span = tracing::debug_span!("n200.key_info").entered();
        let entry = self.entry(key, "n200.key_info")?;
        self.key_info_of(&entry, "n200.key_info")
    }

    fn generate_key(&self, template: &KeyTemplate) -> Result<KeyInfo> {
        const OP: &str = "n200.generate_key";
        let _span = tracing::debug_span!("n200.generate_key").entered();
        if !SPECS.contains(&template.spec) {
            return Err(Error::unsupported(
                OP,
                format!("the N200 backend cannot generate {} keys", template.spec),
            ));
        }
        let name = template.id.as_name().ok_or_else(|| {
            Error::invalid_input(OP, "N200 keys are named by text (the nice_name)")
        })?;
        self.refuse_duplicate(name, OP)?;
        let generated = match (template.spec.curve(), template.spec.rsa_bits()) {
            (Some(curve), _) => self.client.gen_ecc_key(curve, name, &self.pin, &self.acl)?,
            (None, Some(bits)) => self.client.gen_rsa_key(
                u32::try_from(bits).unwrap_or(u32::MAX),
                name,
                &self.pin,
                &self.acl,
            )?,
            _ => return Err(Error::unsupported(OP, "not an asymmetric key")),
        };
        self.forget(&template.id);
        let entry = KeyEntry {
            key_id: generated.key_id,
            nice_name: Some(name.to_owned()),
            key_type: Some(crate::keytypes::key_type_name(template.spec).to_owned()),
            key_len: u32::try_from(template.spec.curve().map_or_else(
                || template.spec.rsa_bits().unwrap_or(0),
                |c| crate::keytypes::curve_family(c).1 as usize,
            ))
            .ok(),
            ..KeyEntry::default()
        };
        self.key_info_of(&entry, OP)
    }

    fn import_key(&self, request: &ImportRequest) -> Result<KeyInfo> {
        const OP: &str = "n200.import_key";
        let _span = tracing::debug_span!("n200.import_key").entered();
        let name = request.id.as_name().ok_or_else(|| {
            Error::invalid_input(OP, "N200 keys are named by text (the nice_name)")
        })?;
        let PrivateKeyParts::Ec { curve, scalar } = request.key.decode()? else {
            return Err(Error::unsupported(
                OP,
                "the N200 imports EC keys only (importecckey)",
            ));
        };
        self.refuse_duplicate(name, OP)?;
        let key_id = self
            .client
            .import_ecc_key(curve, name, &self.pin, &self.acl, &scalar)?;
        self.forget(&request.id);
        let (family, bits) = crate::keytypes::curve_family(curve);
        let entry = KeyEntry {
            key_id,
            nice_name: Some(name.to_owned()),
            key_type: Some(family.to_owned()),
            key_len: Some(bits),
            ..KeyEntry::default()
        };
        self.key_info_of(&entry, OP)
    }

    fn delete_key(&self, key: &KeyId) -> Result<()> {
        const OP: &str = "n200.delete_key";
        let _span = tracing::debug_span!("n200.delete_key").entered();
        let resolved = self.resolve(key, OP)?;
        self.forget(key);
        self.client
            .delete_key(&resolved.nice_name, &self.pin)
            .map_err(|e| e.with_operation(OP))
    }

    fn public_key(&self, key: &KeyId) -> Result<PublicKey> {
        const OP: &str = "n200.public_key";
        let _span = tracing::debug_span!("n200.public_key").entered();
        let mut entry = self.entry(key, OP)?;
        let spec = entry_spec(&entry, OP)?;
        if !spec.is_asymmetric() {
            return Err(Error::invalid_input(OP, "a secret key has no public key"));
        }
        if entry.public_key.is_none() {
            // getkeyattributes may leave it out; listkeys has it.
            let key_type = crate::keytypes::key_type_name(spec);
            entry = self
                .client
                .list_keys(key_type)?
                .keys
                .into_iter()
                .find(|e| e.key_id == entry.key_id)
                .ok_or_else(|| Error::not_found(OP, format!("no key {key}")))?;
        }
        let text = entry
            .public_key
            .ok_or_else(|| Error::protocol(OP, "the device sent no public key"))?;
        let bytes = sigformat::decode_text(&text, OP)?;
        match spec.curve() {
            Some(curve) => {
                let point = if bytes.len() == 2 * curve.field_len() {
                    [&[0x04][..], &bytes].concat()
                } else {
                    bytes
                };
                PublicKey::from_ec_point(curve, &point)
            }
            None => PublicKey::from_der(&bytes),
        }
    }
}

impl Signer for N200 {
    fn sign(&self, key: &KeyId, algorithm: SignAlgorithm, message: &[u8]) -> Result<Signature> {
        const OP: &str = "n200.sign";
        let _span = tracing::debug_span!("n200.sign", %algorithm).entered();
        check_message(message, self.capabilities().max_message_len, OP)?;
        if algorithm == SignAlgorithm::EcdsaPrehashed {
            check_digest(algorithm, message, OP)?;
        }
        let resolved = self.prepare(key, algorithm, OP)?;
        self.sign_resolved(
            key,
            &resolved,
            algorithm,
            &Self::digest_of(algorithm, message),
        )
    }

    fn sign_digest(
        &self,
        key: &KeyId,
        algorithm: SignAlgorithm,
        digest: &[u8],
    ) -> Result<Signature> {
        const OP: &str = "n200.sign_digest";
        let _span = tracing::debug_span!("n200.sign_digest", %algorithm).entered();
        check_digest(algorithm, digest, OP)?;
        let resolved = self.prepare(key, algorithm, OP)?;
        self.sign_resolved(key, &resolved, algorithm, digest)
    }

    /// Signs with up to `max_in_flight` requests in flight on the shared connection pool.
    fn sign_many(
        &self,
        key: &KeyId,
        algorithm: SignAlgorithm,
        messages: &[&[u8]],
    ) -> Vec<Result<Signature>> {
        const OP: &str = "n200.sign_many";
        let _span =
            tracing::debug_span!("n200.sign_many", %algorithm, n = messages.len()).entered();
        let resolved = match self.prepare(key, algorithm, OP) {
            Ok(r) => r,
            // Every message fails the same way; let `sign` say how, one by one.
            Err(_) => {
                return messages
                    .iter()
                    .map(|m| self.sign(key, algorithm, m))
                    .collect();
            }
        };
        let max = self.capabilities().max_message_len;
        let inputs: Vec<Result<Vec<u8>>> = messages
            .iter()
            .map(|m| {
                check_message(m, max, OP)?;
                if algorithm == SignAlgorithm::EcdsaPrehashed {
                    check_digest(algorithm, m, OP)?;
                }
                Ok(Self::digest_of(algorithm, m))
            })
            .collect();
        let shared = Arc::clone(&self.client.shared);
        let core = self.client.core();
        let pin = Arc::clone(&self.pin);
        let spec = resolved.spec;
        let name: Arc<str> = Arc::from(resolved.nice_name.as_str());
        let run = async move {
            let permits = Arc::new(tokio::sync::Semaphore::new(shared.max_in_flight));
            let mut handles = Vec::with_capacity(inputs.len());
            for input in inputs {
                let (shared, pin, name, permits) = (
                    Arc::clone(&shared),
                    Arc::clone(&pin),
                    Arc::clone(&name),
                    Arc::clone(&permits),
                );
                handles.push(tokio::spawn(async move {
                    let digest = input?;
                    let _permit = permits
                        .acquire()
                        .await
                        .map_err(|e| Error::new(ErrorKind::InvalidState, OP).with_source(e))?;
                    let t = &shared.transport;
                    match (spec.curve(), spec.rsa_bits()) {
                        (Some(curve), _) => {
                            post_api::sign_ecc(t, core, &name, &pin, curve, algorithm, &digest)
                                .await
                        }
                        (None, Some(bits)) => {
                            post_api::sign_rsa(t, core, &name, &pin, bits / 8, algorithm, &digest)
                                .await
                        }
                        _ => Err(Error::unsupported(OP, "not an asymmetric key")),
                    }
                }));
            }
            let mut out = Vec::with_capacity(handles.len());
            for h in handles {
                out.push(h.await.unwrap_or_else(|e| {
                    Err(Error::new(ErrorKind::Device, OP)
                        .with_message("a signing task failed")
                        .with_source(e))
                }));
            }
            out
        };
        match self.client.block_on(run) {
            Ok(results) => results,
            Err(e) => {
                let msg = e.to_string();
                messages
                    .iter()
                    .map(|_| Err(Error::new(e.kind(), OP).with_message(msg.clone())))
                    .collect()
            }
        }
    }
}
