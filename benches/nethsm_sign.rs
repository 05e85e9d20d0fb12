//! The NetHSM sign hot path against the simulator over HTTPS on loopback: one caller on a kept
//! connection, and batches through `sign_many` with many requests in flight.
#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use hsm::{Curve, KeyId, KeySpec, KeyTemplate, SignAlgorithm};

fn nethsm(c: &mut Criterion) {
    let hsm = hsm::open("nethsm+sim:").unwrap();
    let cases = [
        ("p256", KeySpec::Ec(Curve::P256), SignAlgorithm::EcdsaSha256),
        ("ed25519", KeySpec::Ed25519, SignAlgorithm::Ed25519),
        ("rsa2048", KeySpec::Rsa2048, SignAlgorithm::RsaPkcs1Sha256),
    ];
    for (name, spec, algorithm) in cases {
        let key: KeyId = format!("bench{name}").parse().unwrap();
        hsm.generate_key(&KeyTemplate::new(key.clone(), spec))
            .unwrap();
        hsm.sign(&key, algorithm, b"warm up").unwrap();

        let mut group = c.benchmark_group(format!("nethsm/{name}/sign"));
        group.throughput(Throughput::Elements(1));
        group.bench_function("one_caller", |b| {
            b.iter(|| {
                hsm.sign(&key, algorithm, black_box(b"a DNS RRset to sign"))
                    .unwrap()
            });
        });
        group.finish();

        let batch: Vec<Vec<u8>> = (0..64u32).map(|i| i.to_be_bytes().to_vec()).collect();
        let mut group = c.benchmark_group(format!("nethsm/{name}/sign_many"));
        group.throughput(Throughput::Elements(batch.len() as u64));
        group.bench_function("64_in_batches", |b| {
            b.iter_batched(
                || batch.iter().map(Vec::as_slice).collect::<Vec<&[u8]>>(),
                |refs| {
                    for r in hsm.sign_many(&key, algorithm, &refs) {
                        let _ = black_box(r.unwrap());
                    }
                },
                BatchSize::SmallInput,
            );
        });
        group.finish();
    }
}

criterion_group!(benches, nethsm);
criterion_main!(benches);
