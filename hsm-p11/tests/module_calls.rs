//! The module through the real C ABI (`cryptoki` loads `libhsm_p11.so`), in a child process whose
//! environment names the configuration before the module loads:
//!
//! - NetHSM and N200 simulator slots: login rules, searching, attributes, every signing mechanism
//!   (single and multi-part) verified in software, key generation and deletion, many sessions
//!   signing from many threads, `CKR_CRYPTOKI_ALREADY_INITIALIZED`;
//! - SoftHSM2 parity: the same calls on SoftHSM2's own module and on this module over a
//!   `pkcs11:` slot of another SoftHSM2 token give the same return codes and attribute shapes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stderr
)]

mod common;

use std::sync::Arc;

use common::*;
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error, RvError};
use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsPssParams};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use hsm_core::{Curve, HashAlgorithm, PublicKey, SignAlgorithm, Signature};

const P256_OID: [u8; 10] = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

fn main() {
    // The parent starts the simulators and SoftHSM2 tokens, then runs the checks in a child whose
    // environment names the configuration; the simulators stop when the parent returns.
    if std::env::var_os("P11_TEST_CHILD").is_none() {
        let dir = tempfile::tempdir().unwrap();
        let nethsm = nethsm_sim(dir.path(), 0);
        let n200 = n200_sim(dir.path(), 0);
        let softhsm = softhsm_token(dir.path(), "viamodule");
        // A second token in the same SoftHSM2 store, used directly.
        let out = std::process::Command::new("softhsm2-util")
            .args([
                "--init-token",
                "--free",
                "--label",
                "direct",
                "--so-pin",
                "12345678",
                "--pin",
                SOFTHSM_PIN,
            ])
            .env("SOFTHSM2_CONF", &softhsm)
            .output()
            .unwrap();
        assert!(out.status.success());
        let config = write_config(
            dir.path(),
            &[
                (nethsm_uri(&nethsm), "nethsm", "N0001"),
                (n200_uri(&n200), "n200", "N2001"),
                (softhsm_uri("viamodule"), "viamodule", "S0001"),
            ],
        );
        let _ = in_child(&module_env(&config, Some(&softhsm)));
        return;
    }
    let module = Pkcs11::new(module_path()).unwrap();
    module
        .initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
        .unwrap();
    let module = Arc::new(module);
    let m = &module;
    run_checks(&[
        ("initialize_twice_is_already_initialized", &|| {
            let again = m.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK));
            assert!(
                matches!(
                    again,
                    Err(Error::Pkcs11(RvError::CryptokiAlreadyInitialized, _))
                ),
                "{again:?}"
            );
        }),
        ("slots_and_tokens_from_the_configuration", &|| {
            let slots = m.get_slots_with_token().unwrap();
            assert_eq!(slots.len(), 3);
            let info = m.get_token_info(slots[0]).unwrap();
            assert_eq!(info.label(), "nethsm");
            assert_eq!(info.serial_number(), "N0001");
            assert!(info.login_required());
        }),
        ("nethsm_login_rules", &|| {
            login_rules(m, slot(m, "nethsm"), NETHSM_OPERATOR_PASS)
        }),
        ("nethsm_sign_every_mechanism", &|| {
            sign_every_mechanism(m, slot(m, "nethsm"), NETHSM_OPERATOR_PASS, true)
        }),
        ("n200_sign_every_mechanism", &|| {
            sign_every_mechanism(m, slot(m, "n200"), N200_PASS, false)
        }),
        ("nethsm_many_sessions_many_threads", &|| {
            many_threads(m, slot(m, "nethsm"), NETHSM_OPERATOR_PASS)
        }),
        ("softhsm_parity", &|| {
            let soft = Pkcs11::new(SOFTHSM_MODULE).unwrap();
            // The module loaded SoftHSM2 too; a second initialisation is expected.
            let _ = soft.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK));
            let direct = slot(&soft, "direct");
            let via = slot(m, "viamodule");
            let a = parity_transcript(&soft, direct);
            let b = parity_transcript(m, via);
            for (x, y) in a.iter().zip(&b) {
                eprintln!("  softhsm: {x}\n  module:  {y}");
            }
            assert_eq!(a, b, "SoftHSM2 and the module answer differently");
        }),
    ]);
}

fn slot(p: &Pkcs11, label: &str) -> Slot {
    p.get_slots_with_token()
        .unwrap()
        .into_iter()
        .find(|s| p.get_token_info(*s).unwrap().label() == label)
        .unwrap_or_else(|| panic!("no token {label}"))
}

