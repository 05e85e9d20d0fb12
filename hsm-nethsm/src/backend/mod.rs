//! [`AsyncNetHsm`]: the hsm-core backend over the async client, and the one copy of its logic
//! (key cache, checks, sign modes, batches). The blocking [`NetHsm`](crate::NetHsm) runs these
//! same futures on its private runtime.

pub(crate) mod blocking;
pub(crate) mod cipher;
mod trace;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use hsm_core::store::check_algorithm_fits;
use hsm_core::{
    AsyncKeyStore, AsyncSigner, BoxFuture, Capabilities, Curve, EcdsaEncoding, Error, ErrorKind,
    ImportRequest, KeyId, KeyInfo, KeySpec, KeyTemplate, PrivateKeyParts, PublicKey, Result,
    SignAlgorithm, SignRequest, Signature,
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use self::trace::traced;
use crate::client::{Credentials, NetHsmClient};
use crate::protocol::key_ids;
use crate::protocol::{
    GenerateKeyRequest, ImportKeyRequest, KeyPrivateData, KeyType, PublicKeyData, SignMode,
};
use crate::protocol::{key_types, signing};

/// Requests of one `sign_many` batch or `list_keys` listing in flight at once, unless
/// [`AsyncNetHsm::with_max_in_flight`] says otherwise.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 16;

/// What the backend remembers of a key, so that a signature costs one request.
#[derive(Debug)]
struct CachedKey {
    spec: Option<KeySpec>,
    data: PublicKeyData,
    public_key: Option<PublicKey>,
}

/// A signature ready to send: the device's key id, the key's spec, the checked request, the
/// sign mode and the `message` the mode wants.
struct Prepared {
    id: String,
    spec: KeySpec,
    request: SignRequest,
    mode: SignMode,
    payload: Vec<u8>,
}

/// A NetHSM as an async hsm-core backend ([`AsyncKeyStore`] + [`AsyncSigner`]), for services on
/// a tokio runtime: a signature is one HTTP request driven by the caller's own task, with no
/// thread hop and no runtime of its own.
///
/// Cheap to clone: clones share the connection pools, the key cache and the in-flight limit,
/// so one handle serves any number of tasks. Opened with [`AsyncNetHsm::open`] /
/// [`AsyncNetHsm::open_with`] (or [`crate::open_async`]), or built from a [`NetHsmClient`]
/// with [`AsyncNetHsm::new`].
///
/// ```no_run
/// # async fn demo() -> hsm_core::Result<()> {
/// use hsm_core::{OpenOptions, SignAlgorithm, secret::SecretString};
///
/// let hsm = hsm_nethsm::open_async_with(
///     "nethsm://operator@nethsm.example:8443?ca=nethsm.pem",
///     OpenOptions::new().credential(SecretString::from("from your vault")),
/// )?;
/// let key = "signer1".parse()?;
/// let signature = hsm.sign(&key, SignAlgorithm::EcdsaSha256, b"payload").await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct AsyncNetHsm {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    client: NetHsmClient,
    /// An Administrator sharing the pool, for key management (operators may only use keys).
    admin: Option<NetHsmClient>,
    keys: Arc<Mutex<HashMap<String, Arc<CachedKey>>>>,
    /// The spec of the AES (`Generic`) keys this backend generated or imported: the device
    /// does not report a Generic key's length.
    secret_specs: Arc<Mutex<HashMap<String, KeySpec>>>,
    /// Requests of one batch or listing in flight at once.
    batch_in_flight: usize,
    /// When set, the requests of every clone in flight at once.
    limit: Option<Arc<Semaphore>>,
    #[cfg(feature = "sim")]
    simulator: Option<Arc<crate::sim::Simulator>>,
}

impl fmt::Debug for AsyncNetHsm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncNetHsm")
            .field("client", &self.inner.client)
            .field("batch_in_flight", &self.inner.batch_in_flight)
            .finish_non_exhaustive()
    }
}

