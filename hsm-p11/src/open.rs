//! Opening a slot's backend from its URI, with the `C_Login` PIN as the credential when the URI
//! has none. The PIN goes to the backends as a `SecretString`: `OpenOptions::credential` of
//! each backend's `open_with`, never into a URI string. A credential the URI
//! names (`password-env=`, `pin-env=`, `pin-source=`, ...) is read by the backend itself.

use std::sync::Arc;

use hsm::Hsm;
use hsm_core::{OpenOptions, Result};
use secrecy::SecretString;

use crate::config::Scheme;

/// Opens the backend `uri` names; `pin`, when given, is its credential. Checks the credential
/// once (one listing) so that a wrong PIN is reported at `C_Login`, and never tries it again.
///
/// # Errors
/// The backend's errors: `AuthenticationFailed` for a wrong PIN, `Unavailable` for a device that
/// cannot be reached, `InvalidInput` for a credential given both in the URI and at login.
pub(crate) fn open(scheme: Scheme, uri: &str, pin: Option<&SecretString>) -> Result<Arc<dyn Hsm>> {
    let options = || match pin {
        Some(pin) => OpenOptions::new().credential(pin.clone()),
        None => OpenOptions::new(),
    };
    let hsm: Arc<dyn Hsm> = match scheme {
        Scheme::NetHsm => Arc::new(hsm::nethsm::open_with(uri, options())?),
        Scheme::N200 => Arc::new(hsm::n200::open_with(uri, options())?),
        Scheme::Pkcs11 => Arc::new(hsm::pkcs11::open_with(uri, options())?),
        Scheme::ScHsm => Arc::new(open_sc(uri, options())?),
    };
    // One authenticated call: a wrong credential fails here, at login, and only once.
    let _ = hsm.list_keys()?;
    Ok(hsm)
}

/// `sc-hsm:?reader=NAME[&pin-env=VAR|pin-source=FILE]`: the card in that PC/SC reader, logged in
/// at once (the card asks for the PIN before its first key operation; `C_Login` is where a
/// wrong one must show).
fn open_sc(uri: &str, options: OpenOptions) -> Result<hsm::sc::ScHsm> {
    let sc = hsm::sc::open_with(uri, options)?;
    sc.login()?;
    Ok(sc)
}
