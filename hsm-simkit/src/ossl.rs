//! Keys through OpenSSL, as the simulators hold and use them: the curve table, EC keys from
//! private scalars, public points, ECDSA as DER or fixed-width `r‖s`, RSA PKCS#1 v1.5 over a
//! caller's block and RSA-PSS over a caller's digest.
//!
//! OpenSSL's ECDSA draws a random nonce and does not normalise S, like most devices.

use hsm_core::Curve;
use openssl::bn::{BigNum, BigNumContext};
use openssl::ec::{EcGroup, EcKey, EcKeyRef, EcPoint, PointConversionForm};
use openssl::ecdsa::EcdsaSig;
use openssl::error::ErrorStack;
use openssl::md::MdRef;
use openssl::nid::Nid;
use openssl::pkey::{HasPrivate, HasPublic, PKeyRef, Private};
use openssl::pkey_ctx::PkeyCtx;
use openssl::rsa::Padding;
use openssl::sign::RsaPssSaltlen;

/// OpenSSL's name (NID) of `curve`; `None` for a curve this table does not know yet.
#[must_use]
pub fn curve_nid(curve: Curve) -> Option<Nid> {
    Some(match curve {
        Curve::P256 => Nid::X9_62_PRIME256V1,
        Curve::P384 => Nid::SECP384R1,
        Curve::P521 => Nid::SECP521R1,
        Curve::Secp256k1 => Nid::SECP256K1,
        Curve::BrainpoolP256r1 => Nid::BRAINPOOL_P256R1,
        Curve::BrainpoolP384r1 => Nid::BRAINPOOL_P384R1,
        Curve::BrainpoolP512r1 => Nid::BRAINPOOL_P512R1,
        _ => return None,
    })
}

/// The group of `curve`; `None` for a curve [`curve_nid`] does not know.
///
/// # Errors
/// OpenSSL lacks the curve.
pub fn ec_group(curve: Curve) -> Result<Option<EcGroup>, ErrorStack> {
    curve_nid(curve).map(EcGroup::from_curve_name).transpose()
}

/// The key with private scalar `d` (big-endian) on `group`, its public point computed. The
/// key is not checked: call `check_key` on scalars a client sent.
///
/// # Errors
/// OpenSSL refuses the scalar (zero, or the point cannot be made).
pub fn ec_key_from_scalar(group: &EcGroup, d: &[u8]) -> Result<EcKey<Private>, ErrorStack> {
    let d = BigNum::from_slice(d)?;
    let mut ctx = BigNumContext::new()?;
    let mut point = EcPoint::new(group)?;
    point.mul_generator2(group, &d, &mut ctx)?;
    EcKey::from_private_components(group, &d, &point)
}

/// The public point of `key`, uncompressed: `04‖X‖Y`.
///
/// # Errors
/// An OpenSSL failure.
pub fn uncompressed_point<T: HasPublic>(key: &EcKeyRef<T>) -> Result<Vec<u8>, ErrorStack> {
    let mut ctx = BigNumContext::new()?;
    key.public_key()
        .to_bytes(key.group(), PointConversionForm::UNCOMPRESSED, &mut ctx)
}

/// ECDSA over `digest` (truncated to the group order by OpenSSL), DER-encoded.
///
/// # Errors
/// An OpenSSL failure.
pub fn ecdsa_der(key: &EcKeyRef<Private>, digest: &[u8]) -> Result<Vec<u8>, ErrorStack> {
    EcdsaSig::sign(digest, key)?.to_der()
}

/// ECDSA over `digest` as `r‖s`, each `field_len` bytes big-endian.
///
/// # Errors
/// An OpenSSL failure, or `field_len` too small for `r` or `s`.
pub fn ecdsa_raw(
    key: &EcKeyRef<Private>,
    digest: &[u8],
    field_len: usize,
) -> Result<Vec<u8>, ErrorStack> {
    let sig = EcdsaSig::sign(digest, key)?;
    let width = i32::try_from(field_len).unwrap_or(i32::MAX);
    let mut out = sig.r().to_vec_padded(width)?;
    out.extend(sig.s().to_vec_padded(width)?);
    Ok(out)
}

