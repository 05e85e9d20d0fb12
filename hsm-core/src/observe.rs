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
use crate::key_info::{ImportRequest, KeyInfo, KeyTemplate};
use crate::public_key::PublicKey;
use crate::signature::Signature;
use crate::store::{Capabilities, KeyStore, Signer};

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
    fn span(&self) -> tracing::Span {
        tracing::debug_span!(
            "hsm.call",
            backend = self.backend,
            operation = self.operation,
            key = self.key.map(tracing::field::display),
            algorithm = self.algorithm.map(tracing::field::display),
        )
    }

    fn finish(
        self,
        observer: &dyn Observer,
        outcome: std::result::Result<(), (ErrorKind, Option<u32>)>,
        started: Instant,
    ) {
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

fn outcome_of<T>(result: &Result<T>) -> std::result::Result<(), (ErrorKind, Option<u32>)> {
    result
        .as_ref()
        .map(drop)
        .map_err(|e| (e.kind(), e.retries_left()))
}

fn outcome_of_many(
    results: &[Result<Signature>],
) -> std::result::Result<(), (ErrorKind, Option<u32>)> {
    results
        .iter()
        .find_map(|r| r.as_ref().err())
        .map_or(Ok(()), |e| Err((e.kind(), e.retries_left())))
}

impl<H> Observed<H> {
    fn blocking<T>(&self, call: Call<'_>, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let span = call.span();
        let _entered = span.enter();
        let started = Instant::now();
        let result = f();
        call.finish(self.observer.as_ref(), outcome_of(&result), started);
        result
    }

    fn asynchronous<'a, T: Send + 'a>(
        &'a self,
        call: Call<'a>,
        future: impl Future<Output = Result<T>> + Send + 'a,
    ) -> BoxFuture<'a, Result<T>> {
        let span = call.span();
        let observer = Arc::clone(&self.observer);
        Box::pin(
            async move {
                let started = Instant::now();
                let result = future.await;
                call.finish(observer.as_ref(), outcome_of(&result), started);
                result
            }
            .instrument(span),
        )
    }
}

macro_rules! call {
    ($self:ident, $backend:expr, $op:literal) => {
        Call {
            backend: $backend,
            operation: $op,
            key: None,
            algorithm: None,
            messages: 0,
        }
    };
    ($self:ident, $backend:expr, $op:literal, $key:expr) => {
        Call {
            backend: $backend,
            operation: $op,
            key: Some($key),
            algorithm: None,
            messages: 0,
        }
    };
    ($self:ident, $backend:expr, $op:literal, $key:expr, $alg:expr, $n:expr) => {
        Call {
            backend: $backend,
            operation: $op,
            key: Some($key),
            algorithm: Some($alg),
            messages: $n,
        }
    };
}

impl<H: KeyStore> KeyStore for Observed<H> {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    fn list_keys(&self) -> Result<Vec<KeyInfo>> {
        self.blocking(call!(self, self.inner.backend(), "list_keys"), || {
            self.inner.list_keys()
        })
    }

    fn key_info(&self, key: &KeyId) -> Result<KeyInfo> {
        self.blocking(call!(self, self.inner.backend(), "key_info", key), || {
            self.inner.key_info(key)
        })
    }

    fn generate_key(&self, template: &KeyTemplate) -> Result<KeyInfo> {
        self.blocking(
            call!(self, self.inner.backend(), "generate_key", &template.id),
            || self.inner.generate_key(template),
        )
    }

    fn import_key(&self, request: &ImportRequest) -> Result<KeyInfo> {
        self.blocking(
            call!(self, self.inner.backend(), "import_key", &request.id),
            || self.inner.import_key(request),
        )
    }

    fn delete_key(&self, key: &KeyId) -> Result<()> {
        self.blocking(call!(self, self.inner.backend(), "delete_key", key), || {
            self.inner.delete_key(key)
        })
    }

    fn public_key(&self, key: &KeyId) -> Result<PublicKey> {
        self.blocking(call!(self, self.inner.backend(), "public_key", key), || {
            self.inner.public_key(key)
        })
    }

    fn health(&self) -> Result<()> {
        self.blocking(call!(self, self.inner.backend(), "health"), || {
            self.inner.health()
        })
    }

    fn certificate(&self, key: &KeyId) -> Result<Option<Vec<u8>>> {
        self.blocking(
            call!(self, self.inner.backend(), "certificate", key),
            || self.inner.certificate(key),
        )
    }

    fn store_certificate(&self, key: &KeyId, der: &[u8]) -> Result<()> {
        self.blocking(
            call!(self, self.inner.backend(), "store_certificate", key),
            || self.inner.store_certificate(key, der),
        )
    }

    fn delete_certificate(&self, key: &KeyId) -> Result<()> {
        self.blocking(
            call!(self, self.inner.backend(), "delete_certificate", key),
            || self.inner.delete_certificate(key),
        )
    }

    fn random(&self, len: usize) -> Result<Vec<u8>> {
        self.blocking(call!(self, self.inner.backend(), "random"), || {
            self.inner.random(len)
        })
    }
}

impl<H: KeyStore + Signer> Signer for Observed<H> {
    fn sign(&self, key: &KeyId, algorithm: SignAlgorithm, message: &[u8]) -> Result<Signature> {
        self.blocking(
            call!(self, self.inner.backend(), "sign", key, algorithm, 1),
            || self.inner.sign(key, algorithm, message),
        )
    }

