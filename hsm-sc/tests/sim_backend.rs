//! The backend against the in-process simulator: conformance suite, APDU count, PIN safety,
//! data objects, certificates, DKEK backup and restore.

#![cfg(feature = "sim")]

use hsm_core::uri::BackendUri;
use hsm_core::{Curve, ErrorKind, KeyId, KeySpec, KeyStore, KeyTemplate, SignAlgorithm, Signer};
use hsm_sc::protocol::cvc::{self, CvCertificate};
use hsm_sc::protocol::files::{fid, prefix};
use hsm_sc::protocol::tlv;
use hsm_sc::sim::SimulatedCard;
use hsm_sc::{InitParams, PinRef, PinStatus, ScClient, ScHsm, SoPin};
use secrecy::SecretString;

fn sim() -> ScHsm {
    ScHsm::open(BackendUri::parse("sc-hsm+sim:").unwrap()).unwrap()
}

#[test]
fn conformance_suite_passes() {
    let hsm = sim();
    let caps = hsm.capabilities();
    assert!(caps.certificates && caps.random, "{caps:?}");
    let config = hsm_core::conformance::Config::new("conf");
    // The suite's certificate is issued for the key's own public key, which the card keeps in
    // the same file (CExx): every certificate check must pass, with the rest.
    let report = hsm_core::conformance::run(&hsm, &config).unwrap_or_else(|f| panic!("{f}"));
    for passed in [
        "certificate reads back what was stored",
        "a stored certificate is replaced",
        "delete_certificate",
        "store_certificate refuses bytes that are not a certificate",
        "two random(32) calls differ",
    ] {
        assert!(
            report.passed.iter().any(|p| p == passed),
            "{passed}: {report}"
        );
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
        ScClient::in_memory(card.emulator()),
        Some(SecretString::from(hsm_sc::sim::DEFAULT_USER_PIN)),
    )
    .unwrap();
    let id = KeyId::name("k").unwrap();
    hsm.generate_key(&KeyTemplate::new(id.clone(), KeySpec::Ec(Curve::P256)))
        .unwrap();
    // another "process" re-selects the applet: the card logs out
    let mut other = ScClient::in_memory(card.emulator());
    other.run(|c| c.select_applet()).unwrap();
    let sig = hsm.sign(&id, SignAlgorithm::EcdsaSha256, b"m").unwrap();
    hsm.public_key(&id).unwrap().verify(b"m", &sig).unwrap();
}

