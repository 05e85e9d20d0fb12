//! hsm-core's async traits ([`AsyncKeyStore`], [`AsyncSigner`]) over the inherent methods.

use hsm_core::{
    AsyncKeyStore, AsyncSigner, BoxFuture, Capabilities, ImportRequest, KeyId, KeyInfo,
    KeyTemplate, PublicKey, Result, SignAlgorithm, Signature,
};

use super::AsyncNetHsm;

impl AsyncKeyStore for AsyncNetHsm {
    fn backend(&self) -> &'static str {
        "nethsm"
    }

    fn capabilities(&self) -> Capabilities {
        AsyncNetHsm::capabilities(self)
    }

    fn list_keys(&self) -> BoxFuture<'_, Result<Vec<KeyInfo>>> {
        Box::pin(AsyncNetHsm::list_keys(self))
    }

    fn key_info<'a>(&'a self, key: &'a KeyId) -> BoxFuture<'a, Result<KeyInfo>> {
        Box::pin(AsyncNetHsm::key_info(self, key))
    }

    fn generate_key<'a>(&'a self, template: &'a KeyTemplate) -> BoxFuture<'a, Result<KeyInfo>> {
        Box::pin(AsyncNetHsm::generate_key(self, template))
    }

    fn import_key<'a>(&'a self, request: &'a ImportRequest) -> BoxFuture<'a, Result<KeyInfo>> {
        Box::pin(AsyncNetHsm::import_key(self, request))
    }

    fn delete_key<'a>(&'a self, key: &'a KeyId) -> BoxFuture<'a, Result<()>> {
        Box::pin(AsyncNetHsm::delete_key(self, key))
    }

    fn public_key<'a>(&'a self, key: &'a KeyId) -> BoxFuture<'a, Result<PublicKey>> {
        Box::pin(AsyncNetHsm::public_key(self, key))
    }

    fn health(&self) -> BoxFuture<'_, Result<()>> {
        Box::pin(AsyncNetHsm::health(self))
    }

    fn certificate<'a>(&'a self, key: &'a KeyId) -> BoxFuture<'a, Result<Option<Vec<u8>>>> {
        Box::pin(AsyncNetHsm::certificate(self, key))
    }

    fn store_certificate<'a>(&'a self, key: &'a KeyId, der: &'a [u8]) -> BoxFuture<'a, Result<()>> {
        Box::pin(AsyncNetHsm::store_certificate(self, key, der))
    }

    fn delete_certificate<'a>(&'a self, key: &'a KeyId) -> BoxFuture<'a, Result<()>> {
        Box::pin(AsyncNetHsm::delete_certificate(self, key))
    }

    fn random(&self, len: usize) -> BoxFuture<'_, Result<Vec<u8>>> {
        Box::pin(AsyncNetHsm::random(self, len))
    }
}

impl AsyncSigner for AsyncNetHsm {
    fn sign<'a>(
        &'a self,
        key: &'a KeyId,
        algorithm: SignAlgorithm,
        message: &'a [u8],
    ) -> BoxFuture<'a, Result<Signature>> {
        Box::pin(AsyncNetHsm::sign(self, key, algorithm, message))
    }

    fn sign_digest<'a>(
        &'a self,
        key: &'a KeyId,
        algorithm: SignAlgorithm,
        digest: &'a [u8],
    ) -> BoxFuture<'a, Result<Signature>> {
        Box::pin(AsyncNetHsm::sign_digest(self, key, algorithm, digest))
    }

    fn sign_many<'a>(
        &'a self,
        key: &'a KeyId,
        algorithm: SignAlgorithm,
        messages: &'a [&'a [u8]],
    ) -> BoxFuture<'a, Vec<Result<Signature>>> {
        Box::pin(AsyncNetHsm::sign_many(self, key, algorithm, messages))
    }
}
