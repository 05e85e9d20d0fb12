//! What the PKCS#11 layer costs: P-256 ECDSA-SHA256 signatures on the same NetHSM simulator
//! (`nethsm-sim` as a separate process on loopback, zero added latency, one key), through the
//! module (`libhsm_p11.so` loaded by `cryptoki`, `C_Sign` with `CKM_ECDSA_SHA256`) and through the
//! Rust API directly (`hsm::open` of the same URI, `Signer::sign` with `EcdsaSha256`):
//!
//! - `one_thread`: one session (module) / the caller's thread (direct), one signature at a time;
//! - `eight_threads`: 8 threads, each with its own session (module) / sharing the one backend
//!   (direct), signing at once; throughput in signatures.
//!
//! With `NETHSM_PKCS11_MODULE=/path/to/libnethsm_pkcs11.so` set, Nitrokey's own module for the
//! NetHSM (built from its public source; not part of this project) runs the same two groups
//! against the same simulator and key, as `nitrokey`: the side-by-side comparison in one run.
//!
//! `cargo bench -p hsm-p11 --bench overhead` (needs `cargo build --release -p hsm-p11` for the
//! module and the `nethsm-sim` binary: scripts/ci.d/p11.sh builds the debug one, which is used
//! when no release one exists). The process re-runs itself with the module's configuration in its
//! environment, as the tests do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::indexing_slicing, clippy::print_stderr, missing_docs)]

#[path = "../tests/common/mod.rs"]
mod common;
mod paired;

use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use common::*;
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput};
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::ObjectHandle;
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use hsm_core::{KeyId, SignAlgorithm, Signer as _};

const KEY: &str = "benchp256";
const THREADS: usize = 8;

