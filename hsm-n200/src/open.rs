//! `N200::open`: the backend from a URI.
//!
//! ```text
//! n200://USER@HOST[:PORT]?password-env=VAR[&core=N][&pin-env=VAR][&ca=FILE][&server-name=NAME]
//!        [&pin-sha256=HEX][&insecure=true][&acl=FFFF][&commands=FILE][&timeout-ms=N][&retries=N]
//!        [&max-in-flight=N]
//! n200+sim:[?core=N][&cores=N][&latency-ms=N]
//! ```
//!
//! - the password: inline `USER:PASSWORD@` (discouraged), `password-env=`, or `password-file=`;
//! - the key PIN (`pin=` of `genecckey` and of signatures): `pin-value=`, `pin-env=` or
//!   `pin-source=` (a file); leave it out when the device stores the PIN;
//! - TLS: `ca=` (the device's `tlscert`), `server-name=` (connect to HOST, verify this name:
//!   `seSAM-nserie-101`), `pin-sha256=`, `insecure=true` (explicit only);
//! - `commands=FILE`: JSON overrides of the command table ([`crate::protocol::commands`]).

use std::time::Duration;

use hsm_core::secret::SecretString;
use hsm_core::tls::TlsOptions;
use hsm_core::uri::BackendUri;
use hsm_core::{Error, Result};

use crate::N200;
use crate::client::N200Client;
use crate::client::post_api::DEFAULT_ACL;
use crate::protocol::commands::CommandTable;

const OP: &str = "n200.open";

impl N200 {
    /// Opens the backend a `n200://` or `n200+sim:` URI names (grammar in the [module
    /// docs](crate::open)).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](hsm_core::ErrorKind::InvalidInput) for a malformed URI or an
    /// unknown parameter; [`ErrorKind::Unsupported`](hsm_core::ErrorKind::Unsupported) for
    /// `n200+sim:` without the `sim` feature.
    pub fn open(mut uri: BackendUri) -> Result<Self> {
        if uri.scheme != "n200" {
            return Err(Error::invalid_input(
                OP,
                format!("not an n200 URI: {}", uri.scheme),
            ));
        }
        if uri.simulated {
            return open_simulated(uri);
        }
        let host = uri.require_host()?.to_owned();
        let user = uri.require_user()?.to_owned();
        let password = uri.take_password()?.ok_or_else(|| {
            Error::invalid_input(OP, "the URI gives no password (password-env=VAR)")
        })?;
        let pin = uri
            .query
            .take_secret("pin-value", "pin-env", "pin-source")?
            .unwrap_or_else(|| SecretString::from(""));
        let tls = TlsOptions::from_query(&mut uri.query)?;
        let mut builder =
            N200Client::builder(host, uri.port.unwrap_or(443), user, password).tls(tls);
        if let Some(core) = uri.query.take_parsed::<u8>("core")? {
            builder = builder.core(core);
        }
        if let Some(ms) = uri.query.take_parsed::<u64>("timeout-ms")? {
            builder = builder.timeout(Duration::from_millis(ms));
        }
        if let Some(n) = uri.query.take_parsed::<u32>("retries")? {
            builder = builder.retries(n);
        }
        if let Some(n) = uri.query.take_parsed::<usize>("max-in-flight")? {
            builder = builder.max_in_flight(n);
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
        Self::new(builder.build()?, pin, acl)
    }
}

#[cfg(not(feature = "sim"))]
fn open_simulated(_uri: BackendUri) -> Result<N200> {
    Err(Error::unsupported(
        OP,
        "hsm-n200 was built without the `sim` feature",
    ))
}

#[cfg(feature = "sim")]
fn open_simulated(mut uri: BackendUri) -> Result<N200> {
    use crate::sim::{SimConfig, Simulator};
    let core = uri.query.take_parsed::<u8>("core")?.unwrap_or(1);
    let mut config = SimConfig::random_credentials();
    if let Some(cores) = uri.query.take_parsed::<u8>("cores")? {
        config.cores = cores;
    }
    if let Some(ms) = uri.query.take_parsed::<u64>("latency-ms")? {
        config.latency = Duration::from_millis(ms);
    }
    uri.query.finish("n200+sim")?;
    let simulator = Simulator::start(config)?;
    let client = simulator.client_builder()?.core(core).build()?;
    let mut backend = N200::new(client, simulator.key_pin(), DEFAULT_ACL)?;
    backend.keep_alive = Some(Box::new(simulator));
    Ok(backend)
}

#[cfg(feature = "sim")]
impl crate::sim::Simulator {
    /// A client builder for this simulator: connects to its IP address, verifies the
    /// certificate by its SHA-256 pin and the server name.
    ///
    /// # Errors
    /// None today; kept fallible for configurations that read files.
    pub fn client_builder(&self) -> Result<crate::N200ClientBuilder> {
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
        self.keep_alive.as_ref()?.downcast_ref()
    }
}