fn pin(p: &str) -> AuthPin {
    AuthPin::new(p.into())
}

fn rv<T: std::fmt::Debug>(r: &Result<T, Error>) -> String {
    match r {
        Ok(_) => "OK".into(),
        Err(Error::Pkcs11(rv, _)) => format!("{rv:?}"),
        Err(e) => format!("{e}"),
    }
}

fn login_rules(m: &Pkcs11, slot: Slot, good: &str) {
    let s = m.open_ro_session(slot).unwrap();
    // Before login nothing can be listed, and a wrong PIN is refused once (never retried).
    assert!(
        s.find_objects(&[Attribute::Class(ObjectClass::PRIVATE_KEY)])
            .unwrap()
            .is_empty()
    );
    let wrong = s.login(UserType::User, Some(&pin("not-the-passphrase")));
    assert_eq!(rv(&wrong), "PinIncorrect");
    let so = s.login(UserType::So, Some(&pin(good)));
    assert_eq!(rv(&so), "UserTypeInvalid");
    s.login(UserType::User, Some(&pin(good))).unwrap();
    assert_eq!(
        rv(&s.login(UserType::User, Some(&pin(good)))),
        "UserAlreadyLoggedIn"
    );
    s.logout().unwrap();
    // As SoftHSM2: logging out again is not an error.
    assert_eq!(rv(&s.logout()), "OK");
    // Nothing that needs the credential works while logged out.
    let (ep, es) = ec_templates(b"ck-no-login");
    let rw = m.open_rw_session(slot).unwrap();
    assert_eq!(
        rv(&rw.generate_key_pair(&Mechanism::EccKeyPairGen, &ep, &es)),
        "UserNotLoggedIn"
    );
}

