//! [`N200Client`]: the async client of one N200, one shared keep-alive HTTPS pool per device,
//! bound to a crypto core.

#[macro_use]
pub(crate) mod both_forms;
pub(crate) mod get_api;
pub(crate) mod post_api;

use std::sync::Arc;
use std::time::Duration;

use hsm_core::Result;
use hsm_core::secret::SecretString;
use hsm_core::tls::TlsOptions;

use crate::protocol::commands::CommandTable;
use crate::transport::http::{Settings, Transport};

/// Default time budget of one call, retries included (see the crate README's fault table).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default connect timeout (TCP and TLS handshake), within the call's budget.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default number of repeats of an idempotent command (reads, signatures) after a failure
/// that did no harm (see the crate README's fault table).
pub const DEFAULT_RETRIES: u32 = 2;
/// Default number of signatures [`AsyncN200::sign_many`](crate::AsyncN200::sign_many) keeps in
/// flight.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 16;

/// The async client of one N200, bound to one crypto core.
///
/// Every typed command of both APIs is an `async fn` here; futures are `Send`, so a tokio
/// service awaits them directly (no blocking thread). Cheap to clone; every clone and every
/// [`with_core`](Self::with_core) copy shares one HTTP connection pool (keep-alive), so after
/// the first request a signature costs one HTTP request and no TLS handshake.
///
/// For the blocking `hsm-core` traits use [`N200`](crate::N200), which runs these same futures
/// on a private runtime; [`AsyncN200`](crate::AsyncN200) is the key-level async API (key names,
/// key ids and token labels resolved, signatures checked).
#[derive(Clone)]
pub struct N200Client {
    pub(crate) transport: Arc<Transport>,
    pub(crate) core: u8,
}

impl std::fmt::Debug for N200Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("N200Client")
            .field("base", &self.transport.base.as_str())
            .field("user", &self.transport.settings.user)
            .field("core", &self.core)
            .finish_non_exhaustive()
    }
}

impl N200Client {
    /// A builder for the device at `host` (a name or an IP address) and `port` (443 usually).
    #[must_use]
    pub fn builder(
        host: impl Into<String>,
        port: u16,
        user: impl Into<String>,
        password: SecretString,
    ) -> N200ClientBuilder {
        N200ClientBuilder {
            settings: Settings {
                host: host.into(),
                port,
                user: user.into(),
                password,
                tls: TlsOptions::default(),
                timeout: DEFAULT_TIMEOUT,
                connect_timeout: DEFAULT_CONNECT_TIMEOUT,
                retries: DEFAULT_RETRIES,
                table: CommandTable::default(),
                max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            },
            core: 1,
        }
    }

    /// The core this client talks to.
    #[must_use]
    pub fn core(&self) -> u8 {
        self.core
    }

    /// The same client bound to another core, sharing the connections.
    #[must_use]
    pub fn with_core(&self, core: u8) -> Self {
        Self {
            transport: Arc::clone(&self.transport),
            core,
        }
    }

    /// The same client (device, user, password, TLS trust, budgets, retries, command table,
    /// core) with a connection pool of its own: for a thread lane of the blocking
    /// [`N200`](crate::N200), whose connections must belong to the lane's runtime. No
    /// connection is opened yet.
    ///
    /// # Errors
    /// As [`N200ClientBuilder::build`] (the CA file is read again).
    pub fn with_own_connections(&self) -> Result<Self> {
        Ok(Self {
            transport: Arc::new(self.transport.with_own_connections()?),
            core: self.core,
        })
    }

    /// The command table in use.
    #[must_use]
    pub fn table(&self) -> &CommandTable {
        &self.transport.settings.table
    }

    /// The time budget of one call.
    #[must_use]
    pub fn timeout(&self) -> Duration {
        self.transport.settings.timeout
    }
}

/// Builds an [`N200Client`]. `Debug` never shows the password.
pub struct N200ClientBuilder {
    /// What the transport is made from.
    settings: Settings,
    /// The core the client binds to.
    core: u8,
}

impl std::fmt::Debug for N200ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("N200ClientBuilder")
            .field("host", &self.settings.host)
            .field("port", &self.settings.port)
            .field("user", &self.settings.user)
            .field("tls", &self.settings.tls)
            .field("core", &self.core)
            .field("timeout", &self.settings.timeout)
            .field("retries", &self.settings.retries)
            .finish_non_exhaustive()
    }
}

impl N200ClientBuilder {
    /// How the server certificate is checked: `ca` (the device's `tlscert`), `server_name`
    /// (connect to the IP, verify this name), SHA-256 pins, or insecure.
    #[must_use]
    pub fn tls(mut self, tls: TlsOptions) -> Self {
        self.settings.tls = tls;
        self
    }

    /// The core to bind to (default 1).
    #[must_use]
    pub fn core(mut self, core: u8) -> Self {
        self.core = core;
        self
    }

    /// The time budget of one call (default 30 s): connecting, sending, the whole answer and
    /// every retry. A call returns [`ErrorKind::Timeout`](hsm_core::ErrorKind::Timeout) when it is spent. Only the existence
    /// check after a creation or deletion with an unknown outcome gets a budget of its own.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.settings.timeout = timeout;
        self
    }

    /// Connect timeout, TLS handshake included (default 10 s; never more than the call's
    /// budget).
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.settings.connect_timeout = timeout;
        self
    }

    /// Repeats of idempotent commands after a harmless failure (default 2). Key creation,
    /// import and deletion are never repeated.
    #[must_use]
    pub fn retries(mut self, retries: u32) -> Self {
        self.settings.retries = retries;
        self
    }

    /// The command table (defaults plus overrides).
    #[must_use]
    pub fn commands(mut self, table: CommandTable) -> Self {
        self.settings.table = table;
        self
    }

    /// How many signatures `sign_many` keeps in flight (default 16).
    #[must_use]
    pub fn max_in_flight(mut self, n: usize) -> Self {
        self.settings.max_in_flight = n.max(1);
        self
    }

    /// Builds the client. No request is sent yet, and no runtime is needed.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](hsm_core::ErrorKind::InvalidInput) for a bad host, CA file or server name;
    /// [`ErrorKind::Unavailable`](hsm_core::ErrorKind::Unavailable) if the host name does not resolve.
    pub fn build(self) -> Result<N200Client> {
        let transport = Transport::connect(self.settings)?;
        Ok(N200Client {
            transport: Arc::new(transport),
            core: self.core,
        })
    }
}
