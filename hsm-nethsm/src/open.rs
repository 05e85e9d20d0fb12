//! Opening a NetHSM from a `nethsm://` or `nethsm+sim:` URI and [`OpenOptions`]: the blocking
//! [`NetHsm`] and the async [`AsyncNetHsm`] take the same URIs and options.

use hsm_core::tls::TlsOptions;
use hsm_core::uri::BackendUri;
use hsm_core::{Error, OpenOptions, Result};

use crate::backend::AsyncNetHsm;
use crate::backend::blocking::NetHsm;
use crate::client::{Credentials, NetHsmClientBuilder, RetryPolicy};

const OP: &str = "nethsm.open";

#[cfg(feature = "sim")]
impl AsyncNetHsm {
    /// The simulator this backend started (`nethsm+sim:`), if any.
    #[must_use]
    pub fn simulator(&self) -> Option<&crate::sim::Simulator> {
        self.kept_alive()?.downcast_ref()
    }
}

#[cfg(feature = "sim")]
impl NetHsm {
    /// The simulator this backend started (`nethsm+sim:`), if any.
    #[must_use]
    pub fn simulator(&self) -> Option<&crate::sim::Simulator> {
        self.to_async_ref().simulator()
    }
}

/// What a backend over the built-in simulator can do: every NetHSM's capabilities without the
/// key types this build of the simulator does not offer.
#[cfg(feature = "sim")]
fn simulator_capabilities(mut capabilities: hsm_core::Capabilities) -> hsm_core::Capabilities {
    capabilities.key_specs.retain(|spec| {
        crate::protocol::key_types::key_type(*spec).is_none_or(|(t, _)| crate::sim::offers(t))
    });
    capabilities
}

#[cfg(feature = "sim")]
impl crate::sim::Simulator {
    /// A client builder for this simulator that trusts exactly the certificate it serves now
    /// (add the credentials, e.g. [`crate::sim::OPERATOR_USER`]).
    pub fn client_builder(&self) -> NetHsmClientBuilder {
        crate::client::NetHsmClient::builder(self.addr().ip().to_string(), self.addr().port())
            .tls(self.tls_options())
    }
}

/// The URI parameters of the password: inline, environment variable, file.
const PASSWORD_PARAMS: (&str, &str, &str) = ("password", "password-env", "password-file");

hsm_core::uri_entry_points!("NetHSM": blocking NetHsm, async AsyncNetHsm);

impl NetHsm {
    /// Opens the NetHSM a URI names (see the crate docs for the grammar):
    ///
    /// - `nethsm://USER@HOST[:PORT]?password-env=VAR&ca=FILE&server-name=NAME&pin-sha256=HEX&timeout-ms=N&connect-timeout-ms=N&retries=N&max-in-flight=N`,
    ///   plus `cluster=HOST2:PORT,HOST3:PORT` for the other instances of a cluster, plus `admin=USER&admin-password-env=VAR` (or `admin-password-file=`) for generate and
    ///   delete, which the NetHSM allows only to Administrators
    /// - `nethsm+sim:[?state=operational|unprovisioned&latency-ms=N]`: starts the built-in
    ///   simulator on loopback (feature `sim`), on this handle's runtime, and logs in as its
    ///   operator.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](hsm_core::ErrorKind::InvalidInput) naming the wrong part of
    /// the URI; [`ErrorKind::Unsupported`](hsm_core::ErrorKind::Unsupported) for `+sim` without
    /// the `sim` feature.
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
    /// As [`Self::open`].
    pub fn open_with(mut uri: BackendUri, options: OpenOptions) -> Result<Self> {
        let options = options.merge_uri(&mut uri, PASSWORD_PARAMS)?;
        let runtime = hsm_core::runtime::BlockingRuntime::new("hsm-nethsm")?;
        let hsm = if uri.simulated {
            open_simulator(uri, &options, &runtime.handle()?)?
        } else {
            open_device(uri, &options)?
        };
        Ok(Self::over(hsm, runtime).with_thread_lanes(hsm_core::runtime::DEFAULT_MAX_THREAD_LANES))
    }
}

