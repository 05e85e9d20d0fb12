//! [`NetHsm`]: the hsm-core `KeyStore` and `Signer` over the async client.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use hsm_core::store::{check_algorithm_fits, check_digest, check_message};
use hsm_core::{
    Capabilities, Curve, Error, ErrorKind, ImportRequest, KeyId, KeyInfo, KeySpec, KeyStore,
    KeyTemplate, PrivateKeyParts, PublicKey, Result, SignAlgorithm, Signature, Signer,
};
use tokio::sync::Semaphore;

use crate::client::NetHsmClient;
use crate::client::model::{
    GenerateKeyRequest, ImportKeyRequest, KeyPrivateData, KeyType, PublicKeyData, SignMode,
};
use crate::key_ids;
use crate::mapping;
use hsm_core::runtime::BlockingRuntime as Runtime;

/// A signature ready to send: key id, key spec, mode and message.
type Prepared = (String, KeySpec, SignMode, Vec<u8>);

/// Requests of one `sign_many` batch or `list_keys` listing in flight at once.
const MAX_IN_FLIGHT: usize = 16;

/// What the backend remembers of a key, so that a signature costs one request.
#[derive(Debug)]
struct CachedKey {
    spec: Option<KeySpec>,
    data: PublicKeyData,
    public_key: Option<PublicKey>,
}

/// A NetHSM as an hsm-core backend. Opened with [`NetHsm::open`] from a `nethsm://` URI or
/// built from a [`NetHsmClient`] with [`NetHsm::new`]; shared by any number of threads.
pub struct NetHsm {
    client: NetHsmClient,
    /// An Administrator sharing the pool, for key management (operators may only use keys).
    admin: Option<NetHsmClient>,
    keys: Mutex<HashMap<String, Arc<CachedKey>>>,
    /// The spec of the AES (`Generic`) keys this backend generated or imported: the device
    /// does not report a Generic key's length.
    secret_specs: Mutex<HashMap<String, KeySpec>>,
    // Declared before the runtime so that the simulator, which runs on it, stops first.
    #[cfg(feature = "sim")]
    pub(crate) simulator: Option<crate::sim::Simulator>,
    runtime: Runtime,
}

impl fmt::Debug for NetHsm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NetHsm")
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}

impl NetHsm {
    /// A backend over `client`, with its own runtime for the blocking traits.
    ///
    /// # Errors
    /// [`ErrorKind::Unavailable`] if the runtime cannot start.
    pub fn new(client: NetHsmClient) -> Result<Self> {
        Self::with_runtime(client, Runtime::new("hsm-nethsm")?)
    }

    pub(crate) fn with_runtime(client: NetHsmClient, runtime: Runtime) -> Result<Self> {
        Ok(Self {
            client,
            admin: None,
            keys: Mutex::new(HashMap::new()),
            secret_specs: Mutex::new(HashMap::new()),
            #[cfg(feature = "sim")]
            simulator: None,
            runtime,
        })
    }

    /// Uses `credentials` (an Administrator) for generate and delete, which the NetHSM allows
    /// only to administrators, while signing stays with the main user (an Operator).
    #[must_use]
    pub fn with_admin(mut self, credentials: crate::client::Credentials) -> Self {
        self.admin = Some(self.client.with_credentials(credentials));
        self
    }

    /// The client for key management: the administrator's if one is configured.
    fn manager(&self) -> &NetHsmClient {
        self.admin.as_ref().unwrap_or(&self.client)
    }

    /// The async client, for the parts of the API the traits do not cover.
    #[must_use]
    pub fn client(&self) -> &NetHsmClient {
        &self.client
    }

    /// Runs an async client call from blocking code.
    ///
    /// # Errors
    /// The call's errors.
    pub fn block_on<T: Send>(&self, future: impl Future<Output = Result<T>> + Send) -> Result<T> {
        self.runtime.block_on(future)?
    }

