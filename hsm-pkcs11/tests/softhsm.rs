//! hsm-pkcs11 against SoftHSM2: the conformance suite, URIs, objects, errors, thread stress.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use hsm_core::conformance::{Config, run};
use hsm_core::{
    DeviceStatus, ErrorKind, KeyId, KeySpec, KeyStore, KeyTemplate, SignAlgorithm, Signer,
};
use hsm_pkcs11::{ObjectKind, Pkcs11Hsm};

#[test]
fn conformance_suite_passes_on_softhsm2() {
    let Some(hsm) = common::sim_if_ready() else {
        return;
    };
    let caps = hsm.capabilities();
    assert!(caps.has_spec(KeySpec::Ed25519) && caps.has_spec(KeySpec::Ec(hsm_core::Curve::P384)));
    assert!(caps.has_algorithm(SignAlgorithm::RsaPssSha256));
    // SoftHSM2's token is writable and has CKF_RNG: the suite runs both groups of checks.
    assert!(caps.certificates && caps.random, "{caps:?}");
    let config = Config::new("conf")
        .skip_spec(KeySpec::Rsa4096)
        .skip_spec(KeySpec::Rsa3072);
    match run(&hsm, &config) {
        Ok(report) => eprintln!("{report}"),
        Err(failures) => panic!("{failures}"),
    }
}

fn uri_for(hsm: &Pkcs11Hsm, query: &str) -> String {
    common::token_uri(hsm, common::MODULE, query)
}

#[test]
fn opens_by_uri_with_pin_from_file_and_env() {
    let Some(sim) = common::sim_if_ready() else {
        return;
    };
    let dir = common::scratch();
    let pin_file = dir.path().join("pin");
    std::fs::write(&pin_file, "123456\n").unwrap();
    let by_file = Pkcs11Hsm::open(&uri_for(
        &sim,
        &format!("pin-source=file:{}", pin_file.display()),
    ))
    .unwrap();
    let key = KeyId::from_bytes(vec![0xF9, 0x0F]).unwrap();
    by_file
        .generate_key(
            &KeyTemplate::new(key.clone(), KeySpec::Ec(hsm_core::Curve::P256))
                .with_label("seed-key"),
        )
        .unwrap();
    // The same key by label and by id, through a second backend on the same token.
    let by_slot = Pkcs11Hsm::open(&format!(
        "pkcs11:slot-id={}?module-name=softhsm2&pin-value=123456",
        sim.token_info().unwrap().slot_id
    ))
    .unwrap();
    let a = by_slot
        .public_key(&KeyId::name("seed-key").unwrap())
        .unwrap();
    assert_eq!(a, by_file.public_key(&key).unwrap());
    let sig = by_slot
        .sign(&key, SignAlgorithm::EcdsaSha256, b"m")
        .unwrap();
    a.verify(b"m", &sig).unwrap();

    let e = Pkcs11Hsm::open(&format!(
        "pkcs11:token=no-such-token?module-path={}",
        common::MODULE
    ))
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    let e = Pkcs11Hsm::open("pkcs11:token=x").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    let e = Pkcs11Hsm::open("pkcs11:token=x?module-path=/nonexistent/lib.so").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable);
}

#[test]
fn wrong_pin_is_an_authentication_error_with_the_ckr_name() {
    let Some(sim) = common::sim_if_ready() else {
        return;
    };
    let uri = uri_for(&sim, "pin-value=97531");
    drop(sim); // closes every session, so the token is logged out again
    let e = Pkcs11Hsm::open(&uri).unwrap_err();
    assert!(e.is_auth(), "{e}");
    match e.status() {
        Some(DeviceStatus::Pkcs11 { code, name }) => {
            assert_eq!(name, "CKR_PIN_INCORRECT");
            assert_eq!(*code, 0xA0);
        }
        other => panic!("{other:?}"),
    }
    assert!(!format!("{e} {e:?}").contains("97531"));
}

