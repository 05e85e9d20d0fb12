//! Fidelity of the simulator, and interoperability of our client, against clients this project
//! did not write: Nitrokey's Python `nethsm` package and `nitropy nethsm` (pynitrokey), unchanged,
//! over verified TLS. Results are checked with our Rust client and with the `openssl` CLI, both
//! ways: keys Python makes are used by Rust, keys Rust makes are used by Python.
//!
//! Needs the venv made by `scripts/ci.d/nethsm.sh` (`HSM_NETHSM_VENV`, default
//! `/var/cache/hsm-rs/venv-nethsm`): fails when it is missing and `CI` is set, else skips.
#![allow(clippy::print_stderr, clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use hsm_core::{
    Curve, HashAlgorithm, KeyId, KeySpec, KeyStore as _, KeyTemplate, PublicKey, SignAlgorithm,
    Signature, Signer as _,
};
use hsm_nethsm::client::model::{SystemState, UserRole};
use hsm_nethsm::{Credentials, NetHsm};
use hsm_testkit::cli;
use secrecy::SecretString;
use serde_json::Value;
use support::{default_sim, sim_client, unprovisioned_sim};

const UNLOCK: &str = "unlock-passphrase-1";
/// Runs `command`, which must succeed (else its stderr is shown as `what` failing); its stdout.
fn succeed(what: &str, command: &mut Command) -> Vec<u8> {
    let out = cli::output(command);
    assert!(
        out.status.success(),
        "{what} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

const ADMIN: &str = "admin-passphrase-1";
const OPERATOR: &str = "jj01";
const OPERATOR_PASS: &str = "blab123456";

fn venv() -> Option<PathBuf> {
    let dir = PathBuf::from(
        std::env::var_os("HSM_NETHSM_VENV")
            .unwrap_or_else(|| "/var/cache/hsm-rs/venv-nethsm".into()),
    );
    let ok = Command::new(dir.join("bin/python"))
        .args(["-c", "import nethsm"])
        .output()
        .is_ok_and(|o| o.status.success())
        && dir.join("bin/nitropy").exists()
        && Command::new("openssl")
            .arg("version")
            .output()
            .is_ok_and(|o| o.status.success());
    if ok {
        return Some(dir);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "the nethsm venv ({}) and openssl are needed in CI: source scripts/ci.d/nethsm.sh",
        dir.display()
    );
    eprintln!(
        "SKIPPED: no venv with Nitrokey's nethsm and pynitrokey at {} (source scripts/ci.d/nethsm.sh)",
        dir.display()
    );
    None
}

struct Peer {
    venv: PathBuf,
    host: String,
    ca: PathBuf,
}

impl Peer {
    /// Runs a step of tests/python/peer.py; returns its JSON.
    fn py(&self, step: &str, args: &[&str]) -> Value {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/peer.py");
        let out = succeed(
            &format!("python {step}"),
            Command::new(self.venv.join("bin/python"))
                .arg(script)
                .arg(&self.host)
                .arg(&self.ca)
                .arg(step)
                .args(args),
        );
        serde_json::from_slice(&out).unwrap()
    }

    /// Runs `nitropy nethsm ... ARGS` as the operator; returns stdout.
    fn nitropy(&self, args: &[&str]) -> String {
        self.nitropy_as(OPERATOR, OPERATOR_PASS, args)
    }

    /// Runs `nitropy nethsm ... ARGS` as `user`; returns stdout.
    fn nitropy_as(&self, user: &str, pass: &str, args: &[&str]) -> String {
        let out = succeed(
            &format!("nitropy {args:?}"),
            Command::new(self.venv.join("bin/nitropy"))
                .env("ALLOW_ROOT", "1")
                .args(["nethsm", "--host", &self.host, "--ca-certs"])
                .arg(&self.ca)
                .args(["--username", user, "--password", pass])
                .args(args),
        );
        String::from_utf8(out).unwrap()
    }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn unb64(text: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(text.as_str().unwrap())
        .unwrap()
}

/// `openssl` verifies `signature` over `message` with `public`.
fn openssl_verifies(dir: &Path, public: &PublicKey, message: &[u8], signature: &[u8], ed: bool) {
    let (pem, msg, sig) = (dir.join("pub.pem"), dir.join("msg"), dir.join("sig"));
    std::fs::write(&pem, public.to_pem()).unwrap();
    std::fs::write(&msg, message).unwrap();
    std::fs::write(&sig, signature).unwrap();
    if ed {
        let text = cli::run_with_stderr(
            Command::new("openssl")
                .args(["pkeyutl", "-verify", "-pubin", "-rawin", "-inkey"])
                .arg(&pem)
                .arg("-in")
                .arg(&msg)
                .arg("-sigfile")
                .arg(&sig),
        );
        assert!(
            text.contains("Signature Verified Successfully"),
            "openssl refused the signature: {text}"
        );
    } else {
        cli::openssl_dgst_verify(&pem, "-sha256", &msg, &sig, &[]);
    }
}

#[test]
fn nitrokeys_python_clients_and_ours_share_one_simulated_nethsm() {
    let Some(venv) = venv() else { return };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sim = unprovisioned_sim(&runtime);
    let dir = std::env::temp_dir().join(format!("hsm-nethsm-python-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, sim.certificate_pem()).unwrap();
    let peer = Peer {
        venv,
        host: format!("localhost:{}", sim.addr().port()),
        ca,
    };
    let client = |user: &str, pass: &str| sim_client(&sim, user, pass);

    // Python provisions; Rust sees an operational device.
    let provisioned = peer.py("provision", &[UNLOCK, ADMIN]);
    assert_eq!(provisioned["before"], "Unprovisioned");
    assert_eq!(provisioned["after"], "Operational");
    assert_eq!(provisioned["vendor"], "Nitrokey GmbH");
    let admin = client("admin", ADMIN);
    assert_eq!(
        runtime.block_on(admin.health_state()).unwrap(),
        SystemState::Operational
    );

    // Python adds the operator; Rust reads it back and authenticates as it.
    let added = peer.py("add-user", &[ADMIN, OPERATOR, OPERATOR_PASS]);
    assert_eq!(added["id"], OPERATOR);
    assert_eq!(added["users"], serde_json::json!(["admin", OPERATOR]));
    let user = runtime.block_on(admin.get_user(OPERATOR)).unwrap();
    assert_eq!(user.role, UserRole::Operator);
    let hsm = NetHsm::new(client(OPERATOR, OPERATOR_PASS))
        .unwrap()
        .with_admin(Credentials::new("admin", SecretString::from(ADMIN)));
    assert!(hsm.list_keys().unwrap().is_empty());

    // Python generates keys; Rust signs with them; openssl verifies.
    for (id, key_type, mechanism, length) in [
        ("pyp256", "EC_P256", "ECDSA_Signature", "256"),
        ("pyrsa", "RSA", "RSA_Signature_PKCS1", "2048"),
        ("pyed", "Curve25519", "EdDSA_Signature", "256"),
    ] {
        let made = peer.py("generate", &[ADMIN, id, key_type, mechanism, length]);
        assert_eq!(made["id"], id);
    }
    let message = b"signed across implementations";
    for (id, algorithm) in [
        ("pyp256", SignAlgorithm::EcdsaSha256),
        ("pyrsa", SignAlgorithm::RsaPkcs1Sha256),
        ("pyed", SignAlgorithm::Ed25519),
    ] {
        let key: KeyId = id.parse().unwrap();
        let signature = hsm.sign(&key, algorithm, message).unwrap();
        let public = hsm.public_key(&key).unwrap();
        public.verify(message, &signature).unwrap();
        let ed = algorithm == SignAlgorithm::Ed25519;
        let bytes = if ed || algorithm == SignAlgorithm::RsaPkcs1Sha256 {
            signature.as_raw().to_vec()
        } else {
            signature.to_der()
        };
        openssl_verifies(&dir, &public, message, &bytes, ed);
        // The PEM Python gets is the key Rust verified with.
        let pem = peer.py("public", &[OPERATOR, OPERATOR_PASS, id]);
        assert_eq!(
            PublicKey::from_pem(pem["pem"].as_str().unwrap()).unwrap(),
            public
        );
    }

    // Rust generates keys; Python lists them with the right types and signs; Rust and openssl
    // verify.
    let rust_p256: KeyId = "rsp256".parse().unwrap();
    let rust_ed: KeyId = "rsed".parse().unwrap();
    hsm.generate_key(&KeyTemplate::new(
        rust_p256.clone(),
        KeySpec::Ec(Curve::P256),
    ))
    .unwrap();
    hsm.generate_key(&KeyTemplate::new(rust_ed.clone(), KeySpec::Ed25519))
        .unwrap();
    let listed = peer.py("list", &[OPERATOR, OPERATOR_PASS]);
    assert_eq!(
        listed["keys"],
        serde_json::json!(["pyed", "pyp256", "pyrsa", "rsed", "rsp256"])
    );
    assert_eq!(listed["details"]["rsp256"]["type"], "EC_P256");
    assert_eq!(listed["details"]["rsed"]["type"], "Curve25519");
    // Operations counted by the simulator, seen by Python: one signature each above.
    assert_eq!(listed["details"]["pyp256"]["operations"], 1);

    let digest = HashAlgorithm::Sha256.digest(message);
    let signed = peer.py(
        "sign",
        &[OPERATOR, OPERATOR_PASS, "rsp256", "ECDSA", &b64(&digest)],
    );
    let der = unb64(&signed["signature"]);
    let signature =
        Signature::ecdsa_from_der(SignAlgorithm::EcdsaSha256, Curve::P256, &der).unwrap();
    let public = hsm.public_key(&rust_p256).unwrap();
    public.verify(message, &signature).unwrap();
    openssl_verifies(&dir, &public, message, &der, false);

    let signed = peer.py(
        "sign",
        &[OPERATOR, OPERATOR_PASS, "rsed", "EdDSA", &b64(message)],
    );
    let raw = unb64(&signed["signature"]);
    let public = hsm.public_key(&rust_ed).unwrap();
    public
        .verify(
            message,
            &Signature::from_bytes(SignAlgorithm::Ed25519, &raw).unwrap(),
        )
        .unwrap();
    openssl_verifies(&dir, &public, message, &raw, true);

    // Certificates stored with keys, both ways. Rust stores DER; Python reads those bytes.
    let cert_pem = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/cert.pem");
    let cert_der = openssl::x509::X509::from_pem(&std::fs::read(&cert_pem).unwrap())
        .unwrap()
        .to_der()
        .unwrap();
    hsm.store_certificate(&rust_p256, &cert_der).unwrap();
    let read = peer.py("get-cert", &[OPERATOR, OPERATOR_PASS, "rsp256"]);
    assert_eq!(unb64(&read["cert"]), cert_der);
    // Python stores PEM on its own key; Rust reads it as DER, and replaces it (the device
    // refuses a second certificate: the backend deletes the first); Python reads the new one.
    let pyp256: KeyId = "pyp256".parse().unwrap();
    let _ = peer.py(
        "set-cert",
        &["admin", ADMIN, "pyp256", cert_pem.to_str().unwrap()],
    );
    assert_eq!(
        hsm.certificate(&pyp256).unwrap().as_deref(),
        Some(&cert_der[..])
    );
    let read = peer.py("get-cert", &[OPERATOR, OPERATOR_PASS, "pyp256"]);
    assert!(
        String::from_utf8(unb64(&read["cert"]))
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE-----"),
        "Python stored PEM"
    );
    hsm.store_certificate(&pyp256, &cert_der).unwrap();
    let read = peer.py("get-cert", &[OPERATOR, OPERATOR_PASS, "pyp256"]);
    assert_eq!(unb64(&read["cert"]), cert_der);

    // A CSR through Python's key_csr, made by the key Rust generated; openssl verifies it and
    // finds the key's public key in it.
    let csr = peer.py(
        "csr",
        &[OPERATOR, OPERATOR_PASS, "rsp256", "signer.example.net"],
    );
    let csr_path = dir.join("rsp256.csr");
    std::fs::write(&csr_path, csr["pem"].as_str().unwrap()).unwrap();
    // By openssl's output: OpenSSL 3.0 exits 0 even when the signature does not verify.
    cli::openssl_req_verify(csr["pem"].as_str().unwrap());
    let text = cli::run(
        Command::new("openssl")
            .args(["req", "-noout", "-text", "-in"])
            .arg(&csr_path),
    );
    assert!(
        text.contains("signer.example.net") && text.contains("IP Address:192.0.2.7"),
        "{text}"
    );
    let csr_key = cli::run(
        Command::new("openssl")
            .args(["req", "-noout", "-pubkey", "-in"])
            .arg(&csr_path),
    );
    assert_eq!(
        PublicKey::from_pem(&csr_key).unwrap(),
        hsm.public_key(&rust_p256).unwrap()
    );

    // nitropy, the command line of the seed document.
    let info = peer.nitropy(&["info"]);
    assert!(
        info.contains("Nitrokey GmbH") && info.contains("NetHSM"),
        "{info}"
    );
    let keys = peer.nitropy(&["list-keys"]);
    for id in ["pyed", "pyp256", "pyrsa", "rsed", "rsp256"] {
        assert!(keys.contains(id), "{id} missing from:\n{keys}");
    }
    assert!(
        keys.contains("EC_P256") && keys.contains("Curve25519"),
        "{keys}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn nitrokeys_python_client_administers_the_simulated_device() {
    use hsm_nethsm::sim::{ADMIN_PASSPHRASE, OPERATOR_PASSPHRASE};
    let Some(venv) = venv() else { return };
    let (runtime, sim) = default_sim();
    let dir = std::env::temp_dir().join(format!("hsm-nethsm-python-dev-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, sim.certificate_pem()).unwrap();
    let pem = dir.join("key.pem");
    let made = Command::new("openssl")
        .args([
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
        ])
        .arg(&pem)
        .status()
        .unwrap();
    assert!(made.success());
    let peer = Peer {
        venv,
        host: format!("localhost:{}", sim.addr().port()),
        ca,
    };
    let out = peer.py(
        "device",
        &[ADMIN_PASSPHRASE, OPERATOR_PASSPHRASE, pem.to_str().unwrap()],
    );
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out["namespaces"], serde_json::json!(["pyns"]));
    assert_eq!(out["ns_user"], "pyns~nsadmin");
    assert_eq!(
        out["logging"],
        serde_json::json!(["192.0.2.7", 5514, "warning"])
    );
    assert_eq!(
        out["network"],
        serde_json::json!(["10.1.2.3", "255.255.0.0", "10.1.0.1"])
    );
    assert_eq!(out["ntp"], "192.0.2.123");
    assert!(
        out["time"]
            .as_str()
            .unwrap()
            .starts_with("2030-01-02T03:04"),
        "{}",
        out["time"]
    );
    assert!(out["unattended"].as_str().unwrap().contains("on"), "{out}");
    assert!(out["tls_public"].as_str().unwrap().contains("PUBLIC KEY"));
    assert_eq!(out["tls_cert"], sim.certificate_pem());
    assert!(
        out["tls_csr"]
            .as_str()
            .unwrap()
            .contains("CERTIFICATE REQUEST")
    );
    assert_eq!(out["members"], 1);
    assert_eq!(out["etcd_running"], true);
    assert_eq!(out["pem_id"], "pypem");
    assert_eq!(out["pem_label"], "pylabel");
    assert_eq!(out["key_cert"], "certificate bytes");
    assert_eq!(out["aes_round_trip"], true);
    assert!(out["backup_bytes"].as_u64().unwrap() > 100);
    // The restore brought back the AES key deleted after the backup, under the moved id.
    assert_eq!(out["after_restore"], serde_json::json!(["pyaes", "pypem2"]));
    assert_eq!(out["namespaces_after"], serde_json::json!([]));
    // And our client sees what Python did.
    let admin = sim_client(&sim, "admin", ADMIN_PASSPHRASE);
    let ntp = runtime.block_on(admin.ntp()).unwrap();
    assert_eq!(ntp.ntp_ip.as_deref(), Some("192.0.2.123"));
}