    /// The simulator this backend started (`nethsm+sim:`), if any.
    #[cfg(feature = "sim")]
    #[must_use]
    pub fn simulator(&self) -> Option<&crate::sim::Simulator> {
        self.simulator.as_ref()
    }

    /// Forgets what this backend cached of every key (type, mechanisms, public key), so the
    /// next use asks the device again: for keys another client may have deleted or replaced.
    pub fn clear_key_cache(&self) {
        self.keys
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    fn forget(&self, id: &str) {
        let _ = self
            .keys
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id);
    }

    fn forget_secret_spec(&self, id: &str) {
        let _ = self
            .secret_specs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id);
    }

    /// The key `id`: from the cache, else one `GET /keys/{id}`.
    fn key(&self, id: &str) -> Result<Arc<CachedKey>> {
        if let Some(key) = self.cached(id) {
            return Ok(key);
        }
        let data = self.block_on(self.client.get_key(id))?;
        self.remember(id, data)
    }

    fn cached(&self, id: &str) -> Option<Arc<CachedKey>> {
        self.keys
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
            .map(Arc::clone)
    }

    /// Caches what the device said of key `id`.
    fn remember(&self, id: &str, data: PublicKeyData) -> Result<Arc<CachedKey>> {
        let public_key = public_key_of(&data)?;
        let rsa_bits = public_key.as_ref().and_then(PublicKey::rsa_bits);
        let spec = match data.key_type {
            KeyType::Generic => self
                .secret_specs
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get(id)
                .copied(),
            other => mapping::spec_of(other, rsa_bits),
        };
        let cached = Arc::new(CachedKey {
            spec,
            data,
            public_key,
        });
        let _ = self
            .keys
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id.to_owned(), Arc::clone(&cached));
        Ok(cached)
    }

    fn info(id: &str, key: &CachedKey) -> Result<KeyInfo> {
        let mut info = KeyInfo::new(key_ids::from_device(id)?, key.spec).with_algorithms(
            key.spec
                .map(|s| mapping::algorithms(s, &key.data.mechanisms))
                .unwrap_or_default(),
        );
        info = info
            .with_extra("type", format!("{:?}", key.data.key_type))
            .with_extra("operations", key.data.operations.to_string());
        if let Some(tags) = &key.data.restrictions.tags {
            info = info.with_extra("tags", tags.join(","));
        }
        Ok(info)
    }

    /// Prepares a signature: checks, then the mode and message the device wants.
    fn prepare(
        &self,
        key: &KeyId,
        algorithm: SignAlgorithm,
        data: &[u8],
        data_is_digest: bool,
        operation: &'static str,
    ) -> Result<Prepared> {
        if !self.capabilities().has_algorithm(algorithm) {
            return Err(Error::unsupported(operation, format!("{algorithm}")));
        }
        let id = key_ids::to_device(key, operation)?;
        let cached = self.key(&id)?;
        let spec = cached
            .spec
            .ok_or_else(|| Error::invalid_input(operation, format!("key {id} cannot sign")))?;
        check_algorithm_fits(spec, algorithm, operation)?;
        let (mode, message) = if algorithm == SignAlgorithm::Ed25519 {
            (SignMode::EdDSA, data.to_vec())
        } else if data_is_digest || algorithm == SignAlgorithm::EcdsaPrehashed {
            mapping::digest_request(spec, algorithm, data, operation)?
        } else {
            let hash = algorithm
                .hash()
                .ok_or_else(|| Error::unsupported(operation, "no hash"))?;
            mapping::digest_request(spec, algorithm, &hash.digest(data), operation)?
        };
        Ok((id, spec, mode, message))
    }

    fn sign_prepared(
        &self,
        id: &str,
        spec: KeySpec,
        algorithm: SignAlgorithm,
        mode: SignMode,
        message: &[u8],
        operation: &'static str,
    ) -> Result<Signature> {
        let result = self.block_on(self.client.sign(id, mode, message));
        if result.as_ref().is_err_and(Error::is_not_found) {
            self.forget(id);
        }
        to_signature(spec, algorithm, &result?, operation)
    }
}

