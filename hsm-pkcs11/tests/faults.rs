//! Faults behind the backend's back on SoftHSM2: sessions closed by someone else, the login
//! lost, the token deleted or re-initialised, keys replaced by another program, modules that do
//! not load. Each is repaired where that is possible and otherwise gives a clear error; none
//! panics.
#![allow(clippy::unwrap_used)]

mod common;

use common::sign_and_verify;

use hsm_core::{Curve, ErrorKind, KeyId, KeySpec, KeyStore, PublicKey, SignAlgorithm, Signer};
use hsm_pkcs11::{Pkcs11Hsm, TokenSummary};

/// [`common::token_with_p256`] with this binary's lock held (see [`common::one_at_a_time`]),
/// and the token's description.
fn token_with_p256(
    tool: bool,
    name: &str,
) -> Option<(Serial, Pkcs11Hsm, TokenSummary, KeyId, PublicKey)> {
    let serial = common::one_at_a_time();
    let (hsm, key, public) = common::token_with_p256(tool, name)?;
    let token = hsm.token_info().unwrap();
    Some((serial, hsm, token, key, public))
}

type Serial = std::sync::MutexGuard<'static, ()>;

/// A raw session of this process on the token, next to the backend's.
fn raw_session(slot: u64) -> cryptoki::session::Session {
    use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
    let p = Pkcs11::new(common::MODULE).unwrap();
    let _ = p.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK));
    p.open_ro_session(slot.try_into().unwrap()).unwrap()
}

#[test]
fn sessions_closed_behind_the_pool_are_replaced_and_the_login_restored() {
    let Some((_serial, hsm, token, key, public)) = token_with_p256(false, "closed") else {
        return;
    };
    let slot = token.slot_id;
    assert!(hsm.pool_sessions() >= 1);

    // Every session of the process on the token, the login anchor and the idle pooled ones
    // included, is closed; the token is logged out.
    common::raw::close_all_sessions(slot);
    assert_eq!(
        common::raw::count_sessions(slot, common::raw::handle_watermark(slot)),
        0
    );

    // The pooled session fails with CKR_SESSION_HANDLE_INVALID, the cached key handle with
    // CKR_KEY_HANDLE_INVALID: both are repaired and the signature is made.
    sign_and_verify(&hsm, &key, &public, b"after");
    // Private keys are visible again: the login is back.
    assert!(hsm.list_keys().unwrap().iter().any(|k| k.id == key));
    assert_eq!(hsm.public_key(&key).unwrap(), public);

    // Twice more, now with operations that have no cached handle to fall back on.
    common::raw::close_all_sessions(slot);
    assert_eq!(
        hsm.key_info(&key).unwrap().spec,
        Some(KeySpec::Ec(Curve::P256))
    );
    common::raw::close_all_sessions(slot);
    assert_eq!(hsm.random(16).unwrap().len(), 16);
    // The readiness probe finds the login gone and takes it again with the PIN that worked.
    common::raw::close_all_sessions(slot);
    hsm.health().unwrap();
    assert!(hsm.list_keys().unwrap().iter().any(|k| k.id == key));
    sign_and_verify(&hsm, &key, &public, b"again");

    // Only the anchor and the pool's working sessions are open: nothing leaked.
    let open = common::raw::count_sessions(slot, common::raw::handle_watermark(slot));
    assert!(
        open >= 2 && open <= 1 + hsm.pool_size(),
        "{open} sessions open, pool size {}",
        hsm.pool_size()
    );
}

#[test]
fn a_logout_behind_the_pool_is_repaired() {
    let Some((_serial, hsm, token, key, public)) = token_with_p256(false, "logged-out") else {
        return;
    };
    let slot = token.slot_id;

    // Login state belongs to the application: a logout on any session logs out all of them.
    let raw = raw_session(slot);
    raw.logout().unwrap();
    assert!(matches!(
        raw.get_session_info().unwrap().session_state(),
        cryptoki::session::SessionState::RoPublic
    ));
    sign_and_verify(&hsm, &key, &public, b"after");

    raw.logout().unwrap();
    // Without the login the key is invisible; "not found" makes the pool log in again.
    assert_eq!(hsm.key_info(&key).unwrap().id, key);
    raw.logout().unwrap();
    assert!(hsm.list_keys().unwrap().iter().any(|k| k.id == key));
}

