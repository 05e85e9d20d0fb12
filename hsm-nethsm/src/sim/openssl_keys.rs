//! Keys through OpenSSL (feature `sim-openssl`): brainpoolP512r1, which no Rust implementation
//! offers (generation, import, the public point, ECDSA), and the signing key every other
//! key's signatures are made with when OpenSSL is built in (see [`FastKey`]).

use hsm_core::Curve;
use openssl::ec::{EcGroup, EcKey};
use openssl::md::{Md, MdRef};
use openssl::pkey::{PKey, Private};
use zeroize::Zeroizing;

use super::crypto::{SimError, SimResult};
use crate::protocol::SignMode;

fn fail(e: openssl::error::ErrorStack) -> SimError {
    format!("OpenSSL: {e}").into()
}

fn group() -> SimResult<EcGroup> {
    hsm_simkit::ossl::ec_group(Curve::BrainpoolP512r1)
        .map_err(fail)?
        .ok_or_else(|| "OpenSSL: no brainpoolP512r1".into())
}

/// A new brainpoolP512r1 key.
pub(crate) fn generate_bp512() -> SimResult<EcKey<Private>> {
    let group = group()?;
    EcKey::generate(&group).map_err(fail)
}

/// The brainpoolP512r1 key with private scalar `d` (big-endian).
pub(crate) fn bp512_from_scalar(d: &[u8]) -> SimResult<EcKey<Private>> {
    let key = hsm_simkit::ossl::ec_key_from_scalar(&group()?, d).map_err(fail)?;
    key.check_key()
        .map_err(|_| SimError::from("invalid key: the scalar is not valid for the curve"))?;
    Ok(key)
}

/// The uncompressed point `04||X||Y`.
pub(crate) fn ec_point(key: &EcKey<Private>) -> SimResult<Vec<u8>> {
    hsm_simkit::ossl::uncompressed_point(key).map_err(fail)
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
    hsm_simkit::ossl::ecdsa_der(key, digest).map_err(fail)
}

/// A SEC1 `EC PRIVATE KEY` PEM of a curve RustCrypto lacks, as PKCS#8 DER.
pub(crate) fn pem_to_pkcs8(pem: &[u8]) -> SimResult<Zeroizing<Vec<u8>>> {
    let key = PKey::private_key_from_pem(pem).map_err(|_| "Invalid PEM private key".to_owned())?;
    key.private_key_to_pkcs8().map(Zeroizing::new).map_err(fail)
}

/// A key's private half as OpenSSL holds it, made once when the key is created, imported or
/// restored, so that a signature costs OpenSSL's signing only (no parsing per request).
/// OpenSSL signs with the device's algorithms: ECDSA with a random nonce and S as it comes
/// (high half of the time, as the device's secp256k1 answers), RSA PKCS#1 v1.5 over the
/// caller's DigestInfo, and RSA-PSS with a salt as long as the digest. Ed25519 stays with
/// ed25519-dalek, which signs faster than OpenSSL 3.0 (and the same bytes).
pub(crate) enum FastKey {
    /// An EC key.
    Ec(EcKey<Private>),
    /// An RSA key.
    Rsa(PKey<Private>),
}

impl FastKey {
    /// The EC key on `curve` with private scalar `d`.
    pub(crate) fn ec(curve: Curve, d: &[u8]) -> SimResult<Self> {
        let group = hsm_simkit::ossl::ec_group(curve)
            .map_err(fail)?
            .ok_or_else(|| SimError::from(format!("OpenSSL: no {curve:?}")))?;
        hsm_simkit::ossl::ec_key_from_scalar(&group, d)
            .map(Self::Ec)
            .map_err(fail)
    }

    /// The RSA key in a PKCS#1 `RSAPrivateKey` (DER).
    pub(crate) fn rsa(pkcs1_der: &[u8]) -> SimResult<Self> {
        openssl::rsa::Rsa::private_key_from_der(pkcs1_der)
            .and_then(PKey::from_rsa)
            .map(Self::Rsa)
            .map_err(fail)
    }

    /// Signs `message` in `mode`, checked beforehand (a pair the device serves, a digest of
    /// the mode's size); `None` when OpenSSL does not sign in that mode (BIP-340), and the
    /// caller's own path signs.
    pub(crate) fn sign(&self, mode: SignMode, message: &[u8]) -> Option<SimResult<Vec<u8>>> {
        let failed = |e| SimError::from(format!("signing failed: {e}"));
        Some(match (self, mode) {
            (Self::Ec(key), SignMode::Ecdsa) => {
                hsm_simkit::ossl::ecdsa_der(key, message).map_err(failed)
            }
            (Self::Rsa(key), SignMode::Pkcs1) => hsm_simkit::ossl::rsa_pkcs1(key, None, message)
                .map_err(|_| "RSA key too short".into()),
            (Self::Rsa(key), mode) => {
                hsm_simkit::ossl::rsa_pss(key, pss_md(mode)?, message).map_err(failed)
            }
            (Self::Ec(_), _) => return None,
        })
    }
}

/// The hash of an RSA-PSS mode.
fn pss_md(mode: SignMode) -> Option<&'static MdRef> {
    Some(match mode {
        SignMode::PssMd5 => Md::md5(),
        SignMode::PssSha1 => Md::sha1(),
        SignMode::PssSha224 => Md::sha224(),
        SignMode::PssSha256 => Md::sha256(),
        SignMode::PssSha384 => Md::sha384(),
        SignMode::PssSha512 => Md::sha512(),
        _ => return None,
    })
}
