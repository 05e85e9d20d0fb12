//! The async NetHSM REST client: one shared connection pool per instance, typed requests and
//! responses ([`crate::protocol`]), and the retry and failover policy of the crate README.
//!
//! Every operation of the official OpenAPI spec has a typed method ([`operations::OPERATIONS`]
//! maps each to its method), all methods of [`NetHsmClient`], in one module per API group of
//! the spec: `health` (`/info`, `/health/*`, `/metrics`), `provision` (`/provision`,
//! `/unlock`, `/lock`), `users`, `namespaces`, `keys` (list, generate, import, get, delete,
//! public key, move, labels, tags), `key_certificates` (CSRs, stored certificates),
//! `key_operations` (sign, decrypt, encrypt), `random`, `config`, `system` and `cluster`.

mod calls;
mod cluster;
mod config;
mod health;
mod key_certificates;
mod key_operations;
mod keys;
mod namespaces;
pub mod operations;
mod provision;
mod random;
mod system;
mod users;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use hsm_core::Result;
use hsm_core::tls::TlsOptions;
use url::Url;

pub use self::keys::KeyFilter;
/// The request and response bodies, all in one module ([`crate::protocol::model`]; the types
/// live in [`crate::protocol`], one module per API group).
pub use crate::protocol::model;
use crate::transport::Transport;
use crate::transport::cluster::{Cluster, ConnectionSettings};
pub use crate::transport::{Credentials, MAX_RESPONSE_BYTES, RetryPolicy};

/// The default time allowed for one call, connection and retries included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The default time allowed to open a connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The idle connections kept per instance unless
/// [`NetHsmClientBuilder::max_idle_connections`] says more.
pub const DEFAULT_MAX_IDLE_CONNECTIONS: usize = 64;

/// An async client of one NetHSM or of several instances of one cluster. Cheap to clone:
/// clones share the connection pools, so after warm-up a signature costs one HTTP request on a
/// kept-alive TLS connection.
///
/// With several instances, requests go round-robin over the healthy ones and fail over as
/// [`RetryPolicy`] and the crate README's policy table say.
#[derive(Clone)]
pub struct NetHsmClient {
    transport: Arc<Transport>,
}

impl fmt::Debug for NetHsmClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let urls: Vec<&str> = self.transport.cluster.bases().map(Url::as_str).collect();
        f.debug_struct("NetHsmClient")
            .field("instances", &urls)
            .field("credentials", &self.transport.credentials)
            .finish_non_exhaustive()
    }
}

impl NetHsmClient {
    /// Starts a client for the NetHSM at `host:port` (`https://host:port/api/v1/`); add the
    /// other instances of a cluster with [`NetHsmClientBuilder::instance`].
    pub fn builder(host: impl Into<String>, port: u16) -> NetHsmClientBuilder {
        NetHsmClientBuilder {
            settings: ConnectionSettings {
                hosts: vec![(host.into(), port)],
                tls: TlsOptions::default(),
                timeout: DEFAULT_TIMEOUT,
                connect_timeout: DEFAULT_CONNECT_TIMEOUT,
                retry: RetryPolicy::default(),
                max_idle: DEFAULT_MAX_IDLE_CONNECTIONS,
            },
            credentials: None,
        }
    }

    /// The API base URL of the first instance.
    #[must_use]
    pub fn base_url(&self) -> &Url {
        &self.transport.base
    }

    /// The API base URLs of all instances, in configuration order.
    pub fn instance_urls(&self) -> impl Iterator<Item = &Url> {
        self.transport.cluster.bases()
    }

    /// Which instances are in rotation now (same order as [`Self::instance_urls`]); an
    /// instance that failed stays out until a background probe finds it ready again.
    #[must_use]
    pub fn instances_up(&self) -> Vec<bool> {
        self.transport.cluster.up()
    }

    /// The user this client authenticates as, if any.
    #[must_use]
    pub fn user(&self) -> Option<&str> {
        self.transport.credentials.as_ref().map(Credentials::user)
    }

    /// A client sharing this one's instances and connection pools, authenticating as
    /// `credentials`.
    #[must_use]
    pub fn with_credentials(&self, credentials: Credentials) -> Self {
        Self {
            transport: Arc::new(Transport {
                base: self.transport.base.clone(),
                cluster: Arc::clone(&self.transport.cluster),
                credentials: Some(credentials),
                timeout: self.transport.timeout,
            }),
        }
    }

