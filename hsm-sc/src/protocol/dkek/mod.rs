//! DKEK shares: the password-encrypted share files of `sc-hsm-tool`, and the key check value.

mod share_file;

pub use share_file::{KDF_ITERATIONS, ShareFile};

use sha2::{Digest, Sha256};

/// Key check value of a DKEK: the first 8 bytes of SHA-256(DKEK).
#[must_use]
pub fn kcv(dkek: &[u8; 32]) -> [u8; 8] {
    let h = Sha256::digest(dkek);
    let mut out = [0u8; 8];
    out.copy_from_slice(h.get(..8).unwrap_or(&[0; 8]));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kcv_vectors() {
        assert_eq!(hex::encode_upper(kcv(&[0; 32])), "66687AADF862BD77");
        let mut d = [0u8; 32];
        for (i, b) in d.iter_mut().enumerate() {
            *b = i as u8;
        }
        assert_eq!(hex::encode_upper(kcv(&d)), "630DCD2966C43366");
    }
}
