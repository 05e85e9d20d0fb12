//! A bounded soak: 8 threads sign for `HSM_SOAK_SECS` seconds (default 20) through one backend
//! against the simulator: zero errors, every signature verifies, and neither the process's file
//! descriptors nor the connections the simulator accepted grow from the end of warm-up to the end.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use hsm_core::testkit::{Tally, fan_out, open_fds, sign_and_verify, soak_secs};
use hsm_core::uri::BackendUri;
use hsm_core::{Curve, KeyId, KeySpec, KeyStore as _, KeyTemplate, SignAlgorithm};
use hsm_nethsm::NetHsm;

const THREADS: usize = 8;

fn run(hsm: &NetHsm, key: &KeyId, duration: Duration) -> (u64, u64) {
    let public = hsm.public_key(key).unwrap();
    let Tally { ok, failed } = fan_out(THREADS, Instant::now() + duration, |t, i| {
        let message = format!("soak {t} {i}");
        sign_and_verify(
            hsm,
            key,
            SignAlgorithm::EcdsaSha256,
            &public,
            message.as_bytes(),
        )
    });
    (ok, failed)
}

#[test]
fn eight_signers_for_a_while_no_errors_no_growth() {
    let secs = soak_secs(20);
    let hsm = NetHsm::open(BackendUri::parse("nethsm+sim:").unwrap()).unwrap();
    let key: KeyId = "soak".parse().unwrap();
    hsm.generate_key(&KeyTemplate::new(key.clone(), KeySpec::Ec(Curve::P256)))
        .unwrap();
    // Warm-up: the pool reaches its working size.
    let (_, warm_errors) = run(&hsm, &key, Duration::from_secs(2));
    assert_eq!(warm_errors, 0);
    let sim = hsm.simulator().unwrap();
    let (fds_before, connections_before) = (open_fds().unwrap(), sim.connections());

    let (signed, errors) = run(&hsm, &key, Duration::from_secs(secs));

    let (fds_after, connections_after) = (open_fds().unwrap(), sim.connections());
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
