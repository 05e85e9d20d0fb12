//! The simulator's random numbers: OpenSSL's generator, or one that fails (for fault tests).
//!
//! Every secret, serial, key id, key and IV the simulator makes comes through [`Rng::fill`], and
//! its failure is an error (an HTTP 500 answer, or a simulator that does not start): never a
//! buffer left as it was (all zeros).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::keys::SimResult;

/// A source of random bytes.
#[derive(Clone, Debug, Default)]
pub(crate) struct Rng {
    /// `None`: OpenSSL's generator. `Some(n)`: `n` more draws succeed, then every draw fails.
    draws_left: Option<Arc<AtomicUsize>>,
}

impl Rng {
    /// OpenSSL's generator.
    pub(crate) fn system() -> Self {
        Self::default()
    }

    /// A generator that fails after `draws` successful draws.
    pub(crate) fn failing_after(draws: usize) -> Self {
        Self {
            draws_left: Some(Arc::new(AtomicUsize::new(draws))),
        }
    }

    /// Fills `buf` with random bytes.
    ///
    /// # Errors
    /// `(500, ..)` when the generator fails; `buf` must then not be used.
    pub(crate) fn fill(&self, buf: &mut [u8]) -> SimResult<()> {
        if let Some(left) = &self.draws_left {
            let granted = left
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
            if !granted {
                return Err((500, "the random-number generator failed".to_owned()));
            }
        }
        openssl::rand::rand_bytes(buf)
            .map_err(|e| (500, format!("the random-number generator failed: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fails_after_its_draws_and_fills_otherwise() {
        let rng = Rng::failing_after(1);
        let mut buf = [0u8; 32];
        rng.fill(&mut buf).expect("first draw");
        assert_ne!(buf, [0u8; 32]);
        assert_eq!(rng.fill(&mut buf).expect_err("second draw").0, 500);
        assert!(Rng::failing_after(0).fill(&mut buf).is_err());
        assert!(Rng::system().fill(&mut buf).is_ok());
    }
}
