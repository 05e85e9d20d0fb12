//! HSM keys sign X.509 requests through the RustCrypto traits; RustCrypto and `openssl` check
//! the result. These run on the in-memory test store (P-256, P-384, Ed25519); it holds no RSA
//! keys, so the RSA handles (and every handle again) are tested through real backends in the
//! facade's tests/rustcrypto_handles.rs.
#![allow(clippy::unwrap_used)]

mod support;

use std::str::FromStr as _;
use std::sync::Arc;

use der::Encode as _;
use der::EncodePem as _;
use hsm_core::rustcrypto::{EcdsaP256Key, EcdsaP384Key, Ed25519Key};
use hsm_core::{Curve, Hsm, KeyId, KeySpec, KeyTemplate};
use hsm_testkit::cli::openssl_req_verify;
use signature::hazmat::{PrehashSigner as _, PrehashVerifier as _};
use signature::{Keypair as _, Signer as _, Verifier as _};
use support::memory::{Defect, MemoryStore};
use x509_cert::builder::{Builder as _, RequestBuilder};
use x509_cert::name::Name;
use x509_cert::request::CertReq;

fn store_with(spec: KeySpec, name: &str) -> (Arc<dyn Hsm>, KeyId) {
    let store: Arc<dyn Hsm> = Arc::new(MemoryStore::new(Defect::None));
    let id = KeyId::name(name).unwrap();
    store
        .generate_key(&KeyTemplate::new(id.clone(), spec))
        .unwrap();
    (store, id)
}

#[test]
fn p256_key_signs_a_csr_that_openssl_verifies() {
    let (store, id) = store_with(KeySpec::Ec(Curve::P256), "csrkey");
    let key = EcdsaP256Key::new(store, id).unwrap();
    let sig: p256::ecdsa::Signature = key.try_sign(b"hello").unwrap();
    key.verifying_key().verify(b"hello", &sig).unwrap();

    let subject = Name::from_str("CN=signer.example,O=hsm-rs").unwrap();
    let csr = RequestBuilder::new(subject)
        .unwrap()
        .build::<_, p256::ecdsa::DerSignature>(&key)
        .unwrap();
    let (tbs, signature) = csr_signed_parts(&csr);
    let signature = p256::ecdsa::DerSignature::try_from(signature.as_slice()).unwrap();
    key.verifying_key().verify(&tbs, &signature).unwrap();
    openssl_req_verify(&csr.to_pem(der::pem::LineEnding::LF).unwrap());
}

/// The CSR's signature over its `CertificationRequestInfo`, for a RustCrypto verifier.
fn csr_signed_parts(csr: &CertReq) -> (Vec<u8>, Vec<u8>) {
    (
        csr.info.to_der().unwrap(),
        csr.signature.raw_bytes().to_vec(),
    )
}

#[test]
fn p384_key_signs_messages_digests_and_a_csr_that_rustcrypto_and_openssl_verify() {
    let (store, id) = store_with(KeySpec::Ec(Curve::P384), "csrkey384");
    let key = EcdsaP384Key::new(store.clone(), id.clone()).unwrap();
    let sig: p384::ecdsa::Signature = key.try_sign(b"hello").unwrap();
    key.verifying_key().verify(b"hello", &sig).unwrap();
    assert!(key.verifying_key().verify(b"hellp", &sig).is_err());
    let der: p384::ecdsa::DerSignature = key.try_sign(b"hello").unwrap();
    key.verifying_key().verify(b"hello", &der).unwrap();

    let digest = <sha2::Sha384 as sha2::Digest>::digest(b"hello");
    let sig: p384::ecdsa::Signature = key.sign_prehash(&digest).unwrap();
    key.verifying_key().verify_prehash(&digest, &sig).unwrap();

    let subject = Name::from_str("CN=p384.example,O=hsm-rs").unwrap();
    let csr = RequestBuilder::new(subject)
        .unwrap()
        .build::<_, p384::ecdsa::DerSignature>(&key)
        .unwrap();
    assert_eq!(
        csr.info.public_key.to_der().unwrap(),
        store.public_key(&id).unwrap().as_der()
    );
    let (tbs, signature) = csr_signed_parts(&csr);
    let signature = p384::ecdsa::DerSignature::try_from(signature.as_slice()).unwrap();
    key.verifying_key().verify(&tbs, &signature).unwrap();
    openssl_req_verify(&csr.to_pem(der::pem::LineEnding::LF).unwrap());
}

#[test]
fn ed25519_key_signs_a_csr_that_openssl_verifies() {
    let (store, id) = store_with(KeySpec::Ed25519, "edkey");
    let key = Ed25519Key::new(store, id).unwrap();
    let subject = Name::from_str("CN=ed.example").unwrap();
    let csr = RequestBuilder::new(subject)
        .unwrap()
        .build::<_, ed25519_dalek::Signature>(&key)
        .unwrap();
    let (tbs, signature) = csr_signed_parts(&csr);
    let signature = ed25519_dalek::Signature::from_slice(&signature).unwrap();
    key.verifying_key().verify(&tbs, &signature).unwrap();
    openssl_req_verify(&csr.to_pem(der::pem::LineEnding::LF).unwrap());
}

#[test]
fn wrong_key_type_is_refused_and_errors_keep_their_cause() {
    let (store, id) = store_with(KeySpec::Ed25519, "notec");
    let err = EcdsaP256Key::new(store.clone(), id.clone()).unwrap_err();
    assert_eq!(err.kind(), hsm_core::ErrorKind::InvalidInput);

    let (store, id) = store_with(KeySpec::Ec(Curve::P256), "gone");
    let key = EcdsaP256Key::new(store.clone(), id.clone()).unwrap();
    store.delete_key(&id).unwrap();
    let err: signature::Error =
        signature::Signer::<p256::ecdsa::Signature>::try_sign(&key, b"x").unwrap_err();
    let source = std::error::Error::source(&err).expect("cause kept");
    let ours = source.downcast_ref::<hsm_core::Error>().expect("our error");
    assert!(ours.is_not_found());
}
