//! `C_GenerateRandom` from the device's random number generator (`KeyStore::random`), where the
//! backend declares one (`Capabilities::random`, shown as `CKF_RNG`).

use cryptoki_sys::*;
use hsm_core::MAX_RANDOM_LEN;
use zeroize::Zeroizing;

use crate::error::{CkResult, Doing, from_hsm};
use crate::module::module;

/// `len` bytes from the device's generator, asked for at most [`MAX_RANDOM_LEN`] bytes a call.
///
/// # Errors
/// `CKR_RANDOM_NO_RNG` when the backend has no generator; `CKR_USER_NOT_LOGGED_IN` when the
/// slot's PIN is the credential and nobody logged in; `CKR_DEVICE_ERROR` when the device answers
/// with another length, or fails.
pub(crate) fn generate_random(
    handle: CK_SESSION_HANDLE,
    len: usize,
) -> CkResult<Zeroizing<Vec<u8>>> {
    let m = module()?;
    let (_, slot) = m.session(handle)?;
    let mut out = Zeroizing::new(vec![0; len]);
    if len == 0 {
        return Ok(out);
    }
    let hsm = slot.backend()?;
    if !hsm.capabilities().random {
        return Err(CKR_RANDOM_NO_RNG);
    }
    for chunk in out.chunks_mut(MAX_RANDOM_LEN) {
        let bytes = Zeroizing::new(
            hsm.random(chunk.len())
                .map_err(|e| from_hsm(Doing::Random, &e))?,
        );
        if bytes.len() != chunk.len() {
            tracing::error!(
                slot = slot.id,
                asked = chunk.len(),
                got = bytes.len(),
                "the device's generator answered with another length"
            );
            return Err(CKR_DEVICE_ERROR);
        }
        chunk.copy_from_slice(&bytes);
    }
    Ok(out)
}
