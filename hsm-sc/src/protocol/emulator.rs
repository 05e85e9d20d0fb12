//! What a card implemented in software offers: an answer to each command APDU, a reset and an
//! answer-to-reset. The simulator implements it; the in-process channel and the vpcd bridge
//! carry APDUs to it.

/// A card implemented in software that answers command APDUs.
pub trait CardEmulator: Send {
    /// The card's answer (`data || SW1 SW2`) to one encoded command APDU.
    fn process(&mut self, command: &[u8]) -> Vec<u8>;

    /// A power cycle or reset: the card drops its security state.
    fn reset(&mut self);

    /// The answer-to-reset.
    fn atr(&self) -> Vec<u8>;
}
