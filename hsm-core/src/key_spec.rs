//! Key specifications: key types, named curves and what to generate.

use std::fmt;

use crate::hash::HashAlgorithm;

/// The family of a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyType {
    /// RSA.
    Rsa,
    /// Elliptic curve over a Weierstrass curve (ECDSA, ECDH).
    Ec,
    /// Ed25519.
    Ed25519,
    /// AES (secret key).
    Aes,
}

/// A named elliptic curve for ECDSA keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Curve {
    /// NIST P-256 (secp256r1, prime256v1).
    P256,
    /// NIST P-384 (secp384r1).
    P384,
    /// NIST P-521 (secp521r1).
    P521,
    /// secp256k1.
    Secp256k1,
    /// brainpoolP256r1.
    BrainpoolP256r1,
    /// brainpoolP384r1.
    BrainpoolP384r1,
    /// brainpoolP512r1.
    BrainpoolP512r1,
}

impl Curve {
    /// Every curve, in a stable order.
    pub const ALL: [Curve; 7] = [
        Self::P256,
        Self::P384,
        Self::P521,
        Self::Secp256k1,
        Self::BrainpoolP256r1,
        Self::BrainpoolP384r1,
        Self::BrainpoolP512r1,
    ];

    /// The size of a field element and of each of r and s, in bytes: the group order's bits,
    /// rounded up to bytes (for each of these curves, the field and the order have the same size).
    #[must_use]
    pub fn field_len(self) -> usize {
        self.order_bits().div_ceil(8)
    }

    /// The order `n` of the curve's base point, big-endian, exactly [`field_len`](Self::field_len)
    /// bytes long. A valid ECDSA `r` or `s` lies in `1..n`.
    #[must_use]
    pub const fn order(self) -> &'static [u8] {
        match self {
            Self::P256 => &ORDER_P256,
            Self::P384 => &ORDER_P384,
            Self::P521 => &ORDER_P521,
            Self::Secp256k1 => &ORDER_SECP256K1,
            Self::BrainpoolP256r1 => &ORDER_BP256,
            Self::BrainpoolP384r1 => &ORDER_BP384,
            Self::BrainpoolP512r1 => &ORDER_BP512,
        }
    }

    /// The size of the group order in bits.
    #[must_use]
    pub fn order_bits(self) -> usize {
        match self {
            Self::P256 | Self::Secp256k1 | Self::BrainpoolP256r1 => 256,
            Self::P384 | Self::BrainpoolP384r1 => 384,
            Self::P521 => 521,
            Self::BrainpoolP512r1 => 512,
        }
    }

    /// The hash whose length matches the curve: what ECDSA usually pairs it with, and the digest
    /// length devices such as NetHSM require for their plain `ECDSA` mode.
    #[must_use]
    pub fn matching_hash(self) -> HashAlgorithm {
        match self {
            Self::P256 | Self::Secp256k1 | Self::BrainpoolP256r1 => HashAlgorithm::Sha256,
            Self::P384 | Self::BrainpoolP384r1 => HashAlgorithm::Sha384,
            Self::P521 | Self::BrainpoolP512r1 => HashAlgorithm::Sha512,
        }
    }

    /// The named-curve object identifier (dotted form).
    #[must_use]
    pub fn oid(self) -> &'static str {
        match self {
            Self::P256 => "1.2.840.10045.3.1.7",
            Self::P384 => "1.3.132.0.34",
            Self::P521 => "1.3.132.0.35",
            Self::Secp256k1 => "1.3.132.0.10",
            Self::BrainpoolP256r1 => "1.3.36.3.3.2.8.1.1.7",
            Self::BrainpoolP384r1 => "1.3.36.3.3.2.8.1.1.11",
            Self::BrainpoolP512r1 => "1.3.36.3.3.2.8.1.1.13",
        }
    }

    /// The curve with this named-curve object identifier (dotted form).
    #[must_use]
    pub fn from_oid(oid: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.oid() == oid)
    }

    /// The DER encoding of the named-curve OID (tag 06, as PKCS#11 `CKA_EC_PARAMS` holds it).
    #[must_use]
    pub fn oid_der(self) -> Vec<u8> {
        use der::Encode as _;
        // The OIDs above are constants known to be valid.
        der::asn1::ObjectIdentifier::new(self.oid())
            .ok()
            .and_then(|oid| oid.to_der().ok())
            .unwrap_or_default()
    }

    /// The OpenSSL short name (`prime256v1`, `secp384r1`, `brainpoolP256r1`, ...).
    #[must_use]
    pub fn openssl_name(self) -> &'static str {
        match self {
            Self::P256 => "prime256v1",
            Self::P384 => "secp384r1",
            Self::P521 => "secp521r1",
            Self::Secp256k1 => "secp256k1",
            Self::BrainpoolP256r1 => "brainpoolP256r1",
            Self::BrainpoolP384r1 => "brainpoolP384r1",
            Self::BrainpoolP512r1 => "brainpoolP512r1",
        }
    }
}

impl fmt::Display for Curve {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::P256 => "P-256",
            Self::P384 => "P-384",
            Self::P521 => "P-521",
            Self::Secp256k1 => "secp256k1",
            Self::BrainpoolP256r1 => "brainpoolP256r1",
            Self::BrainpoolP384r1 => "brainpoolP384r1",
            Self::BrainpoolP512r1 => "brainpoolP512r1",
        })
    }
}

