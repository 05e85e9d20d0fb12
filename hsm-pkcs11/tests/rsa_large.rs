//! RSA-3072 and RSA-4096 on a SoftHSM2 token: generated through the backend (one key per size:
//! SoftHSM2 takes seconds for a 4096-bit key), signed with PKCS#1 v1.5 and PSS over SHA-256,
//! SHA-384 and SHA-512, and every signature verified by the `openssl` CLI (and in software,
//! where a changed message must fail with `VerificationFailed`).
#![allow(clippy::unwrap_used)]

mod common;

use hsm_core::{ErrorKind, KeyId, KeySpec, KeyStore, KeyTemplate, SignAlgorithm, Signer};

const ALGORITHMS: [(SignAlgorithm, &str); 6] = [
    (SignAlgorithm::RsaPkcs1Sha256, "-sha256"),
    (SignAlgorithm::RsaPkcs1Sha384, "-sha384"),
    (SignAlgorithm::RsaPkcs1Sha512, "-sha512"),
    (SignAlgorithm::RsaPssSha256, "-sha256"),
    (SignAlgorithm::RsaPssSha384, "-sha384"),
    (SignAlgorithm::RsaPssSha512, "-sha512"),
];

/// The `openssl pkeyutl`-free check: `openssl dgst -verify` with the digest and, for PSS, the
/// padding and a salt of the digest's length (MGF1 uses the same digest by default).
fn openssl_verify(
    dir: &std::path::Path,
    algorithm: SignAlgorithm,
    digest: &str,
    msg: &[u8],
    sig: &[u8],
) {
    let mut extra = Vec::new();
    if algorithm.is_rsa_pss() {
        extra = vec![
            "-sigopt",
            "rsa_padding_mode:pss",
            "-sigopt",
            "rsa_pss_saltlen:-1",
        ];
    }
    common::openssl_verify(dir, digest, msg, sig, &extra);
}

fn generate_sign_and_verify(spec: KeySpec, bits: usize) {
    if !common::ready(true) {
        return;
    }
    let hsm = common::sim();
    let key = KeyId::name(format!("rsa-{bits}")).unwrap();
    let info = hsm
        .generate_key(&KeyTemplate::new(key.clone(), spec))
        .unwrap();
    assert_eq!(info.spec, Some(spec));
    assert_eq!(hsm.key_info(&key).unwrap().spec, Some(spec));
    let public = hsm.public_key(&key).unwrap();
    assert_eq!(public.spec(), Some(spec));

    let dir = common::scratch();
    std::fs::write(dir.path().join("pub.pem"), public.to_pem()).unwrap();
    // openssl reads the modulus size from the token's public key, independently of us.
    let text = common::run_ok(
        std::process::Command::new("openssl")
            .args(["pkey", "-pubin", "-in", "pub.pem", "-noout", "-text"])
            .current_dir(dir.path()),
    );
    assert!(
        text.contains(&format!("Public-Key: ({bits} bit)")),
        "{text}"
    );

    for (algorithm, digest) in ALGORITHMS {
        let msg = format!("RSA-{bits} {algorithm} from SoftHSM2");
        let sig = hsm.sign(&key, algorithm, msg.as_bytes()).unwrap();
        assert_eq!(sig.as_raw().len(), bits / 8, "{algorithm}");
        openssl_verify(dir.path(), algorithm, digest, msg.as_bytes(), sig.as_raw());
        public.verify(msg.as_bytes(), &sig).unwrap();
        let e = public.verify(b"another message", &sig).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::VerificationFailed, "{algorithm}: {e}");
        // The same signature from a digest the caller computed.
        let hash = algorithm.hash().unwrap();
        let by_digest = hsm
            .sign_digest(&key, algorithm, &hash.digest(msg.as_bytes()))
            .unwrap();
        openssl_verify(
            dir.path(),
            algorithm,
            digest,
            msg.as_bytes(),
            by_digest.as_raw(),
        );
    }
}

#[test]
fn rsa_3072_generates_and_signs_pkcs1_and_pss_verified_by_openssl() {
    generate_sign_and_verify(KeySpec::Rsa3072, 3072);
}

#[test]
fn rsa_4096_generates_and_signs_pkcs1_and_pss_verified_by_openssl() {
    generate_sign_and_verify(KeySpec::Rsa4096, 4096);
}
