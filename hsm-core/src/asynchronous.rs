//! An async adapter (feature `tokio`): any backend, called from a tokio service without blocking
//! its executor.
//!
//! The backends are blocking (PKCS#11 and PC/SC are blocking by nature), so [`AsyncHsm`] runs each
//! call on tokio's blocking thread pool with [`tokio::task::spawn_blocking`]. Every returned
//! future is `Send`, so it can be awaited inside `tokio::spawn`.
//!
//! ```no_run
//! # async fn demo(backend: std::sync::Arc<dyn hsm_core::Hsm>) -> hsm_core::Result<()> {
//! use hsm_core::asynchronous::AsyncHsm;
//! use hsm_core::SignAlgorithm;
//!
//! let hsm = AsyncHsm::new(backend);
//! let signature = hsm
//!     .sign("signing".parse()?, SignAlgorithm::EcdsaSha256, b"payload".to_vec())
//!     .await?;
//! # Ok(()) }
//! ```

use std::sync::Arc;

use crate::algorithm::SignAlgorithm;
use crate::error::{Error, ErrorKind, Result};
use crate::key_id::KeyId;
use crate::key_info::{KeyInfo, KeyTemplate};
use crate::public_key::PublicKey;
use crate::signature::Signature;
use crate::store::Hsm;

/// A backend shared with a tokio runtime. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AsyncHsm {
    inner: Arc<dyn Hsm>,
}

impl AsyncHsm {
    /// Wraps a backend.
    #[must_use]
    pub fn new(inner: Arc<dyn Hsm>) -> Self {
        Self { inner }
    }

    /// The wrapped backend, for blocking calls from blocking contexts.
    #[must_use]
    pub fn blocking(&self) -> &Arc<dyn Hsm> {
        &self.inner
    }

    async fn run<T, F>(&self, operation: &'static str, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Hsm) -> Result<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || f(inner.as_ref()))
            .await
            .map_err(|e| {
                Error::new(ErrorKind::Device, operation)
                    .with_message("the blocking task did not finish")
                    .with_source(e)
            })?
    }

    /// [`Signer::sign`](crate::Signer::sign) off the executor.
    ///
    /// # Errors
    /// As the backend's `sign`.
    pub async fn sign(
        &self,
        key: KeyId,
        algorithm: SignAlgorithm,
        message: Vec<u8>,
    ) -> Result<Signature> {
        self.run("async sign", move |h| h.sign(&key, algorithm, &message))
            .await
    }

    /// [`Signer::sign_digest`](crate::Signer::sign_digest) off the executor.
    ///
    /// # Errors
    /// As the backend's `sign_digest`.
    pub async fn sign_digest(
        &self,
        key: KeyId,
        algorithm: SignAlgorithm,
        digest: Vec<u8>,
    ) -> Result<Signature> {
        self.run("async sign_digest", move |h| {
            h.sign_digest(&key, algorithm, &digest)
        })
        .await
    }

    /// [`Signer::sign_many`](crate::Signer::sign_many) off the executor.
    ///
    /// # Errors
    /// Only if the blocking task fails; each message has its own result.
    pub async fn sign_many(
        &self,
        key: KeyId,
        algorithm: SignAlgorithm,
        messages: Vec<Vec<u8>>,
    ) -> Result<Vec<Result<Signature>>> {
        self.run("async sign_many", move |h| {
            let refs: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
            Ok(h.sign_many(&key, algorithm, &refs))
        })
        .await
    }

    /// [`KeyStore::public_key`](crate::KeyStore::public_key) off the executor.
    ///
    /// # Errors
    /// As the backend's `public_key`.
    pub async fn public_key(&self, key: KeyId) -> Result<PublicKey> {
        self.run("async public_key", move |h| h.public_key(&key))
            .await
    }

    /// [`KeyStore::list_keys`](crate::KeyStore::list_keys) off the executor.
    ///
    /// # Errors
    /// As the backend's `list_keys`.
    pub async fn list_keys(&self) -> Result<Vec<KeyInfo>> {
        self.run("async list_keys", |h| h.list_keys()).await
    }

    /// [`KeyStore::key_info`](crate::KeyStore::key_info) off the executor.
    ///
    /// # Errors
    /// As the backend's `key_info`.
    pub async fn key_info(&self, key: KeyId) -> Result<KeyInfo> {
        self.run("async key_info", move |h| h.key_info(&key)).await
    }

    /// [`KeyStore::generate_key`](crate::KeyStore::generate_key) off the executor.
    ///
    /// # Errors
    /// As the backend's `generate_key`.
    pub async fn generate_key(&self, template: KeyTemplate) -> Result<KeyInfo> {
        self.run("async generate_key", move |h| h.generate_key(&template))
            .await
    }

    /// [`KeyStore::delete_key`](crate::KeyStore::delete_key) off the executor.
    ///
    /// # Errors
    /// As the backend's `delete_key`.
    pub async fn delete_key(&self, key: KeyId) -> Result<()> {
        self.run("async delete_key", move |h| h.delete_key(&key))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>(_: &T) {}

    #[test]
    fn futures_are_send() {
        #[derive(Debug)]
        struct Nothing;
        impl crate::KeyStore for Nothing {
            fn backend(&self) -> &'static str {
                "nothing"
            }
            fn capabilities(&self) -> crate::Capabilities {
                crate::Capabilities::new(vec![], vec![])
            }
            fn list_keys(&self) -> Result<Vec<KeyInfo>> {
                Ok(vec![])
            }
            fn key_info(&self, key: &KeyId) -> Result<KeyInfo> {
                Err(Error::not_found("t", key.to_string()))
            }
            fn generate_key(&self, _: &KeyTemplate) -> Result<KeyInfo> {
                Err(Error::unsupported("t", "no"))
            }
            fn public_key(&self, key: &KeyId) -> Result<PublicKey> {
                Err(Error::not_found("t", key.to_string()))
            }
        }
        impl crate::Signer for Nothing {
            fn sign(&self, key: &KeyId, _: SignAlgorithm, _: &[u8]) -> Result<Signature> {
                Err(Error::not_found("t", key.to_string()))
            }
            fn sign_digest(&self, key: &KeyId, _: SignAlgorithm, _: &[u8]) -> Result<Signature> {
                Err(Error::not_found("t", key.to_string()))
            }
        }
        let hsm = AsyncHsm::new(Arc::new(Nothing));
        let key: KeyId = "k".parse().unwrap();
        let h2 = hsm.clone();
        let fut = async move { h2.sign(key, SignAlgorithm::EcdsaSha256, vec![1]).await };
        assert_send(&fut);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap();
        let err = rt
            .block_on(async move { tokio::spawn(fut).await.unwrap() })
            .unwrap_err();
        assert!(err.is_not_found());
        assert!(rt.block_on(hsm.list_keys()).unwrap().is_empty());
    }
}
