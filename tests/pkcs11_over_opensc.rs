//! The whole stack of the SmartCard-HSM seed without hardware: the `hsm` facade's PKCS#11
//! backend loads OpenSC's `opensc-pkcs11.so`, which talks through pcscd and vpcd to the
//! simulated SmartCard-HSM served from this process. List, generate, sign and verify through
//! `hsm::open("pkcs11:...")`, and the same card seen through `hsm::open("sc-hsm:...")`.
//!
//! Needs pcscd with the vpcd reader (scripts/ci.d/sc.sh) and OpenSC's PKCS#11 module; fails
//! when `CI` is set and either is missing, skips loudly otherwise.

#![cfg(all(feature = "pkcs11", feature = "sc", feature = "sim"))]
#![allow(missing_docs, clippy::unwrap_used, clippy::panic, clippy::print_stderr)]

use std::path::Path;
use std::time::{Duration, Instant};

use hsm::sc::sim::SimulatedCard;
use hsm::sc::sim::vpcd::InsertedCard;
use hsm::sc::transport::{CardEvent, ReaderMonitor};
use hsm::{Curve, KeyId, KeySpec, KeyTemplate, SignAlgorithm};
use hsm_testkit::cli::openssl_dgst_verify;
use hsm_testkit::vpcd::{SlotLock, opensc_module};

const READER: &str = "Virtual PCD 00 00";
const VPCD: &str = "127.0.0.1:35963";
const SERIAL: &str = "DEP11SIM";

/// Whether the peers are there; under `CI` their absence fails the test.
fn peers() -> Option<String> {
    let readers = hsm::sc::transport::list_readers().unwrap_or_default();
    let module = opensc_module();
    let missing = match (&module, readers.iter().any(|r| r == READER)) {
        (None, _) => "OpenSC's opensc-pkcs11.so (package opensc-pkcs11)",
        (_, false) => "pcscd with the vpcd reader (source scripts/ci.d/sc.sh)",
        (Some(_), true) => return module,
    };
    assert!(
        std::env::var_os("CI").is_none() && std::env::var_os("HSM_SC_PCSCD").is_none(),
        "CI: {missing} is missing"
    );
    eprintln!("SKIPPED: {missing} is missing");
    None
}

/// Holds vpcd slot 0 against the hsm-sc tests, benches and examples in other processes.
fn lock_slot() -> SlotLock {
    SlotLock::acquire(0)
}

fn wait_inserted() {
    let mut monitor = ReaderMonitor::new(READER).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Some(CardEvent::Inserted { .. }) = monitor.wait(Duration::from_millis(500)).unwrap()
        {
            return;
        }
    }
    panic!("pcscd never saw the simulated card in {READER}");
}

fn enc(s: &str) -> String {
    s.replace(' ', "%20")
        .replace('(', "%28")
        .replace(')', "%29")
}

fn openssl_verify(dir: &Path, pem: &str, msg: &[u8], sig: &[u8], pss: bool) {
    let (key, m, s) = (dir.join("k.pem"), dir.join("m"), dir.join("s"));
    std::fs::write(&key, pem).unwrap();
    std::fs::write(&m, msg).unwrap();
    std::fs::write(&s, sig).unwrap();
    let extra: &[&str] = if pss {
        &[
            "-sigopt",
            "rsa_padding_mode:pss",
            "-sigopt",
            "rsa_pss_saltlen:-2",
        ]
    } else {
        &[]
    };
    openssl_dgst_verify(&key, "-sha256", &m, &s, extra);
}

#[test]
fn hsm_pkcs11_backend_over_opensc_on_the_simulated_card() {
    let Some(module) = peers() else { return };
    let _slot = lock_slot();
    let sim = SimulatedCard::initialized_with_serial(SERIAL).unwrap();
    let _card = InsertedCard::insert(&sim, VPCD).unwrap();
    wait_inserted();
    let dir = tempfile::tempdir().unwrap();

    // a key made through the native backend first: OpenSC reads the card's objects when it
    // binds the card, and (0.23) does not see keys another program adds later in the same
    // process, so this one exists before the module loads
    let native_uri = format!(
        "sc-hsm:?reader={}&pin-value={}",
        enc(READER),
        hsm::sc::sim::DEFAULT_USER_PIN
    );
    let native = hsm::open(&native_uri).unwrap();
    let made_natively = KeyId::name("native-ec").unwrap();
    native
        .generate_key(&KeyTemplate::new(
            made_natively.clone(),
            KeySpec::Ec(Curve::P384),
        ))
        .unwrap();

    // OpenSC names the token "<PKCS#15 label> (UserPIN)" and reports the device serial
    let uri = format!(
        "pkcs11:token={};serial={SERIAL}?module-path={module}&pin-value={}",
        enc("SmartCard-HSM (UserPIN)"),
        hsm::sc::sim::DEFAULT_USER_PIN
    );
    let p11 = hsm::open(&uri).unwrap_or_else(|e| panic!("{uri}: {e}"));
    assert_eq!(p11.list_keys().unwrap().len(), 1);

    let message = b"the seed's whole stack, without hardware";
    let ec = KeyId::name("p11-ec").unwrap();
    let rsa = KeyId::name("p11-rsa").unwrap();
    p11.generate_key(&KeyTemplate::new(ec.clone(), KeySpec::Ec(Curve::P256)))
        .unwrap();
    p11.generate_key(&KeyTemplate::new(rsa.clone(), KeySpec::Rsa2048))
        .unwrap();
    let listed: Vec<KeyId> = p11.list_keys().unwrap().into_iter().map(|k| k.id).collect();
    assert!(listed.contains(&ec) && listed.contains(&rsa), "{listed:?}");

    for (key, alg) in [
        (&ec, SignAlgorithm::EcdsaSha256),
        (&rsa, SignAlgorithm::RsaPkcs1Sha256),
        (&rsa, SignAlgorithm::RsaPssSha256),
    ] {
        let sig = p11.sign(key, alg, message).unwrap();
        let public = p11.public_key(key).unwrap();
        public.verify(message, &sig).unwrap();
        openssl_verify(
            dir.path(),
            &public.to_pem(),
            message,
            &sig.to_der(),
            alg == SignAlgorithm::RsaPssSha256,
        );
    }

    // OpenSC signs with the natively made key; the native backend reads OpenSC's keys
    assert_eq!(
        native.public_key(&ec).unwrap(),
        p11.public_key(&ec).unwrap(),
        "both paths read the same key"
    );
    let sig = p11
        .sign(&made_natively, SignAlgorithm::EcdsaSha384, message)
        .unwrap_or_else(|e| panic!("OpenSC does not find the natively made key: {e}"));
    native
        .public_key(&made_natively)
        .unwrap()
        .verify(message, &sig)
        .unwrap();
    let sig = native
        .sign(&rsa, SignAlgorithm::RsaPkcs1Sha256, message)
        .unwrap();
    p11.public_key(&rsa).unwrap().verify(message, &sig).unwrap();

    p11.delete_key(&rsa).unwrap();
    native.delete_key(&made_natively).unwrap();
    assert!(p11.public_key(&rsa).unwrap_err().is_not_found());
}
