//! Every call through `Observed` is traced and reported, blocking and async, without secrets.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use hsm_core::mock::MockHsm;
use hsm_core::observe::{CallRecord, Observed, Observer};
use hsm_core::testkit::TraceCapture;
use hsm_core::{
    AsyncKeyStore, AsyncSigner, Curve, ErrorKind, ImportRequest, KeyId, KeySpec, KeyStore,
    KeyTemplate, PrivateKeyDer, SignAlgorithm, Signer,
};

#[derive(Debug, Default)]
struct Recorder(Mutex<Vec<String>>);

impl Observer for Recorder {
    fn on_call(&self, r: &CallRecord<'_>) {
        self.0.lock().unwrap().push(format!(
            "{} {} key={} alg={} n={} outcome={:?} left={:?}",
            r.backend,
            r.operation,
            r.key.map(ToString::to_string).unwrap_or_default(),
            r.algorithm.map(|a| a.to_string()).unwrap_or_default(),
            r.messages,
            r.outcome,
            r.retries_left,
        ));
    }
}

#[test]
fn blocking_calls_are_reported_and_traced_without_payloads() {
    let recorder = Arc::new(Recorder::default());
    let mock = MockHsm::new();
    let hsm = Observed::new(mock.clone(), recorder.clone());
    let key: KeyId = "observed".parse().unwrap();
    let capture = TraceCapture::new();
    capture.in_scope(|| {
        hsm.generate_key(&KeyTemplate::new(key.clone(), KeySpec::Ec(Curve::P256)))
            .unwrap();
        hsm.sign(&key, SignAlgorithm::EcdsaSha256, b"SECRET-PAYLOAD-1234")
            .unwrap();
        let batch: Vec<&[u8]> = vec![b"a", b"b", b"c"];
        assert_eq!(
            hsm.sign_many(&key, SignAlgorithm::EcdsaSha256, &batch)
                .len(),
            3
        );
        mock.fail_next(ErrorKind::Unavailable);
        assert!(hsm.public_key(&key).is_err());
        hsm.health().unwrap();
    });
    let records = recorder.0.lock().unwrap().clone();
    assert_eq!(
        records,
        vec![
            "mock generate_key key=observed alg= n=0 outcome=Ok(()) left=None",
            "mock sign key=observed alg=ecdsa-sha256 n=1 outcome=Ok(()) left=None",
            "mock sign_many key=observed alg=ecdsa-sha256 n=3 outcome=Ok(()) left=None",
            "mock public_key key=observed alg= n=0 outcome=Err(Unavailable) left=None",
            "mock health key= alg= n=0 outcome=Ok(()) left=None",
        ]
    );
    let text = capture.text();
    assert!(text.contains("hsm.call"), "{text}");
    assert!(
        text.contains("operation=\"sign\"") || text.contains("operation=sign"),
        "{text}"
    );
    assert!(text.contains("latency_us"), "{text}");
    assert!(text.contains("unavailable"), "{text}");
    assert!(
        !text.contains("SECRET-PAYLOAD"),
        "payloads never traced: {text}"
    );
}

#[test]
fn async_calls_are_reported_too() {
    let recorder = Arc::new(Recorder::default());
    let mock = MockHsm::new();
    let key: KeyId = "observed-async".parse().unwrap();
    mock.generate_key(&KeyTemplate::new(key.clone(), KeySpec::Ed25519))
        .unwrap();
    let hsm = Observed::new(mock.to_async(), recorder.clone());
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        use hsm_core::AsyncSigner as _;
        hsm.sign(&key, SignAlgorithm::Ed25519, b"m").await.unwrap();
        let batch: Vec<&[u8]> = vec![b"x", b"y"];
        let results = hsm.sign_many(&key, SignAlgorithm::Ed25519, &batch).await;
        assert!(results.iter().all(Result::is_ok));
    });
    let records = recorder.0.lock().unwrap().clone();
    assert_eq!(
        records,
        vec![
            "mock sign key=observed-async alg=ed25519 n=1 outcome=Ok(()) left=None",
            "mock sign_many key=observed-async alg=ed25519 n=2 outcome=Ok(()) left=None",
        ]
    );
}

