//! The async twins of [`KeyStore`] and [`Signer`]: [`AsyncKeyStore`], [`AsyncSigner`] and their
//! union [`AsyncHsm`], for services on an async runtime.
//!
//! The traits are object-safe (`Arc<dyn AsyncHsm>` holds any backend) and every future they return
//! is `Send`, so it can be awaited inside `tokio::spawn`. A REST backend implements them natively:
//! a signature is one request on the caller's runtime, with no thread hop. A blocking backend
//! (PKCS#11, PC/SC) gets them from `asynchronous::AsyncOverBlocking`
//! (feature `tokio`), which runs calls on a bounded blocking pool.
//!
//! The traits take borrowed arguments, like the blocking ones, and the returned futures borrow
//! them: `hsm.sign(&key, algorithm, &message).await`.
//!
//! [`KeyStore`]: crate::KeyStore
//! [`Signer`]: crate::Signer

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use crate::algorithm::SignAlgorithm;
use crate::error::Result;
use crate::key_id::KeyId;
use crate::key_info::{ImportRequest, KeyInfo, KeyTemplate};
use crate::public_key::PublicKey;
use crate::signature::Signature;
use crate::store::Capabilities;

/// A boxed `Send` future: what the async traits' methods return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Key management, async: the twin of [`KeyStore`](crate::KeyStore).
pub trait AsyncKeyStore: Send + Sync + fmt::Debug {
    /// The backend's short name (`nethsm`, `n200`, `pkcs11`, `sc-hsm`).
    fn backend(&self) -> &'static str;

    /// What this backend and device can do.
    fn capabilities(&self) -> Capabilities;

    /// Every key the credentials can see.
    ///
    /// # Errors
    /// As [`KeyStore::list_keys`](crate::KeyStore::list_keys).
    fn list_keys(&self) -> BoxFuture<'_, Result<Vec<KeyInfo>>>;

    /// One key's details.
    ///
    /// # Errors
    /// As [`KeyStore::key_info`](crate::KeyStore::key_info).
    fn key_info<'a>(&'a self, key: &'a KeyId) -> BoxFuture<'a, Result<KeyInfo>>;

    /// Generates a key pair on the device.
    ///
    /// # Errors
    /// As [`KeyStore::generate_key`](crate::KeyStore::generate_key).
    fn generate_key<'a>(&'a self, template: &'a KeyTemplate) -> BoxFuture<'a, Result<KeyInfo>>;

    /// Imports a private key, where the device allows it. The default refuses.
    ///
    /// # Errors
    /// As [`KeyStore::import_key`](crate::KeyStore::import_key).
    fn import_key<'a>(&'a self, request: &'a ImportRequest) -> BoxFuture<'a, Result<KeyInfo>> {
        let _ = request;
        refuse(self.backend(), "import_key", "import keys")
    }

    /// Deletes a key. The default refuses.
    ///
    /// # Errors
    /// As [`KeyStore::delete_key`](crate::KeyStore::delete_key).
    fn delete_key<'a>(&'a self, key: &'a KeyId) -> BoxFuture<'a, Result<()>> {
        let _ = key;
        refuse(self.backend(), "delete_key", "delete keys")
    }

