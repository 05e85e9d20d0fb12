//! The seed's DNSSEC workload through the module: P-256 ECDSA-SHA256 signatures over 1,000
//! RRsets on the N200 simulator (`n200-sim --latency-ms 20`, a separate process on loopback),
//! the module loaded by `cryptoki`, in signatures per second:
//!
//! - `kept_connection_one_session`: one logged-in session signs the RRsets one after another, as
//!   Knot's `kzonesign` does (the module keeps its one connection);
//! - `kept_connection_8_sessions`: 8 threads, each with its own session, share the RRsets;
//! - `new_connection_per_signature`: the behaviour the seed complains about, emulated through
//!   the same module: for every RRset `C_OpenSession`, `C_Login` (the module opens a new backend:
//!   a new TLS connection and one request to check the password), `C_FindObjects` by `CKA_ID`
//!   (one request), `C_Sign` (one request), `C_CloseSession` (the last session: logout, backend
//!   and connection dropped). Run over 100 RRsets (its cost per signature is constant).
//!
//! `cargo bench -p hsm-p11 --bench dnssec_n200` (a plain timed run, no criterion: each line is one
//! pass over the RRsets). `cargo test --bench dnssec_n200` runs it over a handful of RRsets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::indexing_slicing, clippy::print_stderr)]
#![allow(clippy::print_stdout, missing_docs)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Instant;

use common::*;
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::ObjectHandle;
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;

const LATENCY_MS: u64 = 20;
const ZSK: &[u8] = b"zsk-bench";

fn main() {
    if std::env::var_os("P11_TEST_CHILD").is_none() {
        let dir = tempfile::tempdir().unwrap();
        let sim = n200_sim(dir.path(), LATENCY_MS);
        let config = write_config(dir.path(), &[(n200_uri(&sim), "n200", "N2001")]);
        let _ = in_child(&module_env(&config, None));
        return;
    }
    // `cargo bench` passes --bench; `cargo test --bench` does not: then a smoke run.
    let full = std::env::args().any(|a| a == "--bench");
    let (rrsets, per_connection) = if full { (1_000, 100) } else { (8, 4) };
    let zone = rrsets_of(rrsets);

    let m = Pkcs11::new(module_path()).unwrap();
    m.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
        .unwrap();
    let slot = m.get_slots_with_token().unwrap()[0];
    {
        let s = login(&m, slot);
        let _ = key(&s);
    }
    println!(
        "n200-sim at {LATENCY_MS} ms per answer, P-256 ECDSA-SHA256 through libhsm_p11.so \
         (cryptoki):"
    );

    // The seed's behaviour, first: no other session may be logged in meanwhile.
    let started = Instant::now();
    for rrset in &zone[..per_connection] {
        let s = login(&m, slot);
        let k = key(&s);
        let _ = s.sign(&Mechanism::EcdsaSha256, k, rrset).unwrap();
        drop(s);
    }
    report(
        "new_connection_per_signature",
        per_connection,
        started.elapsed(),
    );

    let s = login(&m, slot);
    let k = key(&s);
    let started = Instant::now();
    for rrset in &zone {
        let _ = s.sign(&Mechanism::EcdsaSha256, k, rrset).unwrap();
    }
    report("kept_connection_one_session", zone.len(), started.elapsed());

    let started = Instant::now();
    std::thread::scope(|scope| {
        for part in zone.chunks(zone.len().div_ceil(8)) {
            let m = &m;
            scope.spawn(move || {
                let own = m.open_ro_session(slot).unwrap();
                for rrset in part {
                    let _ = own.sign(&Mechanism::EcdsaSha256, k, rrset).unwrap();
                }
            });
        }
    });
    report("kept_connection_8_sessions", zone.len(), started.elapsed());
    drop(s);
    m.finalize().unwrap();
}

fn report(name: &str, signatures: usize, elapsed: std::time::Duration) {
    println!(
        "  {name:<30} {signatures:>5} signatures in {:>7.2} s: {:>7.1} signatures/s",
        elapsed.as_secs_f64(),
        signatures as f64 / elapsed.as_secs_f64()
    );
}

/// `n` RRsets as a signer hashes them (owner, type, class, TTL, RDATA), in text for brevity.
fn rrsets_of(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            format!(
                "host{i}.big.example. 3600 IN A 198.51.100.{} ; RRSIG 13 3 3600",
                i % 250
            )
            .into_bytes()
        })
        .collect()
}

/// A new session, logged in with the N200 password (the slot's credential is the PIN).
fn login(m: &Pkcs11, slot: Slot) -> Session {
    let s = m.open_rw_session(slot).unwrap();
    s.login(UserType::User, Some(&AuthPin::new(N200_PASS.into())))
        .unwrap();
    s
}

/// The ZSK's private key, generated when missing.
fn key(s: &Session) -> ObjectHandle {
    fixtures::p256_key(s, ZSK)
}
