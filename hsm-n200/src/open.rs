//! Opening an N200 from a URI and [`OpenOptions`]: the blocking [`N200`] and the async
//! [`AsyncN200`] take the same URIs and options.
//!
//! ```text
//! n200://USER@HOST[:PORT]?password-env=VAR[&core=N][&pin-env=VAR][&ca=FILE][&server-name=NAME]
//!        [&pin-sha256=HEX][&insecure=true][&acl=FFFF][&commands=FILE][&timeout-ms=N]
//!        [&connect-timeout-ms=N][&retries=N][&max-in-flight=N]
//! n200+sim:[?core=N][&cores=N][&latency-ms=N]
//! ```
//!
//! - the password: [`OpenOptions::credential`] (a `SecretString` from the caller's vault), or in
//!   the URI: inline `USER:PASSWORD@` (discouraged), `password-env=`, or `password-file=`;
//! - the user: [`OpenOptions::user`] or `USER@`;
//! - the key PIN (`pin=` of `genecckey` and of signatures): `pin-value=`, `pin-env=` or
//!   `pin-source=` (a file); leave it out when the device stores the PIN;
//! - TLS: `ca=` (the device's `tlscert`), `server-name=` (connect to HOST, verify this name:
//!   `seSAM-nserie-101`), `pin-sha256=`, `insecure=true` (explicit only);
//! - `commands=FILE`: JSON overrides of the command table ([`crate::protocol::commands`]);
//! - [`OpenOptions::timeout`] / `timeout-ms=`: the budget of one call, connection, answer and
//!   retries included; [`OpenOptions::connect_timeout`] / `connect-timeout-ms=`: the time to
//!   connect (TLS included, never more than the call's budget); [`OpenOptions::retries`] /
//!   `retries=`: repeats of idempotent commands; [`OpenOptions::max_in_flight`] /
//!   `max-in-flight=`: signatures `sign_many` keeps in flight.
//!
//! An option given both in code and in the URI is refused, naming it
//! ([`OpenOptions::merge_uri`]). For `n200+sim:` the user and credential of the options, when
//! given, are the ones the simulator accepts.

use hsm_core::secret::SecretString;
use hsm_core::tls::TlsOptions;
use hsm_core::uri::BackendUri;
use hsm_core::{Error, OpenOptions, Result};

use crate::N200;
use crate::backend::AsyncN200;
use crate::client::post_api::DEFAULT_ACL;
use crate::client::{N200Client, N200ClientBuilder};
use crate::protocol::commands::CommandTable;

const OP: &str = "n200.open";

/// The URI parameters of the password: inline, environment variable, file.
const PASSWORD_PARAMS: (&str, &str, &str) = ("password", "password-env", "password-file");

hsm_core::uri_entry_points!("N200": blocking N200, async AsyncN200);

impl N200 {
    /// Opens the backend a `n200://` or `n200+sim:` URI names (grammar in the [module
    /// docs](mod@crate::open)).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](hsm_core::ErrorKind::InvalidInput) for a malformed URI or an
    /// unknown parameter; [`ErrorKind::Unsupported`](hsm_core::ErrorKind::Unsupported) for
    /// `n200+sim:` without the `sim` feature.
    pub fn open(uri: BackendUri) -> Result<Self> {
        Self::open_with(uri, OpenOptions::new())
    }

    /// [`Self::open`] with options given in code ([`OpenOptions`]: user, credential as a
    /// `SecretString`, timeout, connect timeout, retries, calls in flight); an option given
    /// both here and in the URI is refused, naming it.
    ///
    /// Thread lanes are on ([`Self::with_thread_lanes`] with
    /// [`DEFAULT_MAX_THREAD_LANES`](hsm_core::runtime::DEFAULT_MAX_THREAD_LANES)): each plain
    /// thread that signs drives its own kept-alive connection on itself, without a thread hop;
    /// `with_thread_lanes(0)` turns them off.
    ///
    /// # Errors
    /// As [`Self::open`], and [`ErrorKind::InvalidInput`](hsm_core::ErrorKind::InvalidInput)
    /// for an option given twice.
    pub fn open_with(uri: BackendUri, options: OpenOptions) -> Result<Self> {
        let lanes = hsm_core::runtime::DEFAULT_MAX_THREAD_LANES;
        Ok(Self::over(AsyncN200::open_with(uri, options)?)?.with_thread_lanes(lanes))
    }
}

impl AsyncN200 {
    /// Opens the N200 a URI names, for async code: the same URIs as [`N200::open`]. No runtime
    /// is started and no request is sent; the calls run on the caller's runtime. `n200+sim:`
    /// starts the simulator (on its own threads); it stops when the last clone is dropped.
    ///
    /// # Errors
    /// As [`N200::open`].
    pub fn open(uri: BackendUri) -> Result<Self> {
        Self::open_with(uri, OpenOptions::new())
    }

    /// [`Self::open`] with options given in code (see [`N200::open_with`]).
    ///
    /// # Errors
    /// As [`N200::open_with`].
    pub fn open_with(uri: BackendUri, options: OpenOptions) -> Result<Self> {
        let parts = Parts::of(uri, options)?;
        #[cfg_attr(not(feature = "sim"), allow(unused_mut))]
        let mut backend = Self::new(parts.client, parts.pin, parts.acl);
        #[cfg(feature = "sim")]
        if let Some(simulator) = parts.simulator {
            backend.keep_alive = Some(std::sync::Arc::new(simulator));
        }
        Ok(backend)
    }
}

/// What a URI and options open: the client, the key PIN, the ACL of new keys, and the simulator
/// an `n200+sim:` URI started.
struct Parts {
    client: N200Client,
    pin: SecretString,
    acl: String,
    #[cfg(feature = "sim")]
    simulator: Option<crate::sim::Simulator>,
}

