//! One request: URL from path segments, Basic auth, status codes mapped to error kinds.

use std::borrow::Cow;
use std::time::Duration;

use hsm_core::{DeviceStatus, Error, ErrorKind, Result};

use reqwest::{Method, StatusCode};
use secrecy::ExposeSecret as _;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::protocol::model::ErrorBody;

use super::cluster::Instance;
use super::{Credentials, Transport};

/// The largest response body read (8 MiB): an answer announcing or sending more is a
/// protocol error, read no further.
pub const MAX_RESPONSE_BYTES: usize = 8 << 20;

/// Whether a request may be sent again when its outcome is unknown: GET, DELETE, the PUTs that
/// set a value (labels, tags, configuration), and the POSTs that change no state (sign,
/// decrypt, encrypt, random). The requests that create something are never repeated: every
/// other POST (generate, import, provision, create user, backup, ...), and the creating PUTs
/// (`PUT /keys/{id}` import, `PUT /users/{id}`, `PUT /keys/{id}/cert`, `PUT /namespaces/{id}`),
/// whose repetition after a success would answer "already exists".
fn is_idempotent(method: &Method, segments: &[&str]) -> bool {
    if *method == Method::PUT {
        return !matches!(
            segments,
            ["keys", _] | ["users", _] | ["keys", _, "cert"] | ["namespaces", _]
        );
    }
    if *method != Method::POST {
        return true;
    }
    match segments {
        ["random"] => true,
        ["keys", _, last] => matches!(*last, "sign" | "decrypt" | "encrypt"),
        _ => false,
    }
}

#[cfg(test)]
mod idempotency_tests {
    use super::*;

    #[test]
    fn creating_requests_are_not_idempotent() {
        assert!(is_idempotent(&Method::GET, &["keys"]));
        assert!(is_idempotent(&Method::POST, &["keys", "k", "sign"]));
        assert!(is_idempotent(&Method::POST, &["random"]));
        assert!(is_idempotent(&Method::PUT, &["keys", "k", "label"]));
        assert!(is_idempotent(&Method::PUT, &["config", "time"]));
        assert!(is_idempotent(&Method::DELETE, &["keys", "k"]));
        for (method, segments) in [
            (Method::POST, &["keys", "generate"][..]),
            (Method::POST, &["keys"][..]),
            (Method::POST, &["provision"][..]),
            (Method::POST, &["users"][..]),
            (Method::POST, &["system", "backup"][..]),
            (Method::PUT, &["keys", "k"][..]),
            (Method::PUT, &["users", "u"][..]),
            (Method::PUT, &["keys", "k", "cert"][..]),
            (Method::PUT, &["namespaces", "ns"][..]),
        ] {
            assert!(!is_idempotent(&method, segments), "{method} {segments:?}");
        }
    }
}

/// One request: what [`Transport::send_request`] sends.
pub(crate) struct Request<'a> {
    /// The operation name, for errors and logs.
    pub(crate) operation: &'static str,
    pub(crate) method: Method,
    /// Path segments under the API base, each percent-encoded.
    pub(crate) segments: &'a [&'a str],
    /// Query parameters, encoded.
    pub(crate) query: &'a [(&'a str, &'a str)],
    /// Content type and body.
    pub(crate) payload: Option<(Cow<'static, str>, Vec<u8>)>,
    /// Whether to send the credentials.
    pub(crate) authenticate: bool,
    /// Credentials for this request instead of the client's (`/cluster/force-new` wants the
    /// unlock passphrase as user `unlock`).
    pub(crate) credentials: Option<&'a Credentials>,
}

