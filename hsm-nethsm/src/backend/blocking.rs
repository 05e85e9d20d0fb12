//! [`NetHsm`]: the blocking `KeyStore` + `Signer` of hsm-core. Each call runs the matching
//! [`AsyncNetHsm`] future on a private runtime; there is no second copy of the logic.

use std::future::Future;
use std::sync::Arc;

use hsm_core::runtime::BlockingRuntime;
use hsm_core::{
    Capabilities, ImportRequest, KeyId, KeyInfo, KeyStore, KeyTemplate, PublicKey, Result,
    SignAlgorithm, Signature, Signer,
};

use crate::backend::AsyncNetHsm;
use crate::client::{Credentials, NetHsmClient};

/// A NetHSM as a blocking hsm-core backend, for programs without an async runtime. Opened with
/// [`NetHsm::open`] / [`NetHsm::open_with`] from a `nethsm://` or `nethsm+sim:` URI, or built
/// from a [`NetHsmClient`] with [`NetHsm::new`]; shared by any number of threads.
///
/// It owns a small tokio runtime that drives the shared connection pool, so a call from a
/// plain thread costs no runtime start-up. A tokio service should use [`AsyncNetHsm`]
/// ([`crate::open_async`], or [`NetHsm::to_async`] for the same connections and key cache)
/// and await instead: from inside a runtime, a blocking call has to run on a helper thread.
pub struct NetHsm {
    // Declared before the runtime: a simulator inside, which runs on it, stops first.
    inner: AsyncNetHsm,
    runtime: Arc<BlockingRuntime>,
}

impl std::fmt::Debug for NetHsm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetHsm")
            .field("client", self.inner.client())
            .finish_non_exhaustive()
    }
}

impl NetHsm {
    /// A backend over `client`, with its own runtime for the blocking traits.
    ///
    /// # Errors
    /// [`ErrorKind::Unavailable`](hsm_core::ErrorKind::Unavailable) if the runtime cannot
    /// start.
    pub fn new(client: NetHsmClient) -> Result<Self> {
        Ok(Self::over(
            AsyncNetHsm::new(client),
            BlockingRuntime::new("hsm-nethsm")?,
        ))
    }

    /// `inner` driven by `runtime` (the one its simulator, if any, runs on).
    pub(crate) fn over(inner: AsyncNetHsm, runtime: BlockingRuntime) -> Self {
        Self {
            inner,
            runtime: Arc::new(runtime),
        }
    }

    /// Uses `credentials` (an Administrator) for generate and delete, which the NetHSM allows
    /// only to administrators, while signing stays with the main user (an Operator).
    #[must_use]
    pub fn with_admin(self, credentials: Credentials) -> Self {
        Self {
            inner: self.inner.with_admin(credentials),
            runtime: self.runtime,
        }
    }

    /// At most `calls` requests in flight at once (see [`AsyncNetHsm::with_max_in_flight`]).
    #[must_use]
    pub fn with_max_in_flight(self, calls: usize) -> Self {
        Self {
            inner: self.inner.with_max_in_flight(calls),
            runtime: self.runtime,
        }
    }

    /// The same backend for async code: shares the client, the connections and the key cache.
    /// Await its calls on your own runtime; keep this `NetHsm` alive while the clone is used
    /// if it opened a simulator (`nethsm+sim:` runs on this handle's runtime).
    #[must_use]
    pub fn to_async(&self) -> AsyncNetHsm {
        self.inner.clone()
    }

    /// The async backend inside, borrowed.
    pub(crate) fn to_async_ref(&self) -> &AsyncNetHsm {
        &self.inner
    }

    /// The async client, for the parts of the API the traits do not cover.
    #[must_use]
    pub fn client(&self) -> &NetHsmClient {
        self.inner.client()
    }

    /// Runs an async client call from blocking code, on this backend's runtime.
    ///
    /// # Errors
    /// The call's errors; [`ErrorKind::InvalidState`](hsm_core::ErrorKind::InvalidState) once
    /// the runtime is shutting down.
    pub fn block_on<T: Send>(&self, future: impl Future<Output = Result<T>> + Send) -> Result<T> {
        self.runtime.block_on(future)?
    }

    /// The simulator this backend started (`nethsm+sim:`), if any.
    #[cfg(feature = "sim")]
    #[must_use]
    pub fn simulator(&self) -> Option<&crate::sim::Simulator> {
        self.inner.simulator()
    }

    /// Forgets what this backend cached of every key (type, mechanisms, public key), so the
    /// next use asks the device again: for keys another client may have deleted or replaced.
    pub fn clear_key_cache(&self) {
        self.inner.clear_key_cache();
    }
}

impl KeyStore for NetHsm {
    fn backend(&self) -> &'static str {
        "nethsm"
    }

    /// See [`AsyncNetHsm::capabilities`].
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    /// See [`AsyncNetHsm::list_keys`].
    fn list_keys(&self) -> Result<Vec<KeyInfo>> {
        self.block_on(self.inner.list_keys())
    }

    fn key_info(&self, key: &KeyId) -> Result<KeyInfo> {
        self.block_on(self.inner.key_info(key))
    }

    fn generate_key(&self, template: &KeyTemplate) -> Result<KeyInfo> {
        self.block_on(self.inner.generate_key(template))
    }

    /// See [`AsyncNetHsm::import_key`].
    fn import_key(&self, request: &ImportRequest) -> Result<KeyInfo> {
        self.block_on(self.inner.import_key(request))
    }

    fn delete_key(&self, key: &KeyId) -> Result<()> {
        self.block_on(self.inner.delete_key(key))
    }

    fn public_key(&self, key: &KeyId) -> Result<PublicKey> {
        self.block_on(self.inner.public_key(key))
    }

    /// See [`AsyncNetHsm::health`].
    fn health(&self) -> Result<()> {
        self.block_on(self.inner.health())
    }
}

impl Signer for NetHsm {
    fn sign(&self, key: &KeyId, algorithm: SignAlgorithm, message: &[u8]) -> Result<Signature> {
        self.block_on(self.inner.sign(key, algorithm, message))
    }

    fn sign_digest(
        &self,
        key: &KeyId,
        algorithm: SignAlgorithm,
        digest: &[u8],
    ) -> Result<Signature> {
        self.block_on(self.inner.sign_digest(key, algorithm, digest))
    }

    /// See [`AsyncNetHsm::sign_many`].
    fn sign_many(
        &self,
        key: &KeyId,
        algorithm: SignAlgorithm,
        messages: &[&[u8]],
    ) -> Vec<Result<Signature>> {
        match self
            .runtime
            .block_on(self.inner.sign_many(key, algorithm, messages))
        {
            Ok(results) => results,
            Err(e) => messages.iter().map(|_| Err(e.replicate())).collect(),
        }
    }
}
