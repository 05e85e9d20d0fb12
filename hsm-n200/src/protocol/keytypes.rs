//! How the N200 names key types: `curve=NIST|SECP|Brainpool` with `keysize`, `RSA`, `SYM`.

use hsm_core::{Curve, KeySpec};

/// The N200 curve family and key size of `curve`.
#[must_use]
pub fn curve_family(curve: Curve) -> (&'static str, u32) {
    match curve {
        Curve::P256 => ("NIST", 256),
        Curve::P384 => ("NIST", 384),
        Curve::P521 => ("NIST", 521),
        Curve::Secp256k1 => ("SECP", 256),
        Curve::BrainpoolP256r1 => ("Brainpool", 256),
        Curve::BrainpoolP384r1 => ("Brainpool", 384),
        // Curve is non-exhaustive; brainpoolP512r1 is the only one left.
        _ => ("Brainpool", 512),
    }
}

/// The key type name of a listing (`listkeys/<type>/`) for `spec`.
#[must_use]
pub fn key_type_name(spec: KeySpec) -> &'static str {
    match spec {
        KeySpec::Ec(curve) => curve_family(curve).0,
        KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096 => "RSA",
        _ => "SYM",
    }
}

/// The spec of a key the device reports as `key_type` with `key_len` bits.
#[must_use]
pub fn spec_of(key_type: &str, key_len: u32) -> Option<KeySpec> {
    let curve = |c| Some(KeySpec::Ec(c));
    match (key_type.to_ascii_uppercase().as_str(), key_len) {
        ("NIST", 256) => curve(Curve::P256),
        ("NIST", 384) => curve(Curve::P384),
        ("NIST", 521) => curve(Curve::P521),
        ("SECP", 256) => curve(Curve::Secp256k1),
        ("BRAINPOOL", 256) => curve(Curve::BrainpoolP256r1),
        ("BRAINPOOL", 384) => curve(Curve::BrainpoolP384r1),
        ("BRAINPOOL", 512) => curve(Curve::BrainpoolP512r1),
        ("RSA", bits) => KeySpec::rsa(bits as usize),
        ("SYM" | "AES", 128) => Some(KeySpec::Aes128),
        ("SYM" | "AES", 256) => Some(KeySpec::Aes256),
        _ => None,
    }
}

/// The key types a listing covers, in the order [`crate::N200`] asks for them.
pub const LISTED_TYPES: [&str; 5] = ["NIST", "SECP", "Brainpool", "RSA", "SYM"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for curve in Curve::ALL {
            let (family, bits) = curve_family(curve);
            assert_eq!(spec_of(family, bits), Some(KeySpec::Ec(curve)));
        }
        assert_eq!(spec_of("RSA", 3072), Some(KeySpec::Rsa3072));
        assert_eq!(spec_of("SYM", 256), Some(KeySpec::Aes256));
        assert_eq!(spec_of("NIST", 224), None);
    }
}