impl AsyncNetHsm {
    /// A backend over `client`. Starts nothing: the calls run on the caller's runtime.
    #[must_use]
    pub fn new(client: NetHsmClient) -> Self {
        Self {
            inner: Arc::new(Inner {
                client,
                admin: None,
                keys: Arc::default(),
                secret_specs: Arc::default(),
                batch_in_flight: DEFAULT_MAX_IN_FLIGHT,
                limit: None,
                #[cfg(feature = "sim")]
                simulator: None,
            }),
        }
    }

    fn rebuilt(self, change: impl FnOnce(&mut Inner)) -> Self {
        let mut inner = Arc::unwrap_or_clone(self.inner);
        change(&mut inner);
        Self {
            inner: Arc::new(inner),
        }
    }

    /// Uses `credentials` (an Administrator) for generate, import and delete, which the NetHSM
    /// allows only to administrators, while signing stays with the main user (an Operator).
    #[must_use]
    pub fn with_admin(self, credentials: Credentials) -> Self {
        let admin = self.inner.client.with_credentials(credentials);
        self.rebuilt(|inner| inner.admin = Some(admin))
    }

    /// At most `calls` requests in flight at once (at least one), over every clone of this
    /// handle: a `sign_many` batch or a listing keeps up to `calls` requests in flight, and
    /// single calls beyond the limit wait for a free slot. Without it, a batch keeps
    /// [`DEFAULT_MAX_IN_FLIGHT`] in flight and single calls are not limited.
    #[must_use]
    pub fn with_max_in_flight(self, calls: usize) -> Self {
        let calls = calls.max(1);
        self.rebuilt(|inner| {
            inner.batch_in_flight = calls;
            inner.limit = Some(Arc::new(Semaphore::new(calls)));
        })
    }

    #[cfg(feature = "sim")]
    pub(crate) fn with_simulator(self, simulator: crate::sim::Simulator) -> Self {
        self.rebuilt(|inner| inner.simulator = Some(Arc::new(simulator)))
    }

    /// The simulator this backend started (`nethsm+sim:`), if any.
    #[cfg(feature = "sim")]
    #[must_use]
    pub fn simulator(&self) -> Option<&crate::sim::Simulator> {
        self.inner.simulator.as_deref()
    }

    /// The async client, for the parts of the API the traits do not cover.
    #[must_use]
    pub fn client(&self) -> &NetHsmClient {
        &self.inner.client
    }

    /// The client for key management: the administrator's if one is configured.
    fn manager(&self) -> &NetHsmClient {
        self.inner.admin.as_ref().unwrap_or(&self.inner.client)
    }

    /// A slot under the in-flight limit, if there is one.
    async fn slot(&self, operation: &'static str) -> Result<Option<OwnedSemaphorePermit>> {
        match &self.inner.limit {
            None => Ok(None),
            Some(limit) => acquire(limit, operation).await.map(Some),
        }
    }

    /// Forgets what this backend cached of every key (type, mechanisms, public key), so the
    /// next use asks the device again: for keys another client may have deleted or replaced.
    pub fn clear_key_cache(&self) {
        lock(&self.inner.keys).clear();
    }

    fn forget(&self, id: &str) {
        let _ = lock(&self.inner.keys).remove(id);
    }

    fn forget_secret_spec(&self, id: &str) {
        let _ = lock(&self.inner.secret_specs).remove(id);
    }

    fn cached(&self, id: &str) -> Option<Arc<CachedKey>> {
        lock(&self.inner.keys).get(id).map(Arc::clone)
    }

    /// The key `id`: from the cache, else one `GET /keys/{id}`.
    async fn key(&self, id: &str) -> Result<Arc<CachedKey>> {
        if let Some(key) = self.cached(id) {
            return Ok(key);
        }
        let data = {
            let _slot = self.slot("nethsm.get_key").await?;
            self.inner.client.get_key(id).await?
        };
        self.remember(id, data)
    }

