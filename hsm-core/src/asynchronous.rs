//! Bridges between the blocking and the async traits (feature `tokio`).
//!
//! - [`AsyncOverBlocking`]: a blocking backend (PKCS#11, PC/SC) as an [`AsyncHsm`]. Each call
//!   runs on tokio's blocking pool, at most `max_in_flight` at once, so a tokio service never
//!   blocks a worker thread on a device and never queues more calls than the device can take.
//! - [`BlockingOverAsync`]: an async backend (NetHSM, N200) as a blocking [`Hsm`], for programs
//!   without a runtime: calls run on the backend's private runtime, or, with thread lanes, on
//!   the calling thread itself (a current-thread runtime and connections per thread).
//!
//! ```no_run
//! # async fn demo(backend: std::sync::Arc<dyn hsm_core::Hsm>) -> hsm_core::Result<()> {
//! use hsm_core::asynchronous::AsyncOverBlocking;
//! use hsm_core::{AsyncSigner as _, KeyId, SignAlgorithm};
//!
//! let hsm = AsyncOverBlocking::new(backend);
//! let key: KeyId = "signing".parse()?;
//! let signature = hsm.sign(&key, SignAlgorithm::EcdsaSha256, b"payload").await?;
//! # Ok(()) }
//! ```
//!
//! [`Hsm`]: crate::Hsm

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::algorithm::SignAlgorithm;
use crate::async_store::{AsyncHsm, AsyncKeyStore, AsyncSigner, BoxFuture};
use crate::error::{Error, ErrorKind, Result};
use crate::key_id::KeyId;
use crate::runtime::{BlockingRuntime, ThreadLane, ThreadLanes};
use crate::signature::Signature;
use crate::store::{Hsm, KeyStore};

/// How many calls [`AsyncOverBlocking`] runs at once unless told otherwise.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 32;

/// A blocking backend as an [`AsyncHsm`]: each call runs on tokio's blocking pool, at most
/// `max_in_flight` at once (the rest wait, without holding a thread). Cheap to clone.
#[derive(Clone)]
pub struct AsyncOverBlocking {
    inner: Arc<dyn Hsm>,
    permits: Arc<Semaphore>,
    max_in_flight: usize,
}

impl fmt::Debug for AsyncOverBlocking {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncOverBlocking")
            .field("inner", &self.inner)
            .field("max_in_flight", &self.max_in_flight)
            .finish()
    }
}

impl AsyncOverBlocking {
    /// Wraps a backend, with [`DEFAULT_MAX_IN_FLIGHT`] calls at once.
    #[must_use]
    pub fn new(inner: Arc<dyn Hsm>) -> Self {
        Self::with_max_in_flight(inner, DEFAULT_MAX_IN_FLIGHT)
    }

    /// Wraps a backend, with at most `max_in_flight` calls at once (at least one).
    #[must_use]
    pub fn with_max_in_flight(inner: Arc<dyn Hsm>, max_in_flight: usize) -> Self {
        let max_in_flight = max_in_flight.max(1);
        Self {
            inner,
            permits: Arc::new(Semaphore::new(max_in_flight)),
            max_in_flight,
        }
    }

    /// The wrapped backend, for blocking calls from blocking contexts.
    #[must_use]
    pub fn blocking(&self) -> &Arc<dyn Hsm> {
        &self.inner
    }

    /// Runs `f` on the blocking pool once a permit is free.
    fn run<'a, T, F>(&'a self, operation: &'static str, f: F) -> BoxFuture<'a, Result<T>>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Hsm) -> Result<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        let permits = Arc::clone(&self.permits);
        Box::pin(async move {
            let _permit = permits.acquire_owned().await.map_err(|e| {
                Error::new(ErrorKind::InvalidState, operation)
                    .with_message("the blocking pool is closed")
                    .with_source(e)
            })?;
            tokio::task::spawn_blocking(move || f(inner.as_ref()))
                .await
                .map_err(|e| {
                    Error::new(ErrorKind::Device, operation)
                        .with_message(
                            "the blocking call did not finish (it panicked or was cancelled)",
                        )
                        .with_source(e)
                })?
        })
    }
}

