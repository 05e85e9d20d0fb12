//! `async_traits_from_inherent!`: the async traits over a type's inherent async methods, every
//! method or a listed few (the others keeping the traits' defaults).
#![allow(clippy::unwrap_used)]

use hsm_core::{
    AsyncKeyStore, AsyncSigner, Capabilities, Error, ErrorKind, ImportRequest, KeyId, KeyInfo,
    KeySpec, KeyTemplate, PrivateKeyDer, PublicKey, Result, SignAlgorithm, Signature,
};

/// The answer of every inherent method: an error that names the method and its arguments, so a
/// test sees which code ran and with what.
fn answer<T>(method: &'static str, arguments: String) -> Result<T> {
    Err(Error::new(ErrorKind::Device, format!("inherent.{method}")).with_message(arguments))
}

/// A backend type with an inherent async twin of every trait method. `Device<true>` delegates
/// every method to them, `Device<false>` only the required ones and `random`.
#[derive(Debug)]
struct Device<const EVERY: bool>;

impl<const EVERY: bool> Device<EVERY> {
    fn capabilities(&self) -> Capabilities {
        Capabilities::new(vec![KeySpec::Ed25519], Vec::new()).with_random(true)
    }
    async fn list_keys(&self) -> Result<Vec<KeyInfo>> {
        answer("list_keys", String::new())
    }
    async fn key_info(&self, key: &KeyId) -> Result<KeyInfo> {
        answer("key_info", key.to_string())
    }
    async fn generate_key(&self, template: &KeyTemplate) -> Result<KeyInfo> {
        answer("generate_key", template.id.to_string())
    }
    async fn import_key(&self, request: &ImportRequest) -> Result<KeyInfo> {
        answer("import_key", request.id.to_string())
    }
    async fn delete_key(&self, key: &KeyId) -> Result<()> {
        answer("delete_key", key.to_string())
    }
    async fn public_key(&self, key: &KeyId) -> Result<PublicKey> {
        answer("public_key", key.to_string())
    }
    async fn health(&self) -> Result<()> {
        Ok(())
    }
    async fn certificate(&self, key: &KeyId) -> Result<Option<Vec<u8>>> {
        Ok(Some(key.to_string().into_bytes()))
    }
    async fn store_certificate(&self, key: &KeyId, der: &[u8]) -> Result<()> {
        answer("store_certificate", format!("{key} {}", der.len()))
    }
    async fn delete_certificate(&self, key: &KeyId) -> Result<()> {
        answer("delete_certificate", key.to_string())
    }
    async fn random(&self, len: usize) -> Result<Vec<u8>> {
        Ok(vec![7; len])
    }
    async fn sign(
        &self,
        key: &KeyId,
        algorithm: SignAlgorithm,
        message: &[u8],
    ) -> Result<Signature> {
        answer("sign", format!("{key} {algorithm} {}", message.len()))
    }
    async fn sign_digest(
        &self,
        key: &KeyId,
        algorithm: SignAlgorithm,
        digest: &[u8],
    ) -> Result<Signature> {
        answer("sign_digest", format!("{key} {algorithm} {}", digest.len()))
    }
    async fn sign_many(
        &self,
        key: &KeyId,
        algorithm: SignAlgorithm,
        messages: &[&[u8]],
    ) -> Vec<Result<Signature>> {
        let batch = format!("{key} {algorithm} batch of {}", messages.len());
        vec![answer("sign_many", batch)]
    }
}

hsm_core::async_traits_from_inherent!(Device<true>, "inherent");

hsm_core::async_traits_from_inherent!(Device<false>, "partial", {
    AsyncKeyStore: capabilities, list_keys, key_info, generate_key, public_key, random;
    AsyncSigner: sign, sign_digest;
});

fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(future)
}

/// The operation and message of an error, for comparing with what the inherent method answers.
fn seen<T: std::fmt::Debug>(result: Result<T>) -> (String, String) {
    let error = result.unwrap_err();
    let message = error.message().unwrap_or_default().to_owned();
    (error.operation().to_owned(), message)
}

fn expect(method: &str, arguments: &str) -> (String, String) {
    (format!("inherent.{method}"), arguments.to_owned())
}

