//! Status words: their ISO/IEC 7816-4 names, what they mean on the SmartCard-HSM, and the
//! [`hsm_core::ErrorKind`] each one maps onto.
//!
//! A status word is always shown as four hex digits (`SW 6400`), never as a number.

use std::fmt;

use hsm_core::{DeviceStatus, Error, ErrorKind};

/// A status word `SW1 SW2`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatusWord(pub u16);

/// ISO/IEC 7816-4 names of the status words with a fixed value (the `61xx`, `63Cx` and `6Cxx`
/// families are named in [`StatusWord::name`]).
const NAMES: &[(u16, &str)] = &[
    (0x9000, "success"),
    (0x6281, "part of returned data may be corrupted"),
    (0x6282, "end of file reached before reading Ne bytes"),
    (0x6283, "selected file deactivated"),
    (0x6300, "verification failed"),
    (0x6400, "execution error"),
    (0x6581, "memory failure"),
    (0x6700, "wrong length"),
    (0x6881, "logical channel not supported"),
    (0x6882, "secure messaging not supported"),
    (0x6900, "command not allowed"),
    (0x6981, "command incompatible with file structure"),
    (0x6982, "security status not satisfied"),
    (0x6983, "authentication method blocked"),
    (0x6984, "reference data not usable"),
    (0x6985, "conditions of use not satisfied"),
    (0x6986, "command not allowed (no current EF)"),
    (0x6987, "expected secure messaging data objects missing"),
    (0x6988, "incorrect secure messaging data objects"),
    (0x6A80, "incorrect data"),
    (0x6A81, "function not supported"),
    (0x6A82, "file not found"),
    (0x6A83, "record not found"),
    (0x6A84, "not enough memory space"),
    (0x6A86, "incorrect parameters P1-P2"),
    (0x6A88, "referenced data not found"),
    (0x6A89, "file already exists"),
    (0x6B00, "wrong parameters P1-P2"),
    (0x6D00, "instruction not supported"),
    (0x6E00, "class not supported"),
    (0x6F00, "no precise diagnosis"),
];

impl StatusWord {
    /// `9000`.
    pub const OK: Self = Self(0x9000);

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

    /// The status word's ISO/IEC 7816-4 name (`6400` → "execution error"); "unknown status
    /// word" for one the standard does not name.
    #[must_use]
    pub fn name(self) -> &'static str {
        if let Some((_, name)) = NAMES.iter().find(|(sw, _)| *sw == self.0) {
            return name;
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
        Some(match self.0 {
            sw if sw & 0xFFF0 == 0x63C0 => "wrong PIN",
            0x6400 => "the card could not carry out the command",
            0x6982 => "log in with the user PIN first",
            0x6984 => "transport PIN active, or key use counter expired",
            0x6986 => "e.g. resetting the retry counter is disabled",
            0x6A80 => "e.g. the wrapped key does not match the DKEK",
            0x6A81 => "or not allowed for this key",
            0x6A82 => "no such file or key",
            0x6A84 => "or key use counter exhausted",
            0x6A88 => "not initialised, no DKEK, or no such key",
            0x6D00 | 0x6E00 => "or the applet is not selected",
            0x6F00 => "internal card error",
            _ => return None,
        })
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

/// The [`hsm_core::Error`] a non-`9000` status word stands for, with the SW attached. The
/// message names the status word ("execution error"); the error's `Display` adds it in hex
/// (`[SW 6400]`).
#[must_use]
pub fn error_for_status(sw: u16, operation: &'static str) -> Error {
    let s = StatusWord(sw);
    let kind = match sw {
        _ if s.tries_left().is_some() => ErrorKind::AuthenticationFailed {
            retries_left: s.tries_left().map(u32::from),
        },
        0x6983 => ErrorKind::Blocked,
        0x6982 => ErrorKind::PermissionDenied,
        0x6A82 | 0x6A88 => ErrorKind::NotFound,
        0x6A89 => ErrorKind::AlreadyExists,
        0x6A81 | 0x6D00 | 0x6E00 => ErrorKind::Unsupported,
        0x6700 | 0x6A80 | 0x6A86 | 0x6B00 => ErrorKind::InvalidInput,
        0x6900 | 0x6984 | 0x6985 | 0x6986 => ErrorKind::InvalidState,
        _ => ErrorKind::Device,
    };
    let message = match s.tries_left() {
        Some(n) => format!("{}: wrong PIN, {n} tries left", s.name()),
        None => s.meaning(),
    };
    Error::new(kind, operation)
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
        assert_eq!(error_for_status(0x6983, "x").kind(), ErrorKind::Blocked);
        assert_eq!(error_for_status(0x6A88, "x").kind(), ErrorKind::NotFound);
        assert_eq!(error_for_status(0x6A82, "x").kind(), ErrorKind::NotFound);
        assert_eq!(
            error_for_status(0x6A89, "x").kind(),
            ErrorKind::AlreadyExists
        );
        assert_eq!(
            error_for_status(0x6982, "x").kind(),
            ErrorKind::PermissionDenied
        );
        assert_eq!(error_for_status(0x6A81, "x").kind(), ErrorKind::Unsupported);
        assert_eq!(
            error_for_status(0x6A80, "x").kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            error_for_status(0x6984, "x").kind(),
            ErrorKind::InvalidState
        );
        assert_eq!(error_for_status(0x6F00, "x").kind(), ErrorKind::Device);
        assert_eq!(error_for_status(0x6400, "x").kind(), ErrorKind::Device);
        assert_eq!(
            error_for_status(0x6A88, "x").status(),
            Some(&DeviceStatus::StatusWord(0x6A88))
        );
        assert_eq!(StatusWord(0x63C0).tries_left(), Some(0));
        assert_eq!(StatusWord(0x6300).tries_left(), None);
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
