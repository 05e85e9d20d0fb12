//! The forms a secret could leak in, and the assertion that none shows.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// The strings that must never appear in a log, an error or a `Debug` output.
///
/// Each secret is added in the forms it could leak in; [`assert_absent`](Self::assert_absent)
/// then searches a text for every one of them.
#[derive(Clone, Debug, Default)]
pub struct Secrets {
    needles: Vec<String>,
}

impl Secrets {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// A secret as the text itself (a password, a PIN, a PEM line...). The text must not be
    /// empty: an empty needle is found in every text.
    pub fn text(&mut self, secret: impl Into<String>) -> &mut Self {
        self.needles.push(secret.into());
        self
    }

    /// Secret bytes in every form a log or `Debug` output might show them: lowercase and
    /// uppercase hex, standard base64, a `Debug` byte list without its brackets
    /// (`90, 195, 113`), and the bytes as text if they are UTF-8.
    pub fn bytes(&mut self, secret: &[u8]) -> &mut Self {
        self.needles.push(hex::encode(secret));
        self.needles.push(hex::encode_upper(secret));
        self.needles.push(STANDARD.encode(secret));
        self.needles
            .push(format!("{secret:?}").trim_matches(['[', ']']).to_owned());
        if let Ok(text) = std::str::from_utf8(secret) {
            self.needles.push(text.to_owned());
        }
        self
    }

    /// The password as text and the value of an HTTP Basic `Authorization` header for this
    /// user and password (base64 of `user:password`).
    pub fn basic_auth(&mut self, user: &str, password: &str) -> &mut Self {
        self.needles.push(password.to_owned());
        self.needles
            .push(STANDARD.encode(format!("{user}:{password}")));
        self
    }

    /// Every string searched for.
    pub fn needles(&self) -> &[String] {
        &self.needles
    }

    /// Asserts that no needle occurs in `haystack`; `what` names the text in the failure.
    ///
    /// # Panics
    ///
    /// If a needle occurs, naming it and showing the text.
    #[track_caller]
    pub fn assert_absent(&self, what: &str, haystack: &str) {
        assert_no_secret(what, haystack, &self.needles);
    }
}

/// Asserts that none of `needles` occurs in `haystack`; `what` names the text in the failure.
///
/// # Panics
///
/// If a needle occurs, naming it and showing the text.
#[track_caller]
pub fn assert_no_secret(what: &str, haystack: &str, needles: &[impl AsRef<str>]) {
    for needle in needles {
        let needle = needle.as_ref();
        assert!(
            !haystack.contains(needle),
            "{what} shows the secret `{needle}`:\n{haystack}"
        );
    }
}

/// An error's `Display` and `Debug`, then those of each error in its source chain, separated by
/// ` | `: the text a caller could print or log.
pub fn error_text(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = format!("{error} | {error:?}");
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(" | {cause} | {cause:?}"));
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::{Secrets, assert_no_secret, error_text};

    #[test]
    fn bytes_cover_hex_base64_debug_and_text() {
        let mut secrets = Secrets::new();
        let _ = secrets.bytes(b"PIN\x5a\xc3");
        let needles = secrets.needles();
        for form in [
            "50494e5ac3",
            "50494E5AC3",
            "UElOWsM=",
            "80, 73, 78, 90, 195",
        ] {
            assert!(needles.iter().any(|n| n == form), "{form} in {needles:?}");
        }
        assert_eq!(needles.len(), 4, "not UTF-8: no text form");
        let _ = secrets.bytes(b"918273");
        assert!(secrets.needles().iter().any(|n| n == "918273"));
    }

    #[test]
    fn basic_auth_covers_the_password_and_the_header_value() {
        let mut secrets = Secrets::new();
        let _ = secrets.basic_auth("admin", "pw");
        assert_eq!(secrets.needles(), ["pw", "YWRtaW46cHc="]);
    }

    #[test]
    fn absent_needles_pass_and_a_present_one_fails() {
        let mut secrets = Secrets::new();
        let _ = secrets.text("Sup3r").bytes(&[0xAB, 0xCD]);
        secrets.assert_absent("clean", "nothing to see, pin=***");
        for leak in ["x Sup3r y", "apdu=00ABCD", "[171, 205]", "q80="] {
            let caught = std::panic::catch_unwind(|| secrets.assert_absent("log", leak));
            assert!(caught.is_err(), "{leak} was not caught");
        }
        assert_no_secret("log", "abc", &["x", "y"]);
        assert!(std::panic::catch_unwind(|| assert_no_secret("log", "abc", &["b"])).is_err());
    }

    #[test]
    fn error_text_walks_the_source_chain() {
        let inner = std::io::Error::other("the inner cause");
        let outer = crate::Error::new(crate::ErrorKind::NotFound, "test.op").with_source(inner);
        let text = error_text(&outer);
        assert!(text.contains("the inner cause"), "{text}");
        assert!(text.matches(" | ").count() >= 3, "{text}");
    }
}
