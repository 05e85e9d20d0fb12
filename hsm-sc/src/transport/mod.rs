//! How APDUs reach a card: PC/SC ([`PcscChannel`], feature `pcsc`) or an in-process card
//! ([`MemoryChannel`], for tests and the simulator).

use std::fmt;

use hsm_core::Result;

mod memory;
#[cfg(feature = "pcsc")]
mod pcsc;

pub use memory::{CardEmulator, MemoryChannel};
#[cfg(feature = "pcsc")]
pub use pcsc::{CardEvent, PcscChannel, ReaderMonitor, list_readers};

/// Sends one command APDU and returns the raw response (`data || SW1 SW2`).
pub trait Transmit {
    /// Transmits `command` (already encoded) and returns the card's raw answer.
    ///
    /// # Errors
    /// [`hsm_core::ErrorKind::Unavailable`] if the card or reader went away,
    /// [`hsm_core::ErrorKind::Timeout`] if it did not answer in time.
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>>;
}

/// A connection to one card.
pub trait CardChannel: Transmit + Send + fmt::Debug {
    /// Runs `body` with exclusive access to the card (a PC/SC transaction): no other process
    /// can send APDUs in between, so a PIN verified inside `body` stays valid for the
    /// operations that follow it inside `body`.
    ///
    /// # Errors
    /// The transaction could not be started, or `body` failed.
    fn exclusive(&mut self, body: &mut dyn FnMut(&mut dyn Transmit) -> Result<()>) -> Result<()>;

    /// Whether the card was reset, removed or re-inserted since the last call (which loses the
    /// applet selection and the PIN state). Clears the flag.
    fn take_reset(&mut self) -> bool {
        false
    }
}
