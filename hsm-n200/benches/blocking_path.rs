//! The blocking path of the N200, without and with thread lanes, per signature, on the
//! in-process simulator over HTTPS on loopback (no added latency), P-256 ECDSA, from plain
//! threads:
//!
//! - `shared`: [`N200::new`] without lanes: each request goes from the caller's thread to a
//!   worker of the backend's runtime (which owns the connections) and back;
//! - `lanes`: [`N200::with_thread_lanes`] (what `open` gives): each caller thread drives its own
//!   current-thread runtime and kept-alive connection itself, with no thread hop.
//!
//! Each with one thread and with 8 long-lived threads signing at once. At the end it prints the
//! time per signature of each case and old/new (above 1: lanes are faster), then the median
//! old/new of 15 paired rounds in which the two alternate (load from other processes on a
//! shared machine falls on both alike). The harness is `hsm_testkit::bench::blocking_paths`.
//!
//! `cargo bench -p hsm-n200 --features sim --bench blocking_path`
#![allow(missing_docs, clippy::unwrap_used)]

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use hsm_core::runtime::DEFAULT_MAX_THREAD_LANES;
use hsm_core::{Curve, KeyId, KeySpec, KeyStore as _, KeyTemplate, SignAlgorithm};
use hsm_n200::N200;
use hsm_n200::sim::{SimConfig, Simulator};

fn blocking_path(c: &mut Criterion) {
    let sim = Simulator::start(SimConfig::random_credentials()).unwrap();
    let n200 = || N200::new(sim.client_builder()?.build()?, sim.key_pin(), "FFFF");
    let shared = Arc::new(n200().unwrap());
    let lanes = Arc::new(n200().unwrap().with_thread_lanes(DEFAULT_MAX_THREAD_LANES));
    let key: KeyId = "blockingpath".parse().unwrap();
    let _ = shared
        .generate_key(&KeyTemplate::new(key.clone(), KeySpec::Ec(Curve::P256)))
        .unwrap();
    let paths = [("shared", &shared), ("lanes", &lanes)];
    let signing = (&key, SignAlgorithm::EcdsaSha256);
    hsm_testkit::bench::blocking_paths(c, "n200/blocking_path", paths, signing, 8);
}

criterion_group!(benches, blocking_path);
criterion_main!(benches);
