//! `ScHsm::open(uri)` and `ScHsm::open_with(uri, OpenOptions)`: the `sc-hsm:` and
//! `sc-hsm+sim:` URI schemes, with the user PIN from the URI or from code.

use hsm_core::uri::BackendUri;
use hsm_core::{Error, OpenOptions, Result};

use crate::backend::ScHsm;

const OP: &str = "sc-hsm.open";

/// The URI parameters of the user PIN: inline, environment variable, file.
const PIN_PARAMS: (&str, &str, &str) = ("pin-value", "pin-env", "pin-source");

/// Opens the SmartCard-HSM `uri` names with options given in code ([`ScHsm::open_with`]).
///
/// # Errors
/// As [`ScHsm::open_with`], and [`hsm_core::ErrorKind::InvalidInput`] for a URI that does not
/// parse.
pub fn open_with(uri: &str, options: OpenOptions) -> Result<ScHsm> {
    ScHsm::open_with(BackendUri::parse(uri)?, options)
}

impl ScHsm {
    /// Opens a backend from a parsed URI (see the crate docs for the grammar):
    ///
    /// - `sc-hsm:?reader=SUBSTRING&pin-env=VAR` — the card in the first PC/SC reader whose name
    ///   contains `SUBSTRING` (any reader when absent); the user PIN from `pin-env=VAR`,
    ///   `pin-source=FILE` or `pin-value=PIN`;
    /// - `sc-hsm+sim:` (feature `sim`) — an in-process simulated card, initialised with user PIN
    ///   `648219` and the factory SO-PIN; `state=FILE` keeps its state in a file (created
    ///   initialised like that when missing).
    ///
    /// # Errors
    /// [`hsm_core::ErrorKind::InvalidInput`] for a bad URI or unknown parameter,
    /// [`hsm_core::ErrorKind::Unsupported`] for a feature this build lacks,
    /// [`hsm_core::ErrorKind::Unavailable`] without pcscd, reader or card.
    pub fn open(uri: BackendUri) -> Result<Self> {
        Self::open_with(uri, OpenOptions::new())
    }

    /// [`Self::open`] with options given in code:
    ///
    /// | option | what it does here |
    /// |---|---|
    /// | `credential` | the user PIN (a `SecretString` from the caller's secret store); refused when the URI has `pin-value`, `pin-env` or `pin-source` too. Sent to the card at the first operation that needs it, never twice after a rejection |
    /// | `max_in_flight` | accepted: the card carries out one command at a time, so calls already wait for each other |
    /// | `user` | ignored (the card has one user PIN) |
    /// | `timeout`, `connect_timeout`, `retries` | refused ([`hsm_core::ErrorKind::Unsupported`]): PC/SC has no time limit for a command (`SCardTransmit` waits as long as the reader driver does), and a card command is never repeated |
    ///
    /// # Errors
    /// As [`Self::open`]; [`hsm_core::ErrorKind::InvalidInput`] for an option given both here
    /// and in the URI.
    pub fn open_with(mut uri: BackendUri, options: OpenOptions) -> Result<Self> {
        if uri.scheme != "sc-hsm" {
            return Err(Error::invalid_input(
                OP,
                format!("expected an sc-hsm: URI, got {}:", uri.scheme),
            ));
        }
        if uri.host.as_deref().is_some_and(|h| !h.is_empty()) || !uri.path.is_empty() {
            return Err(Error::invalid_input(
                OP,
                "an sc-hsm: URI has no host or path; use sc-hsm:?reader=NAME",
            ));
        }
        let options = options
            .merge_uri(&mut uri, PIN_PARAMS)
            .map_err(|e| e.with_operation(OP))?;
        for (given, name) in [
            (options.timeout.is_some(), "timeout"),
            (options.connect_timeout.is_some(), "connect-timeout"),
            (options.retries.is_some(), "retries"),
        ] {
            if given {
                return Err(Error::unsupported(
                    OP,
                    format!(
                        "{name} does not apply to a SmartCard-HSM: PC/SC has no time limit for \
                         a command, and a card command is never repeated"
                    ),
                ));
            }
        }
        let pin = options.credential;
        if uri.simulated {
            return open_sim(uri, pin);
        }
        let reader = uri.query.take("reader")?;
        uri.query.finish("sc-hsm")?;
        open_pcsc(reader.as_deref(), pin)
    }
}

#[cfg(feature = "pcsc")]
fn open_pcsc(reader: Option<&str>, pin: Option<secrecy::SecretString>) -> Result<ScHsm> {
    let channel = crate::transport::PcscChannel::connect(reader)?;
    ScHsm::new(crate::client::card::ScClient::new(Box::new(channel)), pin)
}

#[cfg(not(feature = "pcsc"))]
fn open_pcsc(_reader: Option<&str>, _pin: Option<secrecy::SecretString>) -> Result<ScHsm> {
    Err(Error::unsupported(
        OP,
        "hsm-sc was built without the `pcsc` feature",
    ))
}

#[cfg(feature = "sim")]
fn open_sim(mut uri: BackendUri, pin: Option<secrecy::SecretString>) -> Result<ScHsm> {
    let state = uri.query.take_path("state")?;
    uri.query.finish("sc-hsm+sim")?;
    let sim = match state {
        Some(path) => crate::sim::SimulatedCard::initialized_with_state_file(&path)?,
        None => crate::sim::SimulatedCard::initialized()?,
    };
    let pin = pin.unwrap_or_else(|| secrecy::SecretString::from(crate::sim::DEFAULT_USER_PIN));
    let card = crate::client::card::ScClient::in_memory(sim.emulator());
    Ok(ScHsm::new(card, Some(pin))?.keep_alive(Box::new(sim)))
}

#[cfg(not(feature = "sim"))]
fn open_sim(_uri: BackendUri, _pin: Option<secrecy::SecretString>) -> Result<ScHsm> {
    Err(Error::unsupported(
        OP,
        "hsm-sc was built without the `sim` feature",
    ))
}
