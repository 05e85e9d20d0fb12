//! Bridges between the blocking and the async traits (feature `tokio`).
//!
//! - [`AsyncOverBlocking`]: a blocking backend (PKCS#11, PC/SC) as an [`AsyncHsm`]. Each call
//!   runs on tokio's blocking pool, at most `max_in_flight` at once, so a tokio service never
//!   blocks a worker thread on a device and never queues more calls than the device can take.
//! - [`BlockingOverAsync`]: an async backend (NetHSM, N200) as a blocking [`Hsm`], for programs
//!   without a runtime: calls run on one private runtime owned by the adapter.
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
use crate::key_info::{ImportRequest, KeyInfo, KeyTemplate};
use crate::public_key::PublicKey;
use crate::runtime::BlockingRuntime;
use crate::signature::Signature;
use crate::store::{Capabilities, Hsm, KeyStore, Signer};

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

impl AsyncKeyStore for AsyncOverBlocking {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    fn list_keys(&self) -> BoxFuture<'_, Result<Vec<KeyInfo>>> {
        self.run("list_keys", |h| h.list_keys())
    }

    fn key_info<'a>(&'a self, key: &'a KeyId) -> BoxFuture<'a, Result<KeyInfo>> {
        let key = key.clone();
        self.run("key_info", move |h| h.key_info(&key))
    }

    fn generate_key<'a>(&'a self, template: &'a KeyTemplate) -> BoxFuture<'a, Result<KeyInfo>> {
        let template = template.clone();
        self.run("generate_key", move |h| h.generate_key(&template))
    }

    fn import_key<'a>(&'a self, request: &'a ImportRequest) -> BoxFuture<'a, Result<KeyInfo>> {
        let request = request.clone();
        self.run("import_key", move |h| h.import_key(&request))
    }

    fn delete_key<'a>(&'a self, key: &'a KeyId) -> BoxFuture<'a, Result<()>> {
        let key = key.clone();
        self.run("delete_key", move |h| h.delete_key(&key))
    }

    fn public_key<'a>(&'a self, key: &'a KeyId) -> BoxFuture<'a, Result<PublicKey>> {
        let key = key.clone();
        self.run("public_key", move |h| h.public_key(&key))
    }

    fn health(&self) -> BoxFuture<'_, Result<()>> {
        self.run("health", |h| h.health())
    }

    fn certificate<'a>(&'a self, key: &'a KeyId) -> BoxFuture<'a, Result<Option<Vec<u8>>>> {
        let key = key.clone();
        self.run("certificate", move |h| h.certificate(&key))
    }

    fn store_certificate<'a>(&'a self, key: &'a KeyId, der: &'a [u8]) -> BoxFuture<'a, Result<()>> {
        let (key, der) = (key.clone(), der.to_vec());
        self.run("store_certificate", move |h| {
            h.store_certificate(&key, &der)
        })
    }

    fn delete_certificate<'a>(&'a self, key: &'a KeyId) -> BoxFuture<'a, Result<()>> {
        let key = key.clone();
        self.run("delete_certificate", move |h| h.delete_certificate(&key))
    }

    fn random(&self, len: usize) -> BoxFuture<'_, Result<Vec<u8>>> {
        self.run("random", move |h| h.random(len))
    }
}

