//! A token deleted behind the backend's back (SoftHSM2's token directory removed) and one
//! re-initialised by another program. Its own test binary: SoftHSM2 keeps one token list per
//! process, and a deleted token must not disturb other tests' tokens.

mod common;

use common::{p256, sign_and_verify};

use hsm_core::{Curve, ErrorKind, KeyId, KeySpec, KeyStore, KeyTemplate, SignAlgorithm, Signer};

#[test]
fn a_reinitialised_token_is_used_again_and_a_deleted_one_is_a_clear_error() {
    let Some((hsm, key, _)) = common::token_with_p256(true, "doomed") else {
        return;
    };
    let info = hsm.token_info().unwrap();
    hsm.health().unwrap();

    // Another program (softhsm2-util) re-initialises the token, under `label`.
    let relabel = |label: &str| {
        let pins = [
            "--so-pin",
            hsm_pkcs11::sim::SO_PIN,
            "--pin",
            hsm_pkcs11::sim::USER_PIN,
        ];
        common::run_ok(
            std::process::Command::new("softhsm2-util")
                .args(["--init-token", "--serial", &info.serial, "--label", label])
                .args(pins),
        );
    };

    // Re-initialised under the same label: its keys are gone, the token is still there.
    relabel(&info.label);
    let e = hsm
        .sign(&key, SignAlgorithm::EcdsaSha256, b"x")
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    let (key, public) = p256(&hsm, "reborn");
    sign_and_verify(&hsm, &key, &public, b"on the new token");

    // Re-initialised again under another label: the slot now holds another token.
    relabel("someone-else");
    let e = hsm
        .sign(&key, SignAlgorithm::EcdsaSha256, b"x")
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    assert!(
        e.to_string().contains("now holds the token `someone-else`"),
        "{e}"
    );
    let e = hsm.health().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    assert_eq!(e.operation(), "pkcs11.health");
    relabel(&info.label);

    // The token is deleted (its directory removed): every call fails with Unavailable saying
    // the token is gone, instead of a misleading "no such key" or a bare CKR_GENERAL_ERROR.
    let other = common::sim();
    let (other_key, other_public) = p256(&other, "bystander");
    let path = common::token_path(&info.serial);
    std::fs::remove_dir_all(&path).unwrap();
    let gone = |e: hsm_core::Error| {
        assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
        assert!(e.to_string().contains("is gone"), "{e}");
        assert!(e.to_string().contains(&info.label), "{e}");
    };
    gone(
        hsm.sign(&key, SignAlgorithm::EcdsaSha256, b"x")
            .unwrap_err(),
    );
    gone(hsm.public_key(&key).unwrap_err());
    gone(hsm.list_keys().unwrap_err());
    gone(hsm.token_info().unwrap_err());
    gone(hsm.health().unwrap_err());
    gone(
        hsm.generate_key(&KeyTemplate::new(
            KeyId::name("never").unwrap(),
            KeySpec::Ec(Curve::P256),
        ))
        .unwrap_err(),
    );
    // Tokens next to it are untouched.
    sign_and_verify(&other, &other_key, &other_public, b"still here");
}
