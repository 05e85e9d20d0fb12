//! Signature algorithms, and which algorithms fit which key specs.

use crate::hash::HashAlgorithm;
use crate::key_spec::{KeySpec, KeyType};

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

crate::named::display_and_parse_by_name!(SignAlgorithm, "parse signature algorithm", "algorithm");

impl KeySpec {
    /// Whether `algorithm` fits a key of this spec.
    #[must_use]
    pub fn supports(self, algorithm: SignAlgorithm) -> bool {
        algorithm.key_type() == self.key_type()
    }

    /// The signature algorithms a key of this spec can use.
    #[must_use]
    pub fn algorithms(self) -> Vec<SignAlgorithm> {
        SignAlgorithm::ALL
            .into_iter()
            .filter(|a| self.supports(*a))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key_spec::Curve;

    #[test]
    fn spec_algorithms() {
        assert!(KeySpec::Ec(Curve::P256).supports(SignAlgorithm::EcdsaSha384));
        assert!(!KeySpec::Ec(Curve::P256).supports(SignAlgorithm::Ed25519));
        assert!(KeySpec::Rsa2048.supports(SignAlgorithm::RsaPssSha256));
        assert!(KeySpec::Aes256.algorithms().is_empty());
        assert_eq!(KeySpec::Ed25519.algorithms(), vec![SignAlgorithm::Ed25519]);
    }
}
