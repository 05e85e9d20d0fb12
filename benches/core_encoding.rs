//! The parts of the sign path the SDK itself owns, without a device: ECDSA DER <-> raw conversion,
//! SPKI parsing, DigestInfo construction and software verification (the reference point for
//! backend benches).
#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hsm::{Curve, HashAlgorithm, PublicKey, SignAlgorithm, Signature};
use p256::ecdsa::signature::Signer as _;
use spki::EncodePublicKey as _;

fn encoding(c: &mut Criterion) {
    let sk = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
    let sig: p256::ecdsa::Signature = sk.sign(b"benchmark message");
    let der = sig.to_der().as_bytes().to_vec();
    let raw = sig.to_bytes().to_vec();
    let spki = sk
        .verifying_key()
        .to_public_key_der()
        .unwrap()
        .as_bytes()
        .to_vec();

    let mut group = c.benchmark_group("core/encoding");
    group.throughput(Throughput::Elements(1));
    group.bench_function("ecdsa_p256_der_to_raw", |b| {
        b.iter(|| {
            Signature::ecdsa_from_der(SignAlgorithm::EcdsaSha256, Curve::P256, black_box(&der))
                .unwrap()
                .to_raw()
        });
    });
    group.bench_function("ecdsa_p256_raw_to_der", |b| {
        b.iter(|| {
            Signature::ecdsa_from_raw(SignAlgorithm::EcdsaSha256, Curve::P256, black_box(&raw))
                .unwrap()
                .to_der()
        });
    });
    group.bench_function("spki_p256_parse", |b| {
        b.iter(|| PublicKey::from_der(black_box(&spki)).unwrap());
    });
    let digest = HashAlgorithm::Sha256.digest(b"benchmark message");
    group.bench_function("digest_info_sha256", |b| {
        b.iter(|| {
            HashAlgorithm::Sha256
                .digest_info(black_box(&digest))
                .unwrap()
        });
    });
    group.finish();

    let pk = PublicKey::from_der(&spki).unwrap();
    let ours = Signature::ecdsa_from_raw(SignAlgorithm::EcdsaSha256, Curve::P256, &raw).unwrap();
    let mut group = c.benchmark_group("core/software");
    group.throughput(Throughput::Elements(1));
    group.bench_function("p256_sign_reference", |b| {
        b.iter(|| -> p256::ecdsa::Signature { sk.sign(black_box(b"benchmark message")) });
    });
    group.bench_function("p256_verify", |b| {
        b.iter(|| pk.verify(black_box(b"benchmark message"), &ours).unwrap());
    });
    group.finish();
}

criterion_group!(benches, encoding);
criterion_main!(benches);
