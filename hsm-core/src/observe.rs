//! What a service sees of its HSM calls: a tracing span around every call and an [`Observer`]
//! hook for metrics, for any backend, through the [`Observed`] wrapper.
//!
//! Every call gets a span named `hsm.call` with the fields `backend`, `operation`, `key` and
//! `algorithm`, and ends with an event carrying `outcome` (`ok` or the error kind) and
//! `latency_us`. Nothing else is recorded: no message, no signature, never a credential.
//!
//! ```
//! # #[cfg(feature = "mock")] {
//! use std::sync::Arc;
//! use std::sync::atomic::{AtomicU64, Ordering};
//! use hsm_core::observe::{CallRecord, Observed, Observer};
//!
//! #[derive(Debug, Default)]
//! struct Counter(AtomicU64);
//!
//! impl Observer for Counter {
//!     fn on_call(&self, record: &CallRecord<'_>) {
//!         // e.g. a Prometheus histogram: record.backend, record.operation, record.latency
//!         self.0.fetch_add(1, Ordering::Relaxed);
//!     }
//! }
//!
//! let counter = Arc::new(Counter::default());
//! let hsm = Observed::new(hsm_core::mock::MockHsm::new(), counter.clone());
//! let _ = hsm_core::KeyStore::list_keys(&hsm);
//! assert_eq!(counter.0.load(Ordering::Relaxed), 1);
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::Instrument as _;

use crate::algorithm::SignAlgorithm;
use crate::async_store::{AsyncKeyStore, AsyncSigner, BoxFuture};
use crate::error::{ErrorKind, Result};
use crate::key_id::KeyId;
use crate::signature::Signature;
use crate::store::{KeyStore, Signer};

/// One finished call, as an [`Observer`] sees it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct CallRecord<'a> {
    /// The backend's short name (`nethsm`, `n200`, `pkcs11`, `sc-hsm`, ...).
    pub backend: &'static str,
    /// The trait method: `sign`, `sign_digest`, `sign_many`, `public_key`, `list_keys`, ...
    pub operation: &'static str,
    /// The key, for calls about one key.
    pub key: Option<&'a KeyId>,
    /// The algorithm, for signing calls.
    pub algorithm: Option<SignAlgorithm>,
    /// `Ok` or the error's kind. For `sign_many`, the first failure's kind, if any.
    pub outcome: std::result::Result<(), ErrorKind>,
    /// How many messages the call signed (1 for `sign`, the batch size for `sign_many`, 0 for
    /// calls that sign nothing).
    pub messages: usize,
    /// Tries left on a PIN or password, when a failed login told.
    pub retries_left: Option<u32>,
    /// Wall-clock time of the call.
    pub latency: Duration,
}

/// Receives a [`CallRecord`] after every call through an [`Observed`] backend: feed it into your
/// metrics (counts, a latency histogram, failures by kind, PIN tries left). Called on the caller's
/// thread or task; keep it quick and never block in it.
pub trait Observer: Send + Sync + fmt::Debug {
    /// One call finished.
    fn on_call(&self, record: &CallRecord<'_>);
}

/// A backend whose every call is traced and reported to an [`Observer`]. Implements the blocking
/// traits when `H` does and the async ones when `H` does.
#[derive(Clone, Debug)]
pub struct Observed<H> {
    inner: H,
    observer: Arc<dyn Observer>,
}

impl<H> Observed<H> {
    /// Wraps `inner`, reporting to `observer`.
    pub fn new(inner: H, observer: Arc<dyn Observer>) -> Self {
        Self { inner, observer }
    }

    /// The wrapped backend.
    pub fn inner(&self) -> &H {
        &self.inner
    }
}

/// What is known of a call before it runs.
struct Call<'a> {
    backend: &'static str,
    operation: &'static str,
    key: Option<&'a KeyId>,
    algorithm: Option<SignAlgorithm>,
    messages: usize,
}

impl<'a> Call<'a> {
    /// A call about no key that signs nothing.
    fn new(backend: &'static str, operation: &'static str) -> Self {
        Self {
            backend,
            operation,
            key: None,
            algorithm: None,
            messages: 0,
        }
    }

    /// The call is about `key`.
    fn about(self, key: Option<&'a KeyId>) -> Self {
        Self { key, ..self }
    }

    /// The call signs `messages` messages with `algorithm`.
    fn signing(self, algorithm: SignAlgorithm, messages: usize) -> Self {
        Self {
            algorithm: Some(algorithm),
            messages,
            ..self
        }
    }

    fn span(&self) -> tracing::Span {
        tracing::debug_span!(
            "hsm.call",
            backend = self.backend,
            operation = self.operation,
            key = self.key.map(tracing::field::display),
            algorithm = self.algorithm.map(tracing::field::display),
        )
    }