fn ec_templates(id: &[u8]) -> (Vec<Attribute>, Vec<Attribute>) {
    (
        vec![
            Attribute::Token(true),
            Attribute::Verify(true),
            Attribute::EcParams(P256_OID.to_vec()),
            Attribute::Id(id.to_vec()),
        ],
        vec![
            Attribute::Token(true),
            Attribute::Sign(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Id(id.to_vec()),
            Attribute::Label(b"parity".to_vec()),
        ],
    )
}

fn rsa_templates(id: &[u8]) -> (Vec<Attribute>, Vec<Attribute>) {
    (
        vec![
            Attribute::Token(true),
            Attribute::Verify(true),
            Attribute::ModulusBits(2048.into()),
            Attribute::PublicExponent(vec![1, 0, 1]),
            Attribute::Id(id.to_vec()),
        ],
        vec![
            Attribute::Token(true),
            Attribute::Sign(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Id(id.to_vec()),
        ],
    )
}

fn public_key(s: &Session, public: ObjectHandle) -> PublicKey {
    let attrs = s
        .get_attributes(
            public,
            &[
                AttributeType::KeyType,
                AttributeType::EcPoint,
                AttributeType::Modulus,
                AttributeType::PublicExponent,
            ],
        )
        .unwrap();
    let mut point = None;
    let mut n = None;
    let mut e = None;
    for a in attrs {
        match a {
            Attribute::EcPoint(p) => point = Some(p),
            Attribute::Modulus(m) => n = Some(m),
            Attribute::PublicExponent(x) => e = Some(x),
            _ => {}
        }
    }
    match (point, n, e) {
        (Some(p), _, _) if p.len() == 34 => PublicKey::from_ed25519(&p[2..]).unwrap(),
        (Some(p), _, _) => PublicKey::from_ec_point(Curve::P256, &p[2..]).unwrap(),
        (None, Some(n), Some(e)) => PublicKey::from_rsa_components(&n, &e).unwrap(),
        _ => panic!("no public key attributes"),
    }
}

fn verify(key: &PublicKey, alg: SignAlgorithm, msg: &[u8], raw: &[u8]) {
    let sig = Signature::from_bytes(alg, raw)
        .or_else(|_| Signature::ecdsa_from_raw(alg, Curve::P256, raw))
        .unwrap();
    key.verify(msg, &sig)
        .unwrap_or_else(|e| panic!("{alg}: {e}"));
}

fn sign_every_mechanism(m: &Pkcs11, slot: Slot, good: &str, eddsa: bool) {
    let s = m.open_rw_session(slot).unwrap();
    s.login(UserType::User, Some(&pin(good))).unwrap();
    let msg = b"hsm-p11 cryptoki test";
    let (ep, es) = ec_templates(b"ck-ec");
    let (ec_pub, ec_priv) = s
        .generate_key_pair(&Mechanism::EccKeyPairGen, &ep, &es)
        .unwrap();
    let ec = public_key(&s, ec_pub);
    // Found again by class + id, and by label.
    let found = s
        .find_objects(&[
            Attribute::Class(ObjectClass::PRIVATE_KEY),
            Attribute::Id(b"ck-ec".to_vec()),
        ])
        .unwrap();
    assert_eq!(found, vec![ec_priv]);
    let found = s
        .find_objects(&[
            Attribute::KeyType(KeyType::EC),
            Attribute::Class(ObjectClass::PUBLIC_KEY),
            Attribute::Id(b"ck-ec".to_vec()),
        ])
        .unwrap();
    assert_eq!(found, vec![ec_pub]);
    let digest = HashAlgorithm::Sha256.digest(msg);
    verify(
        &ec,
        SignAlgorithm::EcdsaSha256,
        msg,
        &s.sign(&Mechanism::Ecdsa, ec_priv, &digest).unwrap(),
    );
    for (mech, alg) in [
        (Mechanism::EcdsaSha256, SignAlgorithm::EcdsaSha256),
        (Mechanism::EcdsaSha384, SignAlgorithm::EcdsaSha384),
        (Mechanism::EcdsaSha512, SignAlgorithm::EcdsaSha512),
    ] {
        verify(&ec, alg, msg, &s.sign(&mech, ec_priv, msg).unwrap());
        // multi-part
        s.sign_init(&mech, ec_priv).unwrap();
        s.sign_update(&msg[..5]).unwrap();
        s.sign_update(&msg[5..]).unwrap();
        verify(&ec, alg, msg, &s.sign_final().unwrap());
    }
    let always = s
        .get_attributes(ec_priv, &[AttributeType::AlwaysAuthenticate])
        .unwrap();
    assert_eq!(always, vec![Attribute::AlwaysAuthenticate(false)]);

    let (rp, rs) = rsa_templates(b"ck-rsa");
    let (rsa_pub, rsa_priv) = s
        .generate_key_pair(&Mechanism::RsaPkcsKeyPairGen, &rp, &rs)
        .unwrap();
    let rsa = public_key(&s, rsa_pub);
    let info = HashAlgorithm::Sha256.digest_info(&digest).unwrap();
    verify(
        &rsa,
        SignAlgorithm::RsaPkcs1Sha256,
        msg,
        &s.sign(&Mechanism::RsaPkcs, rsa_priv, &info).unwrap(),
    );
    for (mech, alg) in [
        (Mechanism::Sha256RsaPkcs, SignAlgorithm::RsaPkcs1Sha256),
        (Mechanism::Sha384RsaPkcs, SignAlgorithm::RsaPkcs1Sha384),
        (Mechanism::Sha512RsaPkcs, SignAlgorithm::RsaPkcs1Sha512),
    ] {
        verify(&rsa, alg, msg, &s.sign(&mech, rsa_priv, msg).unwrap());
    }
    let pss = |h: MechanismType, mgf: PkcsMgfType, len: u64| PkcsPssParams {
        hash_alg: h,
        mgf,
        s_len: len.into(),
    };
    let p256 = pss(MechanismType::SHA256, PkcsMgfType::MGF1_SHA256, 32);
    verify(
        &rsa,
        SignAlgorithm::RsaPssSha256,
        msg,
        &s.sign(&Mechanism::RsaPkcsPss(p256), rsa_priv, &digest)
            .unwrap(),
    );
    for (mech, alg) in [
        (
            Mechanism::Sha256RsaPkcsPss(p256),
            SignAlgorithm::RsaPssSha256,
        ),
        (
            Mechanism::Sha384RsaPkcsPss(pss(MechanismType::SHA384, PkcsMgfType::MGF1_SHA384, 48)),
            SignAlgorithm::RsaPssSha384,
        ),
        (
            Mechanism::Sha512RsaPkcsPss(pss(MechanismType::SHA512, PkcsMgfType::MGF1_SHA512, 64)),
            SignAlgorithm::RsaPssSha512,
        ),
    ] {
        verify(&rsa, alg, msg, &s.sign(&mech, rsa_priv, msg).unwrap());
    }
    // A salt this module cannot honour, and a mechanism that does not fit the key.
    let short = Mechanism::RsaPkcsPss(pss(MechanismType::SHA256, PkcsMgfType::MGF1_SHA256, 20));
    assert_eq!(
        rv(&s.sign(&short, rsa_priv, &digest)),
        "MechanismParamInvalid"
    );
    assert_eq!(
        rv(&s.sign(&Mechanism::Ecdsa, rsa_priv, &digest)),
        "KeyTypeInconsistent"
    );

    if eddsa {
        let ed_params = vec![0x06, 0x03, 0x2b, 0x65, 0x70];
        let (ed_pub, ed_priv) = s
            .generate_key_pair(
                &Mechanism::EccEdwardsKeyPairGen,
                &[
                    Attribute::Token(true),
                    Attribute::EcParams(ed_params),
                    Attribute::Id(b"ck-ed".to_vec()),
                ],
                &[
                    Attribute::Token(true),
                    Attribute::Sign(true),
                    Attribute::Id(b"ck-ed".to_vec()),
                ],
            )
            .unwrap();
        let ed = public_key(&s, ed_pub);
        let eddsa = Mechanism::Eddsa(cryptoki::mechanism::eddsa::EddsaParams::new(
            cryptoki::mechanism::eddsa::EddsaSignatureScheme::Pure,
        ));
        verify(
            &ed,
            SignAlgorithm::Ed25519,
            msg,
            &s.sign(&eddsa, ed_priv, msg).unwrap(),
        );
        s.destroy_object(ed_priv).unwrap();
    }
    // Deleting the pair makes both handles invalid.
    s.destroy_object(ec_priv).unwrap();
    assert_eq!(
        rv(&s.get_attributes(ec_pub, &[AttributeType::Id])),
        "ObjectHandleInvalid"
    );
    assert!(
        s.find_objects(&[Attribute::Id(b"ck-ec".to_vec())])
            .unwrap()
            .is_empty()
    );
    s.logout().unwrap();
}

fn many_threads(m: &Arc<Pkcs11>, slot: Slot, good: &str) {
    let s = m.open_rw_session(slot).unwrap();
    s.login(UserType::User, Some(&pin(good))).unwrap();
    let (ep, es) = ec_templates(b"ck-threads");
    let (ec_pub, ec_priv) = s
        .generate_key_pair(&Mechanism::EccKeyPairGen, &ep, &es)
        .unwrap();
    let key = public_key(&s, ec_pub);
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let m = Arc::clone(m);
            let key = key.clone();
            std::thread::spawn(move || {
                let s = m.open_ro_session(slot).unwrap();
                for i in 0..20 {
                    let msg = format!("thread {t} message {i}");
                    let sig = s
                        .sign(&Mechanism::EcdsaSha256, ec_priv, msg.as_bytes())
                        .unwrap();
                    verify(&key, SignAlgorithm::EcdsaSha256, msg.as_bytes(), &sig);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    s.destroy_object(ec_priv).unwrap();
}

/// The calls of the parity suite and their answers, as comparable text.
fn parity_transcript(p: &Pkcs11, slot: Slot) -> Vec<String> {
    let mut t = Vec::new();
    let s = p.open_rw_session(slot).unwrap();
    t.push(format!(
        "login wrong: {}",
        rv(&s.login(UserType::User, Some(&pin("000000"))))
    ));
    t.push(format!("logout before login: {}", rv(&s.logout())));
    let (ep, es) = ec_templates(b"par-nologin");
    t.push(format!(
        "generate before login: {}",
        rv(&s.generate_key_pair(&Mechanism::EccKeyPairGen, &ep, &es))
    ));
    s.login(UserType::User, Some(&pin(SOFTHSM_PIN))).unwrap();
    t.push(format!(
        "login twice: {}",
        rv(&s.login(UserType::User, Some(&pin(SOFTHSM_PIN))))
    ));
    let (ep, es) = ec_templates(b"par-ec");
    let (ec_pub, ec_priv) = s
        .generate_key_pair(&Mechanism::EccKeyPairGen, &ep, &es)
        .unwrap();
    let (rp, rs) = rsa_templates(b"par-rsa");
    let (rsa_pub, rsa_priv) = s
        .generate_key_pair(&Mechanism::RsaPkcsKeyPairGen, &rp, &rs)
        .unwrap();
    let found = s
        .find_objects(&[
            Attribute::Class(ObjectClass::PRIVATE_KEY),
            Attribute::Id(b"par-ec".to_vec()),
        ])
        .unwrap();
    t.push(format!(
        "find private by id: {} (the generated one: {})",
        found.len(),
        found == vec![ec_priv]
    ));
    let found = s
        .find_objects(&[
            Attribute::Label(b"parity".to_vec()),
            Attribute::Class(ObjectClass::PRIVATE_KEY),
        ])
        .unwrap();
    t.push(format!("find by label: {}", found.len()));
    let private_attrs = [
        AttributeType::Class,
        AttributeType::KeyType,
        AttributeType::Id,
        AttributeType::Label,
        AttributeType::EcParams,
        AttributeType::Sign,
        AttributeType::Token,
        AttributeType::Private,
        AttributeType::Sensitive,
        AttributeType::Extractable,
        AttributeType::AlwaysAuthenticate,
    ];
    t.push(format!(
        "EC private attributes: {:?}",
        s.get_attributes(ec_priv, &private_attrs).unwrap()
    ));
    t.push(format!(
        "EC private sizes: {:?}",
        s.get_attribute_info(
            ec_priv,
            &[
                AttributeType::EcParams,
                AttributeType::Id,
                AttributeType::Value,
                AttributeType::Modulus
            ]
        )
        .unwrap()
    ));
    let public_attrs = [
        AttributeType::Class,
        AttributeType::KeyType,
        AttributeType::EcParams,
        AttributeType::Verify,
        AttributeType::Private,
    ];
    t.push(format!(
        "EC public attributes: {:?}",
        s.get_attributes(ec_pub, &public_attrs).unwrap()
    ));
    let point = s.get_attributes(ec_pub, &[AttributeType::EcPoint]).unwrap();
    let shape = match point.first() {
        Some(Attribute::EcPoint(p)) => format!("{} bytes, starts {:02x?}", p.len(), &p[..3]),
        other => format!("{other:?}"),
    };
    t.push(format!("EC point shape: {shape}"));
    let rsa = s
        .get_attribute_info(
            rsa_pub,
            &[
                AttributeType::Modulus,
                AttributeType::PublicExponent,
                AttributeType::ModulusBits,
            ],
        )
        .unwrap();
    t.push(format!("RSA public sizes: {rsa:?}"));
    t.push(format!(
        "RSA private exponent: {:?}",
        s.get_attribute_info(rsa_priv, &[AttributeType::PrivateExponent])
            .unwrap()
    ));
    let e = s
        .get_attributes(rsa_pub, &[AttributeType::PublicExponent])
        .unwrap();
    t.push(format!("RSA exponent: {e:?}"));
    // A handle that was valid: its key pair destroyed.
    let (gp, mut gs) = ec_templates(b"par-gone");
    gs.retain(|a| !matches!(a, Attribute::Label(_)));
    let (_, gone) = s
        .generate_key_pair(&Mechanism::EccKeyPairGen, &gp, &gs)
        .unwrap();
    t.push(format!("destroy: {}", rv(&s.destroy_object(gone))));
    t.push(format!(
        "destroyed handle: {}",
        rv(&s.get_attributes(gone, &[AttributeType::Id]))
    ));
    t.push(format!(
        "destroyed handle sign: {}",
        rv(&s.sign_init(&Mechanism::Ecdsa, gone))
    ));
    let digest = HashAlgorithm::Sha256.digest(b"parity");
    let sig = s.sign(&Mechanism::Ecdsa, ec_priv, &digest).unwrap();
    t.push(format!("ECDSA signature: {} bytes", sig.len()));
    let sig = s
        .sign(&Mechanism::Sha256RsaPkcs, rsa_priv, b"parity")
        .unwrap();
    t.push(format!("RSA signature: {} bytes", sig.len()));
    // Not compared: ECDSA with an RSA key. SoftHSM2 answers CKR_GENERAL_ERROR, this module
    // CKR_KEY_TYPE_INCONSISTENT as the standard says (checked in sign_every_mechanism).
    t.push(format!(
        "sign with public key: {}",
        rv(&s.sign(&Mechanism::Ecdsa, ec_pub, &digest))
    ));
    t.push(format!(
        "sign_update without init: {}",
        rv(&s.sign_update(b"x"))
    ));
    s.logout().unwrap();
    t.push(format!(
        "sign after logout: {}",
        rv(&s.sign(&Mechanism::Ecdsa, ec_priv, &digest))
    ));
    t.push(format!(
        "private attributes after logout: {}",
        rv(&s.get_attributes(ec_priv, &[AttributeType::Id]))
    ));
    t
}
