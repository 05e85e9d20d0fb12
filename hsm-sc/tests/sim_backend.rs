//! The backend against the in-process simulator: conformance suite, APDU count, PIN safety,
//! data objects, certificates, DKEK backup and restore.

#![cfg(feature = "sim")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use hsm_core::uri::BackendUri;
use hsm_core::{Curve, ErrorKind, KeyId, KeySpec, KeyStore, KeyTemplate, SignAlgorithm, Signer};
use hsm_sc::sim::SimulatedCard;
use hsm_sc::{InitParams, PinRef, PinStatus, ScClient, ScHsm, SoPin};
use secrecy::SecretString;

fn sim() -> ScHsm {
    ScHsm::open(BackendUri::parse("sc-hsm+sim:").unwrap()).unwrap()
}

#[test]
fn conformance_suite_passes() {
    let hsm = sim();
    let config = hsm_core::conformance::Config::new("conf");
    match hsm_core::conformance::run(&hsm, &config) {
        Ok(report) => eprintln!("{report:?}"),
        Err(f) => panic!("{f}"),
    }
}

#[test]
fn a_signature_after_login_is_one_apdu() {
    let hsm = sim();
    for (name, spec, alg) in [
        ("p256", KeySpec::Ec(Curve::P256), SignAlgorithm::EcdsaSha256),
        ("rsa", KeySpec::Rsa2048, SignAlgorithm::RsaPkcs1Sha256),
    ] {
        let id = KeyId::name(name).unwrap();
        hsm.generate_key(&KeyTemplate::new(id.clone(), spec))
            .unwrap();
        let first = hsm.sign(&id, alg, b"warm up").unwrap();
        hsm.public_key(&id)
            .unwrap()
            .verify(b"warm up", &first)
            .unwrap();
        let before = hsm.apdu_count().unwrap();
        let sig = hsm.sign(&id, alg, b"counted").unwrap();
        assert_eq!(hsm.apdu_count().unwrap() - before, 1, "{name}");
        hsm.public_key(&id)
            .unwrap()
            .verify(b"counted", &sig)
            .unwrap();
    }
}

#[test]
fn a_logout_by_another_connection_costs_one_login_not_a_retry() {
    let card = SimulatedCard::initialized().unwrap();
    let hsm = ScHsm::new(
        ScClient::new(Box::new(hsm_sc::transport::MemoryChannel::new(
            card.emulator(),
        ))),
        Some(SecretString::from(hsm_sc::sim::DEFAULT_USER_PIN)),
    )
    .unwrap();
    let id = KeyId::name("k").unwrap();
    hsm.generate_key(&KeyTemplate::new(id.clone(), KeySpec::Ec(Curve::P256)))
        .unwrap();
    // another "process" re-selects the applet: the card logs out
    let mut other = ScClient::new(Box::new(hsm_sc::transport::MemoryChannel::new(
        card.emulator(),
    )));
    other.run(|c| c.select_applet()).unwrap();
    let sig = hsm.sign(&id, SignAlgorithm::EcdsaSha256, b"m").unwrap();
    hsm.public_key(&id).unwrap().verify(b"m", &sig).unwrap();
}

#[test]
fn a_wrong_pin_is_reported_with_tries_left_and_never_resent() {
    let card = SimulatedCard::initialized().unwrap();
    let hsm = ScHsm::new(
        ScClient::new(Box::new(hsm_sc::transport::MemoryChannel::new(
            card.emulator(),
        ))),
        Some(SecretString::from("000000")),
    )
    .unwrap();
    let e = hsm.login().unwrap_err();
    assert_eq!(
        e.kind(),
        ErrorKind::AuthenticationFailed {
            retries_left: Some(2)
        }
    );
    assert!(e.to_string().contains("2 tries left"), "{e}");
    let before = hsm.apdu_count().unwrap();
    let e = hsm
        .list_keys()
        .and_then(|_| {
            hsm.generate_key(&KeyTemplate::new(
                KeyId::name("x").unwrap(),
                KeySpec::Ec(Curve::P256),
            ))
            .map(drop)
        })
        .unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::AuthenticationFailed { .. }),
        "{e}"
    );
    // list_keys needs no PIN; generate must not have sent a VERIFY
    assert_eq!(hsm.pin_status().unwrap(), PinStatus::TriesLeft(2));
    assert!(hsm.apdu_count().unwrap() - before <= 4);
    hsm.set_pin(SecretString::from(hsm_sc::sim::DEFAULT_USER_PIN))
        .unwrap();
    hsm.login().unwrap();
    assert_eq!(hsm.pin_status().unwrap(), PinStatus::Verified);
}

