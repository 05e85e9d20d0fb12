//! One request of the NetHSM client, sent through `hsm-http`: path segments, query, body,
//! Basic auth, the NetHSM's idempotency rule, the JSON and `{"message"}` decoding; the
//! retry, failover, time-budget and body-cap policy is `hsm-http`'s.

use std::borrow::Cow;

use hsm_core::{DeviceStatus, Error, ErrorKind, Result};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::protocol::ErrorBody;

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
    content_type: Option<String>,
    body: Vec<u8>,
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

    /// Sends `request` through `hsm-http` (its retry, failover and time-budget policy, the
    /// crate README's fault table), with the device's `{"message"}` in the error of a refused
    /// request.
    pub(crate) async fn call_request(
        &self,
        request: &Request<'_>,
    ) -> std::result::Result<Answer, Failure> {
        let operation = request.operation;
        let credentials = request.credentials.or(self.credentials.as_ref());
        let auth = match (request.authenticate, credentials) {
            (true, Some(c)) => Some(c.clone()),
            _ => None,
        };
        let mut call = hsm_http::Request::new(
            operation,
            request.method.clone(),
            request.segments.iter().copied(),
        )
        .query(request.query.iter().copied())
        .basic_auth(auth)
        .idempotent(is_idempotent(&request.method, request.segments))
        .budget(self.timeout);
        if let Some((content_type, body)) = &request.payload {
            call = call.body(content_type.clone(), body.clone());
        }
        let outcome = self.cluster.http.call(&call).await;
        if let Some(answer) = outcome.as_ref().map_or_else(|f| f.answer.as_ref(), Some) {
            tracing::trace!(
                operation,
                status = answer.status(),
                bytes = answer.body().len(),
                "nethsm answer"
            );
        }
        match outcome {
            Ok(answer) => Ok(Answer {
                content_type: answer.content_type().map(str::to_owned),
                body: answer.into_body(),
            }),
            Err(failure) => {
                let error = match &failure.answer {
                    Some(answer) => match StatusCode::from_u16(answer.status()) {
                        Ok(status) => status_error(operation, status, answer.body()),
                        Err(_) => failure.error,
                    },
                    None => failure.error,
                };
                Err(Failure {
                    error,
                    outcome_unknown: failure.outcome_unknown,
                })
            }
        }
    }
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
