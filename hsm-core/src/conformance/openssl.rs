//! Verification with the `openssl` command line, for what no Rust crate verifies.

use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::public_key::PublicKey;
use crate::signature::Signature;

/// Verifies an ECDSA signature over a digest with `openssl pkeyutl -verify`.
pub(super) fn verify_ecdsa_digest(
    public_key: &PublicKey,
    digest: &[u8],
    signature: &Signature,
) -> Result<(), String> {
    // One directory per call: conformance runs of several backends share a
    // process (and often a message), so neither the pid nor the digest is unique.
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "hsm-conformance-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).map_err(|e| format!("temp dir: {e}"))?;
    let pem = dir.join("pub.pem");
    let dgst = dir.join("digest.bin");
    let sig = dir.join("sig.der");
    let write = |p: &std::path::Path, b: &[u8]| std::fs::write(p, b).map_err(|e| format!("{e}"));
    write(&pem, public_key.to_pem().as_bytes())?;
    write(&dgst, digest)?;
    write(&sig, &signature.to_der())?;
    let out = Command::new("openssl")
        .args(["pkeyutl", "-verify", "-pubin", "-inkey"])
        .arg(&pem)
        .arg("-in")
        .arg(&dgst)
        .arg("-sigfile")
        .arg(&sig)
        .output()
        .map_err(|e| format!("cannot run openssl: {e}"))?;
    let _ = std::fs::remove_dir_all(&dir);
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
