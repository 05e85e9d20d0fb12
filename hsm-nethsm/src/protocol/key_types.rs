//! The one table between hsm-core's key specs and curves and the device's key types, and the
//! public key of a key's data (`GET /keys/{KeyID}`): what the backend, the simulator and the
//! fuzz targets all use.

use hsm_core::{Curve, Error, KeySpec, PublicKey, Result};

use crate::protocol::{KeyType, PublicKeyData};

/// The curve of an EC key type; `None` for RSA, Curve25519 and Generic.
#[must_use]
pub fn curve_of(key_type: KeyType) -> Option<Curve> {
    Some(match key_type {
        KeyType::EcP256 => Curve::P256,
        KeyType::EcP384 => Curve::P384,
        KeyType::EcP521 => Curve::P521,
        KeyType::EcP256k1 => Curve::Secp256k1,
        KeyType::BrainpoolP256 => Curve::BrainpoolP256r1,
        KeyType::BrainpoolP384 => Curve::BrainpoolP384r1,
        KeyType::BrainpoolP512 => Curve::BrainpoolP512r1,
        KeyType::Rsa | KeyType::Curve25519 | KeyType::Generic => return None,
    })
}

/// The EC key type of a curve; `None` for a curve the device has no type for.
#[must_use]
pub fn ec_key_type(curve: Curve) -> Option<KeyType> {
    Some(match curve {
        Curve::P256 => KeyType::EcP256,
        Curve::P384 => KeyType::EcP384,
        Curve::P521 => KeyType::EcP521,
        Curve::Secp256k1 => KeyType::EcP256k1,
        Curve::BrainpoolP256r1 => KeyType::BrainpoolP256,
        Curve::BrainpoolP384r1 => KeyType::BrainpoolP384,
        Curve::BrainpoolP512r1 => KeyType::BrainpoolP512,
        _ => return None,
    })
}

/// The NetHSM key type and length for a spec; `None` for specs the device has no type for.
pub(crate) fn key_type(spec: KeySpec) -> Option<(KeyType, Option<u32>)> {
    Some(match spec {
        KeySpec::Rsa2048 => (KeyType::Rsa, Some(2048)),
        KeySpec::Rsa3072 => (KeyType::Rsa, Some(3072)),
        KeySpec::Rsa4096 => (KeyType::Rsa, Some(4096)),
        KeySpec::Ec(curve) => (ec_key_type(curve)?, None),
        KeySpec::Ed25519 => (KeyType::Curve25519, None),
        KeySpec::Aes128 => (KeyType::Generic, Some(128)),
        KeySpec::Aes256 => (KeyType::Generic, Some(256)),
        _ => return None,
    })
}

/// The spec of a NetHSM key (RSA needs the modulus length, which only the public key tells).
pub(crate) fn spec_of(key_type: KeyType, rsa_bits: Option<usize>) -> Option<KeySpec> {
    match key_type {
        KeyType::Rsa => KeySpec::rsa(rsa_bits?),
        KeyType::Curve25519 => Some(KeySpec::Ed25519),
        KeyType::Generic => None,
        ec => curve_of(ec).map(KeySpec::Ec),
    }
}

/// The public key of a key's data; `None` for Generic keys.
///
/// # Errors
/// `Protocol` when the public part is missing or malformed.
pub fn public_key_of(data: &PublicKeyData) -> Result<Option<PublicKey>> {
    let bad = || {
        Error::protocol(
            "nethsm.get_key",
            "the key's public part is missing or malformed",
        )
    };
    let Some(public) = &data.public else {
        return if data.key_type == KeyType::Generic {
            Ok(None)
        } else {
            Err(bad())
        };
    };
    let built = match data.key_type {
        KeyType::Generic => return Ok(None),
        KeyType::Rsa => {
            let (Some(n), Some(e)) = (&public.modulus, &public.public_exponent) else {
                return Err(bad());
            };
            PublicKey::from_rsa_components(n, e)
        }
        KeyType::Curve25519 => PublicKey::from_ed25519(public.data.as_deref().ok_or_else(bad)?),
        ec => {
            let curve = curve_of(ec).ok_or_else(bad)?;
            PublicKey::from_ec_point(curve, public.data.as_deref().ok_or_else(bad)?)
        }
    };
    built.map(Some).map_err(|e| bad().with_source(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_curve_maps_to_its_key_type_and_back() {
        for curve in [
            Curve::P256,
            Curve::P384,
            Curve::P521,
            Curve::Secp256k1,
            Curve::BrainpoolP256r1,
            Curve::BrainpoolP384r1,
            Curve::BrainpoolP512r1,
        ] {
            let key_type = ec_key_type(curve).unwrap();
            assert_eq!(curve_of(key_type), Some(curve));
            assert_eq!(key_type_spec(KeySpec::Ec(curve)), Some(KeySpec::Ec(curve)));
        }
        for key_type in [KeyType::Rsa, KeyType::Curve25519, KeyType::Generic] {
            assert_eq!(curve_of(key_type), None);
        }
        assert_eq!(key_type_spec(KeySpec::Ed25519), Some(KeySpec::Ed25519));
        assert_eq!(spec_of(KeyType::Rsa, Some(3072)), Some(KeySpec::Rsa3072));
        assert_eq!(
            key_type(KeySpec::Aes256),
            Some((KeyType::Generic, Some(256)))
        );
    }

    /// A spec through its key type and back.
    fn key_type_spec(spec: KeySpec) -> Option<KeySpec> {
        let (key_type, _) = key_type(spec)?;
        spec_of(key_type, None)
    }
}