    /// Caches what the device said of key `id`.
    fn remember(&self, id: &str, data: PublicKeyData) -> Result<Arc<CachedKey>> {
        let public_key = key_types::public_key_of(&data)?;
        let rsa_bits = public_key.as_ref().and_then(PublicKey::rsa_bits);
        let spec = match data.key_type {
            KeyType::Generic => lock(&self.inner.secret_specs).get(id).copied(),
            other => key_types::spec_of(other, rsa_bits),
        };
        let cached = Arc::new(CachedKey {
            spec,
            data,
            public_key,
        });
        let _ = lock(&self.inner.keys).insert(id.to_owned(), Arc::clone(&cached));
        Ok(cached)
    }

    fn info(id: &str, key: &CachedKey) -> Result<KeyInfo> {
        let mut info = KeyInfo::new(key_ids::from_device(id)?, key.spec).with_algorithms(
            key.spec
                .map(|s| signing::algorithms(s, &key.data.mechanisms))
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

    /// Every NetHSM key type: RSA, EC (P-256, P-384, P-521, secp256k1, brainpoolP256r1,
    /// brainpoolP384r1, brainpoolP512r1), Ed25519 and AES (`Generic` keys with AES-CBC
    /// encryption and decryption); all signing modes; import and delete. The device does not
    /// report an AES key's length: [`Self::key_info`] knows the spec of the AES keys this
    /// backend generated, and says `None` for others. Over the built-in simulator
    /// (`nethsm+sim:`), the key types that simulator offers ([`crate::sim::offers`]:
    /// brainpoolP512r1 only with the `sim-openssl` feature).
    #[must_use]
    pub fn capabilities(&self) -> Capabilities {
        #[cfg(feature = "sim")]
        if self.inner.simulator.is_some() {
            return simulator_capabilities();
        }
        capabilities()
    }

    /// Whether the device can serve this handle now, for a readiness probe: `GET
    /// /health/ready` (the device is operational), then `GET /keys` with the credentials (they
    /// are accepted). Two cheap requests; no key details are fetched.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidState`] for a locked or unprovisioned device,
    /// [`ErrorKind::AuthenticationFailed`] for credentials it refuses, transport errors.
    pub async fn health(&self) -> Result<()> {
        traced("health", None, None, async {
            let _slot = self.slot("nethsm.health").await?;
            self.inner.client.health_ready().await?;
            self.inner.client.list_keys().await.map(drop)
        })
        .await
    }

    /// One `GET /keys`, then `GET /keys/{id}` for each key not in the cache, up to the
    /// in-flight limit on the connection pool; in the device's order. A key deleted between
    /// the two requests (404) is left out.
    ///
    /// # Errors
    /// As [`hsm_core::KeyStore::list_keys`].
    pub async fn list_keys(&self) -> Result<Vec<KeyInfo>> {
        traced("list_keys", None, None, self.list_keys_untraced()).await
    }

    async fn list_keys_untraced(&self) -> Result<Vec<KeyInfo>> {
        let items = {
            let _slot = self.slot("nethsm.list_keys").await?;
            self.inner.client.list_keys().await?
        };
        let mut keys: Vec<Option<Arc<CachedKey>>> =
            items.iter().map(|item| self.cached(&item.id)).collect();
        let missing: Vec<(usize, String)> = items
            .iter()
            .zip(&keys)
            .enumerate()
            .filter(|(_, (_, cached))| cached.is_none())
            .map(|(index, (item, _))| (index, item.id.clone()))
            .collect();
        for (index, fetched) in self.fetch_keys(missing).await? {
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

    /// `GET /keys/{id}` for each `(index, id)`, up to the batch limit at once; each answer
    /// with its index, in the order they arrive.
    async fn fetch_keys(
        &self,
        ids: Vec<(usize, String)>,
    ) -> Result<Vec<(usize, Result<PublicKeyData>)>> {
        let count = ids.len();
        let queue = Arc::new(Mutex::new(ids.into_iter()));
        let mut workers = tokio::task::JoinSet::new();
        for _ in 0..self.inner.batch_in_flight.min(count) {
            let this = self.clone();
            let queue = Arc::clone(&queue);
            let _ = workers.spawn(async move {
                let mut out = Vec::new();
                loop {
                    let Some((index, id)) = lock(&queue).next() else {
                        break;
                    };
                    let fetched = match this.slot("nethsm.list_keys").await {
                        Ok(_slot) => this.inner.client.get_key(&id).await,
                        Err(e) => Err(e),
                    };
                    out.push((index, fetched));
                }
                out
            });
        }
        let mut out = Vec::with_capacity(count);
        while let Some(joined) = workers.join_next().await {
            out.extend(
                joined.map_err(|e| {
                    Error::new(ErrorKind::Device, "nethsm.list_keys").with_source(e)
                })?,
            );
        }
        Ok(out)
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
        traced(
            "generate_key",
            Some(&template.id),
            None,
            self.generate_key_untraced(template),
        )
        .await
    }

    async fn generate_key_untraced(&self, template: &KeyTemplate) -> Result<KeyInfo> {
        const OP: &str = "nethsm.generate_key";
        if !self.capabilities().has_spec(template.spec) {
            return Err(Error::unsupported(OP, format!("{} keys", template.spec)));
        }
        let (key_type, length) = key_types::key_type(template.spec)
            .ok_or_else(|| Error::unsupported(OP, format!("{} keys", template.spec)))?;
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
        traced(
            "import_key",
            Some(&request.id),
            None,
            self.import_key_untraced(request),
        )
        .await
    }

    async fn import_key_untraced(&self, request: &ImportRequest) -> Result<KeyInfo> {
        const OP: &str = "nethsm.import_key";
        let parts = request.key.decode()?;
        let spec = parts.spec();
        if !self.capabilities().has_spec(spec) {
            return Err(Error::unsupported(OP, format!("{spec} keys")));
        }
        let (key_type, _) = key_types::key_type(spec)
            .ok_or_else(|| Error::unsupported(OP, format!("{spec} keys")))?;
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

    /// Signs a message (for [`SignAlgorithm::EcdsaPrehashed`], the digest): hashed on the host,
    /// then one `POST /keys/{id}/sign` in the mode the algorithm needs.
    ///
    /// # Errors
    /// As [`hsm_core::Signer::sign`]; a signature the device answers malformed is
    /// [`ErrorKind::Protocol`].
    pub async fn sign(
        &self,
        key: &KeyId,
        algorithm: SignAlgorithm,
        message: &[u8],
    ) -> Result<Signature> {
        const OP: &str = "nethsm.sign";
        traced("sign", Some(key), Some(algorithm), async {
            let request =
                SignRequest::message(algorithm, message, self.capabilities().max_message_len, OP)?;
            let prepared = self.prepare(key, request).await?;
            self.send(prepared).await
        })
        .await
    }

    /// Signs a digest the caller computed.
    ///
    /// # Errors
    /// As [`hsm_core::Signer::sign_digest`].
    pub async fn sign_digest(
        &self,
        key: &KeyId,
        algorithm: SignAlgorithm,
        digest: &[u8],
    ) -> Result<Signature> {
        const OP: &str = "nethsm.sign_digest";
        traced("sign_digest", Some(key), Some(algorithm), async {
            let request = SignRequest::digest(algorithm, digest, OP)?;
            let prepared = self.prepare(key, request).await?;
            self.send(prepared).await
        })
        .await
    }

    /// Signs a batch with one key: one result per message, in order, with up to the in-flight
    /// limit ([`DEFAULT_MAX_IN_FLIGHT`] unless set) requests in flight on the connection pool,
    /// spread over the runtime's worker threads.
    pub async fn sign_many(
        &self,
        key: &KeyId,
        algorithm: SignAlgorithm,
        messages: &[&[u8]],
    ) -> Vec<Result<Signature>> {
        let span = tracing::debug_span!(
            "hsm.call",
            backend = "nethsm",
            operation = "sign_many",
            key = %key,
            algorithm = %algorithm,
            messages = messages.len(),
        );
        let started = std::time::Instant::now();
        let results = tracing::Instrument::instrument(
            self.sign_many_untraced(key, algorithm, messages),
            span.clone(),
        )
        .await;
        let failed = results.iter().find_map(|r| r.as_ref().err());
        trace::finish(&span, failed.map(|e| e.kind().as_str()), started);
        results
    }

    async fn sign_many_untraced(
        &self,
        key: &KeyId,
        algorithm: SignAlgorithm,
        messages: &[&[u8]],
    ) -> Vec<Result<Signature>> {
        const OP: &str = "nethsm.sign_many";
        let max = self.capabilities().max_message_len;
        let mut prepared = Vec::with_capacity(messages.len());
        for message in messages {
            let item = match SignRequest::message(algorithm, message, max, OP) {
                Ok(request) => self.prepare(key, request).await,
                Err(e) => Err(e),
            };
            prepared.push(item);
        }
        let count = prepared.len();
        let mut results: Vec<Option<Result<Signature>>> = Vec::with_capacity(count);
        let mut queue = Vec::with_capacity(count);
        for (index, item) in prepared.into_iter().enumerate() {
            match item {
                Ok(p) => {
                    results.push(None);
                    queue.push((index, p));
                }
                Err(e) => results.push(Some(Err(e))),
            }
        }
        // A fixed set of workers, each taking the next message as soon as its previous answer
        // is in: the batch keeps exactly `workers` requests in flight until the queue runs
        // dry, never in waves.
        let workers = self.inner.batch_in_flight.min(queue.len());
        let queue = Arc::new(Queue::new(queue));
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..workers {
            let this = self.clone();
            let queue = Arc::clone(&queue);
            let _ = set.spawn(async move {
                let mut out = Vec::new();
                while let Some((index, prepared)) = queue.next() {
                    out.push((index, this.send(prepared).await));
                }
                out
            });
        }
        let mut lost = None;
        while let Some(joined) = set.join_next().await {
            match joined {
                Ok(done) => {
                    for (index, result) in done {
                        if let Some(slot) = results.get_mut(index) {
                            *slot = Some(result);
                        }
                    }
                }
                Err(e) => {
                    lost = Some(
                        Error::new(ErrorKind::Device, OP)
                            .with_message("a signing task did not finish")
                            .with_source(e),
                    );
                }
            }
        }
        results
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| {
                    Err(lost.as_ref().map_or_else(
                        || Error::new(ErrorKind::Device, OP).with_message("no result"),
                        Error::replicate,
                    ))
                })
            })
            .collect()
    }

    /// Prepares a signature: the key (cached after its first use), the checks, then the mode
    /// and message the device wants.
    async fn prepare(&self, key: &KeyId, request: SignRequest) -> Result<Prepared> {
        let operation = request.operation();
        let algorithm = request.algorithm();
        if !self.capabilities().has_algorithm(algorithm) {
            return Err(Error::unsupported(operation, format!("{algorithm}")));
        }
        let id = key_ids::to_device(key, operation)?;
        let cached = self.key(&id).await?;
        let spec = cached
            .spec
            .ok_or_else(|| Error::invalid_input(operation, format!("key {id} cannot sign")))?;
        request.check_key(spec)?;
        let (mode, payload) = match (request.message_bytes(), request.digest_bytes()) {
            (Some(message), _) => (SignMode::EdDSA, message.to_vec()),
            (None, Some(digest)) => signing::digest_request(spec, algorithm, digest, operation)?,
            (None, None) => return Err(Error::unsupported(operation, "nothing to sign")),
        };
        Ok(Prepared {
            id,
            spec,
            request,
            mode,
            payload,
        })
    }

    /// One `POST /keys/{id}/sign`; the answer read through hsm-core's sign pipeline (ECDSA
    /// answers are DER: r and s in `1..n`, secp256k1 held low-S; a malformed answer is
    /// `Protocol`).
    async fn send(&self, prepared: Prepared) -> Result<Signature> {
        let operation = prepared.request.operation();
        let answer = {
            let _slot = self.slot(operation).await?;
            self.inner
                .client
                .sign(&prepared.id, prepared.mode, &prepared.payload)
                .await
        };
        if answer.as_ref().is_err_and(Error::is_not_found) {
            self.forget(&prepared.id);
        }
        prepared
            .request
            .signature(prepared.spec, EcdsaEncoding::Der, None, &answer?)
    }
}

/// The messages of a batch, handed out one at a time to the workers.
struct Queue(Mutex<std::vec::IntoIter<(usize, Prepared)>>);

impl Queue {
    fn new(items: Vec<(usize, Prepared)>) -> Self {
        Self(Mutex::new(items.into_iter()))
    }

    fn next(&self) -> Option<(usize, Prepared)> {
        lock(&self.0).next()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn acquire(limit: &Arc<Semaphore>, operation: &'static str) -> Result<OwnedSemaphorePermit> {
    Arc::clone(limit).acquire_owned().await.map_err(|e| {
        Error::new(ErrorKind::InvalidState, operation)
            .with_message("the in-flight limit is closed")
            .with_source(e)
    })
}

/// What every NetHSM backend handle can do.
pub(crate) fn capabilities() -> Capabilities {
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

/// What a backend over the built-in simulator can do: [`capabilities`] without the key
/// types this build of the simulator does not offer.
#[cfg(feature = "sim")]
fn simulator_capabilities() -> Capabilities {
    let mut capabilities = capabilities();
    capabilities
        .key_specs
        .retain(|spec| key_types::key_type(*spec).is_none_or(|(t, _)| crate::sim::offers(t)));
    capabilities
}

impl AsyncKeyStore for AsyncNetHsm {
    fn backend(&self) -> &'static str {
        "nethsm"
    }

    fn capabilities(&self) -> Capabilities {
        AsyncNetHsm::capabilities(self)
    }

    fn list_keys(&self) -> BoxFuture<'_, Result<Vec<KeyInfo>>> {
        Box::pin(AsyncNetHsm::list_keys(self))
    }

    fn key_info<'a>(&'a self, key: &'a KeyId) -> BoxFuture<'a, Result<KeyInfo>> {
        Box::pin(AsyncNetHsm::key_info(self, key))
    }

    fn generate_key<'a>(&'a self, template: &'a KeyTemplate) -> BoxFuture<'a, Result<KeyInfo>> {
        Box::pin(AsyncNetHsm::generate_key(self, template))
    }

    fn import_key<'a>(&'a self, request: &'a ImportRequest) -> BoxFuture<'a, Result<KeyInfo>> {
        Box::pin(AsyncNetHsm::import_key(self, request))
    }

    fn delete_key<'a>(&'a self, key: &'a KeyId) -> BoxFuture<'a, Result<()>> {
        Box::pin(AsyncNetHsm::delete_key(self, key))
    }

    fn public_key<'a>(&'a self, key: &'a KeyId) -> BoxFuture<'a, Result<PublicKey>> {
        Box::pin(AsyncNetHsm::public_key(self, key))
    }

    fn health(&self) -> BoxFuture<'_, Result<()>> {
        Box::pin(AsyncNetHsm::health(self))
    }
}

impl AsyncSigner for AsyncNetHsm {
    fn sign<'a>(
        &'a self,
        key: &'a KeyId,
        algorithm: SignAlgorithm,
        message: &'a [u8],
    ) -> BoxFuture<'a, Result<Signature>> {
        Box::pin(AsyncNetHsm::sign(self, key, algorithm, message))
    }

    fn sign_digest<'a>(
        &'a self,
        key: &'a KeyId,
        algorithm: SignAlgorithm,
        digest: &'a [u8],
    ) -> BoxFuture<'a, Result<Signature>> {
        Box::pin(AsyncNetHsm::sign_digest(self, key, algorithm, digest))
    }

    fn sign_many<'a>(
        &'a self,
        key: &'a KeyId,
        algorithm: SignAlgorithm,
        messages: &'a [&'a [u8]],
    ) -> BoxFuture<'a, Vec<Result<Signature>>> {
        Box::pin(AsyncNetHsm::sign_many(self, key, algorithm, messages))
    }
}
