//! Signatures in flight through a module with a network HSM's latency: 16 caller threads sign
//! P-256 through `tests/latency/module.c` (a PKCS#11 module that forwards to SoftHSM2 and waits
//! 10 ms in `C_Sign`, like one request to a network HSM), with the pool capped at 2 sessions
//! (what the CPU count gave before on this 2-core machine) against the default pool (grows to
//! the callers). The same pair runs on SoftHSM2 directly (no latency: CPU-bound).
//!
//! Each iteration signs one batch each way (alternating which goes first), so load on the
//! machine falls on both alike; at the end each group prints signatures per second for both and
//! the median over the pairs of capped time / default time.
//!
//! ```sh
//! cargo bench -p hsm-pkcs11 --features sim --bench pool_latency
//! cargo test -p hsm-pkcs11 --all-features --bench pool_latency   # each batch once
//! ```
#![allow(missing_docs, unsafe_code, clippy::expect_used, clippy::print_stderr)]

#[path = "../tests/common/latency.rs"]
#[allow(dead_code, unreachable_pub)]
mod latency;

use std::cell::RefCell;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hsm_core::{Curve, KeyId, KeySpec, KeyStore as _, KeyTemplate, SignAlgorithm, Signer as _};
use hsm_pkcs11::{Options, Pkcs11Hsm, sim};

const CALLERS: usize = 16;
/// Signatures per caller per batch.
const PER_CALLER: usize = 4;
const LATENCY_MS: u32 = 10;
/// The pool size the CPU count gave before, on the 2-core machine the figures come from.
const OLD_CAP: usize = 2;

/// `CALLERS` threads released together, each signing `PER_CALLER` times; the batch's time.
fn batch(hsm: &Pkcs11Hsm, key: &KeyId) -> Duration {
    let start = Barrier::new(CALLERS + 1);
    std::thread::scope(|s| {
        for t in 0..CALLERS {
            let start = &start;
            s.spawn(move || {
                start.wait();
                for i in 0..PER_CALLER {
                    let msg = [t as u8, i as u8];
                    hsm.sign(key, SignAlgorithm::EcdsaSha256, &msg)
                        .expect("sign");
                }
            });
        }
        start.wait();
        let began = Instant::now();
        // The scope joins every caller before it returns.
        began
    })
    .elapsed()
}

fn pair(c: &mut Criterion, name: &str, capped: &Pkcs11Hsm, grown: &Pkcs11Hsm, key: &KeyId) {
    // (capped, default) times of every pair.
    let times = RefCell::new(Vec::new());
    let run = |iters: u64, want_grown: bool| {
        let mut total = Duration::ZERO;
        let mut times = times.borrow_mut();
        for i in 0..iters {
            let (a, b) = if i % 2 == 0 {
                let a = batch(capped, key);
                (a, batch(grown, key))
            } else {
                let b = batch(grown, key);
                (batch(capped, key), b)
            };
            times.push((a, b));
            total += if want_grown { b } else { a };
        }
        total
    };
    let mut group = c.benchmark_group(format!("pkcs11/{name}/16 callers"));
    group.throughput(Throughput::Elements((CALLERS * PER_CALLER) as u64));
    group.sample_size(10);
    group.bench_function(format!("pool of {OLD_CAP}"), |b| {
        b.iter_custom(|iters| run(iters, false));
    });
    group.bench_function("pool grown to the callers", |b| {
        b.iter_custom(|iters| run(iters, true));
    });
    group.finish();
    let times = times.into_inner();
    let per_sec = |sum: Duration| (times.len() * CALLERS * PER_CALLER) as f64 / sum.as_secs_f64();
    let capped_rate = per_sec(times.iter().map(|t| t.0).sum());
    let grown_rate = per_sec(times.iter().map(|t| t.1).sum());
    let mut ratios: Vec<f64> = times
        .iter()
        .map(|(a, b)| a.as_secs_f64() / b.as_secs_f64())
        .collect();
    ratios.sort_by(f64::total_cmp);
    eprintln!(
        "pkcs11/{name}: pool of {OLD_CAP}: {capped_rate:.0} sig/s (peak in flight {}); grown: \
         {grown_rate:.0} sig/s (peak in flight {}); speed-up, median of {} pairs: {:.2}",
        capped.pool_peak_in_use(),
        grown.pool_peak_in_use(),
        ratios.len(),
        ratios.get(ratios.len() / 2).copied().unwrap_or(f64::NAN),
    );
}

fn pool(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let conf = sim::write_config(dir.path()).expect("softhsm2.conf");
    // SAFETY: runs first, before any other thread exists and before SoftHSM2 is loaded.
    unsafe { std::env::set_var("SOFTHSM2_CONF", conf) };
    if let Err(why) = latency::available() {
        assert!(std::env::var_os("CI").is_none(), "under CI: {why}");
        eprintln!("SKIPPED: cannot build the latency module: {why}");
        return;
    }
    let token = Pkcs11Hsm::open("pkcs11+sim:").expect("SoftHSM2 token");
    let key = KeyId::name("bench-pool").expect("name");
    token
        .generate_key(&KeyTemplate::new(key.clone(), KeySpec::Ec(Curve::P256)))
        .expect("key");
    let label = token.token_info().expect("token info").label;
    let module = latency::build(dir.path(), sim::SOFTHSM2_MODULE, LATENCY_MS);
    let open = |module: &str, options: Options| {
        Pkcs11Hsm::open_with(
            &format!(
                "pkcs11:token={label}?module-path={module}&pin-value={}",
                sim::USER_PIN
            ),
            options,
        )
        .expect("backend")
    };
    let old = Options::default().with_max_sessions(OLD_CAP);
    let module = module.to_str().expect("UTF-8 path");
    pair(
        c,
        &format!("latency {LATENCY_MS} ms"),
        &open(module, old),
        &open(module, Options::default()),
        &key,
    );
    pair(
        c,
        "SoftHSM2 (no latency)",
        &open(sim::SOFTHSM2_MODULE, old),
        &open(sim::SOFTHSM2_MODULE, Options::default()),
        &key,
    );
}

criterion_group!(benches, pool);
criterion_main!(benches);
