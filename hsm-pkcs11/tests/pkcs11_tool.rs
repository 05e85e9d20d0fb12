//! OpenSC's `pkcs11-tool` and `openssl` as independent peers, both ways, on a SoftHSM2 token.
#![allow(clippy::unwrap_used)]

mod common;

use hsm_core::{HashAlgorithm, KeyId, KeySpec, KeyStore, KeyTemplate, SignAlgorithm, Signer};
use hsm_pkcs11::Pkcs11Hsm;
use hsm_testkit::cli::openssl_issue_certificate;
use std::sync::MutexGuard;

/// A fresh token and its label, with the lock that keeps this binary's tests one at a time;
/// `None` where SoftHSM2, pkcs11-tool or openssl cannot run.
fn token() -> Option<(MutexGuard<'static, ()>, Pkcs11Hsm, String)> {
    let serial = common::one_at_a_time();
    if !common::ready(true) {
        return None;
    }
    let hsm = common::sim();
    let label = hsm.token_info().unwrap().label;
    Some((serial, hsm, label))
}

/// A P-256 key with id `id` and label `label`, made by the backend.
fn p256_labelled(hsm: &Pkcs11Hsm, id: &[u8], label: &str) -> KeyId {
    let key = KeyId::from_bytes(id.to_vec()).unwrap();
    let spec = KeySpec::Ec(hsm_core::Curve::P256);
    hsm.generate_key(&KeyTemplate::new(key.clone(), spec).with_label(label))
        .unwrap();
    key
}

fn tool(label: &str, args: &[&str]) -> String {
    common::pkcs11_tool(label, args)
}

fn openssl_verify(dir: &std::path::Path, pem: &str, msg: &[u8], sig: &[u8], extra: &[&str]) {
    std::fs::write(dir.join("pub.pem"), pem).unwrap();
    common::openssl_verify(dir, "-sha256", msg, sig, extra);
}

#[test]
fn pkcs11_tool_lists_and_signs_with_our_keys() {
    let Some((_serial, hsm, label)) = token() else {
        return;
    };
    let id = p256_labelled(&hsm, &[0xA1, 0x5E], "ours-ec");
    let listing = tool(&label, &["--list-objects", "--type", "privkey"]);
    assert!(listing.contains("label:      ours-ec"), "{listing}");
    assert!(listing.contains("ID:         a15e"), "{listing}");

    let dir = common::scratch();
    let msg = b"signed by pkcs11-tool with a key hsm-pkcs11 made";
    std::fs::write(dir.path().join("digest"), HashAlgorithm::Sha256.digest(msg)).unwrap();
    let d = dir.path().to_str().unwrap();
    tool(
        &label,
        &[
            "--sign",
            "-m",
            "ECDSA",
            "--id",
            "a15e",
            "--signature-format",
            "openssl",
            "--input-file",
            &format!("{d}/digest"),
            "--output-file",
            &format!("{d}/toolsig"),
        ],
    );
    let sig = std::fs::read(dir.path().join("toolsig")).unwrap();
    openssl_verify(
        dir.path(),
        &hsm.public_key(&id).unwrap().to_pem(),
        msg,
        &sig,
        &[],
    );
}

