//! Reading an N200 answer: the body to a JSON object, or to an [`hsm_core::Error`] whose kind
//! comes from the one table in [`crate::protocol::errors`], with the device's text (masked,
//! bounded) as its message and the raw body as its [`RawResponse`] source.

use hsm_core::{DeviceStatus, Error, Result};
use serde_json::Value;

use crate::protocol::errors::answer_kind;
use crate::protocol::model::Object;
use crate::protocol::raw::{RawResponse, mask};

/// The longest device error text put in an error's message (bytes); the whole body, up to
/// 4 KiB, stays in the [`RawResponse`] source.
const MAX_MESSAGE: usize = 256;

/// `text` cut to [`MAX_MESSAGE`] bytes (on a character boundary), with `...` when cut.
fn bounded(text: &str) -> String {
    if text.len() <= MAX_MESSAGE {
        return text.to_owned();
    }
    let mut cut = MAX_MESSAGE;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}...", text.get(..cut).unwrap_or_default())
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

/// Parses an N200 answer body: a JSON object (whatever the content type says: the device's
/// is not public), or `None`.
fn parse_object(body: &[u8]) -> Option<Object> {
    serde_json::from_slice(body).ok()
}

/// An answer to a JSON object or an error (see [`crate::protocol::parse::answer`]); `secrets` are masked
/// in the raw body kept.
pub(crate) fn interpret_body(
    op: &str,
    status: u16,
    content_type: Option<&str>,
    body: &[u8],
    secrets: &[&str],
) -> Result<Object> {
    let text = String::from_utf8_lossy(body);
    let raw = || RawResponse::new(status, &text, secrets);
    let parsed = parse_object(body);
    let device_text = parsed
        .as_ref()
        .and_then(error_text)
        .map(|t| bounded(&mask(&t, secrets)));
    if !(200..300).contains(&status) {
        return Err(
            Error::new(answer_kind(status, device_text.as_deref()), op.to_owned())
                .with_status(DeviceStatus::Http(status))
                .with_message(device_text.unwrap_or_else(|| "the N200 refused the request".into()))
                .with_source(raw()),
        );
    }
    let Some(object) = parsed else {
        let content_type = content_type.unwrap_or("none");
        return Err(Error::protocol(
            op.to_owned(),
            format!("the answer is not a JSON object (content type {content_type})"),
        )
        .with_status(DeviceStatus::Http(status))
        .with_source(raw()));
    };
    if let Some(text) = device_text {
        return Err(Error::new(answer_kind(status, Some(&text)), op.to_owned())
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

/// A complete answer as the transport read it (at most
/// [`MAX_RESPONSE_BYTES`](crate::MAX_RESPONSE_BYTES) long).
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) content_type: Option<String>,
    pub(crate) body: Vec<u8>,
}

impl Answer {
    /// The answer to a JSON object or an error, as [`interpret_body`].
    pub(crate) fn interpret(&self, op: &str, secrets: &[&str]) -> Result<Object> {
        interpret_body(
            op,
            self.status,
            self.content_type.as_deref(),
            &self.body,
            secrets,
        )
    }
}

#[cfg(test)]
mod tests {
    use hsm_core::ErrorKind;

    use super::*;
    use crate::protocol::errors::text_kind;

    fn interpret(op: &str, answer: &Answer, secrets: &[&str]) -> Result<Object> {
        answer.interpret(op, secrets)
    }

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status,
            content_type: Some("application/json".into()),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn statuses_and_texts() {
        let e = interpret("n200.x", &answer(404, r#"{"error":"key not found"}"#), &[])
            .expect_err("404");
        assert_eq!(e.kind(), ErrorKind::NotFound);
        // A device text that is not documented says nothing: the status decides.
        let e = interpret(
            "n200.x",
            &answer(400, r#"{"result":"ERROR: key exists"}"#),
            &[],
        )
        .expect_err("400");
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        let e = interpret(
            "n200.x",
            &answer(200, r#"{"result":"error: wrong PIN 12345678"}"#),
            &["12345678"],
        )
        .expect_err("error in a 200");
        assert_eq!(e.kind(), ErrorKind::Device);
        assert!(e.to_string().contains("wrong PIN ***"), "{e}");
        assert!(!e.to_string().contains("12345678"), "{e}");
        let raw = std::error::Error::source(&e)
            .and_then(|s| s.downcast_ref::<RawResponse>())
            .expect("raw body kept");
        assert!(raw.body().contains("wrong PIN ***"));
        let mut html = answer(200, "<html>");
        html.content_type = Some("text/html".into());
        let e = interpret("n200.x", &html, &[]).expect_err("not JSON");
        assert_eq!(e.kind(), ErrorKind::Protocol);
        assert!(e.to_string().contains("text/html"), "{e}");
        assert!(interpret("n200.x", &answer(200, r#"{"result":"1664657599"}"#), &[]).is_ok());
    }

    /// Device texts: the documented phrase and its spellings, the two counter-examples of the
    /// old substring guessing ("key does not exist" was AlreadyExists, "mapping" contains
    /// "pin"), and near-misses that contain a telling word but are not a documented phrase.
    #[test]
    fn only_whole_documented_phrases_choose_a_kind() {
        let denied = ErrorKind::PermissionDenied;
        let device = ErrorKind::Device;
        let table: &[(&str, ErrorKind)] = &[
            ("access denied", denied),
            ("Access denied", denied),
            ("  ACCESS DENIED.  ", denied),
            ("key does not exist", device),
            ("mapping", device),
            ("key mapping failed", device),
            ("access denied for key k01", device),
            ("no access denied", device),
            ("accessdenied", device),
            ("access  denied", device),
            ("exists", device),
            ("a key named k01 already exists", device),
            ("key not found", device),
            ("wrong pin", device),
            ("PIN", device),
            ("pinned", device),
            ("authentication failed", device),
            ("password", device),
            ("permission denied", device),
            ("denied", device),
            ("", device),
        ];
        for (text, kind) in table {
            assert_eq!(text_kind(text), *kind, "{text:?}");
            // In a 200 answer: the text decides (Device unless documented).
            let body = serde_json::json!({"result": "ERROR", "error": text}).to_string();
            let e = interpret("n200.x", &answer(200, &body), &[]).expect_err("error text");
            assert_eq!(e.kind(), *kind, "200 {text:?}");
            assert_eq!(e.status(), Some(&DeviceStatus::Http(200)));
            // A generic 400 or 500: a documented text refines it, any other leaves the status.
            for (status, by_status) in [(400, ErrorKind::InvalidInput), (500, device)] {
                let e = interpret("n200.x", &answer(status, &body), &[]).expect_err("status");
                let expected = if *kind == device { by_status } else { *kind };
                assert_eq!(e.kind(), expected, "{status} {text:?}");
            }
            // A specific status is never overridden by a text.
            let e = interpret("n200.x", &answer(404, &body), &[]).expect_err("404");
            assert_eq!(e.kind(), ErrorKind::NotFound, "404 {text:?}");
        }
    }

    #[test]
    fn an_unknown_text_is_kept_masked_and_bounded() {
        let long = format!("mapping of pin 87654321 failed {}", "é".repeat(400));
        let body = serde_json::json!({"result": "ERROR", "error": long}).to_string();
        let e = interpret("n200.x", &answer(200, &body), &["87654321"]).expect_err("error");
        assert_eq!(e.kind(), ErrorKind::Device);
        let message = e.message().expect("the text is kept");
        assert!(
            message.starts_with("mapping of pin *** failed é"),
            "{message}"
        );
        assert!(message.ends_with("..."), "{message}");
        assert!(message.len() <= MAX_MESSAGE + 3, "{}", message.len());
        assert!(!e.to_string().contains("87654321"), "{e}");
        let raw = std::error::Error::source(&e)
            .and_then(|s| s.downcast_ref::<RawResponse>())
            .expect("raw body kept");
        assert!(!raw.body().contains("87654321"));
    }
}
