//! A bounded soak: `HSM_SOAK_THREADS` threads (default 4) sign for `HSM_SOAK_SECS` seconds
//! (default 15) through one shared `ScHsm` in process and, at the same time, as many over
//! pcscd + vpcd (the simulated card served from this process) through each of two `ScHsm`s with
//! a PC/SC connection each. Zero errors, every signature verifies, and the process holds no more
//! file descriptors at the end than after warm-up.

#![cfg(feature = "sim")]

mod common;

use std::time::{Duration, Instant};

use hsm_core::testkit::{fan_out, open_fds, sign_and_verify, soak_secs, soak_threads};
use hsm_core::uri::BackendUri;
use hsm_core::{Curve, KeyId, KeySpec, KeyStore, KeyTemplate, SignAlgorithm};
use hsm_sc::ScHsm;

/// Threads per `ScHsm`: `HSM_SOAK_THREADS`, default 4.
fn threads() -> usize {
    soak_threads(4)
}

fn keys(hsm: &ScHsm) -> Vec<(KeyId, SignAlgorithm)> {
    let out = vec![
        (
            KeyId::name("soak-p256").unwrap(),
            SignAlgorithm::EcdsaSha256,
        ),
        (
            KeyId::name("soak-rsa").unwrap(),
            SignAlgorithm::RsaPkcs1Sha256,
        ),
    ];
    for ((id, _), spec) in out.iter().zip([KeySpec::Ec(Curve::P256), KeySpec::Rsa2048]) {
        hsm.generate_key(&KeyTemplate::new(id.clone(), spec))
            .unwrap();
    }
    out
}

/// Signs from [`threads`] threads until `deadline`; asserts that every signature was made and
/// verifies, and returns their number.
fn soak(hsm: &ScHsm, keys: &[(KeyId, SignAlgorithm)], deadline: Instant) -> u64 {
    let publics: Vec<_> = keys
        .iter()
        .map(|(k, _)| hsm.public_key(k).unwrap())
        .collect();
    let tally = fan_out(threads(), deadline, |t, n| {
        let i = (t + n) % keys.len();
        let (key, alg) = &keys[i];
        let msg = format!("soak {t} {n}");
        sign_and_verify(hsm, key, *alg, &publics[i], msg.as_bytes())
    });
    assert_eq!(tally.failed, 0, "signatures failed or did not verify");
    tally.ok
}

#[test]
fn soak_in_process_and_over_pcscd() {
    let secs = soak_secs(15);
    let in_process = ScHsm::open(BackendUri::parse("sc-hsm+sim:").unwrap()).unwrap();
    let in_process_keys = keys(&in_process);

    #[cfg(feature = "pcsc")]
    let pcsc = common::pcscd_available().then(|| {
        let guard = common::slot_guard(1);
        let lock = common::SlotLock::acquire(1);
        let sim = hsm_sc::sim::SimulatedCard::initialized().unwrap();
        let card = common::insert_card(&sim, common::vpcd_addr(1), "Virtual PCD 00 01");
        let uri = format!(
            "sc-hsm:?reader=Virtual%20PCD%2000%2001&pin-value={}",
            common::USER_PIN
        );
        let hsm = ScHsm::open(BackendUri::parse(&uri).unwrap()).unwrap();
        let keys = keys(&hsm);
        // a second, independent PC/SC connection to the same card (as a second process
        // would have): both log in, neither logs the other out for good
        let second = ScHsm::open(BackendUri::parse(&uri).unwrap()).unwrap();
        (hsm, second, keys, card, lock, guard)
    });

    // warm-up, so that lazily opened descriptors exist before counting
    let warmed = soak(
        &in_process,
        &in_process_keys,
        Instant::now() + Duration::from_millis(200),
    );
    assert!(warmed > 0, "the warm-up signed nothing");
    let fds_before = open_fds().unwrap();
    let deadline = Instant::now() + Duration::from_secs(secs);
    let (local, over_pcscd) = std::thread::scope(|s| {
        #[cfg(feature = "pcsc")]
        let remote = pcsc.as_ref().map(|(hsm, second, keys, ..)| {
            let first = s.spawn(move || soak(hsm, keys, deadline));
            let other = s.spawn(move || soak(second, keys, deadline));
            s.spawn(move || first.join().unwrap() + other.join().unwrap())
        });
        #[cfg(not(feature = "pcsc"))]
        let remote: Option<std::thread::ScopedJoinHandle<'_, u64>> = {
            let _ = s;
            None
        };
        let local = soak(&in_process, &in_process_keys, deadline);
        (local, remote.map(|r| r.join().unwrap()))
    });
    let fds_after = open_fds().unwrap();
    eprintln!(
        "soak {secs} s, {} threads per ScHsm: {local} signatures in process ({:.0}/s), {} over pcscd+vpcd on two connections ({}/s); fds {fds_before} -> {fds_after}",
        threads(),
        local as f64 / secs as f64,
        over_pcscd.map_or("none".into(), |n| n.to_string()),
        over_pcscd.map_or("-".into(), |n| format!("{:.0}", n as f64 / secs as f64)),
    );
    assert!(local > 0);
    if let Some(n) = over_pcscd {
        assert!(n > 0);
    }
    assert!(
        fds_after <= fds_before,
        "file descriptors grew: {fds_before} -> {fds_after}"
    );
}
