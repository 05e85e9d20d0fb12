//! [`N200`]: the blocking `KeyStore + Signer` backend, hsm-core's generic [`BlockingOverAsync`]
//! over [`AsyncN200`]: each call runs the matching `AsyncN200` future, there is no second copy
//! of the logic and no second copy of the forwarding.

use std::future::Future;
use std::sync::Arc;

use hsm_core::asynchronous::BlockingOverAsync;
use hsm_core::runtime::BlockingRuntime;
use hsm_core::secret::SecretString;
use hsm_core::{KeyId, Result};

use crate::backend::AsyncN200;
use crate::client::N200Client;

/// The N200 backend for blocking code: [`KeyStore`](hsm_core::KeyStore) and
/// [`Signer`](hsm_core::Signer) over [`AsyncN200`].
///
/// Owns a small tokio runtime that drives the shared connection pool, so calls from plain
/// threads cost no runtime start-up; calls from inside a caller's tokio runtime work too (they
/// run on a helper thread), but a tokio service should use [`AsyncN200`] (or
/// [`N200::to_async`]) and await instead.
pub struct N200 {
    // Dropped before what it keeps alive.
    blocking: BlockingOverAsync<AsyncN200>,
    /// What the backend keeps alive for as long as it lives: the simulator that
    /// [`open`](crate::open) started for an `n200+sim:` URI.
    #[cfg(feature = "sim")]
    pub(crate) keep_alive: Option<Box<dyn std::any::Any + Send + Sync>>,
}

hsm_core::forward_to_blocking_adapter!(N200 => blocking);

impl std::fmt::Debug for N200 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("N200")
            .field("inner", self.blocking.async_backend())
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
            blocking: BlockingOverAsync::new(
                Arc::new(AsyncN200::new(client, pin, acl)),
                Arc::new(BlockingRuntime::new("hsm-n200")?),
            ),
            #[cfg(feature = "sim")]
            keep_alive: None,
        })
    }

    fn inner(&self) -> &AsyncN200 {
        self.blocking.async_backend()
    }

    /// The async client underneath (typed commands, the GET API, other cores); run its futures
    /// with [`block_on`](Self::block_on) from blocking code.
    #[must_use]
    pub fn client(&self) -> &N200Client {
        self.inner().client()
    }

    /// The same backend for async code: shares the client, the connections and the key cache.
    #[must_use]
    pub fn to_async(&self) -> AsyncN200 {
        self.inner().clone()
    }

    /// Runs a future (e.g. a typed command of [`client`](Self::client)) on this backend's
    /// runtime, from blocking code.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidState`](hsm_core::ErrorKind::InvalidState) once the runtime is
    /// shutting down; otherwise the future's own error.
    pub fn block_on<T: Send>(&self, future: impl Future<Output = Result<T>> + Send) -> Result<T> {
        self.blocking.block_on(future)
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
        self.block_on(self.inner().encrypt(key, mode, plaintext))
    }

    /// Decrypts `ciphertext` (hex, as [`encrypt`](Self::encrypt) returns it) with the AES key
    /// `key` in `mode` on the device: the plaintext text.
    ///
    /// # Errors
    /// As [`encrypt`](Self::encrypt).
    pub fn decrypt(&self, key: &KeyId, mode: &str, ciphertext: &str) -> Result<String> {
        let _span = tracing::debug_span!("n200.decrypt").entered();
        self.block_on(self.inner().decrypt(key, mode, ciphertext))
    }
}
