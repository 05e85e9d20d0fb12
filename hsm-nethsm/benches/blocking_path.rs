//! The blocking path, old way against new way, per signature, on the in-process simulator over
//! HTTPS on loopback (no added latency), P-256 ECDSA, from plain threads:
//!
//! - `shared`: [`NetHsm`] without thread lanes: each request goes from the caller's thread to a
//!   worker of the backend's multi-thread runtime (which owns the connection) and back;
//! - `lanes`: [`NetHsm::with_thread_clients`]: each caller thread drives its own current-thread
//!   runtime and kept-alive connection itself, with no thread hop.
//!
//! Each with one thread and with 8 threads signing at once (8 long-lived threads, so each keeps
//! its lane and connection from one sample to the next). The simulator runs on a runtime of its
//! own, the same one for every case. At the end the bench prints the time per signature of each
//! case and the ratio old/new (above 1: the new way is faster), then the median ratio of 15
//! paired rounds in which the two ways alternate (on a shared machine, load that comes and goes
//! during the criterion groups falls on one way more than on the other; in pairs it falls on
//! both alike).
#![allow(clippy::indexing_slicing, clippy::print_stderr, clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hsm_core::runtime::DEFAULT_MAX_THREAD_LANES;
use hsm_core::{KeyId, Signer as _};
use hsm_nethsm::NetHsm;
use hsm_testkit::bench::{Measured, Signers, paired_ratio};
use support::{ALGORITHM, SimBench};

const THREADS: usize = 8;
/// Rounds of the paired comparison.
const ROUNDS: usize = 15;

fn blocking_path(c: &mut Criterion) {
    let bench = SimBench::start("blockingpath");
    let key = bench.key.clone();
    let shared = bench.blocking();
    let lanes = Arc::new(
        NetHsm::new(bench.client())
            .unwrap()
            .with_thread_clients(DEFAULT_MAX_THREAD_LANES, bench.clients()),
    );
    let paths = [("shared", &shared), ("lanes", &lanes)];
    let mut signers = Vec::new();
    for (name, hsm) in paths {
        // Warm: the key cached, the main thread's connection (or lane), each signer's.
        let _ = hsm.sign(&key, ALGORITHM, b"warm").unwrap();
        let workers = Signers::start(hsm, &key, ALGORITHM, THREADS);
        let _ = workers.round(4);
        signers.push((name, workers));
    }
    let measured = Measured::default();

    let mut group = c.benchmark_group("nethsm/blocking_path");
    group.sample_size(20);

    group.throughput(Throughput::Elements(1));
    for (name, hsm) in paths {
        let case = format!("{name}/one_thread");
        group.bench_function(&case, |b| {
            b.iter_custom(|iters| measured.sample(&case, iters, || sign_in_turn(hsm, &key, iters)));
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
    let (old, new) = (&signers[0].1, &signers[1].1);
    let paired_ratios = [
        (
            "one_thread",
            paired_ratio(
                ROUNDS,
                || sign_in_turn(&shared, &key, 200),
                || sign_in_turn(&lanes, &key, 200),
            ),
        ),
        (
            "8_threads",
            paired_ratio(ROUNDS, || old.round(50), || new.round(50)),
        ),
    ];
    for (_, workers) in signers {
        workers.stop();
    }

    eprintln!("\nper signature (8 threads: wall time / signatures), and old/new:");
    for threads in ["one_thread", "8_threads"] {
        let old = measured.per_signature_us(&format!("shared/{threads}"));
        let new = measured.per_signature_us(&format!("lanes/{threads}"));
        if let (Some(old), Some(new)) = (old, new) {
            eprintln!(
                "{threads:>11}: shared {old:>8.1} us  lanes {new:>8.1} us  old/new {:.2}x",
                old / new
            );
        }
    }
    eprintln!("paired rounds, median of {ROUNDS} (old/new, above 1: lanes faster):");
    for (threads, ratio) in paired_ratios {
        eprintln!("{threads:>11}: old/new {ratio:.2}x");
    }
}

/// `count` signatures one after another from this thread; the time they took.
fn sign_in_turn(hsm: &NetHsm, key: &KeyId, count: u64) -> std::time::Duration {
    let started = Instant::now();
    for i in 0..count {
        let _ = hsm.sign(key, ALGORITHM, &i.to_be_bytes()).unwrap();
    }
    started.elapsed()
}

criterion_group!(benches, blocking_path);
criterion_main!(benches);
