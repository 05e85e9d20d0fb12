//! N200 key ids and the token labels of sematicon's PKCS#11 module, both ways.
//!
//! The REST API names a key `hsm010123F13C56131E1EEE0000000000000025` (39 characters: a
//! 23-character device part and a 16-digit counter); the PKCS#11 module shows the same key as
//! the token `hsm010123F13C56131E1EEE00000025` (31 characters: the counter cut to its last 8
//! digits, as a 32-byte `CK_TOKEN_INFO` label requires). Going back pads the counter with zeros,
//! which is exact for the first 10^8 keys of a device; a key id whose dropped digits are not
//! zero has no token label and [`KeyIdent::token_label`] says so.
//!
//! ```
//! use hsm_n200::protocol::labels::KeyIdent;
//! let id: KeyIdent = "hsm010123F13C56131E1EEE0000000000000025".parse()?;
//! assert_eq!(id.token_label()?, "hsm010123F13C56131E1EEE00000025");
//! assert_eq!(KeyIdent::from_token_label("hsm010123F13C56131E1EEE00000025")?, id);
//! # Ok::<(), hsm_core::Error>(())
//! ```

use std::fmt;
use std::str::FromStr;

use hsm_core::{Error, Result};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

const OP: &str = "n200.key_id";
/// `hsm` + 20 characters naming the device.
const DEVICE_LEN: usize = 23;
const COUNTER_LEN: usize = 16;
const LABEL_COUNTER_LEN: usize = 8;
/// Length of a REST key id.
pub const KEY_ID_LEN: usize = DEVICE_LEN + COUNTER_LEN;
/// Length of a PKCS#11 token label.
pub const TOKEN_LABEL_LEN: usize = DEVICE_LEN + LABEL_COUNTER_LEN;

/// A REST key id (`hsm` + device part + 16-digit counter).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyIdent(String);

impl KeyIdent {
    /// The key id as the REST API writes it.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `text` has the shape of a REST key id.
    #[must_use]
    pub fn looks_like(text: &str) -> bool {
        text.len() == KEY_ID_LEN && well_formed(text)
    }

    fn parts(&self) -> (&str, &str) {
        self.0.split_at_checked(DEVICE_LEN).unwrap_or((&self.0, ""))
    }

    /// The device part (`hsm010123F13C56131E1EEE`).
    #[must_use]
    pub fn device(&self) -> &str {
        self.parts().0
    }

    /// The PKCS#11 token label of this key (31 characters).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](hsm_core::ErrorKind::InvalidInput) if the counter does not fit
    /// 8 digits (its dropped digits are not all `0`).
    pub fn token_label(&self) -> Result<String> {
        let (device, counter) = self.parts();
        let (dropped, kept) = counter
            .split_at_checked(COUNTER_LEN - LABEL_COUNTER_LEN)
            .ok_or_else(|| Error::invalid_input(OP, "malformed key id"))?;
        if dropped.bytes().any(|b| b != b'0') {
            return Err(Error::invalid_input(
                OP,
                format!("key id {} has no 8-digit token label", self.0),
            ));
        }
        Ok(format!("{device}{kept}"))
    }

    /// The key id of a PKCS#11 token label.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](hsm_core::ErrorKind::InvalidInput) unless `label` is 31
    /// characters of the shape `hsm` + letters and digits.
    pub fn from_token_label(label: &str) -> Result<Self> {
        if label.len() != TOKEN_LABEL_LEN || !well_formed(label) {
            return Err(Error::invalid_input(
                OP,
                format!(
                    "{label:?} is not an N200 token label ({TOKEN_LABEL_LEN} characters, hsm...)"
                ),
            ));
        }
        let (device, counter) = label
            .split_at_checked(DEVICE_LEN)
            .ok_or_else(|| Error::invalid_input(OP, "malformed token label"))?;
        Ok(Self(format!(
            "{device}{}{counter}",
            "0".repeat(COUNTER_LEN - LABEL_COUNTER_LEN)
        )))
    }

    /// The `pkcs11:` URI (RFC 7512) of the key `nice_name` with this id, as sematicon's module
    /// shows it: `pkcs11:token=<label>;object=<nice_name>`.
    ///
    /// # Errors
    /// As [`token_label`](Self::token_label).
    pub fn pkcs11_uri(&self, nice_name: &str) -> Result<String> {
        Ok(Pkcs11KeyUri {
            token: self.token_label()?,
            object: Some(nice_name.to_owned()),
            serial: None,
            id: None,
        }
        .to_string())
    }
}

impl FromStr for KeyIdent {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        if Self::looks_like(s) {
            Ok(Self(s.to_owned()))
        } else if s.len() == TOKEN_LABEL_LEN && well_formed(s) {
            Self::from_token_label(s)
        } else {
            Err(Error::invalid_input(
                OP,
                format!("{s:?} is not an N200 key id ({KEY_ID_LEN} characters, hsm...)"),
            ))
        }
    }
}

impl fmt::Display for KeyIdent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for KeyIdent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyIdent({})", self.0)
    }
}

fn well_formed(text: &str) -> bool {
    text.starts_with("hsm") && text.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The parts of a sematicon `pkcs11:` URI this crate maps to REST keys. Other attributes
/// (`model`, `manufacturer`, `type`) are accepted and dropped; a `pin-value` is dropped and
/// never kept.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Pkcs11KeyUri {
    /// The token label (`token=`).
    pub token: String,
    /// The object label, the key's nice name (`object=`).
    pub object: Option<String>,
    /// The token serial (`serial=`).
    pub serial: Option<String>,
    /// The `CKA_ID` bytes (`id=`), the N200 `id` field.
    pub id: Option<Vec<u8>>,
}

