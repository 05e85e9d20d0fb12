//! Peers nobody here wrote, driving `libhsm_p11.so` as separate processes: OpenSC's `pkcs11-tool`
//! (list, keypair generation, every signing mechanism the token lists, reading public keys) and
//! OpenSSL through libp11's engine (the seed's `openssl dgst -engine pkcs11 -keyform engine
//! -sign "pkcs11:..."` and a CSR with `openssl req -engine pkcs11`). Every signature is verified
//! by the `openssl` CLI with the public key `pkcs11-tool --read-object` exported. Certificates:
//! a self-signed one made by `openssl req -x509 -engine pkcs11` with a token key, stored with
//! `pkcs11-tool --write-object --type cert`, listed by `-O`, read back by `pkcs11-tool
//! --read-object` and GnuTLS's `p11tool --export`, deleted with `--delete-object`; random bytes
//! with `pkcs11-tool --generate-random`; each where the slot's backend declares it, with
//! SoftHSM2's answers as the reference for the `pkcs11:` slot. Tokens: the
//! NetHSM and N200 simulators, a SoftHSM2 token behind a `pkcs11:` slot, and the SmartCard-HSM
//! simulator in a vpcd reader of pcscd behind an `sc-hsm:` slot.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::indexing_slicing, clippy::print_stderr)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use hsm_core::HashAlgorithm;
use hsm_testkit::cli::output;

/// One token, reached through the module by the peers.
struct Token {
    env: Vec<(String, String)>,
    label: String,
    pin: String,
    dir: PathBuf,
    /// What the backend must do (`None`: as the module declares it).
    expect: Expect,
}

/// Certificates and random bytes: required (`Some(true)`), required absent (`Some(false)`), or
/// checked either way as the module declares them (`None`).
#[derive(Clone, Copy, Default)]
struct Expect {
    certificates: Option<bool>,
    random: Option<bool>,
}

impl Token {
    /// The token `label` of the module configured with one slot `uri`.
    fn new(dir: &Path, uri: String, label: &str, pin: &str, softhsm: Option<&Path>) -> Self {
        let config = write_config(dir, &[(uri, label, "T0001")]);
        Self {
            env: module_env(&config, softhsm),
            label: label.into(),
            pin: pin.into(),
            dir: dir.to_owned(),
            expect: Expect::default(),
        }
    }

    fn tool(&self) -> Command {
        let mut c = Command::new("pkcs11-tool");
        c.arg("--module")
            .arg(module_path())
            .args(["--token-label", &self.label, "--login", "--pin", &self.pin])
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        c
    }

    fn openssl(&self) -> Command {
        let mut c = Command::new("openssl");
        c.env("PKCS11_MODULE_PATH", module_path())
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        c
    }

    /// Runs a command that may fail; (success, stdout bytes, stderr).
    fn attempt(&self, cmd: &mut Command) -> (bool, Vec<u8>, String) {
        let out = output(cmd);
        (
            out.status.success(),
            out.stdout,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Generates a key pair with `pkcs11-tool --keypairgen`; its public key as PEM.
    fn keypairgen(&self, key_type: &str, id_hex: &str) -> PathBuf {
        run(self
            .tool()
            .args([
                "--keypairgen",
                "--key-type",
                key_type,
                "--id",
                id_hex,
                "--label",
            ])
            .arg(String::from_utf8(hex_decode(id_hex)).unwrap()));
        let der = self.file(&format!("{id_hex}.pub.der"));
        let pem = self.file(&format!("{id_hex}.pub.pem"));
        run(self
            .tool()
            .args(["--read-object", "--type", "pubkey", "--id", id_hex, "-o"])
            .arg(&der));
        // pkcs11-tool 0.23 writes DER, but PEM for EdDSA keys.
        let form = if std::fs::read(&der).unwrap().starts_with(b"-----BEGIN") {
            "PEM"
        } else {
            "DER"
        };
        run(Command::new("openssl")
            .args(["pkey", "-pubin", "-inform", form, "-in"])
            .arg(&der)
            .arg("-out")
            .arg(&pem));
        pem
    }

    /// Signs `input` with `pkcs11-tool --sign -m MECH`; the signature file.
    /// The `pkcs11:` URI (PIN included) of the private key whose id and label are `id_hex`'s
    /// bytes, as libp11's engine takes it.
    fn private_key_uri(&self, id_hex: &str) -> String {
        let label = String::from_utf8(hex_decode(id_hex)).unwrap();
        format!(
            "pkcs11:token={};object={label};type=private;pin-value={}",
            self.label, self.pin
        )
    }

    fn sign(&self, mech: &str, id_hex: &str, input: &Path, extra: &[&str]) -> PathBuf {
        let out = self.file(&format!("{id_hex}.{mech}.sig"));
        run(self
            .tool()
            .args(["--sign", "-m", mech, "--id", id_hex])
            .args(extra)
            .arg("-i")
            .arg(input)
            .arg("-o")
            .arg(&out));
        out
    }

    fn mechanisms(&self) -> String {
        run(Command::new("pkcs11-tool")
            .arg("--module")
            .arg(module_path())
            .args(["--token-label", &self.label, "-M"])
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str()))))
    }
}

