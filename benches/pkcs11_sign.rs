//! PKCS#11 signing on a SoftHSM2 token this bench makes in a temporary directory: P-256,
//! RSA-2048 and Ed25519 through the backend against the same operation through raw `cryptoki`
//! calls in the same run (the backend's overhead goal: within 5%), and `sign_many` with a pool
//! of 2 sessions against 1.
//!
//! The backend and the raw calls are measured in pairs: every iteration makes one signature
//! each way (alternating which goes first) and times both, so a busy machine slows both alike.
//! `raw_cryptoki` and `backend` report their half of the pairs; at the end of each group the
//! median over all pairs of backend time / raw time is printed as `overhead` (a median, so a
//! pair the scheduler interrupted does not count). `sign_many` is paired the same way and
//! prints its `speed-up`.
//!
//! ```sh
//! cargo bench --no-default-features --features pkcs11,sim --bench pkcs11_sign
//! ```
#![allow(missing_docs, unsafe_code, clippy::expect_used, clippy::print_stderr)]

use std::cell::RefCell;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hsm::pkcs11::cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use hsm::pkcs11::cryptoki::mechanism::Mechanism;
use hsm::pkcs11::cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use hsm::pkcs11::cryptoki::object::{Attribute, ObjectClass, ObjectHandle};
use hsm::pkcs11::cryptoki::session::Session;
use hsm::pkcs11::{Options, Pkcs11Hsm, sim};
use hsm::{
    Curve, HashAlgorithm, KeyId, KeySpec, KeyStore as _, KeyTemplate, SignAlgorithm, Signer as _,
};

const MESSAGE: &[u8] = b"a release artifact's manifest, signed once per build";

/// `iters` rounds of `first` and `second` once each, alternating which goes first so that a busy
/// machine slows both alike; each round's `ratio(first seconds, second seconds)` goes into
/// `ratios`. Returns each side's total time.
fn paired(
    iters: u64,
    ratios: &RefCell<Vec<f64>>,
    first: impl Fn() -> Duration,
    second: impl Fn() -> Duration,
    ratio: impl Fn(f64, f64) -> f64,
) -> (Duration, Duration) {
    let (mut first_time, mut second_time) = (Duration::ZERO, Duration::ZERO);
    let mut ratios = ratios.borrow_mut();
    for i in 0..iters {
        let (a, b) = if i % 2 == 0 {
            let a = first();
            (a, second())
        } else {
            let b = second();
            (first(), b)
        };
        first_time += a;
        second_time += b;
        ratios.push(ratio(a.as_secs_f64(), b.as_secs_f64()));
    }
    (first_time, second_time)
}

/// The median of `ratios` and how many there are, if there are any.
fn median(ratios: RefCell<Vec<f64>>) -> Option<(f64, usize)> {
    let mut ratios = ratios.into_inner();
    ratios.sort_by(f64::total_cmp);
    Some((*ratios.get(ratios.len() / 2)?, ratios.len()))
}

/// Points SoftHSM2 at a fresh token directory; kept for the whole run.
fn softhsm() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary directory");
    let conf = sim::write_config(dir.path()).expect("softhsm2.conf");
    // SAFETY: runs first, before any thread exists and before SoftHSM2 is loaded.
    unsafe { std::env::set_var("SOFTHSM2_CONF", conf) };
    dir
}

/// A raw session on the backend's token (the backend's login holds for it too) and the private
/// key handle of `label`.
fn raw(slot_id: u64, label: &str) -> (Session, ObjectHandle) {
    let p11 = Pkcs11::new(sim::SOFTHSM2_MODULE).expect("module");
    let _ = p11.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK));
    let slot = p11
        .get_slots_with_token()
        .expect("slots")
        .into_iter()
        .find(|s| s.id() == slot_id)
        .expect("the backend's slot");
    let session = p11.open_ro_session(slot).expect("session");
    let key = session
        .find_objects(&[
            Attribute::Class(ObjectClass::PRIVATE_KEY),
            Attribute::Label(label.as_bytes().to_vec()),
        ])
        .expect("find")
        .pop()
        .expect("the key");
    (session, key)
}

/// What the backend does for `algorithm`, by hand: hash on the host, then one `C_Sign`.
fn raw_sign(session: &Session, key: ObjectHandle, algorithm: SignAlgorithm) -> Vec<u8> {
    match algorithm {
        SignAlgorithm::EcdsaSha256 => {
            let digest = HashAlgorithm::Sha256.digest(MESSAGE);
            session.sign(&Mechanism::Ecdsa, key, &digest)
        }
        SignAlgorithm::RsaPkcs1Sha256 => {
            let info = HashAlgorithm::Sha256
                .digest_info(&HashAlgorithm::Sha256.digest(MESSAGE))
                .expect("DigestInfo");
            session.sign(&Mechanism::RsaPkcs, key, &info)
        }
        _ => session.sign(
            &Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure)),
            key,
            MESSAGE,
        ),
    }
    .expect("raw sign")
}

