//! Status words: their ISO/IEC 7816-4 names, what they mean on the SmartCard-HSM, and the
//! [`hsm_core::ErrorKind`] each one maps onto — one table, [`error_for_status`] reads it and
//! every part of the crate that turns a status word into an error goes through it.
//!
//! | status words | kind |
//! |---|---|
//! | `63Cx` (wrong PIN, x tries left) | `AuthenticationFailed { retries_left: x }` |
//! | `6983` | `Blocked` |
//! | `6982` | `PermissionDenied` |
//! | `6A82`, `6A88` | `NotFound` |
//! | `6A89` | `AlreadyExists` |
//! | `6A81`, `6D00`, `6E00` | `Unsupported` |
//! | `6700`, `6A80`, `6A86`, `6B00` | `InvalidInput` |
//! | `6900`, `6984`, `6985`, `6986` | `InvalidState` |
//! | any other | `Device` |
//!
//! A status word is always shown as four hex digits (`SW 6400`), never as a number.

use std::fmt;

use ErrorKind::{
    AlreadyExists, Blocked, Device, InvalidInput, InvalidState, NotFound, PermissionDenied,
    Unsupported,
};
use hsm_core::{DeviceStatus, Error, ErrorKind};

/// A status word `SW1 SW2`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatusWord(pub u16);

/// One status word with a fixed value: its ISO/IEC 7816-4 name, what it says on a
/// SmartCard-HSM where that is more than the name, and the error kind it maps onto.
struct Meaning {
    sw: u16,
    name: &'static str,
    hint: Option<&'static str>,
    kind: ErrorKind,
}

const fn row(sw: u16, kind: ErrorKind, name: &'static str, hint: Option<&'static str>) -> Meaning {
    Meaning {
        sw,
        name,
        hint,
        kind,
    }
}

/// The status words with a fixed value (the module documentation shows the kinds as a table;
/// the `61xx`, `63Cx` and `6Cxx` families are handled in [`StatusWord::name`],
/// [`StatusWord::hint`] and [`error_for_status`]). A word not listed maps onto `Device`.
#[rustfmt::skip]
const TABLE: &[Meaning] = &[
    row(0x9000, Device, "success", None),
    row(0x6281, Device, "part of returned data may be corrupted", None),
    row(0x6282, Device, "end of file reached before reading Ne bytes", None),
    row(0x6283, Device, "selected file deactivated", None),
    row(0x6300, Device, "verification failed", None),
    row(0x6400, Device, "execution error", Some("the card could not carry out the command")),
    row(0x6581, Device, "memory failure", None),
    row(0x6700, InvalidInput, "wrong length", None),
    row(0x6881, Device, "logical channel not supported", None),
    row(0x6882, Device, "secure messaging not supported", None),
    row(0x6900, InvalidState, "command not allowed", None),
    row(0x6981, Device, "command incompatible with file structure", None),
    row(0x6982, PermissionDenied, "security status not satisfied", Some("log in with the user PIN first")),
    row(0x6983, Blocked, "authentication method blocked", None),
    row(0x6984, InvalidState, "reference data not usable", Some("transport PIN active, or key use counter expired")),
    row(0x6985, InvalidState, "conditions of use not satisfied", None),
    row(0x6986, InvalidState, "command not allowed (no current EF)", Some("e.g. resetting the retry counter is disabled")),
    row(0x6987, Device, "expected secure messaging data objects missing", None),
    row(0x6988, Device, "incorrect secure messaging data objects", None),
    row(0x6A80, InvalidInput, "incorrect data", Some("e.g. the wrapped key does not match the DKEK")),
    row(0x6A81, Unsupported, "function not supported", Some("or not allowed for this key")),
    row(0x6A82, NotFound, "file not found", Some("no such file or key")),
    row(0x6A83, Device, "record not found", None),
    row(0x6A84, Device, "not enough memory space", Some("or key use counter exhausted")),
    row(0x6A86, InvalidInput, "incorrect parameters P1-P2", None),
    row(0x6A88, NotFound, "referenced data not found", Some("not initialised, no DKEK, or no such key")),
    row(0x6A89, AlreadyExists, "file already exists", None),
    row(0x6B00, InvalidInput, "wrong parameters P1-P2", None),
    row(0x6D00, Unsupported, "instruction not supported", Some("or the applet is not selected")),
    row(0x6E00, Unsupported, "class not supported", Some("or the applet is not selected")),
    row(0x6F00, Device, "no precise diagnosis", Some("internal card error")),
];

