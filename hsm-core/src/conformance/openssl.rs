//! Verification with the `openssl` command line, for what no Rust crate verifies.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::key_spec::KeySpec;
use crate::public_key::PublicKey;
use crate::signature::Signature;

/// A fresh directory for one call's files, removed when dropped. One per call: conformance runs
/// of several backends share a process (and often a message), so neither the pid nor the
/// content is unique.
struct Scratch(PathBuf);

impl Scratch {
    fn new(purpose: &str) -> Result<Self, String> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "hsm-conformance-{purpose}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).map_err(|e| format!("temp dir: {e}"))?;
        Ok(Self(dir))
    }

    /// The path of `name` in the directory.
    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// Writes `bytes` to `name` in the directory; its path.
    fn write(&self, name: &str, bytes: &[u8]) -> Result<PathBuf, String> {
        let path = self.path(name);
        std::fs::write(&path, bytes).map_err(|e| format!("{e}"))?;
        Ok(path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `openssl` with these arguments (more can follow with `.arg`).
fn openssl<const N: usize>(args: [&str; N]) -> Command {
    let mut command = Command::new("openssl");
    command.args(args);
    command
}

/// What an `openssl` command printed, whether it succeeded or not.
fn output(command: &mut Command) -> Result<Output, String> {
    command
        .output()
        .map_err(|e| format!("cannot run openssl: {e}"))
}

/// Runs an `openssl` command; when it fails, its subcommand and stderr are the error.
fn run(command: &mut Command) -> Result<(), String> {
    let out = output(command)?;
    if out.status.success() {
        return Ok(());
    }
    let subcommand = command.get_args().next().unwrap_or_default();
    Err(format!(
        "openssl {}: {}",
        subcommand.to_string_lossy(),
        String::from_utf8_lossy(&out.stderr).trim()
    ))
}

/// Verifies an ECDSA signature over a digest with `openssl pkeyutl -verify`.
pub(super) fn verify_ecdsa_digest(
    public_key: &PublicKey,
    digest: &[u8],
    signature: &Signature,
) -> Result<(), String> {
    let dir = Scratch::new("verify")?;
    let pem = dir.write("pub.pem", public_key.to_pem().as_bytes())?;
    let dgst = dir.write("digest.bin", digest)?;
    let sig = dir.write("sig.der", &signature.to_der())?;
    let out = output(
        openssl(["pkeyutl", "-verify", "-pubin", "-inkey"])
            .arg(&pem)
            .arg("-in")
            .arg(&dgst)
            .arg("-sigfile")
            .arg(&sig),
    )?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "openssl pkeyutl -verify refused the signature: {}{}",
            String::from_utf8_lossy(&out.stdout).trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// A fresh private key of `spec` made by `openssl genpkey`: its PKCS#8 DER and its SPKI DER.
/// The suite imports keys made by an implementation it did not write.
pub(super) fn generate_pkcs8(spec: KeySpec) -> Result<(Vec<u8>, Vec<u8>), String> {
    let mut genpkey = openssl(["genpkey"]);
    match spec {
        KeySpec::Ed25519 => genpkey.args(["-algorithm", "ED25519"]),
        KeySpec::Ec(curve) => genpkey
            .args(["-algorithm", "EC", "-pkeyopt"])
            .arg(format!("ec_paramgen_curve:{}", curve.openssl_name()))
            .args(["-pkeyopt", "ec_param_enc:named_curve"]),
        other => {
            let bits = other
                .rsa_bits()
                .ok_or_else(|| format!("the suite makes no {other} key in software"))?;
            genpkey
                .args(["-algorithm", "RSA", "-pkeyopt"])
                .arg(format!("rsa_keygen_bits:{bits}"))
        }
    };
    let dir = Scratch::new("key")?;
    let (raw, key, public) = (
        dir.path("raw.pem"),
        dir.path("key.der"),
        dir.path("pub.der"),
    );
    run(genpkey.arg("-out").arg(&raw))?;
    // `genpkey` writes EC keys in SEC1 form in DER; `pkcs8 -topk8` makes every key PKCS#8.
    run(openssl(["pkcs8", "-topk8", "-nocrypt", "-in"])
        .arg(&raw)
        .args(["-outform", "DER", "-out"])
        .arg(&key))?;
    run(openssl(["pkey", "-inform", "DER", "-in"])
        .arg(&key)
        .args(["-pubout", "-outform", "DER", "-out"])
        .arg(&public))?;
    let read = |p: &PathBuf| std::fs::read(p).map_err(|e| format!("{e}"));
    Ok((read(&key)?, read(&public)?))
}

/// An X.509 certificate (DER) for `public_key`, issued by a throwaway P-256 key with
/// `openssl x509 -new -force_pubkey`, for the certificate checks: what the suite stores comes
/// from an implementation it did not write, and names the key it is stored with (devices may
/// check that).
pub(super) fn certificate_for(public_key: &PublicKey) -> Result<Vec<u8>, String> {
    let dir = Scratch::new("cert")?;
    let subject_key = dir.write("subject.pem", public_key.to_pem().as_bytes())?;
    let (issuer, cert) = (dir.path("issuer.pem"), dir.path("cert.der"));
    run(openssl([
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
    ])
    .arg(&issuer))?;
    run(openssl([
        "x509",
        "-new",
        "-subj",
        "/CN=hsm-rs conformance",
        "-days",
        "1",
        "-key",
    ])
    .arg(&issuer)
    .arg("-force_pubkey")
    .arg(&subject_key)
    .args(["-outform", "DER", "-out"])
    .arg(&cert))?;
    std::fs::read(&cert).map_err(|e| format!("no certificate written: {e}"))
}
