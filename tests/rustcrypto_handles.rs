//! Every RustCrypto key handle of `hsm::rustcrypto` (ECDSA P-256 and P-384, RSA PKCS#1 v1.5 and
//! PSS with SHA-256/384/512, Ed25519) signs through a real backend, each backend's simulator
//! opened with `hsm::open`, for every handle whose key the backend can hold.
//!
//! For each handle: a message signed through `signature::Signer` verifies with the handle's
//! RustCrypto verifying key; a digest signed through `PrehashSigner` (ECDSA, RSA) verifies as a
//! prehash; and a PKCS#10 request built by `x509-cert` with the handle carries the backend's
//! public key and the handle's algorithm identifier, and its signature verifies with RustCrypto
//! and with `openssl req -verify`.
//!
//! The in-memory store of the hsm-core tests holds no RSA keys, and hsm-core cannot reach a
//! backend, so these tests live in the facade (hsm-core/tests/rustcrypto.rs covers the ECDSA and
//! Ed25519 handles on that store).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::str::FromStr as _;
use std::sync::Arc;

use der::{Encode as _, EncodePem as _};
use hsm::rustcrypto::{
    EcdsaP256Key, EcdsaP384Key, Ed25519Key, RsaPkcs1Sha256Key, RsaPkcs1Sha384Key,
    RsaPkcs1Sha512Key, RsaPssSha256Key, RsaPssSha384Key, RsaPssSha512Key,
};
use hsm::{Curve, Hsm, KeyId, KeySpec, KeyTemplate};
use signature::hazmat::{PrehashSigner, PrehashVerifier};
use signature::{Keypair, SignatureEncoding, Signer, Verifier};
use spki::{DynSignatureAlgorithmIdentifier, EncodePublicKey, SignatureBitStringEncoding};
use x509_cert::builder::{Builder as _, RequestBuilder};
use x509_cert::name::Name;
use x509_cert::request::CertReq;

const MESSAGE: &[u8] = b"hsm-rs: a message signed through a RustCrypto key handle";

fn open(uri: &str) -> Arc<dyn Hsm> {
    Arc::from(hsm::open(uri).unwrap_or_else(|e| panic!("open {uri}: {e}")))
}

fn generate(hsm: &Arc<dyn Hsm>, spec: KeySpec) -> KeyId {
    let id = KeyId::name(format!("handle{}", spec.name())).unwrap();
    hsm.generate_key(&KeyTemplate::new(id.clone(), spec))
        .unwrap_or_else(|e| panic!("{}: generate {spec}: {e}", hsm.backend()));
    id
}

