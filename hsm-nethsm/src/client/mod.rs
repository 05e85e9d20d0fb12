//! The async NetHSM REST client: one shared connection pool, typed requests and responses.

mod http;
mod keys;
pub mod model;
mod system;

use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs as _};
use std::sync::Arc;
use std::time::Duration;

use hsm_core::tls::{TlsOptions, client_config};
use hsm_core::{Error, ErrorKind, Result};
use secrecy::SecretString;
use url::Url;

const OP: &str = "nethsm.client";

/// The default time allowed for one request, connection included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The default time allowed to open a connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A user name and passphrase for HTTP Basic authentication.
#[derive(Clone)]
pub struct Credentials {
    user: String,
    passphrase: SecretString,
}

impl Credentials {
    /// Credentials of `user` (e.g. `operator`, or `ns~operator` in a namespace).
    #[must_use]
    pub fn new(user: impl Into<String>, passphrase: SecretString) -> Self {
        Self {
            user: user.into(),
            passphrase,
        }
    }

    /// The user name.
    #[must_use]
    pub fn user(&self) -> &str {
        &self.user
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("passphrase", &"[REDACTED]")
            .finish()
    }
}

/// An async client of one NetHSM. Cheap to clone: clones share the connection pool, so after
/// warm-up a signature costs one HTTP request on a kept-alive TLS connection.
#[derive(Clone)]
pub struct NetHsmClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: Url,
    credentials: Option<Credentials>,
}

impl fmt::Debug for NetHsmClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NetHsmClient")
            .field("base", &self.inner.base.as_str())
            .field("credentials", &self.inner.credentials)
            .finish_non_exhaustive()
    }
}

impl NetHsmClient {
    /// Starts a client for the NetHSM at `host:port` (`https://host:port/api/v1/`).
    pub fn builder(host: impl Into<String>, port: u16) -> NetHsmClientBuilder {
        NetHsmClientBuilder {
            host: host.into(),
            port,
            credentials: None,
            tls: TlsOptions::default(),
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
        }
    }

    /// The API base URL.
    #[must_use]
    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    /// The user this client authenticates as, if any.
    #[must_use]
    pub fn user(&self) -> Option<&str> {
        self.inner.credentials.as_ref().map(Credentials::user)
    }

    /// A client sharing this one's connection pool, authenticating as `credentials`.
    #[must_use]
    pub fn with_credentials(&self, credentials: Credentials) -> Self {
        Self {
            inner: Arc::new(Inner {
                http: self.inner.http.clone(),
                base: self.inner.base.clone(),
                credentials: Some(credentials),
            }),
        }
    }
}

/// Configures a [`NetHsmClient`].
#[derive(Debug)]
#[must_use]
pub struct NetHsmClientBuilder {
    host: String,
    port: u16,
    credentials: Option<Credentials>,
    tls: TlsOptions,
    timeout: Duration,
    connect_timeout: Duration,
}

impl NetHsmClientBuilder {
    /// Authenticates every request as this user.
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// How to verify the server's certificate (verified against the system trust store by
    /// default).
    pub fn tls(mut self, tls: TlsOptions) -> Self {
        self.tls = tls;
        self
    }

    /// Time allowed for one request (default [`DEFAULT_TIMEOUT`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Time allowed to open a connection (default [`DEFAULT_CONNECT_TIMEOUT`]).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] for a bad host, CA file or server name.
    pub fn build(self) -> Result<NetHsmClient> {
        let tls = client_config(&self.tls)?;
        let mut http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(64)
            .tcp_nodelay(true)
            .redirect(reqwest::redirect::Policy::none());
        // With a server-name override the URL carries the name the certificate must match and
        // the connection goes to the configured address: no /etc/hosts edit.
        let url_host = match &self.tls.server_name {
            Some(name) => {
                let addrs: Vec<SocketAddr> = (self.host.as_str(), self.port)
                    .to_socket_addrs()
                    .map_err(|e| {
                        Error::invalid_input(OP, format!("cannot resolve {}", self.host))
                            .with_source(e)
                    })?
                    .collect();
                http = http.resolve_to_addrs(name, &addrs);
                name.clone()
            }
            None => self.host.clone(),
        };
        let host = if url_host.contains(':') {
            format!("[{url_host}]")
        } else {
            url_host
        };
        let base = Url::parse(&format!("https://{host}:{}/api/v1/", self.port))
            .map_err(|e| Error::invalid_input(OP, format!("bad host: {e}")))?;
        let http = http.build().map_err(|e| {
            Error::new(ErrorKind::InvalidInput, OP)
                .with_message("cannot build the HTTP client")
                .with_source(e)
        })?;
        Ok(NetHsmClient {
            inner: Arc::new(Inner {
                http,
                base,
                credentials: self.credentials,
            }),
        })
    }
}
