//! What a call gives back: a complete [`Answer`], or a [`Failure`] built from the attempts'
//! [`Fault`]s.

use std::fmt;

use hsm_core::{DeviceStatus, Error, ErrorKind};

/// A complete answer: its status, content type and body (at most the client's body cap).
///
/// `Debug` shows the status, the content type and the body's length, never the body.
#[derive(Clone, PartialEq, Eq)]
pub struct Answer {
    pub(crate) status: u16,
    pub(crate) content_type: Option<String>,
    pub(crate) body: Vec<u8>,
}

impl Answer {
    /// An answer (for backends' own tests and parsers).
    #[must_use]
    pub fn new(status: u16, content_type: Option<String>, body: Vec<u8>) -> Self {
        Self {
            status,
            content_type,
            body,
        }
    }

    /// The HTTP status.
    #[must_use]
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Whether the status is `2xx` or `304`.
    #[must_use]
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status) || self.status == 304
    }

    /// The `Content-Type` header, if any and if it is text.
    #[must_use]
    pub fn content_type(&self) -> Option<&str> {
        self.content_type.as_deref()
    }

    /// Whether the content type's media type is `media` (ignoring case and parameters).
    #[must_use]
    pub fn has_media_type(&self, media: &str) -> bool {
        self.content_type.as_deref().is_some_and(|t| {
            t.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case(media))
        })
    }

    /// The body.
    #[must_use]
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The body, owned.
    #[must_use]
    pub fn into_body(self) -> Vec<u8> {
        self.body
    }

    /// The error hsm-core's one table gives this answer's status
    /// ([`ErrorKind::from_http_status`]), with the status and no message: a backend adds the
    /// device's text, if it has a documented one.
    #[must_use]
    pub fn status_error(&self, operation: impl Into<std::borrow::Cow<'static, str>>) -> Error {
        Error::new(ErrorKind::from_http_status(self.status), operation)
            .with_status(DeviceStatus::Http(self.status))
    }
}

impl fmt::Debug for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Answer")
            .field("status", &self.status)
            .field("content_type", &self.content_type)
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// Why one attempt failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum Fault {
    /// The request never reached the device (no connection): safe to send again, whatever it
    /// is.
    NotSent(Error),
    /// The endpoint's TLS identity was refused (certificate, name or pin): nothing was sent,
    /// and sending to the same endpoint again cannot help.
    Refused(Error),
    /// Sent, but no complete answer came (reset, truncated body, timeout): the outcome is
    /// unknown.
    Unknown(Error),
    /// The answer is over the body cap: the device answered (so it may have acted), but the
    /// answer is not read.
    TooBig(Error),
}

impl Fault {
    /// The error of this fault.
    #[must_use]
    pub fn error(&self) -> &Error {
        match self {
            Self::NotSent(e) | Self::Refused(e) | Self::Unknown(e) | Self::TooBig(e) => e,
        }
    }

    /// The error, owned.
    #[must_use]
    pub fn into_error(self) -> Error {
        match self {
            Self::NotSent(e) | Self::Refused(e) | Self::Unknown(e) | Self::TooBig(e) => e,
        }
    }
}

/// The failure of a whole call.
///
/// `error` is the last attempt's error (for an error status: the status's kind from hsm-core's
/// table, with the status); `answer` is that status's answer, for a backend that reads the
/// device's text from it; `outcome_unknown` is set when a request that is not idempotent may or
/// may not have been carried out (the backend settles it by asking the device).
#[derive(Debug)]
pub struct Failure {
    /// The error.
    pub error: Error,
    /// The error status's answer, when the failure is one.
    pub answer: Option<Answer>,
    /// Whether a request that is not idempotent may have been carried out.
    pub outcome_unknown: bool,
}

impl Failure {
    /// A failure whose outcome is known (nothing was done, or it does not matter).
    #[must_use]
    pub fn known(error: Error) -> Self {
        Self {
            error,
            answer: None,
            outcome_unknown: false,
        }
    }

    pub(crate) fn status(answer: Answer, error: Error, outcome_unknown: bool) -> Self {
        Self {
            error,
            answer: Some(answer),
            outcome_unknown,
        }
    }

    /// The answer's HTTP status, when the failure is an error status.
    #[must_use]
    pub fn status_code(&self) -> Option<u16> {
        self.answer.as_ref().map(Answer::status)
    }
}

impl From<Failure> for Error {
    fn from(f: Failure) -> Self {
        f.error
    }
}
