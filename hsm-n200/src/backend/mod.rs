//! [`AsyncN200`]: the key-level async API over [`N200Client`], and the one copy of the backend
//! logic (key resolution, checks, duplicate refusal) that the blocking [`N200`](crate::N200)
//! runs on its private runtime.
//!
//! Keys are named by their `nice_name` (what the GET API and the PKCS#11 object label use). A
//! [`KeyId`] may also be the REST key id (`hsm0101...`, 39 characters), the PKCS#11 token label
//! (31 characters) or `id:HEX` (the PKCS#11 `CKA_ID`, the N200's `id` field). The first use of a
//! key costs one lookup; after that a signature is one HTTP request on a kept connection.

mod async_traits;
pub(crate) mod blocking;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use hsm_core::secret::SecretString;
use hsm_core::store::check_algorithm_fits;
use hsm_core::{
    Capabilities, Error, ErrorKind, ImportRequest, KeyId, KeyInfo, KeySpec, KeyTemplate,
    PrivateKeyParts, PublicKey, Result, SignAlgorithm, SignRequest, Signature,
};

use crate::client::N200Client;
use crate::protocol::keytypes::{LISTED_TYPES, spec_of};
use crate::protocol::labels::KeyIdent;
use crate::protocol::model::{KeyEntry, MAX_RANDOM_PER_REQUEST};
use crate::protocol::sigformat;

/// A key resolved to what a signature request needs.
#[derive(Clone, Debug)]
struct Resolved {
    nice_name: String,
    spec: KeySpec,
}

/// The N200 for tokio services: the operations of the `hsm-core` traits as `async fn`s (every
/// future is `Send`), over a client bound to one core, with the key PIN and a cache of resolved
/// keys. Cheap to clone (clones share the cache and the connections).
///
/// ```no_run
/// # async fn demo(client: hsm_n200::N200Client) -> hsm_core::Result<()> {
/// use hsm_core::{SignAlgorithm, secret::SecretString};
/// let n200 = hsm_n200::AsyncN200::new(client, SecretString::from("12345678"), "FFFF");
/// let key = "JP.example".parse()?;
/// let signature = n200.sign(&key, SignAlgorithm::EcdsaSha256, b"zone data").await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct AsyncN200 {
    client: N200Client,
    pin: Arc<SecretString>,
    acl: Arc<str>,
    cache: Arc<RwLock<HashMap<KeyId, Resolved>>>,
    /// What the backend keeps alive while any clone lives: the simulator that
    /// [`open`](mod@crate::open) started for an `n200+sim:` URI.
    #[cfg(feature = "sim")]
    pub(crate) keep_alive: Option<Arc<dyn std::any::Any + Send + Sync>>,
}

impl std::fmt::Debug for AsyncN200 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncN200")
            .field("client", &self.client)
            .field("acl", &self.acl)
            .finish_non_exhaustive()
    }
}

/// Whether the N200 backend has `spec`: every one hsm-core names but Ed25519, which the N200's
/// public API does not have.
fn declared(spec: KeySpec) -> bool {
    spec != KeySpec::Ed25519
}

/// The key size of an AES spec.
fn aes_bits(spec: KeySpec) -> Option<u32> {
    match spec {
        KeySpec::Aes128 => Some(128),
        KeySpec::Aes256 => Some(256),
        _ => None,
    }
}

/// What the N200 backend can do: every key spec and algorithm of hsm-core but Ed25519.
pub(crate) fn capabilities() -> Capabilities {
    let specs: Vec<KeySpec> = KeySpec::ALL.into_iter().filter(|s| declared(*s)).collect();
    let algorithms = SignAlgorithm::ALL
        .into_iter()
        .filter(|a| *a != SignAlgorithm::Ed25519)
        .collect();
    // `importecckey` is the only import command the public API has: EC keys on every curve.
    let importable = specs
        .iter()
        .copied()
        .filter(|s| matches!(s, KeySpec::Ec(_)))
        .collect();
    Capabilities::new(specs, algorithms)
        .with_import(true)
        .with_import_specs(importable)
        .with_delete(true)
}

