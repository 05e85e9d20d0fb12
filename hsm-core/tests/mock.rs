//! The public in-memory backend: it passes the conformance suite every device backend runs, and
//! its scripted failures reach the caller as asked.

use hsm_core::conformance::{Config, run};
use hsm_core::mock::MockHsm;
use hsm_core::{
    Curve, ErrorKind, ImportRequest, KeyId, KeySpec, KeyStore as _, KeyTemplate, PrivateKeyDer,
    SignAlgorithm, Signer as _,
};

#[test]
fn the_mock_passes_the_conformance_suite() {
    let hsm = MockHsm::new();
    let report = run(&hsm, &Config::new("mock")).unwrap_or_else(|f| panic!("{f}"));
    // Every spec the mock declares was generated, signed with and verified.
    assert!(report.passed.len() > 40, "{report}");
    // The mock declares certificates and random: their checks ran (not the undeclared ones).
    for check in [
        "certificate reads back what was stored",
        "delete_certificate",
        "two random(32) calls differ",
    ] {
        assert!(
            report.passed.iter().any(|p| p == check),
            "{check}: {report}"
        );
    }
    assert!(hsm.list_keys().unwrap().is_empty(), "the suite cleans up");
}

#[test]
fn scripted_failures_reach_the_caller_in_order_then_stop() {
    let hsm = MockHsm::new();
    let key: KeyId = "faulty".parse().unwrap();
    hsm.generate_key(&KeyTemplate::new(key.clone(), KeySpec::Ec(Curve::P256)))
        .unwrap();
    hsm.fail_next(ErrorKind::Unavailable);
    hsm.fail_next(ErrorKind::Timeout);
    let first = hsm
        .sign(&key, SignAlgorithm::EcdsaSha256, b"m")
        .unwrap_err();
    assert_eq!(first.kind(), ErrorKind::Unavailable);
    assert!(first.is_retryable());
    assert_eq!(first.operation(), "mock.sign");
    let second = hsm.public_key(&key).unwrap_err();
    assert_eq!(second.kind(), ErrorKind::Timeout);
    let sig = hsm.sign(&key, SignAlgorithm::EcdsaSha256, b"m").unwrap();
    hsm.public_key(&key).unwrap().verify(b"m", &sig).unwrap();
    assert!(hsm.calls() >= 5);
}

#[test]
fn clones_share_keys_and_the_async_twin_signs_the_same_keys() {
    let hsm = MockHsm::new();
    let key: KeyId = "shared".parse().unwrap();
    hsm.clone()
        .generate_key(&KeyTemplate::new(key.clone(), KeySpec::Ed25519))
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let sig = rt
        .block_on(sign_async(hsm.to_async(), key.clone()))
        .unwrap();
    hsm.public_key(&key)
        .unwrap()
        .verify(b"async", &sig)
        .unwrap();
}

async fn sign_async(
    hsm: impl hsm_core::AsyncHsm,
    key: KeyId,
) -> hsm_core::Result<hsm_core::Signature> {
    hsm.sign(&key, SignAlgorithm::Ed25519, b"async").await
}

#[test]
fn keys_allow_only_their_algorithms_and_imports_sign_like_generated_keys() {
    let hsm = MockHsm::new();
    let key: KeyId = "pss-only".parse().unwrap();
    hsm.generate_key(
        &KeyTemplate::new(key.clone(), KeySpec::Rsa2048)
            .with_algorithms(vec![SignAlgorithm::RsaPssSha256]),
    )
    .unwrap();
    let err = hsm
        .sign(&key, SignAlgorithm::RsaPkcs1Sha256, b"m")
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    let sig = hsm.sign(&key, SignAlgorithm::RsaPssSha256, b"m").unwrap();
    hsm.public_key(&key).unwrap().verify(b"m", &sig).unwrap();

    use p256::pkcs8::EncodePrivateKey as _;
    let secret = p256::SecretKey::from_slice(&[0x42; 32]).unwrap();
    let der = secret.to_pkcs8_der().unwrap();
    let imported: KeyId = "imported".parse().unwrap();
    hsm.import_key(&ImportRequest::new(
        imported.clone(),
        PrivateKeyDer::new(zeroize::Zeroizing::new(der.as_bytes().to_vec())),
    ))
    .unwrap();
    let expected = hsm_core::PublicKey::from_der(
        {
            use p256::pkcs8::EncodePublicKey as _;
            secret.public_key().to_public_key_der()
        }
        .unwrap()
        .as_bytes(),
    )
    .unwrap();
    assert_eq!(hsm.public_key(&imported).unwrap(), expected);
    let err = hsm
        .import_key(&ImportRequest::new(
            imported,
            PrivateKeyDer::new(zeroize::Zeroizing::new(der.as_bytes().to_vec())),
        ))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
}
