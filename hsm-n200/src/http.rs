//! One HTTP exchange with the N200: building the POST form or GET path from the command table,
//! sending it on the shared keep-alive client, retrying idempotent commands on transport
//! failures, and turning the answer into a JSON object or an [`hsm_core::Error`].
//!
//! Logging: a `debug` span per command with the command and core only; the form and the GET path
//! at `trace` with every secret field masked; never the URL (the GET API carries the PIN in its
//! path), never the `Authorization` header.

use std::time::Duration;

use hsm_core::secret::{ExposeSecret as _, SecretString};
use hsm_core::{DeviceStatus, Error, ErrorKind, Result};
use serde_json::Value;
use tracing::Instrument as _;
use url::Url;
use zeroize::Zeroizing;

use crate::commands::{Command, CommandTable, Field};
use crate::model::Object;
use crate::raw::{RawResponse, mask};

/// A field value for one request. Secret values are zeroized when dropped.
pub(crate) type Value_ = Zeroizing<String>;

/// The connection to one N200: the keep-alive HTTP client and the credentials.
pub(crate) struct Transport {
    pub(crate) http: reqwest::Client,
    /// `https://host:port/n200/`.
    pub(crate) base: Url,
    pub(crate) user: String,
    pub(crate) password: SecretString,
    pub(crate) table: CommandTable,
    pub(crate) retries: u32,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("base", &self.base.as_str())
            .field("user", &self.user)
            .field("password", &"[REDACTED]")
            .field("retries", &self.retries)
            .finish_non_exhaustive()
    }
}

/// Values of one request, by field.
pub(crate) struct Fields(Vec<(Field, Value_)>);

impl Fields {
    pub(crate) fn new() -> Self {
        Self(Vec::new())
    }

    /// Adds a value. An empty PIN is left out (the device may store the key PIN itself).
    pub(crate) fn with(mut self, field: Field, value: impl Into<String>) -> Self {
        let value = Zeroizing::new(value.into());
        if !(field == Field::Pin && value.is_empty()) {
            self.0.push((field, value));
        }
        self
    }

    fn get(&self, field: Field) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, v)| v.as_str())
    }

    fn secrets(&self) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(f, v)| f.is_secret() && v.len() >= 4)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

impl Transport {
    fn operation(command: Command) -> String {
        format!("n200.{command}")
    }

    /// Sends `command` as a POST v1 form and returns the JSON answer.
    pub(crate) async fn post(&self, command: Command, fields: &Fields) -> Result<Object> {
        let spec = self.table.spec(command);
        let mut shown = vec![format!("command={}", spec.name())];
        let body = {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            let _ = form.append_pair("command", spec.name());
            for (field, wire) in spec.fields() {
                if let Some(value) = fields.get(*field) {
                    let _ = form.append_pair(wire, value);
                    shown.push(if field.is_secret() {
                        format!("{wire}=***")
                    } else {
                        format!("{wire}={value}")
                    });
                }
            }
            Zeroizing::new(form.finish())
        };
        let core = fields.get(Field::Core).unwrap_or("-").to_owned();
        let url = self.base.join("web/postv1").map_err(|e| {
            Error::new(ErrorKind::InvalidInput, Self::operation(command)).with_source(e)
        })?;
        let span = tracing::debug_span!("n200.post", command = %command, core = %core);
        async {
            tracing::trace!(form = %shown.join("&"), "request");
            self.exchange(command, fields, || {
                self.http
                    .post(url.clone())
                    .basic_auth(&self.user, Some(self.password.expose_secret()))
                    .header(
                        reqwest::header::CONTENT_TYPE,
                        "application/x-www-form-urlencoded",
                    )
                    .body(body.as_str().to_owned())
            })
            .await
        }
        .instrument(span)
        .await
    }

