//! Signature algorithms and the hash functions they use.

use std::fmt;
use std::str::FromStr;

use sha2::Digest as _;

use crate::error::{Error, Result};
use crate::key::KeyType;

/// A hash function used by a [`SignAlgorithm`].
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

/// A signature algorithm: the scheme and, where it has one, the hash.
///
/// `FromStr`/`Display` use the command-line names of the examples (`ecdsa-sha256`,
/// `rsa-pss-sha384`, `ed25519`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignAlgorithm {
    /// ECDSA over SHA-256.
    EcdsaSha256,
    /// ECDSA over SHA-384.
    EcdsaSha384,
    /// ECDSA over SHA-512.
    EcdsaSha512,
    /// ECDSA over a digest the caller computed: the data given to
    /// [`Signer::sign`](crate::Signer::sign) or [`Signer::sign_digest`](crate::Signer::sign_digest)
    /// is the digest itself (1 to 64 bytes; some devices require the curve's length).
    EcdsaPrehashed,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RsaPkcs1Sha256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RsaPkcs1Sha384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RsaPkcs1Sha512,
    /// RSASSA-PSS with SHA-256, MGF1-SHA-256 and a 32-byte salt.
    RsaPssSha256,
    /// RSASSA-PSS with SHA-384, MGF1-SHA-384 and a 48-byte salt.
    RsaPssSha384,
    /// RSASSA-PSS with SHA-512, MGF1-SHA-512 and a 64-byte salt.
    RsaPssSha512,
    /// Ed25519 (RFC 8032, pure): signs the whole message; there is no prehashed form.
    Ed25519,
}

impl SignAlgorithm {
    /// Every algorithm, in a stable order.
    pub const ALL: [SignAlgorithm; 11] = [
        Self::EcdsaSha256,
        Self::EcdsaSha384,
        Self::EcdsaSha512,
        Self::EcdsaPrehashed,
        Self::RsaPkcs1Sha256,
        Self::RsaPkcs1Sha384,
        Self::RsaPkcs1Sha512,
        Self::RsaPssSha256,
        Self::RsaPssSha384,
        Self::RsaPssSha512,
        Self::Ed25519,
    ];

    /// The hash the algorithm applies to a message, if it hashes (not for
    /// [`EcdsaPrehashed`](Self::EcdsaPrehashed) and [`Ed25519`](Self::Ed25519)).
    #[must_use]
    pub fn hash(self) -> Option<HashAlgorithm> {
        match self {
            Self::EcdsaSha256 | Self::RsaPkcs1Sha256 | Self::RsaPssSha256 => {
                Some(HashAlgorithm::Sha256)
            }
            Self::EcdsaSha384 | Self::RsaPkcs1Sha384 | Self::RsaPssSha384 => {
                Some(HashAlgorithm::Sha384)
            }
            Self::EcdsaSha512 | Self::RsaPkcs1Sha512 | Self::RsaPssSha512 => {
                Some(HashAlgorithm::Sha512)
            }
            Self::EcdsaPrehashed | Self::Ed25519 => None,
        }
    }

    /// Whether this is an ECDSA variant.
    #[must_use]
    pub fn is_ecdsa(self) -> bool {
        matches!(
            self,
            Self::EcdsaSha256 | Self::EcdsaSha384 | Self::EcdsaSha512 | Self::EcdsaPrehashed
        )
    }

    /// Whether this is RSASSA-PKCS1-v1_5.
    #[must_use]
    pub fn is_rsa_pkcs1(self) -> bool {
        matches!(
            self,
            Self::RsaPkcs1Sha256 | Self::RsaPkcs1Sha384 | Self::RsaPkcs1Sha512
        )
    }

    /// Whether this is RSASSA-PSS.
    #[must_use]
    pub fn is_rsa_pss(self) -> bool {
        matches!(
            self,
            Self::RsaPssSha256 | Self::RsaPssSha384 | Self::RsaPssSha512
        )
    }

    /// The key type the algorithm needs.
    #[must_use]
    pub fn key_type(self) -> KeyType {
        if self.is_ecdsa() {
            KeyType::Ec
        } else if self == Self::Ed25519 {
            KeyType::Ed25519
        } else {
            KeyType::Rsa
        }
    }

    /// Whether a digest can stand for the message ([`Signer::sign_digest`](crate::Signer::sign_digest)).
    /// Only Ed25519 needs the whole message.
    #[must_use]
    pub fn accepts_digest(self) -> bool {
        self != Self::Ed25519
    }

    /// The PSS salt length in bytes (equal to the hash length), for PSS variants.
    #[must_use]
    pub fn pss_salt_len(self) -> Option<usize> {
        if self.is_rsa_pss() {
            self.hash().map(HashAlgorithm::output_len)
        } else {
            None
        }
    }

    /// The command-line name: `ecdsa-sha256`, `ecdsa`, `rsa-pkcs1-sha256`, `rsa-pss-sha512`, `ed25519`...
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::EcdsaSha256 => "ecdsa-sha256",
            Self::EcdsaSha384 => "ecdsa-sha384",
            Self::EcdsaSha512 => "ecdsa-sha512",
            Self::EcdsaPrehashed => "ecdsa",
            Self::RsaPkcs1Sha256 => "rsa-pkcs1-sha256",
            Self::RsaPkcs1Sha384 => "rsa-pkcs1-sha384",
            Self::RsaPkcs1Sha512 => "rsa-pkcs1-sha512",
            Self::RsaPssSha256 => "rsa-pss-sha256",
            Self::RsaPssSha384 => "rsa-pss-sha384",
            Self::RsaPssSha512 => "rsa-pss-sha512",
            Self::Ed25519 => "ed25519",
        }
    }
}

impl fmt::Display for SignAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SignAlgorithm {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|a| a.name()).collect();
                Error::invalid_input(
                    "parse signature algorithm",
                    format!(
                        "unknown algorithm {s:?}; expected one of {}",
                        names.join(", ")
                    ),
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for alg in SignAlgorithm::ALL {
            assert_eq!(alg.name().parse::<SignAlgorithm>().ok(), Some(alg));
        }
        assert!("ecdsa-md5".parse::<SignAlgorithm>().is_err());
    }

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
