//! Opening a slot's backend from its URI, with the `C_Login` PIN as the credential when the URI
//! has none. The PIN goes into the backends' own secret fields (`BackendUri::password`,
//! `Pkcs11Uri::pin`, `ScHsm::new`'s PIN): never into a URI string.

use std::sync::Arc;

use hsm::Hsm;
use hsm_core::uri::BackendUri;
use hsm_core::{Error, Result};
use secrecy::SecretString;

use crate::config::Scheme;

const OP: &str = "hsm-p11.open";

/// Opens the backend `uri` names; `pin`, when given, is its credential. Checks the credential
/// once (one listing) so that a wrong PIN is reported at `C_Login`, and never tries it again.
///
/// # Errors
/// The backend's errors: `AuthenticationFailed` for a wrong PIN, `Unavailable` for a device that
/// cannot be reached.
pub(crate) fn open(scheme: Scheme, uri: &str, pin: Option<&SecretString>) -> Result<Arc<dyn Hsm>> {
    let hsm: Arc<dyn Hsm> = match scheme {
        Scheme::NetHsm => {
            let mut parsed = BackendUri::parse(uri)?;
            if let Some(pin) = pin {
                parsed.password = Some(pin.clone());
            }
            Arc::new(hsm::nethsm::NetHsm::open(parsed)?)
        }
        Scheme::N200 => {
            let mut parsed = BackendUri::parse(uri)?;
            if let Some(pin) = pin {
                parsed.password = Some(pin.clone());
            }
            Arc::new(hsm::n200::N200::open(parsed)?)
        }
        Scheme::Pkcs11 => {
            let mut parsed = hsm::pkcs11::Pkcs11Uri::parse(uri)?;
            if let Some(pin) = pin {
                parsed.pin = Some(hsm::pkcs11::PinSource::Value(pin.clone()));
            }
            Arc::new(hsm::pkcs11::Pkcs11Hsm::from_uri(
                parsed,
                hsm::pkcs11::Options::default(),
            )?)
        }
        Scheme::ScHsm => Arc::new(open_sc(uri, pin)?),
    };
    // One authenticated call: a wrong credential fails here, at login, and only once.
    let _ = hsm.list_keys()?;
    Ok(hsm)
}

/// `sc-hsm:?reader=NAME[&pin-env=VAR|pin-source=FILE]`: the card in that PC/SC reader.
fn open_sc(uri: &str, pin: Option<&SecretString>) -> Result<hsm::sc::ScHsm> {
    let mut parsed = BackendUri::parse(uri)?;
    if parsed.host.as_deref().is_some_and(|h| !h.is_empty()) || !parsed.path.is_empty() {
        return Err(Error::invalid_input(
            OP,
            "an sc-hsm: URI has no host or path; use sc-hsm:?reader=NAME",
        ));
    }
    let configured = parsed
        .query
        .take_secret("pin-value", "pin-env", "pin-source")?;
    let reader = parsed.query.take("reader")?;
    parsed.query.finish("sc-hsm")?;
    let pin = configured.or_else(|| pin.cloned());
    let channel = hsm::sc::transport::PcscChannel::connect(reader.as_deref())?;
    let card = hsm::sc::SmartCardHsm::new(Box::new(channel));
    let sc = hsm::sc::ScHsm::new(card, pin)?;
    sc.login()?;
    Ok(sc)
}
