//! SmartCard-HSM signing after login: the APDUs one signature costs (counted; must be exactly
//! one, else the bench fails), and the time per signature for P-256 and RSA-2048 over the
//! in-process transport and over the real PC/SC stack (pcscd + vpcd, the simulated card served
//! from this process; measured only when pcscd with the vpcd reader runs, see
//! scripts/ci.d/sc.sh). The simulator computes with OpenSSL, so the figures are the host-side
//! and transport costs, not a card's.
//!
//! Needs `[[bench]] name = "sc_sign", harness = false, required-features = ["sc", "sim"]`.
#![allow(missing_docs, clippy::unwrap_used, clippy::panic, clippy::print_stderr)]

#[cfg(all(feature = "sc", feature = "sim"))]
mod bench {
    use std::hint::black_box;
    use std::time::{Duration, Instant};

    use criterion::{Criterion, Throughput};
    use hsm::sc::ScHsm;
    use hsm::sc::sim::SimulatedCard;
    use hsm::sc::sim::vpcd::InsertedCard;
    use hsm::uri::BackendUri;
    use hsm::{Curve, KeyId, KeySpec, KeyStore, KeyTemplate, SignAlgorithm, Signer};

    const READER: &str = "Virtual PCD 00 00";

    const CASES: [(&str, KeySpec, SignAlgorithm); 2] = [
        ("p256", KeySpec::Ec(Curve::P256), SignAlgorithm::EcdsaSha256),
        ("rsa2048", KeySpec::Rsa2048, SignAlgorithm::RsaPkcs1Sha256),
    ];

    /// Signs once to log in, then counts the APDUs of one more signature.
    fn apdus_per_signature(hsm: &ScHsm, key: &KeyId, algorithm: SignAlgorithm) -> u64 {
        let _ = hsm.sign(key, algorithm, b"log in").unwrap();
        let before = hsm.apdu_count().unwrap();
        let sig = hsm.sign(key, algorithm, b"counted").unwrap();
        hsm.public_key(key)
            .unwrap()
            .verify(b"counted", &sig)
            .unwrap();
        hsm.apdu_count().unwrap() - before
    }

    fn run_cases(c: &mut Criterion, transport: &str, hsm: &ScHsm) {
        for (name, spec, algorithm) in CASES {
            let key = KeyId::name(format!("bench-{name}")).unwrap();
            hsm.generate_key(&KeyTemplate::new(key.clone(), spec))
                .unwrap();
            let apdus = apdus_per_signature(hsm, &key, algorithm);
            eprintln!("sc-hsm {transport} {name}: {apdus} APDU per signature after login");
            assert_eq!(apdus, 1, "a signature after login must be one APDU");
            let mut group = c.benchmark_group(format!("sc_hsm/{name}/sign"));
            group.throughput(Throughput::Elements(1));
            group.bench_function(transport, |b| {
                b.iter(|| {
                    hsm.sign(&key, algorithm, black_box(b"a message to sign"))
                        .unwrap()
                });
            });
            group.finish();
        }
    }

    /// Holds vpcd slot 0 against the tests and examples in other processes (the abstract socket
    /// name hsm-sc's tests use).
    fn lock_slot() -> std::os::unix::net::UnixListener {
        use std::os::linux::net::SocketAddrExt;
        let addr =
            std::os::unix::net::SocketAddr::from_abstract_name(b"hsm-sc-vpcd-slot-0").unwrap();
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            match std::os::unix::net::UnixListener::bind_addr(&addr) {
                Ok(l) => return l,
                Err(e)
                    if e.kind() == std::io::ErrorKind::AddrInUse && Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(e) => panic!("vpcd slot 0: {e}"),
            }
        }
    }

    pub(crate) fn sc_sign(c: &mut Criterion) {
        let in_process = ScHsm::open(BackendUri::parse("sc-hsm+sim:").unwrap()).unwrap();
        run_cases(c, "in_process", &in_process);

        let readers = hsm::sc::transport::list_readers().unwrap_or_default();
        if !readers.iter().any(|r| r == READER) {
            assert!(
                std::env::var_os("CI").is_none() && std::env::var_os("HSM_SC_PCSCD").is_none(),
                "CI: pcscd with the vpcd reader is not running"
            );
            eprintln!("sc_sign: pcscd with the vpcd reader is not running; PC/SC figures skipped");
            return;
        }
        let _slot = lock_slot();
        let sim = SimulatedCard::initialized().unwrap();
        let _card = InsertedCard::insert(&sim, "127.0.0.1:35963").unwrap();
        let uri = format!(
            "sc-hsm:?reader=Virtual%20PCD%2000%2000&pin-value={}",
            hsm::sc::sim::DEFAULT_USER_PIN
        );
        // pcscd notices the card within one presence poll (400 ms)
        let deadline = Instant::now() + Duration::from_secs(10);
        let over_pcscd = loop {
            match ScHsm::open(BackendUri::parse(&uri).unwrap()) {
                Ok(hsm) => break hsm,
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) => panic!("the simulated card did not appear in {READER}: {e}"),
            }
        };
        run_cases(c, "pcscd_vpcd", &over_pcscd);
    }
}

#[cfg(all(feature = "sc", feature = "sim"))]
criterion::criterion_group!(benches, bench::sc_sign);
#[cfg(all(feature = "sc", feature = "sim"))]
criterion::criterion_main!(benches);

#[cfg(not(all(feature = "sc", feature = "sim")))]
fn main() {}
