//! Slots and their tokens: one backend per slot, opened when first needed (or at `C_Login` when
//! the user PIN is the backend's credential), and the token's login state.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use cryptoki_sys::*;
use hsm::Hsm;
use secrecy::SecretString;

use crate::config::{Scheme, SlotConfig};
use crate::error::{CkResult, Doing, from_hsm};

/// One configured slot.
#[derive(Debug)]
pub(crate) struct Slot {
    /// The slot id (its place in the configuration).
    pub id: CK_SLOT_ID,
    /// The backend family.
    pub scheme: Scheme,
    uri: String,
    /// The token label.
    pub label: String,
    /// The token serial.
    pub serial: String,
    /// Whether `C_Login` supplies the credential (the URI has none).
    pub pin_is_credential: bool,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    backend: Option<Arc<dyn Hsm>>,
    logged_in: bool,
    /// The configured credential was refused: not offered again until the module restarts.
    credential_refused: bool,
}

/// Pads `s` with spaces into a fixed PKCS#11 text field (truncating at a character boundary).
pub(crate) fn padded<const N: usize>(s: &str) -> [u8; N] {
    let mut out = [b' '; N];
    let mut end = s.len().min(N);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    if let (Some(dst), Some(src)) = (out.get_mut(..end), s.as_bytes().get(..end)) {
        dst.copy_from_slice(src);
    }
    out
}

fn version() -> CK_VERSION {
    CK_VERSION { major: 0, minor: 1 }
}