fn verify(pem: &Path, msg: &Path, sig: &Path, dgst: &str, pss: bool) {
    let mut c = Command::new("openssl");
    c.args(["dgst", &format!("-{dgst}")]);
    if pss {
        c.args([
            "-sigopt",
            "rsa_padding_mode:pss",
            "-sigopt",
            "rsa_pss_saltlen:-1",
        ]);
    }
    let out = run(c
        .arg("-verify")
        .arg(pem)
        .arg("-signature")
        .arg(sig)
        .arg(msg));
    assert!(out.contains("Verified OK"), "{out}");
}

fn write(path: &Path, bytes: &[u8]) -> PathBuf {
    std::fs::write(path, bytes).unwrap();
    path.to_owned()
}

/// The whole peer suite on one token: every mechanism it lists, through pkcs11-tool and openssl.
fn peer_suite(token: &Token, ec_id: &str, rsa_id: &str, ed_id: &str) {
    let list = run(Command::new("pkcs11-tool")
        .arg("--module")
        .arg(module_path())
        .arg("-L")
        .envs(token.env.iter().map(|(k, v)| (k.as_str(), v.as_str()))));
    assert!(
        list.contains(&format!("token label        : {}", token.label)),
        "{list}"
    );
    let mechs = token.mechanisms();
    let has = |m: &str| {
        mechs
            .lines()
            .any(|l| l.trim_start().starts_with(&format!("{m},")))
    };

    let msg = write(&token.file("msg.txt"), b"hsm-p11 peer test message\n");
    let data = std::fs::read(&msg).unwrap();

    // EC P-256: raw ECDSA over a digest, and ECDSA-SHA256/384/512 over the message.
    let ec = token.keypairgen("EC:prime256v1", ec_id);
    let digest = write(
        &token.file("msg.sha256"),
        &HashAlgorithm::Sha256.digest(&data),
    );
    let sig = token.sign("ECDSA", ec_id, &digest, &["--signature-format", "openssl"]);
    verify(&ec, &msg, &sig, "sha256", false);
    // Each (mechanism, digest, PSS) the module lists, over the message, verified by openssl.
    let sign_each = |key: &Path, id: &str, table: &[(&str, &str, bool)], extra: &[&str]| {
        for &(mech, dgst, pss) in table {
            if has(mech) {
                verify(key, &msg, &token.sign(mech, id, &msg, extra), dgst, pss);
            }
        }
    };
    let ecdsa = [
        ("ECDSA-SHA256", "sha256", false),
        ("ECDSA-SHA384", "sha384", false),
        ("ECDSA-SHA512", "sha512", false),
    ];
    sign_each(&ec, ec_id, &ecdsa, &["--signature-format", "openssl"]);

    // RSA 2048: PKCS#1 v1.5 over a DigestInfo and over the message, PSS both ways.
    let rsa = token.keypairgen("rsa:2048", rsa_id);
    let info = HashAlgorithm::Sha256
        .digest_info(&HashAlgorithm::Sha256.digest(&data))
        .unwrap();
    let info = write(&token.file("msg.digestinfo"), &info);
    let sig = token.sign("RSA-PKCS", rsa_id, &info, &[]);
    verify(&rsa, &msg, &sig, "sha256", false);
    // pkcs11-tool derives the PSS parameters of the hashing PSS mechanisms (salt = hash length).
    let hashing = [
        ("SHA256-RSA-PKCS", "sha256", false),
        ("SHA384-RSA-PKCS", "sha384", false),
        ("SHA512-RSA-PKCS", "sha512", false),
        ("SHA256-RSA-PKCS-PSS", "sha256", true),
        ("SHA384-RSA-PKCS-PSS", "sha384", true),
        ("SHA512-RSA-PKCS-PSS", "sha512", true),
    ];
    sign_each(&rsa, rsa_id, &hashing, &[]);
    if has("RSA-PKCS-PSS") {
        let sig = token.sign(
            "RSA-PKCS-PSS",
            rsa_id,
            &digest,
            &[
                "--hash-algorithm",
                "SHA256",
                "--mgf",
                "MGF1-SHA256",
                "--salt-len",
                "-1",
            ],
        );
        verify(&rsa, &msg, &sig, "sha256", true);
    }

    // -O lists what was made, with the ids asked for.
    let objects = run(token.tool().arg("-O"));
    for id in [ec_id, rsa_id] {
        assert!(objects.contains(&format!("ID:         {id}")), "{objects}");
    }

    // OpenSSL through libp11's engine: the seed's command with a pkcs11: URI, and a CSR.
    for (id_hex, pem) in [(ec_id, &ec), (rsa_id, &rsa)] {
        let uri = token.private_key_uri(id_hex);
        let sig = token.file(&format!("{id_hex}.engine.sig"));
        run(token
            .openssl()
            .args([
                "dgst", "-sha256", "-engine", "pkcs11", "-keyform", "engine", "-sign", &uri, "-out",
            ])
            .arg(&sig)
            .arg(&msg));
        verify(pem, &msg, &sig, "sha256", false);
        let csr = token.file(&format!("{id_hex}.csr"));
        run(token
            .openssl()
            .args([
                "req", "-new", "-engine", "pkcs11", "-keyform", "engine", "-key", &uri,
            ])
            .args(["-subj", "/CN=hsm-p11.example/O=hsm-rs", "-out"])
            .arg(&csr));
        // OpenSSL 3.0's `req -verify` exits 0 even for a bad signature: the testkit reads its
        // words ("verify OK", no "failure").
        hsm_testkit::cli::openssl_req_verify(
            &std::fs::read_to_string(&csr).expect("openssl wrote the CSR"),
        );
        // The CSR carries the token's public key.
        let csr_key = run(Command::new("openssl")
            .args(["req", "-pubkey", "-noout", "-in"])
            .arg(&csr));
        assert_eq!(csr_key.trim(), std::fs::read_to_string(pem).unwrap().trim());
    }
    certificates(token, ec_id, &ec);
    random(token);

    // Ed25519 where the backend has it, last: libp11 0.4.12 cannot enumerate a token holding an
    // Ed25519 key ("Unable to enumerate private keys", the same with SoftHSM2's own module).
    if has("EDDSA") {
        let ed = token.keypairgen("EC:edwards25519", ed_id);
        let sig = token.sign("EDDSA", ed_id, &msg, &[]);
        run(Command::new("openssl")
            .args(["pkeyutl", "-verify", "-pubin", "-rawin", "-inkey"])
            .arg(&ed)
            .arg("-in")
            .arg(&msg)
            .arg("-sigfile")
            .arg(&sig));
    }
}

