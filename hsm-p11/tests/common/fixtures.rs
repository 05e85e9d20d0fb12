//! What several suites, benches and the module's own unit tests make the same way: a P-256 key
//! pair found by `CKA_ID` or generated through the module, a self-signed certificate from the
//! `openssl` CLI, and a tool run that must succeed. No simulator, no PC/SC: the unit tests of
//! `src/certificate.rs` include this file alone.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::path::Path;
use std::process::Command;

use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, ObjectClass, ObjectHandle};
use cryptoki::session::Session;

/// `CKA_EC_PARAMS` of P-256 (the DER OID).
pub const P256_OID: [u8; 10] = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

/// The objects of `class` with `CKA_ID` `id`.
pub fn find(s: &Session, class: ObjectClass, id: &[u8]) -> Vec<ObjectHandle> {
    s.find_objects(&[Attribute::Class(class), Attribute::Id(id.to_vec())])
        .unwrap()
}

/// The private key of the P-256 key pair with `CKA_ID` `id`, generated when missing.
pub fn p256_key(s: &Session, id: &[u8]) -> ObjectHandle {
    if let Some(k) = find(s, ObjectClass::PRIVATE_KEY, id).first() {
        return *k;
    }
    s.generate_key_pair(
        &Mechanism::EccKeyPairGen,
        &[
            Attribute::Token(true),
            Attribute::EcParams(P256_OID.to_vec()),
            Attribute::Id(id.to_vec()),
        ],
        &[
            Attribute::Token(true),
            Attribute::Sign(true),
            Attribute::Id(id.to_vec()),
        ],
    )
    .unwrap()
    .1
}

/// Runs `cmd` (`what` names it in a failure) and asserts that it succeeded; its standard output.
pub fn run_ok(cmd: &mut Command, what: &str) -> Vec<u8> {
    let out = hsm_testkit::cli::output(cmd);
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A self-signed P-256 certificate for `subject` made by the `openssl` CLI (with `more` of its
/// `req` options), as DER in `dir/NAME.der` (its key in `dir/NAME.key`); the DER bytes.
pub fn self_signed_certificate(dir: &Path, name: &str, subject: &str, more: &[&str]) -> Vec<u8> {
    let der = dir.join(format!("{name}.der"));
    let _ = run_ok(
        Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
            ])
            .args([
                "-nodes", "-days", "2", "-subj", subject, "-outform", "DER", "-keyout",
            ])
            .arg(dir.join(format!("{name}.key")))
            .arg("-out")
            .arg(&der)
            .args(more),
        "openssl req -x509",
    );
    std::fs::read(der).unwrap()
}
