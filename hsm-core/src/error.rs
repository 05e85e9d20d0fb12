//! The one error type of the workspace.
//!
//! Every backend reports failures as an [`Error`]: a [`ErrorKind`] that callers branch on, the
//! operation that failed, the device's own status code when it sent one ([`DeviceStatus`]), a
//! human-readable message and the chain of underlying causes (reachable through
//! [`std::error::Error::source`]).
//!
//! Errors never contain credentials: backends build them from status codes and response bodies,
//! never from request headers, URLs with user info or PIN buffers.
//!
//! # The error mapping every backend follows
//!
//! Operation names are `backend.operation` (`nethsm.sign`, `n200.generate_key`,
//! `pkcs11.import_key`, `sc-hsm.verify_pin`); the device's own code is kept in
//! [`Error::status`]. The same situation is the same kind on every backend:
//!
//! | situation | kind |
//! |---|---|
//! | no such key, user or object | [`NotFound`](ErrorKind::NotFound) |
//! | the id is taken | [`AlreadyExists`](ErrorKind::AlreadyExists) |
//! | wrong password or PIN (tries left when the device says) | [`AuthenticationFailed`](ErrorKind::AuthenticationFailed) |
//! | PIN or user blocked | [`Blocked`](ErrorKind::Blocked) |
//! | logged in, but the role, tag or key usage forbids it | [`PermissionDenied`](ErrorKind::PermissionDenied) |
//! | not logged in, device locked, not provisioned or not initialised | [`InvalidState`](ErrorKind::InvalidState) |
//! | a spec, algorithm or operation the backend or device does not have | [`Unsupported`](ErrorKind::Unsupported) |
//! | the caller's input: bad id, wrong digest length, algorithm not fitting the key, empty or oversized data | [`InvalidInput`](ErrorKind::InvalidInput) |
//! | a signature checked in software does not verify | [`VerificationFailed`](ErrorKind::VerificationFailed) |
//! | cannot connect, connection reset, reader or token gone, device busy | [`Unavailable`](ErrorKind::Unavailable) |
//! | a time limit ran out | [`Timeout`](ErrorKind::Timeout) |
//! | the device answered something malformed (a bad signature encoding, r or s out of range, broken JSON, a wrong length) | [`Protocol`](ErrorKind::Protocol) |
//! | the device reported a failure of its own; a worker thread panicked | [`Device`](ErrorKind::Device) |
//!
//! HTTP statuses (NetHSM, N200) map by [`ErrorKind::from_http_status`]. Whether a call is tried
//! again is the transport's decision, by status and idempotency, not by kind: a `500` is a
//! [`Device`](ErrorKind::Device) error, yet an idempotent signature may be sent again (to
//! another cluster instance) after one.

use std::borrow::Cow;
use std::fmt;

/// A boxed error that can travel between threads: the type of every [`Error`] source.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `Result` with the workspace's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, in terms a caller can act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The key, user, object or resource does not exist.
    NotFound,
    /// A key, user or object with that identifier exists already.
    AlreadyExists,
    /// The credentials were rejected.
    AuthenticationFailed {
        /// Tries left before the PIN or user is blocked, when the device says.
        retries_left: Option<u32>,
    },
    /// The PIN or user is blocked (no tries left). Unblocking needs an administrator or SO-PIN.
    Blocked,
    /// Authenticated, but not allowed to do this (role, tag restriction, key usage).
    PermissionDenied,
    /// The backend, device or key cannot do this (key type, algorithm, operation).
    Unsupported,
    /// The caller's input is wrong: bad identifier, wrong digest length, algorithm not fitting the
    /// key, empty or oversized data.
    InvalidInput,
    /// A signature was checked and does not verify: the signature, message or key is not the one
    /// that was signed with. Distinct from [`InvalidInput`](Self::InvalidInput), which says the
    /// check could not even be made.
    VerificationFailed,
    /// The device, server or reader cannot be reached or is busy; trying again later may work.
    Unavailable,
    /// The operation did not finish in time; trying again may work.
    Timeout,
    /// The device or server answered something malformed or unexpected.
    Protocol,
    /// The device reported an error that maps to none of the kinds above; see [`Error::status`].
    Device,
    /// The device is not in a state that allows the operation (locked, not provisioned, not
    /// initialised, not logged in).
    InvalidState,
}

impl ErrorKind {
    /// A short lowercase name of the kind, used in [`Error`]'s `Display`.
    #[must_use]
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::NotFound => "not found",
            Self::AlreadyExists => "already exists",
            Self::AuthenticationFailed { .. } => "authentication failed",
            Self::Blocked => "blocked",
            Self::PermissionDenied => "permission denied",
            Self::Unsupported => "unsupported",
            Self::InvalidInput => "invalid input",
            Self::VerificationFailed => "verification failed",
            Self::Unavailable => "unavailable",
            Self::Timeout => "timeout",
            Self::Protocol => "protocol error",
            Self::Device => "device error",
            Self::InvalidState => "invalid state",
        }
    }
}

