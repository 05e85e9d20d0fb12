//! [`NetHsm::open`]: a backend from a `nethsm://` or `nethsm+sim:` URI.

use std::time::Duration;

use hsm_core::tls::TlsOptions;
use hsm_core::uri::BackendUri;
use hsm_core::{Error, Result};

use crate::backend::NetHsm;
use crate::client::{Credentials, NetHsmClient};

const OP: &str = "nethsm.open";

impl NetHsm {
    /// Opens the NetHSM a URI names (see the crate docs for the grammar):
    ///
    /// - `nethsm://USER@HOST[:PORT]?password-env=VAR&ca=FILE&server-name=NAME&pin-sha256=HEX&timeout-ms=N&connect-timeout-ms=N`,
    ///   plus `cluster=HOST2:PORT,HOST3:PORT` for the other instances of a cluster, plus `admin=USER&admin-password-env=VAR` (or `admin-password-file=`) for generate and
    ///   delete, which the NetHSM allows only to Administrators
    /// - `nethsm+sim:[?state=operational|unprovisioned&latency-ms=N]`: starts the built-in
    ///   simulator on loopback (feature `sim`) and logs in as its operator.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](hsm_core::ErrorKind::InvalidInput) naming the wrong part of
    /// the URI; [`ErrorKind::Unsupported`](hsm_core::ErrorKind::Unsupported) for `+sim` without
    /// the `sim` feature.
    pub fn open(mut uri: BackendUri) -> Result<Self> {
        if uri.simulated {
            return Self::open_simulator(uri);
        }
        let host = uri.require_host()?.to_owned();
        let port = uri.port.unwrap_or(443);
        let user = uri.require_user()?.to_owned();
        let password = uri.take_password()?.ok_or_else(|| {
            Error::invalid_input(
                OP,
                "a nethsm URI needs a password: password-env=VAR, password-file=PATH or USER:PASSWORD@",
            )
        })?;
        let tls = TlsOptions::from_query(&mut uri.query)?;
        let timeout = uri.query.take_parsed::<u64>("timeout-ms")?;
        let connect_timeout = uri.query.take_parsed::<u64>("connect-timeout-ms")?;
        let others = match uri.query.take("cluster")? {
            Some(list) => parse_hosts(&list)?,
            None => Vec::new(),
        };
        let admin = take_admin(&mut uri)?;
        uri.query.finish("nethsm")?;
        let mut builder = NetHsmClient::builder(host, port)
            .credentials(Credentials::new(user, password))
            .tls(tls);
        for (host, port) in others {
            builder = builder.instance(host, port);
        }
        if let Some(ms) = timeout {
            builder = builder.timeout(Duration::from_millis(ms));
        }
        if let Some(ms) = connect_timeout {
            builder = builder.connect_timeout(Duration::from_millis(ms));
        }
        let hsm = Self::new(builder.build()?)?;
        Ok(match admin {
            Some(admin) => hsm.with_admin(admin),
            None => hsm,
        })
    }

    #[cfg(not(feature = "sim"))]
    fn open_simulator(_: BackendUri) -> Result<Self> {
        Err(Error::unsupported(
            OP,
            "nethsm+sim: needs hsm-nethsm built with the `sim` feature",
        ))
    }

    #[cfg(feature = "sim")]
    fn open_simulator(mut uri: BackendUri) -> Result<Self> {
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
        let user = uri
            .user
            .clone()
            .unwrap_or_else(|| crate::sim::OPERATOR_USER.to_owned());
        let password = uri.take_password()?;
        let runtime = hsm_core::runtime::BlockingRuntime::new("hsm-nethsm")?;
        let config = SimConfig {
            state,
            latency: Duration::from_millis(latency),
            ..SimConfig::default()
        };
        let simulator = Simulator::start(config, &runtime.handle()?)?;
        let password = match password {
            Some(p) => p,
            None => simulator.default_passphrase(&user),
        };
        let client = NetHsmClient::builder("127.0.0.1", simulator.addr().port())
            .credentials(Credentials::new(user, password))
            .tls(simulator.tls_options())
            .build()?;
        let admin = take_admin(&mut uri)?.unwrap_or_else(|| {
            Credentials::new(
                crate::sim::ADMIN_USER,
                simulator.default_passphrase(crate::sim::ADMIN_USER),
            )
        });
        uri.query.finish("nethsm+sim")?;
        let mut hsm = Self::with_runtime(client, runtime)?.with_admin(admin);
        hsm.simulator = Some(simulator);
        Ok(hsm)
    }
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
