//! No PIN or key material leaks: the whole flow (open with `pin-value`, `pin-source` and
//! `pin-env`, a wrong PIN, keys generated and imported, signing, objects, faults) runs with every
//! `tracing` event at TRACE, cryptoki's `log` records included, captured into a buffer. Neither
//! the user PIN, the SO PIN, a wrong PIN nor the imported private key appears in it, nor in any
//! error's `Display`, `Debug` or source chain, nor in the `Debug` of any value holding them.
#![allow(unsafe_code, clippy::unwrap_used)]

mod common;

use cryptoki::session::UserType;
use hsm_core::testkit::{Secrets, TraceCapture, error_text};
use hsm_core::{
    Curve, ImportRequest, KeyId, KeySpec, KeyStore, KeyTemplate, PrivateKeyDer, SignAlgorithm,
    Signer,
};
use hsm_pkcs11::{ObjectKind, Pkcs11Hsm, Pkcs11Uri};
use p256::pkcs8::EncodePrivateKey as _;
use secrecy::SecretString;
use zeroize::Zeroizing;

const USER_PIN: &str = "Pin-4711-Secret";
const SO_PIN: &str = "SoPin-0815-Secret";
const WRONG_PIN: &str = "Wrong-9393-Pin";
/// The imported P-256 key's scalar: a pattern that shows in any encoding.
const SCALAR: [u8; 32] = [
    0x5A, 0xC3, 0x71, 0x9E, 0x5A, 0xC3, 0x71, 0x9E, 0x5A, 0xC3, 0x71, 0x9E, 0x5A, 0xC3, 0x71, 0x9E,
    0x5A, 0xC3, 0x71, 0x9E, 0x5A, 0xC3, 0x71, 0x9E, 0x5A, 0xC3, 0x71, 0x9E, 0x5A, 0xC3, 0x71, 0x9E,
];

fn forbidden(pkcs8: &[u8]) -> Secrets {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut secrets = Secrets::new();
    // The PINs; the key's first 12 and first 6 bytes in hex (both cases), base64, and as a
    // `Debug` byte list; a stretch of its PKCS#8 in base64.
    let _ = secrets
        .text(USER_PIN)
        .text(SO_PIN)
        .text(WRONG_PIN)
        .bytes(&SCALAR[..12])
        .bytes(&SCALAR[..6])
        .text(&b64.encode(pkcs8)[40..80]);
    secrets
}

/// Gives the token our own PINs (the sim's are too common a string to search for), then closes
/// every session so the next open logs in for real.
fn set_pins(slot: u64) {
    use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
    let p = Pkcs11::new(common::MODULE).unwrap();
    let _ = p.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK));
    let s = p.open_rw_session(slot.try_into().unwrap()).unwrap();
    let so = SecretString::from(hsm_pkcs11::sim::SO_PIN);
    s.login(UserType::So, Some(&so)).unwrap();
    s.set_pin(&so, &SecretString::from(SO_PIN)).unwrap();
    s.logout().unwrap();
    let user = SecretString::from(hsm_pkcs11::sim::USER_PIN);
    s.login(UserType::User, Some(&user)).unwrap();
    s.set_pin(&user, &SecretString::from(USER_PIN)).unwrap();
    s.logout().unwrap();
}