impl AsyncN200 {
    /// A backend over `client`, signing with the key PIN `pin` (empty when the device stores
    /// the PIN itself) and creating keys with `acl` (the record uses `FFFF`).
    #[must_use]
    pub fn new(client: N200Client, pin: SecretString, acl: impl Into<String>) -> Self {
        Self {
            client,
            pin: Arc::new(pin),
            acl: Arc::from(acl.into()),
            cache: Arc::new(RwLock::new(HashMap::new())),
            #[cfg(feature = "sim")]
            keep_alive: None,
        }
    }

    /// This backend over a client with a connection pool of its own
    /// ([`N200Client::with_own_connections`]), sharing the key PIN, the ACL, the key cache and
    /// what it keeps alive: the instance of a thread lane of the blocking [`N200`](crate::N200).
    ///
    /// # Errors
    /// As [`N200Client::with_own_connections`].
    pub(crate) fn with_own_connections(&self) -> Result<Self> {
        Ok(Self {
            client: self.client.with_own_connections()?,
            ..self.clone()
        })
    }

    /// The client underneath (for the typed commands, the GET API and other cores).
    #[must_use]
    pub fn client(&self) -> &N200Client {
        &self.client
    }

    /// What this backend can do (as [`KeyStore::capabilities`](hsm_core::KeyStore::capabilities)):
    /// the keys and algorithms the N200 has, and the device's random-number generator.
    #[must_use]
    pub fn capabilities(&self) -> Capabilities {
        capabilities().with_random(true)
    }

    /// Every key of the bound core, as the device lists it.
    async fn entries(&self) -> Result<Vec<KeyEntry>> {
        let mut out = Vec::new();
        for key_type in LISTED_TYPES {
            out.extend(self.client.list_keys(key_type).await?.keys);
        }
        Ok(out)
    }

    /// The device's entry for `key`.
    async fn entry(&self, key: &KeyId, operation: &'static str) -> Result<KeyEntry> {
        let not_found = || {
            Error::not_found(
                operation,
                format!("no key {key} on core {}", self.client.core()),
            )
        };
        if let Some(bytes) = key.as_bytes() {
            let wanted = hex::encode_upper(bytes);
            return self
                .entries()
                .await?
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
                .entries()
                .await?
                .into_iter()
                .find(|e| e.key_id == ident.as_str())
                .ok_or_else(not_found);
        }
        self.client
            .key_attributes(name)
            .await
            .map_err(|e| e.with_operation(operation))
    }

    fn cached(&self, key: &KeyId) -> Option<Resolved> {
        self.cache.read().ok().and_then(|c| c.get(key).cloned())
    }