impl AsyncOverBlocking {
    /// `sign_many` as one blocking call for the whole batch (the backend parallelises it
    /// itself); if that call is lost, every message gets the error.
    fn sign_batch_on_pool(
        &self,
        key: KeyId,
        algorithm: SignAlgorithm,
        messages: Vec<Vec<u8>>,
    ) -> BoxFuture<'_, Vec<Result<Signature>>> {
        let count = messages.len();
        let batch = self.run("sign_many", move |h| {
            let refs: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
            Ok(h.sign_many(&key, algorithm, &refs))
        });
        Box::pin(async move {
            match batch.await {
                Ok(results) if results.len() == count => results,
                Ok(results) => {
                    let error = Error::new(ErrorKind::Device, "sign_many").with_message(format!(
                        "the backend answered {} results for {count} messages",
                        results.len()
                    ));
                    vec_of_errors(&error, count)
                }
                Err(error) => vec_of_errors(&error, count),
            }
        })
    }
}

/// An argument of a call that [`AsyncOverBlocking`] moves to the blocking pool: `ref` arguments
/// are copied into owned values (the pool's thread outlives the borrow), `copy` ones as they are.
macro_rules! owned {
    (ref $arg:ident) => {
        $arg.to_owned()
    };
    (copy $arg:ident) => {
        $arg
    };
}

/// An owned argument lent back to the blocking call, as the trait takes it.
macro_rules! lent {
    (ref $arg:ident) => {
        &$arg
    };
    (copy $arg:ident) => {
        $arg
    };
}

/// The body macro of [`AsyncOverBlocking`]'s impls (see [`crate::forward`]): `backend` and
/// `capabilities` answered by the backend at once; every other call, with its arguments owned,
/// on the blocking pool through [`AsyncOverBlocking::run`]; `sign_many` as one batch.
macro_rules! on_blocking_pool {
    ([] $this:tt, plain $trait:ident :: $method:ident()) => {
        $this.inner.$method()
    };
    ([] $this:tt, call $trait:ident :: $method:ident($($mode:tt $arg:ident),*)) => {{
        $(let $arg = owned!($mode $arg);)*
        $this.run(stringify!($method), move |h| h.$method($(lent!($mode $arg)),*))
    }};
    (
        [] $this:tt,
        batch $trait:ident :: $method:ident(ref $key:ident, copy $alg:ident, ref $messages:ident)
    ) => {{
        let messages = $messages.iter().map(|m| m.to_vec()).collect();
        $this.sign_batch_on_pool($key.clone(), $alg, messages)
    }};
}

crate::impl_async_traits! {
    impl[] AsyncKeyStore for AsyncOverBlocking;
    impl[] AsyncSigner for AsyncOverBlocking;
    with [on_blocking_pool] []
}

fn vec_of_errors(error: &Error, count: usize) -> Vec<Result<Signature>> {
    (0..count).map(|_| Err(error.replicate())).collect()
}

/// The calls of [`BlockingOverAsync`] that may run on the calling thread's lane: one request
/// each. Key management and `sign_many` (many requests in flight on the shared pool) always use
/// the shared runtime.
const LANE_OPERATIONS: [&str; 7] = [
    "key_info",
    "public_key",
    "health",
    "certificate",
    "random",
    "sign",
    "sign_digest",
];

/// Makes a thread's own instance of an async backend from the shared one (see
/// [`BlockingOverAsync::with_thread_lanes`]).
pub type MakeLane<A> = dyn Fn(&A) -> Result<Arc<A>> + Send + Sync;

