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
            let point = match curve {
                Curve::P256 => p256::SecretKey::from_slice(scalar)
                    .map_err(|_| bad_scalar())?
                    .public_key()
                    .to_sec1_bytes()
                    .to_vec(),
                Curve::P384 => p384::SecretKey::from_slice(scalar)
                    .map_err(|_| bad_scalar())?
                    .public_key()
                    .to_sec1_bytes()
                    .to_vec(),
                Curve::P521 => p521::SecretKey::from_slice(scalar)
                    .map_err(|_| bad_scalar())?
                    .public_key()
                    .to_sec1_bytes()
                    .to_vec(),
                Curve::Secp256k1 => k256::SecretKey::from_slice(scalar)
                    .map_err(|_| bad_scalar())?
                    .public_key()
                    .to_sec1_bytes()
                    .to_vec(),
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
