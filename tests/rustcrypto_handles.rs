//! Every RustCrypto key handle of `hsm::rustcrypto` signs through a real backend, each backend's
//! simulator opened with `hsm::open` (blocking handles) or `hsm::open_async` (async handles):
//! ECDSA on every curve the generic `EcdsaKey<C>` takes (P-256, P-384, P-521, secp256k1,
//! brainpoolP256r1, brainpoolP384r1), RSA PKCS#1 v1.5 and PSS with SHA-256/384/512, Ed25519,
//! for every handle whose key the backend can hold.
//!
//! For each blocking handle: a message signed through `signature::Signer` verifies with the
//! handle's RustCrypto verifying key and with `openssl dgst -verify` (`openssl pkeyutl` for
//! Ed25519); a digest signed through `PrehashSigner` (ECDSA, RSA) verifies as a prehash; and a
//! PKCS#10 request built by `x509-cert` with the handle carries the backend's public key and the
//! handle's algorithm identifier, and its signature verifies with RustCrypto and with
//! `openssl req -verify`.
//!
//! For each async handle, on a current-thread tokio runtime: a message signed through
//! `signature::AsyncSigner` verifies with `openssl`, a self-signed certificate built by
//! `x509-cert`'s `AsyncBuilder` passes `openssl verify`, and while the handle signs another task
//! on the same runtime makes progress (the handle awaits the backend instead of blocking the
//! thread). A blocking handle, used through `signature`'s blanket `AsyncSigner`, is the control:
//! there the other task makes none.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::panic, clippy::indexing_slicing, clippy::print_stderr)]

use std::future::Future;
use std::path::Path;
use std::str::FromStr as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use der::{Decode as _, Encode as _, EncodePem as _};
use hsm::rustcrypto::{
    AsyncEcdsaKey, AsyncEd25519Key, AsyncRsaPkcs1Key, AsyncRsaPssKey, EcdsaKey, EcdsaP256Key,
    EcdsaP384Key, Ed25519Key, HsmCurve, HsmDigest, RsaPkcs1Key, RsaPssKey, RsaPssSha256Key,
};
use hsm::{AsyncHsm, Curve, Hsm, KeyId, KeySpec, KeyTemplate};
use hsm_testkit::cli;
use signature::hazmat::{PrehashSigner, PrehashVerifier};
use signature::{AsyncSigner, Keypair, SignatureEncoding, Signer, Verifier};
use spki::{
    DynSignatureAlgorithmIdentifier, EncodePublicKey, SignatureBitStringEncoding,
    SubjectPublicKeyInfoOwned,
};
use x509_cert::builder::profile::cabf::Root;
use x509_cert::builder::{AsyncBuilder as _, Builder as _, CertificateBuilder, RequestBuilder};
use x509_cert::name::Name;
use x509_cert::request::CertReq;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::Validity;

const MESSAGE: &[u8] = b"hsm-rs: a message signed through a RustCrypto key handle";

fn open(uri: &str) -> Arc<dyn Hsm> {
    Arc::from(hsm::open(uri).unwrap_or_else(|e| panic!("open {uri}: {e}")))
}

fn key_name(spec: KeySpec) -> KeyId {
    KeyId::name(format!("handle{}", spec.name())).unwrap()
}

fn generate(hsm: &Arc<dyn Hsm>, spec: KeySpec) -> KeyId {
    let id = key_name(spec);
    hsm.generate_key(&KeyTemplate::new(id.clone(), spec))
        .unwrap_or_else(|e| panic!("{}: generate {spec}: {e}", hsm.backend()));
    id
}

/// How `openssl` checks a signature.
#[derive(Clone, Copy)]
enum Openssl<'a> {
    /// `openssl dgst -HASH -verify` (ECDSA as DER, RSA PKCS#1 v1.5).
    Dgst(&'a str),
    /// The same with PSS padding and a salt as long as the hash.
    Pss(&'a str),
    /// `openssl pkeyutl -verify -rawin`.
    Ed25519,
}

/// `openssl ARGS` in `dir`; fails the test with openssl's words when it refuses.
fn run_openssl(dir: &Path, args: &[&str]) {
    cli::run(
        std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir),
    );
}