impl ErrorKind {
    /// The kind of an HTTP error status, the one table of the REST backends:
    ///
    /// | status | kind |
    /// |---|---|
    /// | 400, 413, 414, 422 | [`InvalidInput`](Self::InvalidInput) |
    /// | 401 | [`AuthenticationFailed`](Self::AuthenticationFailed) (no tries count) |
    /// | 403 | [`PermissionDenied`](Self::PermissionDenied) |
    /// | 404 | [`NotFound`](Self::NotFound) |
    /// | 405, 501 | [`Unsupported`](Self::Unsupported) |
    /// | 406, 415 | [`Protocol`](Self::Protocol) (the client sent what the server cannot take) |
    /// | 408, 504 | [`Timeout`](Self::Timeout) |
    /// | 409 | [`AlreadyExists`](Self::AlreadyExists) |
    /// | 412, 423 | [`InvalidState`](Self::InvalidState) (locked, not provisioned) |
    /// | 429, 502, 503, other 5xx | [`Unavailable`](Self::Unavailable) |
    /// | 500, anything else | [`Device`](Self::Device) |
    #[must_use]
    pub fn from_http_status(status: u16) -> Self {
        match status {
            400 | 413 | 414 | 422 => Self::InvalidInput,
            401 => Self::AuthenticationFailed { retries_left: None },
            403 => Self::PermissionDenied,
            404 => Self::NotFound,
            405 | 501 => Self::Unsupported,
            406 | 415 => Self::Protocol,
            408 | 504 => Self::Timeout,
            409 => Self::AlreadyExists,
            412 | 423 => Self::InvalidState,
            429 | 502 | 503 | 505..=599 => Self::Unavailable,
            _ => Self::Device,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AuthenticationFailed {
                retries_left: Some(n),
            } => write!(f, "authentication failed ({n} tries left)"),
            other => f.write_str(other.as_str()),
        }
    }
}

/// The status code a device or server returned, kept verbatim. `Debug` shows the codes the way
/// their standards write them (status words and PC/SC and PKCS#11 codes in hex), like `Display`.
#[derive(Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DeviceStatus {
    /// An HTTP status code (NetHSM, N200).
    Http(u16),
    /// A PKCS#11 return value: the numeric `CK_RV` and its `CKR_*` name.
    Pkcs11 {
        /// The numeric return value.
        code: u64,
        /// The `CKR_*` name, e.g. `CKR_PIN_INCORRECT`.
        name: Cow<'static, str>,
    },
    /// An ISO 7816 status word SW1SW2 (SmartCard-HSM).
    StatusWord(u16),
    /// A PC/SC error code (`SCARD_E_*`).
    PcSc(u32),
}

impl fmt::Display for DeviceStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Http(code) => write!(f, "HTTP {code}"),
            Self::Pkcs11 { code, name } => write!(f, "{name} (0x{code:08X})"),
            Self::StatusWord(sw) => write!(f, "SW {sw:04X}"),
            Self::PcSc(code) => write!(f, "PC/SC 0x{code:08X}"),
        }
    }
}

impl fmt::Debug for DeviceStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Http(code) => write!(f, "Http({code})"),
            Self::Pkcs11 { code, name } => write!(f, "Pkcs11({name}, 0x{code:08X})"),
            Self::StatusWord(sw) => write!(f, "StatusWord(0x{sw:04X})"),
            Self::PcSc(code) => write!(f, "PcSc(0x{code:08X})"),
        }
    }
}

/// The error of every operation in the workspace.
///
/// Branch on [`Error::kind`]; use the predicates ([`Error::is_retryable`],
/// [`Error::is_not_found`], ...) for questions that cut across kinds. `Display` gives the
/// operation, the kind, the message and the device status in one line; the causes follow through
/// [`std::error::Error::source`].
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    operation: Cow<'static, str>,
    message: Option<Cow<'static, str>>,
    status: Option<DeviceStatus>,
    source: Option<BoxError>,
}

/// `Error::invalid_input(operation, message)` and its siblings: an error of one kind with a
/// message.
macro_rules! shorthands {
    ($($name:ident => $kind:ident),* $(,)?) => {$(
        #[doc = concat!(
            "Shorthand for an [`ErrorKind::", stringify!($kind), "`] error with a message."
        )]
        #[must_use]
        pub fn $name(
            operation: impl Into<Cow<'static, str>>,
            message: impl Into<Cow<'static, str>>,
        ) -> Self {
            Self::new(ErrorKind::$kind, operation).with_message(message)
        }
    )*};
}

