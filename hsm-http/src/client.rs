//! [`HttpClient`]: the pools, the call loop (the crate docs' retry and time-budget policy) and
//! one attempt.

use std::borrow::Cow;
use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs as _};
use std::sync::Arc;
use std::time::Duration;

use hsm_core::tls::TlsOptions;
use hsm_core::{Error, ErrorKind};
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tracing::Instrument as _;
use url::Url;

use crate::answer::{Answer, Failure, Fault};
use crate::conn::{Outgoing, Pool, PoolConfig};
use crate::endpoints::{Endpoint, Endpoints, Transport};
use crate::policy::{BudgetSplit, RetryPolicy, StatusClass, classify_status};
use crate::request::Request;

/// The default budget of one call, every repeat included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The default time allowed to open a connection, TLS handshake included.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The default body cap (8 MiB).
pub const DEFAULT_MAX_BODY: usize = 8 << 20;
/// The default number of idle connections kept per endpoint (at least this many, so 64
/// requests in flight find 64 warm connections).
pub const DEFAULT_MAX_IDLE: usize = 64;

const OP: &str = "http.client";

/// How long an idle connection is kept for the next request.
const IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// The HTTPS client of one device or cluster. Cheap to clone: clones share the connection
/// pools, the endpoints' health and the in-flight limit.
#[derive(Clone)]
pub struct HttpClient {
    inner: Arc<Inner>,
}

struct Inner {
    device: Cow<'static, str>,
    endpoints: Endpoints,
    policy: RetryPolicy,
    timeout: Duration,
    max_body: usize,
    in_flight: Option<Arc<Semaphore>>,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let origins: Vec<String> = self
            .inner
            .endpoints
            .list
            .iter()
            .map(|e| e.origin())
            .collect();
        f.debug_struct("HttpClient")
            .field("device", &self.inner.device)
            .field("endpoints", &origins)
            .field("timeout", &self.inner.timeout)
            .field("max_body", &self.inner.max_body)
            .field("policy", &self.inner.policy)
            .finish_non_exhaustive()
    }
}

/// Configures an [`HttpClient`].
#[derive(Debug)]
#[must_use]
pub struct HttpClientBuilder {
    device: Cow<'static, str>,
    base_path: String,
    hosts: Vec<(String, u16)>,
    tls: TlsOptions,
    timeout: Duration,
    connect_timeout: Duration,
    policy: RetryPolicy,
    max_body: usize,
    max_idle: usize,
    max_in_flight: Option<usize>,
    probe_path: Option<String>,
    plain_http: bool,
}

impl HttpClient {
    /// A builder for a client of `device` (its name in error messages: `NetHSM`, `N200`) at
    /// `https://host:port{base_path}` (`base_path` such as `/api/v1/`).
    pub fn builder(
        device: impl Into<Cow<'static, str>>,
        host: impl Into<String>,
        port: u16,
        base_path: impl Into<String>,
    ) -> HttpClientBuilder {
        HttpClientBuilder {
            device: device.into(),
            base_path: base_path.into(),
            hosts: vec![(host.into(), port)],
            tls: TlsOptions::default(),
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            policy: RetryPolicy::default(),
            max_body: DEFAULT_MAX_BODY,
            max_idle: DEFAULT_MAX_IDLE,
            max_in_flight: None,
            probe_path: None,
            plain_http: false,
        }
    }

    /// A builder for a client over connection pools the backend makes itself
    /// ([`HttpClientBuilder::build_over`]).
    pub fn pool_builder(device: impl Into<Cow<'static, str>>) -> HttpClientBuilder {
        let mut builder = Self::builder(device, String::new(), 0, "/");
        builder.hosts.clear();
        builder
    }

    /// Whether the endpoint at `index` (configuration order) is in rotation now.
    #[must_use]
    pub fn endpoint_up(&self, index: usize) -> bool {
        self.inner.endpoints.get(index).is_some_and(|e| e.is_up())
    }

    /// The base URLs of the endpoints, in configuration order.
    pub fn base_urls(&self) -> impl Iterator<Item = &Url> {
        self.inner.endpoints.list.iter().map(|e| &e.base)
    }

