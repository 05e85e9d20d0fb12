//! A bounded soak: 8 threads sign through one `N200` against the simulator for `HSM_SOAK_SECS`
//! seconds (default 15): no error, every signature verifies, and the open file descriptors and
//! accepted connections do not grow after warm-up.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::print_stderr
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hsm_core::{Curve, KeyId, KeySpec, KeyStore as _, KeyTemplate, SignAlgorithm, Signer as _};
use hsm_n200::N200;
use hsm_n200::sim::{SimConfig, Simulator};

const THREADS: usize = 8;

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, Iterator::count)
}

#[test]
fn eight_signers_for_a_while_no_errors_no_leaks() {
    let secs: u64 = std::env::var("HSM_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(15);
    let sim = Simulator::start(SimConfig::random_credentials()).unwrap();
    let client = sim.client_builder().unwrap().build().unwrap();
    let n200 = Arc::new(N200::new(client, sim.key_pin(), "FFFF").unwrap());
    let key = KeyId::name("soak").unwrap();
    let _ = n200
        .generate_key(&KeyTemplate::new(key.clone(), KeySpec::Ec(Curve::P256)))
        .unwrap();
    let pk = Arc::new(n200.public_key(&key).unwrap());

    let run = |duration: Duration| -> (u64, u64) {
        let (signed, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let stop = Arc::new(AtomicBool::new(false));
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let (n200, key, pk) = (Arc::clone(&n200), key.clone(), Arc::clone(&pk));
                let (signed, failed, stop) =
                    (Arc::clone(&signed), Arc::clone(&failed), Arc::clone(&stop));
                std::thread::spawn(move || {
                    let mut i = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        let msg = format!("thread {t} record {i}").into_bytes();
                        i += 1;
                        match n200.sign(&key, SignAlgorithm::EcdsaSha256, &msg) {
                            Ok(sig) if pk.verify(&msg, &sig).is_ok() => {
                                let _ = signed.fetch_add(1, Ordering::Relaxed);
                            }
                            Ok(_) => {
                                eprintln!("signature {t}/{i} does not verify");
                                let _ = failed.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(e) => {
                                eprintln!("signature {t}/{i}: {e}");
                                let _ = failed.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                })
            })
            .collect();
        std::thread::sleep(duration);
        stop.store(true, Ordering::Relaxed);
        for h in handles {
            h.join().unwrap();
        }
        (
            signed.load(Ordering::Relaxed),
            failed.load(Ordering::Relaxed),
        )
    };

    // Warm-up: the pool grows to the number of concurrent signers.
    let _ = run(Duration::from_secs(1));
    let (fds, conns) = (open_fds(), sim.connections());
    let start = Instant::now();
    let (signed, failed) = run(Duration::from_secs(secs));
    let rate = signed as f64 / start.elapsed().as_secs_f64();
    let (fds_after, conns_after) = (open_fds(), sim.connections());
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