/// What kind of key to generate, or what kind a key is.
///
/// `FromStr`/`Display` use the examples' `--spec` names: `rsa2048`, `rsa3072`, `rsa4096`,
/// `p256`, `p384`, `p521`, `secp256k1`, `brainpool256`, `brainpool384`, `brainpool512`,
/// `ed25519`, `aes128`, `aes256`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum KeySpec {
    /// RSA with a 2048-bit modulus.
    Rsa2048,
    /// RSA with a 3072-bit modulus.
    Rsa3072,
    /// RSA with a 4096-bit modulus.
    Rsa4096,
    /// An elliptic-curve key on the given curve.
    Ec(Curve),
    /// An Ed25519 key.
    Ed25519,
    /// A 128-bit AES key (where a backend has AES).
    Aes128,
    /// A 256-bit AES key (where a backend has AES).
    Aes256,
}

impl KeySpec {
    /// Every spec, in a stable order.
    pub const ALL: [KeySpec; 13] = [
        Self::Rsa2048,
        Self::Rsa3072,
        Self::Rsa4096,
        Self::Ec(Curve::P256),
        Self::Ec(Curve::P384),
        Self::Ec(Curve::P521),
        Self::Ec(Curve::Secp256k1),
        Self::Ec(Curve::BrainpoolP256r1),
        Self::Ec(Curve::BrainpoolP384r1),
        Self::Ec(Curve::BrainpoolP512r1),
        Self::Ed25519,
        Self::Aes128,
        Self::Aes256,
    ];

    /// The key's family.
    #[must_use]
    pub fn key_type(self) -> KeyType {
        match self {
            Self::Rsa2048 | Self::Rsa3072 | Self::Rsa4096 => KeyType::Rsa,
            Self::Ec(_) => KeyType::Ec,
            Self::Ed25519 => KeyType::Ed25519,
            Self::Aes128 | Self::Aes256 => KeyType::Aes,
        }
    }

    /// The curve, for EC keys.
    #[must_use]
    pub fn curve(self) -> Option<Curve> {
        match self {
            Self::Ec(c) => Some(c),
            _ => None,
        }
    }

    /// The RSA modulus size in bits, for RSA keys.
    #[must_use]
    pub fn rsa_bits(self) -> Option<usize> {
        match self {
            Self::Rsa2048 => Some(2048),
            Self::Rsa3072 => Some(3072),
            Self::Rsa4096 => Some(4096),
            _ => None,
        }
    }

    /// The RSA spec for a modulus of `bits` bits.
    #[must_use]
    pub fn rsa(bits: usize) -> Option<Self> {
        match bits {
            2048 => Some(Self::Rsa2048),
            3072 => Some(Self::Rsa3072),
            4096 => Some(Self::Rsa4096),
            _ => None,
        }
    }

    /// Whether the key can sign at all (AES keys cannot).
    #[must_use]
    pub fn is_asymmetric(self) -> bool {
        self.key_type() != KeyType::Aes
    }

    /// The command-line name.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Rsa2048 => "rsa2048",
            Self::Rsa3072 => "rsa3072",
            Self::Rsa4096 => "rsa4096",
            Self::Ec(Curve::P256) => "p256",
            Self::Ec(Curve::P384) => "p384",
            Self::Ec(Curve::P521) => "p521",
            Self::Ec(Curve::Secp256k1) => "secp256k1",
            Self::Ec(Curve::BrainpoolP256r1) => "brainpool256",
            Self::Ec(Curve::BrainpoolP384r1) => "brainpool384",
            Self::Ec(Curve::BrainpoolP512r1) => "brainpool512",
            Self::Ed25519 => "ed25519",
            Self::Aes128 => "aes128",
            Self::Aes256 => "aes256",
        }
    }
}

crate::named::display_and_parse_by_name!(KeySpec, "parse key spec", "key spec");

// Curve orders (SEC 2, FIPS 186-4, RFC 5639), big-endian and field-length.
use crate::const_hex::decode;

const ORDER_P256: [u8; 32] =
    decode("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
const ORDER_P384: [u8; 48] = decode(concat!(
    "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf",
    "581a0db248b0a77aecec196accc52973"
));
const ORDER_P521: [u8; 66] = decode(concat!(
    "01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "fa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409"
));
const ORDER_SECP256K1: [u8; 32] =
    decode("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");
const ORDER_BP256: [u8; 32] =
    decode("a9fb57dba1eea9bc3e660a909d838d718c397aa3b561a6f7901e0e82974856a7");
const ORDER_BP384: [u8; 48] = decode(concat!(
    "8cb91e82a3386d280f5d6f7e50e641df152f7109ed5456b31f166e6cac0425a7",
    "cf3ab6af6b7fc3103b883202e9046565"
));
const ORDER_BP512: [u8; 64] = decode(concat!(
    "aadd9db8dbe9c48b3fd4e6ae33c9fc07cb308db3b3c9d20ed6639cca70330870",
    "553e5c414ca92619418661197fac10471db1d381085ddaddb58796829ca90069"
));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curve_oid_der() {
        assert_eq!(hex::encode(Curve::P256.oid_der()), "06082a8648ce3d030107");
        for c in Curve::ALL {
            assert_eq!(Curve::from_oid(c.oid()), Some(c));
            assert!(!c.oid_der().is_empty());
        }
    }
}
