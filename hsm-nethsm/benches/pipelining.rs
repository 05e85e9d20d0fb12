//! Pipelining: `sign_many` with k requests in flight (k = 1, 4, 16, 64) against the simulator
//! with 10 ms added to every answer (a network), next to the bound that k requests in flight
//! over one round trip allow, k / RTT. The RTT is measured in the same run: one caller, one
//! signature at a time.
//!
//! The simulator runs on a runtime of its own (like a device elsewhere); the client is an
//! `AsyncNetHsm` awaited on a service's runtime, with `max_in_flight = k`. Each batch holds 8k
//! messages (8 round trips), on a pool already holding k warm connections. At the end the
//! bench prints each k's signatures/s, the bound, their ratio and the process's CPU time per
//! signature (client and simulator together: they share this machine's cores).
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr,
    clippy::indexing_slicing,
    clippy::cast_precision_loss
)]

use std::sync::Mutex;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hsm_core::{Curve, KeyId, KeySpec, KeyTemplate, SignAlgorithm};
use hsm_nethsm::sim::{ADMIN_PASSPHRASE, OPERATOR_PASSPHRASE, SimConfig, Simulator};
use hsm_nethsm::{AsyncNetHsm, Credentials, NetHsmClient};
use secrecy::SecretString;

const LATENCY: Duration = Duration::from_millis(10);
/// P-256 ECDSA (what `nethsm_compare` signs with), and Ed25519, whose signing costs the
/// simulator far less CPU: the two show how much of the gap to k/RTT is the simulator's own
/// cryptography on the client's cores.
const CASES: [(&str, KeySpec, SignAlgorithm); 2] = [
    ("p256", KeySpec::Ec(Curve::P256), SignAlgorithm::EcdsaSha256),
    ("ed25519", KeySpec::Ed25519, SignAlgorithm::Ed25519),
];
const KS: [usize; 4] = [1, 4, 16, 64];

/// Wall time, process CPU time (client and simulator) and signatures measured per case, for
/// the summary.
static MEASURED: Mutex<Vec<(String, Duration, Duration, u64)>> = Mutex::new(Vec::new());

fn record(case: &str, took: Duration, cpu: Duration, signatures: u64) {
    let mut measured = MEASURED.lock().unwrap();
    match measured.iter_mut().find(|(c, ..)| c == case) {
        Some(entry) => {
            entry.1 += took;
            entry.2 += cpu;
            entry.3 += signatures;
        }
        None => measured.push((case.to_owned(), took, cpu, signatures)),
    }
}

/// Signatures per second of `case`, and CPU microseconds per signature.
fn rate(case: &str) -> Option<(f64, f64)> {
    let measured = MEASURED.lock().unwrap();
    let (_, took, cpu, n) = measured.iter().find(|(c, ..)| c == case)?;
    let n = *n as f64;
    Some((n / took.as_secs_f64(), cpu.as_secs_f64() * 1e6 / n))
}

/// The CPU time this process has used (user and system, all threads), from /proc/self/stat
/// (in clock ticks of 10 ms).
fn process_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit(')').next().unwrap_or_default();
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|f| f.parse::<u64>().ok()))
        .sum();
    Duration::from_millis(ticks * 10)
}

fn pipelining(c: &mut Criterion) {
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("sim")
        .enable_all()
        .build()
        .unwrap();
    let config = SimConfig {
        latency: LATENCY,
        ..SimConfig::default()
    };
    let sim = Simulator::start(config, server.handle()).unwrap();
    let service = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let client = |max_idle: usize| {
        NetHsmClient::builder("127.0.0.1", sim.addr().port())
            .credentials(Credentials::new(
                "operator",
                SecretString::from(OPERATOR_PASSPHRASE),
            ))
            .tls(sim.tls_options())
            .max_idle_connections(max_idle)
            .build()
            .unwrap()
    };
    let admin = AsyncNetHsm::new(client(64)).with_admin(Credentials::new(
        "admin",
        SecretString::from(ADMIN_PASSPHRASE),
    ));
    for (name, spec, algorithm) in CASES {
        let key: KeyId = format!("pipelined{name}").parse().unwrap();
        service.block_on(async {
            admin
                .generate_key(&KeyTemplate::new(key.clone(), spec))
                .await
                .unwrap();
        });
        let mut group = c.benchmark_group(format!("nethsm/pipelining_10ms/{name}"));
        group.sample_size(10);
        group.measurement_time(Duration::from_secs(3));
        group.warm_up_time(Duration::from_millis(500));

        // The round trip of one signature, one caller.
        let one = AsyncNetHsm::new(client(64));
        service.block_on(async { one.sign(&key, algorithm, b"warm up").await.unwrap() });
        group.throughput(Throughput::Elements(1));
        let rtt_case = format!("{name}/rtt");
        group.bench_function("rtt_one_caller", |b| {
            b.iter_custom(|iters| {
                let cpu = process_cpu();
                let took = service.block_on(async {
                    let started = Instant::now();
                    for i in 0..iters {
                        one.sign(&key, algorithm, &i.to_be_bytes()).await.unwrap();
                    }
                    started.elapsed()
                });
                record(&rtt_case, took, process_cpu() - cpu, iters);
                took
            });
        });

        for k in KS {
            let hsm = AsyncNetHsm::new(client(k)).with_max_in_flight(k);
            let messages: Vec<Vec<u8>> = (0..8 * k as u32)
                .map(|i| i.to_be_bytes().to_vec())
                .collect();
            let refs: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
            // Warm: k connections in the pool.
            service.block_on(async {
                for r in hsm.sign_many(&key, algorithm, &refs[..k]).await {
                    r.unwrap();
                }
            });
            let case = format!("{name}/k{k}");
            group.throughput(Throughput::Elements(refs.len() as u64));
            group.bench_function(format!("sign_many_k{k}"), |b| {
                b.iter_custom(|iters| {
                    let cpu = process_cpu();
                    let took = service.block_on(async {
                        let started = Instant::now();
                        for _ in 0..iters {
                            for r in hsm.sign_many(&key, algorithm, &refs).await {
                                r.unwrap();
                            }
                        }
                        started.elapsed()
                    });
                    record(&case, took, process_cpu() - cpu, iters * refs.len() as u64);
                    took
                });
            });
        }
        group.finish();
    }

    for (name, _, _) in CASES {
        let Some((per_second, rtt_cpu)) = rate(&format!("{name}/rtt")) else {
            continue;
        };
        let rtt_ms = 1000.0 / per_second;
        eprintln!(
            "\n{name} at {LATENCY:?} added latency: RTT (one caller) {rtt_ms:.2} ms, {rtt_cpu:.0} us CPU per signature"
        );
        eprintln!(
            "{:>4} {:>10} {:>10} {:>7} {:>16}",
            "k", "sig/s", "k/RTT", "ratio", "CPU us/signature"
        );
        for k in KS {
            if let Some((measured, cpu)) = rate(&format!("{name}/k{k}")) {
                let bound = k as f64 * per_second;
                eprintln!(
                    "{k:>4} {measured:>10.0} {bound:>10.0} {:>6.1}% {cpu:>16.0}",
                    100.0 * measured / bound
                );
            }
        }
    }
}

criterion_group!(benches, pipelining);
criterion_main!(benches);