impl StatusWord {
    /// `9000`.
    pub const OK: Self = Self(0x9000);
    /// `6982` security status not satisfied: the user PIN is not (or no longer) verified.
    pub const SECURITY_STATUS_NOT_SATISFIED: Self = Self(0x6982);

    fn row(self) -> Option<&'static Meaning> {
        TABLE.iter().find(|m| m.sw == self.0)
    }

    /// Whether this is `9000`.
    #[must_use]
    pub fn is_success(self) -> bool {
        self.0 == 0x9000
    }

    /// For `63Cx`: the number of tries left.
    #[must_use]
    pub fn tries_left(self) -> Option<u8> {
        (self.0 & 0xFFF0 == 0x63C0).then_some((self.0 & 0x0F) as u8)
    }

    /// The [`ErrorKind`] this status word maps onto (see the module documentation).
    #[must_use]
    pub fn kind(self) -> ErrorKind {
        match (self.tries_left(), self.row()) {
            (Some(n), _) => ErrorKind::AuthenticationFailed {
                retries_left: Some(u32::from(n)),
            },
            (None, Some(m)) => m.kind,
            (None, None) => Device,
        }
    }

    /// Whether the card answers like this when the PIN is not verified or the applet is not
    /// selected (`6982`, `6D00`, `6E00`): logging in again may help.
    #[must_use]
    pub fn means_logged_out(self) -> bool {
        matches!(self.0, 0x6982 | 0x6D00 | 0x6E00)
    }

    /// The status word's ISO/IEC 7816-4 name (`6400` → "execution error"); "unknown status
    /// word" for one the standard does not name.
    #[must_use]
    pub fn name(self) -> &'static str {
        if let Some(m) = self.row() {
            return m.name;
        }
        match self.0 & 0xFF00 {
            _ if self.tries_left().is_some() => "verification failed",
            0x6100 => "more response bytes available",
            0x6C00 => "wrong Le field",
            _ => "unknown status word",
        }
    }

    /// What the status word says on a SmartCard-HSM in particular, where that is more than its
    /// name (`6982` → "log in with the user PIN first").
    #[must_use]
    pub fn hint(self) -> Option<&'static str> {
        if self.tries_left().is_some() {
            return Some("wrong PIN");
        }
        self.row().and_then(|m| m.hint)
    }

    /// The name and, where there is one, the SmartCard-HSM hint: "security status not
    /// satisfied (log in with the user PIN first)".
    #[must_use]
    pub fn meaning(self) -> String {
        match self.hint() {
            Some(hint) => format!("{} ({hint})", self.name()),
            None => self.name().to_owned(),
        }
    }
}

impl fmt::Debug for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SW {:04X}", self.0)
    }
}

impl fmt::Display for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SW {:04X} {}", self.0, self.name())
    }
}

