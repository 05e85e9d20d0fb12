//! The simulated card's random numbers (OpenSSL's generator). A failure of the generator is an
//! error answer, never zeros in a challenge, a DKEK or a wrapped key.

use super::keys::SimResult;

/// What the card answers when its generator fails: `6F00` (no precise diagnosis).
pub(crate) const RNG_FAILURE: u16 = 0x6F00;

/// Fills `buf` with random bytes.
pub(crate) fn fill(buf: &mut [u8]) -> SimResult<()> {
    #[cfg(test)]
    if failing::ACTIVE.with(std::cell::Cell::get) {
        return Err(RNG_FAILURE);
    }
    openssl::rand::rand_bytes(buf).map_err(|_| RNG_FAILURE)
}

/// Tests make the generator fail on their own thread (the in-process card runs on the caller's
/// thread).
#[cfg(test)]
pub(crate) mod failing {
    use std::cell::Cell;

    thread_local! {
        pub(super) static ACTIVE: Cell<bool> = const { Cell::new(false) };
    }

    /// Runs `f` with a failing generator.
    pub(crate) fn during<T>(f: impl FnOnce() -> T) -> T {
        ACTIVE.with(|a| a.set(true));
        let out = f();
        ACTIVE.with(|a| a.set(false));
        out
    }
}
