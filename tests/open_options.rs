//! `hsm::open_with` and `hsm::open_async`: options and credentials in code, and the native async
//! NetHSM backend behind the facade.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::time::Duration;

use hsm::{
    AsyncSigner as _, Curve, ErrorKind, KeyId, KeySpec, KeyTemplate, OpenOptions, SecretString,
    SignAlgorithm,
};

#[test]
fn a_credential_from_code_is_used_and_an_option_given_twice_is_refused() {
    // The simulator's operator has its own password: a wrong one given in code must be refused
    // by the device (so the option reached it), without the secret in the error.
    let wrong = OpenOptions::new().credential(SecretString::from("not-the-password-4711"));
    let e = hsm::open_with("nethsm+sim:", wrong)
        .and_then(|h| h.list_keys().map(drop))
        .expect_err("a wrong password");
    assert!(e.is_auth(), "{e}");
    assert!(!format!("{e} {e:?}").contains("not-the-password-4711"));

    let twice = OpenOptions::new().timeout(Duration::from_secs(3));
    let e = hsm::open_with("nethsm+sim:?timeout-ms=2000", twice).expect_err("given twice");
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert!(e.to_string().contains("timeout"), "{e}");

    let hsm = hsm::open_with(
        "nethsm+sim:",
        OpenOptions::new()
            .timeout(Duration::from_secs(5))
            .retries(1),
    )
    .unwrap();
    hsm.health().unwrap();
}

#[test]
fn open_async_gives_the_native_nethsm_backend_shared_by_tasks() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let hsm = hsm::open_async("nethsm+sim:").await.unwrap();
        // Native, not the blocking pool's bridge.
        assert!(!format!("{hsm:?}").contains("AsyncOverBlocking"), "{hsm:?}");
        let key: KeyId = "async-facade".parse().unwrap();
        hsm.generate_key(&KeyTemplate::new(key.clone(), KeySpec::Ec(Curve::P256)))
            .await
            .unwrap();
        let public = hsm.public_key(&key).await.unwrap();
        let mut tasks = Vec::new();
        for i in 0..16u32 {
            let hsm = hsm.clone();
            let key = key.clone();
            tasks.push(tokio::spawn(async move {
                let message = i.to_be_bytes();
                (
                    message,
                    hsm.sign(&key, SignAlgorithm::EcdsaSha256, &message).await,
                )
            }));
        }
        for task in tasks {
            let (message, signature) = task.await.unwrap();
            public.verify(&message, &signature.unwrap()).unwrap();
        }
        hsm.health().await.unwrap();
    });
}