    async fn resolve(&self, key: &KeyId, operation: &'static str) -> Result<Resolved> {
        if let Some(r) = self.cached(key) {
            return Ok(r);
        }
        let entry = self.entry(key, operation).await?;
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

    /// Drops every cached resolution (a key's other names may be cached too).
    fn forget(&self) {
        if let Ok(mut cache) = self.cache.write() {
            cache.clear();
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

    async fn refuse_duplicate(&self, nice_name: &str, operation: &'static str) -> Result<()> {
        match self.client.key_attributes(nice_name).await {
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
    async fn prepare(
        &self,
        key: &KeyId,
        algorithm: SignAlgorithm,
        operation: &'static str,
    ) -> Result<Resolved> {
        if !capabilities().has_algorithm(algorithm) {
            return Err(Error::unsupported(
                operation,
                format!("the N200 has no {algorithm}"),
            ));
        }
        let resolved = self.resolve(key, operation).await?;
        check_algorithm_fits(resolved.spec, algorithm, operation)?;
        Ok(resolved)
    }

    /// The message checks of `sign` (empty, too long, a prehashed digest's length) and the
    /// hashing, by [`SignRequest::message`].
    fn message_request(
        algorithm: SignAlgorithm,
        message: &[u8],
        op: &'static str,
    ) -> Result<SignRequest> {
        SignRequest::message(algorithm, message, capabilities().max_message_len, op)
    }

    async fn sign_resolved(&self, r: &Resolved, request: &SignRequest) -> Result<Signature> {
        let result = self
            .client
            .sign_request(&r.nice_name, &self.pin, r.spec, request)
            .await;
        if let Err(e) = &result
            && e.kind() == ErrorKind::NotFound
        {
            self.forget();
        }
        result
    }

    /// Whether the N200 serves calls now, for a readiness probe: one `getrandom` of one byte on
    /// the bound core. That one small request reaches the crypto core this backend uses (a
    /// `timestamp` may be answered by the appliance without it) and carries the credentials
    /// as every request does; `list_keys` would be one `listkeys` per key type.
    ///
    /// # Errors
    /// [`ErrorKind::AuthenticationFailed`] for a refused password, [`ErrorKind::Unavailable`]
    /// when the device cannot be reached or refuses the TLS connection,
    /// [`ErrorKind::Timeout`] when it does not answer within the call's budget, device errors.
    pub async fn health(&self) -> Result<()> {
        self.client
            .get_random(1)
            .await
            .map(drop)
            .map_err(|e| e.with_operation("n200.health"))
    }

    /// `len` bytes (at most [`hsm_core::MAX_RANDOM_LEN`]) from the random-number generator of
    /// the bound core (`getrandom`), in requests of at most
    /// [`MAX_RANDOM_PER_REQUEST`](crate::protocol::model::MAX_RANDOM_PER_REQUEST) bytes.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] for `len` over `MAX_RANDOM_LEN`; transport, authentication
    /// and device errors; [`ErrorKind::Protocol`] for an answer of another length.
    pub async fn random(&self, len: usize) -> Result<Vec<u8>> {
        const OP: &str = "n200.random";
        if len > hsm_core::MAX_RANDOM_LEN {
            return Err(Error::invalid_input(
                OP,
                format!(
                    "{len} random bytes asked for; at most {} per call",
                    hsm_core::MAX_RANDOM_LEN
                ),
            ));
        }
        let mut out = Vec::with_capacity(len);
        while out.len() < len {
            let n = (len - out.len()).min(MAX_RANDOM_PER_REQUEST);
            let chunk = self
                .client
                .get_random(n)
                .await
                .map_err(|e| e.with_operation(OP))?;
            out.extend_from_slice(&chunk.bytes);
        }
        Ok(out)
    }

    /// Every key of the bound core.
    ///
    /// # Errors
    /// Transport, authentication and device errors.
    pub async fn list_keys(&self) -> Result<Vec<KeyInfo>> {
        self.entries()
            .await?
            .iter()
            .map(|e| self.key_info_of(e, "n200.list_keys"))
            .collect()
    }

    /// One key, by nice name, key id, token label or `id:HEX`.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] for an unknown key.
    pub async fn key_info(&self, key: &KeyId) -> Result<KeyInfo> {
        let entry = self.entry(key, "n200.key_info").await?;
        self.key_info_of(&entry, "n200.key_info")
    }

    /// Generates a key named by `template.id` (refused if the name is taken). An unknown
    /// outcome is settled by asking the device, never by sending the generation again.
    ///
    /// # Errors
    /// [`ErrorKind::AlreadyExists`], [`ErrorKind::Unsupported`] for a spec the N200 lacks,
    /// transport and device errors.
    pub async fn generate_key(&self, template: &KeyTemplate) -> Result<KeyInfo> {
        const OP: &str = "n200.generate_key";
        if !declared(template.spec) {
            return Err(Error::unsupported(
                OP,
                format!("the N200 backend cannot generate {} keys", template.spec),
            ));
        }
        let name = template.id.as_name().ok_or_else(|| {
            Error::invalid_input(OP, "N200 keys are named by text (the nice_name)")
        })?;
        self.refuse_duplicate(name, OP).await?;
        let generated = match (
            template.spec.curve(),
            template.spec.rsa_bits(),
            aes_bits(template.spec),
        ) {
            (Some(curve), _, _) => {
                self.client
                    .gen_ecc_key(curve, name, &self.pin, &self.acl)
                    .await?
            }
            (None, Some(bits), _) => {
                self.client
                    .gen_rsa_key(
                        u32::try_from(bits).unwrap_or(u32::MAX),
                        name,
                        &self.pin,
                        &self.acl,
                    )
                    .await?
            }
            (None, None, Some(bits)) => {
                self.client
                    .gen_sym_key(bits, name, &self.pin, &self.acl)
                    .await?
            }
            _ => {
                return Err(Error::unsupported(
                    OP,
                    format!("no generation command for {}", template.spec),
                ));
            }
        };
        self.forget();
        let entry = KeyEntry {
            key_id: generated.key_id,
            nice_name: Some(name.to_owned()),
            key_type: Some(crate::protocol::keytypes::key_type_name(template.spec).to_owned()),
            key_len: key_len(template.spec),
            ..KeyEntry::default()
        };
        self.key_info_of(&entry, OP)
    }

    /// Imports an EC private key (`importecckey`) under `request.id`.
    ///
    /// # Errors
    /// [`ErrorKind::Unsupported`] for RSA and Ed25519 keys, [`ErrorKind::AlreadyExists`],
    /// transport and device errors.
    pub async fn import_key(&self, request: &ImportRequest) -> Result<KeyInfo> {
        const OP: &str = "n200.import_key";
        let name = request.id.as_name().ok_or_else(|| {
            Error::invalid_input(OP, "N200 keys are named by text (the nice_name)")
        })?;
        let PrivateKeyParts::Ec { curve, scalar } =
            request.key.decode().map_err(|e| e.with_operation(OP))?
        else {
            return Err(Error::unsupported(
                OP,
                "the N200 imports EC keys only (importecckey)",
            ));
        };
        self.refuse_duplicate(name, OP).await?;
        let key_id = self
            .client
            .import_ecc_key(curve, name, &self.pin, &self.acl, &scalar)
            .await?;
        self.forget();
        let (family, bits) = crate::protocol::keytypes::curve_family(curve);
        let entry = KeyEntry {
            key_id,
            nice_name: Some(name.to_owned()),
            key_type: Some(family.to_owned()),
            key_len: Some(bits),
            ..KeyEntry::default()
        };
        self.key_info_of(&entry, OP)
    }

    /// Deletes a key. An unknown outcome is settled by asking the device.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] for an unknown key, transport and device errors.
    pub async fn delete_key(&self, key: &KeyId) -> Result<()> {
        const OP: &str = "n200.delete_key";
        let resolved = self.resolve(key, OP).await?;
        self.forget();
        self.client
            .delete_key(&resolved.nice_name, &self.pin)
            .await
            .map_err(|e| e.with_operation(OP))
    }

    /// A key's public key.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] for an unknown key, [`ErrorKind::InvalidInput`] for a secret
    /// key, [`ErrorKind::Protocol`] for an answer without a usable public key.
    pub async fn public_key(&self, key: &KeyId) -> Result<PublicKey> {
        const OP: &str = "n200.public_key";
        let mut entry = self.entry(key, OP).await?;
        let spec = entry_spec(&entry, OP)?;
        if !spec.is_asymmetric() {
            return Err(Error::invalid_input(OP, "a secret key has no public key"));
        }
        if entry.public_key.is_none() {
            // getkeyattributes may leave it out; listkeys has it.
            let key_type = crate::protocol::keytypes::key_type_name(spec);
            entry = self
                .client
                .list_keys(key_type)
                .await?
                .keys
                .into_iter()
                .find(|e| e.key_id == entry.key_id)
                .ok_or_else(|| Error::not_found(OP, format!("no key {key}")))?;
        }
        let text = entry
            .public_key
            .ok_or_else(|| Error::protocol(OP, "the device sent no public key"))?;
        let bytes = sigformat::decode_text(&text, OP)?;
        let parsed = match spec.curve() {
            Some(curve) => {
                let point = if bytes.len() == 2 * curve.field_len() {
                    [&[0x04][..], &bytes].concat()
                } else {
                    bytes
                };
                PublicKey::from_ec_point(curve, &point)
            }
            None => PublicKey::from_der(&bytes),
        };
        parsed.map_err(|e| {
            Error::protocol(OP, format!("the device's {spec} public key does not parse"))
                .with_source(e)
        })
    }

    /// Encrypts the text `plaintext` with the AES key `key` in `mode` (`CBC`, as in the record)
    /// on the device (`encrypt`), with this backend's key PIN: the ciphertext as the device
    /// sends it (hex).
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] for an unknown key, [`ErrorKind::InvalidInput`] for a key that is
    /// not symmetric, transport, authentication and device errors.
    pub async fn encrypt(&self, key: &KeyId, mode: &str, plaintext: &str) -> Result<String> {
        let resolved = self.symmetric(key, "n200.encrypt").await?;
        self.client
            .encrypt(&resolved.nice_name, &self.pin, mode, plaintext)
            .await
    }

    /// Decrypts `ciphertext` (hex, as [`encrypt`](Self::encrypt) returns it) with the AES key
    /// `key` in `mode` on the device (`decrypt`): the plaintext text.
    ///
    /// # Errors
    /// As [`encrypt`](Self::encrypt).
    pub async fn decrypt(&self, key: &KeyId, mode: &str, ciphertext: &str) -> Result<String> {
        let resolved = self.symmetric(key, "n200.decrypt").await?;
        self.client
            .decrypt(&resolved.nice_name, &self.pin, mode, ciphertext)
            .await
    }

    /// Resolves `key` and checks that it is an AES key.
    async fn symmetric(&self, key: &KeyId, operation: &'static str) -> Result<Resolved> {
        let resolved = self.resolve(key, operation).await?;
        if aes_bits(resolved.spec).is_none() {
            return Err(Error::invalid_input(
                operation,
                format!("a {} key does not encrypt (an AES key does)", resolved.spec),
            ));
        }
        Ok(resolved)
    }
}

hsm_core::sign_pipeline! {
    impl AsyncN200 {
        /// Signs `message` (hashed here as `algorithm` says; one request to the device).
        ///
        /// # Errors
        /// As [`Signer::sign`](hsm_core::Signer::sign).
        pub async fn sign;
        /// Signs a digest made by the caller.
        ///
        /// # Errors
        /// As [`Signer::sign_digest`](hsm_core::Signer::sign_digest).
        pub async fn sign_digest;
        /// Signs every message with up to `max_in_flight` requests in flight on the shared
        /// connection pool; one result per message, in order. Needs a tokio runtime (the requests
        /// are spawned as tasks).
        pub async fn sign_many;
        operations: "n200",
        max_message_len: |n200| capabilities().max_message_len,
        sign_request: |n200, key, algorithm, request, operation| {
            n200.sign_checked(key, algorithm, request, operation).await
        },
        sign_many: |n200, key, algorithm, messages, operation| {
            n200.sign_batch(key, algorithm, messages, operation).await
        },
    }
}

impl AsyncN200 {
    /// One signature of `sign` or `sign_digest`: the request's own checks first, then the key
    /// resolved and checked, then one request to the device.
    async fn sign_checked(
        &self,
        key: &KeyId,
        algorithm: SignAlgorithm,
        request: Result<SignRequest>,
        operation: &'static str,
    ) -> Result<Signature> {
        let request = request?;
        let resolved = self.prepare(key, algorithm, operation).await?;
        self.sign_resolved(&resolved, &request).await
    }

    /// `sign_many`'s batch, its errors named `operation`: the key resolved once, then the
    /// messages signed by `max_in_flight` workers, each sending its next message as soon as
    /// its previous answer is in (hsm-core's [`run_in_order`](hsm_core::runtime::run_in_order)).
    async fn sign_batch(
        &self,
        key: &KeyId,
        algorithm: SignAlgorithm,
        messages: &[&[u8]],
        operation: &'static str,
    ) -> Vec<Result<Signature>> {
        let resolved = match self.prepare(key, algorithm, operation).await {
            Ok(r) => r,
            Err(e) => {
                // A message's own fault first (as `sign` checks it), else the shared one.
                return messages
                    .iter()
                    .map(|m| {
                        Self::message_request(algorithm, m, operation)?;
                        Err(copy_for_each(&e, operation))
                    })
                    .collect();
            }
        };
        let requests = messages
            .iter()
            .map(|message| Self::message_request(algorithm, message, operation))
            .collect();
        let (this, resolved) = (self.clone(), Arc::new(resolved));
        hsm_core::runtime::run_in_order(
            self.client.transport.settings.max_in_flight,
            requests,
            operation,
            move |request| {
                let (this, resolved) = (this.clone(), Arc::clone(&resolved));
                async move { this.sign_resolved(&resolved, &request).await }
            },
        )
        .await
    }
}

/// One message's copy of a failure all of a batch's messages share: its kind, text and
/// device status under `op`.
pub(crate) fn copy_for_each(e: &Error, op: &'static str) -> Error {
    let copy = Error::new(e.kind(), op).with_message(e.to_string());
    match e.status() {
        Some(s) => copy.with_status(s.clone()),
        None => copy,
    }
}

/// The `key_len` the device lists for a key of `spec`.
fn key_len(spec: KeySpec) -> Option<u32> {
    match (spec.curve(), spec.rsa_bits()) {
        (Some(curve), _) => Some(crate::protocol::keytypes::curve_family(curve).1),
        (None, Some(bits)) => u32::try_from(bits).ok(),
        _ => aes_bits(spec),
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