#[test]
fn a_pin_refused_on_re_login_is_not_offered_again() {
    let Some((_serial, hsm, token, key, _)) = token_with_p256(false, "pin-changed") else {
        return;
    };
    let slot = token.slot_id;

    // Someone changes the user PIN, then every session closes: the token is logged out.
    {
        use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
        let p = Pkcs11::new(common::MODULE).unwrap();
        let _ = p.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK));
        let s = p.open_rw_session(slot.try_into().unwrap()).unwrap();
        s.set_pin(
            &secrecy::SecretString::from(hsm_pkcs11::sim::USER_PIN),
            &secrecy::SecretString::from("24681357"),
        )
        .unwrap();
    }
    common::raw::close_all_sessions(slot);

    // The re-login with the old PIN fails once, with the token's answer...
    let e = hsm
        .sign(&key, SignAlgorithm::EcdsaSha256, b"x")
        .unwrap_err();
    assert!(e.is_auth(), "{e}");
    assert!(
        matches!(e.status(), Some(hsm_core::DeviceStatus::Pkcs11 { name, .. }) if name == "CKR_PIN_INCORRECT"),
        "{e:?}"
    );
    // ...and is never tried again: later calls say why they cannot work without asking the
    // token to check a PIN.
    for _ in 0..3 {
        let e = hsm
            .sign(&key, SignAlgorithm::EcdsaSha256, b"x")
            .unwrap_err();
        assert!(e.is_auth(), "{e}");
        assert!(e.status().is_none(), "no login was attempted: {e:?}");
        assert!(e.to_string().contains("refused the PIN"), "{e}");
    }
    // The one re-login did reach the token (it counts a failed attempt).
    let info = cryptoki::context::Pkcs11::new(common::MODULE)
        .unwrap()
        .get_token_info(slot.try_into().unwrap())
        .unwrap();
    assert!(info.user_pin_count_low() && !info.user_pin_locked());
}

#[test]
fn a_key_replaced_by_pkcs11_tool_is_looked_up_again() {
    let Some((_serial, hsm, token, key, old)) = token_with_p256(true, "rotated") else {
        return;
    };
    let label = token.label;

    let replace = |key_type: &str| {
        for class in ["privkey", "pubkey"] {
            common::pkcs11_tool(
                &label,
                &["--delete-object", "--type", class, "--label", "rotated"],
            );
        }
        common::pkcs11_tool(
            &label,
            &[
                "--keypairgen",
                "--key-type",
                key_type,
                "--label",
                "rotated",
                "--id",
                "0707",
            ],
        );
    };
    // Same label, same type, new key: the cached handle is stale and looked up again.
    replace("EC:prime256v1");
    let new = hsm.public_key(&key).unwrap();
    assert_ne!(new, old);
    sign_and_verify(&hsm, &key, &new, b"fresh handle");

    // Same label, another type: the cached key spec is refreshed too.
    replace("rsa:2048");
    let rsa = hsm.public_key(&key).unwrap();
    common::signs_with(
        &hsm,
        &key,
        &rsa,
        SignAlgorithm::RsaPkcs1Sha256,
        b"now an RSA key",
    );
}

#[test]
fn a_module_that_does_not_load_is_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("not-a-module.so");
    std::fs::write(&text, "this is not an ELF file").unwrap();
    let missing = dir.path().join("missing/libpkcs11.so");
    let mut cases = vec![text, missing, dir.path().to_owned()];
    // A real shared library without the PKCS#11 entry points (C_GetFunctionList).
    let libz = std::path::PathBuf::from("/usr/lib/x86_64-linux-gnu/libz.so.1");
    if libz.exists() {
        cases.push(libz);
    }
    for path in cases {
        let uri = format!(
            "pkcs11:token=x?module-path={}&pin-value=123456",
            path.display()
        );
        let e = Pkcs11Hsm::open(&uri).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
        let shown = e.to_string();
        assert!(shown.contains(&path.display().to_string()), "{shown}");
        assert!(!format!("{shown}{e:?}").contains("123456"), "{e:?}");
    }
    let e = Pkcs11Hsm::open("pkcs11:token=x?module-name=no-such-pkcs11-module").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert!(e.to_string().contains("no-such-pkcs11-module"), "{e}");
}