#[test]
fn keys_from_pkcs11_tool_are_found_and_used() {
    let Some((_serial, hsm, label)) = token() else {
        return;
    };
    tool(
        &label,
        &[
            "--keypairgen",
            "--key-type",
            "rsa:2048",
            "--id",
            "b2",
            "--label",
            "peer-rsa",
        ],
    );
    tool(
        &label,
        &[
            "--keypairgen",
            "--key-type",
            "EC:prime256v1",
            "--id",
            "b3",
            "--label",
            "peer-ec",
        ],
    );
    let dir = common::scratch();
    let msg = b"signed by hsm-pkcs11 with a key pkcs11-tool made";

    let by_label = KeyId::name("peer-rsa").unwrap();
    let by_id: KeyId = "id:b2".parse().unwrap();
    assert_eq!(hsm.key_info(&by_id).unwrap().spec, Some(KeySpec::Rsa2048));
    assert!(
        hsm.list_keys()
            .unwrap()
            .iter()
            .any(|k| k.label.as_deref() == Some("peer-rsa"))
    );
    let pem = hsm.public_key(&by_id).unwrap().to_pem();
    let sig = hsm
        .sign(&by_label, SignAlgorithm::RsaPkcs1Sha256, msg)
        .unwrap();
    openssl_verify(dir.path(), &pem, msg, sig.as_raw(), &[]);
    let sig = hsm.sign(&by_id, SignAlgorithm::RsaPssSha256, msg).unwrap();
    openssl_verify(
        dir.path(),
        &pem,
        msg,
        sig.as_raw(),
        &[
            "-sigopt",
            "rsa_padding_mode:pss",
            "-sigopt",
            "rsa_pss_saltlen:32",
        ],
    );

    let ec: KeyId = "id:b3".parse().unwrap();
    let sig = hsm.sign(&ec, SignAlgorithm::EcdsaSha256, msg).unwrap();
    openssl_verify(
        dir.path(),
        &hsm.public_key(&ec).unwrap().to_pem(),
        msg,
        &sig.to_der(),
        &[],
    );
}

#[test]
fn certificates_cross_between_pkcs11_tool_and_the_backend() {
    let Some((_serial, hsm, label)) = token() else {
        return;
    };
    let key = p256_labelled(&hsm, &[0xCE, 0x01], "cert-key");
    let dir = common::scratch();
    let d = dir.path();
    let pem = hsm.public_key(&key).unwrap().to_pem();
    let by_tool = openssl_issue_certificate(&pem, "/CN=written by pkcs11-tool");
    let by_us = openssl_issue_certificate(&pem, "/CN=stored by hsm-pkcs11");
    assert_eq!(hsm.certificate(&key).unwrap(), None);

    // pkcs11-tool writes one with the key's id: the backend reads it, by id and by label.
    let tool_der = d.join("tool.der");
    std::fs::write(&tool_der, &by_tool).unwrap();
    tool(
        &label,
        &[
            "--write-object",
            tool_der.to_str().unwrap(),
            "--type",
            "cert",
            "--id",
            "ce01",
        ],
    );
    assert_eq!(
        hsm.certificate(&key).unwrap().as_deref(),
        Some(&by_tool[..])
    );
    let by_label = KeyId::name("cert-key").unwrap();
    assert_eq!(
        hsm.certificate(&by_label).unwrap().as_deref(),
        Some(&by_tool[..])
    );

    // The backend replaces it: pkcs11-tool lists exactly one certificate with the key's id and
    // label, whose subject is ours, and reads our bytes back.
    hsm.store_certificate(&key, &by_us).unwrap();
    let listing = tool(&label, &["--list-objects", "--type", "cert"]);
    assert_eq!(
        listing.matches("Certificate Object").count(),
        1,
        "{listing}"
    );
    assert!(listing.contains("label:      cert-key"), "{listing}");
    assert!(listing.contains("ID:         ce01"), "{listing}");
    assert!(listing.contains("stored by hsm-pkcs11"), "{listing}");
    let read = d.join("read.der");
    tool(
        &label,
        &[
            "--read-object",
            "--type",
            "cert",
            "--id",
            "ce01",
            "--output-file",
            read.to_str().unwrap(),
        ],
    );
    assert_eq!(std::fs::read(&read).unwrap(), by_us);

    // Deleted by the backend: pkcs11-tool no longer lists it.
    hsm.delete_certificate(&key).unwrap();
    let listing = tool(&label, &["--list-objects", "--type", "cert"]);
    assert!(!listing.contains("Certificate Object"), "{listing}");
    assert_eq!(hsm.certificate(&key).unwrap(), None);
}