    /// Which endpoints are in rotation now (same order as [`Self::base_urls`]).
    #[must_use]
    pub fn endpoints_up(&self) -> Vec<bool> {
        self.inner
            .endpoints
            .list
            .iter()
            .map(|e| e.is_up())
            .collect()
    }

    /// The budget of one call.
    #[must_use]
    pub fn timeout(&self) -> Duration {
        self.inner.timeout
    }

    /// The body cap.
    #[must_use]
    pub fn max_body(&self) -> usize {
        self.inner.max_body
    }

    /// The retry policy.
    #[must_use]
    pub fn policy(&self) -> &RetryPolicy {
        &self.inner.policy
    }

    /// Sends `request` under the crate's policy and returns its complete answer (`2xx` or
    /// `304`).
    ///
    /// # Errors
    /// A [`Failure`]: an error status (its kind from hsm-core's table, the answer kept), a
    /// transport fault, an answer over the body cap (`Protocol`), or `Timeout` when the budget
    /// is spent; `outcome_unknown` when a request that is not idempotent may have been carried
    /// out.
    pub async fn call(&self, request: &Request) -> Result<Answer, Failure> {
        let span = tracing::debug_span!(
            "hsm.http",
            operation = %request.operation,
            method = %request.method,
        );
        self.call_inner(request).instrument(span).await
    }

    async fn call_inner(&self, request: &Request) -> Result<Answer, Failure> {
        let inner = &*self.inner;
        let policy = &inner.policy;
        let endpoints = &inner.endpoints;
        let operation = &*request.operation;
        let idempotent = request.idempotent;
        let n = endpoints.len();
        let max_attempts = policy
            .attempts
            .max(u32::try_from(n).unwrap_or(u32::MAX))
            .max(1);
        let budget = request.budget.unwrap_or(inner.timeout);
        let deadline = Instant::now() + budget;
        let mut tried: Vec<usize> = Vec::new();
        let mut refused: Vec<usize> = Vec::new();
        let mut attempts = 0u32;
        let mut throttled = 0u32;
        let mut repeats = 0u32;
        let mut last: Option<Failure> = None;
        loop {
            // `None` once every endpoint refused this call: nothing else to try.
            let Some(index) = endpoints.pick(&tried, &refused) else {
                return Err(last.unwrap_or_else(|| {
                    Failure::known(Error::invalid_input(operation.to_owned(), "no endpoint"))
                }));
            };
            let Some(endpoint) = endpoints.get(index) else {
                return Err(last.unwrap_or_else(|| {
                    Failure::known(Error::invalid_input(operation.to_owned(), "no endpoint"))
                }));
            };
            if tried.contains(&index) {
                // Back to an endpoint this call already tried: wait a little first.
                let delay = policy.retry_delay.saturating_mul(1u32 << repeats.min(10));
                repeats = repeats.saturating_add(1);
                if sleep_within(delay, deadline).await {
                    return Err(last.unwrap_or_else(|| {
                        Failure::known(self.spent(operation, attempts, budget))
                    }));
                }
            }
            let limit = attempt_limit(
                deadline,
                max_attempts.saturating_sub(attempts),
                idempotent && policy.split == BudgetSplit::Shared,
            );
            if limit.is_zero() {
                return Err(
                    last.unwrap_or_else(|| Failure::known(self.spent(operation, attempts, budget)))
                );
            }
            attempts += 1;
            tracing::debug!(attempt = attempts, endpoint = %endpoint.origin(), "sending");
            let outcome = self
                .attempt(endpoint, request, limit, deadline, budget)
                .await;
            let out_of_attempts = attempts >= max_attempts || Instant::now() >= deadline;
            let failure = match outcome {
                Ok(answer) => {
                    let status = answer.status;
                    tracing::debug!(status, bytes = answer.body.len(), "answer");
                    match classify_status(status, policy) {
                        StatusClass::Success => {
                            endpoints.mark_up(index);
                            return Ok(answer);
                        }
                        StatusClass::Throttled if throttled < policy.throttle_retries => {
                            // Nothing was done: wait and send again, not counted as an attempt.
                            throttled += 1;
                            attempts -= 1;
                            let error = answer.status_error(operation.to_owned());
                            if sleep_within(policy.throttle_delay, deadline).await {
                                return Err(Failure::status(answer, error, false));
                            }
                            last = Some(Failure::status(answer, error, false));
                            continue;
                        }
                        StatusClass::Throttled | StatusClass::Final => {
                            endpoints.mark_up(index);
                            let error = answer.status_error(operation.to_owned());
                            return Err(Failure::status(answer, error, false));
                        }
                        StatusClass::NotReady => {
                            // Not carried out; this endpoint is not tried again in this call.
                            endpoints.mark_down(index);
                            tried.push(index);
                            refused.push(index);
                            let error = answer.status_error(operation.to_owned());
                            if out_of_attempts || refused.len() >= n {
                                return Err(Failure::status(answer, error, false));
                            }
                            Failure::status(answer, error, false)
                        }
                        class @ (StatusClass::NotDone | StatusClass::Unknown) => {
                            endpoints.mark_down(index);
                            tried.push(index);
                            let error = answer.status_error(operation.to_owned());
                            if !idempotent {
                                let unknown = class == StatusClass::Unknown;
                                return Err(Failure::status(answer, error, unknown));
                            }
                            if out_of_attempts {
                                return Err(Failure::status(answer, error, false));
                            }
                            Failure::status(answer, error, false)
                        }
                    }
                }
                Err(Fault::NotSent(error)) => {
                    endpoints.mark_down(index);
                    tried.push(index);
                    if out_of_attempts {
                        return Err(Failure::known(error));
                    }
                    Failure::known(error)
                }
                Err(Fault::Refused(error)) => {
                    endpoints.mark_down(index);
                    tried.push(index);
                    refused.push(index);
                    if out_of_attempts || refused.len() >= n {
                        return Err(Failure::known(error));
                    }
                    Failure::known(error)
                }
                Err(Fault::Unknown(error)) => {
                    endpoints.mark_down(index);
                    tried.push(index);
                    if !idempotent {
                        return Err(Failure {
                            error,
                            answer: None,
                            outcome_unknown: true,
                        });
                    }
                    if out_of_attempts {
                        return Err(Failure::known(error));
                    }
                    Failure::known(error)
                }
                Err(Fault::TooBig(error)) => {
                    endpoints.mark_up(index);
                    return Err(Failure {
                        error,
                        answer: None,
                        outcome_unknown: !idempotent,
                    });
                }
            };
            tracing::debug!(attempt = attempts, error = %failure.error, "repeating");
            last = Some(failure);
        }
    }

