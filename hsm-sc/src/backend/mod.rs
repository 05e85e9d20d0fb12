//! [`ScHsm`]: the `KeyStore + Signer` backend over one SmartCard-HSM.

mod admin;
mod certificates;
mod keys;
mod sign;

use std::fmt;
use std::sync::{Mutex, MutexGuard};

use hsm_core::{DeviceStatus, Error, ErrorKind, Result};
use secrecy::SecretString;

use crate::client::card::{Commands, ScClient};
use crate::client::pin::PinStatus;
use crate::protocol::status::StatusWord;

pub use keys::KeyEntry;

/// The backend name reported by [`hsm_core::KeyStore::backend`].
pub const BACKEND: &str = "sc-hsm";

/// A SmartCard-HSM / Nitrokey HSM 2 as a [`hsm_core::KeyStore`] and [`hsm_core::Signer`].
///
/// Keys are found by label (`KeyId::name`) or by PKCS#15 id (`KeyId::from_bytes`), exactly as
/// OpenSC shows them. The user PIN is verified once, inside a PC/SC transaction together with
/// the first operation that needs it; afterwards each signature is one APDU. If another process
/// logs the card out (by selecting the applet), the next operation logs in again with the same
/// PIN, once. A PIN the card rejected is never sent again by this value. After the card was
/// removed (or the reader or pcscd went away), operations that need the PIN fail until the
/// caller calls [`ScHsm::login`], which checks the serial number of the card now present.
pub struct ScHsm {
    inner: Mutex<Inner>,
    /// What the card behind the channel lives in, kept as long as the backend (the simulator of
    /// `sc-hsm+sim:`).
    #[cfg(feature = "sim")]
    _keep_alive: Option<Box<dyn std::any::Any + Send + Sync>>,
}

pub(crate) struct Inner {
    pub(crate) card: ScClient,
    pin: Option<SecretString>,
    pin_rejected: bool,
    /// The card, reader or pcscd went away since the last login: the PIN is not sent again
    /// until the caller calls [`ScHsm::login`] (the card in the reader may be another one).
    card_lost: bool,
    pub(crate) keys: Option<Vec<KeyEntry>>,
    pub(crate) serial: Option<String>,
}

impl fmt::Debug for ScHsm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("ScHsm");
        if let Ok(inner) = self.inner.try_lock() {
            let _ = d
                .field("card", &inner.card)
                .field("serial", &inner.serial)
                .field("pin", &inner.pin.as_ref().map(|_| "<redacted>"));
        }
        d.finish_non_exhaustive()
    }
}

fn needs_login(e: &Error) -> bool {
    matches!(e.status(), Some(DeviceStatus::StatusWord(sw)) if StatusWord(*sw).means_logged_out())
        || was_reset(e)
}

impl ScHsm {
    /// A backend over `card`, logging in with `pin` when an operation needs it. Selects the
    /// applet and reads the device serial number (EF 2F02).
    ///
    /// # Errors
    /// The card has no SmartCard-HSM applet or does not answer.
    pub fn new(card: ScClient, pin: Option<SecretString>) -> Result<Self> {
        let mut inner = Inner {
            card,
            pin,
            pin_rejected: false,
            card_lost: false,
            keys: None,
            serial: None,
        };
        inner.card.run(|c| c.select_applet().map(drop))?;
        inner.serial = inner.card.run(crate::client::device::read_serial).ok();
        Ok(Self {
            inner: Mutex::new(inner),
            #[cfg(feature = "sim")]
            _keep_alive: None,
        })
    }

    #[cfg(feature = "sim")]
    pub(crate) fn keep_alive(mut self, owner: Box<dyn std::any::Any + Send + Sync>) -> Self {
        self._keep_alive = Some(owner);
        self
    }