fn hex_decode(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn nethsm_simulator_through_pkcs11_tool_and_openssl() {
    let dir = tempfile::tempdir().unwrap();
    let sim = nethsm_sim(dir.path(), 0);
    let token = Token::new(
        dir.path(),
        nethsm_uri(&sim),
        "nethsm",
        NETHSM_OPERATOR_PASS,
        None,
    );
    peer_suite(&token, &hex("ec1"), &hex("rsa1"), &hex("ed1"));
}

#[test]
fn n200_simulator_through_pkcs11_tool_and_openssl() {
    let dir = tempfile::tempdir().unwrap();
    let sim = n200_sim(dir.path(), 0);
    let token = Token::new(dir.path(), n200_uri(&sim), "n200", N200_PASS, None);
    peer_suite(&token, &hex("ec2"), &hex("rsa2"), &hex("ed2"));
}

#[test]
fn softhsm_token_through_the_module_with_pkcs11_tool_and_openssl() {
    let dir = tempfile::tempdir().unwrap();
    let softhsm = softhsm_token(dir.path(), "softtok");
    let mut token = Token::new(
        dir.path(),
        softhsm_uri("softtok"),
        "viap11",
        SOFTHSM_PIN,
        Some(&softhsm),
    );
    // SoftHSM2's own module is the reference for what this token does.
    token.expect = softhsm_reference(dir.path(), &softhsm);
    peer_suite(&token, &hex("ec3"), &hex("rsa3"), &hex("ed3"));
}

#[test]
fn smartcard_hsm_simulator_over_pcscd_through_pkcs11_tool_and_openssl() {
    if !pcscd_with_vpcd() {
        return;
    }
    let card = ScCard::insert(1);
    let dir = tempfile::tempdir().unwrap();
    let token = Token::new(dir.path(), card.uri(), "sc-hsm", SC_HSM_USER_PIN, None);
    peer_suite(&token, &hex("ec4"), &hex("rsa4"), &hex("ed4"));
}

/// A certificate for the token's EC key: made by OpenSSL through libp11 (signed on the token),
/// stored, listed, read back by pkcs11-tool and GnuTLS's p11tool, deleted.
fn certificates(token: &Token, id_hex: &str, key_pem: &Path) {
    let label = String::from_utf8(hex_decode(id_hex)).unwrap();
    let uri = token.private_key_uri(id_hex);
    let pem = token.file(&format!("{id_hex}.crt.pem"));
    run(token
        .openssl()
        .args([
            "req", "-x509", "-new", "-engine", "pkcs11", "-keyform", "engine", "-key", &uri,
        ])
        .args([
            "-subj",
            "/CN=hsm-p11 peer certificate/O=hsm-rs",
            "-days",
            "2",
            "-out",
        ])
        .arg(&pem));
    let der = token.file(&format!("{id_hex}.crt.der"));
    run(Command::new("openssl")
        .args(["x509", "-outform", "DER", "-in"])
        .arg(&pem)
        .arg("-out")
        .arg(&der));
    let (stored, _, err) = token.attempt(
        token
            .tool()
            .arg("--write-object")
            .arg(&der)
            .args(["--type", "cert", "--id", id_hex, "--label", &label]),
    );
    if let Some(expected) = token.expect.certificates {
        assert_eq!(stored, expected, "{}: --write-object: {err}", token.label);
    }
    let listing = || run(token.tool().arg("-O"));
    if !stored {
        assert!(err.contains("CKR_FUNCTION_NOT_SUPPORTED"), "{err}");
        assert!(!listing().contains("Certificate Object"), "{}", listing());
        eprintln!("{}: no certificates (its backend stores none)", token.label);
        return;
    }
    let objects = listing();
    let cert_part = objects
        .split("Certificate Object")
        .nth(1)
        .unwrap_or_else(|| panic!("-O lists no certificate: {objects}"));
    assert!(
        cert_part.contains(&format!("ID:         {id_hex}")),
        "{objects}"
    );
    assert!(
        cert_part.contains("CN=hsm-p11 peer certificate"),
        "{objects}"
    );
    let read = token.file(&format!("{id_hex}.crt.read"));
    run(token
        .tool()
        .args(["--read-object", "--type", "cert", "--id", id_hex, "-o"])
        .arg(&read));
    assert_eq!(std::fs::read(&read).unwrap(), std::fs::read(&der).unwrap());
    // GnuTLS (p11-kit) reads it by its PKCS#11 URI.
    let id_pct: String = hex_decode(id_hex)
        .iter()
        .map(|b| format!("%{b:02x}"))
        .collect();
    let exported = run(Command::new("p11tool")
        .arg("--provider")
        .arg(module_path())
        .args(["--login", "--set-pin", &token.pin, "--export"])
        .arg(format!(
            "pkcs11:token={};id={id_pct};type=cert",
            token.label
        ))
        .envs(token.env.iter().map(|(k, v)| (k.as_str(), v.as_str()))));
    assert_eq!(
        exported.trim(),
        std::fs::read_to_string(&pem).unwrap().trim(),
        "p11tool --export"
    );
    // The certificate holds the token key's public key.
    let cert_key = run(Command::new("openssl")
        .args(["x509", "-noout", "-pubkey", "-in"])
        .arg(&pem));
    assert_eq!(
        cert_key.trim(),
        std::fs::read_to_string(key_pem).unwrap().trim()
    );
    run(token
        .tool()
        .args(["--delete-object", "--type", "cert", "--id", id_hex]));
    let objects = listing();
    assert!(!objects.contains("Certificate Object"), "{objects}");
    assert!(
        objects.contains(&format!("ID:         {id_hex}")),
        "the key went: {objects}"
    );
    eprintln!(
        "{}: certificate stored, listed, read, exported, deleted",
        token.label
    );
}

/// `pkcs11-tool --generate-random 64`: 64 bytes, different each time, where the backend has a
/// generator; `CKR_RANDOM_NO_RNG` where it has none.
fn random(token: &Token) {
    let draw = |name: &str| {
        let out = token.file(name);
        let (ok, _, err) = token.attempt(
            token
                .tool()
                .args(["--generate-random", "64", "-o"])
                .arg(&out),
        );
        (ok, std::fs::read(&out).unwrap_or_default(), err)
    };
    let (ok, a, err) = draw("random.a");
    if let Some(expected) = token.expect.random {
        assert_eq!(ok, expected, "{}: --generate-random: {err}", token.label);
    }
    if !ok {
        // pkcs11-tool prints no CKR_ name here; module_calls checks CKR_RANDOM_NO_RNG.
        assert!(err.contains("Could not generate random bytes"), "{err}");
        eprintln!(
            "{}: no random generator (its backend declares none)",
            token.label
        );
        return;
    }
    let (_, b, _) = draw("random.b");
    assert_eq!(a.len(), 64);
    assert_eq!(b.len(), 64);
    assert_ne!(a, b);
    eprintln!("{}: 64 random bytes from the device", token.label);
}

/// The peers' answers on SoftHSM2's own module, the reference for the `pkcs11:` slot: a
/// certificate is stored and read back, and 64 random bytes come out.
fn softhsm_reference(dir: &Path, conf: &Path) -> Expect {
    let tool = || {
        let mut c = Command::new("pkcs11-tool");
        c.args([
            "--module",
            SOFTHSM_MODULE,
            "--token-label",
            "reference",
            "--login",
        ])
        .args(["--pin", SOFTHSM_PIN])
        .env("SOFTHSM2_CONF", conf);
        c
    };
    run(Command::new("softhsm2-util")
        .args([
            "--init-token",
            "--free",
            "--label",
            "reference",
            "--so-pin",
            "12345678",
        ])
        .args(["--pin", SOFTHSM_PIN])
        .env("SOFTHSM2_CONF", conf));
    run(tool().args(["--keypairgen", "--key-type", "EC:prime256v1", "--id", "0f"]));
    let der = dir.join("reference.der");
    let _ = fixtures::self_signed_certificate(dir, "reference", "/CN=reference", &[]);
    let stored = output(
        tool()
            .arg("--write-object")
            .arg(&der)
            .args(["--type", "cert", "--id", "0f"]),
    )
    .status
    .success();
    let read = dir.join("reference.read");
    let read_back = stored
        && output(
            tool()
                .args(["--read-object", "--type", "cert", "--id", "0f", "-o"])
                .arg(&read),
        )
        .status
        .success()
        && std::fs::read(&read).unwrap() == std::fs::read(&der).unwrap();
    let random = output(
        tool()
            .args(["--generate-random", "64", "-o"])
            .arg(dir.join("reference.rnd")),
    )
    .status
    .success()
        && std::fs::read(dir.join("reference.rnd")).unwrap().len() == 64;
    Expect {
        certificates: Some(read_back),
        random: Some(random),
    }
}
