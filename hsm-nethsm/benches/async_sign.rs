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
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr,
    clippy::indexing_slicing,
    clippy::cast_precision_loss
)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hsm_core::asynchronous::AsyncOverBlocking;
use hsm_core::{
    AsyncSigner as _, Curve, KeyId, KeySpec, KeyStore as _, KeyTemplate, SignAlgorithm, Signer as _,
};
use hsm_nethsm::sim::{ADMIN_PASSPHRASE, OPERATOR_PASSPHRASE, SimConfig, Simulator};
use hsm_nethsm::{AsyncNetHsm, Credentials, NetHsm, NetHsmClient};
use secrecy::SecretString;

const ALGORITHM: SignAlgorithm = SignAlgorithm::EcdsaSha256;
const CALLERS: u64 = 16;

/// Time and signatures measured per case, for the summary.
static MEASURED: Mutex<Vec<(String, Duration, u64)>> = Mutex::new(Vec::new());

fn record(case: &str, took: Duration, signatures: u64) {
    let mut measured = MEASURED.lock().unwrap();
    match measured.iter_mut().find(|(c, _, _)| c == case) {
        Some(entry) => {
            entry.1 += took;
            entry.2 += signatures;
        }
        None => measured.push((case.to_owned(), took, signatures)),
    }
}

/// Microseconds per signature of `case`.
fn per_signature(case: &str) -> Option<f64> {
    let measured = MEASURED.lock().unwrap();
    let (_, took, n) = measured.iter().find(|(c, _, _)| c == case)?;
    Some(took.as_secs_f64() * 1e6 / *n as f64)
}

fn async_sign(c: &mut Criterion) {
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("sim")
        .enable_all()
        .build()
        .unwrap();
    let sim = Simulator::start(SimConfig::default(), server.handle()).unwrap();
    let client = || {
        NetHsmClient::builder("127.0.0.1", sim.addr().port())
            .credentials(Credentials::new(
                "operator",
                SecretString::from(OPERATOR_PASSPHRASE),
            ))
            .tls(sim.tls_options())
            .build()
            .unwrap()
    };
    let service = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let key: KeyId = "asyncbench".parse().unwrap();
    let blocking = Arc::new(NetHsm::new(client()).unwrap().with_admin(Credentials::new(
        "admin",
        SecretString::from(ADMIN_PASSPHRASE),
    )));
    blocking
        .generate_key(&KeyTemplate::new(key.clone(), KeySpec::Ec(Curve::P256)))
        .unwrap();
    let native = AsyncNetHsm::new(client());
    let bridged = AsyncOverBlocking::new(Arc::new(NetHsm::new(client()).unwrap()));
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
    group.bench_function("blocking/one_caller", |b| {
        b.iter_custom(|iters| {
            let started = Instant::now();
            for i in 0..iters {
                blocking.sign(&key, ALGORITHM, &i.to_be_bytes()).unwrap();
            }
            let took = started.elapsed();
            record("blocking/one_caller", took, iters);
            took
        });
    });
    let one_task = |hsm: Arc<dyn hsm_core::AsyncHsm>, case: &'static str| {
        let key = key.clone();
        let service = &service;
        move |b: &mut criterion::Bencher<'_>| {
            b.iter_custom(|iters| {
                let hsm = Arc::clone(&hsm);
                let key = key.clone();
                let task = service.spawn(async move {
                    let started = Instant::now();
                    for i in 0..iters {
                        hsm.sign(&key, ALGORITHM, &i.to_be_bytes()).await.unwrap();
                    }
                    started.elapsed()
                });
                let took = service.block_on(task).unwrap();
                record(case, took, iters);
                took
            });
        }
    };
    group.bench_function(
        "async/one_caller",
        one_task(Arc::new(native.clone()), "async/one_caller"),
    );
    group.bench_function(
        "async_over_blocking/one_caller",
        one_task(Arc::new(bridged.clone()), "async_over_blocking/one_caller"),
    );

    group.throughput(Throughput::Elements(CALLERS));
    group.bench_function("blocking/16_in_flight", |b| {
        b.iter_custom(|iters| {
            let started = Instant::now();
            std::thread::scope(|scope| {
                for t in 0..CALLERS {
                    let (blocking, key) = (&blocking, &key);
                    let _ = scope.spawn(move || {
                        for i in 0..iters {
                            blocking
                                .sign(key, ALGORITHM, &[t.to_be_bytes(), i.to_be_bytes()].concat())
                                .unwrap();
                        }
                    });
                }
            });
            let took = started.elapsed();
            record("blocking/16_in_flight", took, iters * CALLERS);
            took
        });
    });
    let tasks = |hsm: Arc<dyn hsm_core::AsyncHsm>, case: &'static str| {
        let key = key.clone();
        let service = &service;
        move |b: &mut criterion::Bencher<'_>| {
            b.iter_custom(|iters| {
                let took = service.block_on(async {
                    let started = Instant::now();
                    let mut set = tokio::task::JoinSet::new();
                    for t in 0..CALLERS {
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
                });
                record(case, took, iters * CALLERS);
                took
            });
        }
    };
    group.bench_function(
        "async/16_in_flight",
        tasks(Arc::new(native.clone()), "async/16_in_flight"),
    );
    group.bench_function(
        "async_over_blocking/16_in_flight",
        tasks(
            Arc::new(bridged.clone()),
            "async_over_blocking/16_in_flight",
        ),
    );
    group.finish();

    eprintln!("\nper signature, and against the blocking path with the same callers:");
    for callers in ["one_caller", "16_in_flight"] {
        let Some(base) = per_signature(&format!("blocking/{callers}")) else {
            continue;
        };
        for path in ["blocking", "async", "async_over_blocking"] {
            if let Some(us) = per_signature(&format!("{path}/{callers}")) {
                eprintln!("{callers:>13} {path:>20}: {us:>8.1} us  {:.2}x", us / base);
            }
        }
    }
}

criterion_group!(benches, async_sign);
criterion_main!(benches);
