//! Opening the backend: from a `pkcs11:` URI (RFC 7512 with the module and PIN in the query) or,
//! with the `sim` feature, `pkcs11+sim:` for a throwaway SoftHSM2 token; with hsm-core's
//! [`OpenOptions`] for what the program gives in code (the PIN from its secret store, the
//! calls in flight, the wait for a session).

use hsm_core::{Error, OpenOptions, Result};
use secrecy::SecretString;

use crate::backend::{DEFAULT_MAX_SESSIONS, Options, Pkcs11Hsm, named};
use crate::client::token;
use crate::protocol::uri::{PinSource, Pkcs11Uri};
use crate::transport::module;
use crate::transport::session_pool::{DEFAULT_SESSION_WAIT, SessionPool, Sizing};

fn read_pin(pin: Option<PinSource>) -> Result<Option<SecretString>> {
    Ok(match pin {
        None => None,
        Some(PinSource::Value(p)) => Some(p),
        Some(PinSource::Env(var)) => Some(hsm_core::secret::secret_from_env(&var)?),
        Some(PinSource::File(path)) => Some(hsm_core::secret::secret_from_file(&path)?),
    })
}

/// Opens the token `uri` names with options given in code ([`Pkcs11Hsm::open_with_options`]
/// with the default [`Options`]).
///
/// # Errors
/// As [`Pkcs11Hsm::open_with_options`].
pub fn open_with(uri: &str, options: OpenOptions) -> Result<Pkcs11Hsm> {
    Pkcs11Hsm::open_with_options(uri, options, Options::default())
}

/// `options` with what `open` sets: `max_in_flight` caps the sessions (the smaller of it and
/// [`Options::max_sessions`] applies), `timeout` bounds the wait for a free session. Options
/// that mean nothing to a PKCS#11 module are refused rather than ignored; `user` is ignored
/// (a PIN backend has no user names).
fn with_open_options(open: &OpenOptions, mut options: Options) -> Result<Options> {
    const OP: &str = "pkcs11.open";
    let refuse = |name: &str, why: &str| {
        Err(Error::unsupported(
            OP,
            format!("{name} does not apply to the PKCS#11 backend: {why}"),
        ))
    };
    if open.connect_timeout.is_some() {
        return refuse(
            "connect-timeout",
            "the module is loaded into the process, nothing is connected",
        );
    }
    if open.retries.is_some() {
        return refuse(
            "retries",
            "a module's answer is final (the only repeat is the one recovery after a lost session)",
        );
    }
    if let Some(n) = open.max_in_flight {
        options.max_sessions = Some(options.max_sessions.map_or(n, |m| m.min(n)));
    }
    if let Some(t) = open.timeout {
        options.session_wait = Some(t);
    }
    Ok(options)
}

fn given_twice(what: &str) -> Error {
    Error::invalid_input(
        "pkcs11.open",
        format!("{what} is given both in code and in the URI; give it once"),
    )
}

impl Pkcs11Hsm {
    /// Opens the token `uri` names with [`OpenOptions`] from code and this crate's
    /// [`Options`]:
    ///
    /// | option | what it does here |
    /// |---|---|
    /// | `credential` | the user PIN (refused when the URI has `pin-value`, `pin-env` or `pin-source`, and for `pkcs11+sim:`, whose token has its own PIN) |
    /// | `max_in_flight` | the most working sessions, i.e. the most calls in flight (with the URI's `max-sessions=` and [`Options::max_sessions`], the smallest applies) |
    /// | `timeout` | how long a call waits for a free session ([`Options::session_wait`]); a call into the module, once made, cannot be cut short |
    /// | `user` | ignored (a PIN backend has no user names) |
    /// | `connect_timeout`, `retries` | refused ([`ErrorKind::Unsupported`](hsm_core::ErrorKind::Unsupported)): nothing is connected, and nothing is repeated |
    ///
    /// # Errors
    /// As [`open`](Self::open); [`ErrorKind::InvalidInput`](hsm_core::ErrorKind::InvalidInput)
    /// for a PIN given twice.
    pub fn open_with_options(uri: &str, open: OpenOptions, options: Options) -> Result<Self> {
        let options = with_open_options(&open, options)?;
        if uri
            .get(..11)
            .is_some_and(|s| s.eq_ignore_ascii_case("pkcs11+sim:"))
        {
            if open.credential.is_some() {
                return Err(given_twice(
                    "the PIN of pkcs11+sim: (its token has its own)",
                ));
            }
            return Self::open_with(uri, options);
        }
        let mut parsed = Pkcs11Uri::parse(uri)?;
        if let Some(pin) = &open.credential {
            if parsed.pin.is_some() {
                return Err(given_twice("the PIN"));
            }
            parsed.pin = Some(PinSource::Value(pin.clone()));
        }
        Self::from_uri(parsed, options)
    }

