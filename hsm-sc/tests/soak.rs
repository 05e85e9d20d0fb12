//! A bounded soak: `HSM_SOAK_THREADS` threads (default 4) sign for `HSM_SOAK_SECS` seconds
//! (default 15) through one shared `ScHsm` in process and, at the same time, as many over
//! pcscd + vpcd (the simulated card served from this process) through each of two `ScHsm`s with
//! a PC/SC connection each. Zero errors, every signature verifies, and the process holds no more
//! file descriptors at the end than after warm-up.

#![cfg(feature = "sim")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::print_stderr
)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use hsm_core::uri::BackendUri;
use hsm_core::{Curve, KeyId, KeySpec, KeyStore, KeyTemplate, SignAlgorithm, Signer};
use hsm_sc::ScHsm;

/// Threads per `ScHsm`: `HSM_SOAK_THREADS`, default 4.
fn threads() -> usize {
    std::env::var("HSM_SOAK_THREADS")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(4)
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, Iterator::count)
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

/// Signs from [`threads`] threads until `deadline`; returns the number of verified signatures.
fn soak(hsm: &Arc<ScHsm>, keys: &[(KeyId, SignAlgorithm)], deadline: Instant) -> usize {
    let publics: Vec<_> = keys
        .iter()
        .map(|(k, _)| hsm.public_key(k).unwrap())
        .collect();
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads())
            .map(|t| {
                let (hsm, publics) = (hsm.clone(), &publics);
                s.spawn(move || {
                    let mut n = 0usize;
                    while Instant::now() < deadline {
                        let i = (t + n) % keys.len();
                        let (key, alg) = &keys[i];
                        let msg = format!("soak {t} {n}");
                        let sig = hsm
                            .sign(key, *alg, msg.as_bytes())
                            .unwrap_or_else(|e| panic!("signature {n} of thread {t}: {e}"));
                        publics[i].verify(msg.as_bytes(), &sig).unwrap_or_else(|e| {
                            panic!("signature {n} of thread {t} does not verify: {e}")
                        });
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).sum()
    })
}

#[test]
fn soak_in_process_and_over_pcscd() {
    let secs: u64 = std::env::var("HSM_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(15);
    let in_process = Arc::new(ScHsm::open(BackendUri::parse("sc-hsm+sim:").unwrap()).unwrap());
    let in_process_keys = keys(&in_process);

    #[cfg(feature = "pcsc")]
    let pcsc = common::pcscd_available().then(|| {
        let guard = common::slot_guard(1);
        let lock = common::SlotLock::acquire(1);
        let sim = hsm_sc::sim::SimulatedCard::initialized().unwrap();
        let card = hsm_sc::sim::vpcd::InsertedCard::insert(&sim, common::vpcd_addr(1)).unwrap();
        common::wait_card("Virtual PCD 00 01", true);
        let uri = format!(
            "sc-hsm:?reader=Virtual%20PCD%2000%2001&pin-value={}",
            common::USER_PIN
        );
        let hsm = Arc::new(ScHsm::open(BackendUri::parse(&uri).unwrap()).unwrap());
        let keys = keys(&hsm);
        // a second, independent PC/SC connection to the same card (as a second process
        // would have): both log in, neither logs the other out for good
        let second = Arc::new(ScHsm::open(BackendUri::parse(&uri).unwrap()).unwrap());
        (hsm, second, keys, card, lock, guard)
    });

    // warm-up: one round each, so lazily opened descriptors exist before counting
    let _ = soak(&in_process, &in_process_keys, Instant::now());
    let fds_before = open_fds();
    let deadline = Instant::now() + Duration::from_secs(secs);
    let (local, over_pcscd) = std::thread::scope(|s| {
        #[cfg(feature = "pcsc")]
        let remote = pcsc.as_ref().map(|(hsm, second, keys, ..)| {
            let first = s.spawn(move || soak(hsm, keys, deadline));
            let other = s.spawn(move || soak(second, keys, deadline));
            s.spawn(move || first.join().unwrap() + other.join().unwrap())
        });
        #[cfg(not(feature = "pcsc"))]
        let remote: Option<std::thread::ScopedJoinHandle<'_, usize>> = {
            let _ = s;
            None
        };
        let local = soak(&in_process, &in_process_keys, deadline);
        (local, remote.map(|r| r.join().unwrap()))
    });
    let fds_after = open_fds();
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
