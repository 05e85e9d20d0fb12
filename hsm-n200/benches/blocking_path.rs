//! The blocking path of the N200, without and with thread lanes, per signature, on the
//! in-process simulator over HTTPS on loopback (no added latency), P-256 ECDSA, from plain
//! threads:
//!
//! - `shared`: [`N200::new`] without lanes: each request goes from the caller's thread to a
//!   worker of the backend's runtime (which owns the connections) and back;
//! - `lanes`: [`N200::with_thread_lanes`] (what `open` gives): each caller thread drives its own
//!   current-thread runtime and kept-alive connection itself, with no thread hop.
//!
//! Each with one thread and with 8 long-lived threads signing at once. At the end it prints the
//! time per signature of each case and old/new (above 1: lanes are faster), then the median
//! old/new of 15 paired rounds in which the two alternate (load from other processes on a
//! shared machine falls on both alike). The harness is `hsm_testkit::bench`, as for hsm-nethsm's
//! `blocking_path`.
//!
//! `cargo bench -p hsm-n200 --features sim --bench blocking_path`
#![allow(missing_docs, clippy::unwrap_used, clippy::print_stderr)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hsm_core::runtime::DEFAULT_MAX_THREAD_LANES;
use hsm_core::{Curve, KeyId, KeySpec, KeyStore as _, KeyTemplate, SignAlgorithm, Signer as _};
use hsm_n200::N200;
use hsm_n200::sim::{SimConfig, Simulator};
use hsm_testkit::bench::{Measured, Signers, paired_ratio};

const ALGORITHM: SignAlgorithm = SignAlgorithm::EcdsaSha256;
const THREADS: usize = 8;
/// Rounds of the paired comparison.
const ROUNDS: usize = 15;

/// `iters` signatures one after another on this thread; the time they took.
fn sign_here(hsm: &N200, key: &KeyId, iters: u64) -> Duration {
    let started = Instant::now();
    for i in 0..iters {
        let _ = hsm.sign(key, ALGORITHM, &i.to_be_bytes()).unwrap();
    }
    started.elapsed()
}

fn blocking_path(c: &mut Criterion) {
    let sim = Simulator::start(SimConfig::random_credentials()).unwrap();
    let n200 = || N200::new(sim.client_builder()?.build()?, sim.key_pin(), "FFFF");
    let shared = Arc::new(n200().unwrap());
    let lanes = Arc::new(n200().unwrap().with_thread_lanes(DEFAULT_MAX_THREAD_LANES));
    let key: KeyId = "blockingpath".parse().unwrap();
    let _ = shared
        .generate_key(&KeyTemplate::new(key.clone(), KeySpec::Ec(Curve::P256)))
        .unwrap();
    let paths = [("shared", &shared), ("lanes", &lanes)];
    let signers = paths.map(|(name, hsm)| {
        // Warm: the key resolved, this thread's connection (or lane), each signer's.
        let _ = sign_here(hsm, &key, 1);
        let workers = Signers::start(hsm, &key, ALGORITHM, THREADS);
        let _ = workers.round(4);
        (name, workers)
    });

    let measured = Measured::default();
    let mut group = c.benchmark_group("n200/blocking_path");
    group.sample_size(20);
    group.throughput(Throughput::Elements(1));
    for (name, hsm) in paths {
        let case = format!("{name}/one_thread");
        group.bench_function(&case, |b| {
            b.iter_custom(|iters| measured.sample(&case, iters, || sign_here(hsm, &key, iters)));
        });
    }
    group.throughput(Throughput::Elements(THREADS as u64));
    for (name, workers) in &signers {
        let case = format!("{name}/{THREADS}_threads");
        group.bench_function(&case, |b| {
            b.iter_custom(|iters| {
                measured.sample(&case, iters * THREADS as u64, || workers.round(iters))
            });
        });
    }
    group.finish();

    let [(_, old), (_, new)] = &signers;
    let paired = [
        (
            "one_thread",
            paired_ratio(
                ROUNDS,
                || sign_here(&shared, &key, 200),
                || sign_here(&lanes, &key, 200),
            ),
        ),
        (
            "8_threads",
            paired_ratio(ROUNDS, || old.round(50), || new.round(50)),
        ),
    ];
    eprintln!("\nper signature (8 threads: wall time / signatures), and old/new:");
    for (threads, ratio) in paired {
        let old = measured.per_signature_us(&format!("shared/{threads}"));
        let new = measured.per_signature_us(&format!("lanes/{threads}"));
        if let (Some(old), Some(new)) = (old, new) {
            eprintln!(
                "{threads:>11}: shared {old:>8.1} us  lanes {new:>8.1} us  old/new {:.2}x",
                old / new
            );
        }
        eprintln!("{threads:>11}: paired rounds, median of {ROUNDS}: old/new {ratio:.2}x");
    }
    for (_, workers) in signers {
        workers.stop();
    }
}

criterion_group!(benches, blocking_path);
criterion_main!(benches);
