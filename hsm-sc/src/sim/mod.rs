//! A software SmartCard-HSM with real cryptography (OpenSSL), for tests and demos. It implements
//! the command set of the `client` module: SELECT, PIN status/VERIFY/CHANGE/RESET RETRY
//! COUNTER, INITIALIZE (factory SO-PIN `3537363231383830`), DKEK shares, GENERATE ASYMMETRIC KEY
//! PAIR with CV-request output, SIGN/DECIPHER/ECDH with the algorithm bytes, files
//! (read/write/delete/enumerate), WRAP/UNWRAP, GET CHALLENGE. It answers in process
//! ([`SimulatedCard::emulator`] behind an in-process channel) or on pcscd through vpcd ([`vpcd::serve`]), where OpenSC
//! accepts it as a SmartCard-HSM.
//!
//! Not a security device: keys live in process memory and, with a state file, on disk in clear.

mod blob;
mod card;
mod command;
mod cvc;
mod keys;
pub(crate) mod rng;
// The simulated card when its random generator fails, driven through the typed client (a
// test-only use of the client: the simulator itself imports only the protocol).
#[cfg(test)]
mod rng_failure_tests;
mod state;
pub mod vpcd;

use std::path::Path;
use std::sync::{Arc, Mutex};

use hsm_core::{Error, ErrorKind, Result};

use crate::protocol::emulator::CardEmulator;

pub use card::ATR;

/// The user PIN [`SimulatedCard::initialized`] sets (and `sc-hsm+sim:` uses).
pub const DEFAULT_USER_PIN: &str = "648219";
/// The factory SO-PIN of SmartCard-HSM devices, as 16 hex digits.
pub const FACTORY_SO_PIN: &str = "3537363231383830";

const SERIAL: &str = "DESIM00001";

/// The operation name of the simulator's own errors.
const OP: &str = "sc-hsm.sim";

fn sim_error(sw: u16) -> Error {
    let sw = crate::protocol::status::StatusWord(sw);
    Error::new(sw.kind(), OP).with_message(format!("the simulated card failed: {sw}"))
}

/// A simulated card. Cloning gives another handle to the same card.
#[derive(Clone)]
pub struct SimulatedCard {
    card: Arc<Mutex<card::SimCard>>,
}

impl std::fmt::Debug for SimulatedCard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimulatedCard").finish_non_exhaustive()
    }
}

impl SimulatedCard {
    /// A factory-new card: not initialised, factory SO-PIN, device key and certificates (serial
    /// `DESIM00001`).
    ///
    /// # Errors
    /// OpenSSL failures.
    pub fn factory_new() -> Result<Self> {
        Self::factory_new_with_serial(SERIAL)
    }

    /// A factory-new card with another serial number (at least 3 characters; OpenSC shows it
    /// in `pkcs15-tool --dump`).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] for a serial shorter than 3 or longer than 11 characters or
    /// not alphanumeric; OpenSSL failures.
    pub fn factory_new_with_serial(serial: &str) -> Result<Self> {
        if !(3..=11).contains(&serial.len()) || !serial.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(Error::invalid_input(
                OP,
                "a serial number has 3 to 11 letters or digits",
            ));
        }
        let card = card::SimCard::factory(serial).map_err(sim_error)?;
        Ok(Self {
            card: Arc::new(Mutex::new(card)),
        })
    }

    /// A card initialised with user PIN [`DEFAULT_USER_PIN`] (3 tries), the factory SO-PIN, and
    /// no DKEK.
    ///
    /// # Errors
    /// OpenSSL failures.
    pub fn initialized() -> Result<Self> {
        Self::initialized_with_serial(SERIAL)
    }

    /// As [`Self::initialized`], with another serial number (see
    /// [`Self::factory_new_with_serial`]).
    ///
    /// # Errors
    /// As [`Self::factory_new_with_serial`].
    pub fn initialized_with_serial(serial: &str) -> Result<Self> {
        let sim = Self::factory_new_with_serial(serial)?;
        {
            let mut c = sim.lock()?;
            c.state.user_pin = Some(DEFAULT_USER_PIN.as_bytes().to_vec());
            c.state.user_tries = 3;
            c.state.user_max_tries = 3;
            c.state.options = 0x0001;
        }
        Ok(sim)
    }

    /// A card whose state lives in `path` (JSON): loaded when the file exists, otherwise a
    /// factory-new card; every change is written back.
    ///
    /// # Errors
    /// The file cannot be read or parsed.
    pub fn with_state_file(path: &Path) -> Result<Self> {
        let loaded = state::load(path).map_err(|e| {
            Error::new(ErrorKind::InvalidInput, OP)
                .with_message(format!("cannot read the state file {}", path.display()))
                .with_source(e)
        })?;
        let mut card = match loaded {
            Some(s) => card::SimCard::from_state(s, None).map_err(sim_error)?,
            None => card::SimCard::factory(SERIAL).map_err(sim_error)?,
        };
        card.set_path(Some(path.to_owned()));
        card.persist();
        Ok(Self {
            card: Arc::new(Mutex::new(card)),
        })
    }

    /// As [`Self::with_state_file`], but a missing file starts as [`Self::initialized`] (user
    /// PIN [`DEFAULT_USER_PIN`]) instead of factory-new: what `sc-hsm+sim:?state=FILE` opens, so
    /// that a sequence of programs can share one simulated card.
    ///
    /// # Errors
    /// The file cannot be read or parsed.
    pub fn initialized_with_state_file(path: &Path) -> Result<Self> {
        if path.exists() {
            return Self::with_state_file(path);
        }
        let sim = Self::initialized()?;
        {
            let mut c = sim.lock()?;
            c.set_path(Some(path.to_owned()));
            c.persist();
        }
        Ok(sim)
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, card::SimCard>> {
        self.card
            .lock()
            .map_err(|_| Error::new(ErrorKind::Device, OP).with_message("the simulator panicked"))
    }

    /// This card as an emulator for a channel: `ScClient::in_memory(card.emulator())` talks to
    /// it in process (each such channel is one connection; all share the card).
    #[must_use]
    pub fn emulator(&self) -> Arc<Mutex<dyn CardEmulator>> {
        self.card.clone()
    }

    /// Processes one command APDU (as the card would).
    ///
    /// # Errors
    /// Only if the simulator panicked earlier.
    pub fn process(&self, command: &[u8]) -> Result<Vec<u8>> {
        Ok(self.lock()?.process(command))
    }

    /// A power cycle: the PIN state and the applet selection are lost.
    ///
    /// # Errors
    /// Only if the simulator panicked earlier.
    pub fn power_cycle(&self) -> Result<()> {
        self.lock()?.reset();
        Ok(())
    }
}
