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
/// threads cost no runtime start-up; on it, each request crosses from the caller's thread to a
/// runtime worker and back. With thread lanes (on for a handle from [`N200::open`] /
/// [`N200::open_with`]; [`N200::with_thread_lanes`] for one from [`N200::new`]), each plain
/// thread that signs gets a lane of its own instead: a current-thread runtime and a client with
/// its own kept-alive connection, driven on the caller's thread (no thread hop), sharing the
/// key cache. Calls from inside a caller's tokio runtime work too (they run on a helper
/// thread), but a tokio service should use [`AsyncN200`] (or [`N200::to_async`]) and await
/// instead.
#[derive(Debug)]
pub struct N200 {
    blocking: BlockingOverAsync<AsyncN200>,
}

hsm_core::forward_to_blocking_adapter!(N200 => blocking);

impl N200 {
    /// A backend over `client`, signing with the key PIN `pin` (empty when the device stores
    /// the PIN itself) and creating keys with `acl` (the record uses `FFFF`); no thread lanes
    /// unless [`Self::with_thread_lanes`] adds them.
    ///
    /// # Errors
    /// [`ErrorKind::Unavailable`](hsm_core::ErrorKind::Unavailable) when the runtime's threads
    /// cannot start.
    pub fn new(client: N200Client, pin: SecretString, acl: impl Into<String>) -> Result<Self> {
        Self::over(AsyncN200::new(client, pin, acl))
    }

    /// `inner` (with what it keeps alive: the simulator [`open`](crate::open) started for an
    /// `n200+sim:` URI) on a runtime of its own, without thread lanes.
    ///
    /// # Errors
    /// As [`Self::new`].
    pub(crate) fn over(inner: AsyncN200) -> Result<Self> {
        Ok(Self {
            blocking: BlockingOverAsync::new(
                Arc::new(inner),
                Arc::new(BlockingRuntime::new("hsm-n200")?),
            ),
        })
    }

    /// Gives each plain thread that calls (at most `max_threads` at once, e.g.
    /// [`DEFAULT_MAX_THREAD_LANES`](hsm_core::runtime::DEFAULT_MAX_THREAD_LANES); 0 turns them
    /// off) a lane of its own: a current-thread runtime and this backend's client with a
    /// connection pool of its own ([`N200Client::with_own_connections`]: same device,
    /// credentials, TLS trust, budgets, retries, command table and core). On its lane a
    /// thread's `sign`, `sign_digest`, `public_key`, `key_info`, `health` and `random` run on
    /// the thread itself, without a thread hop: one kept-alive connection per thread.
    ///
    /// The lanes share this backend's key cache. Key management, listings and `sign_many`
    /// (which pipelines on the shared pool) stay on the shared runtime, as do calls from inside
    /// a tokio runtime and threads beyond `max_threads`. When its thread exits, a lane with its
    /// warm connection waits in an idle pool for the next thread; it is dropped after
    /// [`IDLE_LANE`](hsm_core::runtime::IDLE_LANE) unused, and when this backend is dropped.
    /// [`N200::open`] and [`N200::open_with`] turn lanes on with `DEFAULT_MAX_THREAD_LANES`.
    #[must_use]
    pub fn with_thread_lanes(self, max_threads: usize) -> Self {
        Self {
            blocking: self
                .blocking
                .with_thread_lanes(max_threads, |shared: &AsyncN200| {
                    Ok(Arc::new(shared.with_own_connections()?))
                }),
        }
    }

    /// How many threads hold a lane now (0 without [`Self::with_thread_lanes`]).
    #[must_use]
    pub fn thread_lanes(&self) -> usize {
        self.blocking.thread_lanes().map_or(0, |l| l.len())
    }

    pub(crate) fn inner(&self) -> &AsyncN200 {
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
