//! The simulator's random numbers: the system's generator, or one that fails
//! ([`super::Fault::RandomFails`]). Every key, salt, nonce, IV and id the simulator makes from
//! random bytes draws them here, and a failed draw is an error answer (500 with a message),
//! never a panic and never a value made from nothing.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use zeroize::Zeroizing;

use super::crypto::{SimError, SimResult};

/// The random numbers of one simulator (replicas share it, as they share the device).
#[derive(Clone, Debug, Default)]
pub(crate) struct SimRng {
    /// While set, every draw fails.
    failing: Arc<AtomicBool>,
}

impl SimRng {
    /// Makes every draw fail (`true`) or draw from the system again (`false`).
    pub(crate) fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::Relaxed);
    }

    /// An error when the generator fails now: for work that draws from a generator this one
    /// does not reach (OpenSSL's), checked before it starts.
    pub(crate) fn check(&self) -> SimResult<()> {
        if self.failing.load(Ordering::Relaxed) {
            return Err(SimError::RandomFailed(
                "the random-number generator failed".into(),
            ));
        }
        Ok(())
    }

    /// Fills `buf` with random bytes; on an error `buf` must not be used.
    pub(crate) fn fill(&self, buf: &mut [u8]) -> SimResult<()> {
        self.check()?;
        getrandom::fill(buf)
            .map_err(|e| SimError::RandomFailed(format!("the random-number generator failed: {e}")))
    }

    /// `n` random bytes.
    pub(crate) fn bytes(&self, n: usize) -> SimResult<Zeroizing<Vec<u8>>> {
        let mut b = Zeroizing::new(vec![0u8; n]);
        self.fill(&mut b)?;
        Ok(b)
    }

    /// Runs `f` with a generator for the APIs that take one that cannot fail (RustCrypto's
    /// RSA): a draw that fails is remembered, and then whatever `f` made is thrown away and
    /// the answer is the failure.
    pub(crate) fn with_draws<T>(&self, f: impl FnOnce(&mut Draws<'_>) -> T) -> SimResult<T> {
        self.check()?;
        let mut draws = Draws {
            rng: self,
            failure: None,
            filler: 0,
        };
        let made = f(&mut draws);
        match draws.failure {
            Some(failure) => Err(failure),
            None => Ok(made),
        }
    }
}

/// The generator [`SimRng::with_draws`] lends.
pub(crate) struct Draws<'a> {
    rng: &'a SimRng,
    /// The first failed draw.
    failure: Option<SimError>,
    /// After a failure, draws are filled from this counter (splitmix64) so that the algorithm
    /// still ends; what it makes from them is discarded.
    filler: u64,
}

impl rand_core::TryRng for Draws<'_> {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        if self.failure.is_none()
            && let Err(e) = self.rng.fill(dst)
        {
            self.failure = Some(e);
        }
        if self.failure.is_some() {
            for chunk in dst.chunks_mut(8) {
                self.filler = self.filler.wrapping_add(0x9e37_79b9_7f4a_7c15);
                let mut z = self.filler;
                z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                z ^= z >> 31;
                let bytes = z.to_le_bytes();
                chunk.copy_from_slice(bytes.get(..chunk.len()).unwrap_or_default());
            }
        }
        Ok(())
    }
}

impl rand_core::TryCryptoRng for Draws<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_generator_is_an_error_and_recovers() {
        let rng = SimRng::default();
        let drawn = rng.bytes(32).unwrap();
        assert_ne!(*drawn, vec![0u8; 32]);
        rng.set_failing(true);
        assert!(matches!(rng.bytes(32), Err(SimError::RandomFailed(_))));
        assert!(rng.check().is_err());
        assert!(rng.with_draws(|_| ()).is_err());
        rng.set_failing(false);
        assert!(rng.with_draws(|_| ()).is_ok());
    }

    /// A failure in the middle of an operation that cannot be told of it (the fault set while
    /// it draws) still makes its result an error.
    #[test]
    fn a_draw_that_fails_midway_fails_the_operation() {
        use rand_core::TryRng as _;
        let rng = SimRng::default();
        let made = rng.with_draws(|draws| {
            let first = draws.try_next_u64();
            rng.set_failing(true);
            let (a, b) = (draws.try_next_u64(), draws.try_next_u64());
            assert_ne!(a, b, "the filler changes, so the algorithm can end");
            first
        });
        assert!(matches!(made, Err(SimError::RandomFailed(_))));
    }
}