#[test]
fn errors_for_unknown_keys_and_stale_handles() {
    let Some(hsm) = common::sim_if_ready() else {
        return;
    };
    let missing = KeyId::name("missing").unwrap();
    assert_eq!(
        hsm.sign(&missing, SignAlgorithm::EcdsaSha256, b"x")
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        hsm.public_key(&missing).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    // A cached handle that goes stale (key deleted and re-created) is refreshed.
    let key = KeyId::name("stale").unwrap();
    let t = KeyTemplate::new(key.clone(), KeySpec::Ec(hsm_core::Curve::P256));
    hsm.generate_key(&t).unwrap();
    hsm.sign(&key, SignAlgorithm::EcdsaSha256, b"1").unwrap();
    let other = Pkcs11Hsm::open(&uri_for(&hsm, "pin-value=123456")).unwrap();
    other.delete_key(&key).unwrap();
    other.generate_key(&t).unwrap();
    let sig = hsm.sign(&key, SignAlgorithm::EcdsaSha256, b"2").unwrap();
    other.public_key(&key).unwrap().verify(b"2", &sig).unwrap();
}

#[test]
fn certificate_and_data_objects_round_trip() {
    let Some(hsm) = common::sim_if_ready() else {
        return;
    };
    let id = KeyId::from_bytes(vec![0x40]).unwrap();
    let cert = common::openssl_certificate("/CN=object");
    hsm.write_object(ObjectKind::Certificate, &id, &cert)
        .unwrap();
    // A certificate object repeats the certificate's subject: bytes that are none are refused.
    let e = hsm
        .write_object(ObjectKind::Certificate, &id, b"\x30\x03\x02\x01\x01")
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert_eq!(hsm.read_object(ObjectKind::Certificate, &id).unwrap(), cert);
    let data = KeyId::name("HSMdata").unwrap();
    hsm.write_object(ObjectKind::Data, &data, b"hello").unwrap();
    assert_eq!(hsm.read_object(ObjectKind::Data, &data).unwrap(), b"hello");
    hsm.delete_object(ObjectKind::Data, &data).unwrap();
    assert_eq!(
        hsm.read_object(ObjectKind::Data, &data).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    hsm.delete_object(ObjectKind::Certificate, &id).unwrap();
    assert_eq!(
        hsm.delete_object(ObjectKind::Certificate, &id)
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
}

#[test]
fn token_info_mechanisms_and_random() {
    let Some(hsm) = common::sim_if_ready() else {
        return;
    };
    let info = hsm.token_info().unwrap();
    assert!(info.label.starts_with("hsm-rs-sim-"));
    assert_eq!(info.manufacturer, "SoftHSM project");
    let mechs = hsm.mechanism_names().unwrap();
    assert!(mechs.iter().any(|m| m == "CKM_ECDSA"), "{mechs:?}");
    assert!(!mechs.iter().any(|m| m == "CKM_ECDSA_SHA256"));
    let a = hsm.random(32).unwrap();
    let b = hsm.random(32).unwrap();
    assert_eq!(a.len(), 32);
    assert_ne!(a, b);
    assert!(!format!("{hsm:?}").contains("123456"));
}

/// Opens a raw session on the token next to the backend and reports whether it is logged in.
/// Login state lasts while any session of the process is open on the token, so once every
/// backend is dropped a logged-in state means a session leaked.
fn raw_session_logged_in(slot_id: u64) -> bool {
    use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
    use cryptoki::session::SessionState;
    let p = Pkcs11::new(common::MODULE).unwrap();
    let _ = p.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK));
    let s = p.open_ro_session(slot_id.try_into().unwrap()).unwrap();
    let state = s.get_session_info().unwrap().session_state();
    matches!(state, SessionState::RoUser)
}

#[test]
fn many_threads_sign_through_one_backend_without_leaking_sessions() {
    if !common::ready(false) {
        return;
    }
    let hsm = Arc::new(common::sim());
    let slot = hsm.token_info().unwrap().slot_id;
    assert_eq!(
        hsm.pool_sessions(),
        1,
        "the idle minimum is open from the start"
    );
    let keys: Vec<(KeyId, KeySpec, SignAlgorithm)> = vec![
        (
            KeyId::name("s-ec").unwrap(),
            KeySpec::Ec(hsm_core::Curve::P256),
            SignAlgorithm::EcdsaSha256,
        ),
        (
            KeyId::name("s-ed").unwrap(),
            KeySpec::Ed25519,
            SignAlgorithm::Ed25519,
        ),
        (
            KeyId::name("s-rsa").unwrap(),
            KeySpec::Rsa2048,
            SignAlgorithm::RsaPssSha256,
        ),
    ];
    for (k, spec, _) in &keys {
        hsm.generate_key(&KeyTemplate::new(k.clone(), *spec))
            .unwrap();
    }
    let threads: Vec<_> = (0..12)
        .map(|t| {
            let hsm = Arc::clone(&hsm);
            let keys = keys.clone();
            std::thread::spawn(move || {
                for i in 0..20 {
                    let (k, _, alg) = &keys[(t + i) % keys.len()];
                    let msg = format!("thread {t} message {i}");
                    let sig = hsm.sign(k, *alg, msg.as_bytes()).unwrap();
                    hsm.public_key(k)
                        .unwrap()
                        .verify(msg.as_bytes(), &sig)
                        .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    // The pool stayed within its size, and the login detector sees the live backend.
    assert!(hsm.pool_sessions() >= 1 && hsm.pool_sessions() <= hsm.pool_size());
    assert!(
        raw_session_logged_in(slot),
        "the backend's login is visible"
    );
    drop(hsm);
    assert!(
        !raw_session_logged_in(slot),
        "a session outlived the backend"
    );
}

/// Errors from shared helpers (hsm-core's key decoder and PIN readers) carry the name of the
/// backend operation that failed, `pkcs11.<operation>`, like every other error of the crate.
#[test]
fn every_error_is_named_by_its_pkcs11_operation() {
    let Some(hsm) = common::sim_if_ready() else {
        return;
    };
    let not_pkcs8 =
        hsm_core::PrivateKeyDer::new(zeroize::Zeroizing::new(vec![0x30, 0x03, 1, 2, 3]));
    let e = hsm
        .import_key(&hsm_core::ImportRequest::new(
            KeyId::name("bad").unwrap(),
            not_pkcs8,
        ))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert_eq!(e.operation(), "pkcs11.import_key", "{e}");

    let e = Pkcs11Hsm::open(&uri_for(&hsm, "pin-env=HSM_RS_TEST_NO_SUCH_VARIABLE")).unwrap_err();
    assert_eq!(e.operation(), "pkcs11.open", "{e}");
    let e = Pkcs11Hsm::open(&uri_for(&hsm, "pin-source=/nonexistent/pin")).unwrap_err();
    assert_eq!(e.operation(), "pkcs11.open", "{e}");

    let key = KeyId::name("named").unwrap();
    hsm.generate_key(&KeyTemplate::new(
        key.clone(),
        KeySpec::Ec(hsm_core::Curve::P256),
    ))
    .unwrap();
    let e = hsm
        .sign_digest(&key, SignAlgorithm::EcdsaSha256, &[0; 31])
        .unwrap_err();
    assert_eq!(e.operation(), "pkcs11.sign_digest", "{e}");
    let e = hsm.sign(&key, SignAlgorithm::Ed25519, b"m").unwrap_err();
    assert!(e.operation().starts_with("pkcs11."), "{e}");
}

#[test]
fn health_is_ok_logged_in_and_permission_denied_without_a_pin() {
    let Some(hsm) = common::sim_if_ready() else {
        return;
    };
    hsm.health().unwrap();
    // The same token opened without a PIN: it answers, but nothing private can be used.
    let public = Pkcs11Hsm::open(&uri_for(&hsm, "x-none=1")).unwrap();
    let e = public.health().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
    assert_eq!(e.operation(), "pkcs11.health");
    assert!(e.to_string().contains("without a PIN"), "{e}");
}

#[test]
fn open_options_give_the_pin_from_code_cap_the_sessions_and_refuse_what_is_given_twice() {
    use hsm_core::{OpenOptions, SecretString};
    let Some(sim) = common::sim_if_ready() else {
        return;
    };
    let with_pin = || OpenOptions::new().credential(SecretString::from(hsm_pkcs11::sim::USER_PIN));
    // The PIN from code: logged in, so a key can be generated and used.
    let hsm =
        hsm_pkcs11::open_with(&uri_for(&sim, "x-none=1"), with_pin().max_in_flight(3)).unwrap();
    hsm.health().unwrap();
    assert_eq!(hsm.pool_size(), 3);
    let (key, public) = common::p256(&hsm, "from-code");
    common::sign_and_verify(&hsm, &key, &public, b"pin from code");
    // The smaller of max-in-flight and the URI's max-sessions applies.
    let hsm = hsm_pkcs11::open_with(
        &uri_for(&sim, "max-sessions=2"),
        with_pin().max_in_flight(5),
    )
    .unwrap();
    assert_eq!(hsm.pool_size(), 2);
    // Given twice: in code and in the URI; and for pkcs11+sim:, whose token has its own PIN.
    for uri in [uri_for(&sim, "pin-value=123456"), "pkcs11+sim:".to_owned()] {
        let e = hsm_pkcs11::open_with(&uri, with_pin()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        assert!(
            e.to_string().contains("given both in code and in the URI"),
            "{e}"
        );
        assert!(!e.to_string().contains("123456"), "{e}");
    }
    // Options a module has no use for are refused, not ignored.
    for options in [
        with_pin().retries(2),
        with_pin().connect_timeout(std::time::Duration::from_secs(1)),
    ] {
        let e = hsm_pkcs11::open_with(&uri_for(&sim, "x-none=1"), options).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
    }
}