    /// Sends `command` in its GET form `/n200/<name>/<args>/` (with `?core=N` when `core` is
    /// given) and returns the JSON answer.
    pub(crate) async fn get(
        &self,
        command: Command,
        fields: &Fields,
        core: Option<u8>,
    ) -> Result<Object> {
        let spec = self.table.spec(command);
        let Some(args) = spec.get_args() else {
            return Err(Error::unsupported(
                Self::operation(command),
                "this command has no GET form in the command table",
            ));
        };
        let mut url = self.base.clone();
        let mut shown = vec![spec.name().to_owned()];
        {
            let mut segments = url.path_segments_mut().map_err(|()| {
                Error::new(ErrorKind::InvalidInput, Self::operation(command))
                    .with_message("the base URL cannot take a path")
            })?;
            let _ = segments.pop_if_empty().push(spec.name());
            for field in args {
                let value = fields.get(*field).ok_or_else(|| {
                    Error::invalid_input(Self::operation(command), format!("missing {field:?}"))
                })?;
                let _ = segments.push(value);
                shown.push(if field.is_secret() {
                    "***".to_owned()
                } else {
                    value.to_owned()
                });
            }
            let _ = segments.push("");
        }
        if let Some(core) = core {
            let _ = url.query_pairs_mut().append_pair("core", &core.to_string());
        }
        let url = Zeroizing::new(String::from(url));
        let span = tracing::debug_span!("n200.get", command = %command);
        async {
            tracing::trace!(path = %format!("/n200/{}/", shown.join("/")), "request");
            self.exchange(command, fields, || {
                self.http
                    .get(url.as_str())
                    .basic_auth(&self.user, Some(self.password.expose_secret()))
            })
            .await
        }
        .instrument(span)
        .await
    }