#[test]
fn no_pin_or_key_material_reaches_logs_errors_or_debug_output() {
    if !common::ready(false) {
        return;
    }
    // Global: cryptoki's `log` records are captured too.
    let capture = TraceCapture::install_global().unwrap();

    let secret = p256::SecretKey::from_slice(&SCALAR).unwrap();
    let pkcs8 = Zeroizing::new(secret.to_pkcs8_der().unwrap().as_bytes().to_vec());
    let needles = forbidden(&pkcs8);
    let mut shown = Vec::new();

    let (label, slot) = {
        let sim = common::sim();
        let t = sim.token_info().unwrap();
        (t.label, t.slot_id)
    };
    set_pins(slot);
    let base = format!("pkcs11:token={label}?module-path={}", common::MODULE);

    // A wrong PIN: refused, never retried, and not echoed.
    let e = Pkcs11Hsm::open(&format!("{base}&pin-value={WRONG_PIN}")).unwrap_err();
    assert!(e.is_auth(), "{e}");
    shown.push(("wrong PIN error", error_text(&e)));

    // Malformed URIs carrying a PIN.
    for uri in [
        format!("{base}&pin-value={USER_PIN}&pin-value={USER_PIN}"),
        format!("{base}&pin-value={USER_PIN}%zz"),
        format!("{base}&pin-value={USER_PIN}&pin-source=/nonexistent"),
        format!("pkcs11:token={label};bogus=1?pin-value={USER_PIN}"),
        format!("pkcs11:token={label}?module-path=/nonexistent.so&pin-value={USER_PIN}"),
    ] {
        let e = Pkcs11Hsm::open(&uri).unwrap_err();
        shown.push(("malformed URI error", error_text(&e)));
        if let Ok(parsed) = Pkcs11Uri::parse(&uri) {
            shown.push(("parsed URI", format!("{parsed:?}")));
        }
    }
    let parsed = Pkcs11Uri::parse(&format!("{base}&pin-value={USER_PIN}")).unwrap();
    shown.push(("parsed URI", format!("{parsed:?} {:?}", parsed.pin)));

    // The right PIN from a file, the environment and the URI.
    let dir = common::scratch();
    let pin_file = dir.path().join("pin");
    std::fs::write(&pin_file, format!("{USER_PIN}\n")).unwrap();
    let from_file =
        Pkcs11Hsm::open(&format!("{base}&pin-source=file:{}", pin_file.display())).unwrap();
    // SAFETY: this binary's only test; no other thread reads the environment now.
    unsafe { std::env::set_var("HSM_PKCS11_SECRETS_PIN", USER_PIN) };
    let from_env = Pkcs11Hsm::open(&format!("{base}&pin-env=HSM_PKCS11_SECRETS_PIN")).unwrap();
    let e = Pkcs11Hsm::open(&format!("{base}&pin-env=HSM_PKCS11_NO_SUCH_PIN")).unwrap_err();
    shown.push(("missing PIN variable error", error_text(&e)));
    let hsm = Pkcs11Hsm::open(&format!("{base}&pin-value={USER_PIN}")).unwrap();
    shown.push(("backend", format!("{hsm:?} {from_file:?} {from_env:?}")));

    // Keys: generated and imported, signed with, read back, listed, deleted.
    let generated = KeyId::name("generated").unwrap();
    hsm.generate_key(&KeyTemplate::new(
        generated.clone(),
        KeySpec::Ec(Curve::P256),
    ))
    .unwrap();
    let imported = KeyId::name("imported").unwrap();
    let request = ImportRequest::new(imported.clone(), PrivateKeyDer::new(pkcs8.clone()));
    shown.push(("import request", format!("{request:?}")));
    let info = hsm.import_key(&request).unwrap();
    shown.push(("key info", format!("{info:?}")));
    for key in [&generated, &imported] {
        let sig = from_file
            .sign(key, SignAlgorithm::EcdsaSha256, b"m")
            .unwrap();
        hsm.public_key(key).unwrap().verify(b"m", &sig).unwrap();
        shown.push(("signature", format!("{sig:?}")));
    }
    let e = hsm.import_key(&request).unwrap_err();
    shown.push(("import twice error", error_text(&e)));
    shown.push(("key list", format!("{:?}", hsm.list_keys().unwrap())));

    // Objects, random, faults and recovery with their re-login.
    let cert = KeyId::from_bytes(vec![0x33]).unwrap();
    let der = common::openssl_certificate("/CN=secrets");
    hsm.write_object(ObjectKind::Certificate, &cert, &der)
        .unwrap();
    hsm.read_object(ObjectKind::Certificate, &cert).unwrap();
    hsm.store_certificate(&imported, &der).unwrap();
    assert_eq!(hsm.certificate(&imported).unwrap(), Some(der));
    hsm.health().unwrap();
    let _ = hsm.random(32).unwrap();
    common::raw::close_all_sessions(slot);
    let sig = hsm
        .sign(&imported, SignAlgorithm::EcdsaSha256, b"after")
        .unwrap();
    hsm.public_key(&imported)
        .unwrap()
        .verify(b"after", &sig)
        .unwrap();
    let e = hsm
        .sign(
            &KeyId::name("missing").unwrap(),
            SignAlgorithm::EcdsaSha256,
            b"x",
        )
        .unwrap_err();
    shown.push(("missing key error", error_text(&e)));
    hsm.delete_key(&imported).unwrap();
    drop((hsm, from_file, from_env));

    let log = capture.text();
    assert!(
        log.contains("TRACE") || log.contains("DEBUG"),
        "the log caught nothing: {log}"
    );
    assert!(log.contains("pkcs11.sign"), "the sign span is in the log");
    needles.assert_absent("the TRACE log", &log);
    // Capabilities are detected without cryptoki's ERROR line per mechanism it cannot name.
    assert!(!log.contains("is not supported"), "{log}");
    for (what, text) in &shown {
        needles.assert_absent(what, text);
    }
}