/// `openssl` verifies `signature` over [`MESSAGE`] with the public key in `pem` (`what` names
/// the case when it does not).
fn openssl_verifies(what: &str, pem: &str, signature: &[u8], how: Openssl<'_>) {
    eprintln!("{what}: openssl verifies");
    let pss = [
        "-sigopt",
        "rsa_padding_mode:pss",
        "-sigopt",
        "rsa_pss_saltlen:digest",
    ];
    match how {
        Openssl::Dgst(hash) => {
            cli::openssl_verify(pem, &format!("-{hash}"), MESSAGE, signature, &[])
        }
        Openssl::Pss(hash) => {
            cli::openssl_verify(pem, &format!("-{hash}"), MESSAGE, signature, &pss)
        }
        Openssl::Ed25519 => {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("key.pem"), pem).unwrap();
            std::fs::write(dir.path().join("msg"), MESSAGE).unwrap();
            std::fs::write(dir.path().join("sig"), signature).unwrap();
            let inputs = [
                "-inkey", "key.pem", "-rawin", "-in", "msg", "-sigfile", "sig",
            ];
            run_openssl(
                dir.path(),
                &[&["pkeyutl", "-verify", "-pubin"][..], &inputs].concat(),
            );
        }
    }
}

/// `openssl verify` on a self-signed PEM certificate, trusting itself.
fn openssl_verify_self_signed(what: &str, pem: &str) {
    eprintln!("{what}: openssl verify");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cert.pem"), pem).unwrap();
    run_openssl(dir.path(), &["verify", "-CAfile", "cert.pem", "cert.pem"]);
}

/// A message through `Signer<S>`, verified with the handle's verifying key (and not for another
/// message) and with openssl.
fn signs_message<K, S>(what: &str, pem: &str, key: &K, how: Openssl<'_>)
where
    K: Signer<S> + Keypair,
    K::VerifyingKey: Verifier<S>,
    S: SignatureEncoding,
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
    openssl_verifies(what, pem, signature.to_bytes().as_ref(), how);
}

