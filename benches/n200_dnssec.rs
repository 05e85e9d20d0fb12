//! The seed's DNSSEC workload against the simulated N200 (20 ms latency per answer): signatures
//! per second with (a) a new TLS connection per signature, (b) one kept connection, (c)
//! `sign_many` with 16 in flight. `cargo bench --bench n200_dnssec`.

#![allow(clippy::expect_used)] // set-up failures end the bench run

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hsm_core::{Curve, KeyId, KeySpec, KeyStore as _, KeyTemplate, SignAlgorithm, Signer as _};
use hsm_n200::N200;
use hsm_n200::sim::{SimConfig, Simulator};

const BATCH: usize = 32;

fn dnssec(c: &mut Criterion) {
    let mut config = SimConfig::random_credentials();
    config.latency = Duration::from_millis(20);
    let sim = Simulator::start(config).expect("simulator");
    let client = sim
        .client_builder()
        .expect("builder")
        .build()
        .expect("client");
    let n200 = N200::new(client, sim.key_pin(), "FFFF").expect("backend");
    let key = KeyId::name("jpexample").expect("name");
    let _ = n200
        .generate_key(&KeyTemplate::new(key.clone(), KeySpec::Ec(Curve::P256)))
        .expect("key");
    let alg = SignAlgorithm::EcdsaSha256;
    let records: Vec<Vec<u8>> = (0..BATCH)
        .map(|i| format!("host{i}.jp.example. 3600 IN A 192.0.2.{i}").into_bytes())
        .collect();

    let record = records.first().expect("a record").clone();
    let mut group = c.benchmark_group("n200/ecdsa-p256/dnssec");
    group.sample_size(10);
    group.throughput(Throughput::Elements(1));
    group.bench_function("a_new_connection_per_signature", |b| {
        b.iter(|| {
            let fresh = N200::new(
                sim.client_builder()
                    .expect("builder")
                    .build()
                    .expect("client"),
                sim.key_pin(),
                "FFFF",
            )
            .expect("backend");
            black_box(fresh.sign(&key, alg, &record).expect("sign"))
        });
    });
    group.bench_function("b_kept_connection", |b| {
        b.iter(|| black_box(n200.sign(&key, alg, &record).expect("sign")));
    });
    group.throughput(Throughput::Elements(BATCH as u64));
    let refs: Vec<&[u8]> = records.iter().map(Vec::as_slice).collect();
    group.bench_function("c_sign_many_16_in_flight", |b| {
        b.iter(|| black_box(n200.sign_many(&key, alg, &refs)));
    });
    group.finish();
}

criterion_group!(benches, dnssec);
criterion_main!(benches);
