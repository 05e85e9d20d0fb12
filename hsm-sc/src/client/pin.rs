//! PIN status, VERIFY, CHANGE REFERENCE DATA and RESET RETRY COUNTER, with the SO-PIN safety
//! rule: the SO-PIN retry counter is read before an SO-PIN is sent, and the command is refused
//! when one try or fewer is left unless the caller forces it. Nothing here retries a PIN.

use std::fmt;

use hsm_core::{DeviceStatus, Error, ErrorKind, Result};
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use crate::client::card::Commands;
use crate::protocol::apdu::Apdu;
use crate::protocol::status::StatusWord;

/// A PIN reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PinRef {
    /// The user PIN (`81`).
    User,
    /// The security officer PIN / initialisation code (`88`).
    So,
}

impl PinRef {
    fn p2(self) -> u8 {
        match self {
            Self::User => 0x81,
            Self::So => 0x88,
        }
    }
}

/// What the card says about a PIN without one being sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PinStatus {
    /// Verified since the applet was selected.
    Verified,
    /// Not verified; this many tries left.
    TriesLeft(u8),
    /// Blocked (no tries left).
    Blocked,
    /// The transport PIN is active: it must be changed before use.
    TransportPin,
    /// The PIN is not set: the device was never initialised.
    NotInitialized,
}

impl PinStatus {
    /// What the status word of a VERIFY without data means; `None` for a status word that is
    /// not a PIN status (an error).
    #[must_use]
    pub fn from_status_word(sw: StatusWord) -> Option<Self> {
        Some(match sw.0 {
            0x9000 => Self::Verified,
            0x6983 => Self::Blocked,
            0x6984 => Self::TransportPin,
            0x6A88 => Self::NotInitialized,
            _ => match sw.tries_left()? {
                0 => Self::Blocked,
                n => Self::TriesLeft(n),
            },
        })
    }
}

/// The SO-PIN: 16 hexadecimal digits, sent as 8 bytes. Never printed.
#[derive(Clone)]
pub struct SoPin(Zeroizing<[u8; 8]>);

impl SoPin {
    /// The factory SO-PIN of new SmartCard-HSM and Nitrokey HSM devices, `3537363231383830`.
    /// Change it at once on a real device.
    #[must_use]
    pub fn factory_default() -> Self {
        Self(Zeroizing::new(*b"57621880"))
    }

    /// Parses 16 hexadecimal digits.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] (without echoing the value) if it is not 16 hex digits.
    pub fn from_hex(pin: &SecretString) -> Result<Self> {
        let s = pin.expose_secret().trim();
        let mut out = Zeroizing::new([0u8; 8]);
        if s.len() != 16 || hex::decode_to_slice(s, out.as_mut_slice()).is_err() {
            return Err(Error::invalid_input(
                "sc-hsm.so_pin",
                "the SO-PIN must be exactly 16 hexadecimal digits",
            ));
        }
        Ok(Self(out))
    }

    /// The 8 bytes sent to the card.
    #[must_use]
    pub fn bytes(&self) -> &[u8; 8] {
        &self.0
    }
}

impl fmt::Debug for SoPin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SoPin(<redacted>)")
    }
}

/// Checks a user PIN's length (6..=16 bytes, as OpenSC's sc-hsm-tool enforces).
///
/// # Errors
/// [`ErrorKind::InvalidInput`] naming the rule, never the PIN.
pub fn check_user_pin(pin: &SecretString) -> Result<()> {
    let n = pin.expose_secret().len();
    if (6..=16).contains(&n) {
        Ok(())
    } else {
        Err(Error::invalid_input(
            "sc-hsm.pin",
            format!("a user PIN is 6 to 16 characters, this one has {n}"),
        ))
    }
}

