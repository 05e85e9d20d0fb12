//! OpenSC (sc-hsm-tool, pkcs11-tool, pkcs15-tool of Debian's opensc 0.23) against the simulated
//! card on pcscd + vpcd, and hsm-sc over PC/SC against the same card: interoperability both ways,
//! signatures verified with the `openssl` CLI. Needs pcscd with vpcd (scripts/ci.d/sc.sh).

#![cfg(all(feature = "sim", feature = "pcsc"))]

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{Card, PSS_SIGOPTS, SO_PIN, USER_PIN, openssl_verify, run, sigopts};
use hsm_core::uri::BackendUri;
use hsm_core::{Curve, ErrorKind, KeyId, KeySpec, KeyStore, KeyTemplate, SignAlgorithm, Signer};
use hsm_sc::ScHsm;
use hsm_sc::transport::{CardEvent, ReaderMonitor};

fn alg_digest(alg: SignAlgorithm) -> &'static str {
    match alg {
        SignAlgorithm::EcdsaSha384 => "-sha384",
        SignAlgorithm::EcdsaSha512 => "-sha512",
        _ => "-sha256",
    }
}

/// `pkcs11-tool --login --pin USER_PIN OP --id ID -m MECH -i INPUT -o OUTPUT` with `OP` one of
/// `--sign`, `--decrypt`, `--derive`; ECDSA signatures in the openssl (DER) format.
fn pkcs11_key_op(card: &Card, op: &str, id: &str, mech: &str, input: &str, output: &str) {
    let mut a = vec![op, "--id", id, "-m", mech, "-i", input, "-o", output];
    if op == "--sign" && mech.starts_with("ECDSA") {
        a.extend(["--signature-format", "openssl"]);
    }
    pkcs11_logged_in(card, &a);
}

/// `pkcs11-tool --login --pin USER_PIN ARGS`.
fn pkcs11_logged_in(card: &Card, args: &[&str]) -> String {
    card.pkcs11_tool(&[&["--login", "--pin", USER_PIN][..], args].concat())
}

/// OpenSC makes a key pair: `pkcs11-tool --keypairgen --key-type KEY_TYPE --id ID --label LABEL`.
fn opensc_keygen(card: &Card, key_type: &str, id: &str, label: &str) {
    let args = ["--keypairgen", "--key-type", key_type, "--id", id];
    pkcs11_logged_in(card, &[&args[..], &["--label", label]].concat());
}

/// The public key with id `id` as `pkcs15-tool --read-public-key` gives it, written (PEM) to `path`.
fn save_public_key(card: &Card, id: &str, path: &Path) {
    let pem = card.pkcs15_tool(&["--read-public-key", id]);
    let start = pem
        .find("-----BEGIN PUBLIC KEY-----")
        .expect("a PEM public key");
    fs::write(path, &pem[start..]).unwrap();
}

/// `sc-hsm-tool --initialize` with [`SO_PIN`], [`USER_PIN`], `shares` DKEK shares and `extra`.
fn sc_hsm_initialize(card: &Card, shares: &str, extra: &[&str]) -> String {
    let args = ["--initialize", "--so-pin", SO_PIN, "--pin", USER_PIN];
    card.sc_hsm_tool(&[&args[..], &["--dkek-shares", shares], extra].concat())
}

/// A new P-256 private key (PEM) from `openssl genpkey` at `path`.
fn openssl_p256_key(path: &str) {
    let curve = "ec_paramgen_curve:P-256";
    run(
        "openssl",
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            curve,
            "-out",
            path,
        ],
    );
}

/// A simulated card in vpcd slot `slot` and a scratch directory, or `None` without pcscd.
fn opensc_card(slot: usize) -> Option<(Scratch, Card)> {
    common::pcscd_available().then(|| (Scratch::new(), Card::insert(slot, &[])))
}

/// A temporary directory whose file names tools take as `&'static str` arguments.
struct Scratch(tempfile::TempDir);

impl Scratch {
    fn new() -> Self {
        Self(tempfile::tempdir().unwrap())
    }