/// The [`hsm_core::Error`] a non-`9000` status word stands for (kind from
/// [`StatusWord::kind`]), with the SW attached. The message names the status word ("execution
/// error"); the error's `Display` adds it in hex (`[SW 6400]`).
#[must_use]
pub fn error_for_status(sw: u16, operation: &'static str) -> Error {
    let s = StatusWord(sw);
    let message = match s.tries_left() {
        Some(n) => format!("{}: wrong PIN, {n} tries left", s.name()),
        None => s.meaning(),
    };
    Error::new(s.kind(), operation)
        .with_message(message)
        .with_status(DeviceStatus::StatusWord(sw))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapping() {
        let e = error_for_status(0x63C1, "sc-hsm.verify");
        assert_eq!(e.retries_left(), Some(1));
        assert!(e.to_string().contains("1 tries left"), "{e}");
        assert_eq!(
            error_for_status(0x6983, "sc-hsm.test").kind(),
            ErrorKind::Blocked
        );
        assert_eq!(
            error_for_status(0x6A88, "sc-hsm.test").kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            error_for_status(0x6A82, "sc-hsm.test").kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            error_for_status(0x6A89, "sc-hsm.test").kind(),
            ErrorKind::AlreadyExists
        );
        assert_eq!(
            error_for_status(0x6982, "sc-hsm.test").kind(),
            ErrorKind::PermissionDenied
        );
        assert_eq!(
            error_for_status(0x6A81, "sc-hsm.test").kind(),
            ErrorKind::Unsupported
        );
        assert_eq!(
            error_for_status(0x6A80, "sc-hsm.test").kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            error_for_status(0x6984, "sc-hsm.test").kind(),
            ErrorKind::InvalidState
        );
        assert_eq!(
            error_for_status(0x6F00, "sc-hsm.test").kind(),
            ErrorKind::Device
        );
        assert_eq!(
            error_for_status(0x6400, "sc-hsm.test").kind(),
            ErrorKind::Device
        );
        assert_eq!(
            error_for_status(0x6A88, "sc-hsm.test").status(),
            Some(&DeviceStatus::StatusWord(0x6A88))
        );
        assert_eq!(StatusWord(0x63C0).tries_left(), Some(0));
        assert_eq!(StatusWord(0x6300).tries_left(), None);
    }

    /// The table names each status word once, and no row of it is a 63Cx word (that family
    /// is handled before the table is read).
    #[test]
    fn table_has_each_status_word_once() {
        for (i, m) in TABLE.iter().enumerate() {
            assert!(
                TABLE.iter().skip(i + 1).all(|o| o.sw != m.sw),
                "{:04X}",
                m.sw
            );
            assert_eq!(StatusWord(m.sw).tries_left(), None, "{:04X}", m.sw);
            assert_eq!(StatusWord(m.sw).kind(), m.kind, "{:04X}", m.sw);
        }
        assert_eq!(StatusWord(0x6A8F).kind(), ErrorKind::Device);
        assert!(StatusWord::SECURITY_STATUS_NOT_SATISFIED.means_logged_out());
        assert!(!StatusWord(0x6A82).means_logged_out());
    }

    /// Every status word the library meets, with its ISO/IEC 7816-4 name: the name is in the
    /// error's message, the word in hex in its `Display`, and its decimal value nowhere.
    #[test]
    fn named_status_words_in_errors() {
        let table: &[(u16, &str)] = &[
            (0x6282, "end of file reached before reading Ne bytes"),
            (0x6400, "execution error"),
            (0x6581, "memory failure"),
            (0x6700, "wrong length"),
            (0x6900, "command not allowed"),
            (0x6982, "security status not satisfied"),
            (0x6983, "authentication method blocked"),
            (0x6984, "reference data not usable"),
            (0x6985, "conditions of use not satisfied"),
            (0x6986, "command not allowed (no current EF)"),
            (0x6A80, "incorrect data"),
            (0x6A81, "function not supported"),
            (0x6A82, "file not found"),
            (0x6A84, "not enough memory space"),
            (0x6A86, "incorrect parameters P1-P2"),
            (0x6A88, "referenced data not found"),
            (0x6A89, "file already exists"),
            (0x6B00, "wrong parameters P1-P2"),
            (0x6D00, "instruction not supported"),
            (0x6E00, "class not supported"),
            (0x6F00, "no precise diagnosis"),
            (0x63C0, "verification failed"),
            (0x63C2, "verification failed"),
            (0x63CF, "verification failed"),
            (0x6110, "more response bytes available"),
            (0x6C20, "wrong Le field"),
            (0x6123, "more response bytes available"),
            (0x6A8F, "unknown status word"),
        ];
        for &(sw, name) in table {
            let word = StatusWord(sw);
            let hex = format!("{sw:04X}");
            let decimal = sw.to_string();
            assert_eq!(word.name(), name, "{hex}");
            assert_eq!(format!("{word:?}"), format!("SW {hex}"));
            assert_eq!(word.to_string(), format!("SW {hex} {name}"));
            let e = error_for_status(sw, "sc-hsm.test");
            let shown = e.to_string();
            assert!(shown.contains(&format!("SW {hex}")), "{shown}");
            assert!(shown.contains(name), "{shown}");
            assert!(e.message().is_some_and(|m| m.contains(name)), "{shown}");
            assert!(!shown.contains(&decimal), "{shown} shows {decimal}");
        }
    }
}
