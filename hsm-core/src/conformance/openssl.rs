//! Verification with the `openssl` command line, for what no Rust crate verifies.

use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::key_spec::KeySpec;
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

/// A fresh private key of `spec` made by `openssl genpkey`: its PKCS#8 DER and its SPKI DER.
/// The suite imports keys made by an implementation it did not write.
pub(super) fn generate_pkcs8(spec: KeySpec) -> Result<(Vec<u8>, Vec<u8>), String> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "hsm-conformance-key-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).map_err(|e| format!("temp dir: {e}"))?;
    let key = dir.join("key.der");
    let public = dir.join("pub.der");
    let run = |args: &[&str]| -> Result<(), String> {
        let out = Command::new("openssl")
            .args(args)
            .output()
            .map_err(|e| format!("cannot run openssl: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "openssl {}: {}",
                args.first().copied().unwrap_or_default(),
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    };
    let key_path = key.display().to_string();
    let public_path = public.display().to_string();
    let rsa_bits;
    let curve_opt;
    let mut args = vec!["genpkey"];
    match spec {
        KeySpec::Ed25519 => args.extend(["-algorithm", "ED25519"]),
        KeySpec::Ec(curve) => {
            curve_opt = format!("ec_paramgen_curve:{}", curve.openssl_name());
            args.extend(["-algorithm", "EC", "-pkeyopt", &curve_opt]);
            args.extend(["-pkeyopt", "ec_param_enc:named_curve"]);
        }
        other => {
            let bits = other
                .rsa_bits()
                .ok_or_else(|| format!("the suite makes no {other} key in software"))?;
            rsa_bits = format!("rsa_keygen_bits:{bits}");
            args.extend(["-algorithm", "RSA", "-pkeyopt", &rsa_bits]);
        }
    }
    let raw_path = dir.join("raw.pem").display().to_string();
    args.extend(["-out", &raw_path]);
    // `genpkey` writes EC keys in SEC1 form in DER; `pkcs8 -topk8` makes every key PKCS#8.
    let made = run(&args).and_then(|()| {
        run(&[
            "pkcs8", "-topk8", "-nocrypt", "-in", &raw_path, "-outform", "DER", "-out", &key_path,
        ])
    });
    let made = made.and_then(|()| {
        run(&[
            "pkey",
            "-inform",
            "DER",
            "-in",
            &key_path,
            "-pubout",
            "-outform",
            "DER",
            "-out",
            &public_path,
        ])
    });
    let read = |p: &std::path::Path| std::fs::read(p).map_err(|e| format!("{e}"));
    let result = made.and_then(|()| Ok((read(&key)?, read(&public)?)));
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// An X.509 certificate (DER) for `public_key`, issued by a throwaway P-256 key with
/// `openssl x509 -new -force_pubkey`, for the certificate checks: what the suite stores comes
/// from an implementation it did not write, and names the key it is stored with (devices may
/// check that).
pub(super) fn certificate_for(public_key: &PublicKey) -> Result<Vec<u8>, String> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "hsm-conformance-cert-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).map_err(|e| format!("temp dir: {e}"))?;
    let (issuer, subject_key, cert) = (
        dir.join("issuer.pem"),
        dir.join("subject.pem"),
        dir.join("cert.der"),
    );
    let run = |args: &[&std::ffi::OsStr]| -> Result<(), String> {
        let out = Command::new("openssl")
            .args(args)
            .output()
            .map_err(|e| format!("cannot run openssl: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "openssl {}: {}",
                args.first()
                    .map(|a| a.to_string_lossy())
                    .unwrap_or_default(),
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    };
    let made = std::fs::write(&subject_key, public_key.to_pem())
        .map_err(|e| format!("{e}"))
        .and_then(|()| {
            run(&[
                "genpkey".as_ref(),
                "-algorithm".as_ref(),
                "EC".as_ref(),
                "-pkeyopt".as_ref(),
                "ec_paramgen_curve:P-256".as_ref(),
                "-out".as_ref(),
                issuer.as_os_str(),
            ])
        })
        .and_then(|()| {
            run(&[
                "x509".as_ref(),
                "-new".as_ref(),
                "-subj".as_ref(),
                "/CN=hsm-rs conformance".as_ref(),
                "-days".as_ref(),
                "1".as_ref(),
                "-key".as_ref(),
                issuer.as_os_str(),
                "-force_pubkey".as_ref(),
                subject_key.as_os_str(),
                "-outform".as_ref(),
                "DER".as_ref(),
                "-out".as_ref(),
                cert.as_os_str(),
            ])
        })
        .and_then(|()| std::fs::read(&cert).map_err(|e| format!("no certificate written: {e}")));
    let _ = std::fs::remove_dir_all(&dir);
    made
}
