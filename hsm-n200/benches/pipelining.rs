//! Pipelining on the N200: `AsyncN200::sign_many` with k requests in flight against the
//! in-process N200 simulator with 10 ms added to every answer, next to the bound k requests in
//! flight allow (k / RTT, the RTT measured in the same run with one caller). Each batch is 8k
//! messages on a pool already holding k warm connections. Prints a table after the run.
//!
//! `cargo bench -p hsm-n200 --features sim --bench pipelining`
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
use hsm_n200::AsyncN200;
use hsm_n200::sim::{SimConfig, Simulator};

const LATENCY: Duration = Duration::from_millis(10);
const CASES: [(&str, KeySpec, SignAlgorithm); 1] =
    [("p256", KeySpec::Ec(Curve::P256), SignAlgorithm::EcdsaSha256)];
const KS: [usize; 4] = [1, 4, 16, 64];

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
    let mut config = SimConfig::random_credentials();
    config.latency = LATENCY;
    let sim = Simulator::start(config).unwrap();
    let service = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let backend = |k: usize| {
        let client = sim
            .client_builder()
            .unwrap()
            .max_in_flight(k)
            .build()
            .unwrap();
        AsyncN200::new(client, sim.key_pin(), "FFFF")
    };
    for (name, spec, algorithm) in CASES {
        let key: KeyId = format!("pipelined{name}").parse().unwrap();
        let admin = backend(1);
        service.block_on(async {
            admin
                .generate_key(&KeyTemplate::new(key.clone(), spec))
                .await
                .unwrap();
        });
        let mut group = c.benchmark_group(format!("n200/pipelining_10ms/{name}"));
        group.sample_size(10);
        group.measurement_time(Duration::from_secs(3));
        group.warm_up_time(Duration::from_millis(500));

        let one = backend(1);
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
            let hsm = backend(k);
            let messages: Vec<Vec<u8>> = (0..8 * k as u32)
                .map(|i| i.to_be_bytes().to_vec())
                .collect();
            let refs: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
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
