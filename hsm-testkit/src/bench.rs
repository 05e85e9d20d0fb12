//! The harness the backends' criterion benches share.
//!
//! - [`pipelining`]: `sign_many` with k requests in flight (k in [`KS`]) against a simulator
//!   with latency added to every answer, next to the bound k requests in flight over one round
//!   trip allow, k / RTT (the RTT measured in the same run: one caller, one signature at a
//!   time). Each batch holds [`BATCH_ROUNDS`] round trips per worker (32k messages) on a pool
//!   already holding k warm connections. At the end it prints each k's signatures/s, the
//!   bound, their ratio and the process's CPU time per signature (client and simulator
//!   together: they share the cores).
//! - [`Signers`], [`paired_ratio`] and [`print_old_new`]: long-lived signing threads, the
//!   median ratio of two ways measured in alternating rounds, and the summary of the two ways,
//!   for the blocking-path benches.
//! - [`runtime`]: the two-worker tokio runtime a bench's simulator or service runs on;
//!   [`process_cpu`]: the CPU time of the process; [`Measured`]: time, CPU time and signatures
//!   per case, for a summary after the criterion groups.

use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use hsm_core::{AsyncKeyStore, AsyncSigner, KeyId, KeySpec, KeyTemplate, SignAlgorithm, Signer};

/// The requests in flight [`pipelining`] measures.
pub const KS: [usize; 4] = [1, 4, 16, 64];

/// The round trips each of the k workers makes in one [`pipelining`] batch (32k messages: 2,048
/// at k = 64, a small zone's RRsets): long enough that the batch's start and end, not its
/// pipelining, no longer decide the rate. `HSM_BENCH_ROUNDS` overrides it.
pub const BATCH_ROUNDS: u32 = 32;

/// A key to sign with: its name in the bench, its spec and the algorithm.
pub type Case = (&'static str, KeySpec, SignAlgorithm);

/// A multi-thread tokio runtime of two workers named `name` (the machine's two cores).
#[must_use]
pub fn runtime(name: &str) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(name)
        .enable_all()
        .build()
        .expect("a bench runtime starts")
}

