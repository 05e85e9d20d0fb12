//! The module through the real C ABI (`cryptoki` loads `libhsm_p11.so`), in a child process whose
//! environment names the configuration before the module loads:
//!
//! - NetHSM and N200 simulator slots: login rules, searching, attributes, every signing mechanism
//!   (single and multi-part) verified in software, key generation and deletion, many sessions
//!   signing from many threads, `CKR_CRYPTOKI_ALREADY_INITIALIZED`;
//! - certificates and random bytes on every slot, exactly as its backend declares them
//!   (`CKF_RNG`; `C_CreateObject` of a certificate answers `CKR_FUNCTION_NOT_SUPPORTED` where
//!   the backend stores none);
//! - SoftHSM2 parity: the same calls on SoftHSM2's own module and on this module over a
//!   `pkcs11:` slot of another SoftHSM2 token give the same return codes and attribute shapes
//!   (keys, signing, certificate objects, random bytes).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::indexing_slicing, clippy::print_stderr)]

mod common;

use std::sync::Arc;

use common::*;
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error, RvError};
use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsPssParams};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{
    Attribute, AttributeType, CertificateType, KeyType, ObjectClass, ObjectHandle,
};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use hsm_core::{Curve, HashAlgorithm, PublicKey, SignAlgorithm, Signature};

use common::fixtures::P256_OID;

/// Every configured slot's token label and the PIN that logs into it.
const SLOTS_AND_PINS: [(&str, &str); 3] = [
    ("nethsm", NETHSM_OPERATOR_PASS),
    ("n200", N200_PASS),
    ("viamodule", SOFTHSM_PIN),
];

