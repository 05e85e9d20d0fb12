//! GET CHALLENGE: random bytes from the card's generator.

use hsm_core::{Error, Result};
use zeroize::Zeroizing;

use crate::client::card::Commands;
use crate::protocol::apdu::Apdu;

impl Commands<'_> {
    /// `n` random bytes from the card (in calls of at most 1024 bytes, as OpenSC does).
    ///
    /// # Errors
    /// Transport failures; [`hsm_core::ErrorKind::Protocol`] if the card returns fewer bytes.
    pub fn random(&mut self, n: usize) -> Result<Zeroizing<Vec<u8>>> {
        const OP: &str = "sc-hsm.random";
        let mut out = Zeroizing::new(Vec::with_capacity(n));
        while out.len() < n {
            let want = (n - out.len()).min(1024);
            let d = Zeroizing::new(self.send(&Apdu::new(0x00, 0x84, 0x00, 0x00).expect(want), OP)?);
            if d.len() != want {
                return Err(Error::protocol(
                    OP,
                    format!("asked for {want} random bytes, got {}", d.len()),
                ));
            }
            out.extend_from_slice(&d);
        }
        Ok(out)
    }
}
