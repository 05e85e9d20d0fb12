//! Every call through `Observed` is traced and reported, blocking and async, without secrets.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

use std::sync::{Arc, Mutex};

use hsm_core::mock::MockHsm;
use hsm_core::observe::{CallRecord, Observed, Observer};
use hsm_core::testkit::TraceCapture;
use hsm_core::{Curve, ErrorKind, KeyId, KeySpec, KeyStore, KeyTemplate, SignAlgorithm, Signer};

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