impl AsyncNetHsm {
    /// Opens the NetHSM a URI names, for async code: the same URIs as [`NetHsm::open`]. No
    /// runtime is started; the calls run on the caller's. `nethsm+sim:` starts the simulator
    /// on the current tokio runtime, so it needs one (call it inside the runtime that will
    /// use the handle); it stops when the last clone is dropped.
    ///
    /// # Errors
    /// As [`NetHsm::open`]; [`ErrorKind::InvalidState`](hsm_core::ErrorKind::InvalidState) for
    /// `nethsm+sim:` outside a tokio runtime.
    pub fn open(uri: BackendUri) -> Result<Self> {
        Self::open_with(uri, OpenOptions::new())
    }

    /// [`Self::open`] with options given in code (see [`NetHsm::open_with`]).
    ///
    /// # Errors
    /// As [`Self::open`].
    pub fn open_with(mut uri: BackendUri, options: OpenOptions) -> Result<Self> {
        let options = options.merge_uri(&mut uri, PASSWORD_PARAMS)?;
        if uri.simulated {
            let runtime = tokio::runtime::Handle::try_current().map_err(|e| {
                Error::new(hsm_core::ErrorKind::InvalidState, OP)
                    .with_message("nethsm+sim: for async code starts the simulator on the current tokio runtime: open it inside one")
                    .with_source(e)
            })?;
            open_simulator(uri, &options, &runtime)
        } else {
            open_device(uri, &options)
        }
    }
}

/// The client settings of `options`: timeouts, retries.
fn configure(mut builder: NetHsmClientBuilder, options: &OpenOptions) -> NetHsmClientBuilder {
    if let Some(timeout) = options.timeout {
        builder = builder.timeout(timeout);
    }
    if let Some(timeout) = options.connect_timeout {
        builder = builder.connect_timeout(timeout);
    }
    if let Some(retries) = options.retries {
        builder = builder.retry_policy(RetryPolicy {
            attempts: retries.saturating_add(1),
            ..RetryPolicy::default()
        });
    }
    if let Some(calls) = options.max_in_flight {
        builder = builder.max_idle_connections(calls);
    }
    builder
}

/// The backend settings of `options`: calls in flight.
fn finish(hsm: AsyncNetHsm, options: &OpenOptions) -> AsyncNetHsm {
    match options.max_in_flight {
        Some(calls) => hsm.with_max_in_flight(calls),
        None => hsm,
    }
}

/// A real NetHSM (or cluster): the user and password come from `options`, merged with the URI.
fn open_device(mut uri: BackendUri, options: &OpenOptions) -> Result<AsyncNetHsm> {
    let host = uri.require_host()?.to_owned();
    let port = uri.port.unwrap_or(443);
    let user = options.user.clone().ok_or_else(|| {
        Error::invalid_input(
            OP,
            "a nethsm:// URI needs a user: USER@HOST, or OpenOptions::user",
        )
    })?;
    let password = options.credential.clone().ok_or_else(|| {
        Error::invalid_input(
            OP,
            "a nethsm URI needs a password: password-env=VAR, password-file=PATH, USER:PASSWORD@ or OpenOptions::credential",
        )
    })?;
    let tls = TlsOptions::from_query(&mut uri.query)?;
    let others = match uri.query.take("cluster")? {
        Some(list) => parse_hosts(&list)?,
        None => Vec::new(),
    };
    let admin = take_admin(&mut uri)?;
    uri.query.finish("nethsm")?;
    let mut builder = client_builder(host, port)
        .credentials(Credentials::new(user, password))
        .tls(tls);
    for (host, port) in others {
        builder = builder.instance(host, port);
    }
    let hsm = AsyncNetHsm::new(configure(builder, options).build()?);
    let hsm = match admin {
        Some(admin) => hsm.with_admin(admin),
        None => hsm,
    };
    Ok(finish(hsm, options))
}

fn client_builder(host: String, port: u16) -> NetHsmClientBuilder {
    crate::client::NetHsmClient::builder(host, port)
}

#[cfg(not(feature = "sim"))]
fn open_simulator(
    _: BackendUri,
    _: &OpenOptions,
    _: &tokio::runtime::Handle,
) -> Result<AsyncNetHsm> {
    Err(Error::unsupported(
        OP,
        "nethsm+sim: needs hsm-nethsm built with the `sim` feature",
    ))
}