fn pkcs11(c: &mut Criterion) {
    let _dir = softhsm();
    let one = Options::default().with_concurrency(1);
    let hsm = Pkcs11Hsm::open_with("pkcs11+sim:", one).expect("SoftHSM2 token");
    let token = hsm.token_info().expect("token info");

    let cases = [
        ("p256", KeySpec::Ec(Curve::P256), SignAlgorithm::EcdsaSha256),
        ("rsa2048", KeySpec::Rsa2048, SignAlgorithm::RsaPkcs1Sha256),
        ("ed25519", KeySpec::Ed25519, SignAlgorithm::Ed25519),
    ];
    for (name, spec, algorithm) in cases {
        let label = format!("bench-{name}");
        let key = KeyId::name(&label).expect("name");
        hsm.generate_key(&KeyTemplate::new(key.clone(), spec))
            .expect("key");
        let public = hsm.public_key(&key).expect("public key");
        public
            .verify(MESSAGE, &hsm.sign(&key, algorithm, MESSAGE).expect("sign"))
            .expect("verify");
        let (session, handle) = raw(token.slot_id, &label);

        // backend time / raw time of every pair, over all iterations of both functions.
        let ratios = RefCell::new(Vec::new());
        let timed_raw = || {
            let start = Instant::now();
            black_box(raw_sign(&session, handle, black_box(algorithm)));
            start.elapsed()
        };
        let timed_backend = || {
            let start = Instant::now();
            black_box(hsm.sign(&key, algorithm, black_box(MESSAGE)).expect("sign"));
            start.elapsed()
        };
        let pairs = |iters: u64, backend_side: bool| {
            let (raw, backend) = paired(iters, &ratios, timed_raw, timed_backend, |r, b| b / r);
            if backend_side { backend } else { raw }
        };
        let mut group = c.benchmark_group(format!("pkcs11/{name}/sign"));
        group.throughput(Throughput::Elements(1));
        group.bench_function("raw_cryptoki", |b| {
            b.iter_custom(|iters| pairs(iters, false));
        });
        group.bench_function("backend", |b| {
            b.iter_custom(|iters| pairs(iters, true));
        });
        group.finish();
        if let Some((median, count)) = median(ratios) {
            eprintln!(
                "pkcs11/{name}/sign overhead: backend/raw = {median:.3} (median of {count} pairs)"
            );
        }
    }

    // sign_many over 64 messages: a pool of 1 session (one thread) against 2 (two threads).
    let two = Options::default().with_concurrency(2);
    let uri = format!(
        "pkcs11:token={}?module-path={}&pin-value={}",
        token.label,
        sim::SOFTHSM2_MODULE,
        sim::USER_PIN
    );
    let pair = Pkcs11Hsm::open_with(&uri, two).expect("second backend");
    let key = KeyId::name("bench-p256").expect("name");
    let batch: Vec<Vec<u8>> = (0..64u32).map(|i| i.to_be_bytes().to_vec()).collect();
    let refs: Vec<&[u8]> = batch.iter().map(Vec::as_slice).collect();
    let sign_all = |backend: &Pkcs11Hsm| {
        let start = Instant::now();
        for r in backend.sign_many(&key, SignAlgorithm::EcdsaSha256, black_box(&refs)) {
            let _ = black_box(r.expect("sign"));
        }
        start.elapsed()
    };
    // Paired like the single signatures: one batch each way per iteration; the printed
    // speed-up is the median of 1-thread time / 2-thread time.
    let speedups = RefCell::new(Vec::new());
    let (one, two) = (|| sign_all(&hsm), || sign_all(&pair));
    let pairs = |iters: u64, two_side: bool| {
        let (one_time, two_time) = paired(iters, &speedups, one, two, |one, two| one / two);
        if two_side { two_time } else { one_time }
    };
    let mut group = c.benchmark_group("pkcs11/p256/sign_many_64");
    group.throughput(Throughput::Elements(batch.len() as u64));
    group.bench_function("1_thread", |b| b.iter_custom(|iters| pairs(iters, false)));
    group.bench_function("2_threads", |b| b.iter_custom(|iters| pairs(iters, true)));
    group.finish();
    if let Some((median, count)) = median(speedups) {
        eprintln!(
            "pkcs11/p256/sign_many_64 speed-up: 1 thread / 2 threads = {median:.2} (median of {count} pairs, {} cores)",
            std::thread::available_parallelism().map_or(0, usize::from)
        );
    }
}

criterion_group!(benches, pkcs11);
criterion_main!(benches);