impl Error {
    /// A new error of `kind` raised by `operation` (e.g. `"nethsm.sign"`, `"C_SignInit"`,
    /// `"sc-hsm.verify_pin"`).
    #[must_use]
    pub fn new(kind: ErrorKind, operation: impl Into<Cow<'static, str>>) -> Self {
        Self {
            inner: Box::new(Inner {
                kind,
                operation: operation.into(),
                message: None,
                status: None,
                source: None,
            }),
        }
    }

    /// Adds a human-readable explanation. Never put a credential in it.
    #[must_use]
    pub fn with_message(mut self, message: impl Into<Cow<'static, str>>) -> Self {
        self.inner.message = Some(message.into());
        self
    }

    /// Adds the device's status code.
    #[must_use]
    pub fn with_status(mut self, status: DeviceStatus) -> Self {
        self.inner.status = Some(status);
        self
    }

    /// Adds the underlying cause.
    #[must_use]
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.inner.source = Some(source.into());
        self
    }

    /// Replaces the operation name, e.g. to name the public call around an inner step.
    #[must_use]
    pub fn with_operation(mut self, operation: impl Into<Cow<'static, str>>) -> Self {
        self.inner.operation = operation.into();
        self
    }

    /// A copy of this error for each of several callers that one failure hit (a lost batch, a
    /// dead connection shared by many requests): the same kind, operation, message and status,
    /// and the source chain kept as text (sources are not `Clone`).
    #[must_use]
    pub fn replicate(&self) -> Self {
        let mut chain = Vec::new();
        let mut next = std::error::Error::source(self);
        while let Some(e) = next {
            chain.push(e.to_string());
            next = e.source();
        }
        let source = chain
            .into_iter()
            .rev()
            .fold(None, |inner: Option<SourceText>, text| {
                Some(SourceText {
                    text,
                    source: inner.map(Box::new),
                })
            });
        Self {
            inner: Box::new(Inner {
                kind: self.inner.kind,
                operation: self.inner.operation.clone(),
                message: self.inner.message.clone(),
                status: self.inner.status.clone(),
                source: source.map(|s| Box::new(s) as BoxError),
            }),
        }
    }

    shorthands! {
        invalid_input => InvalidInput,
        unsupported => Unsupported,
        protocol => Protocol,
        not_found => NotFound,
    }

    /// What went wrong.
    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The operation that failed.
    #[must_use]
    pub fn operation(&self) -> &str {
        &self.inner.operation
    }

    /// The explanation, if any.
    #[must_use]
    pub fn message(&self) -> Option<&str> {
        self.inner.message.as_deref()
    }

    /// The device's status code, if it sent one.
    #[must_use]
    pub fn status(&self) -> Option<&DeviceStatus> {
        self.inner.status.as_ref()
    }

    /// Whether trying the same operation again later may succeed: the device was unavailable or
    /// the call timed out. Authentication failures are never retryable (PIN safety).
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        matches!(self.inner.kind, ErrorKind::Unavailable | ErrorKind::Timeout)
    }

    /// Whether the key or object was not found.
    #[must_use]
    pub fn is_not_found(&self) -> bool {
        self.inner.kind == ErrorKind::NotFound
    }

    /// Whether the credentials were rejected or are blocked.
    #[must_use]
    pub fn is_auth(&self) -> bool {
        matches!(
            self.inner.kind,
            ErrorKind::AuthenticationFailed { .. } | ErrorKind::Blocked
        )
    }

    /// Tries left before the PIN or user is blocked, when the device said.
    #[must_use]
    pub fn retries_left(&self) -> Option<u32> {
        match self.inner.kind {
            ErrorKind::AuthenticationFailed { retries_left } => retries_left,
            ErrorKind::Blocked => Some(0),
            _ => None,
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        let _ = d
            .field("kind", &self.inner.kind)
            .field("operation", &self.inner.operation);
        if let Some(message) = &self.inner.message {
            let _ = d.field("message", message);
        }
        if let Some(status) = &self.inner.status {
            let _ = d.field("status", status);
        }
        if let Some(source) = &self.inner.source {
            let _ = d.field("source", source);
        }
        d.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.inner.operation, self.inner.kind)?;
        if let Some(message) = &self.inner.message {
            write!(f, ": {message}")?;
        }
        if let Some(status) = &self.inner.status {
            write!(f, " [{status}]")?;
        }
        Ok(())
    }
}

/// One link of a [replicated](Error::replicate) source chain: the original's text.
#[derive(Debug)]
struct SourceText {
    text: String,
    source: Option<Box<SourceText>>,
}

