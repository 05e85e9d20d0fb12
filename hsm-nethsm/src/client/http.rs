//! One request: URL from path segments, Basic auth, status codes mapped to error kinds.

use hsm_core::{DeviceStatus, Error, ErrorKind, Result};
use reqwest::{Method, StatusCode};
use secrecy::ExposeSecret as _;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::NetHsmClient;
use super::model::ErrorBody;

/// The largest response body read (bytes); a longer one is a protocol error.
pub(crate) const MAX_RESPONSE_BYTES: usize = 8 << 20;

impl NetHsmClient {
    /// The URL of `segments` under the API base; each segment is percent-encoded.
    fn url(&self, segments: &[&str]) -> Result<url::Url> {
        let mut url = self.inner.base.clone();
        {
            let mut path = url.path_segments_mut().map_err(|()| {
                Error::invalid_input("nethsm.url", "the base URL cannot have a path")
            })?;
            let _ = path.pop_if_empty();
            let _ = path.extend(segments);
        }
        Ok(url)
    }

    /// Sends a request and returns the body of a 2xx answer.
    pub(crate) async fn send(
        &self,
        operation: &'static str,
        method: Method,
        segments: &[&str],
        body: Option<&(dyn ErasedBody + Sync)>,
        authenticate: bool,
    ) -> Result<Vec<u8>> {
        let url = self.url(segments)?;
        let mut request = self.inner.http.request(method, url);
        if let (true, Some(c)) = (authenticate, &self.inner.credentials) {
            request = request.basic_auth(&c.user, Some(c.passphrase.expose_secret()));
        }
        if let Some(body) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_json(operation)?);
        }
        let response = request
            .send()
            .await
            .map_err(|e| transport_error(operation, e))?;
        let status = response.status();
        let bytes = read_limited(operation, response).await?;
        if status.is_success() {
            tracing::trace!(
                operation,
                status = status.as_u16(),
                bytes = bytes.len(),
                "nethsm answer"
            );
            Ok(bytes)
        } else {
            Err(status_error(operation, status, &bytes))
        }
    }

    /// Sends a request and decodes a JSON answer.
    pub(crate) async fn json<T: DeserializeOwned>(
        &self,
        operation: &'static str,
        method: Method,
        segments: &[&str],
        body: Option<&(dyn ErasedBody + Sync)>,
        authenticate: bool,
    ) -> Result<T> {
        let bytes = self
            .send(operation, method, segments, body, authenticate)
            .await?;
        serde_json::from_slice(&bytes).map_err(|e| {
            Error::protocol(operation, "the answer is not the expected JSON").with_source(e)
        })
    }
}

/// A request body, type-erased so requests of every type share one code path.
pub(crate) trait ErasedBody {
    /// The JSON bytes.
    fn to_json(&self, operation: &'static str) -> Result<Vec<u8>>;
}

impl<T: Serialize> ErasedBody for T {
    fn to_json(&self, operation: &'static str) -> Result<Vec<u8>> {
        serde_json::to_vec(self).map_err(|e| {
            Error::invalid_input(operation, "cannot encode the request").with_source(e)
        })
    }
}

async fn read_limited(operation: &'static str, mut response: reqwest::Response) -> Result<Vec<u8>> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| transport_error(operation, e))?
    {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(Error::protocol(
                operation,
                format!("the answer is longer than {MAX_RESPONSE_BYTES} bytes"),
            ));
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

/// Maps an HTTP error status and the device's `{"message": ...}` body.
pub(crate) fn status_error(operation: &'static str, status: StatusCode, body: &[u8]) -> Error {
    let kind = match status.as_u16() {
        400 | 413 | 414 => ErrorKind::InvalidInput,
        401 => ErrorKind::AuthenticationFailed { retries_left: None },
        403 => ErrorKind::PermissionDenied,
        404 => ErrorKind::NotFound,
        405 | 501 => ErrorKind::Unsupported,
        409 => ErrorKind::AlreadyExists,
        412 => ErrorKind::InvalidState,
        406 | 415 => ErrorKind::Protocol,
        429 | 500..=599 => ErrorKind::Unavailable,
        _ => ErrorKind::Device,
    };
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
        let long = vec![b'a'; 10_000];
        let e = status_error("x", StatusCode::IM_A_TEAPOT, &long);
        assert!(e.message().is_some_and(|m| m.len() == 200));
    }
}
