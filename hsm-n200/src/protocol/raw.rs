//! The device's answer as it came, kept in errors so that a user with a real N200 can report an
//! answer this crate did not understand.

use std::fmt;

/// The HTTP status and body of an N200 answer that this crate could not use. It is the
/// [`source`](std::error::Error::source) of the [`hsm_core::Error`] returned; reach it with
/// `error.source().and_then(|s| s.downcast_ref::<RawResponse>())`.
///
/// Any credential the request carried (password, PIN, imported key) is masked in the body
/// before it is stored here, in case the device echoes it.
#[derive(Clone, PartialEq, Eq)]
pub struct RawResponse {
    status: u16,
    body: String,
}

/// The longest body kept (bytes); longer bodies are cut.
const MAX_KEPT: usize = 4096;

impl RawResponse {
    pub(crate) fn new(status: u16, body: &str, secrets: &[&str]) -> Self {
        let mut body = mask(body, secrets);
        if body.len() > MAX_KEPT {
            let mut cut = MAX_KEPT;
            while !body.is_char_boundary(cut) {
                cut -= 1;
            }
            body.truncate(cut);
            body.push_str("...");
        }
        Self { status, body }
    }

    /// The HTTP status code.
    #[must_use]
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The body (at most 4 KiB, credentials masked).
    #[must_use]
    pub fn body(&self) -> &str {
        &self.body
    }
}

/// Replaces every occurrence of a secret in `text` with `***`.
pub(crate) fn mask(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_owned();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        if out.contains(secret) {
            out = out.replace(secret, "***");
        }
    }
    out
}

impl fmt::Debug for RawResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawResponse")
            .field("status", &self.status)
            .field("body", &self.body)
            .finish()
    }
}

impl fmt::Display for RawResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {}: {}", self.status, self.body)
    }
}

impl std::error::Error for RawResponse {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_and_cuts() {
        let r = RawResponse::new(400, r#"{"pin":"12345678","e":"bad"}"#, &["12345678", ""]);
        assert_eq!(r.body(), r#"{"pin":"***","e":"bad"}"#);
        let long = "é".repeat(5000);
        let r = RawResponse::new(500, &long, &[]);
        assert!(r.body().len() <= MAX_KEPT + 3);
        assert!(r.body().ends_with("..."));
    }
}
