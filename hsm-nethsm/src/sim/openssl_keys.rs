//! brainpoolP512r1 keys (feature `sim-openssl`): no Rust implementation of the curve exists,
//! so generation, import, the public point and ECDSA go through OpenSSL.

use openssl::bn::{BigNum, BigNumContext};
use openssl::ec::{EcGroup, EcKey, EcPoint, PointConversionForm};
use openssl::ecdsa::EcdsaSig;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use zeroize::Zeroizing;

use super::crypto::SimResult;

fn fail(e: openssl::error::ErrorStack) -> String {
    format!("OpenSSL: {e}")
}

fn group() -> SimResult<EcGroup> {
    EcGroup::from_curve_name(Nid::BRAINPOOL_P512R1).map_err(fail)
}

/// A new brainpoolP512r1 key.
pub(crate) fn generate_bp512() -> SimResult<EcKey<Private>> {
    let group = group()?;
    EcKey::generate(&group).map_err(fail)
}

/// The brainpoolP512r1 key with private scalar `d` (big-endian).
pub(crate) fn bp512_from_scalar(d: &[u8]) -> SimResult<EcKey<Private>> {
    let group = group()?;
    let d = BigNum::from_slice(d).map_err(fail)?;
    let mut ctx = BigNumContext::new().map_err(fail)?;
    let mut point = EcPoint::new(&group).map_err(fail)?;
    point.mul_generator2(&group, &d, &mut ctx).map_err(fail)?;
    let key = EcKey::from_private_components(&group, &d, &point).map_err(fail)?;
    key.check_key()
        .map_err(|_| "invalid key: the scalar is not valid for the curve".to_owned())?;
    Ok(key)
}

/// The uncompressed point `04||X||Y`.
pub(crate) fn ec_point(key: &EcKey<Private>) -> SimResult<Vec<u8>> {
    let mut ctx = BigNumContext::new().map_err(fail)?;
    key.public_key()
        .to_bytes(key.group(), PointConversionForm::UNCOMPRESSED, &mut ctx)
        .map_err(fail)
}

/// The public key as a SubjectPublicKeyInfo (DER).
pub(crate) fn public_key_der(key: &EcKey<Private>) -> SimResult<Vec<u8>> {
    PKey::from_ec_key(key.clone())
        .and_then(|k| k.public_key_to_der())
        .map_err(fail)
}

/// The private scalar, 64 bytes big-endian.
pub(crate) fn ec_scalar(key: &EcKey<Private>) -> SimResult<Zeroizing<Vec<u8>>> {
    key.private_key()
        .to_vec_padded(64)
        .map(Zeroizing::new)
        .map_err(fail)
}

/// ECDSA over a digest, DER as the device answers.
pub(crate) fn ecdsa_sign(key: &EcKey<Private>, digest: &[u8]) -> SimResult<Vec<u8>> {
    EcdsaSig::sign(digest, key)
        .and_then(|s| s.to_der())
        .map_err(fail)
}

/// A SEC1 `EC PRIVATE KEY` PEM of a curve RustCrypto lacks, as PKCS#8 DER.
pub(crate) fn pem_to_pkcs8(pem: &[u8]) -> SimResult<Zeroizing<Vec<u8>>> {
    let key = PKey::private_key_from_pem(pem).map_err(|_| "Invalid PEM private key".to_owned())?;
    key.private_key_to_pkcs8().map(Zeroizing::new).map_err(fail)
}