    fn sign_digest(
        &self,
        key: &KeyId,
        algorithm: SignAlgorithm,
        digest: &[u8],
    ) -> Result<Signature> {
        self.blocking(
            call!(self, self.inner.backend(), "sign_digest", key, algorithm, 1),
            || self.inner.sign_digest(key, algorithm, digest),
        )
    }

    fn sign_many(
        &self,
        key: &KeyId,
        algorithm: SignAlgorithm,
        messages: &[&[u8]],
    ) -> Vec<Result<Signature>> {
        let call = call!(
            self,
            self.inner.backend(),
            "sign_many",
            key,
            algorithm,
            messages.len()
        );
        let span = call.span();
        let _entered = span.enter();
        let started = Instant::now();
        let results = self.inner.sign_many(key, algorithm, messages);
        call.finish(self.observer.as_ref(), outcome_of_many(&results), started);
        results
    }
}

impl<H: AsyncKeyStore> AsyncKeyStore for Observed<H> {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    fn list_keys(&self) -> BoxFuture<'_, Result<Vec<KeyInfo>>> {
        self.asynchronous(
            call!(self, self.inner.backend(), "list_keys"),
            self.inner.list_keys(),
        )
    }

    fn key_info<'a>(&'a self, key: &'a KeyId) -> BoxFuture<'a, Result<KeyInfo>> {
        self.asynchronous(
            call!(self, self.inner.backend(), "key_info", key),
            self.inner.key_info(key),
        )
    }

    fn generate_key<'a>(&'a self, template: &'a KeyTemplate) -> BoxFuture<'a, Result<KeyInfo>> {
        self.asynchronous(
            call!(self, self.inner.backend(), "generate_key", &template.id),
            self.inner.generate_key(template),
        )
    }

    fn import_key<'a>(&'a self, request: &'a ImportRequest) -> BoxFuture<'a, Result<KeyInfo>> {
        self.asynchronous(
            call!(self, self.inner.backend(), "import_key", &request.id),
            self.inner.import_key(request),
        )
    }

    fn delete_key<'a>(&'a self, key: &'a KeyId) -> BoxFuture<'a, Result<()>> {
        self.asynchronous(
            call!(self, self.inner.backend(), "delete_key", key),
            self.inner.delete_key(key),
        )
    }

    fn public_key<'a>(&'a self, key: &'a KeyId) -> BoxFuture<'a, Result<PublicKey>> {
        self.asynchronous(
            call!(self, self.inner.backend(), "public_key", key),
            self.inner.public_key(key),
        )
    }

    fn health(&self) -> BoxFuture<'_, Result<()>> {
        self.asynchronous(
            call!(self, self.inner.backend(), "health"),
            self.inner.health(),
        )
    }

    fn certificate<'a>(&'a self, key: &'a KeyId) -> BoxFuture<'a, Result<Option<Vec<u8>>>> {
        self.asynchronous(
            call!(self, self.inner.backend(), "certificate", key),
            self.inner.certificate(key),
        )
    }

    fn store_certificate<'a>(&'a self, key: &'a KeyId, der: &'a [u8]) -> BoxFuture<'a, Result<()>> {
        self.asynchronous(
            call!(self, self.inner.backend(), "store_certificate", key),
            self.inner.store_certificate(key, der),
        )
    }

    fn delete_certificate<'a>(&'a self, key: &'a KeyId) -> BoxFuture<'a, Result<()>> {
        self.asynchronous(
            call!(self, self.inner.backend(), "delete_certificate", key),
            self.inner.delete_certificate(key),
        )
    }

    fn random(&self, len: usize) -> BoxFuture<'_, Result<Vec<u8>>> {
        self.asynchronous(
            call!(self, self.inner.backend(), "random"),
            self.inner.random(len),
        )
    }
}

impl<H: AsyncKeyStore + AsyncSigner> AsyncSigner for Observed<H> {
    fn sign<'a>(
        &'a self,
        key: &'a KeyId,
        algorithm: SignAlgorithm,
        message: &'a [u8],
    ) -> BoxFuture<'a, Result<Signature>> {
        self.asynchronous(
            call!(
                self,
                AsyncKeyStore::backend(&self.inner),
                "sign",
                key,
                algorithm,
                1
            ),
            self.inner.sign(key, algorithm, message),
        )
    }

    fn sign_digest<'a>(
        &'a self,
        key: &'a KeyId,
        algorithm: SignAlgorithm,
        digest: &'a [u8],
    ) -> BoxFuture<'a, Result<Signature>> {
        self.asynchronous(
            call!(
                self,
                AsyncKeyStore::backend(&self.inner),
                "sign_digest",
                key,
                algorithm,
                1
            ),
            self.inner.sign_digest(key, algorithm, digest),
        )
    }

    fn sign_many<'a>(
        &'a self,
        key: &'a KeyId,
        algorithm: SignAlgorithm,
        messages: &'a [&'a [u8]],
    ) -> BoxFuture<'a, Vec<Result<Signature>>> {
        let call = call!(
            self,
            AsyncKeyStore::backend(&self.inner),
            "sign_many",
            key,
            algorithm,
            messages.len()
        );
        let span = call.span();
        let observer = Arc::clone(&self.observer);
        let batch = self.inner.sign_many(key, algorithm, messages);
        Box::pin(
            async move {
                let started = Instant::now();
                let results = batch.await;
                call.finish(observer.as_ref(), outcome_of_many(&results), started);
                results
            }
            .instrument(span),
        )
    }
}