/// An async backend as a blocking [`Hsm`], for programs without an async runtime (inside one,
/// use the async backend directly; a blocking call from there still works, on a helper thread).
///
/// Every call runs to completion on the backend's [`BlockingRuntime`], the runtime its shared
/// connections live on: a request crosses from the caller's thread to a runtime worker and
/// back. With thread lanes ([`Self::with_thread_lanes`]) the single-request calls of a plain
/// thread (`key_info`, `public_key`, `health`, `certificate`, `random`, `sign`, `sign_digest`)
/// run instead on that thread's own lane: a current-thread runtime and an instance of the backend
/// with connections of its own, driven by `block_on` on the caller's thread, with no thread hop.
/// Key management (`list_keys`, `generate_key`, `import_key`, `delete_key`,
/// `store_certificate`, `delete_certificate`) and `sign_many` (many requests in flight on the
/// shared pool) always use the shared runtime, as do threads beyond the lanes' bound and calls
/// from inside a tokio runtime.
///
/// `BlockingOverAsync` (the default parameter) wraps an `Arc<dyn AsyncHsm>`; a backend crate
/// wraps its own type (`BlockingOverAsync<AsyncNetHsm>`) and gets the blocking traits with
/// [`forward_to_blocking_adapter!`](crate::forward_to_blocking_adapter).
pub struct BlockingOverAsync<A: ?Sized = dyn AsyncHsm> {
    // Dropped first: the lanes' instances and connections, before the shared backend (which
    // may hold a simulator running on the runtime) and the runtime.
    lanes: Option<Lanes<A>>,
    inner: Arc<A>,
    runtime: Arc<BlockingRuntime>,
}

struct Lanes<A: ?Sized> {
    lanes: ThreadLanes<Arc<A>>,
    make: Arc<MakeLane<A>>,
}

impl<A: AsyncHsm + ?Sized + 'static> fmt::Debug for BlockingOverAsync<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockingOverAsync")
            .field("inner", &self.inner)
            .field("lanes", &self.lanes.as_ref().map(|l| &l.lanes))
            .finish_non_exhaustive()
    }
}

/// Where one call runs: on the calling thread's lane, or on the shared runtime.
enum Target<'s, A: ?Sized> {
    Lane(ThreadLane<Arc<A>>),
    Shared(&'s A, &'s BlockingRuntime),
}

impl<A: ?Sized> Target<'_, A> {
    /// The backend instance the call's future must come from.
    fn hsm(&self) -> &A {
        match self {
            Self::Lane(lane) => lane.value(),
            Self::Shared(hsm, _) => hsm,
        }
    }

    fn run<T: Send>(&self, future: impl Future<Output = Result<T>> + Send) -> Result<T> {
        match self {
            Self::Lane(lane) => lane.block_on(future),
            Self::Shared(_, runtime) => runtime.block_on(future)?,
        }
    }
}

impl<A: AsyncHsm + ?Sized + 'static> BlockingOverAsync<A> {
    /// Wraps `inner`, driving it on `runtime` (the backend's own, so the connections the async
    /// client opened on it stay usable). No thread lanes.
    #[must_use]
    pub fn new(inner: Arc<A>, runtime: Arc<BlockingRuntime>) -> Self {
        Self {
            lanes: None,
            inner,
            runtime,
        }
    }

    /// Gives each plain thread that calls (at most `max` threads at once) a lane of its own: a
    /// current-thread runtime and the instance `make` builds from the shared backend, made on
    /// the thread's first call. When the thread exits its lane waits, warm, in an idle pool and
    /// the next thread takes it over; a lane is dropped when it has been unused for
    /// [`IDLE_LANE`](crate::runtime::IDLE_LANE) and a lane is looked up, or when this adapter
    /// is dropped. `max == 0` turns lanes off.
    ///
    /// `make` must return an instance that behaves as the shared one for the single-request
    /// calls (same device, credentials and limits; sharing caches is best) but has connections
    /// of its own: a connection belongs to the runtime that opened it, and the lane's runtime
    /// only runs while its thread is in a call.
    #[must_use]
    pub fn with_thread_lanes(
        self,
        max: usize,
        make: impl Fn(&A) -> Result<Arc<A>> + Send + Sync + 'static,
    ) -> Self {
        Self {
            lanes: Some(self.lanes_of(max, Arc::new(make))),
            ..self
        }
    }

    fn lanes_of(&self, max: usize, make: Arc<MakeLane<A>>) -> Lanes<A> {
        let (shared, maker) = (Arc::clone(&self.inner), Arc::clone(&make));
        Lanes {
            lanes: ThreadLanes::new(self.runtime.name(), max, move || maker(&shared)),
            make,
        }
    }

    /// The same adapter over the backend `change` returns (e.g. with other credentials), on
    /// the same runtime; the lanes, if any, are made anew from the new backend.
    #[must_use]
    pub fn map_backend(self, change: impl FnOnce(Arc<A>) -> Arc<A>) -> Self {
        let lanes = self.lanes.map(|l| (l.lanes.max(), l.make));
        let mut mapped = Self::new(change(self.inner), self.runtime);
        if let Some((max, make)) = lanes {
            mapped.lanes = Some(mapped.lanes_of(max, make));
        }
        mapped
    }

    /// The async backend inside (the shared instance).
    #[must_use]
    pub fn async_backend(&self) -> &Arc<A> {
        &self.inner
    }

    /// The shared runtime.
    #[must_use]
    pub fn runtime(&self) -> &Arc<BlockingRuntime> {
        &self.runtime
    }

    /// The thread lanes, if they are on.
    #[must_use]
    pub fn thread_lanes(&self) -> Option<&ThreadLanes<Arc<A>>> {
        self.lanes.as_ref().map(|l| &l.lanes)
    }

    /// Runs `future` to completion on the shared runtime: for futures of the shared backend's
    /// client (its connections live on that runtime).
    ///
    /// # Errors
    /// The future's own error; [`ErrorKind::InvalidState`] once the runtime is shutting down.
    pub fn block_on<T: Send>(&self, future: impl Future<Output = Result<T>> + Send) -> Result<T> {
        self.runtime.block_on(future)?
    }

    /// Where the calling thread's call of `operation` runs: a single-request call
    /// ([`LANE_OPERATIONS`]) on the thread's lane when it has one, anything else on the shared
    /// runtime.
    fn target(&self, operation: &str) -> Target<'_, A> {
        let lane = (LANE_OPERATIONS.contains(&operation))
            .then(|| self.lanes.as_ref().and_then(|l| l.lanes.current()))
            .flatten();
        match lane {
            Some(lane) => Target::Lane(lane),
            None => Target::Shared(&self.inner, &self.runtime),
        }
    }
}