/// `GET /keys/{id}` for each `(index, id)`, at most [`MAX_IN_FLIGHT`] at once; each answer
/// with its index, in the order they arrive.
async fn fetch_keys(
    client: NetHsmClient,
    ids: Vec<(usize, String)>,
) -> Result<Vec<(usize, Result<PublicKeyData>)>> {
    let permits = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let mut tasks = tokio::task::JoinSet::new();
    for (index, id) in ids {
        let client = client.clone();
        let permits = Arc::clone(&permits);
        let _ = tasks.spawn(async move {
            // The semaphore is never closed, so a permit always comes.
            let _permit = permits.acquire_owned().await;
            (index, client.get_key(&id).await)
        });
    }
    let mut out = Vec::with_capacity(tasks.len());
    while let Some(joined) = tasks.join_next().await {
        out.push(
            joined.map_err(|e| Error::new(ErrorKind::Device, "nethsm.list_keys").with_source(e))?,
        );
    }
    Ok(out)
}

/// The device's signature bytes as an hsm-core signature: ECDSA comes back DER and goes
/// through hsm-core's one ECDSA constructor (r and s in `1..n`, secp256k1 held low-S). A
/// signature it refuses is the device's fault: `Protocol`, for `operation`.
fn to_signature(
    spec: KeySpec,
    algorithm: SignAlgorithm,
    bytes: &[u8],
    operation: &'static str,
) -> Result<Signature> {
    let parsed = match spec.curve() {
        Some(curve) => Signature::ecdsa_from_der(algorithm, curve, bytes),
        None => Signature::from_bytes(algorithm, bytes),
    };
    parsed.map_err(|e| {
        Error::protocol(operation, "the device returned a malformed signature").with_source(e)
    })
}

/// The public key of a key's data; `None` for Generic keys.
pub(crate) fn public_key_of(data: &PublicKeyData) -> Result<Option<PublicKey>> {
    let bad = || {
        Error::protocol(
            "nethsm.get_key",
            "the key's public part is missing or malformed",
        )
    };
    let Some(public) = &data.public else {
        return if data.key_type == KeyType::Generic {
            Ok(None)
        } else {
            Err(bad())
        };
    };
    let curve = match data.key_type {
        KeyType::Generic => return Ok(None),
        KeyType::RSA => {
            let (Some(n), Some(e)) = (&public.modulus, &public.public_exponent) else {
                return Err(bad());
            };
            return PublicKey::from_rsa_components(n, e)
                .map(Some)
                .map_err(|e| bad().with_source(e));
        }
        KeyType::Curve25519 => {
            let data = public.data.as_deref().ok_or_else(bad)?;
            return PublicKey::from_ed25519(data)
                .map(Some)
                .map_err(|e| bad().with_source(e));
        }
        KeyType::EC_P256 => Curve::P256,
        KeyType::EC_P384 => Curve::P384,
        KeyType::EC_P521 => Curve::P521,
        KeyType::EC_P256K1 => Curve::Secp256k1,
        KeyType::BrainpoolP256 => Curve::BrainpoolP256r1,
        KeyType::BrainpoolP384 => Curve::BrainpoolP384r1,
        KeyType::BrainpoolP512 => Curve::BrainpoolP512r1,
    };
    let point = public.data.as_deref().ok_or_else(bad)?;
    PublicKey::from_ec_point(curve, point)
        .map(Some)
        .map_err(|e| bad().with_source(e))
}

