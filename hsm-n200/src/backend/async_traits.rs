//! hsm-core's async traits on [`AsyncN200`]: each call is its own future on the caller's runtime
//! (one request per signature on the shared connection pool, no thread hop).

use hsm_core::{
    AsyncKeyStore, AsyncSigner, BoxFuture, Capabilities, ImportRequest, KeyId, KeyInfo,
    KeyTemplate, PublicKey, Result, SignAlgorithm, Signature,
};

use super::AsyncN200;

impl AsyncKeyStore for AsyncN200 {
    fn backend(&self) -> &'static str {
        "n200"
    }

    fn capabilities(&self) -> Capabilities {
        AsyncN200::capabilities(self)
    }

    fn list_keys(&self) -> BoxFuture<'_, Result<Vec<KeyInfo>>> {
        Box::pin(AsyncN200::list_keys(self))
    }

    fn key_info<'a>(&'a self, key: &'a KeyId) -> BoxFuture<'a, Result<KeyInfo>> {
        Box::pin(AsyncN200::key_info(self, key))
    }

    fn generate_key<'a>(&'a self, template: &'a KeyTemplate) -> BoxFuture<'a, Result<KeyInfo>> {
        Box::pin(AsyncN200::generate_key(self, template))
    }

    fn import_key<'a>(&'a self, request: &'a ImportRequest) -> BoxFuture<'a, Result<KeyInfo>> {
        Box::pin(AsyncN200::import_key(self, request))
    }

    fn delete_key<'a>(&'a self, key: &'a KeyId) -> BoxFuture<'a, Result<()>> {
        Box::pin(AsyncN200::delete_key(self, key))
    }

    fn public_key<'a>(&'a self, key: &'a KeyId) -> BoxFuture<'a, Result<PublicKey>> {
        Box::pin(AsyncN200::public_key(self, key))
    }

    fn health(&self) -> BoxFuture<'_, Result<()>> {
        Box::pin(AsyncN200::health(self))
    }

    fn random(&self, len: usize) -> BoxFuture<'_, Result<Vec<u8>>> {
        Box::pin(AsyncN200::random(self, len))
    }
}

impl AsyncSigner for AsyncN200 {
    fn sign<'a>(
        &'a self,
        key: &'a KeyId,
        algorithm: SignAlgorithm,
        message: &'a [u8],
    ) -> BoxFuture<'a, Result<Signature>> {
        Box::pin(AsyncN200::sign(self, key, algorithm, message))
    }

    fn sign_digest<'a>(
        &'a self,
        key: &'a KeyId,
        algorithm: SignAlgorithm,
        digest: &'a [u8],
    ) -> BoxFuture<'a, Result<Signature>> {
        Box::pin(AsyncN200::sign_digest(self, key, algorithm, digest))
    }

    fn sign_many<'a>(
        &'a self,
        key: &'a KeyId,
        algorithm: SignAlgorithm,
        messages: &'a [&'a [u8]],
    ) -> BoxFuture<'a, Vec<Result<Signature>>> {
        Box::pin(AsyncN200::sign_many(self, key, algorithm, messages))
    }
}
