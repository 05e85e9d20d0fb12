//! `hsm::open_with` and `hsm::open_async`: options and credentials in code handed to each
//! backend's own `open_with` (NetHSM, N200, PKCS#11, SmartCard-HSM), and the native async NetHSM and N200
//! backends behind the facade.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use hsm::{
    AsyncSigner as _, Curve, ErrorKind, KeyId, KeySpec, KeyTemplate, OpenOptions, SecretString,
    SignAlgorithm,
};

/// The error for a time limit given both in the URI and in code: invalid input, naming it.
fn refused_as_given_twice(e: &hsm::Error) {
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert!(e.to_string().contains("timeout"), "{e}");
}

/// Options with a time limit of `secs` seconds and one retry.
fn timeout_and_retry(secs: u64) -> OpenOptions {
    OpenOptions::new()
        .timeout(Duration::from_secs(secs))
        .retries(1)
}

/// Options with the PIN `p` given in code.
#[cfg(any(feature = "pkcs11", all(feature = "sc", feature = "sim")))]
fn pin(p: &str) -> OpenOptions {
    OpenOptions::new().credential(SecretString::from(p.to_owned()))
}

/// Generates a P-256 key `name` on `hsm`, signs `message` with it and verifies the signature
/// with its public key.
#[cfg(any(feature = "pkcs11", all(feature = "sc", feature = "sim")))]
fn p256_signs(hsm: &dyn hsm::Hsm, name: &str, message: &[u8]) -> KeyId {
    let key: KeyId = name.parse().unwrap();
    hsm.generate_key(&KeyTemplate::new(key.clone(), KeySpec::Ec(Curve::P256)))
        .unwrap();
    let signature = hsm.sign(&key, SignAlgorithm::EcdsaSha256, message).unwrap();
    let public = hsm.public_key(&key).unwrap();
    public.verify(message, &signature).unwrap();
    key
}

/// Runs `softhsm2-util`; fails the test with its output if it fails.
#[cfg(feature = "pkcs11")]
fn softhsm2_util(args: &[&str]) {
    hsm_testkit::cli::run(std::process::Command::new("softhsm2-util").args(args));
}

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
    refused_as_given_twice(
        &hsm::open_with("nethsm+sim:?timeout-ms=2000", twice).expect_err("twice"),
    );

    let hsm = hsm::open_with("nethsm+sim:", timeout_and_retry(5)).unwrap();
    hsm.health().unwrap();
}

/// Checks that `hsm` is a native async backend, not the blocking pool's bridge, and makes the
/// P-256 key `async-facade` on it: its id and public key.
async fn native_with_p256(hsm: &dyn hsm::AsyncHsm) -> (KeyId, hsm::PublicKey) {
    assert!(!format!("{hsm:?}").contains("AsyncOverBlocking"), "{hsm:?}");
    let key: KeyId = "async-facade".parse().unwrap();
    let template = KeyTemplate::new(key.clone(), KeySpec::Ec(Curve::P256));
    hsm.generate_key(&template).await.unwrap();
    let public = hsm.public_key(&key).await.unwrap();
    (key, public)
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
        let (key, public) = native_with_p256(hsm.as_ref()).await;
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

#[cfg(all(feature = "n200", feature = "sim"))]
#[test]
fn open_async_gives_the_native_n200_backend_with_options_from_code() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // Options reach the backend itself, not URI parameters: one given twice is refused by
        // name, as the N200 crate's open_with does.
        let e = hsm::open_async_with(
            "n200+sim:?timeout-ms=2000",
            OpenOptions::new().timeout(Duration::from_secs(3)),
        )
        .await
        .expect_err("given twice");
        refused_as_given_twice(&e);

        let hsm = hsm::open_async_with("n200+sim:", timeout_and_retry(10))
            .await
            .unwrap();
        assert_eq!(hsm.backend(), "n200");
        let (key, public) = native_with_p256(hsm.as_ref()).await;
        let signature = hsm
            .sign(&key, SignAlgorithm::EcdsaSha256, b"n200 async")
            .await
            .unwrap();
        public.verify(b"n200 async", &signature).unwrap();
    });
}

/// A SoftHSM2 token made with `softhsm2-util` in the directory `SOFTHSM2_CONF` names (CI's
/// scripts/ci.d/pkcs11.sh sets one), opened by label with the PIN given in code.
#[cfg(feature = "pkcs11")]
#[test]
fn a_pkcs11_pin_from_code_opens_the_token_and_is_refused_twice() {
    const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
    assert!(
        std::env::var_os("SOFTHSM2_CONF").is_some(),
        "SOFTHSM2_CONF must name a SoftHSM2 configuration with a temporary token directory \
         (scripts/ci.d/pkcs11.sh sets one)"
    );
    let label = format!("facade-pin-{}", std::process::id());
    let pins = ["--so-pin", "87654321", "--pin", "246813"];
    softhsm2_util(&[&["--init-token", "--free", "--label", &label][..], &pins].concat());
    let uri = format!("pkcs11:token={label}?module-path={MODULE}");

    let hsm = hsm::open_with(&uri, pin("246813")).unwrap();
    p256_signs(hsm.as_ref(), "pin-from-code", b"pkcs11 pin");
    drop(hsm);

    let e = hsm::open_with(&uri, pin("135792"))
        .and_then(|h| h.list_keys().map(drop))
        .expect_err("a wrong PIN");
    assert!(e.is_auth(), "{e}");
    assert!(!format!("{e} {e:?}").contains("135792"), "{e:?}");

    let e = hsm::open_with(&format!("{uri}&pin-value=246813"), pin("246813"))
        .expect_err("a PIN given twice");
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert!(e.to_string().contains("PIN"), "{e}");

    // An option that means nothing to a module is refused, not silently dropped.
    let e = hsm::open_with(&uri, pin("246813").retries(2)).expect_err("retries");
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");

    softhsm2_util(&["--delete-token", "--token", &label]);
}

/// The SmartCard-HSM simulator opened with its user PIN given in code: it signs; a wrong PIN is
/// refused when first used (and never shown); a PIN in both places and a time limit (PC/SC has
/// none) are refused.
#[cfg(all(feature = "sc", feature = "sim"))]
#[test]
fn an_sc_hsm_pin_from_code_is_used_and_refused_twice() {
    let hsm = hsm::open_with("sc-hsm+sim:", pin("648219")).unwrap();
    let key = p256_signs(hsm.as_ref(), "sc-pin-from-code", b"sc pin");

    let e = hsm::open_with("sc-hsm+sim:", pin("111111"))
        .and_then(|h| {
            h.generate_key(&KeyTemplate::new(key.clone(), KeySpec::Ec(Curve::P256)))
                .map(drop)
        })
        .expect_err("a wrong PIN");
    assert!(e.is_auth(), "{e}");
    assert!(!format!("{e} {e:?}").contains("111111"), "{e:?}");

    let e = hsm::open_with("sc-hsm:?pin-value=648219", pin("648219")).expect_err("twice");
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    let e = hsm::open_with("sc-hsm+sim:", pin("648219").timeout(Duration::from_secs(5)))
        .expect_err("a timeout");
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
}