impl KeyStore for NetHsm {
    fn backend(&self) -> &'static str {
        "nethsm"
    }

    /// Every NetHSM key type: RSA, EC (P-256, P-384, P-521, secp256k1, brainpoolP256r1,
    /// brainpoolP384r1, brainpoolP512r1), Ed25519 and AES (`Generic` keys with AES-CBC
    /// encryption and decryption); all signing modes; import and delete. The device does not
    /// report an AES key's length: [`KeyStore::key_info`] knows the spec of the AES keys this
    /// backend generated, and says `None` for others.
    fn capabilities(&self) -> Capabilities {
        let specs = vec![
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
            KeySpec::Ed25519,
            KeySpec::Aes128,
            KeySpec::Aes256,
        ];
        Capabilities::new(specs, SignAlgorithm::ALL.to_vec())
            .with_delete(true)
            .with_import(true)
    }

    /// One `GET /keys`, then `GET /keys/{id}` for each key not in the cache, up to 16 in
    /// flight on the connection pool; in the device's order. A key deleted between the two
    /// requests (404) is left out.
    fn list_keys(&self) -> Result<Vec<KeyInfo>> {
        let items = self.block_on(self.client.list_keys())?;
        let mut keys: Vec<Option<Arc<CachedKey>>> =
            items.iter().map(|item| self.cached(&item.id)).collect();
        let missing: Vec<(usize, String)> = items
            .iter()
            .zip(&keys)
            .enumerate()
            .filter(|(_, (_, cached))| cached.is_none())
            .map(|(index, (item, _))| (index, item.id.clone()))
            .collect();
        for (index, fetched) in self.block_on(fetch_keys(self.client.clone(), missing))? {
            let (Some(item), Some(slot)) = (items.get(index), keys.get_mut(index)) else {
                continue;
            };
            match fetched {
                Ok(data) => *slot = Some(self.remember(&item.id, data)?),
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
        items
            .iter()
            .zip(keys)
            .filter_map(|(item, key)| key.map(|key| Self::info(&item.id, &key)))
            .collect()
    }

    fn key_info(&self, key: &KeyId) -> Result<KeyInfo> {
        let id = key_ids::to_device(key, "nethsm.key_info")?;
        Self::info(&id, self.key(&id)?.as_ref())
    }

    fn generate_key(&self, template: &KeyTemplate) -> Result<KeyInfo> {
        const OP: &str = "nethsm.generate_key";
        if !self.capabilities().has_spec(template.spec) {
            return Err(Error::unsupported(OP, format!("{} keys", template.spec)));
        }
        let (key_type, length) = mapping::key_type(template.spec)
            .ok_or_else(|| Error::unsupported(OP, format!("{} keys", template.spec)))?;
        let id = key_ids::to_device(&template.id, OP)?;
        let mechanisms = mapping::mechanisms(template.spec, &template.effective_algorithms());
        if mechanisms.is_empty() {
            return Err(Error::invalid_input(OP, "no algorithm fits the key spec"));
        }
        self.forget(&id);
        if key_type == KeyType::Generic {
            let _ = self
                .secret_specs
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(id.clone(), template.spec);
        }
        let request = GenerateKeyRequest {
            mechanisms,
            key_type,
            length,
            id: Some(id.clone()),
            restrictions: None,
            label: None,
        };
        let created = self
            .block_on(self.manager().generate_key(&request))
            .inspect_err(|_| {
                if key_type == KeyType::Generic {
                    self.forget_secret_spec(&id);
                }
            })?;
        Self::info(&created.id, self.key(&created.id)?.as_ref())
    }

    /// Imports an RSA, EC or Ed25519 key (`PUT /keys/{id}`): the client sends the parts the
    /// device wants (RSA primes and exponent, the EC scalar, the Ed25519 seed).
    fn import_key(&self, request: &ImportRequest) -> Result<KeyInfo> {
        const OP: &str = "nethsm.import_key";
        let parts = request.key.decode()?;
        let spec = parts.spec();
        if !self.capabilities().has_spec(spec) {
            return Err(Error::unsupported(OP, format!("{spec} keys")));
        }
        let (key_type, _) = mapping::key_type(spec)
            .ok_or_else(|| Error::unsupported(OP, format!("{spec} keys")))?;
        let algorithms = request.algorithms.clone().unwrap_or_else(|| {
            SignAlgorithm::ALL
                .iter()
                .copied()
                .filter(|a| check_algorithm_fits(spec, *a, OP).is_ok())
                .collect()
        });
        let mechanisms = mapping::mechanisms(spec, &algorithms);
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
        let id = self.block_on(self.manager().import_key(Some(&id), &body))?;
        Self::info(&id, self.key(&id)?.as_ref())
    }

    fn delete_key(&self, key: &KeyId) -> Result<()> {
        let id = key_ids::to_device(key, "nethsm.delete_key")?;
        self.forget(&id);
        self.block_on(self.manager().delete_key(&id))?;
        self.forget_secret_spec(&id);
        Ok(())
    }

    fn public_key(&self, key: &KeyId) -> Result<PublicKey> {
        let id = key_ids::to_device(key, "nethsm.public_key")?;
        self.key(&id)?.public_key.clone().ok_or_else(|| {
            Error::invalid_input("nethsm.public_key", format!("{id} is a secret key"))
        })
    }
}

impl Signer for NetHsm {
    fn sign(&self, key: &KeyId, algorithm: SignAlgorithm, message: &[u8]) -> Result<Signature> {
        const OP: &str = "nethsm.sign";
        check_message(message, self.capabilities().max_message_len, OP)?;
        if algorithm == SignAlgorithm::EcdsaPrehashed {
            check_digest(algorithm, message, OP)?;
        }
        let (id, spec, mode, data) = self.prepare(key, algorithm, message, false, OP)?;
        self.sign_prepared(&id, spec, algorithm, mode, &data, OP)
    }

    fn sign_digest(
        &self,
        key: &KeyId,
        algorithm: SignAlgorithm,
        digest: &[u8],
    ) -> Result<Signature> {
        const OP: &str = "nethsm.sign_digest";
        check_digest(algorithm, digest, OP)?;
        let (id, spec, mode, data) = self.prepare(key, algorithm, digest, true, OP)?;
        self.sign_prepared(&id, spec, algorithm, mode, &data, OP)
    }

    /// Keeps up to 16 requests in flight on the shared connection pool.
    fn sign_many(
        &self,
        key: &KeyId,
        algorithm: SignAlgorithm,
        messages: &[&[u8]],
    ) -> Vec<Result<Signature>> {
        const OP: &str = "nethsm.sign_many";
        let max = self.capabilities().max_message_len;
        let mut prepared: Vec<Result<Prepared>> = Vec::new();
        for message in messages {
            prepared.push(check_message(message, max, OP).and_then(|()| {
                if algorithm == SignAlgorithm::EcdsaPrehashed {
                    check_digest(algorithm, message, OP)?;
                }
                self.prepare(key, algorithm, message, false, OP)
            }));
        }
        let client = self.client.clone();
        let run = async move {
            let permits = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
            let mut tasks = Vec::with_capacity(prepared.len());
            for item in prepared {
                let client = client.clone();
                let permits = Arc::clone(&permits);
                tasks.push(tokio::spawn(async move {
                    let (id, spec, mode, data) = item?;
                    let _permit = permits
                        .acquire_owned()
                        .await
                        .map_err(|e| Error::new(ErrorKind::Device, OP).with_source(e))?;
                    let bytes = client.sign(&id, mode, &data).await?;
                    to_signature(spec, algorithm, &bytes, OP)
                }));
            }
            let mut out = Vec::with_capacity(tasks.len());
            for task in tasks {
                out.push(
                    task.await
                        .unwrap_or_else(|e| Err(Error::new(ErrorKind::Device, OP).with_source(e))),
                );
            }
            out
        };
        match self.runtime.block_on(run) {
            Ok(results) => results,
            Err(e) => messages
                .iter()
                .map(|_| Err(Error::new(e.kind(), OP).with_message(e.to_string())))
                .collect(),
        }
    }
}