    /// The error of a call whose budget ran out before an attempt could start.
    fn spent(&self, operation: &str, attempts: u32, budget: Duration) -> Error {
        Error::new(ErrorKind::Timeout, operation.to_owned()).with_message(format!(
            "no complete answer from the {} within the call's timeout of {} ms ({attempts} attempts)",
            self.inner.device,
            budget.as_millis()
        ))
    }

    /// One request to one endpoint, bounded by `limit`.
    async fn attempt(
        &self,
        endpoint: &Endpoint,
        call: &Request,
        limit: Duration,
        deadline: Instant,
        budget: Duration,
    ) -> Result<Answer, Fault> {
        let inner = &*self.inner;
        let operation = &*call.operation;
        let started = Instant::now();
        let attempt_deadline = (started + limit).min(deadline);
        let _permit = match &inner.in_flight {
            Some(limit) => {
                match tokio::time::timeout_at(attempt_deadline, Arc::clone(limit).acquire_owned())
                    .await
                {
                    Ok(Ok(permit)) => Some(permit),
                    Ok(Err(_closed)) => None,
                    Err(_elapsed) => {
                        return Err(Fault::NotSent(self.no_answer_within(
                            operation,
                            limit_of(started, attempt_deadline),
                            budget,
                        )));
                    }
                }
            }
            None => None,
        };
        let url = url_of(&endpoint.base, call).map_err(Fault::NotSent)?;
        let outgoing = Outgoing {
            operation,
            device: &inner.device,
            cap: inner.max_body,
            method: &call.method,
            url: &url,
            auth: call.auth.as_ref(),
            body: call
                .body
                .as_ref()
                .map(|(content_type, body)| (content_type.as_ref(), body.as_slice())),
        };
        let exchange = endpoint.exchange(&outgoing);
        match tokio::time::timeout_at(attempt_deadline, exchange).await {
            Ok(result) => result,
            Err(_) => Err(Fault::Unknown(self.no_answer_within(
                operation,
                limit_of(started, attempt_deadline),
                budget,
            ))),
        }
    }