#[test]
fn signing_through_dyn_async_signer_reaches_the_inherent_methods() {
    let signer: &dyn AsyncSigner = &Device::<true>;
    let key: KeyId = "k1".parse().unwrap();
    block_on(async {
        assert_eq!(
            seen(signer.sign(&key, SignAlgorithm::Ed25519, b"abc").await),
            expect("sign", "k1 ed25519 3")
        );
        assert_eq!(
            seen(
                signer
                    .sign_digest(&key, SignAlgorithm::EcdsaSha256, &[0; 32])
                    .await
            ),
            expect("sign_digest", "k1 ecdsa-sha256 32")
        );
        let batch = signer
            .sign_many(&key, SignAlgorithm::Ed25519, &[b"a", b"b"])
            .await;
        // The inherent method's own answer (one entry), not the default's one per message.
        assert_eq!(batch.len(), 1);
        let first = batch.into_iter().next().unwrap();
        assert_eq!(seen(first), expect("sign_many", "k1 ed25519 batch of 2"));
    });
}

#[test]
fn every_key_store_method_reaches_its_inherent_twin() {
    let store: &dyn AsyncKeyStore = &Device::<true>;
    let key: KeyId = "k2".parse().unwrap();
    assert_eq!(store.backend(), "inherent");
    assert_eq!(store.capabilities().key_specs, vec![KeySpec::Ed25519]);
    assert!(store.capabilities().random);
    block_on(async {
        assert_eq!(seen(store.list_keys().await), expect("list_keys", ""));
        assert_eq!(seen(store.key_info(&key).await), expect("key_info", "k2"));
        let template = KeyTemplate::new(key.clone(), KeySpec::Ed25519);
        assert_eq!(
            seen(store.generate_key(&template).await),
            expect("generate_key", "k2")
        );
        let request = ImportRequest::new(
            key.clone(),
            PrivateKeyDer::new(zeroize::Zeroizing::new(vec![0x30, 0])),
        );
        assert_eq!(
            seen(store.import_key(&request).await),
            expect("import_key", "k2")
        );
        assert_eq!(
            seen(store.delete_key(&key).await),
            expect("delete_key", "k2")
        );
        assert_eq!(
            seen(store.public_key(&key).await),
            expect("public_key", "k2")
        );
        // The default health would list the keys, which fails here; the inherent one succeeds.
        store.health().await.unwrap();
        assert_eq!(store.certificate(&key).await.unwrap(), Some(b"k2".to_vec()));
        assert_eq!(
            seen(store.store_certificate(&key, &[1, 2, 3]).await),
            expect("store_certificate", "k2 3")
        );
        assert_eq!(
            seen(store.delete_certificate(&key).await),
            expect("delete_certificate", "k2")
        );
        assert_eq!(store.random(4).await.unwrap(), vec![7; 4]);
    });
}

#[test]
fn methods_not_listed_keep_the_trait_defaults() {
    let hsm = Device::<false>;
    let key: KeyId = "k3".parse().unwrap();
    assert_eq!(AsyncKeyStore::backend(&hsm), "partial");
    block_on(async {
        assert_eq!(AsyncKeyStore::random(&hsm, 2).await.unwrap(), vec![7; 2]);
        assert_eq!(
            seen(AsyncSigner::sign(&hsm, &key, SignAlgorithm::Ed25519, b"m").await),
            expect("sign", "k3 ed25519 1")
        );
        // Defaults: refusals, and health and sign_many built on the listed methods.
        for refused in [
            AsyncKeyStore::delete_key(&hsm, &key).await.map(drop),
            AsyncKeyStore::certificate(&hsm, &key).await.map(drop),
            AsyncKeyStore::delete_certificate(&hsm, &key)
                .await
                .map(drop),
        ] {
            assert_eq!(refused.unwrap_err().kind(), ErrorKind::Unsupported);
        }
        let health = AsyncKeyStore::health(&hsm).await;
        assert_eq!(seen(health), expect("list_keys", ""));
        let batch =
            AsyncSigner::sign_many(&hsm, &key, SignAlgorithm::Ed25519, &[b"a", b"bc"]).await;
        let batch: Vec<_> = batch.into_iter().map(seen).collect();
        assert_eq!(
            batch,
            vec![
                expect("sign", "k3 ed25519 1"),
                expect("sign", "k3 ed25519 2")
            ]
        );
    });
}
