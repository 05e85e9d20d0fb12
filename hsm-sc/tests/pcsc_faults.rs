//! Faults on the real PC/SC stack (pcscd + vpcd, the simulated card served from this process):
//! the card pulled out in the middle of a signature, a card coming back (the same one, or
//! another one), and the reader disappearing with pcscd. Each gives a clear error at once, and
//! nothing hangs. Needs pcscd with vpcd (scripts/ci.d/sc.sh); the reader test starts a pcscd of
//! its own in a private mount namespace (root).

#![cfg(all(feature = "sim", feature = "pcsc"))]

mod common;

use std::time::{Duration, Instant};

use common::{PRIVATE_READER, PrivatePcscd, SlotLock, USER_PIN, insert_card, vpcd_addr, wait_card};
use hsm_core::uri::BackendUri;
use hsm_core::{Curve, ErrorKind, KeyId, KeySpec, KeyStore, KeyTemplate, SignAlgorithm, Signer};
use hsm_sc::sim::SimulatedCard;
use hsm_sc::{PinRef, PinStatus, ScHsm};

/// What any failure here must take at most (pcscd's own presence poll is 400 ms).
const PROMPT: Duration = Duration::from_secs(5);

fn open(reader: &str) -> ScHsm {
    let uri = format!(
        "sc-hsm:?reader={}&pin-value={USER_PIN}",
        reader.replace(' ', "%20")
    );
    ScHsm::open(BackendUri::parse(&uri).unwrap()).unwrap()
}

fn sign_and_verify(hsm: &ScHsm, key: &KeyId) {
    let sig = hsm
        .sign(key, SignAlgorithm::EcdsaSha256, b"still signing")
        .unwrap();
    hsm.public_key(key)
        .unwrap()
        .verify(b"still signing", &sig)
        .unwrap();
}

#[test]
fn card_pulled_out_during_a_signature_then_back() {
    if !common::pcscd_available() {
        return;
    }
    let _guard = common::slot_guard(1);
    let _lock = SlotLock::acquire(1);
    let reader = "Virtual PCD 00 01";
    let sim = SimulatedCard::initialized().unwrap();
    let inserted = insert_card(&sim, vpcd_addr(1), reader);

    let hsm = open(reader);
    hsm.health().unwrap();
    let key = KeyId::name("faulty").unwrap();
    hsm.generate_key(&KeyTemplate::new(key.clone(), KeySpec::Ec(Curve::P256)))
        .unwrap();
    sign_and_verify(&hsm, &key);

    // the card leaves the reader while it computes a signature (INS 68)
    inserted.remove_during_command(0x68);
    let t = Instant::now();
    let e = hsm
        .sign(&key, SignAlgorithm::EcdsaSha256, b"interrupted")
        .unwrap_err();
    assert!(t.elapsed() < PROMPT, "took {:?}", t.elapsed());
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    eprintln!("card pulled out during SIGN: {e}");
    assert!(!inserted.is_inserted());
    drop(inserted);
    wait_card(reader, false);

    // while it is out: clear errors at once. A PIN operation says that login() is needed
    // (the PIN is not sent to whatever card comes next); the others say there is no card.
    let e = hsm
        .sign(&key, SignAlgorithm::EcdsaSha256, b"no card")
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidState, "{e}");
    let e = hsm.health().unwrap_err();
    assert_eq!(
        e.kind(),
        ErrorKind::Unavailable,
        "health without a card: {e}"
    );
    for attempt in [hsm.list_keys().map(drop), hsm.login()] {
        let e = attempt.unwrap_err();
        eprintln!("card out: {e}");
        assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
        assert!(e.to_string().contains("no card"), "{e}");
    }

    // the same card comes back: keys are readable, but the PIN is not sent before login()
    let inserted = insert_card(&sim, vpcd_addr(1), reader);
    assert!(hsm.public_key(&key).is_ok());
    let e = hsm
        .sign(&key, SignAlgorithm::EcdsaSha256, b"before login")
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidState, "{e}");
    assert!(e.to_string().contains("login()"), "{e}");
    assert_eq!(
        hsm.pin_status().unwrap(),
        PinStatus::TriesLeft(3),
        "no PIN was sent"
    );
    let e = hsm.health().unwrap_err();
    assert_eq!(
        e.kind(),
        ErrorKind::InvalidState,
        "health before login(): {e}"
    );
    hsm.login().unwrap();
    hsm.health().unwrap();
    sign_and_verify(&hsm, &key);
    let before = hsm.apdu_count().unwrap();
    sign_and_verify(&hsm, &key);
    assert_eq!(hsm.apdu_count().unwrap() - before, 1);

    // pulled out during key generation (INS 46): an error, and the generation is not repeated
    // (after an unknown outcome the caller decides; here the card never got the command)
    inserted.remove_during_command(0x46);
    let gen_key = KeyId::name("half-made").unwrap();
    let e = hsm
        .generate_key(&KeyTemplate::new(gen_key.clone(), KeySpec::Ec(Curve::P256)))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    drop(inserted);
    wait_card(reader, false);
    let inserted = insert_card(&sim, vpcd_addr(1), reader);
    assert!(hsm.public_key(&gen_key).unwrap_err().is_not_found());

    // pulled out during VERIFY, inside the login transaction: an error, no hang; after the
    // card is back, login() works and the counter shows no lost try
    inserted.remove_during_command(0x20);
    let inserted = {
        let t = Instant::now();
        let e = hsm.login().unwrap_err();
        assert!(t.elapsed() < PROMPT, "took {:?}", t.elapsed());
        assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
        drop(inserted);
        wait_card(reader, false);
        insert_card(&sim, vpcd_addr(1), reader)
    };
    assert_eq!(hsm.pin_status().unwrap(), PinStatus::TriesLeft(3));
    hsm.login().unwrap();
    sign_and_verify(&hsm, &key);

    // another card in its place: login() refuses to send the PIN to it
    drop(inserted);
    wait_card(reader, false);
    let _ = hsm.list_keys().unwrap_err();
    let other = SimulatedCard::initialized_with_serial("DEOTHER").unwrap();
    let inserted = insert_card(&other, vpcd_addr(1), reader);
    let e = hsm.login().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidState, "{e}");
    assert!(e.to_string().contains("DEOTHER"), "{e}");
    let mut probe = hsm_sc::ScClient::in_memory(other.emulator());
    assert_eq!(
        probe.run(|c| c.pin_status(PinRef::User)).unwrap(),
        PinStatus::TriesLeft(3),
        "the PIN never reached the other card"
    );
    drop(inserted);
}