    fn no_answer_within(&self, operation: &str, limit: Duration, budget: Duration) -> Error {
        let inner = &*self.inner;
        let share = if limit + Duration::from_millis(1) < budget {
            format!(
                " (this attempt's share of the call's {} ms)",
                budget.as_millis()
            )
        } else {
            String::new()
        };
        Error::new(ErrorKind::Timeout, operation.to_owned()).with_message(format!(
            "no complete answer from the {} within {} ms{share}",
            inner.device,
            limit.as_millis()
        ))
    }
}

fn limit_of(started: Instant, deadline: Instant) -> Duration {
    deadline.saturating_duration_since(started)
}

/// The URL of a request: its segments under the endpoint's base, each percent-encoded, and
/// its query.
fn url_of(base: &Url, call: &Request) -> Result<Url, Error> {
    let mut url = base.clone();
    {
        let mut path = url.path_segments_mut().map_err(|()| {
            Error::invalid_input(
                call.operation.to_string(),
                "the base URL cannot take a path",
            )
        })?;
        let _ = path.pop_if_empty();
        let _ = path.extend(&call.segments);
    }
    if !call.query.is_empty() {
        let _ = url.query_pairs_mut().extend_pairs(&call.query);
    }
    Ok(url)
}

/// The time one attempt may take: with `share`, an equal share of what is left for each
/// attempt still allowed; otherwise all that is left. Zero when the budget is spent.
fn attempt_limit(deadline: Instant, attempts_left: u32, share: bool) -> Duration {
    let remaining = deadline.saturating_duration_since(Instant::now());
    if share {
        remaining / attempts_left.max(1)
    } else {
        remaining
    }
}

/// Sleeps `delay`, but not past `deadline`; `true` when the deadline is reached.
async fn sleep_within(delay: Duration, deadline: Instant) -> bool {
    let wake = (Instant::now() + delay).min(deadline);
    tokio::time::sleep_until(wake).await;
    wake >= deadline
}

impl HttpClientBuilder {
    /// Adds another endpoint (another instance of the same cluster: same credentials, same
    /// TLS trust).
    pub fn endpoint(mut self, host: impl Into<String>, port: u16) -> Self {
        self.hosts.push((host.into(), port));
        self
    }

    setters! {
        /// How to verify the servers' certificates (the system trust store by default).
        tls(tls: TlsOptions) => tls;
        /// The budget of one call, every repeat, wait and failover included (default
        /// [`DEFAULT_TIMEOUT`]).
        timeout(timeout: Duration) => timeout;
        /// The time allowed to open a connection, TLS handshake included (default
        /// [`DEFAULT_CONNECT_TIMEOUT`]; never more than the call's budget); also a probe's.
        connect_timeout(connect_timeout: Duration) => connect_timeout;
        /// The retry policy (default [`RetryPolicy::default`]).
        policy(policy: RetryPolicy) => policy;
        /// The body cap in bytes (default [`DEFAULT_MAX_BODY`]).
        max_body(max_body: usize) => max_body;
    }

    /// Idle connections kept per endpoint (default and minimum [`DEFAULT_MAX_IDLE`]): at least
    /// the requests kept in flight, so that each finds a warm connection.
    pub fn max_idle(mut self, connections: usize) -> Self {
        self.max_idle = connections.max(DEFAULT_MAX_IDLE);
        self
    }

    /// At most `requests` attempts in flight at once over every clone of the client (no
    /// limit by default); an attempt waits for a slot within its share of the budget.
    pub fn max_in_flight(mut self, requests: usize) -> Self {
        self.max_in_flight = Some(requests.max(1));
        self.max_idle = self.max_idle.max(requests);
        self
    }

    /// `GET` this path (under an endpoint's base) to see whether a failed endpoint is back
    /// (`health/ready`); without one a failed endpoint is back after its backoff.
    pub fn probe_path(mut self, path: impl Into<String>) -> Self {
        self.probe_path = Some(path.into());
        self
    }

    /// Plain `http://` instead of HTTPS: **for tests against a local server only** (no TLS,
    /// credentials in the clear).
    pub fn danger_plain_http(mut self) -> Self {
        self.plain_http = true;
        self
    }

