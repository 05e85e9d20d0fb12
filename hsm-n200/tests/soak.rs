//! A bounded soak: 8 threads sign through one `N200` against the simulator for `HSM_SOAK_SECS`
//! seconds (default 15): no error, every signature verifies, and the open file descriptors and
//! accepted connections do not grow after warm-up.

use std::time::{Duration, Instant};

use hsm_core::testkit::{Tally, fan_out, open_fds, sign_and_verify, soak_secs};
use hsm_core::{Curve, KeyId, KeySpec, KeyStore as _, KeyTemplate, SignAlgorithm};
use hsm_n200::N200;
use hsm_n200::sim::{SimConfig, Simulator};

const THREADS: usize = 8;

#[test]
fn eight_signers_for_a_while_no_errors_no_leaks() {
    let secs = soak_secs(15);
    let sim = Simulator::start(SimConfig::random_credentials()).unwrap();
    let client = sim.client_builder().unwrap().build().unwrap();
    let n200 = N200::new(client, sim.key_pin(), "FFFF").unwrap();
    let key = KeyId::name("soak").unwrap();
    let _ = n200
        .generate_key(&KeyTemplate::new(key.clone(), KeySpec::Ec(Curve::P256)))
        .unwrap();
    let pk = n200.public_key(&key).unwrap();

    let run = |duration: Duration| -> (u64, u64) {
        let Tally { ok, failed } = fan_out(THREADS, Instant::now() + duration, |t, i| {
            let msg = format!("thread {t} record {i}").into_bytes();
            sign_and_verify(&n200, &key, SignAlgorithm::EcdsaSha256, &pk, &msg)
        });
        (ok, failed)
    };

    // Warm-up: the pool grows to the number of concurrent signers.
    let _ = run(Duration::from_secs(1));
    let (fds, conns) = (open_fds().unwrap(), sim.connections());
    let start = Instant::now();
    let (signed, failed) = run(Duration::from_secs(secs));
    let rate = signed as f64 / start.elapsed().as_secs_f64();
    let (fds_after, conns_after) = (open_fds().unwrap(), sim.connections());
    eprintln!(
        "soak {secs} s, {THREADS} threads: {signed} signatures ({rate:.0}/s), {failed} errors, \
         fds {fds} -> {fds_after}, {} new connections",
        conns_after - conns
    );
    assert_eq!(failed, 0, "errors during the soak");
    assert!(signed > 0);
    // hyper returns a connection to the pool just after an answer ends; a request leaving in
    // that instant opens one more. A leak would grow with the signatures (thousands).
    assert!(
        conns_after - conns <= 4,
        "{} new connections",
        conns_after - conns
    );
    assert!(fds_after <= fds + 4, "fds {fds} -> {fds_after}");
}