impl Commands<'_> {
    /// Asks the card for a PIN's status (VERIFY without data). Costs no try.
    ///
    /// # Errors
    /// Transport failures; unexpected status words.
    pub fn pin_status(&mut self, pin: PinRef) -> Result<PinStatus> {
        const OP: &str = "sc-hsm.pin_status";
        let r = self.transmit(&Apdu::new(0x00, 0x20, 0x00, pin.p2()), OP)?;
        match PinStatus::from_status_word(r.sw()) {
            Some(status) => Ok(status),
            None => Err(r
                .success(OP)
                .err()
                .unwrap_or_else(|| Error::new(ErrorKind::Device, OP))),
        }
    }

    /// Verifies the user PIN once. A wrong PIN is reported with the tries left and is never
    /// retried.
    ///
    /// # Errors
    /// [`ErrorKind::AuthenticationFailed`] with `retries_left`, [`ErrorKind::Blocked`],
    /// [`ErrorKind::InvalidState`] (transport PIN), [`ErrorKind::NotFound`] (not initialised).
    pub fn verify_pin(&mut self, pin: &SecretString) -> Result<()> {
        const OP: &str = "sc-hsm.verify_pin";
        check_user_pin(pin)?;
        let data = Zeroizing::new(pin.expose_secret().as_bytes().to_vec());
        let apdu = Apdu::new(0x00, 0x20, 0x00, 0x81).with_secret_data(data);
        let r = self.send(&apdu, OP);
        self.state_mut().user_authenticated = r.is_ok();
        r.map(drop).map_err(|e| match e.kind() {
            ErrorKind::AuthenticationFailed { retries_left } => e.with_message(format!(
                "verification failed: wrong user PIN, {} tries left",
                retries_left.unwrap_or(0)
            )),
            ErrorKind::Blocked => e.with_message(
                "authentication method blocked: the user PIN is blocked; unblock it with the SO-PIN",
            ),
            _ => e,
        })
    }

    /// Changes the user PIN (also leaves transport-PIN mode).
    ///
    /// # Errors
    /// As [`Self::verify_pin`].
    pub fn change_pin(&mut self, old: &SecretString, new: &SecretString) -> Result<()> {
        const OP: &str = "sc-hsm.change_pin";
        check_user_pin(new)?;
        let mut data = Zeroizing::new(old.expose_secret().as_bytes().to_vec());
        data.extend_from_slice(new.expose_secret().as_bytes());
        self.send(
            &Apdu::new(0x00, 0x24, 0x00, 0x81).with_secret_data(data),
            OP,
        )
        .map(drop)
    }

    /// Reads the SO-PIN retry counter and refuses when one try or fewer is left, unless
    /// `force`. Returns the number of tries left.
    ///
    /// # Errors
    /// [`ErrorKind::Blocked`], or [`ErrorKind::InvalidState`] when refusing.
    pub fn check_so_tries(&mut self, force: bool, operation: &'static str) -> Result<Option<u8>> {
        match self.pin_status(PinRef::So)? {
            PinStatus::Blocked => Err(Error::new(ErrorKind::Blocked, operation)
                .with_message("the SO-PIN is blocked: the device cannot be re-initialised")),
            PinStatus::TriesLeft(n) if n <= 1 && !force => {
                Err(
                    Error::new(ErrorKind::InvalidState, operation).with_message(format!(
                        "only {n} SO-PIN try left: a wrong SO-PIN now blocks the device for good; \
                     refusing to send it without `force`"
                    )),
                )
            }
            PinStatus::TriesLeft(n) => Ok(Some(n)),
            _ => Ok(None),
        }
    }

    /// Turns a failure of a command that carried the SO-PIN into an authentication error that
    /// says how many SO-PIN tries are left (read afterwards, without sending a PIN).
    pub(crate) fn so_pin_failure(&mut self, e: Error, operation: &'static str) -> Error {
        let wrong_pin = matches!(
            e.kind(),
            ErrorKind::AuthenticationFailed { .. }
                | ErrorKind::PermissionDenied
                | ErrorKind::InvalidState
        );
        if !wrong_pin {
            return e;
        }
        let status = e.status().cloned();
        let answer = match &status {
            Some(DeviceStatus::StatusWord(sw)) => StatusWord(*sw).name(),
            _ => "no status word",
        };
        let left = match self.pin_status(PinRef::So) {
            Ok(PinStatus::TriesLeft(n)) => Some(n),
            Ok(PinStatus::Blocked) => Some(0),
            _ => e.retries_left().and_then(|n| u8::try_from(n).ok()),
        };
        let mut out = match left {
            Some(0) => Error::new(ErrorKind::Blocked, operation).with_message(format!(
                "wrong SO-PIN ({answer}); the SO-PIN is now blocked"
            )),
            Some(n) => Error::new(
                ErrorKind::AuthenticationFailed {
                    retries_left: Some(u32::from(n)),
                },
                operation,
            )
            .with_message(format!("wrong SO-PIN ({answer}), {n} tries left")),
            None => return e,
        };
        if let Some(s) = status {
            out = out.with_status(s);
        }
        out
    }

    /// Unblocks the user PIN with the SO-PIN (RESET RETRY COUNTER), setting `new_pin` if given
    /// (otherwise only the counter is reset). Reads the SO-PIN counter first (see
    /// [`Self::check_so_tries`]).
    ///
    /// # Errors
    /// [`ErrorKind::AuthenticationFailed`] with the SO-PIN tries left, [`ErrorKind::Blocked`],
    /// [`ErrorKind::InvalidState`] when refusing or when the device does not allow it.
    pub fn unblock_pin(
        &mut self,
        so_pin: &SoPin,
        new_pin: Option<&SecretString>,
        force: bool,
    ) -> Result<()> {
        const OP: &str = "sc-hsm.unblock_pin";
        let _ = self.check_so_tries(force, OP)?;
        let mut data = Zeroizing::new(so_pin.bytes().to_vec());
        let p1 = match new_pin {
            Some(p) => {
                check_user_pin(p)?;
                data.extend_from_slice(p.expose_secret().as_bytes());
                0x00
            }
            None => 0x01,
        };
        match self.send(&Apdu::new(0x00, 0x2C, p1, 0x81).with_secret_data(data), OP) {
            Ok(_) => Ok(()),
            Err(e) if e.status() == Some(&DeviceStatus::StatusWord(0x6986)) => Err(e),
            Err(e) => Err(self.so_pin_failure(e, OP)),
        }
    }

    /// Changes the SO-PIN. Reads the SO-PIN counter first (see [`Self::check_so_tries`]).
    ///
    /// # Errors
    /// As [`Self::unblock_pin`].
    pub fn change_so_pin(&mut self, old: &SoPin, new: &SoPin, force: bool) -> Result<()> {
        const OP: &str = "sc-hsm.change_so_pin";
        let _ = self.check_so_tries(force, OP)?;
        let mut data = Zeroizing::new(old.bytes().to_vec());
        data.extend_from_slice(new.bytes());
        match self.send(
            &Apdu::new(0x00, 0x24, 0x00, 0x88).with_secret_data(data),
            OP,
        ) {
            Ok(_) => Ok(()),
            Err(e) => Err(self.so_pin_failure(e, OP)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn so_pin_parsing_and_debug() {
        let p = SoPin::from_hex(&SecretString::from("3537363231383830")).unwrap();
        assert_eq!(p.bytes(), b"57621880");
        assert_eq!(p.bytes(), SoPin::factory_default().bytes());
        assert_eq!(format!("{p:?}"), "SoPin(<redacted>)");
        let e = SoPin::from_hex(&SecretString::from("35373632313838")).unwrap_err();
        assert!(!e.to_string().contains("3537"));
        assert!(SoPin::from_hex(&SecretString::from("353736323138383G")).is_err());
        assert!(check_user_pin(&SecretString::from("12345")).is_err());
        assert!(check_user_pin(&SecretString::from("123456")).is_ok());
    }
}