/// The body macro of [`BlockingOverAsync`]'s impls (see [`crate::forward`]): `backend` and
/// `capabilities` answered by the async backend at once; every other call's future run to
/// completion where [`BlockingOverAsync::target`] says (the thread's lane or the shared
/// runtime); `sign_many` on the shared runtime, whose pool keeps the batch's requests in flight
/// at once.
macro_rules! to_completion {
    ([] $this:tt, plain $trait:ident :: $method:ident()) => {
        $this.inner.$method()
    };
    ([] $this:tt, call $trait:ident :: $method:ident($($mode:tt $arg:ident),*)) => {{
        let on = $this.target(stringify!($method));
        on.run(on.hsm().$method($($arg),*))
    }};
    (
        [] $this:tt,
        batch $trait:ident :: $method:ident(ref $key:ident, copy $alg:ident, ref $messages:ident)
    ) => {
        $this
            .runtime
            .block_on($this.inner.sign_many($key, $alg, $messages))
            .unwrap_or_else(|error| vec_of_errors(&error, $messages.len()))
    };
}

crate::impl_blocking_traits! {
    impl[A: AsyncHsm + ?Sized + 'static] KeyStore for BlockingOverAsync<A>;
    impl[A: AsyncHsm + ?Sized + 'static] Signer for BlockingOverAsync<A>;
    with [to_completion] []
}

/// Implements [`KeyStore`] and [`Signer`](crate::Signer) for a blocking backend type that holds a
/// [`BlockingOverAsync`] in a field, by forwarding every method to it: the forwarding is written
/// once, here, for every backend built on an async one.
///
/// ```ignore
/// pub struct NetHsm {
///     blocking: BlockingOverAsync<AsyncNetHsm>,
/// }
/// hsm_core::forward_to_blocking_adapter!(NetHsm => blocking);
/// ```
#[macro_export]
macro_rules! forward_to_blocking_adapter {
    ($backend:ty => $field:ident) => {
        $crate::impl_blocking_traits! {
            impl[] KeyStore for $backend;
            impl[] Signer for $backend;
            with [$crate::__to_field_body] [$field]
        }
    };
}

/// The body macro of [`forward_to_blocking_adapter!`]: the same trait method on the field.
#[doc(hidden)]
#[macro_export]
macro_rules! __to_field_body {
    (
        [$field:ident] $this:tt,
        $kind:ident $trait:ident :: $method:ident($($mode:tt $arg:ident),*)
    ) => {
        $crate::$trait::$method(&$this.$field, $($arg),*)
    };
}