    pub(crate) fn lock(&self) -> Result<MutexGuard<'_, Inner>> {
        self.inner.lock().map_err(|_| {
            Error::new(ErrorKind::Device, "sc-hsm.lock")
                .with_message("a previous operation panicked")
        })
    }

    /// How many APDUs this backend has sent.
    ///
    /// # Errors
    /// Only if a previous operation panicked.
    pub fn apdu_count(&self) -> Result<u64> {
        Ok(self.lock()?.card.apdu_count())
    }

    /// The device serial number (from the device certificate), if it could be read.
    ///
    /// # Errors
    /// Only if a previous operation panicked.
    pub fn serial(&self) -> Result<Option<String>> {
        Ok(self.lock()?.serial.clone())
    }

    /// Runs `f` on the card directly (the whole command set). The key list is re-read
    /// afterwards.
    ///
    /// # Errors
    /// Whatever `f` returns.
    pub fn with_card<T>(&self, f: impl FnOnce(&mut ScClient) -> Result<T>) -> Result<T> {
        let mut inner = self.lock()?;
        inner.keys = None;
        f(&mut inner.card)
    }

    /// Forgets the key table read from the card, so that the next operation reads it again.
    /// Keys are cached after the first enumeration; a key another program added is found
    /// anyway, but call this after another program deleted or replaced keys.
    ///
    /// # Errors
    /// Only if a previous operation panicked.
    pub fn refresh_keys(&self) -> Result<()> {
        self.lock()?.keys = None;
        Ok(())
    }

    /// Sets the user PIN used from now on (and forgets that an earlier one was rejected).
    ///
    /// # Errors
    /// Only if a previous operation panicked.
    pub fn set_pin(&self, pin: SecretString) -> Result<()> {
        let mut inner = self.lock()?;
        inner.pin = Some(pin);
        inner.pin_rejected = false;
        Ok(())
    }

    /// The user PIN's status (tries left, blocked, ...), without sending a PIN.
    ///
    /// # Errors
    /// Transport failures.
    pub fn pin_status(&self) -> Result<PinStatus> {
        self.lock()?
            .plain(|c| c.pin_status(crate::client::pin::PinRef::User))
    }

    /// Verifies the configured user PIN now (selecting the applet first if needed).
    ///
    /// After the card was removed (or the reader or pcscd went away), operations that need the
    /// PIN fail until this is called: it checks that the card now in the reader has the same
    /// serial number as before, and only then sends the PIN.
    ///
    /// # Errors
    /// As [`Commands::verify_pin`]; [`ErrorKind::PermissionDenied`] without a PIN;
    /// [`ErrorKind::Unavailable`] while there is no card; [`ErrorKind::InvalidState`] when a
    /// card with another serial number is in the reader.
    pub fn login(&self) -> Result<()> {
        const OP: &str = "sc-hsm.login";
        let mut inner = self.lock()?;
        if inner.card_lost {
            let serial = inner.plain(crate::client::device::read_serial)?;
            if let Some(known) = inner.serial.as_deref().filter(|k| *k != serial) {
                return Err(
                    Error::new(ErrorKind::InvalidState, OP).with_message(format!(
                        "the card in the reader now is {serial}, not {known}; not sending the PIN"
                    )),
                );
            }
            inner.card_lost = false;
            inner.keys = None;
        }
        inner.logged_in(OP, |_| Ok(()))
    }
}

impl ScHsm {
    /// The readiness check behind [`hsm_core::KeyStore::health`]: SELECT (when the applet is
    /// not selected) and the PIN status (VERIFY without data), never a PIN. Verified, or not yet
    /// verified with a PIN to send at the first operation that needs it: ready.
    pub(crate) fn check_health(&self) -> Result<()> {
        const OP: &str = "sc-hsm.health";
        let mut inner = self.lock()?;
        let status = inner
            .plain(|c| c.pin_status(crate::client::pin::PinRef::User))
            .map_err(|e| e.with_operation(OP))?;
        if inner.card_lost {
            return Err(Error::new(ErrorKind::InvalidState, OP).with_message(
                "the card was removed (or the reader or pcscd went away) since the last login; \
                 call login() to check it is the same card",
            ));
        }
        match status {
            PinStatus::Verified => Ok(()),
            PinStatus::TriesLeft(n) if inner.pin_rejected => Err(Error::new(
                ErrorKind::AuthenticationFailed {
                    retries_left: Some(u32::from(n)),
                },
                OP,
            )
            .with_message("the card rejected the configured PIN; set a new one")),
            PinStatus::TriesLeft(_) if inner.pin.is_none() => {
                Err(Error::new(ErrorKind::PermissionDenied, OP)
                    .with_message("not logged in and no user PIN was given: keys cannot be used"))
            }
            PinStatus::TriesLeft(_) => Ok(()),
            PinStatus::Blocked => Err(Error::new(ErrorKind::Blocked, OP)
                .with_message("the user PIN is blocked; unblock it with the SO-PIN")),
            PinStatus::TransportPin => Err(Error::new(ErrorKind::InvalidState, OP)
                .with_message("the transport PIN is active: change the PIN first")),
            PinStatus::NotInitialized => Err(Error::new(ErrorKind::InvalidState, OP)
                .with_message("the device is not initialised (no user PIN)")),
        }
    }
}