impl Pkcs11KeyUri {
    /// The REST key id of the URI's token.
    ///
    /// # Errors
    /// As [`KeyIdent::from_token_label`].
    pub fn key_id(&self) -> Result<KeyIdent> {
        KeyIdent::from_token_label(&self.token)
    }
}

/// Characters RFC 7512 lets stand in a path attribute value unescaped (besides alphanumerics).
const PK11_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

impl fmt::Display for Pkcs11KeyUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("pkcs11:")?;
        if let Some(serial) = &self.serial {
            write!(f, "serial={};", utf8_percent_encode(serial, PK11_VALUE))?;
        }
        write!(f, "token={}", utf8_percent_encode(&self.token, PK11_VALUE))?;
        if let Some(id) = &self.id {
            f.write_str(";id=")?;
            for b in id {
                write!(f, "%{b:02X}")?;
            }
        }
        if let Some(object) = &self.object {
            write!(f, ";object={}", utf8_percent_encode(object, PK11_VALUE))?;
        }
        Ok(())
    }
}

impl FromStr for Pkcs11KeyUri {
    type Err = Error;

    /// Parses `pkcs11:...` URIs and the bare `token=...;object=...` form that BIND's
    /// `dnssec-keyfromlabel -l` takes.
    fn from_str(s: &str) -> Result<Self> {
        let body = s.strip_prefix("pkcs11:").unwrap_or(s);
        let path = body.split_once('?').map_or(body, |(p, _query)| p);
        let mut token = None;
        let mut object = None;
        let mut serial = None;
        let mut id = None;
        for attribute in path.split(';').filter(|a| !a.is_empty()) {
            let (name, value) = attribute.split_once('=').ok_or_else(|| {
                Error::invalid_input("n200.pkcs11_uri", "an attribute has no `=`")
            })?;
            let bytes: Vec<u8> = percent_decode_str(value).collect();
            let text = || {
                String::from_utf8(bytes.clone()).map_err(|_| {
                    Error::invalid_input("n200.pkcs11_uri", format!("`{name}` is not UTF-8"))
                })
            };
            match name {
                "token" => token = Some(text()?),
                "object" => object = Some(text()?),
                "serial" => serial = Some(text()?),
                "id" => id = Some(bytes.clone()),
                // pin-value and the rest: dropped (a PIN is never kept from a URI here).
                _ => {}
            }
        }
        let token = token
            .ok_or_else(|| Error::invalid_input("n200.pkcs11_uri", "the URI names no `token`"))?;
        Ok(Self {
            token,
            object,
            serial,
            id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_000_key_id_and_label() {
        let id: KeyIdent = "hsm010123F13C56131E1EEE0000000000000025"
            .parse()
            .expect("key id");
        assert_eq!(id.device(), "hsm010123F13C56131E1EEE");
        assert_eq!(
            id.token_label().expect("label"),
            "hsm010123F13C56131E1EEE00000025"
        );
        let back = KeyIdent::from_token_label("hsm010123F13C56131E1EEE00000025").expect("back");
        assert_eq!(back, id);
        // A label parses as its key id too.
        assert_eq!(
            "hsm010123F13C56131E1EEE00000025"
                .parse::<KeyIdent>()
                .expect("label form"),
            id
        );
        let big: KeyIdent = "hsm010123F13C56131E1EEE0000000100000025"
            .parse()
            .expect("key id");
        assert!(big.token_label().is_err());
        assert!("JP.example".parse::<KeyIdent>().is_err());
        assert!(KeyIdent::from_token_label("hsm0101").is_err());
    }

    #[test]
    fn seed_001_uris_both_ways() {
        let uri: Pkcs11KeyUri = "pkcs11:model=N200%20core;manufacturer=sematiconAG;serial=201044558;token=hsm0101231A9FC2EA1393EE00000004;id=%F9%0F%B8%E7%9E%60;object=735952479;type=private"
            .parse()
            .expect("seed 001 URI");
        assert_eq!(uri.token, "hsm0101231A9FC2EA1393EE00000004");
        assert_eq!(uri.object.as_deref(), Some("735952479"));
        assert_eq!(uri.serial.as_deref(), Some("201044558"));
        assert_eq!(
            uri.id.as_deref(),
            Some(&[0xf9, 0x0f, 0xb8, 0xe7, 0x9e, 0x60][..])
        );
        let key = uri.key_id().expect("key id");
        assert_eq!(key.as_str(), "hsm0101231A9FC2EA1393EE0000000000000004");
        assert_eq!(
            key.pkcs11_uri("735952479").expect("uri"),
            "pkcs11:token=hsm0101231A9FC2EA1393EE00000004;object=735952479"
        );
        let printed = uri.to_string();
        assert_eq!(printed.parse::<Pkcs11KeyUri>().expect("round trip"), uri);

        let short: Pkcs11KeyUri =
            "pkcs11:serial=201044558;token=hsm0101231A9FC2EA1393EE00000004;object=735952479"
                .parse()
                .expect("short form");
        assert_eq!(short.key_id().expect("id"), key);
        // seed 000's dnssec-keyfromlabel label: the PIN is dropped.
        let bind: Pkcs11KeyUri =
            "token=hsm010123F13C56131E1EEE00000025;object=JP.example;pin-value=12345678"
                .parse()
                .expect("bind form");
        assert_eq!(bind.object.as_deref(), Some("JP.example"));
        assert!(!format!("{bind:?}{bind}").contains("12345678"));
        assert!("pkcs11:object=x".parse::<Pkcs11KeyUri>().is_err());
    }
}
