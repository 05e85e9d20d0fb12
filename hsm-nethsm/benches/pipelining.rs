//! Pipelining: `sign_many` with k requests in flight (k = 1, 4, 16, 64) against the simulator
//! with 10 ms added to every answer (a network, with up to 1 ms of jitter), next to the bound
//! that k requests in flight over one round trip allow, k / RTT. The RTT is measured in the same
//! run: one caller, one signature at a time.
//!
//! The simulator runs on a runtime of its own (like a device elsewhere); the client is an
//! `AsyncNetHsm` awaited on a service's runtime, with `max_in_flight = k`. Each batch holds 32k
//! messages (32 round trips; `HSM_BENCH_ROUNDS` sets another number), on a pool already holding
//! k warm connections. At the end the bench prints each k's signatures/s, the bound, their
//! ratio and the process's CPU time per signature (client and simulator together: they share
//! this machine's cores). The harness is
//! `hsm_testkit::bench::pipelining`, shared with the N200's pipelining bench.
#![allow(missing_docs, clippy::unwrap_used)]

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use hsm_core::{Curve, KeySpec, SignAlgorithm};
use hsm_nethsm::sim::{ADMIN_PASSPHRASE, OPERATOR_PASSPHRASE, SimConfig, Simulator};
use hsm_nethsm::{AsyncNetHsm, Credentials};
use hsm_testkit::bench::{self, Case};
use secrecy::SecretString;

const LATENCY: Duration = Duration::from_millis(10);
/// A network's jitter: up to 1 ms more, drawn for each request (`HSM_BENCH_JITTER_US=0`: none).
const JITTER: Duration = Duration::from_millis(1);
/// P-256 ECDSA (what `nethsm_compare` signs with), and Ed25519, whose signing costs the
/// simulator far less CPU: the two show how much of the gap to k/RTT is the simulator's own
/// cryptography on the client's cores.
const CASES: [Case; 2] = [
    ("p256", KeySpec::Ec(Curve::P256), SignAlgorithm::EcdsaSha256),
    ("ed25519", KeySpec::Ed25519, SignAlgorithm::Ed25519),
];

fn pipelining(c: &mut Criterion) {
    let server = bench::runtime("sim");
    let network = bench::network(LATENCY, JITTER);
    let config = SimConfig {
        latency: network.0,
        jitter: network.1,
        ..SimConfig::default()
    };
    let sim = Simulator::start(config, server.handle()).unwrap();
    let service = bench::runtime("service");
    let operator = Credentials::new("operator", SecretString::from(OPERATOR_PASSPHRASE));
    let client = |max_idle: usize| {
        let builder = sim.client_builder().credentials(operator.clone());
        builder.max_idle_connections(max_idle).build().unwrap()
    };
    let admin = AsyncNetHsm::new(client(64)).with_admin(Credentials::new(
        "admin",
        SecretString::from(ADMIN_PASSPHRASE),
    ));
    let backend = |k: usize| AsyncNetHsm::new(client(k)).with_max_in_flight(k);
    bench::pipelining(c, "nethsm", network, &CASES, &service, &admin, backend);
}

criterion_group!(benches, pipelining);
criterion_main!(benches);