    /// The key's public key.
    ///
    /// # Errors
    /// As [`KeyStore::public_key`](crate::KeyStore::public_key).
    fn public_key<'a>(&'a self, key: &'a KeyId) -> BoxFuture<'a, Result<PublicKey>>;
    /// Whether the backend can serve calls now, for a readiness probe. The default lists the
    /// keys.
    ///
    /// # Errors
    /// As [`KeyStore::health`](crate::KeyStore::health).
    fn health(&self) -> BoxFuture<'_, Result<()>> {
        let keys = self.list_keys();
        Box::pin(async move { keys.await.map(drop) })
    }

    /// The X.509 certificate stored with the key (DER), `None` when it has none. The default
    /// refuses.
    ///
    /// # Errors
    /// As [`KeyStore::certificate`](crate::KeyStore::certificate).
    fn certificate<'a>(&'a self, key: &'a KeyId) -> BoxFuture<'a, Result<Option<Vec<u8>>>> {
        let _ = key;
        refuse(self.backend(), "certificate", "store certificates")
    }

    /// Stores a certificate (DER) with the key, replacing any. The default refuses.
    ///
    /// # Errors
    /// As [`KeyStore::store_certificate`](crate::KeyStore::store_certificate).
    fn store_certificate<'a>(&'a self, key: &'a KeyId, der: &'a [u8]) -> BoxFuture<'a, Result<()>> {
        let _ = (key, der);
        refuse(self.backend(), "store_certificate", "store certificates")
    }

    /// Deletes the certificate stored with the key. The default refuses.
    ///
    /// # Errors
    /// As [`KeyStore::delete_certificate`](crate::KeyStore::delete_certificate).
    fn delete_certificate<'a>(&'a self, key: &'a KeyId) -> BoxFuture<'a, Result<()>> {
        let _ = key;
        refuse(self.backend(), "delete_certificate", "store certificates")
    }

    /// `len` bytes from the device's random number generator. The default refuses.
    ///
    /// # Errors
    /// As [`KeyStore::random`](crate::KeyStore::random).
    fn random(&self, len: usize) -> BoxFuture<'_, Result<Vec<u8>>> {
        let _ = len;
        refuse(
            self.backend(),
            "random",
            "read the device's random number generator",
        )
    }
}

/// The future a default method returns: this backend cannot `what`.
fn refuse<'a, T: Send + 'a>(
    backend: &str,
    operation: &'static str,
    what: &str,
) -> BoxFuture<'a, Result<T>> {
    let e = crate::store::unsupported(backend, operation, what);
    Box::pin(async move { Err(e) })
}

/// Signing, async: the twin of [`Signer`](crate::Signer).
pub trait AsyncSigner: Send + Sync + fmt::Debug {
    /// Signs a message (for [`SignAlgorithm::EcdsaPrehashed`], the digest).
    ///
    /// # Errors
    /// As [`Signer::sign`](crate::Signer::sign).
    fn sign<'a>(
        &'a self,
        key: &'a KeyId,
        algorithm: SignAlgorithm,
        message: &'a [u8],
    ) -> BoxFuture<'a, Result<Signature>>;

    /// Signs a digest the caller computed.
    ///
    /// # Errors
    /// As [`Signer::sign_digest`](crate::Signer::sign_digest).
    fn sign_digest<'a>(
        &'a self,
        key: &'a KeyId,
        algorithm: SignAlgorithm,
        digest: &'a [u8],
    ) -> BoxFuture<'a, Result<Signature>>;

    /// Signs a batch of messages with one key: one result per message, in order. Backends keep
    /// several requests in flight; the default signs one after another.
    fn sign_many<'a>(
        &'a self,
        key: &'a KeyId,
        algorithm: SignAlgorithm,
        messages: &'a [&'a [u8]],
    ) -> BoxFuture<'a, Vec<Result<Signature>>> {
        Box::pin(async move {
            let mut out = Vec::with_capacity(messages.len());
            for message in messages {
                out.push(self.sign(key, algorithm, message).await);
            }
            out
        })
    }
}

/// A whole async backend: an [`AsyncKeyStore`] that is also an [`AsyncSigner`]. Implemented for
/// every type that is both, so `Arc<dyn AsyncHsm>` holds any backend.
pub trait AsyncHsm: AsyncKeyStore + AsyncSigner {}

impl<T: AsyncKeyStore + AsyncSigner + ?Sized> AsyncHsm for T {}

// `Arc<dyn AsyncHsm>`, `Box<dyn AsyncHsm>` and `&dyn AsyncHsm` are async backends themselves:
// the pointer impls are in `forward`, next to the method tables they are written from.

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn assert_send_sync<T: Send + Sync + ?Sized>() {}

    #[test]
    fn traits_are_object_safe_send_and_sync() {
        assert_send_sync::<dyn AsyncHsm>();
        assert_send_sync::<Arc<dyn AsyncHsm>>();
        fn takes(_: &dyn AsyncHsm) {}
        fn through_pointers(a: Arc<dyn AsyncHsm>, b: Box<dyn AsyncHsm>) {
            takes(&a);
            takes(&b);
            takes(&&*a);
        }
        let _ = through_pointers;
    }
}