/// A CSR signed with `S`, holding the backend's public key and the handle's algorithm
/// identifier, verified with RustCrypto and with openssl.
fn signs_csr<K, S>(what: &str, hsm: &Arc<dyn Hsm>, id: &KeyId, key: &K)
where
    K: Signer<S> + Keypair + DynSignatureAlgorithmIdentifier,
    K::VerifyingKey: EncodePublicKey + Verifier<S>,
    S: SignatureEncoding + SignatureBitStringEncoding,
{
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
    eprintln!("{what}: openssl req -verify");
    cli::openssl_req_verify(&csr.to_pem(der::pem::LineEnding::LF).unwrap());
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

/// The generic ECDSA handle on the curve `C`: raw and DER signatures (openssl checks the DER
/// one), a prehash, a CSR; and its clones are one handle (one `Arc`), usable from other threads.
fn ecdsa_handle<C, Der>(hsm: &Arc<dyn Hsm>, curve: Curve, hash: &str)
where
    C: HsmCurve,
    EcdsaKey<C>: Signer<ecdsa::Signature<C>>
        + Signer<Der>
        + PrehashSigner<ecdsa::Signature<C>>
        + DynSignatureAlgorithmIdentifier
        + Send
        + 'static,
    ecdsa::VerifyingKey<C>: EncodePublicKey
        + Verifier<Der>
        + Verifier<ecdsa::Signature<C>>
        + PrehashVerifier<ecdsa::Signature<C>>,
    Der: SignatureEncoding + SignatureBitStringEncoding,
{
    let what = format!("{} {curve}", hsm.backend());
    let id = generate(hsm, KeySpec::Ec(curve));
    let pem = hsm.public_key(&id).unwrap().to_pem();
    let key = EcdsaKey::<C>::new(hsm.clone(), id.clone()).unwrap();
    let raw: ecdsa::Signature<C> = key.try_sign(MESSAGE).unwrap();
    key.verifying_key()
        .verify(MESSAGE, &raw)
        .unwrap_or_else(|e| panic!("{what}: RustCrypto refused the raw signature: {e}"));
    signs_message::<_, Der>(&what, &pem, &key, Openssl::Dgst(hash));
    signs_prehash::<_, ecdsa::Signature<C>, C::Digest>(&what, &key);
    signs_csr::<_, Der>(&what, hsm, &id, &key);

    let clone = key.clone();
    assert_eq!(clone.key_id(), key.key_id());
    let bytes = std::thread::spawn(move || {
        let signature: Der = clone.try_sign(MESSAGE).unwrap();
        signature.to_vec()
    })
    .join()
    .unwrap();
    let signature = Der::try_from(&bytes).unwrap_or_else(|_| panic!("{what}: DER signature"));
    key.verifying_key()
        .verify(MESSAGE, &signature)
        .unwrap_or_else(|e| panic!("{what}: a clone's signature from another thread: {e}"));
}

fn ecdsa_handles(hsm: &Arc<dyn Hsm>) {
    use ecdsa::der::Signature as Der;
    ecdsa_handle::<p256::NistP256, Der<_>>(hsm, Curve::P256, "sha256");
    ecdsa_handle::<p384::NistP384, Der<_>>(hsm, Curve::P384, "sha384");
    ecdsa_handle::<p521::NistP521, Der<_>>(hsm, Curve::P521, "sha512");
    ecdsa_handle::<k256::Secp256k1, Der<_>>(hsm, Curve::Secp256k1, "sha256");
    ecdsa_handle::<bp256::BrainpoolP256r1, Der<_>>(hsm, Curve::BrainpoolP256r1, "sha256");
    ecdsa_handle::<bp384::BrainpoolP384r1, Der<_>>(hsm, Curve::BrainpoolP384r1, "sha384");
}

/// PKCS#1 v1.5 and PSS with the hash `D`, on one RSA key.
fn rsa_handles_with<D: HsmDigest>(hsm: &Arc<dyn Hsm>, id: &KeyId, hash: &str) {
    use rsa::{pkcs1v15, pss};
    let b = hsm.backend();
    let pem = hsm.public_key(id).unwrap().to_pem();

    let key = RsaPkcs1Key::<D>::new(hsm.clone(), id.clone()).unwrap();
    let what = format!("{b} RSA PKCS#1 {hash}");
    signs_message::<_, pkcs1v15::Signature>(&what, &pem, &key, Openssl::Dgst(hash));
    signs_prehash::<_, pkcs1v15::Signature, D>(&what, &key);
    signs_csr::<_, pkcs1v15::Signature>(&what, hsm, id, &key);

    let key = RsaPssKey::<D>::new(hsm.clone(), id.clone()).unwrap();
    let what = format!("{b} RSA-PSS {hash}");
    signs_message::<_, pss::Signature>(&what, &pem, &key, Openssl::Pss(hash));
    signs_prehash::<_, pss::Signature, D>(&what, &key);
    signs_csr::<_, pss::Signature>(&what, hsm, id, &key);
}

fn rsa_handles(hsm: &Arc<dyn Hsm>) {
    let b = hsm.backend();
    let id = generate(hsm, KeySpec::Rsa2048);
    rsa_handles_with::<sha2::Sha256>(hsm, &id, "sha256");
    rsa_handles_with::<sha2::Sha384>(hsm, &id, "sha384");
    rsa_handles_with::<sha2::Sha512>(hsm, &id, "sha512");

    // A handle for one hash refuses nothing at construction, but its signatures are that
    // hash's: a SHA-384 PKCS#1 signature does not verify as SHA-256.
    let sha256 = RsaPkcs1Key::<sha2::Sha256>::new(hsm.clone(), id.clone()).unwrap();
    let sha384 = RsaPkcs1Key::<sha2::Sha384>::new(hsm.clone(), id).unwrap();
    let signature: rsa::pkcs1v15::Signature = sha384.try_sign(MESSAGE).unwrap();
    assert!(
        sha256.verifying_key().verify(MESSAGE, &signature).is_err(),
        "{b}: a SHA-384 signature verified as SHA-256"
    );
}

fn ed25519_handle(hsm: &Arc<dyn Hsm>) {
    let what = format!("{} Ed25519", hsm.backend());
    let id = generate(hsm, KeySpec::Ed25519);
    let pem = hsm.public_key(&id).unwrap().to_pem();
    let key = Ed25519Key::new(hsm.clone(), id.clone()).unwrap();
    signs_message::<_, ed25519_dalek::Signature>(&what, &pem, &key, Openssl::Ed25519);
    signs_csr::<_, ed25519_dalek::Signature>(&what, hsm, &id, &key);
}

/// Handles refuse a key of another type, or on another curve, when they are made.
fn wrong_keys_are_refused(hsm: &Arc<dyn Hsm>) {
    let ec = key_name(KeySpec::Ec(Curve::P256));
    let rsa = key_name(KeySpec::Rsa2048);
    let invalid = |r: hsm::Result<()>| r.unwrap_err().kind() == hsm::ErrorKind::InvalidInput;
    assert!(invalid(
        RsaPssSha256Key::new(hsm.clone(), ec.clone()).map(drop)
    ));
    assert!(invalid(
        EcdsaP384Key::new(hsm.clone(), ec.clone()).map(drop)
    ));
    assert!(invalid(
        EcdsaKey::<k256::Secp256k1>::new(hsm.clone(), ec.clone()).map(drop)
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

// --- async handles ---

/// Runs `signing` and says whether another task on the same (current-thread) runtime ran while
/// it did: a task is spawned that sets a flag as soon as it is polled, and nothing else yields
/// between spawning it and awaiting `signing`. A signer that awaits its backend yields and the
/// task runs; one that blocks the thread until it has the signature never lets it.
async fn other_task_ran_during<F: Future>(signing: F) -> (F::Output, bool) {
    let ran = Arc::new(AtomicBool::new(false));
    let flag = ran.clone();
    let other = tokio::spawn(async move { flag.store(true, Ordering::SeqCst) });
    let output = signing.await;
    let ran_during = ran.load(Ordering::SeqCst);
    other.await.unwrap();
    (output, ran_during)
}

/// A message through `AsyncSigner<S>` while another task must make progress, verified with
/// openssl; then a self-signed certificate from `x509-cert`'s `AsyncBuilder`, verified with
/// `openssl verify`.
///
/// Whether the other task ran is asserted where it is certain: on a backend whose work happens on
/// this runtime (the NetHSM simulator of `nethsm+sim:` is served by it). A backend that works on
/// other threads (`AsyncOverBlocking`'s pool) may have the answer ready at the first poll, and then
/// a future that awaits it correctly finishes without yielding.
async fn async_handle_signs<K, S>(
    what: &str,
    must_yield: bool,
    pem: &str,
    key: &K,
    how: Openssl<'_>,
) where
    K: AsyncSigner<S> + Keypair + DynSignatureAlgorithmIdentifier,
    K::VerifyingKey: EncodePublicKey + Verifier<S>,
    S: SignatureEncoding + SignatureBitStringEncoding,
{
    let (signature, other_ran) = other_task_ran_during(key.sign_async(MESSAGE)).await;
    let signature = signature.unwrap_or_else(|e| panic!("{what}: sign_async: {e}"));
    assert!(
        other_ran || !must_yield,
        "{what}: no other task ran while the async handle signed: it blocked the runtime's thread"
    );
    openssl_verifies(what, pem, signature.to_bytes().as_ref(), how);

    // The CA/Browser Forum root profile wants C, O and CN.
    let subject = Name::from_str(&format!("CN={what},O=hsm-rs,C=DE")).unwrap();
    let spki = SubjectPublicKeyInfoOwned::from_der(
        &key.verifying_key().to_public_key_der().unwrap().to_vec(),
    )
    .unwrap();
    let builder = CertificateBuilder::new(
        Root::new(false, subject).unwrap(),
        SerialNumber::from(42_u32),
        backdated_hour(),
        spki,
    )
    .unwrap();
    let (certificate, other_ran) = other_task_ran_during(builder.build_async::<_, S>(key)).await;
    let certificate = certificate.unwrap_or_else(|e| panic!("{what}: certificate: {e}"));
    assert!(
        other_ran || !must_yield,
        "{what}: the async builder blocked the runtime's thread"
    );
    openssl_verify_self_signed(what, &certificate.to_pem(der::pem::LineEnding::LF).unwrap());
}

/// A validity of an hour that starts five minutes ago: `openssl verify` runs right after the
/// certificate is made, and a guest clock stepped back in between (seen once on the CI VM:
/// "certificate is not yet valid") must not fail the test. What the test checks is the
/// signature and the profile, not the clock.
fn backdated_hour() -> Validity {
    let now = std::time::SystemTime::now();
    Validity::new(
        (now - Duration::from_secs(300)).try_into().unwrap(),
        (now + Duration::from_secs(3600)).try_into().unwrap(),
    )
}

/// Whether the backend's work happens on the caller's runtime: `nethsm+sim:` serves its simulator
/// there, so a signature cannot be ready before the signing future has yielded.
fn served_on_this_runtime(hsm: &Arc<dyn AsyncHsm>) -> bool {
    hsm.backend() == "nethsm"
}

async fn async_generate(hsm: &Arc<dyn AsyncHsm>, spec: KeySpec) -> (KeyId, String) {
    let id = KeyId::name(format!("async{}", spec.name())).unwrap();
    hsm.generate_key(&KeyTemplate::new(id.clone(), spec))
        .await
        .unwrap_or_else(|e| panic!("{}: generate {spec}: {e}", hsm.backend()));
    let pem = hsm.public_key(&id).await.unwrap().to_pem();
    (id, pem)
}

async fn async_ecdsa_handle<C, Der>(hsm: &Arc<dyn AsyncHsm>, curve: Curve, hash: &str)
where
    C: HsmCurve,
    AsyncEcdsaKey<C>: AsyncSigner<Der> + DynSignatureAlgorithmIdentifier,
    ecdsa::VerifyingKey<C>: EncodePublicKey + Verifier<Der>,
    Der: SignatureEncoding + SignatureBitStringEncoding,
{
    let what = format!("{} async {curve}", hsm.backend());
    let (id, pem) = async_generate(hsm, KeySpec::Ec(curve)).await;
    let key = AsyncEcdsaKey::<C>::new(hsm.clone(), id).await.unwrap();
    async_handle_signs::<_, Der>(
        &what,
        served_on_this_runtime(hsm),
        &pem,
        &key.clone(),
        Openssl::Dgst(hash),
    )
    .await;
}

async fn async_ecdsa_handles(hsm: &Arc<dyn AsyncHsm>) {
    use ecdsa::der::Signature as Der;
    async_ecdsa_handle::<p256::NistP256, Der<_>>(hsm, Curve::P256, "sha256").await;
    async_ecdsa_handle::<p384::NistP384, Der<_>>(hsm, Curve::P384, "sha384").await;
    async_ecdsa_handle::<p521::NistP521, Der<_>>(hsm, Curve::P521, "sha512").await;
    async_ecdsa_handle::<k256::Secp256k1, Der<_>>(hsm, Curve::Secp256k1, "sha256").await;
    async_ecdsa_handle::<bp256::BrainpoolP256r1, Der<_>>(hsm, Curve::BrainpoolP256r1, "sha256")
        .await;
    async_ecdsa_handle::<bp384::BrainpoolP384r1, Der<_>>(hsm, Curve::BrainpoolP384r1, "sha384")
        .await;
}

/// The async PKCS#1 v1.5 and PSS handles with the hash `D` on one RSA key.
async fn async_rsa_handles_with<D: HsmDigest>(
    hsm: &Arc<dyn AsyncHsm>,
    id: &KeyId,
    pem: &str,
    hash: &str,
) {
    use rsa::{pkcs1v15, pss};
    let (b, served) = (hsm.backend(), served_on_this_runtime(hsm));

    let key = AsyncRsaPkcs1Key::<D>::new(hsm.clone(), id.clone())
        .await
        .unwrap();
    let what = format!("{b} async RSA PKCS#1 {hash}");
    async_handle_signs::<_, pkcs1v15::Signature>(&what, served, pem, &key, Openssl::Dgst(hash))
        .await;

    let key = AsyncRsaPssKey::<D>::new(hsm.clone(), id.clone())
        .await
        .unwrap();
    let what = format!("{b} async RSA-PSS {hash}");
    async_handle_signs::<_, pss::Signature>(&what, served, pem, &key, Openssl::Pss(hash)).await;
}

async fn async_rsa_handles(hsm: &Arc<dyn AsyncHsm>) {
    let (id, pem) = async_generate(hsm, KeySpec::Rsa2048).await;
    async_rsa_handles_with::<sha2::Sha256>(hsm, &id, &pem, "sha256").await;
    async_rsa_handles_with::<sha2::Sha384>(hsm, &id, &pem, "sha384").await;
    async_rsa_handles_with::<sha2::Sha512>(hsm, &id, &pem, "sha512").await;
}

async fn async_ed25519_handle(hsm: &Arc<dyn AsyncHsm>) {
    let what = format!("{} async Ed25519", hsm.backend());
    let (id, pem) = async_generate(hsm, KeySpec::Ed25519).await;
    let key = AsyncEd25519Key::new(hsm.clone(), id).await.unwrap();
    async_handle_signs::<_, ed25519_dalek::Signature>(
        &what,
        served_on_this_runtime(hsm),
        &pem,
        &key,
        Openssl::Ed25519,
    )
    .await;
}

fn current_thread_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// On the native async NetHSM backend, whose simulator runs on the same one-thread runtime as
/// the test: a handle that blocked the thread could not even get its answer.
#[cfg(feature = "nethsm")]
#[test]
fn async_handles_sign_on_nethsm_without_blocking_a_current_thread_runtime() {
    current_thread_runtime().block_on(async {
        let hsm = tokio::time::timeout(Duration::from_secs(300), async {
            let hsm = hsm::open_async("nethsm+sim:").await.unwrap();
            async_ecdsa_handles(&hsm).await;
            async_rsa_handles(&hsm).await;
            async_ed25519_handle(&hsm).await;
            hsm
        })
        .await
        .expect("the async handles finished within 300 s");
        // A handle on a key of another type is refused when it is made.
        let rsa = KeyId::name(format!("async{}", KeySpec::Rsa2048.name())).unwrap();
        let e = AsyncEcdsaKey::<p256::NistP256>::new(hsm.clone(), rsa)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), hsm::ErrorKind::InvalidInput, "{e}");
    });
}

/// The control: a blocking handle, through `signature`'s blanket `AsyncSigner` (which calls
/// `try_sign`), signs without ever yielding, so the other task does not run. This is what the
/// async handles are measured against above.
#[cfg(feature = "nethsm")]
#[test]
fn control_a_blocking_handle_used_as_async_signer_blocks_the_thread() {
    let hsm = open("nethsm+sim:");
    let id = generate(&hsm, KeySpec::Ec(Curve::P256));
    let key = EcdsaP256Key::new(hsm, id).unwrap();
    current_thread_runtime().block_on(async {
        let (signature, other_ran) = other_task_ran_during(
            AsyncSigner::<p256::ecdsa::Signature>::sign_async(&key, MESSAGE),
        )
        .await;
        signature.unwrap();
        assert!(
            !other_ran,
            "the blanket AsyncSigner over a blocking handle let another task run: the check \
             cannot tell blocking from awaiting"
        );
    });
}

/// Async handles over the other backends this build has, each through `hsm::open_async`.
#[test]
fn async_handles_sign_on_n200_pkcs11_and_smartcard_hsm() {
    current_thread_runtime().block_on(async {
        for scheme in ["n200", "pkcs11", "sc-hsm"] {
            if !hsm::schemes().contains(&scheme) {
                continue;
            }
            let uri = format!("{scheme}+sim:");
            let hsm = hsm::open_async(&uri)
                .await
                .unwrap_or_else(|e| panic!("open_async {uri}: {e}"));
            async_ecdsa_handle::<p256::NistP256, p256::ecdsa::DerSignature>(
                &hsm,
                Curve::P256,
                "sha256",
            )
            .await;
            async_ecdsa_handle::<bp384::BrainpoolP384r1, ecdsa::der::Signature<_>>(
                &hsm,
                Curve::BrainpoolP384r1,
                "sha384",
            )
            .await;
            async_rsa_handles(&hsm).await;
        }
    });
}

/// A handle is one `Arc`: cloning it copies a pointer, whatever the key.
#[test]
fn handles_are_one_pointer_wide() {
    let pointer = size_of::<usize>();
    assert_eq!(size_of::<EcdsaKey<p521::NistP521>>(), pointer);
    assert_eq!(size_of::<RsaPssKey<sha2::Sha512>>(), pointer);
    assert_eq!(size_of::<Ed25519Key>(), pointer);
    assert_eq!(size_of::<AsyncEcdsaKey<bp384::BrainpoolP384r1>>(), pointer);
    assert_eq!(size_of::<AsyncRsaPkcs1Key<sha2::Sha256>>(), pointer);
}