/// The CPU time this process has used (user and system, all threads), from /proc/self/stat
/// (in clock ticks of 10 ms); zero where there is no /proc.
#[must_use]
pub fn process_cpu() -> Duration {
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

/// Wall time, process CPU time and signatures measured per case, summed over criterion's
/// samples.
#[derive(Debug, Default)]
pub struct Measured {
    cases: Mutex<Vec<(String, Duration, Duration, u64)>>,
}

impl Measured {
    /// Adds one sample of `case`: `signatures` in `took`, costing `cpu`.
    pub fn record(&self, case: &str, took: Duration, cpu: Duration, signatures: u64) {
        let mut cases = self.cases.lock().unwrap_or_else(PoisonError::into_inner);
        match cases.iter_mut().find(|(c, ..)| c == case) {
            Some(entry) => {
                entry.1 += took;
                entry.2 += cpu;
                entry.3 += signatures;
            }
            None => cases.push((case.to_owned(), took, cpu, signatures)),
        }
    }

    /// Signatures per second of `case`, and CPU microseconds per signature.
    #[must_use]
    pub fn rate(&self, case: &str) -> Option<(f64, f64)> {
        let cases = self.cases.lock().unwrap_or_else(PoisonError::into_inner);
        let (_, took, cpu, n) = cases.iter().find(|(c, ..)| c == case)?;
        let n = *n as f64;
        Some((n / took.as_secs_f64(), cpu.as_secs_f64() * 1e6 / n))
    }

    /// Wall-time microseconds per signature of `case`.
    #[must_use]
    pub fn per_signature_us(&self, case: &str) -> Option<f64> {
        self.rate(case).map(|(per_second, _)| 1e6 / per_second)
    }

    /// Runs `sign` (which signs `signatures` times and returns the wall time it took) and
    /// records it as a sample of `case`, with the process's CPU time meanwhile.
    pub fn sample(&self, case: &str, signatures: u64, sign: impl FnOnce() -> Duration) -> Duration {
        let cpu = process_cpu();
        let took = sign();
        self.record(case, took, process_cpu().saturating_sub(cpu), signatures);
        took
    }
}

/// The pipelining bench of one device: for each of `cases`, a key generated through `admin`,
/// the RTT of one caller, then `sign_many` with k in flight for each k of [`KS`] through
/// `backend(k)` (a backend keeping k requests in flight), awaited on `service`, over a
/// simulator whose network is `network` (latency, most jitter: see [`network`]); criterion
/// groups `{device}/pipelining_{latency}ms/{case}`; prints the summary table at the end.
///
/// # Panics
/// When a key cannot be generated or a signature fails (a bench has no other way to say so).
pub fn pipelining<B: AsyncKeyStore + AsyncSigner>(
    c: &mut Criterion,
    device: &str,
    (latency, jitter): (Duration, Duration),
    cases: &[Case],
    service: &tokio::runtime::Runtime,
    admin: &B,
    backend: impl Fn(usize) -> B,
) {
    let measured = Measured::default();
    let rounds = batch_rounds();
    for &(name, spec, algorithm) in cases {
        let key: KeyId = format!("pipelined{name}").parse().expect("a key name");
        service
            .block_on(admin.generate_key(&KeyTemplate::new(key.clone(), spec)))
            .expect("the bench key is generated");
        let mut group = c.benchmark_group(format!(
            "{device}/pipelining_{}ms/{name}",
            latency.as_millis()
        ));
        group.sample_size(10);
        group.measurement_time(Duration::from_secs(3));
        group.warm_up_time(Duration::from_millis(500));

        // The round trip of one signature, one caller.
        let one = backend(1);
        let _ = service
            .block_on(one.sign(&key, algorithm, b"warm up"))
            .expect("a signature");
        group.throughput(Throughput::Elements(1));
        let rtt_case = format!("{name}/rtt");
        group.bench_function("rtt_one_caller", |b| {
            b.iter_custom(|iters| {
                measured.sample(&rtt_case, iters, || {
                    service.block_on(async {
                        let started = Instant::now();
                        for i in 0..iters {
                            let _ = one
                                .sign(&key, algorithm, &i.to_be_bytes())
                                .await
                                .expect("a signature");
                        }
                        started.elapsed()
                    })
                })
            });
        });

        for k in KS {
            let hsm = backend(k);
            let messages: Vec<Vec<u8>> = (0..rounds * k as u32)
                .map(|i| i.to_be_bytes().to_vec())
                .collect();
            let refs: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
            // Warm: k connections in the pool.
            let warm = refs.get(..k).unwrap_or_default();
            service.block_on(sign_all(&hsm, &key, algorithm, warm));
            let case = format!("{name}/k{k}");
            group.throughput(Throughput::Elements(refs.len() as u64));
            group.bench_function(format!("sign_many_k{k}"), |b| {
                b.iter_custom(|iters| {
                    measured.sample(&case, iters * refs.len() as u64, || {
                        service.block_on(async {
                            let started = Instant::now();
                            for _ in 0..iters {
                                sign_all(&hsm, &key, algorithm, &refs).await;
                            }
                            started.elapsed()
                        })
                    })
                });
            });
        }
        group.finish();
    }
    print_pipelining(&measured, (latency, jitter), cases);
}

/// The network a pipelining bench gives its simulator: `latency`, and up to `jitter` more drawn
/// for each request, or the jitter `HSM_BENCH_JITTER_US` sets (microseconds; `0` for a
/// perfectly regular network, in which the k requests that left together at the batch's start
/// arrive together round after round).
#[must_use]
pub fn network(latency: Duration, jitter: Duration) -> (Duration, Duration) {
    let jitter = std::env::var("HSM_BENCH_JITTER_US")
        .ok()
        .and_then(|j| j.parse().ok())
        .map_or(jitter, Duration::from_micros);
    (latency, jitter)
}

/// The round trips per worker in one [`pipelining`] batch: [`BATCH_ROUNDS`], or
/// `HSM_BENCH_ROUNDS` from the environment (to see how much a shorter batch loses to its start,
/// when all k requests leave at once, and its end, when fewer than k are left).
fn batch_rounds() -> u32 {
    std::env::var("HSM_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .filter(|&r| r > 0)
        .unwrap_or(BATCH_ROUNDS)
}

/// Signs every message of `messages` in one `sign_many`; panics on a failed signature.
async fn sign_all<B: AsyncSigner>(
    hsm: &B,
    key: &KeyId,
    algorithm: SignAlgorithm,
    messages: &[&[u8]],
) {
    for r in hsm.sign_many(key, algorithm, messages).await {
        let _ = r.expect("a signature");
    }
}

/// The summary of [`pipelining`]: per case, the RTT, then for each k the rate, the bound
/// k / RTT, their ratio and the CPU time per signature.
#[allow(clippy::print_stderr)]
fn print_pipelining(measured: &Measured, (latency, jitter): (Duration, Duration), cases: &[Case]) {
    for (name, _, _) in cases {
        let Some((per_second, rtt_cpu)) = measured.rate(&format!("{name}/rtt")) else {
            continue;
        };
        let rtt_ms = 1000.0 / per_second;
        eprintln!(
            "\n{name} at {latency:?} added latency (jitter up to {jitter:?}): RTT (one caller) {rtt_ms:.2} ms, {rtt_cpu:.0} us CPU per signature"
        );
        eprintln!(
            "{:>4} {:>10} {:>10} {:>7} {:>16}",
            "k", "sig/s", "k/RTT", "ratio", "CPU us/signature"
        );
        for k in KS {
            if let Some((rate, cpu)) = measured.rate(&format!("{name}/k{k}")) {
                let bound = k as f64 * per_second;
                eprintln!(
                    "{k:>4} {rate:>10.0} {bound:>10.0} {:>6.1}% {cpu:>16.0}",
                    100.0 * rate / bound
                );
            }
        }
    }
}

/// The blocking-path bench of one device: two blocking backends of the same device, the `old`
/// and the `new` way (e.g. without and with thread lanes), signing with `key` from plain
/// threads: criterion group `{group}` with, for each way, `{way}/one_thread` (this thread,
/// one signature after another) and `{way}/{threads}_threads` (long-lived [`Signers`], so each
/// keeps what it holds from one sample to the next); then 15 paired rounds ([`paired_ratio`])
/// and the summary ([`print_old_new`]).
///
/// # Panics
/// When a signature fails.
pub fn blocking_paths<S: Signer + Send + Sync + 'static>(
    c: &mut Criterion,
    group: &str,
    [(old, old_hsm), (new, new_hsm)]: [(&str, &Arc<S>); 2],
    (key, algorithm): (&KeyId, SignAlgorithm),
    threads: usize,
) {
    const ROUNDS: usize = 15;
    let sign_here = |hsm: &S, iters: u64| {
        let started = Instant::now();
        for i in 0..iters {
            let _ = hsm
                .sign(key, algorithm, &i.to_be_bytes())
                .expect("a signature");
        }
        started.elapsed()
    };
    let ways = [(old, old_hsm), (new, new_hsm)].map(|(name, hsm)| {
        // Warm: the key resolved, this thread's connection (or lane), each signer's.
        let _ = sign_here(hsm, 1);
        let signers = Signers::start(hsm, key, algorithm, threads);
        let _ = signers.round(4);
        (name, hsm, signers)
    });

    let measured = Measured::default();
    let mut bench_group = c.benchmark_group(group);
    bench_group.sample_size(20);
    for (name, hsm, signers) in &ways {
        let case = format!("{name}/one_thread");
        bench_group.throughput(Throughput::Elements(1));
        bench_group.bench_function(&case, |b| {
            b.iter_custom(|iters| measured.sample(&case, iters, || sign_here(hsm, iters)));
        });
        let case = format!("{name}/{threads}_threads");
        bench_group.throughput(Throughput::Elements(threads as u64));
        bench_group.bench_function(&case, |b| {
            b.iter_custom(|iters| {
                measured.sample(&case, iters * threads as u64, || signers.round(iters))
            });
        });
    }
    bench_group.finish();

    let [(_, _, old_signers), (_, _, new_signers)] = &ways;
    let one_thread = paired_ratio(
        ROUNDS,
        || sign_here(old_hsm, 200),
        || sign_here(new_hsm, 200),
    );
    let many = paired_ratio(ROUNDS, || old_signers.round(50), || new_signers.round(50));
    let rows = [
        ("one_thread".to_owned(), one_thread),
        (format!("{threads}_threads"), many),
    ];
    let rows: Vec<(&str, f64)> = rows.iter().map(|(r, x)| (r.as_str(), *x)).collect();
    print_old_new(&measured, (old, new), &rows, ROUNDS);
    for (_, _, signers) in ways {
        signers.stop();
    }
}

/// The summary of a bench that compares an `old` and a `new` way (e.g. `shared` and `lanes`):
/// for each row of `paired` (e.g. `one_thread`), the wall time per signature of each way as
/// `measured` holds it (cases `{old}/{row}` and `{new}/{row}`) and old/new, then the median
/// old/new of `rounds` paired rounds ([`paired_ratio`]); above 1, the new way is faster.
#[allow(clippy::print_stderr)]
pub fn print_old_new(
    measured: &Measured,
    (old, new): (&str, &str),
    paired: &[(&str, f64)],
    rounds: usize,
) {
    eprintln!("\nper signature (several threads: wall time / signatures), and old/new:");
    for (row, ratio) in paired {
        let times = (
            measured.per_signature_us(&format!("{old}/{row}")),
            measured.per_signature_us(&format!("{new}/{row}")),
        );
        if let (Some(o), Some(n)) = times {
            eprintln!(
                "{row:>11}: {old} {o:>8.1} us  {new} {n:>8.1} us  old/new {:.2}x",
                o / n
            );
        }
        eprintln!("{row:>11}: paired rounds, median of {rounds}: old/new {ratio:.2}x");
    }
}

/// Long-lived signing threads over one blocking backend: each round, every thread signs
/// `iters` times; the round's time is from the start signal to the last thread's end. Long-lived,
/// so that a thread keeps what it holds (a thread lane, a connection) from one round to the
/// next.
#[derive(Debug)]
pub struct Signers {
    starts: Vec<mpsc::Sender<u64>>,
    done: mpsc::Receiver<()>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Signers {
    /// Starts `threads` threads that sign with `key` and `algorithm` through `hsm`.
    pub fn start<S: Signer + Send + Sync + ?Sized + 'static>(
        hsm: &Arc<S>,
        key: &KeyId,
        algorithm: SignAlgorithm,
        threads: usize,
    ) -> Self {
        let (done_tx, done) = mpsc::channel();
        let mut starts = Vec::new();
        let mut handles = Vec::new();
        for t in 0..threads as u64 {
            let (start_tx, start) = mpsc::channel::<u64>();
            let (hsm, key, done_tx) = (Arc::clone(hsm), key.clone(), done_tx.clone());
            handles.push(std::thread::spawn(move || {
                while let Ok(iters) = start.recv() {
                    for i in 0..iters {
                        let message = [t.to_be_bytes(), i.to_be_bytes()].concat();
                        let _ = hsm.sign(&key, algorithm, &message).expect("a signature");
                    }
                    done_tx.send(()).expect("the bench waits");
                }
            }));
            starts.push(start_tx);
        }
        Self {
            starts,
            done,
            threads: handles,
        }
    }

    /// How many threads sign.
    #[must_use]
    pub fn threads(&self) -> usize {
        self.starts.len()
    }

    /// One round: every thread signs `iters` times; the wall time until the last is done.
    #[must_use]
    pub fn round(&self, iters: u64) -> Duration {
        let started = Instant::now();
        for start in &self.starts {
            start.send(iters).expect("a signing thread runs");
        }
        for _ in 0..self.starts.len() {
            self.done
                .recv()
                .expect("a signing thread finishes its round");
        }
        started.elapsed()
    }

    /// Stops the threads and waits for them.
    pub fn stop(self) {
        drop(self.starts);
        for t in self.threads {
            t.join().expect("a signing thread ends");
        }
    }
}

/// Runs `first` and `second` once each, `first` first in an even `round` and `second` first in
/// an odd one (so that neither always runs on a warmer or a busier machine); their times.
pub fn in_turn(
    round: usize,
    mut first: impl FnMut() -> Duration,
    mut second: impl FnMut() -> Duration,
) -> (Duration, Duration) {
    if round.is_multiple_of(2) {
        let a = first();
        (a, second())
    } else {
        let b = second();
        (first(), b)
    }
}

/// Two ways of doing the same work in `rounds` alternating rounds (which one goes first
/// alternates too), so that load from other processes on a shared machine falls on both alike:
/// the median over the rounds of `old` time / `new` time (above 1: the new way is faster).
pub fn paired_ratio(
    rounds: usize,
    mut old: impl FnMut() -> Duration,
    mut new: impl FnMut() -> Duration,
) -> f64 {
    let mut ratios: Vec<f64> = (0..rounds)
        .map(|round| {
            let (old, new) = in_turn(round, &mut old, &mut new);
            old.as_secs_f64() / new.as_secs_f64()
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    ratios.get(ratios.len() / 2).copied().unwrap_or(f64::NAN)
}
