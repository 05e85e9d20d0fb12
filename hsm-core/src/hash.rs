//! The hash functions of the signature algorithms, their digests and PKCS#1 `DigestInfo`.

use std::fmt;

use sha2::Digest as _;

use crate::error::{Error, Result};

/// A hash function used by a [`SignAlgorithm`](crate::SignAlgorithm).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HashAlgorithm {
    /// SHA-256 (32-byte digest).
    Sha256,
    /// SHA-384 (48-byte digest).
    Sha384,
    /// SHA-512 (64-byte digest).
    Sha512,
}

impl HashAlgorithm {
    /// The length of the digest in bytes.
    #[must_use]
    pub fn output_len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }

    /// Hashes `data`.
    #[must_use]
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha256 => sha2::Sha256::digest(data).to_vec(),
            Self::Sha384 => sha2::Sha384::digest(data).to_vec(),
            Self::Sha512 => sha2::Sha512::digest(data).to_vec(),
        }
    }

    /// The DER prefix of the PKCS#1 v1.5 `DigestInfo` for this hash (RFC 8017 §9.2, note 1):
    /// `DigestInfo = prefix || digest`. Backends whose device signs its input as-is (NetHSM
    /// `PKCS1` mode, PKCS#11 `CKM_RSA_PKCS`, SmartCard-HSM raw RSA) prepend it.
    #[must_use]
    pub fn digest_info_prefix(self) -> &'static [u8] {
        match self {
            Self::Sha256 => &[
                0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x01, 0x05, 0x00, 0x04, 0x20,
            ],
            Self::Sha384 => &[
                0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x02, 0x05, 0x00, 0x04, 0x30,
            ],
            Self::Sha512 => &[
                0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x03, 0x05, 0x00, 0x04, 0x40,
            ],
        }
    }

    /// `DigestInfo` for `digest`, after checking the digest's length.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) if `digest` is not
    /// [`output_len`](Self::output_len) bytes long.
    pub fn digest_info(self, digest: &[u8]) -> Result<Vec<u8>> {
        self.check_digest(digest, "digest_info")?;
        let mut out = Vec::with_capacity(self.digest_info_prefix().len() + digest.len());
        out.extend_from_slice(self.digest_info_prefix());
        out.extend_from_slice(digest);
        Ok(out)
    }

    /// Checks that `digest` has this hash's length.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) naming `operation` otherwise.
    pub fn check_digest(self, digest: &[u8], operation: &'static str) -> Result<()> {
        if digest.len() == self.output_len() {
            Ok(())
        } else {
            Err(Error::invalid_input(
                operation,
                format!(
                    "a {self} digest is {} bytes, got {}",
                    self.output_len(),
                    digest.len()
                ),
            ))
        }
    }

    /// The name used on command lines and in URIs: `sha256`, `sha384`, `sha512`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::Sha384 => "sha384",
            Self::Sha512 => "sha512",
        }
    }
}

impl fmt::Display for HashAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Sha256 => "SHA-256",
            Self::Sha384 => "SHA-384",
            Self::Sha512 => "SHA-512",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_info_has_the_der_shape() {
        for h in [
            HashAlgorithm::Sha256,
            HashAlgorithm::Sha384,
            HashAlgorithm::Sha512,
        ] {
            let d = h.digest(b"abc");
            let di = h.digest_info(&d).expect("right length");
            // SEQUENCE whose length covers the rest; OCTET STRING of the digest at the end.
            assert_eq!(di.first(), Some(&0x30));
            assert_eq!(usize::from(di[1]), di.len() - 2);
            assert_eq!(di[di.len() - d.len() - 2], 0x04);
            assert_eq!(usize::from(di[di.len() - d.len() - 1]), d.len());
            assert!(h.digest_info(&d[1..]).is_err());
        }
    }

    #[test]
    fn hashes_match_the_reference_vectors() {
        // FIPS 180-2 "abc" vectors, first bytes.
        assert_eq!(
            hex::encode(&HashAlgorithm::Sha256.digest(b"abc")[..4]),
            "ba7816bf"
        );
        assert_eq!(
            hex::encode(&HashAlgorithm::Sha384.digest(b"abc")[..4]),
            "cb00753f"
        );
        assert_eq!(
            hex::encode(&HashAlgorithm::Sha512.digest(b"abc")[..4]),
            "ddaf35a1"
        );
    }
}