#[test]
fn a_wrong_pin_is_reported_with_tries_left_and_never_resent() {
    let card = SimulatedCard::initialized().unwrap();
    let hsm = ScHsm::new(
        ScClient::in_memory(card.emulator()),
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
    let mut sc = ScClient::in_memory(card.emulator());
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
    // The card put the key's CV request (an authenticated request, 67) in CExx: no certificate.
    let key_ref: u8 = info.extras["key_ref"].parse().unwrap();
    let cv = hsm
        .with_card(|c| c.run(|c| c.read_file(fid(prefix::CERT, key_ref))))
        .unwrap();
    assert_eq!(cv.first(), Some(&0x67));
    assert_eq!(hsm.certificate(&id).unwrap(), None);
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

/// A certificate (DER) issued by a throwaway CA key for `public`, by the `openssl` CLI.
fn certificate_for(public: &hsm_core::PublicKey, subject: &str) -> Vec<u8> {
    hsm_testkit::cli::openssl_issue_certificate(&public.to_pem(), subject)
}

#[test]
fn certificates_are_stored_replaced_and_deleted_in_cexx() {
    let hsm = sim();
    for (name, spec, alg) in [
        (
            "certec",
            KeySpec::Ec(Curve::P256),
            SignAlgorithm::EcdsaSha256,
        ),
        ("certrsa", KeySpec::Rsa2048, SignAlgorithm::RsaPkcs1Sha256),
    ] {
        let id = KeyId::name(name).unwrap();
        let info = hsm
            .generate_key(&KeyTemplate::new(id.clone(), spec))
            .unwrap();
        let key_ref: u8 = info.extras["key_ref"].parse().unwrap();
        let cexx = || {
            hsm.with_card(|c| c.run(|c| c.read_file(fid(prefix::CERT, key_ref))))
                .unwrap()
        };
        let public = hsm.public_key(&id).unwrap();
        assert_eq!(hsm.certificate(&id).unwrap(), None, "{name}");

        // Stored, then replaced: read back byte for byte, in CExx; the public key is unchanged.
        let first = certificate_for(&public, "/CN=first");
        let second = certificate_for(&public, "/CN=second");
        hsm.store_certificate(&id, &first).unwrap();
        assert_eq!(hsm.certificate(&id).unwrap().as_deref(), Some(&first[..]));
        hsm.store_certificate(&id, &second).unwrap();
        assert_eq!(hsm.certificate(&id).unwrap().as_deref(), Some(&second[..]));
        assert_eq!(cexx(), second);
        assert_eq!(hsm.public_key(&id).unwrap(), public);

        // A certificate for another key, or bytes that are none, are refused; nothing changes.
        // The RSA key's foreign certificate is the EC key's (made first); the EC key's an RSA one.
        let foreign = if name == "certec" {
            hsm_core::PublicKey::from_rsa_components(&[0xC5; 256], &[1, 0, 1]).unwrap()
        } else {
            hsm.public_key(&KeyId::name("certec").unwrap()).unwrap()
        };
        for bad in [
            certificate_for(&foreign, "/CN=foreign"),
            b"not one".to_vec(),
        ] {
            let e = hsm.store_certificate(&id, &bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{name}: {e}");
            assert_eq!(e.operation(), "sc-hsm.store_certificate");
        }
        assert_eq!(cexx(), second);

        // Deleted: CExx holds a CV request for the key's public key again, whose inner
        // signature the key made; the key still signs.
        hsm.delete_certificate(&id).unwrap();
        assert_eq!(hsm.certificate(&id).unwrap(), None);
        let request = cexx();
        let parsed = CvCertificate::parse(&request).unwrap();
        assert_eq!(parsed.public_key().unwrap(), public, "{name}");
        let signature = match spec {
            KeySpec::Ec(curve) => hsm_core::Signature::ecdsa_from_raw(
                SignAlgorithm::EcdsaSha256,
                curve,
                &parsed.signature,
            )
            .unwrap(),
            _ => hsm_core::Signature::from_bytes(SignAlgorithm::RsaPkcs1Sha256, &parsed.signature)
                .unwrap(),
        };
        public.verify(&parsed.body, &signature).unwrap();
        // Authenticated (67, as OpenSC needs it), the outer signature by the key too, under the
        // request's own holder reference.
        assert_eq!(request.first(), Some(&0x67));
        assert_eq!(parsed.outer_car.as_deref(), Some(parsed.chr.as_str()));
        let (outer, _, _) = tlv::parse_one(&request).unwrap();
        let (_, inner_request, _) = tlv::parse_one(outer.value).unwrap();
        let signed = cvc::outer_signed_data(inner_request, &parsed.chr);
        let outer_signature = parsed.outer_signature.clone().unwrap();
        let outer_signature = match spec {
            KeySpec::Ec(curve) => hsm_core::Signature::ecdsa_from_raw(
                SignAlgorithm::EcdsaSha256,
                curve,
                &outer_signature,
            )
            .unwrap(),
            _ => hsm_core::Signature::from_bytes(SignAlgorithm::RsaPkcs1Sha256, &outer_signature)
                .unwrap(),
        };
        public.verify(&signed, &outer_signature).unwrap();
        assert_eq!(cvc::public_key_of_cert_file(&request).unwrap(), public);
        hsm.refresh_keys().unwrap();
        assert_eq!(hsm.public_key(&id).unwrap(), public);
        let sig = hsm.sign(&id, alg, b"after the certificate").unwrap();
        public.verify(b"after the certificate", &sig).unwrap();
        let e = hsm.delete_certificate(&id).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    }
    // A certificate for another key written by another program (straight into CExx, as
    // `pkcs11-tool --write-object` would): deleting it cannot keep a public key it does not
    // know, so the file goes, as OpenSC deletes it; the key stays.
    let id = KeyId::name("certec").unwrap();
    let key_ref: u8 = hsm.key_info(&id).unwrap().extras["key_ref"]
        .parse()
        .unwrap();
    let foreign =
        hsm_core::PublicKey::from_ec_point(Curve::P256, hsm_sc::protocol::curves::P256.g).unwrap();
    let der = certificate_for(&foreign, "/CN=someone else");
    hsm.with_card(|c| {
        c.run(|c| {
            c.verify_pin(&SecretString::from(hsm_sc::sim::DEFAULT_USER_PIN))?;
            c.write_file(fid(prefix::CERT, key_ref), &der)
        })
    })
    .unwrap();
    assert_eq!(hsm.certificate(&id).unwrap(), Some(der));
    hsm.delete_certificate(&id).unwrap();
    assert_eq!(hsm.certificate(&id).unwrap(), None);
    let gone = hsm.with_card(|c| c.run(|c| c.read_file(fid(prefix::CERT, key_ref))));
    assert_eq!(gone.unwrap_err().kind(), ErrorKind::NotFound);
    assert!(hsm.key_info(&id).is_ok());

    let missing = KeyId::name("nocertkey").unwrap();
    assert_eq!(
        hsm.certificate(&missing).unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

#[test]
fn random_comes_in_get_challenge_calls_of_at_most_1024_bytes() {
    let hsm = sim();
    for (len, apdus) in [(0, 0), (1, 1), (1024, 1), (1025, 2), (3000, 3)] {
        let before = hsm.apdu_count().unwrap();
        let bytes = hsm.random(len).unwrap();
        assert_eq!(bytes.len(), len);
        assert_eq!(hsm.apdu_count().unwrap() - before, apdus, "{len} bytes");
    }
    assert_ne!(hsm.random(32).unwrap(), hsm.random(32).unwrap());
    let e = hsm.random(hsm_core::MAX_RANDOM_LEN + 1).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert_eq!(
        hsm.random(hsm_core::MAX_RANDOM_LEN).unwrap().len(),
        hsm_core::MAX_RANDOM_LEN
    );
}

#[test]
fn health_says_ready_without_sending_a_pin_and_why_not_otherwise() {
    let card = SimulatedCard::initialized().unwrap();
    let over = |pin: Option<&str>| {
        ScHsm::new(
            ScClient::in_memory(card.emulator()),
            pin.map(SecretString::from),
        )
        .unwrap()
    };
    // A PIN to send at the first operation: ready, and health sent no PIN (3 tries, unverified).
    let hsm = over(Some(hsm_sc::sim::DEFAULT_USER_PIN));
    hsm.health().unwrap();
    assert_eq!(hsm.pin_status().unwrap(), PinStatus::TriesLeft(3));
    let id = KeyId::name("healthy").unwrap();
    hsm.generate_key(&KeyTemplate::new(id.clone(), KeySpec::Ec(Curve::P256)))
        .unwrap();
    hsm.health().unwrap();
    assert_eq!(hsm.pin_status().unwrap(), PinStatus::Verified);

    // No PIN at all (a new backend selects the applet, which ends the earlier login).
    let e = over(None).health().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
    assert_eq!(e.operation(), "sc-hsm.health");

    // A PIN the card rejected: not ready, with the tries left, and the PIN is not sent again.
    let wrong = over(Some("000000"));
    assert!(wrong.sign(&id, SignAlgorithm::EcdsaSha256, b"m").is_err());
    let before = wrong.apdu_count().unwrap();
    let e = wrong.health().unwrap_err();
    assert_eq!(
        e.kind(),
        ErrorKind::AuthenticationFailed {
            retries_left: Some(2)
        },
        "{e}"
    );
    assert!(!format!("{e:?}").contains("000000"));
    // SELECT and VERIFY without data at most.
    assert!(wrong.apdu_count().unwrap() - before <= 2);
}

#[test]
fn open_with_takes_the_pin_from_code_and_refuses_what_pc_sc_cannot_do() {
    use hsm_core::OpenOptions;
    let pin = || OpenOptions::new().credential(SecretString::from(hsm_sc::sim::DEFAULT_USER_PIN));
    let hsm = hsm_sc::open_with("sc-hsm+sim:", pin().max_in_flight(4)).unwrap();
    let id = KeyId::name("fromcode").unwrap();
    hsm.generate_key(&KeyTemplate::new(id.clone(), KeySpec::Ec(Curve::P256)))
        .unwrap();
    let sig = hsm.sign(&id, SignAlgorithm::EcdsaSha256, b"m").unwrap();
    hsm.public_key(&id).unwrap().verify(b"m", &sig).unwrap();
    // The PIN from code is the one used: a wrong one is the card's refusal.
    let wrong = hsm_sc::open_with(
        "sc-hsm+sim:",
        OpenOptions::new().credential(SecretString::from("000000")),
    )
    .unwrap();
    let e = wrong
        .generate_key(&KeyTemplate::new(id.clone(), KeySpec::Ec(Curve::P256)))
        .unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::AuthenticationFailed { .. }),
        "{e}"
    );
    // Given twice: refused, naming the option, not the PIN.
    let e = hsm_sc::open_with("sc-hsm+sim:?pin-value=123456", pin()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert!(e.to_string().contains("credential"), "{e}");
    assert!(!format!("{e:?}").contains("648219") && !format!("{e:?}").contains("123456"));
    // What PC/SC cannot do is refused, not ignored, in code and in the URI.
    for options in [
        pin().timeout(std::time::Duration::from_secs(1)),
        pin().retries(1),
        pin().connect_timeout(std::time::Duration::from_secs(1)),
    ] {
        let e = hsm_sc::open_with("sc-hsm+sim:", options).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
    }
    let e = hsm_sc::open_with("sc-hsm+sim:?timeout-ms=500", pin()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
}
