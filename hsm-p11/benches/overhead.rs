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
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stderr,
    missing_docs
)]

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/fixtures/mod.rs"]
mod fixtures;

use std::hint::black_box;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use common::*;
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput};
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, ObjectClass, ObjectHandle};
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
    let mut c = Criterion::default().configure_from_args();
    overhead(&mut c);
    c.final_summary();
}

fn overhead(c: &mut Criterion) {
    // The module: one slot, logged in, one key generated through it.
    let module = Arc::new(Pkcs11::new(module_path()).unwrap());
    module
        .initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
        .unwrap();
    let slot = module.get_slots_with_token().unwrap()[0];
    let admin = module.open_rw_session(slot).unwrap();
    admin
        .login(
            UserType::User,
            Some(&AuthPin::new(NETHSM_OPERATOR_PASS.into())),
        )
        .unwrap();
    let key = fixtures::p256_key(&admin, KEY.as_bytes());

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

/// The same two groups through Nitrokey's module, on the key the first module generated (its
/// NetHSM id is a valid id, so both modules give it the same CKA_ID).
fn nitrokey(c: &mut Criterion, path: &std::ffi::OsStr, msg: &[u8]) {
    let module = Pkcs11::new(path).unwrap();
    module
        .initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
        .unwrap();
    let slot = module.get_slots_with_token().unwrap()[0];
    let session = module.open_ro_session(slot).unwrap();
    session
        .login(
            UserType::User,
            Some(&AuthPin::new(NETHSM_OPERATOR_PASS.into())),
        )
        .unwrap();
    let key = session
        .find_objects(&[
            Attribute::Class(ObjectClass::PRIVATE_KEY),
            Attribute::Id(KEY.as_bytes().to_vec()),
        ])
        .unwrap()[0];
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
