//! The public half of a key to import, computed on the host (tokens keep no public point on an
//! imported EC private key, so the public object is written alongside).

use hsm_core::{Curve, Error, PrivateKeyParts, PublicKey, Result};

const OP: &str = "pkcs11.import_key";

fn bad_scalar() -> Error {
    Error::invalid_input(OP, "the private scalar is not valid for its curve")
}

/// The public key of decoded private key parts.
pub(crate) fn public_of(parts: &PrivateKeyParts) -> Result<PublicKey> {
    match parts {
        PrivateKeyParts::Rsa {
            modulus,
            public_exponent,
            ..
        } => PublicKey::from_rsa_components(modulus, public_exponent),
        PrivateKeyParts::Ec { curve, scalar } => {
            // Uncompressed, as tokens hold CKA_EC_POINT and as SPKI carries it (k256 would
            // compress by default).
            fn point<C>(scalar: &[u8]) -> Result<Vec<u8>>
            where
                C: elliptic_curve::CurveArithmetic,
                elliptic_curve::AffinePoint<C>:
                    elliptic_curve::sec1::FromSec1Point<C> + elliptic_curve::sec1::ToSec1Point<C>,
                elliptic_curve::FieldBytesSize<C>: elliptic_curve::sec1::ModulusSize,
            {
                use elliptic_curve::sec1::ToSec1Point as _;
                let secret =
                    elliptic_curve::SecretKey::<C>::from_slice(scalar).map_err(|_| bad_scalar())?;
                Ok(secret.public_key().to_sec1_point(false).to_bytes().to_vec())
            }
            let point = match curve {
                Curve::P256 => point::<p256::NistP256>(scalar)?,
                Curve::P384 => point::<p384::NistP384>(scalar)?,
                Curve::P521 => point::<p521::NistP521>(scalar)?,
                Curve::Secp256k1 => point::<k256::Secp256k1>(scalar)?,
                Curve::BrainpoolP256r1 => point::<bp256::r1::BrainpoolP256r1>(scalar)?,
                Curve::BrainpoolP384r1 => point::<bp384::r1::BrainpoolP384r1>(scalar)?,
                other => {
                    return Err(Error::unsupported(OP, format!("importing {other} keys")));
                }
            };
            PublicKey::from_ec_point(*curve, &point)
        }
        PrivateKeyParts::Ed25519 { seed } => {
            let seed: [u8; 32] = seed
                .as_slice()
                .try_into()
                .map_err(|_| Error::invalid_input(OP, "an Ed25519 seed is 32 bytes"))?;
            let key = ed25519_dalek::SigningKey::from_bytes(&seed);
            PublicKey::from_ed25519(key.verifying_key().as_bytes())
        }
        _ => Err(Error::unsupported(OP, "this key type")),
    }
}
