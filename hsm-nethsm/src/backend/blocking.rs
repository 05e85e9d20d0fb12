//! [`NetHsm`]: the blocking `KeyStore` + `Signer` of hsm-core, hsm-core's generic
//! [`BlockingOverAsync`] over [`AsyncNetHsm`]: each call runs the matching `AsyncNetHsm` future,
//! there is no second copy of the logic and no second copy of the forwarding.

use std::future::Future;
use std::sync::Arc;

use hsm_core::Result;
use hsm_core::asynchronous::BlockingOverAsync;
use hsm_core::runtime::BlockingRuntime;

use crate::backend::{AsyncNetHsm, Inner};
use crate::client::{Credentials, NetHsmClient};

/// A NetHSM as a blocking hsm-core backend, for programs without an async runtime. Opened with
/// [`NetHsm::open`] / [`NetHsm::open_with`] from a `nethsm://` or `nethsm+sim:` URI, or built
/// from a [`NetHsmClient`] with [`NetHsm::new`]; shared by any number of threads.
///
/// It owns a small tokio runtime that drives the shared connection pool, so a call from a
/// plain thread costs no runtime start-up; on it, each request crosses from the caller's thread
/// to a runtime worker and back. With thread lanes (on for a handle from [`NetHsm::open`] /
/// [`NetHsm::open_with`]; [`NetHsm::with_thread_lanes`] or [`NetHsm::with_thread_clients`] for
/// one from [`NetHsm::new`]), each plain thread that signs gets a lane of its own instead (a
/// current-thread runtime and a client with its own kept-alive connection, driven on the
/// caller's thread: no thread hop), sharing the key cache and the in-flight limit. A tokio service should use [`AsyncNetHsm`] ([`crate::open_async`],
/// or [`NetHsm::to_async`] for the same connections and key cache) and await instead: from
/// inside a runtime, a blocking call has to run on a helper thread.
pub struct NetHsm {
    blocking: BlockingOverAsync<AsyncNetHsm>,
}

hsm_core::forward_to_blocking_adapter!(NetHsm => blocking);

impl std::fmt::Debug for NetHsm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetHsm")
            .field("client", self.client())
            .field(
                "thread_lanes",
                &self.blocking.thread_lanes().map(|l| l.max()),
            )
            .finish_non_exhaustive()
    }
}