#[test]
fn so_pin_is_guarded_by_its_retry_counter() {
    let card = SimulatedCard::initialized().unwrap();
    let mut sc = ScClient::new(Box::new(hsm_sc::transport::MemoryChannel::new(
        card.emulator(),
    )));
    sc.run(|c| c.select_applet()).unwrap();
    let wrong = SoPin::from_hex(&SecretString::from("0000000000000000")).unwrap();
    let new_pin = SecretString::from("123456");
    for left in (1..15u32).rev() {
        let e = sc
            .run(|c| c.unblock_pin(&wrong, Some(&new_pin), false))
            .unwrap_err();
        if left >= 1 && e.kind() == ErrorKind::InvalidState {
            // refused before sending: only one try left
            assert_eq!(left, 1, "{e}");
            break;
        }
        assert_eq!(
            e.kind(),
            ErrorKind::AuthenticationFailed {
                retries_left: Some(left)
            },
            "{e}"
        );
        assert!(e.to_string().contains("SO-PIN"), "{e}");
    }
    assert_eq!(
        sc.run(|c| c.pin_status(PinRef::So)).unwrap(),
        PinStatus::TriesLeft(1)
    );
    let e = sc
        .run(|c| c.unblock_pin(&wrong, Some(&new_pin), false))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidState);
    // the right SO-PIN with force works and resets the counter
    sc.run(|c| c.unblock_pin(&SoPin::factory_default(), Some(&new_pin), true))
        .unwrap();
    assert_eq!(
        sc.run(|c| c.pin_status(PinRef::So)).unwrap(),
        PinStatus::TriesLeft(15)
    );
    sc.run(|c| c.verify_pin(&new_pin)).unwrap();
}

#[test]
fn data_objects_and_certificates() {
    let hsm = sim();
    hsm.write_data_object("mydata", b"hello data", false)
        .unwrap();
    assert_eq!(hsm.read_data_object("mydata").unwrap(), b"hello data");
    hsm.write_data_object("secret", b"s3cr3t", true).unwrap();
    assert_eq!(hsm.read_data_object("secret").unwrap(), b"s3cr3t");
    hsm.delete_data_object("mydata").unwrap();
    assert!(hsm.read_data_object("mydata").unwrap_err().is_not_found());
    let id = KeyId::from_bytes(vec![0x45]).unwrap();
    hsm.generate_key(&KeyTemplate::new(id.clone(), KeySpec::Ec(Curve::P384)).with_label("lbl"))
        .unwrap();
    let info = hsm.key_info(&KeyId::name("lbl").unwrap()).unwrap();
    assert_eq!(info.extras.get("id").map(String::as_str), Some("45"));
    let cv = hsm.read_certificate(&id).unwrap();
    assert_eq!(cv.first(), Some(&0x67));
}

#[test]
fn backup_and_restore_through_dkek_shares() {
    let hsm = sim();
    let so = SoPin::factory_default();
    let pin = SecretString::from("648219");
    hsm.initialize(&InitParams::new(so.clone(), pin.clone()).with_dkek_shares(1))
        .unwrap();
    assert_eq!(hsm.dkek_status().unwrap().unwrap().outstanding, 1);
    // a share file with the real iteration count costs seconds; the share itself is what
    // the card combines, so import it directly here (tests/opensc.rs covers the files)
    let share = zeroize::Zeroizing::new([0x5Au8; 32]);
    let st = hsm
        .with_card(|c| c.run(|c| c.import_dkek_share(&share)))
        .unwrap();
    assert_eq!(st.outstanding, 0);
    let mut one = [0u8; 32];
    one.copy_from_slice(&[0x5A; 32]);
    assert_eq!(st.kcv, hsm_sc::protocol::dkek::kcv(&one));
    let id = KeyId::name("backed-up").unwrap();
    hsm.generate_key(&KeyTemplate::new(id.clone(), KeySpec::Ec(Curve::P256)))
        .unwrap();
    let pk = hsm.public_key(&id).unwrap();
    let file = hsm.wrap_key(&id).unwrap();
    assert!(file.prkd.is_some() && file.certificate.is_some());
    let bytes = file.encode();
    // wipe, restore with the same DKEK, sign with the restored key
    hsm.initialize(&InitParams::new(so, pin).with_dkek_shares(1))
        .unwrap();
    assert!(hsm.list_keys().unwrap().is_empty());
    let wrong = hsm.unwrap_key(&hsm_sc::WrappedKeyFile::decode(&bytes).unwrap(), false);
    assert!(wrong.is_err(), "no DKEK yet");
    hsm.with_card(|c| c.run(|c| c.import_dkek_share(&share)))
        .unwrap();
    let info = hsm
        .unwrap_key(&hsm_sc::WrappedKeyFile::decode(&bytes).unwrap(), false)
        .unwrap();
    assert_eq!(info.id, id);
    let sig = hsm
        .sign(&id, SignAlgorithm::EcdsaSha256, b"restored")
        .unwrap();
    pk.verify(b"restored", &sig).unwrap();
}

#[test]
fn debug_output_holds_no_pin() {
    let hsm = ScHsm::open(BackendUri::parse("sc-hsm+sim:?pin-value=99887766").unwrap()).unwrap();
    let dbg = format!("{hsm:?}");
    assert!(!dbg.contains("99887766"), "{dbg}");
    let p = InitParams::new(SoPin::factory_default(), SecretString::from("99887766"));
    assert!(!format!("{p:?}").contains("99887766"));
}

#[test]
fn uri_errors() {
    let e = ScHsm::open(BackendUri::parse("sc-hsm+sim:?bogus=1").unwrap()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(e.to_string().contains("bogus"));
    let e =
        ScHsm::open(BackendUri::parse("sc-hsm+sim:?pin-value=1&pin-env=X").unwrap()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
}