impl AsyncSigner for AsyncOverBlocking {
    fn sign<'a>(
        &'a self,
        key: &'a KeyId,
        algorithm: SignAlgorithm,
        message: &'a [u8],
    ) -> BoxFuture<'a, Result<Signature>> {
        let key = key.clone();
        let message = message.to_vec();
        self.run("sign", move |h| h.sign(&key, algorithm, &message))
    }

    fn sign_digest<'a>(
        &'a self,
        key: &'a KeyId,
        algorithm: SignAlgorithm,
        digest: &'a [u8],
    ) -> BoxFuture<'a, Result<Signature>> {
        let key = key.clone();
        let digest = digest.to_vec();
        self.run("sign_digest", move |h| {
            h.sign_digest(&key, algorithm, &digest)
        })
    }

    /// One blocking call for the whole batch (the backend parallelises it itself); if that call
    /// is lost, every message gets the error.
    fn sign_many<'a>(
        &'a self,
        key: &'a KeyId,
        algorithm: SignAlgorithm,
        messages: &'a [&'a [u8]],
    ) -> BoxFuture<'a, Vec<Result<Signature>>> {
        let count = messages.len();
        let key = key.clone();
        let owned: Vec<Vec<u8>> = messages.iter().map(|m| m.to_vec()).collect();
        let batch = self.run("sign_many", move |h| {
            let refs: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
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

fn vec_of_errors(error: &Error, count: usize) -> Vec<Result<Signature>> {
    (0..count).map(|_| Err(error.replicate())).collect()
}

/// An async backend as a blocking [`Hsm`]: each call runs to completion on the adapter's own
/// runtime. For programs without an async runtime; inside one, use the async backend directly.
pub struct BlockingOverAsync {
    inner: Arc<dyn AsyncHsm>,
    runtime: Arc<BlockingRuntime>,
}

impl fmt::Debug for BlockingOverAsync {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockingOverAsync")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl BlockingOverAsync {
    /// Wraps `inner`, driving it on `runtime` (the backend's own, so the connections the async
    /// client opened on it stay usable).
    #[must_use]
    pub fn new(inner: Arc<dyn AsyncHsm>, runtime: Arc<BlockingRuntime>) -> Self {
        Self { inner, runtime }
    }

    /// The async backend inside.
    #[must_use]
    pub fn async_backend(&self) -> &Arc<dyn AsyncHsm> {
        &self.inner
    }

    fn block<T: Send>(&self, future: impl Future<Output = Result<T>> + Send) -> Result<T> {
        self.runtime.block_on(future)?
    }
}

impl KeyStore for BlockingOverAsync {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    fn list_keys(&self) -> Result<Vec<KeyInfo>> {
        self.block(self.inner.list_keys())
    }

    fn key_info(&self, key: &KeyId) -> Result<KeyInfo> {
        self.block(self.inner.key_info(key))
    }

    fn generate_key(&self, template: &KeyTemplate) -> Result<KeyInfo> {
        self.block(self.inner.generate_key(template))
    }

    fn import_key(&self, request: &ImportRequest) -> Result<KeyInfo> {
        self.block(self.inner.import_key(request))
    }

    fn delete_key(&self, key: &KeyId) -> Result<()> {
        self.block(self.inner.delete_key(key))
    }

    fn public_key(&self, key: &KeyId) -> Result<PublicKey> {
        self.block(self.inner.public_key(key))
    }

    fn health(&self) -> Result<()> {
        self.block(self.inner.health())
    }

    fn certificate(&self, key: &KeyId) -> Result<Option<Vec<u8>>> {
        self.block(self.inner.certificate(key))
    }

    fn store_certificate(&self, key: &KeyId, der: &[u8]) -> Result<()> {
        self.block(self.inner.store_certificate(key, der))
    }

    fn delete_certificate(&self, key: &KeyId) -> Result<()> {
        self.block(self.inner.delete_certificate(key))
    }

    fn random(&self, len: usize) -> Result<Vec<u8>> {
        self.block(self.inner.random(len))
    }
}

impl Signer for BlockingOverAsync {
    fn sign(&self, key: &KeyId, algorithm: SignAlgorithm, message: &[u8]) -> Result<Signature> {
        self.block(self.inner.sign(key, algorithm, message))
    }

    fn sign_digest(
        &self,
        key: &KeyId,
        algorithm: SignAlgorithm,
        digest: &[u8],
    ) -> Result<Signature> {
        self.block(self.inner.sign_digest(key, algorithm, digest))
    }

    fn sign_many(
        &self,
        key: &KeyId,
        algorithm: SignAlgorithm,
        messages: &[&[u8]],
    ) -> Vec<Result<Signature>> {
        let count = messages.len();
        match self
            .runtime
            .block_on(self.inner.sign_many(key, algorithm, messages))
        {
            Ok(results) => results,
            Err(error) => vec_of_errors(&error, count),
        }
    }
}