impl NetHsm {
    /// A backend over `client`, with its own runtime for the blocking traits; no thread lanes
    /// unless [`Self::with_thread_lanes`] or [`Self::with_thread_clients`] adds them.
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
            blocking: BlockingOverAsync::new(Arc::new(inner), Arc::new(runtime)),
        }
    }

    fn map_async(self, change: impl FnOnce(AsyncNetHsm) -> AsyncNetHsm) -> Self {
        Self {
            blocking: self
                .blocking
                .map_backend(|shared| Arc::new(change(Arc::unwrap_or_clone(shared)))),
        }
    }

    /// Uses `credentials` (an Administrator) for generate and delete, which the NetHSM allows
    /// only to administrators, while signing stays with the main user (an Operator).
    #[must_use]
    pub fn with_admin(self, credentials: Credentials) -> Self {
        self.map_async(|hsm| hsm.with_admin(credentials))
    }

    /// At most `calls` requests in flight at once (see [`AsyncNetHsm::with_max_in_flight`]),
    /// over the shared runtime and every thread lane together.
    #[must_use]
    pub fn with_max_in_flight(self, calls: usize) -> Self {
        self.map_async(|hsm| hsm.with_max_in_flight(calls))
    }

    /// Gives each plain thread that calls (at most `max_threads` at once, e.g.
    /// [`DEFAULT_MAX_THREAD_LANES`](hsm_core::runtime::DEFAULT_MAX_THREAD_LANES); 0 turns it off) a lane of its own: a current-thread runtime
    /// and a client from `clients`, which must build a client of the same device with the same
    /// credentials and settings as this backend's (each call builds a new connection pool). On
    /// its lane a thread's `sign`, `sign_digest`, `public_key`, `key_info` and `health` run on
    /// the thread itself, without a thread hop: usually one kept-alive connection per thread.
    ///
    /// The lanes share this backend's key cache and in-flight limit
    /// ([`Self::with_max_in_flight`] holds over all of them); key management, listings and
    /// `sign_many` (which pipelines on the shared pool) stay on the shared runtime, as do calls
    /// from inside a tokio runtime and threads beyond `max_threads`. When its thread exits, a
    /// lane with its warm connection goes to an idle pool for the next thread; it is dropped
    /// after a minute unused, and when this backend is dropped. Connections: the shared pool's plus at most
    /// one per instance for each lane.
    #[must_use]
    pub fn with_thread_clients(
        self,
        max_threads: usize,
        clients: impl Fn() -> Result<NetHsmClient> + Send + Sync + 'static,
    ) -> Self {
        Self {
            blocking: self
                .blocking
                .with_thread_lanes(max_threads, move |shared: &AsyncNetHsm| {
                    Ok(Arc::new(lane_of(shared, clients()?)))
                }),
        }
    }

    /// [`Self::with_thread_clients`] with lanes whose clients are this backend's own client
    /// with connection pools of their own ([`NetHsmClient::with_own_connections`]: same
    /// instances, credentials, TLS trust, timeouts and retry policy). [`NetHsm::open`] and
    /// [`NetHsm::open_with`] turn this on with
    /// [`DEFAULT_MAX_THREAD_LANES`](hsm_core::runtime::DEFAULT_MAX_THREAD_LANES); `0` turns
    /// lanes off.
    #[must_use]
    pub fn with_thread_lanes(self, max_threads: usize) -> Self {
        Self {
            blocking: self
                .blocking
                .with_thread_lanes(max_threads, |shared: &AsyncNetHsm| {
                    Ok(Arc::new(lane_of(
                        shared,
                        shared.client().with_own_connections()?,
                    )))
                }),
        }
    }

    /// How many threads hold a lane now (0 without [`Self::with_thread_clients`]).
    #[must_use]
    pub fn thread_lanes(&self) -> usize {
        self.blocking.thread_lanes().map_or(0, |l| l.len())
    }

    /// The same backend for async code: shares the client, the connections and the key cache.
    /// Await its calls on your own runtime; keep this `NetHsm` alive while the clone is used
    /// if it opened a simulator (`nethsm+sim:` runs on this handle's runtime).
    #[must_use]
    pub fn to_async(&self) -> AsyncNetHsm {
        AsyncNetHsm::clone(self.blocking.async_backend())
    }

    /// The async backend inside, borrowed.
    pub(crate) fn to_async_ref(&self) -> &AsyncNetHsm {
        self.blocking.async_backend()
    }

    /// The async client, for the parts of the API the traits do not cover; run its futures
    /// with [`Self::block_on`].
    #[must_use]
    pub fn client(&self) -> &NetHsmClient {
        self.to_async_ref().client()
    }

    /// Runs an async client call from blocking code, on this backend's shared runtime.
    ///
    /// # Errors
    /// The call's errors; [`ErrorKind::InvalidState`](hsm_core::ErrorKind::InvalidState) once
    /// the runtime is shutting down.
    pub fn block_on<T: Send>(&self, future: impl Future<Output = Result<T>> + Send) -> Result<T> {
        self.blocking.block_on(future)
    }

    /// Forgets what this backend cached of every key (type, mechanisms, public key), so the
    /// next use asks the device again: for keys another client may have deleted or replaced.
    /// The thread lanes share the cache.
    pub fn clear_key_cache(&self) {
        self.to_async_ref().clear_key_cache();
    }
}

/// A thread lane's backend: `shared` with its requests sent through `client` (connections of
/// its own, tied to the lane's runtime), sharing the key cache, the AES key specs, the
/// in-flight limit and the simulator. Without an administrator: a lane serves only the calls
/// the main user makes (key management stays on the shared runtime).
fn lane_of(shared: &AsyncNetHsm, client: NetHsmClient) -> AsyncNetHsm {
    let mut inner = Inner::clone(&shared.inner);
    inner.client = client;
    inner.admin = None;
    AsyncNetHsm {
        inner: Arc::new(inner),
    }
}