    fn finish(self, observer: &dyn Observer, outcome: Outcome, started: Instant) {
        let latency = started.elapsed();
        let latency_us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        match outcome {
            Ok(()) => tracing::debug!(outcome = "ok", latency_us, "hsm call finished"),
            Err((kind, _)) => {
                tracing::debug!(outcome = kind.as_str(), latency_us, "hsm call failed")
            }
        }
        observer.on_call(&CallRecord {
            backend: self.backend,
            operation: self.operation,
            key: self.key,
            algorithm: self.algorithm,
            outcome: outcome.map_err(|(kind, _)| kind),
            messages: self.messages,
            retries_left: outcome.err().and_then(|(_, left)| left),
            latency,
        });
    }
}

/// How a call ended, as [`Call::finish`] takes it: `Ok`, or the error's kind and the PIN tries
/// left it tells.
type Outcome = std::result::Result<(), (ErrorKind, Option<u32>)>;

fn outcome_of<T>(result: &Result<T>) -> Outcome {
    result
        .as_ref()
        .map(drop)
        .map_err(|e| (e.kind(), e.retries_left()))
}

/// The outcome of a batch: its first failure, if any.
fn outcome_of_many(results: &[Result<Signature>]) -> Outcome {
    results
        .iter()
        .find_map(|r| r.as_ref().err())
        .map_or(Ok(()), |e| Err((e.kind(), e.retries_left())))
}

impl<H> Observed<H> {
    fn blocking<T>(&self, call: Call<'_>, outcome: fn(&T) -> Outcome, f: impl FnOnce() -> T) -> T {
        let span = call.span();
        let _entered = span.enter();
        let started = Instant::now();
        let result = f();
        call.finish(self.observer.as_ref(), outcome(&result), started);
        result
    }

    fn asynchronous<'a, T: Send + 'a>(
        &'a self,
        call: Call<'a>,
        outcome: fn(&T) -> Outcome,
        future: impl Future<Output = T> + Send + 'a,
    ) -> BoxFuture<'a, T> {
        let span = call.span();
        let observer = Arc::clone(&self.observer);
        Box::pin(
            async move {
                let started = Instant::now();
                let result = future.await;
                call.finish(observer.as_ref(), outcome(&result), started);
                result
            }
            .instrument(span),
        )
    }
}

/// The [`Call`] of a trait method, from its kind, name and arguments as the method tables pass
/// them (see [`crate::forward`]): the key it acts on (a template's or an import request's id)
/// and, for signing, the algorithm and how many messages it signs.
macro_rules! call_of {
    ($backend:expr, call $method:ident($(copy $len:ident)?)) => {
        Call::new($backend, stringify!($method))
    };
    ($backend:expr, call $method:ident(ref $first:ident $(, ref $more:ident)*)) => {
        Call::new($backend, stringify!($method)).about(key_of!($first $first))
    };
    ($backend:expr, call $method:ident(ref $key:ident, copy $alg:ident, ref $message:ident)) => {
        Call::new($backend, stringify!($method))
            .about(Some($key))
            .signing($alg, 1)
    };
    ($backend:expr, batch $method:ident(ref $key:ident, copy $alg:ident, ref $messages:ident)) => {
        Call::new($backend, stringify!($method))
            .about(Some($key))
            .signing($alg, $messages.len())
    };
}

/// The key a one-key call acts on, from its first argument's name (given twice: once to match,
/// once to use).
macro_rules! key_of {
    (key $key:ident) => {
        Some($key)
    };
    (template $template:ident) => {
        Some(&$template.id)
    };
    (request $request:ident) => {
        Some(&$request.id)
    };
}

/// How a call's result becomes its [`Outcome`]: a batch by its first failure.
macro_rules! outcome_fn {
    (call) => {
        outcome_of
    };
    (batch) => {
        |results: &Vec<_>| outcome_of_many(results)
    };
}

/// The body macro of `Observed`'s impls (see [`crate::forward`]): `backend` and `capabilities`
/// go straight through; every other call runs inside [`Observed::blocking`] or
/// [`Observed::asynchronous`] (the state names which).
macro_rules! observed {
    ([$flavour:ident] $this:tt, plain $trait:ident :: $method:ident()) => {
        $this.inner.$method()
    };
    (
        [$flavour:ident] $this:tt,
        $kind:ident $trait:ident :: $method:ident($($mode:tt $arg:ident),*)
    ) => {
        $this.$flavour(
            call_of!($this.inner.backend(), $kind $method($($mode $arg),*)),
            outcome_fn!($kind),
            observed!(@call $flavour $this.inner.$method($($arg),*)),
        )
    };
    (@call blocking $($call:tt)*) => {
        || $($call)*
    };
    (@call asynchronous $($call:tt)*) => {
        $($call)*
    };
}

crate::impl_blocking_traits! {
    impl[H: KeyStore] KeyStore for Observed<H>;
    impl[H: KeyStore + Signer] Signer for Observed<H>;
    with [observed] [blocking]
}

crate::impl_async_traits! {
    impl[H: AsyncKeyStore] AsyncKeyStore for Observed<H>;
    impl[H: AsyncKeyStore + AsyncSigner] AsyncSigner for Observed<H>;
    with [observed] [asynchronous]
}
