//! OpenSC's `pkcs11-tool` and `openssl` as independent peers, both ways, on a SoftHSM2 token.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use hsm_core::{HashAlgorithm, KeyId, KeySpec, KeyStore, KeyTemplate, SignAlgorithm, Signer};

fn tool(label: &str, args: &[&str]) -> String {
    common::pkcs11_tool(label, args)
}

fn openssl_verify(dir: &std::path::Path, pem: &str, msg: &[u8], sig: &[u8], extra: &[&str]) {
    std::fs::write(dir.join("pub.pem"), pem).unwrap();
    common::openssl_verify(dir, "-sha256", msg, sig, extra);
}

#[test]
fn pkcs11_tool_lists_and_signs_with_our_keys() {
    let _serial = common::one_at_a_time();
    if !common::ready(true) {
        return;
    }
    let hsm = common::sim();
    let label = hsm.token_info().unwrap().label;
    let id = KeyId::from_bytes(vec![0xA1, 0x5E]).unwrap();
    hsm.generate_key(
        &KeyTemplate::new(id.clone(), KeySpec::Ec(hsm_core::Curve::P256)).with_label("ours-ec"),
    )
    .unwrap();
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
    let _serial = common::one_at_a_time();
    if !common::ready(true) {
        return;
    }
    let hsm = common::sim();
    let label = hsm.token_info().unwrap().label;
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