impl fmt::Display for SourceText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::error::Error for SourceText {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<Error> for signature::Error {
    fn from(error: Error) -> Self {
        signature::Error::from_source(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn display_names_operation_kind_message_and_status() {
        let e = Error::new(
            ErrorKind::AuthenticationFailed {
                retries_left: Some(2),
            },
            "sc-hsm.verify_pin",
        )
        .with_message("wrong user PIN")
        .with_status(DeviceStatus::StatusWord(0x63C2));
        assert_eq!(
            e.to_string(),
            "sc-hsm.verify_pin: authentication failed (2 tries left): wrong user PIN [SW 63C2]"
        );
        assert_eq!(e.retries_left(), Some(2));
        assert!(e.is_auth());
        assert!(!e.is_retryable());
    }

    #[test]
    fn retryable_kinds() {
        assert!(Error::new(ErrorKind::Timeout, "op").is_retryable());
        assert!(Error::new(ErrorKind::Unavailable, "op").is_retryable());
        assert!(!Error::new(ErrorKind::Protocol, "op").is_retryable());
        assert!(!Error::new(ErrorKind::Blocked, "op").is_retryable());
    }

    #[test]
    fn signature_error_keeps_the_cause() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset by peer");
        let e = Error::new(ErrorKind::Unavailable, "nethsm.sign").with_source(io);
        let sig: signature::Error = e.into();
        let inner = sig.source().expect("signature::Error keeps its source");
        let ours = inner
            .downcast_ref::<Error>()
            .expect("the source is our Error");
        assert_eq!(ours.kind(), ErrorKind::Unavailable);
        let io = ours.source().expect("the io cause survives");
        assert!(io.to_string().contains("reset by peer"));
    }

    #[test]
    fn replicate_keeps_everything_and_the_chain_as_text() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset by peer");
        let middle = Error::new(ErrorKind::Unavailable, "nethsm.connect").with_source(io);
        let e = Error::new(ErrorKind::Unavailable, "nethsm.sign")
            .with_message("the connection broke")
            .with_status(DeviceStatus::Http(503))
            .with_source(middle);
        let copy = e.replicate();
        assert_eq!(copy.to_string(), e.to_string());
        assert_eq!(copy.kind(), e.kind());
        assert_eq!(copy.operation(), "nethsm.sign");
        assert_eq!(copy.status(), Some(&DeviceStatus::Http(503)));
        let chain = |e: &Error| {
            let mut out = Vec::new();
            let mut next = e.source();
            while let Some(s) = next {
                out.push(s.to_string());
                next = s.source();
            }
            out
        };
        assert_eq!(chain(&copy), chain(&e));
        assert_eq!(chain(&copy).len(), 2);
    }

    #[test]
    fn status_words_and_codes_are_hex_in_debug_too() {
        let e = Error::new(ErrorKind::Device, "sc-hsm.sign")
            .with_status(DeviceStatus::StatusWord(0x6400));
        let debug = format!("{e:?}");
        assert!(debug.contains("0x6400"), "{debug}");
        assert!(!debug.contains("25600"), "{debug}");
        assert_eq!(
            format!("{:?}", DeviceStatus::PcSc(0x8010_0069)),
            "PcSc(0x80100069)"
        );
        assert_eq!(
            format!(
                "{:?}",
                DeviceStatus::Pkcs11 {
                    code: 0xA0,
                    name: "CKR_PIN_INCORRECT".into()
                }
            ),
            "Pkcs11(CKR_PIN_INCORRECT, 0x000000A0)"
        );
        assert_eq!(format!("{:?}", DeviceStatus::Http(503)), "Http(503)");
    }

    #[test]
    fn http_statuses_map_by_one_table() {
        for (status, kind) in [
            (400, ErrorKind::InvalidInput),
            (401, ErrorKind::AuthenticationFailed { retries_left: None }),
            (403, ErrorKind::PermissionDenied),
            (404, ErrorKind::NotFound),
            (405, ErrorKind::Unsupported),
            (406, ErrorKind::Protocol),
            (408, ErrorKind::Timeout),
            (409, ErrorKind::AlreadyExists),
            (412, ErrorKind::InvalidState),
            (429, ErrorKind::Unavailable),
            (500, ErrorKind::Device),
            (503, ErrorKind::Unavailable),
            (504, ErrorKind::Timeout),
            (599, ErrorKind::Unavailable),
            (418, ErrorKind::Device),
            (200, ErrorKind::Device),
        ] {
            assert_eq!(ErrorKind::from_http_status(status), kind, "{status}");
        }
    }

    #[test]
    fn pkcs11_status_display() {
        let s = DeviceStatus::Pkcs11 {
            code: 0xA0,
            name: "CKR_PIN_INCORRECT".into(),
        };
        assert_eq!(s.to_string(), "CKR_PIN_INCORRECT (0x000000A0)");
    }
}
