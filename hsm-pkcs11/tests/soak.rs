//! A bounded soak: 8 threads sign for `HSM_SOAK_SECS` seconds (default 15) through one backend
//! on SoftHSM2, with P-256, Ed25519 and RSA-2048 keys: zero errors, every signature verifies,
//! and neither the sessions the process has open on the token (counted with
//! `C_GetSessionInfo`) nor its file descriptors grow from the end of warm-up to the end; once
//! the backend is dropped, no session is left.
#![allow(clippy::indexing_slicing)]

mod common;

use std::time::{Duration, Instant};

use hsm_core::testkit::{Tally, fan_out, open_fds, sign_and_verify, soak_secs};
use hsm_core::{Curve, KeyId, KeySpec, KeyStore, KeyTemplate, PublicKey, SignAlgorithm};
use hsm_pkcs11::{Options, Pkcs11Hsm};

const THREADS: usize = 8;

type Keys = Vec<(KeyId, SignAlgorithm, PublicKey)>;

/// Signs from `THREADS` threads until `duration` is over; returns (signatures, errors).
fn run(hsm: &Pkcs11Hsm, keys: &Keys, duration: Duration) -> (u64, u64) {
    let Tally { ok, failed } = fan_out(THREADS, Instant::now() + duration, |t, i| {
        let (key, algorithm, public) = &keys[(t + i) % keys.len()];
        let message = format!("soak thread {t} message {i}");
        sign_and_verify(hsm, key, *algorithm, public, message.as_bytes())
    });
    (ok, failed)
}

#[test]
fn eight_threads_sign_for_a_while_without_errors_or_leaks() {
    if !common::ready(false) {
        return;
    }
    let secs = soak_secs(15);
    // Fewer sessions than threads: callers also wait for a free session.
    let options = Options::default().with_concurrency(4);
    let hsm = Pkcs11Hsm::open_with("pkcs11+sim:", options).unwrap();
    let slot = hsm.token_info().unwrap().slot_id;
    let keys: Keys = [
        (
            "soak-p256",
            KeySpec::Ec(Curve::P256),
            SignAlgorithm::EcdsaSha256,
        ),
        ("soak-ed25519", KeySpec::Ed25519, SignAlgorithm::Ed25519),
        ("soak-rsa", KeySpec::Rsa2048, SignAlgorithm::RsaPssSha256),
    ]
    .into_iter()
    .map(|(name, spec, algorithm)| {
        let key = KeyId::name(name).unwrap();
        hsm.generate_key(&KeyTemplate::new(key.clone(), spec))
            .unwrap();
        let public = hsm.public_key(&key).unwrap();
        (key, algorithm, public)
    })
    .collect();

    let (warm, errors) = run(&hsm, &keys, Duration::from_secs(1));
    assert_eq!(errors, 0);
    assert!(warm > 0);
    let fds = open_fds().unwrap();
    let open = common::raw::open_sessions(slot);
    assert_eq!(open, 1 + hsm.pool_sessions(), "anchor + pooled sessions");
    assert!(hsm.pool_sessions() <= hsm.pool_size() && hsm.pool_size() == 4);

    let (signed, errors) = run(&hsm, &keys, Duration::from_secs(secs));
    eprintln!(
        "soak: {signed} signatures in {secs} s from {THREADS} threads over {} sessions, {errors} errors",
        hsm.pool_sessions()
    );
    assert_eq!(errors, 0, "every signature is made and verifies");
    assert!(signed >= warm, "{signed} signatures in {secs} s");
    let fds_after = open_fds().unwrap();
    assert!(
        fds_after <= fds,
        "file descriptors grew: {fds} -> {fds_after}"
    );
    assert!(
        common::raw::open_sessions(slot) <= open,
        "sessions grew: {open} -> {}",
        common::raw::open_sessions(slot)
    );

    drop(hsm);
    assert_eq!(
        common::raw::open_sessions(slot),
        0,
        "a session outlived the backend"
    );
}