impl Parts {
    /// The parts, every error named `n200.<operation>` (hsm-core's URI and option parsers
    /// name their own: those become `n200.open`).
    fn of(uri: BackendUri, options: OpenOptions) -> Result<Self> {
        Self::open(uri, options).map_err(|e| {
            if e.operation().starts_with("n200.") {
                e
            } else {
                e.with_operation(OP)
            }
        })
    }

    fn open(mut uri: BackendUri, options: OpenOptions) -> Result<Self> {
        if uri.scheme != "n200" {
            return Err(Error::invalid_input(
                OP,
                format!("not an n200 URI: {}", uri.scheme),
            ));
        }
        let options = options.merge_uri(&mut uri, PASSWORD_PARAMS)?;
        if uri.simulated {
            open_simulated(uri, &options)
        } else {
            open_device(uri, &options)
        }
    }
}

/// The client settings of `options`: the call's budget, the connect timeout, retries, calls in
/// flight.
fn configure(mut builder: N200ClientBuilder, options: &OpenOptions) -> N200ClientBuilder {
    if let Some(timeout) = options.timeout {
        builder = builder.timeout(timeout);
    }
    if let Some(timeout) = options.connect_timeout {
        builder = builder.connect_timeout(timeout);
    }
    if let Some(retries) = options.retries {
        builder = builder.retries(retries);
    }
    if let Some(calls) = options.max_in_flight {
        builder = builder.max_in_flight(calls);
    }
    builder
}

/// A real N200: the user and password come from `options`, merged with the URI.
fn open_device(mut uri: BackendUri, options: &OpenOptions) -> Result<Parts> {
    let host = uri.require_host()?.to_owned();
    let user = options.user.clone().ok_or_else(|| {
        Error::invalid_input(
            OP,
            "an n200:// URI needs a user: USER@HOST, or OpenOptions::user",
        )
    })?;
    let password = options.credential.clone().ok_or_else(|| {
        Error::invalid_input(
            OP,
            "an n200:// URI needs a password: password-env=VAR, password-file=PATH, \
             USER:PASSWORD@ or OpenOptions::credential",
        )
    })?;
    let pin = uri
        .query
        .take_secret("pin-value", "pin-env", "pin-source")?
        .unwrap_or_else(|| SecretString::from(""));
    let tls = TlsOptions::from_query(&mut uri.query)?;
    let mut builder = N200Client::builder(host, uri.port.unwrap_or(443), user, password).tls(tls);
    if let Some(core) = uri.query.take_parsed::<u8>("core")? {
        builder = builder.core(core);
    }
    if let Some(path) = uri.query.take_path("commands")? {
        let mut table = CommandTable::default();
        table.apply_file(&path)?;
        builder = builder.commands(table);
    }
    let acl = uri
        .query
        .take("acl")?
        .unwrap_or_else(|| DEFAULT_ACL.to_owned());
    uri.query.finish("n200")?;
    Ok(Parts {
        client: configure(builder, options).build()?,
        pin,
        acl,
        #[cfg(feature = "sim")]
        simulator: None,
    })
}

#[cfg(not(feature = "sim"))]
fn open_simulated(_: BackendUri, _: &OpenOptions) -> Result<Parts> {
    Err(Error::unsupported(
        OP,
        "hsm-n200 was built without the `sim` feature",
    ))
}

/// Starts the simulator (with the user and password of `options` when given, random ones
/// otherwise) and a client of it.
#[cfg(feature = "sim")]
fn open_simulated(mut uri: BackendUri, options: &OpenOptions) -> Result<Parts> {
    use crate::sim::{SimConfig, Simulator};
    let core = uri.query.take_parsed::<u8>("core")?.unwrap_or(1);
    let mut config = SimConfig::random_credentials();
    if let Some(user) = &options.user {
        config.user.clone_from(user);
    }
    if let Some(password) = &options.credential {
        config.password = password.clone();
    }
    if let Some(cores) = uri.query.take_parsed::<u8>("cores")? {
        config.cores = cores;
    }
    if let Some(ms) = uri.query.take_parsed::<u64>("latency-ms")? {
        config.latency = std::time::Duration::from_millis(ms);
    }
    uri.query.finish("n200+sim")?;
    let simulator = Simulator::start(config)?;
    let client = configure(simulator.client_builder()?.core(core), options).build()?;
    Ok(Parts {
        client,
        pin: simulator.key_pin(),
        acl: DEFAULT_ACL.to_owned(),
        simulator: Some(simulator),
    })
}

#[cfg(feature = "sim")]
impl crate::sim::Simulator {
    /// A client builder for this simulator: connects to its IP address, verifies the
    /// certificate by its SHA-256 pin and the server name.
    ///
    /// # Errors
    /// None today; kept fallible for configurations that read files.
    pub fn client_builder(&self) -> Result<N200ClientBuilder> {
        let tls = TlsOptions::default()
            .with_pin_sha256(self.cert_sha256())
            .with_server_name(self.server_name().to_owned());
        let addr = self.addr();
        Ok(N200Client::builder(
            addr.ip().to_string(),
            addr.port(),
            self.user().to_owned(),
            self.password(),
        )
        .tls(tls))
    }
}

#[cfg(feature = "sim")]
impl N200 {
    /// The simulator this backend started (`n200+sim:`), if any.
    #[must_use]
    pub fn simulator(&self) -> Option<&crate::sim::Simulator> {
        self.inner().simulator()
    }
}

#[cfg(feature = "sim")]
impl AsyncN200 {
    /// The simulator this backend started (`n200+sim:`), if any.
    #[must_use]
    pub fn simulator(&self) -> Option<&crate::sim::Simulator> {
        self.keep_alive.as_ref()?.downcast_ref()
    }
}
