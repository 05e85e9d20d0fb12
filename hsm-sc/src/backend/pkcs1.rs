//! The PKCS#1 v1.5 signature block, built on the host (RFC 8017 §9.2, EMSA-PKCS1-v1_5).
//!
//! OpenSC's SmartCard-HSM driver and the vendor's own PKCS#11 module sign this way: the host
//! writes `00 01 FF..FF 00 || DigestInfo`, as long as the modulus, and the card applies the
//! private key to it with SIGN algorithm `20` (plain RSA). Algorithm `30` (the card pads a
//! DigestInfo) is in the command set too, but not every implementation of it accepts every
//! hash (one answers `6400` for SHA-256), so this backend never sends it.

use hsm_core::{Error, HashAlgorithm, Result};

/// At least eight `FF` bytes of padding (RFC 8017 §9.2 step 3).
const MIN_PADDING: usize = 8;

/// `00 01 FF..FF 00 || DigestInfo(hash, digest)`, `modulus_len` bytes long.
///
/// # Errors
/// [`hsm_core::ErrorKind::InvalidInput`] if `digest` is not a `hash` digest, or the modulus
/// is too short for the DigestInfo and eight bytes of padding.
pub(crate) fn signature_block(
    hash: HashAlgorithm,
    digest: &[u8],
    modulus_len: usize,
    operation: &'static str,
) -> Result<Vec<u8>> {
    hash.check_digest(digest, operation)?;
    let prefix = hash.digest_info_prefix();
    let t_len = prefix.len() + digest.len();
    let padding = modulus_len
        .checked_sub(t_len + 3)
        .filter(|n| *n >= MIN_PADDING)
        .ok_or_else(|| {
            Error::invalid_input(
                operation,
                format!(
                    "a {modulus_len}-byte RSA modulus is too short for a PKCS#1 v1.5 {hash} \
                     signature"
                ),
            )
        })?;
    let mut block = Vec::with_capacity(modulus_len);
    block.extend_from_slice(&[0x00, 0x01]);
    block.resize(2 + padding, 0xFF);
    block.push(0x00);
    block.extend_from_slice(prefix);
    block.extend_from_slice(digest);
    Ok(block)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_layout() {
        let digest = [0xAB; 32];
        let b = signature_block(HashAlgorithm::Sha256, &digest, 256, "t").unwrap();
        assert_eq!(b.len(), 256);
        assert_eq!(&b[..2], &[0x00, 0x01]);
        let zero = 256 - 32 - 19 - 1;
        assert!(b[2..zero].iter().all(|&x| x == 0xFF));
        assert_eq!(b[zero], 0x00);
        assert_eq!(
            &b[zero + 1..zero + 20],
            HashAlgorithm::Sha256.digest_info_prefix()
        );
        assert_eq!(&b[zero + 20..], &digest);
        // SHA-512 (83-byte DigestInfo) needs at least 94 bytes
        assert!(signature_block(HashAlgorithm::Sha512, &[0; 64], 94, "t").is_ok());
        assert!(signature_block(HashAlgorithm::Sha512, &[0; 64], 93, "t").is_err());
        assert!(signature_block(HashAlgorithm::Sha256, &[0; 31], 256, "t").is_err());
    }
}
