//! The device's random generator behind hsm-core's `KeyStore::random`: `POST /random` gives at
//! most [`MAX_RANDOM_PER_REQUEST`] bytes, so a longer request is made of several.

use hsm_core::{Error, MAX_RANDOM_LEN, Result};

use super::AsyncNetHsm;
use super::trace::traced;
use crate::protocol::MAX_RANDOM_PER_REQUEST;

impl AsyncNetHsm {
    /// `len` bytes (at most [`MAX_RANDOM_LEN`]) from the device's random generator, in
    /// requests of at most [`MAX_RANDOM_PER_REQUEST`] bytes, one after another. `POST /random`
    /// needs the Operator role: it runs as the main user.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](hsm_core::ErrorKind::InvalidInput) for `len` over
    /// [`MAX_RANDOM_LEN`]; [`ErrorKind::Protocol`](hsm_core::ErrorKind::Protocol) when the
    /// device answers with another number of bytes than asked; transport and device errors.
    pub async fn random(&self, len: usize) -> Result<Vec<u8>> {
        const OP: &str = "nethsm.random";
        traced("random", None, None, async {
            if len > MAX_RANDOM_LEN {
                return Err(Error::invalid_input(
                    OP,
                    format!("at most {MAX_RANDOM_LEN} random bytes per call, not {len}"),
                ));
            }
            let mut bytes = Vec::with_capacity(len);
            while bytes.len() < len {
                let wanted = u32::try_from(len - bytes.len())
                    .unwrap_or(MAX_RANDOM_PER_REQUEST)
                    .min(MAX_RANDOM_PER_REQUEST);
                let chunk = {
                    let _slot = self.slot(OP).await?;
                    self.inner.client.random(wanted).await?
                };
                if chunk.len() != wanted as usize {
                    return Err(Error::protocol(
                        OP,
                        format!(
                            "asked for {wanted} random bytes, the device gave {}",
                            chunk.len()
                        ),
                    ));
                }
                bytes.extend_from_slice(&chunk);
            }
            Ok(bytes)
        })
        .await
    }
}
