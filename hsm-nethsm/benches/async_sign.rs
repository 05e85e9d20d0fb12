//! The async path against the blocking path, per signature, on the in-process simulator over
//! HTTPS on loopback (no added latency), P-256 ECDSA:
//!
//! - `blocking`: [`NetHsm::sign`] from plain threads (its private runtime drives the pool);
//! - `async`: [`AsyncNetHsm::sign`] awaited in tasks of a service's tokio runtime;
//! - `async_over_blocking`: the path a tokio service had before, hsm-core's `AsyncOverBlocking`
//!   around the blocking backend (a blocking-pool hop, then a helper thread per call).
//!
//! Each with one caller and with 16 callers in flight (16 threads, or 16 tasks). The simulator
//! runs on a runtime of its own, the same one for every case. At the end the bench prints the
//! time per signature of each case and its ratio to the blocking path.
#![allow(clippy::print_stderr, clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hsm_core::asynchronous::AsyncOverBlocking;
use hsm_core::{AsyncSigner as _, Signer as _};
use hsm_nethsm::AsyncNetHsm;
use hsm_testkit::bench::{self, Measured};
use support::{ALGORITHM, SimBench};

const CALLERS: u64 = 16;

fn async_sign(c: &mut Criterion) {
    let bench = SimBench::start("asyncbench");
    let key = bench.key.clone();
    let service = bench::runtime("service");
    let blocking = bench.blocking();
    let native = AsyncNetHsm::new(bench.client());
    let bridged = AsyncOverBlocking::new(bench.blocking());
    let measured = Measured::default();
    // Warm: 16 connections in each pool, the key cached.
    let warm: Vec<Vec<u8>> = (0..CALLERS as u32)
        .map(|i| i.to_be_bytes().to_vec())
        .collect();
    let warm: Vec<&[u8]> = warm.iter().map(Vec::as_slice).collect();
    for r in blocking.sign_many(&key, ALGORITHM, &warm) {
        r.unwrap();
    }
    service.block_on(async {
        for r in native.sign_many(&key, ALGORITHM, &warm).await {
            r.unwrap();
        }
        for r in bridged.sign_many(&key, ALGORITHM, &warm).await {
            r.unwrap();
        }
    });

    let mut group = c.benchmark_group("nethsm/async_vs_blocking");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(4));
    group.warm_up_time(Duration::from_millis(500));

    group.throughput(Throughput::Elements(1));
    // `callers` plain threads, each signing `iters` times.
    let threads = |case: &'static str, callers: u64| {
        let (blocking, key, measured) = (&blocking, &key, &measured);
        move |b: &mut criterion::Bencher<'_>| {
            b.iter_custom(|iters| {
                measured.sample(case, iters * callers, || {
                    let started = Instant::now();
                    std::thread::scope(|scope| {
                        for t in 0..callers {
                            let _ = scope.spawn(move || {
                                for i in 0..iters {
                                    let message = [t.to_be_bytes(), i.to_be_bytes()].concat();
                                    blocking.sign(key, ALGORITHM, &message).unwrap();
                                }
                            });
                        }
                    });
                    started.elapsed()
                })
            });
        }
    };
    group.bench_function("blocking/one_caller", threads("blocking/one_caller", 1));
    // `callers` tasks on the service's runtime, each signing `iters` times.
    let tasks = |hsm: Arc<dyn hsm_core::AsyncHsm>, case: &'static str, callers: u64| {
        let key = key.clone();
        let (service, measured) = (&service, &measured);
        move |b: &mut criterion::Bencher<'_>| {
            b.iter_custom(|iters| {
                measured.sample(case, iters * callers, || {
                    service.block_on(async {
                        let started = Instant::now();
                        let mut set = tokio::task::JoinSet::new();
                        for t in 0..callers {
                            let (hsm, key) = (Arc::clone(&hsm), key.clone());
                            let _ = set.spawn(async move {
                                for i in 0..iters {
                                    let message = [t.to_be_bytes(), i.to_be_bytes()].concat();
                                    hsm.sign(&key, ALGORITHM, &message).await.unwrap();
                                }
                            });
                        }
                        while let Some(done) = set.join_next().await {
                            done.unwrap();
                        }
                        started.elapsed()
                    })
                })
            });
        }
    };
    group.bench_function(
        "async/one_caller",
        tasks(Arc::new(native.clone()), "async/one_caller", 1),
    );
    group.bench_function(
        "async_over_blocking/one_caller",
        tasks(
            Arc::new(bridged.clone()),
            "async_over_blocking/one_caller",
            1,
        ),
    );

    group.throughput(Throughput::Elements(CALLERS));
    group.bench_function(
        "blocking/16_in_flight",
        threads("blocking/16_in_flight", CALLERS),
    );
    group.bench_function(
        "async/16_in_flight",
        tasks(Arc::new(native.clone()), "async/16_in_flight", CALLERS),
    );
    group.bench_function(
        "async_over_blocking/16_in_flight",
        tasks(
            Arc::new(bridged.clone()),
            "async_over_blocking/16_in_flight",
            CALLERS,
        ),
    );
    group.finish();

    eprintln!("\nper signature, and against the blocking path with the same callers:");
    for callers in ["one_caller", "16_in_flight"] {
        let Some(base) = measured.per_signature_us(&format!("blocking/{callers}")) else {
            continue;
        };
        for path in ["blocking", "async", "async_over_blocking"] {
            if let Some(us) = measured.per_signature_us(&format!("{path}/{callers}")) {
                eprintln!("{callers:>13} {path:>20}: {us:>8.1} us  {:.2}x", us / base);
            }
        }
    }
}

criterion_group!(benches, async_sign);
criterion_main!(benches);
