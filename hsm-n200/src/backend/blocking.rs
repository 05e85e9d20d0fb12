//! [`N200`]: the blocking `KeyStore + Signer` backend. Each call runs the matching
//! [`AsyncN200`] future on a private runtime; there is no second copy of the logic.

use std::future::Future;

use hsm_core::runtime::BlockingRuntime;
use hsm_core::secret::SecretString;
use hsm_core::{
    Capabilities, ImportRequest, KeyId, KeyInfo, KeyStore, KeyTemplate, PublicKey, Result,
    SignAlgorithm, Signature, Signer,
};

use crate::backend::{AsyncN200, capabilities, copy_for_each};
use crate::client::N200Client;

/// The N200 backend for blocking code: [`KeyStore`] and [`Signer`] over [`AsyncN200`].
///
/// Owns a small tokio runtime that drives the shared connection pool, so calls from plain
/// threads cost no runtime start-up; calls from inside a caller's tokio runtime work too (they
/// run on a helper thread), but a tokio service should use [`AsyncN200`] (or
/// [`N200::to_async`]) and await instead.
pub struct N200 {
    inner: AsyncN200,
    runtime: BlockingRuntime,
    /// What the backend keeps alive for as long as it lives: the simulator that
    /// [`open`](crate::open) started for an `n200+sim:` URI.
    #[cfg(feature = "sim")]
    pub(crate) keep_alive: Option<Box<dyn std::any::Any + Send + Sync>>,
}

impl std::fmt::Debug for N200 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("N200")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl N200 {
    /// A backend over `client`, signing with the key PIN `pin` (empty when the device stores
    /// the PIN itself) and creating keys with `acl` (the record uses `FFFF`).
    ///
    /// # Errors
    /// [`ErrorKind::Unavailable`](hsm_core::ErrorKind::Unavailable) when the runtime's threads
    /// cannot start.
    pub fn new(client: N200Client, pin: SecretString, acl: impl Into<String>) -> Result<Self> {
        Ok(Self {
            inner: AsyncN200::new(client, pin, acl),
            runtime: BlockingRuntime::new("hsm-n200")?,
            #[cfg(feature = "sim")]
            keep_alive: None,
        })
    }

    /// The async client underneath (typed commands, the GET API, other cores); run its futures
    /// with [`block_on`](Self::block_on) from blocking code.
    #[must_use]
    pub fn client(&self) -> &N200Client {
        self.inner.client()
    }

    /// The same backend for async code: shares the client, the connections and the key cache.
    #[must_use]
    pub fn to_async(&self) -> AsyncN200 {
        self.inner.clone()
    }

    /// Runs a future (e.g. a typed command of [`client`](Self::client)) on this backend's
    /// runtime, from blocking code.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidState`](hsm_core::ErrorKind::InvalidState) once the runtime is
    /// shutting down; otherwise the future's own error.
    pub fn block_on<T: Send>(&self, future: impl Future<Output = Result<T>> + Send) -> Result<T> {
        self.runtime.block_on(future)?
    }

    /// Encrypts the text `plaintext` with the AES key `key` in `mode` (`CBC`) on the device,
    /// with this backend's key PIN: the ciphertext in hex (see [`AsyncN200::encrypt`]).
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`](hsm_core::ErrorKind::NotFound) for an unknown key,
    /// [`ErrorKind::InvalidInput`](hsm_core::ErrorKind::InvalidInput) for a key that is not
    /// symmetric, transport, authentication and device errors.
    pub fn encrypt(&self, key: &KeyId, mode: &str, plaintext: &str) -> Result<String> {
        let _span = tracing::debug_span!("n200.encrypt").entered();
        self.block_on(self.inner.encrypt(key, mode, plaintext))
    }

    /// Decrypts `ciphertext` (hex, as [`encrypt`](Self::encrypt) returns it) with the AES key
    /// `key` in `mode` on the device: the plaintext text.
    ///
    /// # Errors
    /// As [`encrypt`](Self::encrypt).
    pub fn decrypt(&self, key: &KeyId, mode: &str, ciphertext: &str) -> Result<String> {
        let _span = tracing::debug_span!("n200.decrypt").entered();
        self.block_on(self.inner.decrypt(key, mode, ciphertext))
    }
}

impl KeyStore for N200 {
    fn backend(&self) -> &'static str {
        "n200"
    }

    fn capabilities(&self) -> Capabilities {
        capabilities()
    }

    fn list_keys(&self) -> Result<Vec<KeyInfo>> {
        let _span = tracing::debug_span!("n200.list_keys").entered();
        self.block_on(self.inner.list_keys())
    }

    fn key_info(&self, key: &KeyId) -> Result<KeyInfo> {
        let _span = tracing::debug_span!("n200.key_info").entered();
        self.block_on(self.inner.key_info(key))
    }

    fn generate_key(&self, template: &KeyTemplate) -> Result<KeyInfo> {
        let _span = tracing::debug_span!("n200.generate_key").entered();
        self.block_on(self.inner.generate_key(template))
    }

    fn import_key(&self, request: &ImportRequest) -> Result<KeyInfo> {
        let _span = tracing::debug_span!("n200.import_key").entered();
        self.block_on(self.inner.import_key(request))
    }

    fn delete_key(&self, key: &KeyId) -> Result<()> {
        let _span = tracing::debug_span!("n200.delete_key").entered();
        self.block_on(self.inner.delete_key(key))
    }

    fn public_key(&self, key: &KeyId) -> Result<PublicKey> {
        let _span = tracing::debug_span!("n200.public_key").entered();
        self.block_on(self.inner.public_key(key))
    }
}

impl Signer for N200 {
    fn sign(&self, key: &KeyId, algorithm: SignAlgorithm, message: &[u8]) -> Result<Signature> {
        let _span = tracing::debug_span!("n200.sign", %algorithm).entered();
        self.block_on(self.inner.sign(key, algorithm, message))
    }

    fn sign_digest(
        &self,
        key: &KeyId,
        algorithm: SignAlgorithm,
        digest: &[u8],
    ) -> Result<Signature> {
        let _span = tracing::debug_span!("n200.sign_digest", %algorithm).entered();
        self.block_on(self.inner.sign_digest(key, algorithm, digest))
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
        match self
            .runtime
            .block_on(self.inner.sign_many(key, algorithm, messages))
        {
            Ok(results) => results,
            Err(e) => messages
                .iter()
                .map(|_| Err(copy_for_each(&e, OP)))
                .collect(),
        }
    }
}