    /// A client of the same instances, as the same user, with the same TLS trust, timeouts,
    /// retry policy and pool size, but connection pools (and instance health marks) of its
    /// own: for a thread lane, whose connections must belong to the lane's runtime. No
    /// connection is opened yet.
    ///
    /// # Errors
    /// As [`NetHsmClientBuilder::build`] (the CA file is read again).
    pub fn with_own_connections(&self) -> Result<Self> {
        let cluster = Cluster::connect(Arc::clone(&self.transport.cluster.settings))?;
        Ok(Self {
            transport: Arc::new(Transport {
                base: self.transport.base.clone(),
                cluster: Arc::new(cluster),
                credentials: self.transport.credentials.clone(),
                timeout: self.transport.timeout,
            }),
        })
    }
}

/// Configures a [`NetHsmClient`].
#[derive(Debug)]
#[must_use]
pub struct NetHsmClientBuilder {
    /// What the connections are made from.
    settings: ConnectionSettings,
    /// The user every request authenticates as.
    credentials: Option<Credentials>,
}

impl NetHsmClientBuilder {
    /// Adds another instance of the same cluster (same users, keys and TLS trust).
    pub fn instance(mut self, host: impl Into<String>, port: u16) -> Self {
        self.settings.hosts.push((host.into(), port));
        self
    }

    /// Authenticates every request as this user.
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// How to verify the servers' certificates (verified against the system trust store by
    /// default).
    pub fn tls(mut self, tls: TlsOptions) -> Self {
        self.settings.tls = tls;
        self
    }

    /// Time allowed for one call, connection, answer, retries, waits and failover included
    /// (default [`DEFAULT_TIMEOUT`]). Each attempt of an idempotent request gets an equal share
    /// of what is left (`remaining / attempts left`), so a stalled instance still fails over
    /// within the timeout; a non-idempotent request, never sent again after a timeout, gets all
    /// that is left.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.settings.timeout = timeout;
        self
    }

    /// Time allowed to open a connection, TLS handshake included (default
    /// [`DEFAULT_CONNECT_TIMEOUT`]); also the time allowed for a probe of a failed instance.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.settings.connect_timeout = timeout;
        self
    }

    /// When to retry and fail over (default [`RetryPolicy::default`]).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.settings.retry = policy;
        self
    }

    /// Idle connections kept open per instance for reuse (default
    /// [`DEFAULT_MAX_IDLE_CONNECTIONS`], never fewer): set it to at least the requests you keep
    /// in flight, so that each finds a warm connection.
    pub fn max_idle_connections(mut self, connections: usize) -> Self {
        self.settings.max_idle = connections.max(DEFAULT_MAX_IDLE_CONNECTIONS);
        self
    }

    /// Builds the client. No connection is opened yet.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](hsm_core::ErrorKind::InvalidInput) for a bad host, CA file
    /// or server name; [`ErrorKind::Unavailable`](hsm_core::ErrorKind::Unavailable) for a host
    /// that does not resolve (with a server-name override).
    pub fn build(self) -> Result<NetHsmClient> {
        let timeout = self.settings.timeout;
        let cluster = Cluster::connect(Arc::new(self.settings))?;
        let base = cluster
            .bases()
            .next()
            .cloned()
            .ok_or_else(|| hsm_core::Error::invalid_input("nethsm.client", "no instance"))?;
        Ok(NetHsmClient {
            transport: Arc::new(Transport {
                base,
                cluster: Arc::new(cluster),
                credentials: self.credentials,
                timeout,
            }),
        })
    }
}

/// Settles a creating request whose outcome is unknown (it is never sent twice) from what
/// reading the resource back `found`: `Ok(true)` when it is there as sent, so the request was
/// carried out; otherwise `error` with the first message (something else is there), the second
/// (nothing is there: 404, so it was not carried out) or the third (it could not be read).
fn settle_unknown_outcome(
    error: hsm_core::Error,
    found: Result<bool>,
    [other, none, unreadable]: [&'static str; 3],
) -> Result<()> {
    match found {
        Ok(true) => Ok(()),
        Ok(false) => Err(error.with_message(other)),
        Err(e) if e.is_not_found() => Err(error.with_message(none)),
        Err(_) => Err(error.with_message(unreadable)),
    }
}
