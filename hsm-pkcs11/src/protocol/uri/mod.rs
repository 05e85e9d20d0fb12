//! RFC 7512 `pkcs11:` URIs: the typed form ([`Pkcs11Uri`]) and its parser.
//!
//! ```text
//! pk11-URI    = "pkcs11:" pk11-path [ "?" pk11-query ]
//! pk11-path   = [ pk11-pattr *( ";" pk11-pattr ) ]
//! pk11-pattr  = token | manufacturer | serial | model | library-manufacturer
//!             | library-description | library-version | object | type | id
//!             | slot-description | slot-manufacturer | slot-id | x-attr
//! pk11-query  = [ pk11-qattr *( "&" pk11-qattr ) ]
//! pk11-qattr  = pin-source | pin-value | module-name | module-path | x-attr
//!             | pin-env | max-sessions      ; hsm-rs extensions
//! ```
//!
//! Values are percent-decoded; `id` is raw bytes (`id=%01%02`). Vendor attributes (`x-...`) are
//! kept as they are. Every other name, a repeated attribute, a malformed escape, `pin-source`
//! together with `pin-value`, or `module-name` together with `module-path` is an
//! [`ErrorKind::InvalidInput`](hsm_core::ErrorKind::InvalidInput) that names the part.

mod parse;

use std::fmt;
use std::path::PathBuf;

use secrecy::SecretString;

pub use self::parse::parse;

/// The `type=` path attribute: which class of object the URI names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectType {
    /// `type=public`
    Public,
    /// `type=private`
    Private,
    /// `type=cert`
    Cert,
    /// `type=secret-key`
    SecretKey,
    /// `type=data`
    Data,
}

/// Where the user PIN comes from, as written in the URI.
pub enum PinSource {
    /// `pin-value=` (inline; avoid it outside tests).
    Value(SecretString),
    /// `pin-source=file:/path` or `pin-source=/path`: the first line of a file.
    File(PathBuf),
    /// `pin-env=VAR` (an hsm-rs extension to RFC 7512).
    Env(String),
}

impl fmt::Debug for PinSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Value(_) => f.write_str("Value([REDACTED])"),
            Self::File(p) => f.debug_tuple("File").field(p).finish(),
            Self::Env(v) => f.debug_tuple("Env").field(v).finish(),
        }
    }
}

/// A parsed RFC 7512 URI. Every field is optional; unset means "any".
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Pkcs11Uri {
    /// `token=`: the token label.
    pub token: Option<String>,
    /// `manufacturer=`: the token manufacturer id.
    pub manufacturer: Option<String>,
    /// `serial=`: the token serial number.
    pub serial: Option<String>,
    /// `model=`: the token model.
    pub model: Option<String>,
    /// `library-manufacturer=`.
    pub library_manufacturer: Option<String>,
    /// `library-description=`.
    pub library_description: Option<String>,
    /// `library-version=` (`M` or `M.m`).
    pub library_version: Option<(u8, u8)>,
    /// `slot-description=`.
    pub slot_description: Option<String>,
    /// `slot-manufacturer=`.
    pub slot_manufacturer: Option<String>,
    /// `slot-id=`: the decimal slot id.
    pub slot_id: Option<u64>,
    /// `object=`: the object label (`CKA_LABEL`).
    pub object: Option<String>,
    /// `id=`: the object id bytes (`CKA_ID`).
    pub id: Option<Vec<u8>>,
    /// `type=`.
    pub object_type: Option<ObjectType>,
    /// `module-path=`: the module file.
    pub module_path: Option<PathBuf>,
    /// `module-name=`: a module name resolved in the system's module directories.
    pub module_name: Option<String>,
    /// The user PIN source.
    pub pin: Option<PinSource>,
    /// `max-sessions=N` (an hsm-rs extension): the most working sessions the backend opens on
    /// the token, i.e. the most operations in flight; see
    /// [`Options::max_sessions`](crate::Options::max_sessions).
    pub max_sessions: Option<usize>,
    /// Vendor attributes (`x-name=value`), in order.
    pub vendor: Vec<(String, String)>,
}

impl Pkcs11Uri {
    /// Parses a `pkcs11:` URI (see the [module docs](self)).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](hsm_core::ErrorKind::InvalidInput) naming the offending part.
    pub fn parse(uri: &str) -> hsm_core::Result<Self> {
        parse(uri)
    }
}