fn main() {
    // The parent starts the simulators and SoftHSM2 tokens, then runs the checks in a child whose
    // environment names the configuration; the simulators stop when the parent returns.
    if std::env::var_os("P11_TEST_CHILD").is_none() {
        let dir = tempfile::tempdir().unwrap();
        let nethsm = nethsm_sim(dir.path(), 0);
        let n200 = n200_sim(dir.path(), 0);
        let softhsm = softhsm_token(dir.path(), "viamodule");
        // A second token in the same SoftHSM2 store, used directly.
        run(std::process::Command::new("softhsm2-util")
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
            .env("SOFTHSM2_CONF", &softhsm));
        let config = write_config(
            dir.path(),
            &[
                (nethsm_uri(&nethsm), "nethsm", "N0001"),
                (n200_uri(&n200), "n200", "N2001"),
                (softhsm_uri("viamodule"), "viamodule", "S0001"),
            ],
        );
        let _ = fixtures::self_signed_certificate(
            dir.path(),
            "cert",
            "/CN=hsm-p11 module_calls/O=hsm-rs",
            &[],
        );
        let cert = dir.path().join("cert.der");
        let mut env = module_env(&config, Some(&softhsm));
        env.push(("P11_TEST_CERT".into(), cert.display().to_string()));
        let _ = in_child(&env);
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
        ("random_as_declared", &|| {
            for (label, good) in SLOTS_AND_PINS {
                random_as_declared(m, slot(m, label), good);
            }
        }),
        ("certificates_as_declared", &|| {
            for (label, good) in SLOTS_AND_PINS {
                certificates_as_declared(m, slot(m, label), good);
            }
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

/// Key-pair templates for `id`: a verifying public key with the type's `public` attributes, and
/// a signing, private and sensitive private key with `private` added.
fn pair_templates(
    id: &[u8],
    public: Vec<Attribute>,
    private: Vec<Attribute>,
) -> (Vec<Attribute>, Vec<Attribute>) {
    let mut public_template = vec![Attribute::Token(true), Attribute::Verify(true)];
    public_template.extend(public);
    public_template.push(Attribute::Id(id.to_vec()));
    let mut private_template = vec![
        Attribute::Token(true),
        Attribute::Sign(true),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Id(id.to_vec()),
    ];
    private_template.extend(private);
    (public_template, private_template)
}

fn ec_templates(id: &[u8]) -> (Vec<Attribute>, Vec<Attribute>) {
    pair_templates(
        id,
        vec![Attribute::EcParams(P256_OID.to_vec())],
        vec![Attribute::Label(b"parity".to_vec())],
    )
}

fn rsa_templates(id: &[u8]) -> (Vec<Attribute>, Vec<Attribute>) {
    let public = vec![
        Attribute::ModulusBits(2048.into()),
        Attribute::PublicExponent(vec![1, 0, 1]),
    ];
    pair_templates(id, public, Vec::new())
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

/// Signs `msg` with each mechanism (the token hashes), in one part and in two, verifying each
/// signature in software with `public`.
fn sign_each(
    s: &Session,
    key: ObjectHandle,
    public: &PublicKey,
    msg: &[u8],
    mechanisms: &[(Mechanism<'_>, SignAlgorithm)],
) {
    for (mech, alg) in mechanisms {
        verify(public, *alg, msg, &s.sign(mech, key, msg).unwrap());
        s.sign_init(mech, key).unwrap();
        s.sign_update(&msg[..5]).unwrap();
        s.sign_update(&msg[5..]).unwrap();
        verify(public, *alg, msg, &s.sign_final().unwrap());
    }
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
    sign_each(
        &s,
        ec_priv,
        &ec,
        msg,
        &[
            (Mechanism::EcdsaSha256, SignAlgorithm::EcdsaSha256),
            (Mechanism::EcdsaSha384, SignAlgorithm::EcdsaSha384),
            (Mechanism::EcdsaSha512, SignAlgorithm::EcdsaSha512),
        ],
    );
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
    sign_each(
        &s,
        rsa_priv,
        &rsa,
        msg,
        &[
            (Mechanism::Sha256RsaPkcs, SignAlgorithm::RsaPkcs1Sha256),
            (Mechanism::Sha384RsaPkcs, SignAlgorithm::RsaPkcs1Sha384),
            (Mechanism::Sha512RsaPkcs, SignAlgorithm::RsaPkcs1Sha512),
        ],
    );
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
    sign_each(
        &s,
        rsa_priv,
        &rsa,
        msg,
        &[
            (
                Mechanism::Sha256RsaPkcsPss(p256),
                SignAlgorithm::RsaPssSha256,
            ),
            (
                Mechanism::Sha384RsaPkcsPss(pss(
                    MechanismType::SHA384,
                    PkcsMgfType::MGF1_SHA384,
                    48,
                )),
                SignAlgorithm::RsaPssSha384,
            ),
            (
                Mechanism::Sha512RsaPkcsPss(pss(
                    MechanismType::SHA512,
                    PkcsMgfType::MGF1_SHA512,
                    64,
                )),
                SignAlgorithm::RsaPssSha512,
            ),
        ],
    );
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
    parity_certificates(p, slot, &s, &mut t);
    t.push(format!(
        "token RNG: {}, 64 random bytes: {:?}",
        p.get_token_info(slot).unwrap().rng(),
        s.generate_random_vec(64).map(|v| v.len())
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

/// The certificate the parent made.
fn certificate() -> Vec<u8> {
    std::fs::read(std::env::var("P11_TEST_CERT").unwrap()).unwrap()
}

/// The certificate's serial number, issuer and subject (DER), as `openssl asn1parse` finds them
/// (the elements of depth 2 after the optional `[0]` version: serial, signature algorithm,
/// issuer, validity, subject).
fn certificate_fields() -> [Vec<u8>; 3] {
    let der = certificate();
    let listing = run(std::process::Command::new("openssl")
        .args(["asn1parse", "-inform", "DER", "-in"])
        .arg(std::env::var("P11_TEST_CERT").unwrap()));
    let elements: Vec<&[u8]> = listing
        .lines()
        .filter(|l| l.contains(":d=2 ") && !l.contains("cont [ 0 ]"))
        .map(|l| {
            let number = |key: &str| -> usize {
                let rest = l.split(key).nth(1).unwrap().trim_start();
                rest.split(|c: char| !c.is_ascii_digit())
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap()
            };
            let offset: usize = l.split(':').next().unwrap().trim().parse().unwrap();
            &der[offset..offset + number("hl=") + number(" l=")]
        })
        .collect();
    [
        elements[0].to_vec(),
        elements[2].to_vec(),
        elements[4].to_vec(),
    ]
}

/// A certificate template for the key with `id`, with the fields `pkcs11-tool --write-object`
/// also sends (SoftHSM2 requires `CKA_SUBJECT`).
fn cert_template(id: &[u8], label: &[u8], der: &[u8]) -> Vec<Attribute> {
    let [serial, issuer, subject] = certificate_fields();
    vec![
        Attribute::Class(ObjectClass::CERTIFICATE),
        Attribute::CertificateType(CertificateType::X_509),
        Attribute::Token(true),
        Attribute::Id(id.to_vec()),
        Attribute::Label(label.to_vec()),
        Attribute::Subject(subject),
        Attribute::Issuer(issuer),
        Attribute::SerialNumber(serial),
        Attribute::Value(der.to_vec()),
    ]
}

/// `CKF_RNG` is set exactly when random bytes come out; C_SeedRandom is refused either way.
fn random_as_declared(m: &Pkcs11, slot: Slot, good: &str) {
    let s = m.open_ro_session(slot).unwrap();
    s.login(UserType::User, Some(&pin(good))).unwrap();
    let label = m.get_token_info(slot).unwrap().label().to_owned();
    if m.get_token_info(slot).unwrap().rng() {
        let a = s.generate_random_vec(64).unwrap();
        let b = s.generate_random_vec(64).unwrap();
        assert_eq!(a.len(), 64);
        assert_ne!(a, b, "{label}: two draws of 64 bytes are equal");
        // More than one backend call's worth (hsm_core::MAX_RANDOM_LEN) comes back whole.
        let mut big = vec![0u8; hsm_core::MAX_RANDOM_LEN + 1000];
        s.generate_random_slice(&mut big).unwrap();
        let tail = &big[hsm_core::MAX_RANDOM_LEN..];
        assert!(
            tail.iter().any(|b| *b != 0),
            "{label}: the second chunk is empty"
        );
        eprintln!("  {label}: CKF_RNG, random bytes from the device");
    } else {
        assert_eq!(rv(&s.generate_random_vec(64)), "RandomNoRng", "{label}");
        eprintln!("  {label}: no CKF_RNG (its backend declares no generator)");
    }
    assert_eq!(
        rv(&s.seed_random(b"seed")),
        "RandomSeedNotSupported",
        "{label}"
    );
    s.logout().unwrap();
}

/// Where the backend stores certificates, one stored with `C_CreateObject` is found, read and
/// destroyed; elsewhere `C_CreateObject` answers `CKR_FUNCTION_NOT_SUPPORTED` and no certificate
/// object exists.
fn certificates_as_declared(m: &Pkcs11, slot: Slot, good: &str) {
    let label = m.get_token_info(slot).unwrap().label().to_owned();
    let s = m.open_rw_session(slot).unwrap();
    s.login(UserType::User, Some(&pin(good))).unwrap();
    let der = certificate();
    let (ep, mut es) = ec_templates(b"ck-cert");
    es.retain(|a| !matches!(a, Attribute::Label(_)));
    let (_, key) = s
        .generate_key_pair(&Mechanism::EccKeyPairGen, &ep, &es)
        .unwrap();
    let certs = || {
        s.find_objects(&[Attribute::Class(ObjectClass::CERTIFICATE)])
            .unwrap()
    };
    let stored = s.create_object(&cert_template(b"ck-cert", b"", &der));
    if rv(&stored) == "FunctionNotSupported" {
        assert!(certs().is_empty(), "{label}");
        eprintln!("  {label}: no certificates (its backend stores none)");
        s.destroy_object(key).unwrap();
        return;
    }
    let cert = stored.unwrap();
    assert_eq!(certs(), vec![cert], "{label}");
    let by_id = s
        .find_objects(&[
            Attribute::Class(ObjectClass::CERTIFICATE),
            Attribute::Id(b"ck-cert".to_vec()),
        ])
        .unwrap();
    assert_eq!(by_id, vec![cert], "{label}");
    let attrs = s
        .get_attributes(
            cert,
            &[
                AttributeType::Value,
                AttributeType::Id,
                AttributeType::CertificateType,
                AttributeType::Private,
                AttributeType::Token,
            ],
        )
        .unwrap();
    assert_eq!(
        attrs,
        vec![
            Attribute::Value(der.clone()),
            Attribute::Id(b"ck-cert".to_vec()),
            Attribute::CertificateType(CertificateType::X_509),
            Attribute::Private(false),
            Attribute::Token(true),
        ],
        "{label}"
    );
    // The fields openssl reads from the certificate.
    let [serial, issuer, subject] = certificate_fields();
    assert_eq!(
        s.get_attributes(
            cert,
            &[
                AttributeType::SerialNumber,
                AttributeType::Issuer,
                AttributeType::Subject
            ]
        )
        .unwrap(),
        vec![
            Attribute::SerialNumber(serial),
            Attribute::Issuer(issuer),
            Attribute::Subject(subject),
        ],
        "{label}"
    );
    // Sizes only.
    let sizes = s.get_attribute_info(cert, &[AttributeType::Value]).unwrap();
    assert_eq!(
        format!("{sizes:?}"),
        format!(
            "{:?}",
            [cryptoki::object::AttributeInfo::Available(der.len())]
        ),
        "{label}"
    );
    // No key with that CKA_ID; not a certificate.
    assert_eq!(
        rv(&s.create_object(&cert_template(b"ck-nokey", b"x", &der))),
        "TemplateInconsistent",
        "{label}"
    );
    let mut cut = cert_template(b"ck-cert", b"x", &der);
    cut.retain(|a| !matches!(a, Attribute::Value(_)));
    cut.push(Attribute::Value(der[..der.len() - 1].to_vec()));
    assert_eq!(
        rv(&s.create_object(&cut)),
        "AttributeValueInvalid",
        "{label}"
    );
    // A subject that is not the certificate's.
    let mut other = cert_template(b"ck-cert", b"x", &der);
    for a in &mut other {
        if let Attribute::Subject(subject) = a {
            subject.push(0);
        }
    }
    assert_eq!(
        rv(&s.create_object(&other)),
        "TemplateInconsistent",
        "{label}"
    );
    s.destroy_object(cert).unwrap();
    assert!(certs().is_empty(), "{label}");
    // The key stays.
    assert_eq!(
        s.find_objects(&[Attribute::Id(b"ck-cert".to_vec())])
            .unwrap()
            .len(),
        2,
        "{label}"
    );
    s.destroy_object(key).unwrap();
    eprintln!("  {label}: certificates stored, found, read and destroyed");
}

/// The certificate part of the parity transcript: store one for a key, find it, read it, destroy
/// it.
fn parity_certificates(p: &Pkcs11, slot: Slot, s: &Session, t: &mut Vec<String>) {
    let der = certificate();
    let (ep, mut es) = ec_templates(b"par-cert");
    // Labels name keys on the backends: one of its own.
    for a in &mut es {
        if let Attribute::Label(l) = a {
            *l = b"parity-cert".to_vec();
        }
    }
    let (_, key) = s
        .generate_key_pair(&Mechanism::EccKeyPairGen, &ep, &es)
        .unwrap();
    let ro = p.open_ro_session(slot).unwrap();
    t.push(format!(
        "certificate in a read-only session: {}",
        rv(&ro.create_object(&cert_template(b"par-cert", b"parity-cert", &der)))
    ));
    let cert = s
        .create_object(&cert_template(b"par-cert", b"parity-cert", &der))
        .unwrap();
    let found = s
        .find_objects(&[
            Attribute::Class(ObjectClass::CERTIFICATE),
            Attribute::Id(b"par-cert".to_vec()),
        ])
        .unwrap();
    t.push(format!("find certificate by id: {}", found == vec![cert]));
    let found = s
        .find_objects(&[Attribute::Id(b"par-cert".to_vec())])
        .unwrap();
    t.push(format!("objects with the id: {}", found.len()));
    let attrs = s
        .get_attributes(
            cert,
            &[
                AttributeType::Class,
                AttributeType::CertificateType,
                AttributeType::Id,
                AttributeType::Label,
                AttributeType::Subject,
                AttributeType::Issuer,
                AttributeType::SerialNumber,
                AttributeType::Token,
                AttributeType::Private,
                AttributeType::Trusted,
            ],
        )
        .unwrap();
    t.push(format!("certificate attributes: {attrs:?}"));
    let value = s.get_attributes(cert, &[AttributeType::Value]).unwrap();
    t.push(format!(
        "certificate value is the DER: {}",
        value == vec![Attribute::Value(der.clone())]
    ));
    t.push(format!(
        "certificate sizes: {:?}",
        s.get_attribute_info(
            cert,
            &[
                AttributeType::Value,
                AttributeType::Subject,
                AttributeType::Modulus
            ]
        )
        .unwrap()
    ));
    t.push(format!(
        "sign with the certificate: {}",
        rv(&s.sign_init(&Mechanism::Ecdsa, cert))
    ));
    t.push(format!(
        "destroy certificate: {}",
        rv(&s.destroy_object(cert))
    ));
    t.push(format!(
        "certificates left: {}",
        s.find_objects(&[Attribute::Class(ObjectClass::CERTIFICATE)])
            .unwrap()
            .len()
    ));
    t.push(format!(
        "key left: {}",
        s.find_objects(&[Attribute::Id(b"par-cert".to_vec())])
            .unwrap()
            .len()
    ));
    // Last: SoftHSM2 2.6.1 keeps an object whose creation it refused with
    // CKR_TEMPLATE_INCOMPLETE, which would change the counts above.
    let mut no_value = cert_template(b"par-cert", b"parity-cert", &der);
    no_value.retain(|a| !matches!(a, Attribute::Value(_)));
    t.push(format!(
        "certificate without a value: {}",
        rv(&s.create_object(&no_value))
    ));
    let mut no_class = cert_template(b"par-cert", b"parity-cert", &der);
    no_class.retain(|a| !matches!(a, Attribute::Class(_)));
    t.push(format!(
        "object without a class: {}",
        rv(&s.create_object(&no_class))
    ));
    s.destroy_object(key).unwrap();
}
