//! `finalize` at shutdown, and what it is for besides: after `C_Finalize` and a new open the
//! module reads its tokens afresh, so a SoftHSM2 token whose directory vanished and came back
//! is usable again. Its own test binary: finalizing the module ends every backend in the
//! process.

mod common;

use std::path::Path;

use hsm_core::{ErrorKind, SignAlgorithm, Signer};
use hsm_pkcs11::{Pkcs11Hsm, finalize};

#[test]
fn finalize_then_reopen_sees_the_tokens_again() {
    let module = Path::new(common::MODULE);
    let Some(hsm) = common::sim_if_ready() else {
        return;
    };
    let token = hsm.token_info().unwrap();
    let (key, public) = common::p256(&hsm, "kept");
    let pin = format!("pin-value={}", hsm_pkcs11::sim::USER_PIN);
    let uri = common::token_uri(&hsm, common::MODULE, &pin);

    // The token directory goes away: the token is gone for this initialisation of the module.
    let path = common::token_path(&token.serial);
    let aside = path.with_extension("aside");
    std::fs::rename(&path, &aside).unwrap();
    let e = hsm
        .sign(&key, SignAlgorithm::EcdsaSha256, b"x")
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    std::fs::rename(&aside, &path).unwrap();
    let e = hsm
        .sign(&key, SignAlgorithm::EcdsaSha256, b"x")
        .unwrap_err();
    assert_eq!(
        e.kind(),
        ErrorKind::Unavailable,
        "still gone until finalize: {e}"
    );

    // Shutdown: drop the backends, then finalize, once.
    drop(hsm);
    assert!(finalize(module).unwrap());
    assert!(!finalize(module).unwrap(), "nothing left to finalize");

    // A new open initialises the module again; it reads the token and its key from disk.
    let again = Pkcs11Hsm::open(&uri).unwrap();
    let sig = again
        .sign(&key, SignAlgorithm::EcdsaSha256, b"after finalize")
        .unwrap();
    public.verify(b"after finalize", &sig).unwrap();
    drop(again);
    assert!(finalize(module).unwrap());
}