fn main() {
    if std::env::var_os("P11_TEST_CHILD").is_none() {
        let dir = tempfile::tempdir().unwrap();
        let sim = nethsm_sim(dir.path(), 0);
        let config = write_config(dir.path(), &[(nethsm_uri(&sim), "nethsm", "N0001")]);
        let mut env = module_env(&config, None);
        // The direct path opens the same device with the operator's passphrase from here.
        env.push((
            "P11_BENCH_URI".to_owned(),
            format!(
                "nethsm://operator@127.0.0.1:{}?ca={}&password-env=P11_BENCH_PASS",
                sim.port,
                sim.ca.display()
            ),
        ));
        env.push(("P11_BENCH_PASS".to_owned(), NETHSM_OPERATOR_PASS.to_owned()));
        env.push((
            "P11_BENCH_SIM".to_owned(),
            format!("{} {}", sim.pid(), sim.port),
        ));
        if std::env::var_os("NETHSM_PKCS11_MODULE").is_some() {
            let conf = dir.path().join("p11nethsm.conf");
            std::fs::write(&conf, nitrokey_config(sim.port, &sim.ca)).unwrap();
            env.push((
                "P11NETHSM_CONFIG_FILE".to_owned(),
                conf.display().to_string(),
            ));
        }
        let _ = in_child(&env);
        return;
    }
    if std::env::args().any(|a| a == "paired") {
        paired_rounds();
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    overhead(&mut c);
    c.final_summary();
}

fn overhead(c: &mut Criterion) {
    // The module: one slot, logged in, one key generated through it.
    let (module, slot, admin, key) = logged_in(&module_path());

    // The same device and key through the Rust API.
    let direct = hsm::open(&std::env::var("P11_BENCH_URI").unwrap()).unwrap();
    let key_id = KeyId::name(KEY).unwrap();
    let alg = SignAlgorithm::EcdsaSha256;
    let msg = b"example.com. 3600 IN A 192.0.2.1 (an RRset to sign)";
    // Warm both up (connections made, key looked up).
    let _ = direct.sign(&key_id, alg, msg).unwrap();
    let _ = admin.sign(&Mechanism::EcdsaSha256, key, msg).unwrap();

    let mut group = c.benchmark_group("p256_sign/one_thread");
    group.throughput(Throughput::Elements(1));
    group.bench_function("direct", |b| {
        b.iter(|| black_box(direct.sign(&key_id, alg, msg).unwrap()));
    });
    one_session(&mut group, "module", &admin, key, msg);
    group.finish();

    // Shared by the threads below (their work closures capture references).
    let (direct, key_id, module) = (&direct, &key_id, &module);
    let mut group = c.benchmark_group("p256_sign/eight_threads");
    group.throughput(Throughput::Elements(THREADS as u64));
    group.bench_function("direct", |b| {
        b.iter_custom(|iters| {
            all_at_once(|| {
                move || {
                    for _ in 0..iters {
                        black_box(direct.sign(key_id, alg, msg).unwrap());
                    }
                }
            })
        });
    });
    session_per_thread(&mut group, "module", module, slot, key, msg);
    group.finish();
    if let Some(path) = std::env::var_os("NETHSM_PKCS11_MODULE") {
        nitrokey(c, &path, msg);
    }
    drop(admin);
}

/// A module loaded, initialised and logged in on its one slot, with the bench key's handle (the
/// key generated when missing: the first module makes it, Nitrokey's finds it by `CKA_ID`, its
/// NetHSM id being a valid id).
fn logged_in(path: &std::path::Path) -> (Pkcs11, Slot, Session, ObjectHandle) {
    let module = Pkcs11::new(path).unwrap();
    module
        .initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
        .unwrap();
    let slot = module.get_slots_with_token().unwrap()[0];
    let session = module.open_rw_session(slot).unwrap();
    session
        .login(
            UserType::User,
            Some(&AuthPin::new(NETHSM_OPERATOR_PASS.into())),
        )
        .unwrap();
    let key = fixtures::p256_key(&session, KEY.as_bytes());
    (module, slot, session, key)
}

/// `overhead -- paired`: this module, the Rust API directly and (with `NETHSM_PKCS11_MODULE`)
/// Nitrokey's module in alternating rounds (see [`paired`]): one session, then [`THREADS`]
/// threads with a session each (the direct path: threads sharing the one handle); the medians per
/// signature and of the per-round ratios: module/direct (the module's overhead) and Nitrokey/ours.
/// Rounds and signatures per round: `P11_BENCH_ROUNDS` (15) and `P11_BENCH_SIGNATURES` (240,
/// spread over the threads in the threaded rounds); `P11_BENCH_THREADS=1` or `8` runs one of the
/// two; `P11_BENCH_ONLY=hsm-p11`, `direct` or `nitrokey` runs one contender (for a profile).
fn paired_rounds() {
    let sim = std::env::var("P11_BENCH_SIM").unwrap();
    let (pid, port) = sim.split_once(' ').unwrap();
    let (pid, port): (u32, u16) = (pid.parse().unwrap(), port.parse().unwrap());
    let number = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let rounds = number("P11_BENCH_ROUNDS", 15);
    let only = std::env::var("P11_BENCH_ONLY").ok();
    let total = number("P11_BENCH_SIGNATURES", 240);
    let msg = b"example.com. 3600 IN A 192.0.2.1 (an RRset to sign)";
    let ours = logged_in(&module_path());
    let direct = hsm::open(&std::env::var("P11_BENCH_URI").unwrap()).unwrap();
    let key_id = KeyId::name(KEY).unwrap();
    let theirs =
        std::env::var_os("NETHSM_PKCS11_MODULE").map(|path| logged_in(std::path::Path::new(&path)));
    let mut contenders = vec![
        ("hsm-p11", Contender::Module(&ours)),
        ("direct", Contender::Direct(direct.as_ref(), &key_id)),
    ];
    if let Some(theirs) = &theirs {
        contenders.push(("nitrokey", Contender::Module(theirs)));
    }
    contenders.retain(|(name, _)| only.as_deref().is_none_or(|o| o == *name));
    for (_, contender) in &contenders {
        for _ in 0..20 {
            contender.sign_one(msg);
        }
    }
    let thread_counts: Vec<usize> = match std::env::var("P11_BENCH_THREADS") {
        Ok(n) => vec![n.parse().unwrap()],
        Err(_) => vec![1, THREADS],
    };
    for threads in thread_counts {
        let per_thread = total / threads as u64;
        let mut usage = vec![Vec::new(); contenders.len()];
        for round in 0..rounds {
            // Each round starts with the next contender, so none always goes first.
            for k in 0..contenders.len() {
                let i = (k + round as usize) % contenders.len();
                let contender = &contenders[i].1;
                let used = paired::measure(pid, port, || contender.run(msg, threads, per_thread));
                usage[i].push(used);
            }
        }
        let label = format!("p256_sign, {threads} thread(s)");
        eprintln!("{label}:");
        for (i, (name, _)) in contenders.iter().enumerate() {
            paired::report(name, &usage[i], per_thread * threads as u64);
        }
        let find = |name: &str| contenders.iter().position(|(n, _)| *n == name);
        if let (Some(module), Some(direct)) = (find("hsm-p11"), find("direct")) {
            paired::report_ratio(&label, ("module", "direct"), &usage[direct], &usage[module]);
        }
        if let (Some(ours), Some(theirs)) = (find("hsm-p11"), find("nitrokey")) {
            paired::report_ratio(&label, ("Nitrokey", "ours"), &usage[ours], &usage[theirs]);
        }
    }
}

/// One side of the paired rounds.
enum Contender<'a> {
    /// A PKCS#11 module, logged in, with the bench key's handle.
    Module(&'a (Pkcs11, Slot, Session, ObjectHandle)),
    /// The Rust API on the same device and key.
    Direct(&'a dyn hsm::Hsm, &'a KeyId),
}

impl Contender<'_> {
    /// One signature on the caller's thread (warm-up).
    fn sign_one(&self, msg: &[u8]) {
        match self {
            Self::Module((_, _, session, key)) => {
                black_box(session.sign(&Mechanism::EcdsaSha256, *key, msg).unwrap());
            }
            Self::Direct(hsm, key_id) => {
                black_box(hsm.sign(key_id, SignAlgorithm::EcdsaSha256, msg).unwrap());
            }
        }
    }

    /// `threads` × `each` signatures: on the caller's thread when `threads` is 1 (the module's
    /// one session), else on `threads` threads (a session each for a module).
    fn run(&self, msg: &[u8], threads: usize, each: u64) -> paired::Workers {
        if threads == 1 {
            for _ in 0..each {
                self.sign_one(msg);
            }
            return paired::Workers::default();
        }
        match self {
            Self::Module((module, slot, _, key)) => {
                sessions_signing(module, *slot, *key, msg, threads, each)
            }
            Self::Direct(hsm, key_id) => threads_signing(threads, || {
                for _ in 0..each {
                    black_box(hsm.sign(key_id, SignAlgorithm::EcdsaSha256, msg).unwrap());
                }
            }),
        }
    }
}