    /// [`Self::path`] and [`Self::arg`] as closures, for short calls.
    fn names(
        &self,
    ) -> (
        impl Fn(&str) -> PathBuf + '_,
        impl Fn(&str) -> &'static str + '_,
    ) {
        (|name: &str| self.path(name), |name: &str| self.arg(name))
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }

    fn arg(&self, name: &str) -> &'static str {
        let path = self.path(name).to_str().unwrap().to_owned();
        Box::leak(path.into_boxed_str())
    }
}

#[test]
fn opensc_tools_and_hsm_sc_share_the_simulated_card() {
    let Some((scratch, card)) = opensc_card(0) else {
        return;
    };
    let (p, ps) = scratch.names();

    // --- OpenSC initialises the card and sees a SmartCard-HSM ---
    let out = sc_hsm_initialize(&card, "1", &["--label", "SIMTOKEN"]);
    eprintln!("{out}");
    let status = card.sc_hsm_tool(&[]);
    assert!(status.contains("User PIN tries left  : 3"), "{status}");
    assert!(status.contains("1 share(s) still missing"), "{status}");
    let dump = card.pkcs15_tool(&["--dump"]);
    assert!(
        dump.contains("DESIM00001") && dump.contains("SIMTOKEN"),
        "{dump}"
    );

    // --- OpenSC makes keys and signs; openssl verifies ---
    opensc_keygen(&card, "EC:prime256v1", "01", "ectest");
    opensc_keygen(&card, "rsa:2048", "02", "rsatest");
    fs::write(p("msg"), b"signed by the simulated SmartCard-HSM\n").unwrap();
    for (id, file) in [("01", "ec.pem"), ("02", "rsa.pem")] {
        save_public_key(&card, id, &p(file));
    }
    for (id, mech, sig, pubkey, extra) in [
        ("01", "ECDSA-SHA256", "sig1", "ec.pem", &[][..]),
        ("02", "SHA256-RSA-PKCS", "sig2", "rsa.pem", &[][..]),
        ("02", "SHA256-RSA-PKCS-PSS", "sig3", "rsa.pem", PSS_SIGOPTS),
    ] {
        pkcs11_key_op(&card, "--sign", id, mech, ps("msg"), ps(sig));
        openssl_verify(&p(pubkey), &p("msg"), &p(sig), extra);
    }
    // raw ECDSA over a hash computed by openssl
    run(
        "openssl",
        &["dgst", "-sha256", "-binary", "-out", ps("hash"), ps("msg")],
    );
    pkcs11_key_op(&card, "--sign", "01", "ECDSA", ps("hash"), ps("sig4"));
    openssl_verify(&p("ec.pem"), &p("msg"), &p("sig4"), &[]);

    // RSA decryption round trip, ECDH against openssl
    fs::write(p("plain"), b"key transport").unwrap();
    run(
        "openssl",
        &[
            "pkeyutl",
            "-encrypt",
            "-pubin",
            "-inkey",
            ps("rsa.pem"),
            "-in",
            ps("plain"),
            "-out",
            ps("ct"),
        ],
    );
    pkcs11_key_op(&card, "--decrypt", "02", "RSA-PKCS", ps("ct"), ps("pt"));
    assert_eq!(fs::read(p("pt")).unwrap(), b"key transport");
    openssl_p256_key(ps("peer.pem"));
    run(
        "openssl",
        &[
            "pkey",
            "-in",
            ps("peer.pem"),
            "-pubout",
            "-outform",
            "DER",
            "-out",
            ps("peer.der"),
        ],
    );
    pkcs11_key_op(
        &card,
        "--derive",
        "01",
        "ECDH1-DERIVE",
        ps("peer.der"),
        ps("z1"),
    );
    run(
        "openssl",
        &[
            "pkeyutl",
            "-derive",
            "-inkey",
            ps("peer.pem"),
            "-peerkey",
            ps("ec.pem"),
            "-out",
            ps("z2"),
        ],
    );
    assert_eq!(fs::read(p("z1")).unwrap(), fs::read(p("z2")).unwrap());

    // data objects written by pkcs11-tool are read by hsm-sc
    fs::write(p("data"), b"opensc data object").unwrap();
    let data_object = ["--write-object", ps("data"), "--type", "data"];
    pkcs11_logged_in(&card, &[&data_object[..], &["--label", "mydata"]].concat());
    let objects = pkcs11_logged_in(&card, &["--list-objects"]);
    assert!(objects.contains("mydata"), "{objects}");

    // the other curves and RSA sizes: OpenSC generates and signs, openssl verifies, and hsm-sc
    // signs with the same keys (checked after it opens the card, below)
    let more = [
        ("21", "EC:secp384r1", SignAlgorithm::EcdsaSha384),
        ("22", "EC:secp521r1", SignAlgorithm::EcdsaSha512),
        ("23", "EC:brainpoolP256r1", SignAlgorithm::EcdsaSha256),
        ("24", "EC:brainpoolP384r1", SignAlgorithm::EcdsaSha384),
        ("25", "EC:brainpoolP512r1", SignAlgorithm::EcdsaSha512),
        ("26", "EC:secp256k1", SignAlgorithm::EcdsaSha256),
        ("27", "rsa:3072", SignAlgorithm::RsaPkcs1Sha256),
        ("28", "rsa:4096", SignAlgorithm::RsaPssSha256),
    ];
    for (id, key_type, _) in more {
        let label = format!("k{id}");
        opensc_keygen(&card, key_type, id, &label);
        save_public_key(&card, id, &p(&format!("{label}.pem")));
        let mech = if key_type.starts_with("EC") {
            "ECDSA-SHA256"
        } else {
            "SHA256-RSA-PKCS"
        };
        pkcs11_key_op(&card, "--sign", id, mech, ps("msg"), ps("more.sig"));
        openssl_verify(&p(&format!("{label}.pem")), &p("msg"), &p("more.sig"), &[]);
    }

    // --- hsm-sc over PC/SC on the same card ---
    let hsm = ScHsm::open(BackendUri::parse(&card.uri()).unwrap()).unwrap();
    assert_eq!(hsm.serial().unwrap().as_deref(), Some("DESIM00001"));
    assert_eq!(
        hsm.read_data_object("mydata").unwrap(),
        b"opensc data object"
    );
    let names: Vec<String> = hsm
        .list_keys()
        .unwrap()
        .into_iter()
        .filter_map(|k| k.label)
        .collect();
    assert!(
        names.contains(&"ectest".to_owned()) && names.contains(&"rsatest".to_owned()),
        "{names:?}"
    );
    let msg = b"hsm-sc signs with a key OpenSC made";
    for (label, pem, alg) in [
        ("ectest", "ec.pem", SignAlgorithm::EcdsaSha256),
        ("rsatest", "rsa.pem", SignAlgorithm::RsaPkcs1Sha256),
        ("rsatest", "rsa.pem", SignAlgorithm::RsaPssSha256),
    ] {
        let key = KeyId::name(label).unwrap();
        let opensc_pem = fs::read_to_string(p(pem)).unwrap();
        assert_eq!(
            hsm.public_key(&key).unwrap().to_pem().trim(),
            opensc_pem.trim()
        );
        let sig = hsm.sign(&key, alg, msg).unwrap();
        fs::write(p("m2"), msg).unwrap();
        fs::write(p("s2"), sig.to_der()).unwrap();
        let extra = sigopts(alg);
        openssl_verify(&p(pem), &p("m2"), &p("s2"), extra);
    }
    for (id, _, alg) in more {
        let label = format!("k{id}");
        let key = KeyId::name(label.as_str()).unwrap();
        let sig = hsm.sign(&key, alg, msg).unwrap();
        fs::write(p("m3"), msg).unwrap();
        fs::write(p("s3"), sig.to_der()).unwrap();
        let extra = sigopts(alg);
        let mut args = vec![
            "dgst",
            alg_digest(alg),
            "-verify",
            ps(&format!("{label}.pem")),
        ];
        args.extend_from_slice(extra);
        args.extend(["-signature", ps("s3"), ps("m3")]);
        assert!(run("openssl", &args).contains("Verified OK"), "{label}");
    }
    // after login: one APDU per signature, also over PC/SC
    let before = hsm.apdu_count().unwrap();
    let _ = hsm
        .sign(
            &KeyId::name("ectest").unwrap(),
            SignAlgorithm::EcdsaSha256,
            msg,
        )
        .unwrap();
    assert_eq!(hsm.apdu_count().unwrap() - before, 1);

    // certificates both ways: hsm-sc stores one for the key OpenSC made, pkcs15-tool shows and
    // reads it; pkcs11-tool stores one, hsm-sc reads it (both certify the card's own keys)
    openssl_p256_key(ps("ca.pem"));
    for (subject, key_pem, out) in [
        ("/CN=ectest", "ec.pem", "ec.crt"),
        ("/CN=rsatest", "rsa.pem", "rsa.crt"),
    ] {
        run(
            "openssl",
            &[
                "x509",
                "-new",
                "-subj",
                subject,
                "-key",
                ps("ca.pem"),
                "-force_pubkey",
                ps(key_pem),
                "-days",
                "1",
                "-outform",
                "DER",
                "-out",
                ps(out),
            ],
        );
    }
    let ec_key = KeyId::name("ectest").unwrap();
    assert_eq!(hsm.certificate(&ec_key).unwrap(), None);
    hsm.store_certificate(&ec_key, &fs::read(p("ec.crt")).unwrap())
        .unwrap();
    let dump = card.pkcs15_tool(&["--dump"]);
    assert!(dump.contains("X.509 Certificate [ectest]"), "{dump}");
    let listed = card.pkcs15_tool(&["--list-certificates"]);
    assert!(
        listed.contains("X.509 Certificate [ectest]") && listed.contains(": ce01"),
        "{listed}"
    );
    let from_opensc = card.pkcs15_tool(&["--read-certificate", "01"]);
    let expected = run("openssl", &["x509", "-inform", "DER", "-in", ps("ec.crt")]);
    assert!(from_opensc.contains(expected.trim()), "{from_opensc}");
    // ... and through OpenSC's PKCS#11 module, byte for byte.
    card.pkcs11_tool(&[
        "--read-object",
        "--type",
        "cert",
        "--id",
        "01",
        "--output-file",
        ps("ec.read.der"),
    ]);
    assert_eq!(
        fs::read(p("ec.read.der")).unwrap(),
        fs::read(p("ec.crt")).unwrap()
    );
    assert_eq!(
        hsm.public_key(&ec_key).unwrap().to_pem().trim(),
        fs::read_to_string(p("ec.pem")).unwrap().trim(),
        "the key's public key is unchanged by its certificate"
    );
    // Deleted by hsm-sc: OpenSC lists no certificate for the key and still has its public key
    // (from the CV request hsm-sc wrote back), and signs with it.
    hsm.delete_certificate(&ec_key).unwrap();
    let listed = card.pkcs15_tool(&["--list-certificates"]);
    assert!(!listed.contains("X.509 Certificate [ectest]"), "{listed}");
    let pem = card.pkcs15_tool(&["--read-public-key", "01"]);
    assert!(
        pem.contains(fs::read_to_string(p("ec.pem")).unwrap().trim()),
        "{pem}"
    );
    pkcs11_key_op(
        &card,
        "--sign",
        "01",
        "ECDSA-SHA256",
        ps("msg"),
        ps("sig-nocert"),
    );
    openssl_verify(&p("ec.pem"), &p("msg"), &p("sig-nocert"), &[]);
    let cert_object = [
        "--write-object",
        ps("rsa.crt"),
        "--type",
        "cert",
        "--id",
        "02",
    ];
    pkcs11_logged_in(&card, &[&cert_object[..], &["--label", "rsatest"]].concat());
    assert_eq!(
        hsm.certificate(&KeyId::name("rsatest").unwrap()).unwrap(),
        Some(fs::read(p("rsa.crt")).unwrap())
    );

    // keys made by hsm-sc show in OpenSC with label and id, and sign there
    hsm.generate_key(&KeyTemplate::new(
        KeyId::name("hsmkey").unwrap(),
        KeySpec::Ec(Curve::P256),
    ))
    .unwrap();
    hsm.generate_key(
        &KeyTemplate::new(
            KeyId::from_bytes(vec![0xA1, 0xB2]).unwrap(),
            KeySpec::Rsa2048,
        )
        .with_label("hsmrsa"),
    )
    .unwrap();
    let dump = card.pkcs15_tool(&["--dump"]);
    assert!(dump.contains("hsmkey") && dump.contains("hsmrsa"), "{dump}");
    assert!(dump.contains("ID             : a1b2"), "{dump}");
    let objects = pkcs11_logged_in(&card, &["--list-objects"]);
    assert!(
        objects.contains("label:      hsmkey") && objects.contains("ID:         a1b2"),
        "{objects}"
    );
    for label in ["hsmkey", "hsmrsa"] {
        let pem = hsm
            .public_key(&KeyId::name(label).unwrap())
            .unwrap()
            .to_pem();
        fs::write(p(&format!("{label}.pem")), pem).unwrap();
    }
    // pkcs11-tool 0.23 picks the signing key by --id only (with --label alone it takes the
    // first private key), so sign by the id hsm-sc reports for the label
    let info = hsm.key_info(&KeyId::name("hsmkey").unwrap()).unwrap();
    let hsmkey_id: &'static str = Box::leak(info.extras["id"].clone().into_boxed_str());
    assert!(
        objects.contains(&format!("label:      hsmkey\n  ID:         {hsmkey_id}")),
        "{objects}"
    );
    pkcs11_key_op(
        &card,
        "--sign",
        hsmkey_id,
        "ECDSA-SHA256",
        ps("msg"),
        ps("s5"),
    );
    openssl_verify(&p("hsmkey.pem"), &p("msg"), &p("s5"), &[]);
    pkcs11_key_op(
        &card,
        "--sign",
        "a1b2",
        "SHA256-RSA-PKCS",
        ps("msg"),
        ps("s6"),
    );
    openssl_verify(&p("hsmrsa.pem"), &p("msg"), &p("s6"), &[]);
    let pem = card.pkcs15_tool(&["--read-public-key", "a1b2"]);
    assert!(
        pem.contains(
            hsm.public_key(&KeyId::name("hsmrsa").unwrap())
                .unwrap()
                .to_pem()
                .trim()
        ),
        "{pem}"
    );

    // deletions are seen both ways
    pkcs11_logged_in(
        &card,
        &["--delete-object", "--type", "data", "--label", "mydata"],
    );
    assert!(hsm.read_data_object("mydata").unwrap_err().is_not_found());
    hsm.delete_key(&KeyId::name("hsmrsa").unwrap()).unwrap();
    pkcs11_logged_in(
        &card,
        &["--delete-object", "--type", "privkey", "--id", "02"],
    );
    let objects = pkcs11_logged_in(&card, &["--list-objects"]);
    assert!(!objects.contains("hsmrsa"), "{objects}");
    assert!(
        hsm.key_info(&KeyId::name("rsatest").unwrap())
            .unwrap_err()
            .is_not_found()
    );

    // a wrong PIN through hsm-sc: tries left, and OpenSC sees the same counter
    let bad =
        ScHsm::open(BackendUri::parse(&card.uri().replace(USER_PIN, "111111")).unwrap()).unwrap();
    let e = bad.login().unwrap_err();
    assert_eq!(
        e.kind(),
        ErrorKind::AuthenticationFailed {
            retries_left: Some(2)
        },
        "{e}"
    );
    assert!(card.sc_hsm_tool(&[]).contains("User PIN tries left  : 2"));
    drop(bad);

    // PIN management across both: OpenSC changes the PIN, hsm-sc logs in with the new one
    // and changes it back; OpenSC blocks it with wrong PINs, hsm-sc unblocks it with the
    // SO-PIN; OpenSC resets it with the SO-PIN (C_InitPIN), hsm-sc logs in with that one
    let with_pin = |pin: &str| {
        ScHsm::open(BackendUri::parse(&card.uri().replace(USER_PIN, pin)).unwrap()).unwrap()
    };
    card.pkcs11_tool(&["--change-pin", "--pin", USER_PIN, "--new-pin", "135790"]);
    let changed = with_pin("135790");
    changed.login().unwrap();
    changed
        .change_pin(
            &secrecy::SecretString::from("135790"),
            &secrecy::SecretString::from(USER_PIN),
        )
        .unwrap();
    pkcs11_logged_in(&card, &["--list-objects"]);
    for _ in 0..3 {
        let out = common::output(
            "pkcs11-tool",
            &[
                "--module",
                &common::pkcs11_module(),
                "--slot-description",
                &card.reader,
                "--login",
                "--pin",
                "000000",
                "--list-objects",
            ],
        );
        assert!(!out.status.success());
    }
    assert_eq!(changed.pin_status().unwrap(), hsm_sc::PinStatus::Blocked);
    let so = hsm_sc::SoPin::from_hex(&secrecy::SecretString::from(SO_PIN)).unwrap();
    changed
        .unblock_pin(&so, &secrecy::SecretString::from("246802"), false)
        .unwrap();
    card.pkcs11_tool(&["--login", "--pin", "246802", "--list-objects"]);
    card.pkcs11_tool(&[
        "--login",
        "--login-type",
        "so",
        "--so-pin",
        SO_PIN,
        "--init-pin",
        "--new-pin",
        USER_PIN,
    ]);
    drop(changed);
    let reset = with_pin(USER_PIN);
    reset.login().unwrap();
    assert!(card.sc_hsm_tool(&[]).contains("User PIN tries left  : 3"));
    drop(reset);
    drop(hsm);
}