impl<'a> Request<'a> {
    /// An authenticated request with no body.
    pub(crate) fn new(operation: &'static str, method: Method, segments: &'a [&'a str]) -> Self {
        Self {
            operation,
            method,
            segments,
            query: &[],
            payload: None,
            authenticate: true,
            credentials: None,
        }
    }

    /// With a JSON body.
    pub(crate) fn json(mut self, body: &impl Serialize) -> Result<Self> {
        self.payload = Some((
            Cow::Borrowed("application/json"),
            to_json(self.operation, body)?,
        ));
        Ok(self)
    }

    /// With a body of another type.
    pub(crate) fn body(
        mut self,
        content_type: impl Into<Cow<'static, str>>,
        body: Vec<u8>,
    ) -> Self {
        self.payload = Some((content_type.into(), body));
        self
    }

    /// Without credentials.
    pub(crate) fn unauthenticated(mut self) -> Self {
        self.authenticate = false;
        self
    }

    /// With these credentials instead of the client's.
    pub(crate) fn credentials(mut self, credentials: &'a Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// With query parameters.
    pub(crate) fn query(mut self, query: &'a [(&'a str, &'a str)]) -> Self {
        self.query = query;
        self
    }
}

/// A complete answer.
pub(crate) struct Answer {
    status: StatusCode,
    content_type: Option<String>,
    body: Vec<u8>,
}

/// Why one attempt failed.
enum Fault {
    /// The request never reached the device (no connection): always safe to send elsewhere.
    NotSent(Error),
    /// Sent, but no complete answer came (timeout, reset, truncated body): the outcome is
    /// unknown.
    Unknown(Error),
    /// Not worth another attempt (an oversized answer, a local error).
    Fatal(Error),
}

/// The failure of a whole call; `outcome_unknown` when a non-idempotent request may or may
/// not have been carried out.
pub(crate) struct Failure {
    pub(crate) error: Error,
    pub(crate) outcome_unknown: bool,
}

impl From<Failure> for Error {
    fn from(f: Failure) -> Self {
        f.error
    }
}

impl Failure {
    fn known(error: Error) -> Self {
        Self {
            error,
            outcome_unknown: false,
        }
    }
}

impl Transport {
    /// The URL of `segments` under an instance's base; each segment is percent-encoded.
    fn url(base: &url::Url, segments: &[&str]) -> Result<url::Url> {
        let mut url = base.clone();
        {
            let mut path = url.path_segments_mut().map_err(|()| {
                Error::invalid_input("nethsm.url", "the base URL cannot have a path")
            })?;
            let _ = path.pop_if_empty();
            let _ = path.extend(segments);
        }
        Ok(url)
    }

    /// Sends a request whose answer has no body of interest.
    pub(crate) async fn no_answer(&self, request: Request<'_>) -> Result<()> {
        self.send_request(&request).await.map(drop)
    }

    /// Sends a request whose answer is text (PEM).
    pub(crate) async fn text(&self, request: Request<'_>) -> Result<String> {
        let operation = request.operation;
        String::from_utf8(self.send_request(&request).await?)
            .map_err(|e| Error::protocol(operation, "the answer is not UTF-8").with_source(e))
    }

    /// Sends a request with any body type and query, and returns the 2xx answer's body.
    pub(crate) async fn send_request(&self, request: &Request<'_>) -> Result<Vec<u8>> {
        self.call_request(request)
            .await
            .map(|a| a.body)
            .map_err(Error::from)
    }

    /// Sends a request with any body type and query, and decodes a JSON answer.
    pub(crate) async fn json_request<T: DeserializeOwned>(
        &self,
        request: &Request<'_>,
    ) -> Result<T> {
        self.json_call(request).await.map_err(Error::from)
    }

    /// [`Self::json_request`], keeping whether a failed non-idempotent call's outcome is
    /// unknown.
    pub(crate) async fn json_call<T: DeserializeOwned>(
        &self,
        request: &Request<'_>,
    ) -> std::result::Result<T, Failure> {
        let answer = self.call_request(request).await?;
        decode_json(request.operation, &answer).map_err(Failure::known)
    }

    pub(crate) async fn call_request(
        &self,
        request: &Request<'_>,
    ) -> std::result::Result<Answer, Failure> {
        let Request {
            operation,
            ref method,
            segments,
            ..
        } = *request;
        let cluster = &self.cluster;
        let policy = &cluster.policy;
        let idempotent = is_idempotent(method, segments);
        let n = cluster.instances.len();
        let max_attempts = policy
            .attempts
            .max(u32::try_from(n).unwrap_or(u32::MAX))
            .max(1);
        // The timeout is the whole call's budget: connection, answer, every retry, wait and
        // failover. See `attempt_limit` for each attempt's share.
        let deadline = tokio::time::Instant::now() + self.timeout;
        let mut tried: Vec<usize> = Vec::new();
        let mut attempts = 0u32;
        let mut throttled = 0u32;
        let mut repeats = 0u32;
        loop {
            let index = cluster
                .pick(&tried)
                .ok_or_else(|| Failure::known(Error::invalid_input(operation, "no instance")))?;
            let Some(instance) = cluster.instance(index) else {
                return Err(Failure::known(Error::invalid_input(
                    operation,
                    "no instance",
                )));
            };
            if tried.contains(&index) {
                // Back to an instance this call already tried: wait a little first.
                let delay = policy.retry_delay.saturating_mul(1u32 << repeats.min(10));
                repeats = repeats.saturating_add(1);
                sleep_within(delay, deadline).await;
            }
            let limit = attempt_limit(deadline, max_attempts.saturating_sub(attempts), idempotent);
            if limit.is_zero() {
                return Err(Failure::known(self.spent(operation, attempts)));
            }
            attempts += 1;
            let outcome = self.attempt(instance, request, limit).await;
            let last = attempts >= max_attempts || tokio::time::Instant::now() >= deadline;
            match outcome {
                // 304: a value set to what it already was (labels, tags).
                Ok(answer)
                    if answer.status.is_success() || answer.status == StatusCode::NOT_MODIFIED =>
                {
                    cluster.mark_up(index);
                    return Ok(answer);
                }
                Ok(answer) => {
                    let status = answer.status;
                    let error = status_error(operation, status, &answer.body);
                    match status.as_u16() {
                        // The failed-login throttle: the request was not carried out.
                        429 if throttled < policy.throttle_retries => {
                            throttled += 1;
                            attempts -= 1;
                            tracing::debug!(operation, "throttled (429): waiting");
                            if sleep_within(policy.throttle_delay, deadline).await {
                                return Err(Failure::known(error));
                            }
                        }
                        // Locked or unprovisioned: not carried out; another instance may be
                        // operational, this one is not retried.
                        412 => {
                            cluster.mark_down(index);
                            tried.push(index);
                            if last || tried.len() >= n {
                                return Err(Failure::known(error));
                            }
                        }
                        500..=599 => {
                            cluster.mark_down(index);
                            tried.push(index);
                            if !idempotent {
                                return Err(Failure {
                                    error,
                                    outcome_unknown: status != StatusCode::SERVICE_UNAVAILABLE,
                                });
                            }
                            if last {
                                return Err(Failure::known(error));
                            }
                        }
                        _ => {
                            cluster.mark_up(index);
                            return Err(Failure::known(error));
                        }
                    }
                }
                Err(Fault::NotSent(error)) => {
                    cluster.mark_down(index);
                    tried.push(index);
                    if last {
                        return Err(Failure::known(error));
                    }
                }
                Err(Fault::Unknown(error)) => {
                    cluster.mark_down(index);
                    tried.push(index);
                    if !idempotent {
                        return Err(Failure {
                            error,
                            outcome_unknown: true,
                        });
                    }
                    if last {
                        return Err(Failure::known(error));
                    }
                }
                Err(Fault::Fatal(error)) => return Err(Failure::known(error)),
            }
            tracing::debug!(operation, attempts, "retrying");
        }
    }

    /// The error of a call whose time budget ran out between attempts.
    fn spent(&self, operation: &'static str, attempts: u32) -> Error {
        Error::new(ErrorKind::Timeout, operation).with_message(format!(
            "the call's timeout of {} ms is spent ({attempts} attempts)",
            self.timeout.as_millis()
        ))
    }

    /// One request to one instance, bounded by `limit` (its share of the call's budget).
    async fn attempt(
        &self,
        instance: &Instance,
        call: &Request<'_>,
        limit: Duration,
    ) -> std::result::Result<Answer, Fault> {
        let operation = call.operation;
        let mut url = Self::url(&instance.base, call.segments).map_err(Fault::Fatal)?;
        if !call.query.is_empty() {
            let _ = url.query_pairs_mut().extend_pairs(call.query);
        }
        let mut request = instance.http.request(call.method.clone(), url);
        let credentials = call.credentials.or(self.credentials.as_ref());
        if let (true, Some(c)) = (call.authenticate, credentials) {
            request = request.basic_auth(&c.user, Some(c.passphrase.expose_secret()));
        }
        if let Some((content_type, body)) = &call.payload {
            request = request
                .header(reqwest::header::CONTENT_TYPE, content_type.as_ref())
                .body(body.clone());
        }
        let exchange = async {
            let response = request.send().await.map_err(|e| {
                let not_sent = e.is_connect();
                let error = transport_error(operation, e);
                if not_sent {
                    Fault::NotSent(error)
                } else {
                    Fault::Unknown(error)
                }
            })?;
            let status = response.status();
            let content_type = response
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let body = read_limited(operation, response).await?;
            tracing::trace!(
                operation,
                status = status.as_u16(),
                bytes = body.len(),
                "nethsm answer"
            );
            Ok(Answer {
                status,
                content_type,
                body,
            })
        };
        match tokio::time::timeout(limit, exchange).await {
            Ok(result) => result,
            Err(_) => Err(Fault::Unknown(
                Error::new(ErrorKind::Timeout, operation).with_message(format!(
                    "no complete answer within {} ms (this attempt's share of the call's {} ms)",
                    limit.as_millis(),
                    self.timeout.as_millis()
                )),
            )),
        }
    }
}

/// The time one attempt may take: an equal share of what is left of the call's budget for each
/// attempt still allowed (`remaining / attempts_left`), so a stalled instance costs only its
/// share and the call still fails over within its timeout. A request that is not idempotent is
/// never sent again after a timeout (its outcome is unknown), so its attempt gets all that is
/// left. Zero when the budget is spent.
fn attempt_limit(deadline: tokio::time::Instant, attempts_left: u32, idempotent: bool) -> Duration {
    let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
    if idempotent {
        remaining / attempts_left.max(1)
    } else {
        remaining
    }
}

/// Sleeps `delay`, but not past `deadline`; `true` when the deadline is reached.
async fn sleep_within(delay: Duration, deadline: tokio::time::Instant) -> bool {
    let wake = (tokio::time::Instant::now() + delay).min(deadline);
    tokio::time::sleep_until(wake).await;
    wake >= deadline
}

/// Decodes a 2xx JSON answer: the content type must be JSON and the body must parse.
fn decode_json<T: DeserializeOwned>(operation: &'static str, answer: &Answer) -> Result<T> {
    let is_json = answer.content_type.as_deref().is_some_and(|t| {
        t.split(';')
            .next()
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
    });
    if !is_json {
        return Err(Error::protocol(
            operation,
            format!(
                "the answer is {}, not application/json",
                answer.content_type.as_deref().unwrap_or("untyped")
            ),
        ));
    }
    serde_json::from_slice(&answer.body).map_err(|e| {
        Error::protocol(operation, "the answer is not the expected JSON").with_source(e)
    })
}

/// The JSON bytes of a request body.
fn to_json(operation: &'static str, body: &impl Serialize) -> Result<Vec<u8>> {
    serde_json::to_vec(body)
        .map_err(|e| Error::invalid_input(operation, "cannot encode the request").with_source(e))
}

async fn read_limited(
    operation: &'static str,
    mut response: reqwest::Response,
) -> std::result::Result<Vec<u8>, Fault> {
    let too_long = || {
        Fault::Fatal(Error::protocol(
            operation,
            format!("the answer is longer than {MAX_RESPONSE_BYTES} bytes"),
        ))
    };
    let announced = response.content_length().unwrap_or(0);
    if announced > MAX_RESPONSE_BYTES as u64 {
        return Err(too_long());
    }
    let mut body = Vec::with_capacity(usize::try_from(announced).unwrap_or(0));
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| Fault::Unknown(transport_error(operation, e)))?
    {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(too_long());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Maps a transport failure. The error never carries the URL's credentials: reqwest errors
/// name the URL, and ours has none (Basic auth travels in a sensitive header).
fn transport_error(operation: &'static str, e: reqwest::Error) -> Error {
    let kind = if e.is_timeout() {
        ErrorKind::Timeout
    } else if e.is_connect() || e.is_request() || e.is_body() {
        ErrorKind::Unavailable
    } else if e.is_decode() {
        ErrorKind::Protocol
    } else {
        ErrorKind::Unavailable
    };
    Error::new(kind, operation).with_source(e.without_url())
}

/// Maps an HTTP error status and the device's `{"message": ...}` body: the kind from hsm-core's
/// one table ([`ErrorKind::from_http_status`]: e.g. 500 is `Device`, 502/503 `Unavailable`,
/// 504 `Timeout`). Whether a status is retried or failed over is decided by the transport from
/// the status and the request's idempotency, not from the kind.
pub(crate) fn status_error(operation: &'static str, status: StatusCode, body: &[u8]) -> Error {
    let kind = ErrorKind::from_http_status(status.as_u16());
    let message = serde_json::from_slice::<ErrorBody>(body)
        .map(|b| b.message)
        .unwrap_or_else(|_| {
            let text = String::from_utf8_lossy(body);
            text.chars().take(200).collect()
        });
    let mut error = Error::new(kind, operation).with_status(DeviceStatus::Http(status.as_u16()));
    if !message.is_empty() {
        error = error.with_message(message);
    }
    error
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_kinds_with_the_device_message() {
        let e = status_error(
            "nethsm.sign",
            StatusCode::NOT_FOUND,
            br#"{"message":"no such key"}"#,
        );
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert_eq!(e.status(), Some(&DeviceStatus::Http(404)));
        assert_eq!(e.message(), Some("no such key"));
        assert!(status_error("x", StatusCode::TOO_MANY_REQUESTS, b"").is_retryable());
        assert!(status_error("x", StatusCode::SERVICE_UNAVAILABLE, b"").is_retryable());
        assert_eq!(
            status_error("x", StatusCode::PRECONDITION_FAILED, b"").kind(),
            ErrorKind::InvalidState
        );
        assert_eq!(
            status_error("x", StatusCode::CONFLICT, b"").kind(),
            ErrorKind::AlreadyExists
        );
        // hsm-core's one table: an internal error is the device's, a gateway's answers are
        // unavailability and timeout.
        for (status, kind) in [
            (500, ErrorKind::Device),
            (502, ErrorKind::Unavailable),
            (503, ErrorKind::Unavailable),
            (504, ErrorKind::Timeout),
            (422, ErrorKind::InvalidInput),
            (423, ErrorKind::InvalidState),
            (429, ErrorKind::Unavailable),
        ] {
            let status = StatusCode::from_u16(status).unwrap();
            assert_eq!(status_error("x", status, b"").kind(), kind, "{status}");
        }
        let long = vec![b'a'; 10_000];
        let e = status_error("x", StatusCode::IM_A_TEAPOT, &long);
        assert!(e.message().is_some_and(|m| m.len() == 200));
    }
}