#[test]
fn reader_disappears_with_pcscd() {
    let mut pcscd = PrivatePcscd::configure();
    let socket = pcscd.socket();
    if common::in_child(
        "reader_disappears_with_pcscd",
        &[
            ("PCSCLITE_CSOCK_NAME", socket.as_os_str()),
            ("HSM_SC_PRIVATE_DIR", pcscd.dir.as_os_str()),
        ],
    ) {
        return;
    }
    // child: PCSCLITE_CSOCK_NAME points at the private pcscd configured by the parent
    let dir = std::path::PathBuf::from(std::env::var_os("HSM_SC_PRIVATE_DIR").unwrap());
    pcscd = PrivatePcscd::reuse(dir);
    pcscd.start();
    let sim = SimulatedCard::initialized().unwrap();
    let inserted = insert_card(&sim, ("127.0.0.1", pcscd.port), PRIVATE_READER);
    let hsm = open(PRIVATE_READER);
    let key = KeyId::name("k").unwrap();
    hsm.generate_key(&KeyTemplate::new(key.clone(), KeySpec::Ec(Curve::P256)))
        .unwrap();
    sign_and_verify(&hsm, &key);

    pcscd.kill();
    let t = Instant::now();
    for attempt in [
        hsm.sign(&key, SignAlgorithm::EcdsaSha256, b"no reader")
            .map(drop),
        hsm.list_keys().map(drop),
        hsm.login(),
        hsm_sc::transport::list_readers().map(drop),
        hsm_sc::transport::ReaderMonitor::new("HSMRS").map(drop),
    ] {
        let e = attempt.unwrap_err();
        eprintln!("pcscd gone: {e}");
        assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
        assert!(e.to_string().contains("pcscd"), "{e}");
    }
    assert!(t.elapsed() < PROMPT, "took {:?}", t.elapsed());
    let _ = inserted.remove();

    // pcscd and the reader come back, the card is inserted again: login, then sign
    pcscd.start();
    let _inserted = insert_card(&sim, ("127.0.0.1", pcscd.port), PRIVATE_READER);
    hsm.login().unwrap();
    sign_and_verify(&hsm, &key);
}
