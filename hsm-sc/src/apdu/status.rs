//! Status words and their meaning on the SmartCard-HSM, mapped onto [`hsm_core::ErrorKind`].

use std::fmt;

use hsm_core::{DeviceStatus, Error, ErrorKind};

/// A status word `SW1 SW2`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatusWord(pub u16);

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

    /// What the status word means on a SmartCard-HSM.
    #[must_use]
    pub fn meaning(self) -> &'static str {
        match self.0 {
            0x9000 => "success",
            0x6282 => "end of file reached before Ne bytes",
            sw if sw & 0xFFF0 == 0x63C0 => "wrong PIN",
            0x6581 => "memory failure",
            0x6700 => "wrong length",
            0x6900 => "command not allowed",
            0x6982 => "security status not satisfied (log in with the user PIN first)",
            0x6983 => "authentication method blocked",
            0x6984 => {
                "reference data not usable (transport PIN active, or key use counter expired)"
            }
            0x6985 => "conditions of use not satisfied",
            0x6986 => "command not allowed (e.g. resetting the retry counter is disabled)",
            0x6A80 => "incorrect data (e.g. the wrapped key does not match the DKEK)",
            0x6A81 => "function not supported or not allowed for this key",
            0x6A82 => "file or key not found",
            0x6A84 => "not enough memory (or key use counter exhausted)",
            0x6A86 | 0x6B00 => "incorrect parameters P1-P2",
            0x6A88 => "referenced data not found (not initialised, no DKEK, or no such key)",
            0x6D00 => "instruction not supported (or the applet is not selected)",
            0x6E00 => "class not supported (or the applet is not selected)",
            0x6F00 => "internal card error",
            _ => "unexpected status word",
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
        write!(f, "{:04X} ({})", self.0, self.meaning())
    }
}

/// The [`hsm_core::Error`] a non-`9000` status word stands for, with the SW attached.
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
        0x6A81 | 0x6D00 | 0x6E00 => ErrorKind::Unsupported,
        0x6700 | 0x6A80 | 0x6A86 | 0x6B00 => ErrorKind::InvalidInput,
        0x6900 | 0x6984 | 0x6985 | 0x6986 => ErrorKind::InvalidState,
        _ => ErrorKind::Device,
    };
    let message = match s.tries_left() {
        Some(n) => format!("wrong PIN, {n} tries left"),
        None => s.meaning().to_owned(),
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
        assert_eq!(
            error_for_status(0x6A88, "x").status(),
            Some(&DeviceStatus::StatusWord(0x6A88))
        );
        assert_eq!(StatusWord(0x63C0).tries_left(), Some(0));
        assert_eq!(StatusWord(0x6300).tries_left(), None);
    }
}