/// `threads` threads running `work` at once; their CPU time and thread ids.
fn threads_signing(threads: usize, work: impl Fn() + Sync) -> paired::Workers {
    let workers = std::sync::Mutex::new(paired::Workers::default());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let started = paired::thread_cpu();
                work();
                let used = paired::thread_cpu().saturating_sub(started);
                let mut w = workers.lock().unwrap();
                w.cpu += used;
                w.tids.push(paired::thread_id());
            });
        }
    });
    workers.into_inner().unwrap()
}

/// `threads` threads, each with a session of its own (opened inside the round, so the round
/// counts its cost), signing `each` times; their CPU time and thread ids.
fn sessions_signing(
    module: &Pkcs11,
    slot: Slot,
    key: ObjectHandle,
    msg: &[u8],
    threads: usize,
    each: u64,
) -> paired::Workers {
    threads_signing(threads, || {
        let session = module.open_ro_session(slot).unwrap();
        for _ in 0..each {
            black_box(session.sign(&Mechanism::EcdsaSha256, key, msg).unwrap());
        }
    })
}

/// Nitrokey's module's configuration (YAML) for the simulator: one slot, the operator, the
/// simulator's certificate pinned by its SHA-256 fingerprint, connections kept for 8 threads.
fn nitrokey_config(port: u16, ca: &std::path::Path) -> String {
    let out = std::process::Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
        .arg(ca)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let fingerprint = text.trim().rsplit('=').next().unwrap().to_owned();
    format!(
        "log_level: Error\nslots:\n  - label: NetHSM\n    operator:\n      username: operator\n      \
         password: \"{NETHSM_OPERATOR_PASS}\"\n    instances:\n      - url: \
         \"https://127.0.0.1:{port}/api/v1\"\n        max_idle_connections: {THREADS}\n        \
         sha256_fingerprints:\n          - \"{fingerprint}\"\n"
    )
}

/// The same two groups through Nitrokey's module, on the key the first module generated.
fn nitrokey(c: &mut Criterion, path: &std::ffi::OsStr, msg: &[u8]) {
    let (module, slot, session, key) = logged_in(std::path::Path::new(path));
    let _ = session.sign(&Mechanism::EcdsaSha256, key, msg).unwrap();
    let mut group = c.benchmark_group("p256_sign/one_thread");
    group.throughput(Throughput::Elements(1));
    one_session(&mut group, "nitrokey", &session, key, msg);
    group.finish();
    let mut group = c.benchmark_group("p256_sign/eight_threads");
    group.throughput(Throughput::Elements(THREADS as u64));
    session_per_thread(&mut group, "nitrokey", &module, slot, key, msg);
    group.finish();
    drop(session);
}

/// `C_Sign` with `CKM_ECDSA_SHA256` on one session, one signature at a time.
fn one_session(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    session: &Session,
    key: ObjectHandle,
    msg: &[u8],
) {
    group.bench_function(name, |b| {
        b.iter(|| black_box(session.sign(&Mechanism::EcdsaSha256, key, msg).unwrap()));
    });
}

/// [`THREADS`] threads signing at once, each on a session of its own (opening one is local, and
/// not timed).
fn session_per_thread(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    module: &Pkcs11,
    slot: Slot,
    key: ObjectHandle,
    msg: &[u8],
) {
    group.bench_function(name, |b| {
        b.iter_custom(|iters| {
            all_at_once(|| {
                let session = module.open_ro_session(slot).unwrap();
                move || {
                    for _ in 0..iters {
                        black_box(session.sign(&Mechanism::EcdsaSha256, key, msg).unwrap());
                    }
                }
            })
        });
    });
}

/// Runs [`THREADS`] threads: each prepares (`prepare`, untimed) and then runs its work, all
/// starting together; the wall-clock time from the start until the last one finishes.
fn all_at_once<P, W>(prepare: P) -> Duration
where
    P: Fn() -> W + Sync,
    W: FnOnce(),
{
    let ready = Barrier::new(THREADS + 1);
    std::thread::scope(|scope| {
        let threads: Vec<_> = (0..THREADS)
            .map(|_| {
                scope.spawn(|| {
                    let work = prepare();
                    ready.wait();
                    work();
                })
            })
            .collect();
        ready.wait();
        let started = Instant::now();
        for t in threads {
            t.join().unwrap();
        }
        started.elapsed()
    })
}