    /// Builds the client. No connection is opened yet and no runtime is needed.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] for a bad host, CA file or server name;
    /// [`ErrorKind::Unavailable`] if a host name does not resolve (with a server-name
    /// override).
    pub fn build(self) -> Result<HttpClient, Error> {
        // hsm-core's configuration names its crypto provider (no process-wide default needed);
        // only HTTP/1.1 is offered.
        let mut tls = hsm_core::tls::client_config(&self.tls)?;
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        let tls = Arc::new(tls);
        let mut list = Vec::with_capacity(self.hosts.len());
        for (host, port) in &self.hosts {
            list.push(Arc::new(self.endpoint_of(&tls, host, *port)?));
        }
        if list.is_empty() {
            return Err(Error::invalid_input(OP, "no endpoint"));
        }
        Ok(self.client_over(list))
    }

    /// Builds the client over connection pools made elsewhere (`base URL`, reqwest client), one
    /// per endpoint, in rotation order: for a backend that configures its own pools. The
    /// builder's hosts, TLS options and pool settings are not used; its timeout, policy, body
    /// cap, in-flight limit and probe path are. With no pool, every call fails ("no endpoint").
    pub fn build_over(self, pools: Vec<(Url, reqwest::Client)>) -> HttpClient {
        let list = pools
            .into_iter()
            .map(|(base, http)| Arc::new(Endpoint::new(base, Transport::External(http))))
            .collect();
        self.client_over(list)
    }

    /// The client over these endpoints, in rotation order.
    fn client_over(self, list: Vec<Arc<Endpoint>>) -> HttpClient {
        let endpoints = Endpoints::new(
            list,
            self.policy.clone(),
            self.probe_path,
            self.connect_timeout,
        );
        HttpClient {
            inner: Arc::new(Inner {
                device: self.device,
                endpoints,
                policy: self.policy,
                timeout: self.timeout,
                max_body: self.max_body,
                in_flight: self.max_in_flight.map(|n| Arc::new(Semaphore::new(n))),
            }),
        }
    }

    fn endpoint_of(
        &self,
        tls: &Arc<rustls::ClientConfig>,
        host: &str,
        port: u16,
    ) -> Result<Endpoint, Error> {
        // With a server-name override the URL and the certificate name the server's name and
        // the connection goes to the configured address: no /etc/hosts edit. Each endpoint has
        // its own pool, so each can map the name to its own address.
        let (url_host, addrs) = match &self.tls.server_name {
            Some(name) if !self.plain_http => (name.clone(), Some(resolve(host, port)?)),
            _ => (host.to_owned(), None),
        };
        let bare = url_host.trim_start_matches('[').trim_end_matches(']');
        let tls = if self.plain_http {
            None
        } else {
            let name = rustls::pki_types::ServerName::try_from(bare.to_owned()).map_err(|e| {
                Error::invalid_input(OP, format!("bad server name {bare}")).with_source(e)
            })?;
            Some((Arc::clone(tls), name))
        };
        let url_host = if bare.contains(':') {
            format!("[{bare}]")
        } else {
            bare.to_owned()
        };
        let scheme = if self.plain_http { "http" } else { "https" };
        let path = if self.base_path.starts_with('/') {
            self.base_path.clone()
        } else {
            format!("/{}", self.base_path)
        };
        let base = Url::parse(&format!("{scheme}://{url_host}:{port}{path}"))
            .map_err(|e| Error::invalid_input(OP, format!("bad host {host}: {e}")))?;
        let pool = Pool::new(PoolConfig {
            host_header: format!("{url_host}:{port}"),
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
            port,
            addrs,
            tls,
            connect_timeout: self.connect_timeout.min(self.timeout),
            idle_timeout: IDLE_TIMEOUT,
            max_idle: self.max_idle,
        });
        Ok(Endpoint::new(base, Transport::Pool(pool)))
    }
}

fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>, Error> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<std::net::IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| {
            Error::new(ErrorKind::Unavailable, OP)
                .with_message(format!("cannot resolve {host}"))
                .with_source(e)
        })?
        .collect();
    if addrs.is_empty() {
        return Err(
            Error::new(ErrorKind::Unavailable, OP).with_message(format!("{host} has no address"))
        );
    }
    Ok(addrs)
}
