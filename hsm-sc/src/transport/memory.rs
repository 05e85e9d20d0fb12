//! An in-process channel to a card emulator: no PC/SC, no daemon, no sockets.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use hsm_core::{Error, ErrorKind, Result};

use super::{CardChannel, Transmit};
pub use crate::protocol::emulator::CardEmulator;

/// A [`CardChannel`] to a [`CardEmulator`] in the same process. Cloning it gives a second
/// connection to the same card (as a second process would have over PC/SC).
#[derive(Clone)]
pub struct MemoryChannel {
    card: Arc<Mutex<dyn CardEmulator>>,
}

impl MemoryChannel {
    /// A channel to `card` (a simulated card: `SimulatedCard::emulator`).
    #[must_use]
    pub fn new(card: Arc<Mutex<dyn CardEmulator>>) -> Self {
        Self { card }
    }

    /// The card behind this channel.
    #[must_use]
    pub fn card(&self) -> &Arc<Mutex<dyn CardEmulator>> {
        &self.card
    }

    fn lock(&self) -> Result<MutexGuard<'_, dyn CardEmulator + 'static>> {
        self.card.lock().map_err(|_| {
            Error::new(ErrorKind::Device, "sc-hsm.transmit")
                .with_message("the in-process card panicked earlier")
        })
    }
}

impl fmt::Debug for MemoryChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryChannel").finish_non_exhaustive()
    }
}

impl Transmit for MemoryChannel {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>> {
        Ok(self.lock()?.process(command))
    }
}

struct Locked<'a>(MutexGuard<'a, dyn CardEmulator + 'static>);

impl Transmit for Locked<'_> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>> {
        Ok(self.0.process(command))
    }
}

impl CardChannel for MemoryChannel {
    fn exclusive(&mut self, body: &mut dyn FnMut(&mut dyn Transmit) -> Result<()>) -> Result<()> {
        let mut locked = Locked(self.lock()?);
        body(&mut locked)
    }
}