/// `openssl req -verify` on a PEM request; panics with openssl's words when it refuses.
fn openssl_req_verify(what: &str, pem: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("req.pem");
    std::fs::write(&path, pem).unwrap();
    let out = std::process::Command::new("openssl")
        .args(["req", "-verify", "-noout", "-in"])
        .arg(&path)
        .output()
        .expect("the openssl CLI is installed");
    assert!(
        out.status.success(),
        "{what}: openssl req -verify refused the CSR: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A message through `Signer<S>`, verified with the handle's verifying key (and not for another
/// message).
fn signs_message<K, S>(what: &str, key: &K)
where
    K: Signer<S> + Keypair,
    K::VerifyingKey: Verifier<S>,
{
    let signature: S = key
        .try_sign(MESSAGE)
        .unwrap_or_else(|e| panic!("{what}: sign: {e}"));
    key.verifying_key()
        .verify(MESSAGE, &signature)
        .unwrap_or_else(|e| panic!("{what}: RustCrypto refused the message signature: {e}"));
    let mut other = MESSAGE.to_vec();
    other[0] ^= 1;
    assert!(
        key.verifying_key().verify(&other, &signature).is_err(),
        "{what}: the signature also verifies another message"
    );
}

/// A message through `Signer<S>` ([`signs_message`]), then a CSR signed with `S`, holding the
/// backend's public key and the handle's algorithm identifier, verified with RustCrypto and with
/// openssl.
fn signs_message_and_csr<K, S>(what: &str, hsm: &Arc<dyn Hsm>, id: &KeyId, key: &K)
where
    K: Signer<S> + Keypair + DynSignatureAlgorithmIdentifier,
    K::VerifyingKey: EncodePublicKey + Verifier<S>,
    S: SignatureEncoding + SignatureBitStringEncoding,
{
    signs_message::<K, S>(what, key);
    let subject = Name::from_str(&format!("CN={what},O=hsm-rs")).unwrap();
    let csr: CertReq = RequestBuilder::new(subject)
        .unwrap()
        .build::<_, S>(key)
        .unwrap_or_else(|e| panic!("{what}: CSR: {e}"));
    assert_eq!(
        csr.info.public_key.to_der().unwrap(),
        hsm.public_key(id).unwrap().as_der(),
        "{what}: the CSR carries another public key than the backend's"
    );
    assert_eq!(
        csr.algorithm,
        key.signature_algorithm_identifier().unwrap(),
        "{what}: the CSR's algorithm is not the handle's"
    );
    let tbs = csr.info.to_der().unwrap();
    let csr_signature = S::try_from(csr.signature.raw_bytes())
        .unwrap_or_else(|_| panic!("{what}: the CSR's signature does not parse"));
    key.verifying_key()
        .verify(&tbs, &csr_signature)
        .unwrap_or_else(|e| panic!("{what}: RustCrypto refused the CSR's signature: {e}"));
    openssl_req_verify(what, &csr.to_pem(der::pem::LineEnding::LF).unwrap());
}

/// A digest through `PrehashSigner<S>`, verified as a prehash with the handle's verifying key.
fn signs_prehash<K, S, D>(what: &str, key: &K)
where
    K: PrehashSigner<S> + Keypair,
    K::VerifyingKey: PrehashVerifier<S>,
    D: sha2::Digest,
{
    let digest = D::digest(MESSAGE);
    let signature = key
        .sign_prehash(&digest)
        .unwrap_or_else(|e| panic!("{what}: sign_prehash: {e}"));
    key.verifying_key()
        .verify_prehash(&digest, &signature)
        .unwrap_or_else(|e| panic!("{what}: RustCrypto refused the prehash signature: {e}"));
}

fn ecdsa_handles(hsm: &Arc<dyn Hsm>) {
    let b = hsm.backend();
    let id = generate(hsm, KeySpec::Ec(Curve::P256));
    let key = EcdsaP256Key::new(hsm.clone(), id.clone()).unwrap();
    signs_message::<_, p256::ecdsa::Signature>(&format!("{b} P-256 raw"), &key);
    signs_message_and_csr::<_, p256::ecdsa::DerSignature>(&format!("{b} P-256"), hsm, &id, &key);
    signs_prehash::<_, p256::ecdsa::Signature, sha2::Sha256>(&format!("{b} P-256"), &key);

    let id = generate(hsm, KeySpec::Ec(Curve::P384));
    let key = EcdsaP384Key::new(hsm.clone(), id.clone()).unwrap();
    signs_message::<_, p384::ecdsa::Signature>(&format!("{b} P-384 raw"), &key);
    signs_message_and_csr::<_, p384::ecdsa::DerSignature>(&format!("{b} P-384"), hsm, &id, &key);
    signs_prehash::<_, p384::ecdsa::Signature, sha2::Sha384>(&format!("{b} P-384"), &key);
}

fn rsa_handles(hsm: &Arc<dyn Hsm>) {
    use rsa::{pkcs1v15, pss};
    let b = hsm.backend();
    let id = generate(hsm, KeySpec::Rsa2048);

    let key = RsaPkcs1Sha256Key::new(hsm.clone(), id.clone()).unwrap();
    let what = format!("{b} RSA PKCS#1 SHA-256");
    signs_message_and_csr::<_, pkcs1v15::Signature>(&what, hsm, &id, &key);
    signs_prehash::<_, pkcs1v15::Signature, sha2::Sha256>(&what, &key);

    let key = RsaPkcs1Sha384Key::new(hsm.clone(), id.clone()).unwrap();
    let what = format!("{b} RSA PKCS#1 SHA-384");
    signs_message_and_csr::<_, pkcs1v15::Signature>(&what, hsm, &id, &key);
    signs_prehash::<_, pkcs1v15::Signature, sha2::Sha384>(&what, &key);

    let key = RsaPkcs1Sha512Key::new(hsm.clone(), id.clone()).unwrap();
    let what = format!("{b} RSA PKCS#1 SHA-512");
    signs_message_and_csr::<_, pkcs1v15::Signature>(&what, hsm, &id, &key);
    signs_prehash::<_, pkcs1v15::Signature, sha2::Sha512>(&what, &key);

    let key = RsaPssSha256Key::new(hsm.clone(), id.clone()).unwrap();
    let what = format!("{b} RSA-PSS SHA-256");
    signs_message_and_csr::<_, pss::Signature>(&what, hsm, &id, &key);
    signs_prehash::<_, pss::Signature, sha2::Sha256>(&what, &key);

    let key = RsaPssSha384Key::new(hsm.clone(), id.clone()).unwrap();
    let what = format!("{b} RSA-PSS SHA-384");
    signs_message_and_csr::<_, pss::Signature>(&what, hsm, &id, &key);
    signs_prehash::<_, pss::Signature, sha2::Sha384>(&what, &key);

    let key = RsaPssSha512Key::new(hsm.clone(), id.clone()).unwrap();
    let what = format!("{b} RSA-PSS SHA-512");
    signs_message_and_csr::<_, pss::Signature>(&what, hsm, &id, &key);
    signs_prehash::<_, pss::Signature, sha2::Sha512>(&what, &key);

    // A handle for one hash refuses nothing at construction, but its signatures are that
    // hash's: a SHA-384 PKCS#1 signature does not verify as SHA-256.
    let sha256 = RsaPkcs1Sha256Key::new(hsm.clone(), id.clone()).unwrap();
    let sha384 = RsaPkcs1Sha384Key::new(hsm.clone(), id).unwrap();
    let signature: pkcs1v15::Signature = sha384.try_sign(MESSAGE).unwrap();
    assert!(
        sha256.verifying_key().verify(MESSAGE, &signature).is_err(),
        "{b}: a SHA-384 signature verified as SHA-256"
    );
}

fn ed25519_handle(hsm: &Arc<dyn Hsm>) {
    let b = hsm.backend();
    let id = generate(hsm, KeySpec::Ed25519);
    let key = Ed25519Key::new(hsm.clone(), id.clone()).unwrap();
    signs_message_and_csr::<_, ed25519_dalek::Signature>(&format!("{b} Ed25519"), hsm, &id, &key);
}

/// Handles refuse a key of another type when they are made.
fn wrong_keys_are_refused(hsm: &Arc<dyn Hsm>) {
    let ec = KeyId::name(format!("handle{}", KeySpec::Ec(Curve::P256).name())).unwrap();
    let rsa = KeyId::name(format!("handle{}", KeySpec::Rsa2048.name())).unwrap();
    let invalid = |r: hsm::Result<()>| r.unwrap_err().kind() == hsm::ErrorKind::InvalidInput;
    assert!(invalid(
        RsaPssSha256Key::new(hsm.clone(), ec.clone()).map(drop)
    ));
    assert!(invalid(
        EcdsaP384Key::new(hsm.clone(), ec.clone()).map(drop)
    ));
    assert!(invalid(
        EcdsaP256Key::new(hsm.clone(), rsa.clone()).map(drop)
    ));
    assert!(invalid(Ed25519Key::new(hsm.clone(), rsa).map(drop)));
}

#[cfg(feature = "nethsm")]
#[test]
fn every_handle_signs_on_nethsm() {
    let hsm = open("nethsm+sim:");
    ecdsa_handles(&hsm);
    rsa_handles(&hsm);
    ed25519_handle(&hsm);
    wrong_keys_are_refused(&hsm);
}

#[cfg(feature = "pkcs11")]
#[test]
fn every_handle_signs_on_pkcs11_softhsm2() {
    let hsm = open("pkcs11+sim:");
    ecdsa_handles(&hsm);
    rsa_handles(&hsm);
    ed25519_handle(&hsm);
    wrong_keys_are_refused(&hsm);
}

/// The N200 holds no Ed25519 keys: every other handle.
#[cfg(feature = "n200")]
#[test]
fn ecdsa_and_rsa_handles_sign_on_n200() {
    let hsm = open("n200+sim:");
    ecdsa_handles(&hsm);
    rsa_handles(&hsm);
    wrong_keys_are_refused(&hsm);
}

/// The SmartCard-HSM holds no Ed25519 keys: every other handle.
#[cfg(feature = "sc")]
#[test]
fn ecdsa_and_rsa_handles_sign_on_smartcard_hsm() {
    let hsm = open("sc-hsm+sim:");
    ecdsa_handles(&hsm);
    rsa_handles(&hsm);
    wrong_keys_are_refused(&hsm);
}