/// An RSA signature on `data` with `pkey`: PKCS#1 v1.5 with `md`'s DigestInfo put in front of
/// `data` by OpenSSL, or with `md: None` PKCS#1 v1.5 type-1 padding of `data` as given (a
/// caller's DigestInfo).
///
/// # Errors
/// An OpenSSL failure (a block too long for the modulus, a digest of the wrong length).
pub fn rsa_pkcs1<T: HasPrivate>(
    pkey: &PKeyRef<T>,
    md: Option<&MdRef>,
    data: &[u8],
) -> Result<Vec<u8>, ErrorStack> {
    let mut ctx = PkeyCtx::new(pkey)?;
    ctx.sign_init()?;
    ctx.set_rsa_padding(Padding::PKCS1)?;
    if let Some(md) = md {
        ctx.set_signature_md(md)?;
    }
    let mut out = Vec::new();
    let _ = ctx.sign_to_vec(data, &mut out)?;
    Ok(out)
}

/// RSA-PSS over `digest` with `md`, MGF1 of the same hash and a salt as long as the digest.
///
/// # Errors
/// An OpenSSL failure (a digest of the wrong length for `md`).
pub fn rsa_pss<T: HasPrivate>(
    pkey: &PKeyRef<T>,
    md: &MdRef,
    digest: &[u8],
) -> Result<Vec<u8>, ErrorStack> {
    let mut ctx = PkeyCtx::new(pkey)?;
    ctx.sign_init()?;
    ctx.set_rsa_padding(Padding::PKCS1_PSS)?;
    ctx.set_signature_md(md)?;
    ctx.set_rsa_pss_saltlen(RsaPssSaltlen::DIGEST_LENGTH)?;
    ctx.set_rsa_mgf1_md(md)?;
    let mut out = Vec::new();
    let _ = ctx.sign_to_vec(digest, &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::pkey::PKey;

    #[test]
    fn every_curve_has_a_group_and_a_scalar_round_trips_through_its_point() {
        for curve in Curve::ALL {
            let group = ec_group(curve).ok().flatten();
            let group = group.unwrap_or_else(|| panic!("no group for {curve:?}"));
            let generated = EcKey::generate(&group).unwrap();
            let again = ec_key_from_scalar(&group, &generated.private_key().to_vec()).unwrap();
            again.check_key().unwrap();
            let point = uncompressed_point(&again).unwrap();
            assert_eq!(point, uncompressed_point(&generated).unwrap());
            assert_eq!(point.len(), 1 + 2 * curve.field_len(), "{curve:?}");
            assert_eq!(point.first(), Some(&0x04));
        }
    }

    #[test]
    fn ecdsa_signatures_verify_in_both_forms() {
        let group = ec_group(Curve::P384).unwrap().unwrap();
        let key = EcKey::generate(&group).unwrap();
        let digest = [7u8; 48];
        let der = ecdsa_der(&key, &digest).unwrap();
        assert!(
            EcdsaSig::from_der(&der)
                .unwrap()
                .verify(&digest, &key)
                .unwrap()
        );
        let raw = ecdsa_raw(&key, &digest, 48).unwrap();
        assert_eq!(raw.len(), 96);
        let (r, s) = raw.split_at(48);
        let sig = EcdsaSig::from_private_components(
            BigNum::from_slice(r).unwrap(),
            BigNum::from_slice(s).unwrap(),
        )
        .unwrap();
        assert!(sig.verify(&digest, &key).unwrap());
        assert!(!sig.verify(&[8u8; 48], &key).unwrap());
    }

    #[test]
    fn rsa_signatures_verify_with_openssl() {
        use openssl::md::Md;
        let pkey = PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap();
        let digest = [9u8; 32];
        let verify = |sig: &[u8], pss: bool| {
            let mut ctx = PkeyCtx::new(&pkey).unwrap();
            ctx.verify_init().unwrap();
            if pss {
                ctx.set_rsa_padding(Padding::PKCS1_PSS).unwrap();
                ctx.set_rsa_pss_saltlen(RsaPssSaltlen::DIGEST_LENGTH)
                    .unwrap();
            } else {
                ctx.set_rsa_padding(Padding::PKCS1).unwrap();
            }
            ctx.set_signature_md(Md::sha256()).unwrap();
            ctx.verify(&digest, sig).unwrap_or(false)
        };
        let pkcs1 = rsa_pkcs1(&pkey, Some(Md::sha256()), &digest).unwrap();
        assert!(verify(&pkcs1, false));
        // The same signature from the DigestInfo a caller builds.
        let mut info = vec![
            0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x01, 0x05, 0x00, 0x04, 0x20,
        ];
        info.extend_from_slice(&digest);
        assert_eq!(rsa_pkcs1(&pkey, None, &info).unwrap(), pkcs1);
        let pss = rsa_pss(&pkey, Md::sha256(), &digest).unwrap();
        assert!(verify(&pss, true));
        assert!(!verify(&pss, false));
    }
}