/// What every method records, the same blocking and async: the key it acts on (a template's or
/// import request's id), the algorithm and message count for signing, the outcome.
const EVERY_METHOD: [&str; 13] = [
    "mock list_keys key= alg= n=0 outcome=Ok(()) left=None",
    "mock generate_key key=every alg= n=0 outcome=Ok(()) left=None",
    "mock key_info key=every alg= n=0 outcome=Ok(()) left=None",
    "mock public_key key=every alg= n=0 outcome=Ok(()) left=None",
    "mock import_key key=imported alg= n=0 outcome=Err(InvalidInput) left=None",
    "mock health key= alg= n=0 outcome=Ok(()) left=None",
    "mock certificate key=every alg= n=0 outcome=Ok(()) left=None",
    "mock store_certificate key=every alg= n=0 outcome=Err(InvalidInput) left=None",
    "mock delete_certificate key=every alg= n=0 outcome=Err(NotFound) left=None",
    "mock random key= alg= n=0 outcome=Ok(()) left=None",
    "mock sign_digest key=every alg=ecdsa-sha256 n=1 outcome=Ok(()) left=None",
    "mock sign_many key=every alg=ecdsa-sha256 n=0 outcome=Ok(()) left=None",
    "mock delete_key key=every alg= n=0 outcome=Ok(()) left=None",
];

fn every_key() -> (KeyId, KeyTemplate, ImportRequest) {
    let key: KeyId = "every".parse().unwrap();
    let template = KeyTemplate::new(key.clone(), KeySpec::Ec(Curve::P256));
    let not_a_key = PrivateKeyDer::new(zeroize::Zeroizing::new(vec![0x30, 0x00]));
    let request = ImportRequest::new("imported".parse().unwrap(), not_a_key);
    (key, template, request)
}

#[test]
fn every_blocking_method_is_reported_with_its_key_and_algorithm() {
    let recorder = Arc::new(Recorder::default());
    let hsm = Observed::new(MockHsm::new(), recorder.clone());
    let (key, template, request) = every_key();
    let capture = TraceCapture::new();
    capture.in_scope(|| every_blocking_call(&hsm, &key, &template, &request));
    assert_eq!(*recorder.0.lock().unwrap(), EVERY_METHOD);
    assert_traced(&capture.text());
    assert_eq!(KeyStore::backend(&hsm), "mock");
    assert!(KeyStore::capabilities(&hsm).certificates);
}

fn every_blocking_call(
    hsm: &Observed<MockHsm>,
    key: &KeyId,
    template: &KeyTemplate,
    request: &ImportRequest,
) {
    hsm.list_keys().unwrap();
    hsm.generate_key(template).unwrap();
    hsm.key_info(key).unwrap();
    hsm.public_key(key).unwrap();
    assert!(hsm.import_key(request).is_err());
    hsm.health().unwrap();
    assert_eq!(hsm.certificate(key).unwrap(), None);
    assert!(hsm.store_certificate(key, b"not DER").is_err());
    assert!(hsm.delete_certificate(key).is_err());
    assert_eq!(KeyStore::random(hsm, 8).unwrap().len(), 8);
    hsm.sign_digest(key, SignAlgorithm::EcdsaSha256, &[1; 32])
        .unwrap();
    assert!(
        hsm.sign_many(key, SignAlgorithm::EcdsaSha256, &[])
            .is_empty()
    );
    hsm.delete_key(key).unwrap();
}

/// Each call has its span, and the failures their event.
fn assert_traced(text: &str) {
    for record in EVERY_METHOD {
        let operation = record.split(' ').nth(1).unwrap();
        assert!(
            text.contains(&format!("operation={operation}")),
            "{operation}: {text}"
        );
    }
    assert!(text.contains("outcome=not found"), "{text}");
}

#[test]
fn every_async_method_is_reported_with_its_key_and_algorithm() {
    let recorder = Arc::new(Recorder::default());
    let hsm = Observed::new(MockHsm::new().to_async(), recorder.clone());
    let (key, template, request) = every_key();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let capture = TraceCapture::new();
    capture.in_scope(|| {
        rt.block_on(async {
            hsm.list_keys().await.unwrap();
            hsm.generate_key(&template).await.unwrap();
            hsm.key_info(&key).await.unwrap();
            hsm.public_key(&key).await.unwrap();
            assert!(hsm.import_key(&request).await.is_err());
            hsm.health().await.unwrap();
            assert_eq!(hsm.certificate(&key).await.unwrap(), None);
            assert!(hsm.store_certificate(&key, b"not DER").await.is_err());
            assert!(hsm.delete_certificate(&key).await.is_err());
            assert_eq!(AsyncKeyStore::random(&hsm, 8).await.unwrap().len(), 8);
            hsm.sign_digest(&key, SignAlgorithm::EcdsaSha256, &[1; 32])
                .await
                .unwrap();
            let none = hsm.sign_many(&key, SignAlgorithm::EcdsaSha256, &[]).await;
            assert!(none.is_empty());
            hsm.delete_key(&key).await.unwrap();
        })
    });
    assert_eq!(*recorder.0.lock().unwrap(), EVERY_METHOD);
    assert_traced(&capture.text());
    assert_eq!(AsyncKeyStore::backend(&hsm), "mock");
    assert!(AsyncKeyStore::capabilities(&hsm).certificates);
}
