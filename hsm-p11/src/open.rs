//! Opening a slot's backend from its URI, with the `C_Login` PIN as the credential when the URI
//! has none. The PIN goes to the backends as a `SecretString`: `OpenOptions::credential` of
//! each backend's `open_with` (NetHSM, N200, PKCS#11), the PIN argument of `ScHsm::new` for a
//! SmartCard-HSM (hsm-sc has no `open_with`); never into a URI string. A credential the URI
//! names (`password-env=`, `pin-env=`, `pin-source=`, ...) is read by the backend itself.

use std::sync::Arc;

use hsm::Hsm;
use hsm_core::uri::BackendUri;
use hsm_core::{Error, OpenOptions, Result};
use secrecy::SecretString;

use crate::config::Scheme;

const OP: &str = "hsm-p11.open";

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
        Scheme::Pkcs11 => Arc::new(hsm::pkcs11::open_with(uri, &options())?),
        Scheme::ScHsm => Arc::new(open_sc(uri, pin)?),
    };
    // One authenticated call: a wrong credential fails here, at login, and only once.
    let _ = hsm.list_keys()?;
    Ok(hsm)
}

/// `sc-hsm:?reader=NAME[&pin-env=VAR|pin-source=FILE]`: the card in that PC/SC reader. Without
/// a PIN from `C_Login` the backend opens the URI itself; with one, the URI is read here only to
/// find the reader, since hsm-sc takes a PIN from code only through `ScHsm::new`.
fn open_sc(uri: &str, pin: Option<&SecretString>) -> Result<hsm::sc::ScHsm> {
    let mut parsed = BackendUri::parse(uri)?;
    let Some(pin) = pin else {
        let sc = hsm::sc::ScHsm::open(parsed)?;
        sc.login()?;
        return Ok(sc);
    };
    if parsed.host.as_deref().is_some_and(|h| !h.is_empty()) || !parsed.path.is_empty() {
        return Err(Error::invalid_input(
            OP,
            "an sc-hsm: URI has no host or path; use sc-hsm:?reader=NAME",
        ));
    }
    if parsed
        .query
        .take_secret("pin-value", "pin-env", "pin-source")?
        .is_some()
    {
        return Err(Error::invalid_input(
            OP,
            "the PIN is given both in the sc-hsm: URI and at C_Login; give it once",
        ));
    }
    let reader = parsed.query.take("reader")?;
    parsed.query.finish("sc-hsm")?;
    let channel = hsm::sc::transport::PcscChannel::connect(reader.as_deref())?;
    let card = hsm::sc::SmartCardHsm::new(Box::new(channel));
    let sc = hsm::sc::ScHsm::new(card, Some(pin.clone()))?;
    sc.login()?;
    Ok(sc)
}
