//! Pipelining on the N200: `AsyncN200::sign_many` with k requests in flight against the
//! in-process N200 simulator with 10 ms added to every answer (and up to 1 ms of jitter), next
//! to the bound k requests in flight allow (k / RTT, the RTT measured in the same run with one
//! caller). Each batch is 32k messages (32 round trips per worker; `HSM_BENCH_ROUNDS` sets
//! another number) on a pool already holding k warm connections. Prints a table after the run
//! (the harness: `hsm_testkit::bench::pipelining`).
//!
//! `cargo bench -p hsm-n200 --features sim --bench pipelining`
#![allow(missing_docs, clippy::unwrap_used)]

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use hsm_core::{Curve, KeySpec, SignAlgorithm};
use hsm_n200::AsyncN200;
use hsm_n200::sim::{SimConfig, Simulator};
use hsm_testkit::bench::{self, Case};

const LATENCY: Duration = Duration::from_millis(10);
/// A network's jitter: up to 1 ms more, drawn for each request (`HSM_BENCH_JITTER_US=0`: none).
const JITTER: Duration = Duration::from_millis(1);
const CASES: [Case; 1] = [("p256", KeySpec::Ec(Curve::P256), SignAlgorithm::EcdsaSha256)];

fn pipelining(c: &mut Criterion) {
    let network = bench::network(LATENCY, JITTER);
    let config = SimConfig::random_credentials()
        .latency(network.0)
        .jitter(network.1);
    let sim = Simulator::start(config).unwrap();
    let service = bench::runtime("service");
    let backend = |k: usize| {
        let client = sim
            .client_builder()
            .unwrap()
            .max_in_flight(k)
            .build()
            .unwrap();
        AsyncN200::new(client, sim.key_pin(), "FFFF")
    };
    let admin = backend(1);
    bench::pipelining(c, "n200", network, &CASES, &service, &admin, backend);
}

criterion_group!(benches, pipelining);
criterion_main!(benches);
