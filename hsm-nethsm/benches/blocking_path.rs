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
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr,
    clippy::indexing_slicing,
    clippy::cast_precision_loss
)]

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hsm_core::runtime::DEFAULT_MAX_THREAD_LANES;
use hsm_core::{Curve, KeyId, KeySpec, KeyStore as _, KeyTemplate, SignAlgorithm, Signer as _};
use hsm_nethsm::sim::{ADMIN_PASSPHRASE, OPERATOR_PASSPHRASE, SimConfig, Simulator};
use hsm_nethsm::{Credentials, NetHsm, NetHsmClient};
use secrecy::SecretString;

const ALGORITHM: SignAlgorithm = SignAlgorithm::EcdsaSha256;
const THREADS: usize = 8;

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

/// Long-lived signing threads: each round, every thread signs `iters` times; the round's time
/// is from the start signal to the last thread's end.
struct Signers {
    starts: Vec<mpsc::Sender<u64>>,
    done: mpsc::Receiver<()>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Signers {
    fn start(hsm: &Arc<NetHsm>, key: &KeyId) -> Self {
        let (done_tx, done) = mpsc::channel();
        let mut starts = Vec::new();
        let mut threads = Vec::new();
        for t in 0..THREADS as u64 {
            let (start_tx, start) = mpsc::channel::<u64>();
            let (hsm, key, done_tx) = (Arc::clone(hsm), key.clone(), done_tx.clone());
            threads.push(std::thread::spawn(move || {
                while let Ok(iters) = start.recv() {
                    for i in 0..iters {
                        let message = [t.to_be_bytes(), i.to_be_bytes()].concat();
                        hsm.sign(&key, ALGORITHM, &message).unwrap();
                    }
                    done_tx.send(()).unwrap();
                }
            }));
            starts.push(start_tx);
        }
        Self {
            starts,
            done,
            threads,
        }
    }

    fn round(&self, iters: u64) -> Duration {
        let started = Instant::now();
        for start in &self.starts {
            start.send(iters).unwrap();
        }
        for _ in 0..THREADS {
            self.done.recv().unwrap();
        }
        started.elapsed()
    }

    fn stop(self) {
        drop(self.starts);
        for t in self.threads {
            t.join().unwrap();
        }
    }
}

fn blocking_path(c: &mut Criterion) {
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("sim")
        .enable_all()
        .build()
        .unwrap();
    let sim = Simulator::start(SimConfig::default(), server.handle()).unwrap();
    let (port, tls) = (sim.addr().port(), sim.tls_options());
    let client = move || {
        NetHsmClient::builder("127.0.0.1", port)
            .credentials(Credentials::new(
                "operator",
                SecretString::from(OPERATOR_PASSPHRASE),
            ))
            .tls(tls.clone())
            .build()
    };
    let key: KeyId = "blockingpath".parse().unwrap();
    let shared = Arc::new(
        NetHsm::new(client().unwrap())
            .unwrap()
            .with_admin(Credentials::new(
                "admin",
                SecretString::from(ADMIN_PASSPHRASE),
            )),
    );
    shared
        .generate_key(&KeyTemplate::new(key.clone(), KeySpec::Ec(Curve::P256)))
        .unwrap();
    let lanes = Arc::new(
        NetHsm::new(client().unwrap())
            .unwrap()
            .with_thread_clients(DEFAULT_MAX_THREAD_LANES, client),
    );
    let paths = [("shared", &shared), ("lanes", &lanes)];
    let mut signers = Vec::new();
    for (name, hsm) in paths {
        // Warm: the key cached, the main thread's connection (or lane), each signer's.
        hsm.sign(&key, ALGORITHM, b"warm").unwrap();
        let workers = Signers::start(hsm, &key);
        let _ = workers.round(4);
        signers.push((name, workers));
    }

    let mut group = c.benchmark_group("nethsm/blocking_path");
    group.sample_size(20);

    group.throughput(Throughput::Elements(1));
    for (name, hsm) in paths {
        let case = format!("{name}/one_thread");
        group.bench_function(&case, |b| {
            b.iter_custom(|iters| {
                let started = Instant::now();
                for i in 0..iters {
                    hsm.sign(&key, ALGORITHM, &i.to_be_bytes()).unwrap();
                }
                let took = started.elapsed();
                record(&case, took, iters);
                took
            });
        });
    }
    group.throughput(Throughput::Elements(THREADS as u64));
    for (name, workers) in &signers {
        let case = format!("{name}/{THREADS}_threads");
        group.bench_function(&case, |b| {
            b.iter_custom(|iters| {
                let took = workers.round(iters);
                record(&case, took, iters * THREADS as u64);
                took
            });
        });
    }
    group.finish();
    let paired_ratios = paired(&shared, &lanes, &signers, &key);
    for (_, workers) in signers {
        workers.stop();
    }

    eprintln!("\nper signature (8 threads: wall time / signatures), and old/new:");
    for threads in ["one_thread", "8_threads"] {
        let old = per_signature(&format!("shared/{threads}"));
        let new = per_signature(&format!("lanes/{threads}"));
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

/// Rounds of the paired comparison.
const ROUNDS: usize = 15;

/// The two ways in alternating rounds (which one goes first alternates too), so that load from
/// other processes on a shared machine falls on both alike: for one thread and for 8, the
/// median over the rounds of old time / new time.
fn paired(
    shared: &NetHsm,
    lanes: &NetHsm,
    signers: &[(&str, Signers)],
    key: &KeyId,
) -> [(&'static str, f64); 2] {
    let one = |hsm: &NetHsm| {
        let started = Instant::now();
        for i in 0..200u32 {
            hsm.sign(key, ALGORITHM, &i.to_be_bytes()).unwrap();
        }
        started.elapsed()
    };
    let mut one_thread = Vec::with_capacity(ROUNDS);
    let mut eight = Vec::with_capacity(ROUNDS);
    for round in 0..ROUNDS {
        let (old, new) = if round % 2 == 0 {
            let old = one(shared);
            (old, one(lanes))
        } else {
            let new = one(lanes);
            (one(shared), new)
        };
        one_thread.push(old.as_secs_f64() / new.as_secs_f64());
        let (old, new) = if round % 2 == 0 {
            let old = signers[0].1.round(50);
            (old, signers[1].1.round(50))
        } else {
            let new = signers[1].1.round(50);
            (signers[0].1.round(50), new)
        };
        eight.push(old.as_secs_f64() / new.as_secs_f64());
    }
    [
        ("one_thread", median(one_thread)),
        ("8_threads", median(eight)),
    ]
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

criterion_group!(benches, blocking_path);
criterion_main!(benches);