impl Inner {
    /// Runs `f`, which needs the user PIN: directly when already logged in (one round trip per
    /// command), otherwise inside a transaction after VERIFY. One re-login when the card says
    /// the login was lost; never a second VERIFY after a rejected PIN.
    pub(crate) fn logged_in<T>(
        &mut self,
        operation: &'static str,
        f: impl FnMut(&mut Commands<'_>) -> Result<T>,
    ) -> Result<T> {
        let r = self.logged_in_once(operation, f);
        self.note_loss(r)
    }

    fn logged_in_once<T>(
        &mut self,
        operation: &'static str,
        mut f: impl FnMut(&mut Commands<'_>) -> Result<T>,
    ) -> Result<T> {
        if self.card_lost {
            return Err(Error::new(ErrorKind::InvalidState, operation).with_message(
                "the card was removed (or the reader or pcscd went away) since the last login; \
                 call login() once it is back: the PIN is not sent to a card on its own",
            ));
        }
        let st = self.card.state();
        if st.selected && st.user_authenticated {
            match self.card.run(&mut f) {
                Err(e) if needs_login(&e) => {
                    tracing::debug!("the card lost the login; logging in again");
                }
                other => return other,
            }
        }
        if self.pin_rejected {
            return Err(Error::new(ErrorKind::AuthenticationFailed { retries_left: None }, operation)
                .with_message("the card rejected the configured PIN earlier; not sending it again (set a new PIN)"));
        }
        let pin = self.pin.clone().ok_or_else(|| {
            Error::new(ErrorKind::PermissionDenied, operation)
                .with_message("this operation needs the user PIN and none was given (pin-env=, pin-source= or pin-value=)")
        })?;
        let mut rejected = false;
        let r = self.card.run_exclusive(|c| {
            if !c.state().selected {
                let _ = c.select_applet()?;
            }
            if let Err(e) = c.verify_pin(&pin) {
                rejected = matches!(
                    e.kind(),
                    ErrorKind::AuthenticationFailed { .. } | ErrorKind::Blocked
                );
                return Err(e.with_operation(operation));
            }
            f(c)
        });
        if rejected {
            self.pin_rejected = true;
        }
        r
    }

    /// Runs `f` without a PIN, selecting the applet first if needed; once more if another
    /// process reset the card in between.
    pub(crate) fn plain<T>(
        &mut self,
        mut f: impl FnMut(&mut Commands<'_>) -> Result<T>,
    ) -> Result<T> {
        let mut run = |card: &mut ScClient| {
            card.run(|c| {
                if !c.state().selected {
                    let _ = c.select_applet()?;
                }
                f(c)
            })
        };
        let r = match run(&mut self.card) {
            Err(e) if was_reset(&e) => run(&mut self.card),
            other => other,
        };
        self.note_loss(r)
    }

    /// Remembers when a result says the card, reader or service went away.
    fn note_loss<T>(&mut self, r: Result<T>) -> Result<T> {
        if let Err(e) = &r
            && e.kind() == ErrorKind::Unavailable
            && !is_sharing_violation(e)
            && !self.card_lost
        {
            tracing::debug!("lost the card; the next PIN operation needs an explicit login");
            self.card_lost = true;
        }
        r
    }
}

/// Another process holds the card exclusively for a while: the card is still the same one.
fn is_sharing_violation(e: &Error) -> bool {
    matches!(e.status(), Some(DeviceStatus::PcSc(0x8010_000B)))
}

fn was_reset(e: &Error) -> bool {
    e.kind() == ErrorKind::InvalidState && matches!(e.status(), Some(DeviceStatus::PcSc(_)))
}