impl Slot {
    /// A slot from its configuration.
    ///
    /// # Errors
    /// A configuration error message (the configuration was checked on load, so this is rare).
    pub(crate) fn new(id: CK_SLOT_ID, config: &SlotConfig) -> Result<Self, String> {
        let scheme = config.scheme().map_err(|e| e.0)?;
        Ok(Self {
            id,
            scheme,
            uri: config.uri.clone(),
            label: config
                .label
                .clone()
                .unwrap_or_else(|| scheme.name().to_owned()),
            serial: config.serial.clone().unwrap_or_else(|| format!("{id:04}")),
            pin_is_credential: !config.has_credential().map_err(|e| e.0)?,
            state: Mutex::new(State::default()),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the application is logged in (always, for a slot whose URI holds the credential).
    pub(crate) fn logged_in(&self) -> bool {
        !self.pin_is_credential || self.state().logged_in
    }

    /// The backend, opening it with the configured credential if needed. The slot's lock is not
    /// held while connecting.
    ///
    /// # Errors
    /// `CKR_USER_NOT_LOGGED_IN` when the PIN is the credential and nobody logged in; the
    /// backend's errors while opening.
    pub(crate) fn backend(&self) -> CkResult<Arc<dyn Hsm>> {
        {
            let state = self.state();
            if let Some(b) = &state.backend {
                return Ok(Arc::clone(b));
            }
            if self.pin_is_credential {
                return Err(CKR_USER_NOT_LOGGED_IN);
            }
            if state.credential_refused {
                return Err(CKR_PIN_INCORRECT);
            }
        }
        let opened = crate::open::open(self.scheme, &self.uri, None);
        let mut state = self.state();
        match opened {
            Ok(b) => {
                // Another thread may have opened it meanwhile: keep the first.
                let kept = state.backend.get_or_insert(b);
                Ok(Arc::clone(kept))
            }
            Err(e) => {
                if e.is_auth() {
                    state.credential_refused = true;
                }
                tracing::error!(slot = self.id, error = %e, "cannot open the slot's backend");
                Err(from_hsm(Doing::Objects, &e))
            }
        }
    }

    /// The backend if it is open (no connection attempt).
    pub(crate) fn open_backend(&self) -> Option<Arc<dyn Hsm>> {
        self.state().backend.clone()
    }

    /// `C_Login` as the user.
    ///
    /// # Errors
    /// `CKR_USER_ALREADY_LOGGED_IN`, `CKR_PIN_INCORRECT`, `CKR_PIN_LOCKED`, `CKR_DEVICE_ERROR`.
    pub(crate) fn login(&self, pin: &SecretString) -> CkResult<()> {
        if !self.pin_is_credential {
            // The configured credential is the login; the PIN is not used for anything.
            let mut state = self.state();
            if state.logged_in {
                return Err(CKR_USER_ALREADY_LOGGED_IN);
            }
            state.logged_in = true;
            return Ok(());
        }
        if self.state().logged_in {
            return Err(CKR_USER_ALREADY_LOGGED_IN);
        }
        let hsm = crate::open::open(self.scheme, &self.uri, Some(pin))
            .map_err(|e| from_hsm(Doing::Login, &e))?;
        let mut state = self.state();
        if state.logged_in {
            return Err(CKR_USER_ALREADY_LOGGED_IN);
        }
        state.backend = Some(hsm);
        state.logged_in = true;
        tracing::info!(slot = self.id, "logged in");
        Ok(())
    }

    /// `C_Logout` (also when the last session closes): a slot whose PIN is the credential drops
    /// its backend and with it the credential. Logging out when not logged in is not an error,
    /// as in SoftHSM2.
    pub(crate) fn logout(&self) -> CkResult<()> {
        let dropped = {
            let mut state = self.state();
            if !state.logged_in {
                return Ok(());
            }
            state.logged_in = false;
            if self.pin_is_credential {
                state.backend.take()
            } else {
                None
            }
        };
        // Closing connections happens outside the lock.
        drop(dropped);
        Ok(())
    }

    /// `C_GetSlotInfo`.
    pub(crate) fn slot_info(&self) -> CK_SLOT_INFO {
        let mut flags = CKF_TOKEN_PRESENT | CKF_HW_SLOT;
        if self.scheme == Scheme::ScHsm {
            flags |= CKF_REMOVABLE_DEVICE;
        }
        CK_SLOT_INFO {
            slotDescription: padded(&format!("hsm-p11 {} slot {}", self.scheme.name(), self.id)),
            manufacturerID: padded("hsm-rs"),
            flags,
            hardwareVersion: version(),
            firmwareVersion: version(),
        }
    }

    /// `C_GetTokenInfo`, with the module's session counts; `rng` sets `CKF_RNG`.
    pub(crate) fn token_info(
        &self,
        sessions: usize,
        rw_sessions: usize,
        rng: bool,
    ) -> CK_TOKEN_INFO {
        let mut flags = CKF_TOKEN_INITIALIZED | CKF_USER_PIN_INITIALIZED;
        if self.pin_is_credential {
            flags |= CKF_LOGIN_REQUIRED;
        }
        if rng {
            flags |= CKF_RNG;
        }
        let model = match self.scheme {
            Scheme::NetHsm => "NetHSM",
            Scheme::N200 => "se.SAM N200",
            Scheme::Pkcs11 => "PKCS#11 token",
            Scheme::ScHsm => "SmartCard-HSM",
        };
        CK_TOKEN_INFO {
            label: padded(&self.label),
            manufacturerID: padded("hsm-rs"),
            model: padded(model),
            serialNumber: padded(&self.serial),
            flags,
            ulMaxSessionCount: CK_EFFECTIVELY_INFINITE,
            ulSessionCount: sessions as CK_ULONG,
            ulMaxRwSessionCount: CK_EFFECTIVELY_INFINITE,
            ulRwSessionCount: rw_sessions as CK_ULONG,
            ulMaxPinLen: 255,
            ulMinPinLen: 1,
            ulTotalPublicMemory: CK_UNAVAILABLE_INFORMATION,
            ulFreePublicMemory: CK_UNAVAILABLE_INFORMATION,
            ulTotalPrivateMemory: CK_UNAVAILABLE_INFORMATION,
            ulFreePrivateMemory: CK_UNAVAILABLE_INFORMATION,
            hardwareVersion: version(),
            firmwareVersion: version(),
            utcTime: [b' '; 16],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_space_padded_and_truncated_on_char_boundaries() {
        assert_eq!(&padded::<8>("ab"), b"ab      ");
        assert_eq!(&padded::<4>("abcdef"), b"abcd");
        // 'é' is two bytes: it does not fit in the last byte.
        assert_eq!(&padded::<4>("abcé"), b"abc ");
    }
}
