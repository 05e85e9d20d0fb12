//! Key identifiers: how a key is named on a device.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};

/// The longest key name accepted (bytes). Backends may accept less.
pub const MAX_KEY_NAME_LEN: usize = 255;
/// The longest `id:HEX` identifier accepted (bytes, before hex encoding).
pub const MAX_KEY_ID_BYTES: usize = 255;

/// How a key is named on a device.
///
/// Two forms, one string syntax (the examples' `--key` takes the same):
/// - a **name**: the NetHSM key id, the N200 `nice_name` or key id, the PKCS#11 `CKA_LABEL` or
///   PKCS#15 label;
/// - `id:HEX`: raw identifier bytes, the PKCS#11 `CKA_ID` or PKCS#15 key id.
///
/// A name is 1 to [`MAX_KEY_NAME_LEN`] bytes of printable text without control characters. Each
/// backend checks its own, stricter rules (e.g. NetHSM ids are alphanumeric) and answers
/// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) otherwise.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(Repr);

#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Repr {
    Name(String),
    Bytes(Vec<u8>),
}

impl KeyId {
    /// A key named by text (id, label or nice name).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) if the name is empty, too long,
    /// or contains control characters.
    pub fn name(name: impl Into<String>) -> Result<Self> {
        let name = name.into();
        if name.is_empty() {
            return Err(Error::invalid_input("key id", "a key name cannot be empty"));
        }
        if name.len() > MAX_KEY_NAME_LEN {
            return Err(Error::invalid_input(
                "key id",
                format!(
                    "a key name is at most {MAX_KEY_NAME_LEN} bytes, got {}",
                    name.len()
                ),
            ));
        }
        if name.chars().any(char::is_control) {
            return Err(Error::invalid_input(
                "key id",
                "a key name cannot contain control characters",
            ));
        }
        Ok(Self(Repr::Name(name)))
    }

    /// A key named by identifier bytes (PKCS#11 `CKA_ID`, PKCS#15 key id).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) if `bytes` is empty or longer
    /// than [`MAX_KEY_ID_BYTES`].
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> Result<Self> {
        let bytes = bytes.into();
        if bytes.is_empty() || bytes.len() > MAX_KEY_ID_BYTES {
            return Err(Error::invalid_input(
                "key id",
                format!(
                    "an id is 1 to {MAX_KEY_ID_BYTES} bytes, got {}",
                    bytes.len()
                ),
            ));
        }
        Ok(Self(Repr::Bytes(bytes)))
    }

    /// The name, if the key is named by text.
    #[must_use]
    pub fn as_name(&self) -> Option<&str> {
        match &self.0 {
            Repr::Name(n) => Some(n),
            Repr::Bytes(_) => None,
        }
    }

    /// The identifier bytes, if the key is named by `id:HEX`.
    #[must_use]
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match &self.0 {
            Repr::Name(_) => None,
            Repr::Bytes(b) => Some(b),
        }
    }
}

impl FromStr for KeyId {
    type Err = Error;

    /// Parses `id:HEX` into identifier bytes and anything else into a name.
    fn from_str(s: &str) -> Result<Self> {
        match s.strip_prefix("id:") {
            Some(h) => {
                let bytes = hex::decode(h).map_err(|e| {
                    Error::invalid_input("key id", format!("`id:` must be followed by hex: {e}"))
                })?;
                Self::from_bytes(bytes)
            }
            None => Self::name(s),
        }
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Repr::Name(n) => f.write_str(n),
            Repr::Bytes(b) => write!(f, "id:{}", hex::encode(b)),
        }
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_id_forms() {
        let name: KeyId = "signing key 1".parse().expect("a name");
        assert_eq!(name.as_name(), Some("signing key 1"));
        assert_eq!(name.to_string(), "signing key 1");
        let id: KeyId = "id:0a0B".parse().expect("hex id");
        assert_eq!(id.as_bytes(), Some(&[0x0a, 0x0b][..]));
        assert_eq!(id.to_string(), "id:0a0b");
        assert!("id:zz".parse::<KeyId>().is_err());
        assert!("id:".parse::<KeyId>().is_err());
        assert!("".parse::<KeyId>().is_err());
        assert!("a\nb".parse::<KeyId>().is_err());
        assert!("x".repeat(MAX_KEY_NAME_LEN + 1).parse::<KeyId>().is_err());
    }
}
