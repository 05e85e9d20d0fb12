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
//! both alike). The harness is `hsm_testkit::bench::blocking_paths`, shared with the N200's
//! blocking-path bench.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use hsm_core::runtime::DEFAULT_MAX_THREAD_LANES;
use hsm_nethsm::NetHsm;
use support::{ALGORITHM, SimBench};

fn blocking_path(c: &mut Criterion) {
    let bench = SimBench::start("blockingpath");
    let shared = bench.blocking();
    let lanes = Arc::new(
        NetHsm::new(bench.client())
            .unwrap()
            .with_thread_clients(DEFAULT_MAX_THREAD_LANES, bench.clients()),
    );
    let paths = [("shared", &shared), ("lanes", &lanes)];
    let signing = (&bench.key, ALGORITHM);
    hsm_testkit::bench::blocking_paths(c, "nethsm/blocking_path", paths, signing, 8);
}

criterion_group!(benches, blocking_path);
criterion_main!(benches);