#[test]
fn reader_monitor_sees_insertion_and_removal() {
    if !common::pcscd_available() {
        return;
    }
    // hold the slot first: other tests put cards into it
    let _guard = common::slot_guard(1);
    let _lock = common::SlotLock::acquire(1);
    let mut monitor = ReaderMonitor::new("Virtual PCD 00 01").unwrap();
    // drain the initial state (an empty reader)
    while let Some(ev) = monitor.wait(Duration::from_millis(300)).unwrap() {
        assert!(matches!(ev, CardEvent::Removed { .. }), "{ev:?}");
    }
    let sim = hsm_sc::sim::SimulatedCard::initialized().unwrap();
    let card = hsm_sc::sim::vpcd::InsertedCard::insert(&sim, common::vpcd_addr(1)).unwrap();
    let ev = monitor.wait(Duration::from_secs(5)).unwrap();
    match ev {
        Some(CardEvent::Inserted { reader, atr }) => {
            assert_eq!(reader, "Virtual PCD 00 01");
            assert_eq!(atr, hsm_sc::sim::ATR);
        }
        other => panic!("expected an insertion, got {other:?}"),
    }
    // a backend on this reader works, then sees the card go
    let uri = format!("sc-hsm:?reader=Virtual%20PCD%2000%2001&pin-value={USER_PIN}");
    let hsm = ScHsm::open(BackendUri::parse(&uri).unwrap()).unwrap();
    hsm.login().unwrap();
    card.remove().unwrap();
    let ev = monitor.wait(Duration::from_secs(5)).unwrap();
    assert!(matches!(ev, Some(CardEvent::Removed { .. })), "{ev:?}");
    let e = hsm.list_keys().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
}