/// Starts the simulator on `runtime` and logs in as its operator (or the user of `options`).
#[cfg(feature = "sim")]
fn open_simulator(
    mut uri: BackendUri,
    options: &OpenOptions,
    runtime: &tokio::runtime::Handle,
) -> Result<AsyncNetHsm> {
    use crate::sim::{InitialState, SimConfig, Simulator};
    let state = match uri.query.take("state")?.as_deref() {
        None | Some("operational") => InitialState::Operational,
        Some("unprovisioned") => InitialState::Unprovisioned,
        Some(other) => {
            return Err(Error::invalid_input(
                OP,
                format!("`state` is operational or unprovisioned, not {other:?}"),
            ));
        }
    };
    let latency = uri.query.take_parsed::<u64>("latency-ms")?.unwrap_or(0);
    let admin = take_admin(&mut uri)?;
    uri.query.finish("nethsm+sim")?;
    let user = options
        .user
        .clone()
        .unwrap_or_else(|| crate::sim::OPERATOR_USER.to_owned());
    let config = SimConfig {
        state,
        latency: std::time::Duration::from_millis(latency),
        ..SimConfig::default()
    };
    let simulator = Simulator::start(config, runtime)?;
    let password = match &options.credential {
        Some(p) => p.clone(),
        None => simulator.default_passphrase(&user),
    };
    let builder = client_builder("127.0.0.1".to_owned(), simulator.addr().port())
        .credentials(Credentials::new(user, password))
        .tls(simulator.tls_options());
    let admin = admin.unwrap_or_else(|| {
        Credentials::new(
            crate::sim::ADMIN_USER,
            simulator.default_passphrase(crate::sim::ADMIN_USER),
        )
    });
    let hsm = AsyncNetHsm::new(configure(builder, options).build()?).with_admin(admin);
    let capabilities = simulator_capabilities(hsm.capabilities());
    let hsm = hsm.serving(std::sync::Arc::new(simulator), capabilities);
    Ok(finish(hsm, options))
}

/// `HOST:PORT,HOST:PORT` (`[v6addr]:PORT` for IPv6; the port defaults to 443).
fn parse_hosts(list: &str) -> Result<Vec<(String, u16)>> {
    let mut hosts = Vec::new();
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (host, port) = if let Some(rest) = item.strip_prefix('[') {
            let (host, after) = rest.split_once(']').ok_or_else(|| {
                Error::invalid_input(OP, format!("cluster: unclosed [ in {item:?}"))
            })?;
            (host, after.strip_prefix(':'))
        } else {
            match item.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (item, None),
            }
        };
        let port = match port {
            Some(p) => p
                .parse::<u16>()
                .map_err(|_| Error::invalid_input(OP, format!("cluster: bad port in {item:?}")))?,
            None => 443,
        };
        if host.is_empty() {
            return Err(Error::invalid_input(
                OP,
                format!("cluster: no host in {item:?}"),
            ));
        }
        hosts.push((host.to_owned(), port));
    }
    Ok(hosts)
}

/// `admin=USER` with `admin-password-env=VAR` / `admin-password-file=PATH` / `admin-password=`.
fn take_admin(uri: &mut BackendUri) -> Result<Option<Credentials>> {
    let user = uri.query.take("admin")?;
    let password = uri.query.take_secret(
        "admin-password",
        "admin-password-env",
        "admin-password-file",
    )?;
    match (user, password) {
        (None, None) => Ok(None),
        (Some(user), Some(password)) => Ok(Some(Credentials::new(user, password))),
        _ => Err(Error::invalid_input(
            OP,
            "`admin` and `admin-password-env` (or -file) go together",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_hosts;

    #[test]
    fn cluster_hosts_parse_with_default_ports_and_ipv6() {
        let hosts = parse_hosts("h2:8443, h3,[::1]:9000").unwrap_or_default();
        assert_eq!(
            hosts,
            [
                ("h2".to_owned(), 8443),
                ("h3".to_owned(), 443),
                ("::1".to_owned(), 9000)
            ]
        );
        assert!(parse_hosts("h2:notaport").is_err());
        assert!(parse_hosts(":8443").is_err());
        assert!(parse_hosts("[::1:8443").is_err());
    }
}