    /// Sends the request `build` makes, retrying transport failures of idempotent commands.
    async fn exchange(
        &self,
        command: Command,
        fields: &Fields,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<Object> {
        let attempts = if command.is_idempotent() {
            self.retries.saturating_add(1)
        } else {
            1
        };
        let mut delay = Duration::from_millis(50);
        let mut attempt = 1;
        loop {
            match self.once(command, fields, build()).await {
                Err(e) if e.is_retryable() && attempt < attempts => {
                    tracing::debug!(attempt, error = %e, "retrying");
                    tokio::time::sleep(delay).await;
                    delay = delay.saturating_mul(2);
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn once(
        &self,
        command: Command,
        fields: &Fields,
        request: reqwest::RequestBuilder,
    ) -> Result<Object> {
        let op = Self::operation(command);
        let response = request.send().await.map_err(|e| transport_error(&op, e))?;
        let status = response.status().as_u16();
        let body = response.text().await.map_err(|e| transport_error(&op, e))?;
        let mut secrets = fields.secrets();
        secrets.push(self.password.expose_secret());
        tracing::trace!(status, body = %mask(&body, &secrets), "answer");
        interpret(&op, status, &body, &secrets)
    }
}

fn transport_error(op: &str, e: reqwest::Error) -> Error {
    let kind = if e.is_timeout() {
        ErrorKind::Timeout
    } else {
        ErrorKind::Unavailable
    };
    // The URL may carry a PIN (GET API): drop it from the cause.
    Error::new(kind, op.to_owned())
        .with_message("no answer from the N200")
        .with_source(e.without_url())
}

/// Maps an HTTP status to a kind. The N200's error statuses are not public; these are the usual
/// meanings.
fn status_kind(status: u16) -> ErrorKind {
    match status {
        400 | 422 => ErrorKind::InvalidInput,
        401 => ErrorKind::AuthenticationFailed { retries_left: None },
        403 => ErrorKind::PermissionDenied,
        404 => ErrorKind::NotFound,
        409 => ErrorKind::AlreadyExists,
        408 | 504 => ErrorKind::Timeout,
        429 | 502 | 503 => ErrorKind::Unavailable,
        _ => ErrorKind::Device,
    }
}

/// Guesses a kind from a device error text.
fn text_kind(text: &str) -> ErrorKind {
    let t = text.to_ascii_lowercase();
    if t.contains("not found") || t.contains("unknown key") || t.contains("no such") {
        ErrorKind::NotFound
    } else if t.contains("exist") {
        ErrorKind::AlreadyExists
    } else if t.contains("pin") || t.contains("password") || t.contains("auth") {
        ErrorKind::AuthenticationFailed { retries_left: None }
    } else if t.contains("denied") || t.contains("permission") {
        ErrorKind::PermissionDenied
    } else {
        ErrorKind::Device
    }
}

/// The device's error text, if the body says it failed: an `error` field, or a `result` that
/// starts with `error`/`fail`.
fn error_text(object: &Object) -> Option<String> {
    if let Some(e) = object.get("error").filter(|v| !v.is_null()) {
        return Some(match e {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        });
    }
    match object.get("result") {
        Some(Value::String(s)) => {
            let lower = s.to_ascii_lowercase();
            (lower.starts_with("error") || lower.starts_with("fail")).then(|| s.clone())
        }
        _ => None,
    }
}

fn interpret(op: &str, status: u16, body: &str, secrets: &[&str]) -> Result<Object> {
    let raw = || RawResponse::new(status, body, secrets);
    let parsed: Option<Object> = serde_json::from_str(body).ok();
    let device_text = parsed
        .as_ref()
        .and_then(error_text)
        .map(|t| mask(&t, secrets));
    if !(200..300).contains(&status) {
        let kind = match (status, &device_text) {
            // A generic status with a telling text: trust the text.
            (400 | 500, Some(t)) if text_kind(t) != ErrorKind::Device => text_kind(t),
            _ => status_kind(status),
        };
        return Err(Error::new(kind, op.to_owned())
            .with_status(DeviceStatus::Http(status))
            .with_message(device_text.unwrap_or_else(|| "the N200 refused the request".into()))
            .with_source(raw()));
    }
    let Some(object) = parsed else {
        return Err(
            Error::protocol(op.to_owned(), "the answer is not a JSON object")
                .with_status(DeviceStatus::Http(status))
                .with_source(raw()),
        );
    };
    if let Some(text) = device_text {
        return Err(Error::new(text_kind(&text), op.to_owned())
            .with_status(DeviceStatus::Http(status))
            .with_message(text)
            .with_source(raw()));
    }
    Ok(object)
}

/// The error for an answer that lacks the field the command is for.
pub(crate) fn missing(op: &str, what: &str, object: &Object, secrets: &[&str]) -> Error {
    Error::protocol(op.to_owned(), format!("the answer has no usable `{what}`")).with_source(
        RawResponse::new(200, &Value::Object(object.clone()).to_string(), secrets),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_texts() {
        let e = interpret("n200.x", 404, r#"{"error":"key not found"}"#, &[]).expect_err("404");
        assert_eq!(e.kind(), ErrorKind::NotFound);
        let e =
            interpret("n200.x", 400, r#"{"result":"ERROR: key exists"}"#, &[]).expect_err("400");
        assert_eq!(e.kind(), ErrorKind::AlreadyExists);
        let e = interpret(
            "n200.x",
            200,
            r#"{"result":"error: wrong PIN 12345678"}"#,
            &["12345678"],
        )
        .expect_err("error in a 200");
        assert!(e.is_auth());
        assert!(!e.to_string().contains("12345678"), "{e}");
        let raw = std::error::Error::source(&e)
            .and_then(|s| s.downcast_ref::<RawResponse>())
            .expect("raw body kept");
        assert!(raw.body().contains("wrong PIN ***"));
        let e = interpret("n200.x", 200, "<html>", &[]).expect_err("not JSON");
        assert_eq!(e.kind(), ErrorKind::Protocol);
        assert!(interpret("n200.x", 200, r#"{"result":"1664657599"}"#, &[]).is_ok());
        assert_eq!(status_kind(503), ErrorKind::Unavailable);
    }
}
