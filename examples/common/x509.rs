//! Signing an X.509 object (a PKCS#10 request, a certificate) with a key on an HSM, through the
//! RustCrypto handle for the key's type: ECDSA on every curve the generic `EcdsaKey<C>` takes
//! (with the curve's hash), RSA PKCS#1 v1.5 with SHA-256, Ed25519.

use std::sync::Arc;

use ecdsa::der::Signature as Der;
use hsm::rustcrypto::{EcdsaKey, Ed25519Key, RsaPkcs1Sha256Key};
use hsm::{Curve, Hsm, KeyId, KeyType};
use x509_cert::builder::Builder;

/// Runs `builder` through the handle for `key`'s type on `hsm`.
pub(crate) fn build_signed<B: Builder>(
    builder: B,
    hsm: &Arc<dyn Hsm>,
    key: &KeyId,
) -> super::Result<B::Output> {
    let public = hsm.public_key(key)?;
    let (hsm, key) = (Arc::clone(hsm), key.clone());
    Ok(match (public.key_type(), public.curve()) {
        (KeyType::Ec, Some(Curve::P256)) => {
            builder.build::<_, Der<p256::NistP256>>(&EcdsaKey::<p256::NistP256>::new(hsm, key)?)?
        }
        (KeyType::Ec, Some(Curve::P384)) => {
            builder.build::<_, Der<p384::NistP384>>(&EcdsaKey::<p384::NistP384>::new(hsm, key)?)?
        }
        (KeyType::Ec, Some(Curve::P521)) => {
            builder.build::<_, Der<p521::NistP521>>(&EcdsaKey::<p521::NistP521>::new(hsm, key)?)?
        }
        (KeyType::Ec, Some(Curve::Secp256k1)) => builder
            .build::<_, Der<k256::Secp256k1>>(&EcdsaKey::<k256::Secp256k1>::new(hsm, key)?)?,
        (KeyType::Ec, Some(Curve::BrainpoolP256r1)) => builder
            .build::<_, Der<bp256::BrainpoolP256r1>>(&EcdsaKey::<bp256::BrainpoolP256r1>::new(
                hsm, key,
            )?)?,
        (KeyType::Ec, Some(Curve::BrainpoolP384r1)) => builder
            .build::<_, Der<bp384::BrainpoolP384r1>>(&EcdsaKey::<bp384::BrainpoolP384r1>::new(
                hsm, key,
            )?)?,
        (KeyType::Rsa, _) => {
            builder.build::<_, rsa::pkcs1v15::Signature>(&RsaPkcs1Sha256Key::new(hsm, key)?)?
        }
        (KeyType::Ed25519, _) => {
            builder.build::<_, ed25519_dalek::Signature>(&Ed25519Key::new(hsm, key)?)?
        }
        _ => {
            let spec = public
                .spec()
                .map_or_else(|| "unknown".to_owned(), |s| s.to_string());
            return Err(format!("a {spec} key cannot sign X.509 objects here").into());
        }
    })
}