    /// Opens the token a `pkcs11:` URI names (see the crate docs for the grammar), or, with the
    /// `sim` feature, `pkcs11+sim:` for a throwaway SoftHSM2 token.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](hsm_core::ErrorKind::InvalidInput) for a malformed URI or one
    /// without `module-path`/`module-name`,
    /// [`ErrorKind::Unavailable`](hsm_core::ErrorKind::Unavailable) if the module cannot be
    /// loaded, [`ErrorKind::NotFound`](hsm_core::ErrorKind::NotFound) if no token matches,
    /// [`ErrorKind::AuthenticationFailed`](hsm_core::ErrorKind::AuthenticationFailed) for a
    /// wrong PIN.
    pub fn open(uri: &str) -> Result<Self> {
        Self::open_with(uri, Options::default())
    }

    /// [`open`](Self::open) with [`Options`].
    ///
    /// # Errors
    /// As [`open`](Self::open).
    pub fn open_with(uri: &str, options: Options) -> Result<Self> {
        if let Some(rest) = uri.strip_prefix("pkcs11+sim:") {
            return Self::open_sim(rest, options).map_err(named("pkcs11.open"));
        }
        let parsed = Pkcs11Uri::parse(uri)?;
        Self::from_uri(parsed, options)
    }

    #[cfg(feature = "sim")]
    fn open_sim(rest: &str, options: Options) -> Result<Self> {
        if !rest.is_empty() {
            return Err(Error::invalid_input(
                "pkcs11.open",
                "`pkcs11+sim:` takes no attributes",
            ));
        }
        let sim = crate::sim::SimToken::create(module::load)?;
        let mut uri = Pkcs11Uri::parse(&sim.uri())?;
        uri.pin = Some(PinSource::Value(SecretString::from(crate::sim::USER_PIN)));
        Self::from_uri(uri, options)
    }

    #[cfg(not(feature = "sim"))]
    fn open_sim(_: &str, _: Options) -> Result<Self> {
        Err(Error::unsupported(
            "pkcs11.open",
            "built without the `sim` feature",
        ))
    }

    /// Opens the token a parsed URI names.
    ///
    /// # Errors
    /// As [`open`](Self::open).
    pub fn from_uri(mut uri: Pkcs11Uri, options: Options) -> Result<Self> {
        let module = match (uri.module_path.take(), uri.module_name.take()) {
            (Some(p), _) => p,
            (None, Some(name)) => module::resolve_name(&name)?,
            (None, None) => {
                return Err(Error::invalid_input(
                    "pkcs11.open",
                    "the URI needs `?module-path=` or `?module-name=`",
                ));
            }
        };
        let pin = read_pin(uri.pin.take()).map_err(named("pkcs11.open"))?;
        let pkcs11 = module::load(&module)?;
        let slot = token::select(&pkcs11, &uri)?;
        let max = [options.max_sessions, uri.max_sessions]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(DEFAULT_MAX_SESSIONS);
        let sizing = Sizing {
            max,
            min_idle: options.min_idle_sessions,
            wait: options.session_wait.unwrap_or(DEFAULT_SESSION_WAIT),
        };
        let pool = SessionPool::new(pkcs11.clone(), slot, pin, sizing)?;
        let curves = token::curves(&pkcs11, slot);
        tracing::info!(module = %module.display(), slot = slot.id(), "PKCS#11 token open");
        Ok(Self::new(module, pkcs11, slot, pool, options, &curves))
    }
}