/// DKEK shares and wrapped keys across both tools, with two shares so that each side reads a
/// share file the other one wrote: sc-hsm-tool imports hsm-sc's share, hsm-sc imports
/// sc-hsm-tool's, and both report the same key check value. Keys wrapped by each side are
/// unwrapped by the other and sign there (openssl verifies). Each share-file operation costs
/// 10 million MD5 iterations, so the two sides work in parallel.
#[test]
fn dkek_shares_and_wrapped_keys_cross_both_ways() {
    let Some((scratch, card)) = opensc_card(1) else {
        return;
    };
    let (p, ps) = scratch.names();
    let password = "share-password-1";
    let hsm = ScHsm::open(BackendUri::parse(&card.uri()).unwrap()).unwrap();

    // share files: sc-hsm-tool writes one while hsm-sc writes the other
    let ours = std::thread::scope(|s| {
        let theirs = s.spawn(|| {
            card.sc_hsm_tool(&[
                "--create-dkek-share",
                ps("theirs.pbe"),
                "--password",
                password,
            ])
        });
        let ours = hsm
            .create_dkek_share(&secrecy::SecretString::from(password))
            .unwrap();
        theirs.join().unwrap();
        ours
    });
    fs::write(p("ours.pbe"), ours.as_bytes()).unwrap();
    assert_eq!(&ours.as_bytes()[..8], b"Salted__");
    sc_hsm_initialize(&card, "2", &[]);

    // each side imports the other's file
    let theirs = hsm_sc::ShareFile::from_bytes(fs::read(p("theirs.pbe")).unwrap()).unwrap();
    let (tool_out, status) = std::thread::scope(|s| {
        let tool = s.spawn(|| {
            card.sc_hsm_tool(&[
                "--import-dkek-share",
                ps("ours.pbe"),
                "--password",
                password,
            ])
        });
        let first = hsm
            .import_dkek_share(&theirs, &secrecy::SecretString::from(password))
            .unwrap();
        (tool.join().unwrap(), first)
    });
    eprintln!("{tool_out}");
    assert!(status.outstanding <= 1, "{status:?}");
    let status = hsm.dkek_status().unwrap().expect("a DKEK");
    assert_eq!((status.shares, status.outstanding), (2, 0), "{status:?}");
    let tool_status = card.sc_hsm_tool(&[]);
    assert!(
        tool_status.to_uppercase().contains(&status.kcv_hex()),
        "sc-hsm-tool and hsm-sc disagree on the KCV {}:\n{tool_status}",
        status.kcv_hex()
    );

    // a key made by OpenSC, wrapped by sc-hsm-tool, unwrapped and used by hsm-sc
    opensc_keygen(&card, "EC:prime256v1", "10", "osckey");
    save_public_key(&card, "10", &p("osckey.pem"));
    let osc_ref = hsm
        .key_info(&KeyId::name("osckey").unwrap())
        .unwrap()
        .extras["key_ref"]
        .clone();
    card.sc_hsm_tool(&[
        "--wrap-key",
        ps("osc.wrap"),
        "--key-reference",
        &osc_ref,
        "--pin",
        USER_PIN,
    ]);
    pkcs11_logged_in(
        &card,
        &["--delete-object", "--type", "privkey", "--id", "10"],
    );
    hsm.refresh_keys().unwrap();
    assert!(
        hsm.key_info(&KeyId::name("osckey").unwrap())
            .unwrap_err()
            .is_not_found()
    );
    let file = hsm_sc::WrappedKeyFile::decode(&fs::read(p("osc.wrap")).unwrap()).unwrap();
    let info = hsm.unwrap_key(&file, false).unwrap();
    assert_eq!(info.id, KeyId::name("osckey").unwrap());
    let msg = b"signed by a key that travelled from OpenSC to hsm-sc";
    fs::write(p("m1"), msg).unwrap();
    let sig = hsm.sign(&info.id, SignAlgorithm::EcdsaSha256, msg).unwrap();
    fs::write(p("s1"), sig.to_der()).unwrap();
    openssl_verify(&p("osckey.pem"), &p("m1"), &p("s1"), &[]);

    // a key made and wrapped by hsm-sc, unwrapped by sc-hsm-tool, used by pkcs11-tool
    let mine = KeyId::from_bytes(vec![0x20]).unwrap();
    hsm.generate_key(
        &KeyTemplate::new(mine.clone(), KeySpec::Ec(Curve::P256)).with_label("hsmwrapped"),
    )
    .unwrap();
    fs::write(p("hsm.pem"), hsm.public_key(&mine).unwrap().to_pem()).unwrap();
    fs::write(p("hsm.wrap"), hsm.wrap_key(&mine).unwrap().encode()).unwrap();
    let my_ref = hsm.key_info(&mine).unwrap().extras["key_ref"].clone();
    hsm.delete_key(&mine).unwrap();
    card.sc_hsm_tool(&[
        "--unwrap-key",
        ps("hsm.wrap"),
        "--key-reference",
        &my_ref,
        "--pin",
        USER_PIN,
        "--force",
    ]);
    let dump = card.pkcs15_tool(&["--dump"]);
    assert!(
        dump.contains("hsmwrapped") && dump.contains("ID             : 20"),
        "{dump}"
    );
    pkcs11_key_op(&card, "--sign", "20", "ECDSA-SHA256", ps("m1"), ps("s2"));
    openssl_verify(&p("hsm.pem"), &p("m1"), &p("s2"), &[]);
}
