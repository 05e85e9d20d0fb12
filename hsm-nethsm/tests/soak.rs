//! A bounded soak: 8 threads sign for `HSM_SOAK_SECS` seconds (default 20) through one backend
//! against the simulator: zero errors, every signature verifies, and neither the process's file
//! descriptors nor the connections the simulator accepted grow from the end of warm-up to the end.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::print_stderr,
    missing_docs
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hsm_core::uri::BackendUri;
use hsm_core::{Curve, KeyId, KeySpec, KeyStore as _, KeyTemplate, SignAlgorithm, Signer as _};
use hsm_nethsm::NetHsm;

const THREADS: usize = 8;

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

fn run(hsm: &Arc<NetHsm>, key: &KeyId, duration: Duration) -> (u64, u64) {
    let public = hsm.public_key(key).unwrap();
    let errors = Arc::new(AtomicU64::new(0));
    let signed = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + duration;
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let (hsm, key, public) = (Arc::clone(hsm), key.clone(), public.clone());
            let (errors, signed) = (Arc::clone(&errors), Arc::clone(&signed));
            std::thread::spawn(move || {
                let mut i = 0u64;
                while Instant::now() < deadline {
                    let message = format!("soak {t} {i}");
                    match hsm.sign(&key, SignAlgorithm::EcdsaSha256, message.as_bytes()) {
                        Ok(sig) if public.verify(message.as_bytes(), &sig).is_ok() => {
                            let _ = signed.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(_) => {
                            eprintln!("signature did not verify");
                            let _ = errors.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => {
                            eprintln!("sign failed: {e}");
                            let _ = errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    i += 1;
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    (
        signed.load(Ordering::Relaxed),
        errors.load(Ordering::Relaxed),
    )
}

#[test]
fn eight_signers_for_a_while_no_errors_no_growth() {
    let secs: u64 = std::env::var("HSM_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let hsm = Arc::new(NetHsm::open(BackendUri::parse("nethsm+sim:").unwrap()).unwrap());
    let key: KeyId = "soak".parse().unwrap();
    hsm.generate_key(&KeyTemplate::new(key.clone(), KeySpec::Ec(Curve::P256)))
        .unwrap();
    // Warm-up: the pool reaches its working size.
    let (_, warm_errors) = run(&hsm, &key, Duration::from_secs(2));
    assert_eq!(warm_errors, 0);
    let sim = hsm.simulator().unwrap();
    let (fds_before, connections_before) = (open_fds(), sim.connections());

    let (signed, errors) = run(&hsm, &key, Duration::from_secs(secs));

    let (fds_after, connections_after) = (open_fds(), sim.connections());
    eprintln!(
        "soak {secs} s x {THREADS} threads: {signed} signatures ({} per second), {errors} errors; \
         fds {fds_before} -> {fds_after}; connections opened during the soak: {}",
        signed / secs.max(1),
        connections_after - connections_before
    );
    assert_eq!(errors, 0);
    assert!(signed > secs * 10, "only {signed} signatures");
    // The pool's return race may open a connection now and then (see tests/sim.rs); a leak would
    // be one per signature.
    assert!(
        connections_after - connections_before <= 2 * THREADS as u64,
        "{} connections opened for {signed} signatures",
        connections_after - connections_before
    );
    assert!(
        fds_after <= fds_before + 2 * THREADS,
        "file descriptors grew from {fds_before} to {fds_after}"
    );
}
