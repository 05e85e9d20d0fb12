//! Opening the backend: from a `pkcs11:` URI (RFC 7512 with the module and PIN in the query) or,
//! with the `sim` feature, `pkcs11+sim:` for a throwaway SoftHSM2 token.

use hsm_core::{Error, Result};
use secrecy::SecretString;

use crate::backend::{DEFAULT_MAX_SESSIONS, Options, Pkcs11Hsm, named};
use crate::client::token;
use crate::protocol::uri::{PinSource, Pkcs11Uri};
use crate::transport::module;
use crate::transport::session_pool::{SessionPool, Sizing};

fn read_pin(pin: Option<PinSource>) -> Result<Option<SecretString>> {
    Ok(match pin {
        None => None,
        Some(PinSource::Value(p)) => Some(p),
        Some(PinSource::Env(var)) => Some(hsm_core::secret::secret_from_env(&var)?),
        Some(PinSource::File(path)) => Some(hsm_core::secret::secret_from_file(&path)?),
    })
}

impl Pkcs11Hsm {
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
        };
        let pool = SessionPool::new(pkcs11.clone(), slot, pin, sizing)?;
        let curves = token::curves(&pkcs11, slot);
        tracing::info!(module = %module.display(), slot = slot.id(), "PKCS#11 token open");
        Ok(Self::new(module, pkcs11, slot, pool, options, &curves))
    }
}
