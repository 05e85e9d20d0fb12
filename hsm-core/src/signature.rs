//! Signatures tagged with their algorithm, and strict ECDSA DER ↔ raw `r||s` conversion.

use std::fmt;

use crate::algorithm::SignAlgorithm;
use crate::error::{Error, Result};
use crate::key_spec::Curve;

const OP: &str = "signature";

/// A signature, tagged with the algorithm that made it.
///
/// ECDSA signatures are held as fixed-size raw `r||s` (each half [`Curve::field_len`] bytes) and
/// are available both raw ([`Signature::to_raw`]) and as the DER `Ecdsa-Sig-Value` that X.509,
/// OpenSSL and most protocols want ([`Signature::to_der`]). RSA and Ed25519 signatures have one
/// encoding, returned by both.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Signature {
    algorithm: SignAlgorithm,
    curve: Option<Curve>,
    bytes: Vec<u8>,
}

impl Signature {
    /// An ECDSA signature from raw `r||s`, each half exactly the curve's field length.
    ///
    /// This is the one place where every backend's ECDSA signatures are checked and made
    /// canonical: `r` and `s` must lie in `1..n` (`n` the group order, [`Curve::order`]), and a
    /// secp256k1 signature is held in low-S form (`s <= n/2`, replacing `s` by `n - s`), which
    /// Bitcoin-style verifiers and RustCrypto's `k256` require and which devices do not all
    /// produce. Other curves keep the device's `s`: their verifiers accept both halves.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) if `algorithm` is not ECDSA,
    /// the length is not twice the field length, or r or s is zero or not below the order.
    pub fn ecdsa_from_raw(algorithm: SignAlgorithm, curve: Curve, raw: &[u8]) -> Result<Self> {
        if !algorithm.is_ecdsa() {
            return Err(Error::invalid_input(
                OP,
                format!("{algorithm} is not ECDSA"),
            ));
        }
        let n = curve.field_len();
        if raw.len() != 2 * n {
            return Err(Error::invalid_input(
                OP,
                format!(
                    "a raw {curve} signature is {} bytes, got {}",
                    2 * n,
                    raw.len()
                ),
            ));
        }
        let (r, s) = raw.split_at(n);
        let order = curve.order();
        if r.iter().all(|&b| b == 0) || s.iter().all(|&b| b == 0) {
            return Err(Error::invalid_input(OP, "r and s must be non-zero"));
        }
        // Equal-length big-endian byte strings compare as the numbers they encode.
        if r >= order || s >= order {
            return Err(Error::invalid_input(
                OP,
                format!("r or s is not below the {curve} group order"),
            ));
        }
        let mut bytes = raw.to_vec();
        if curve == Curve::Secp256k1
            && let Some(s) = bytes.get_mut(n..)
        {
            make_low_s(s, order);
        }
        Ok(Self {
            algorithm,
            curve: Some(curve),
            bytes,
        })
    }

    /// Whether `s` is at most half the group order (always true for secp256k1, which this type
    /// holds in low-S form); `None` for signatures that are not ECDSA.
    #[must_use]
    pub fn is_low_s(&self) -> Option<bool> {
        let curve = self.curve?;
        let s = self.bytes.get(curve.field_len()..)?;
        let complement = sub_be(curve.order(), s);
        Some(s <= complement.as_slice())
    }

    /// An ECDSA signature from a DER `Ecdsa-Sig-Value` (`SEQUENCE { r INTEGER, s INTEGER }`).
    ///
    /// Parsing is strict: definite minimal lengths, minimal positive integers, no trailing data,
    /// and r and s no longer than the curve's field.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) on any violation.
    pub fn ecdsa_from_der(algorithm: SignAlgorithm, curve: Curve, der: &[u8]) -> Result<Self> {
        let n = curve.field_len();
        let (r, s) = parse_ecdsa_der(der)?;
        if r.len() > n || s.len() > n {
            return Err(Error::invalid_input(
                OP,
                format!("r or s is longer than the {curve} field"),
            ));
        }
        let mut raw = vec![0u8; 2 * n];
        let (raw_r, raw_s) = raw.split_at_mut(n);
        copy_right_aligned(raw_r, r);
        copy_right_aligned(raw_s, s);
        Self::ecdsa_from_raw(algorithm, curve, &raw)
    }

    /// An RSA (PKCS#1 v1.5 or PSS) or Ed25519 signature from its bytes.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) if `algorithm` is ECDSA (use
    /// the ECDSA constructors), the signature is empty, or an Ed25519 signature is not 64 bytes.
    pub fn from_bytes(algorithm: SignAlgorithm, bytes: &[u8]) -> Result<Self> {
        if algorithm.is_ecdsa() {
            return Err(Error::invalid_input(
                OP,
                "ECDSA signatures need a curve: use ecdsa_from_der or ecdsa_from_raw",
            ));
        }
        if bytes.is_empty() {
            return Err(Error::invalid_input(OP, "empty signature"));
        }
        if algorithm == SignAlgorithm::Ed25519 && bytes.len() != 64 {
            return Err(Error::invalid_input(
                OP,
                format!("an Ed25519 signature is 64 bytes, got {}", bytes.len()),
            ));
        }
        Ok(Self {
            algorithm,
            curve: None,
            bytes: bytes.to_vec(),
        })
    }

    /// The algorithm that made the signature.
    #[must_use]
    pub fn algorithm(&self) -> SignAlgorithm {
        self.algorithm
    }

    /// The curve, for ECDSA signatures.
    #[must_use]
    pub fn curve(&self) -> Option<Curve> {
        self.curve
    }

    /// The raw form: `r||s` for ECDSA, the signature bytes otherwise.
    #[must_use]
    pub fn to_raw(&self) -> Vec<u8> {
        self.bytes.clone()
    }

    /// The raw form, borrowed.
    #[must_use]
    pub fn as_raw(&self) -> &[u8] {
        &self.bytes
    }

    /// The DER `Ecdsa-Sig-Value` for ECDSA; the signature bytes otherwise. This is the encoding
    /// X.509 and `openssl dgst -verify` expect.
    #[must_use]
    pub fn to_der(&self) -> Vec<u8> {
        match self.curve {
            Some(curve) => {
                let n = curve.field_len();
                let (r, s) = self.bytes.split_at(n.min(self.bytes.len()));
                encode_ecdsa_der(r, s)
            }
            None => self.bytes.clone(),
        }
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signature")
            .field("algorithm", &self.algorithm)
            .field("curve", &self.curve)
            .field("raw", &hex::encode(&self.bytes))
            .finish()
    }
}

/// Replaces `s` by `n - s` when `s > n/2`. `s` is below `n`, so `n - s` does not wrap, and for
/// the odd `n` of every curve `s > n/2` exactly when `s > n - s`.
fn make_low_s(s: &mut [u8], order: &[u8]) {
    let complement = sub_be(order, s);
    if *s > *complement.as_slice() {
        s.copy_from_slice(&complement);
    }
}

/// `a - b` for big-endian numbers of equal length with `a >= b` (the caller's invariant; a
/// violation wraps instead of panicking).
fn sub_be(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; a.len()];
    let mut borrow = false;
    for ((o, &x), &y) in out.iter_mut().rev().zip(a.iter().rev()).zip(b.iter().rev()) {
        let (d1, b1) = x.overflowing_sub(y);
        let (d2, b2) = d1.overflowing_sub(u8::from(borrow));
        *o = d2;
        borrow = b1 || b2;
    }
    out
}

fn copy_right_aligned(dst: &mut [u8], src: &[u8]) {
    let start = dst.len().saturating_sub(src.len());
    if let Some(tail) = dst.get_mut(start..) {
        tail.copy_from_slice(
            src.get(src.len().saturating_sub(tail.len())..)
                .unwrap_or_default(),
        );
    }
}

/// Reads a DER length at `input`, returning (length, rest). Only minimal definite forms.
fn read_len(input: &[u8]) -> Result<(usize, &[u8])> {
    let bad = || Error::invalid_input(OP, "malformed DER length");
    let (&first, rest) = input.split_first().ok_or_else(bad)?;
    if first < 0x80 {
        return Ok((usize::from(first), rest));
    }
    let count = usize::from(first & 0x7f);
    if count == 0 || count > 2 {
        return Err(bad());
    }
    let bytes = rest.get(..count).ok_or_else(bad)?;
    let rest = rest.get(count..).ok_or_else(bad)?;
    let len = bytes
        .iter()
        .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
    // Minimal form: long form only for lengths >= 128, and no leading zero byte.
    if len < 0x80 || bytes.first() == Some(&0) {
        return Err(bad());
    }
    Ok((len, rest))
}

/// Reads a DER tag that must be `tag`, and the length after it; returns the length and the rest.
/// `missing` and `wrong` are the errors for no input and for another tag.
fn read_header<'a>(
    input: &'a [u8],
    tag: u8,
    missing: &'static str,
    wrong: &'static str,
) -> Result<(usize, &'a [u8])> {
    match input.split_first() {
        None => Err(Error::invalid_input(OP, missing)),
        Some((&found, rest)) if found == tag => read_len(rest),
        Some(_) => Err(Error::invalid_input(OP, wrong)),
    }
}

/// Reads one DER INTEGER that must be positive and minimally encoded; returns its magnitude
/// without the sign byte, and the rest.
fn read_positive_integer(input: &[u8]) -> Result<(&[u8], &[u8])> {
    let bad = |m: &'static str| Error::invalid_input(OP, m);
    let (len, rest) = read_header(input, 0x02, "missing INTEGER", "expected INTEGER")?;
    let value = rest
        .get(..len)
        .ok_or_else(|| bad("INTEGER runs past the end"))?;
    let rest = rest
        .get(len..)
        .ok_or_else(|| bad("INTEGER runs past the end"))?;
    match value {
        [] => Err(bad("empty INTEGER")),
        [first, ..] if first & 0x80 != 0 => Err(bad("negative INTEGER")),
        [0, second, ..] if second & 0x80 == 0 => Err(bad("INTEGER not minimally encoded")),
        [0] => Err(bad("zero INTEGER")),
        [0, magnitude @ ..] => Ok((magnitude, rest)),
        magnitude => Ok((magnitude, rest)),
    }
}

fn parse_ecdsa_der(der: &[u8]) -> Result<(&[u8], &[u8])> {
    let bad = |m: &'static str| Error::invalid_input(OP, m);
    let (len, rest) = read_header(der, 0x30, "empty signature", "expected SEQUENCE")?;
    if rest.len() != len {
        return Err(bad("SEQUENCE length does not match the signature"));
    }
    let (r, rest) = read_positive_integer(rest)?;
    let (s, rest) = read_positive_integer(rest)?;
    if !rest.is_empty() {
        return Err(bad("trailing data after s"));
    }
    Ok((r, s))
}

fn encode_integer(out: &mut Vec<u8>, magnitude: &[u8]) {
    let start = magnitude
        .iter()
        .position(|&b| b != 0)
        .unwrap_or(magnitude.len());
    let m = magnitude.get(start..).unwrap_or_default();
    let pad = m.first().is_none_or(|&b| b & 0x80 != 0);
    let len = m.len() + usize::from(pad);
    out.push(0x02);
    push_len(out, len);
    if pad {
        out.push(0);
    }
    out.extend_from_slice(m);
}

fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else if len < 0x100 {
        out.extend_from_slice(&[0x81, len as u8]);
    } else {
        out.extend_from_slice(&[0x82, (len >> 8) as u8, (len & 0xff) as u8]);
    }
}

fn encode_ecdsa_der(r: &[u8], s: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(r.len() + s.len() + 8);
    encode_integer(&mut body, r);
    encode_integer(&mut body, s);
    let mut out = Vec::with_capacity(body.len() + 4);
    out.push(0x30);
    push_len(&mut out, body.len());
    out.extend_from_slice(&body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Signer as _;

    fn raw_with(curve: Curve, r: &[u8], s: &[u8]) -> Vec<u8> {
        let mut raw = r.to_vec();
        raw.extend_from_slice(s);
        assert_eq!(raw.len(), 2 * curve.field_len());
        raw
    }

    fn one(curve: Curve) -> Vec<u8> {
        let mut v = vec![0u8; curve.field_len()];
        if let Some(last) = v.last_mut() {
            *last = 1;
        }
        v
    }

    #[test]
    fn r_or_s_at_or_above_the_order_is_refused_on_every_curve() {
        for curve in Curve::ALL {
            let n = curve.order().to_vec();
            let n_minus_1 = sub_be(&n, &one(curve));
            let all_ff = vec![0xff; curve.field_len()];
            for (r, s) in [(&n, &one(curve)), (&one(curve), &n), (&all_ff, &one(curve))] {
                let err = Signature::ecdsa_from_raw(
                    SignAlgorithm::EcdsaPrehashed,
                    curve,
                    &raw_with(curve, r, s),
                )
                .expect_err("out of range");
                assert_eq!(err.kind(), crate::ErrorKind::InvalidInput, "{curve}");
                // The DER form of the same numbers is refused too.
                let der = encode_ecdsa_der(r, s);
                assert!(
                    Signature::ecdsa_from_der(SignAlgorithm::EcdsaPrehashed, curve, &der).is_err(),
                    "{curve}"
                );
            }
            // n - 1 is the largest valid scalar.
            Signature::ecdsa_from_raw(
                SignAlgorithm::EcdsaPrehashed,
                curve,
                &raw_with(curve, &n_minus_1, &one(curve)),
            )
            .expect("n - 1 is in range");
        }
    }

    #[test]
    fn curve_orders_are_the_exact_scalar_bound_of_rustcrypto() {
        // The largest scalar RustCrypto accepts is n - 1, and n itself is refused.
        fn check<C>(curve: Curve)
        where
            C: ecdsa::elliptic_curve::CurveArithmetic,
        {
            let n = curve.order();
            let n1 = sub_be(n, &one(curve));
            let parse = |b: &[u8]| {
                let repr =
                    ecdsa::elliptic_curve::FieldBytes::<C>::try_from(b).expect("field length");
                Option::<C::Scalar>::from(ecdsa::elliptic_curve::ff::PrimeField::from_repr(repr))
            };
            assert!(parse(n).is_none(), "{curve}: n must not be a scalar");
            assert!(parse(&n1).is_some(), "{curve}: n - 1 must be a scalar");
        }
        check::<p256::NistP256>(Curve::P256);
        check::<p384::NistP384>(Curve::P384);
        check::<p521::NistP521>(Curve::P521);
        check::<k256::Secp256k1>(Curve::Secp256k1);
        check::<bp256::r1::BrainpoolP256r1>(Curve::BrainpoolP256r1);
        check::<bp384::r1::BrainpoolP384r1>(Curve::BrainpoolP384r1);
    }

    #[test]
    fn secp256k1_is_held_low_s_and_other_curves_keep_their_s() {
        let n = Curve::Secp256k1.order();
        let n_minus_1 = sub_be(n, &one(Curve::Secp256k1));
        let high = raw_with(Curve::Secp256k1, &one(Curve::Secp256k1), &n_minus_1);
        let sig = Signature::ecdsa_from_raw(SignAlgorithm::EcdsaSha256, Curve::Secp256k1, &high)
            .expect("valid");
        // n - (n - 1) = 1
        assert_eq!(sig.as_raw().get(32..), Some(&one(Curve::Secp256k1)[..]));
        assert_eq!(sig.is_low_s(), Some(true));
        // Through DER as well.
        let der = encode_ecdsa_der(&one(Curve::Secp256k1), &n_minus_1);
        let from_der =
            Signature::ecdsa_from_der(SignAlgorithm::EcdsaSha256, Curve::Secp256k1, &der)
                .expect("valid");
        assert_eq!(from_der, sig);
        // A real secp256k1 signature, flipped to high S, verifies after normalisation.
        let key = k256::ecdsa::SigningKey::from_slice(&[7u8; 32]).expect("key");
        let real: k256::ecdsa::Signature = key.sign(b"low-s");
        let bytes = real.to_bytes();
        let (r, s) = bytes.split_at(32);
        let flipped = raw_with(Curve::Secp256k1, r, &sub_be(n, s));
        let sig = Signature::ecdsa_from_raw(SignAlgorithm::EcdsaSha256, Curve::Secp256k1, &flipped)
            .expect("valid");
        assert_eq!(sig.as_raw(), &bytes[..]);
        // P-256 keeps the high s as sent.
        let n = Curve::P256.order();
        let high = raw_with(
            Curve::P256,
            &one(Curve::P256),
            &sub_be(n, &one(Curve::P256)),
        );
        let sig = Signature::ecdsa_from_raw(SignAlgorithm::EcdsaSha256, Curve::P256, &high)
            .expect("valid");
        assert_eq!(sig.as_raw(), &high[..]);
        assert_eq!(sig.is_low_s(), Some(false));
    }

    #[test]
    fn der_and_raw_agree_with_rustcrypto() {
        let sk = p256::ecdsa::SigningKey::from_slice(&[3u8; 32]).expect("scalar");
        for i in 0..64u8 {
            let sig: p256::ecdsa::Signature = sk.sign(&[i]);
            let der = sig.to_der();
            let ours =
                Signature::ecdsa_from_der(SignAlgorithm::EcdsaSha256, Curve::P256, der.as_bytes())
                    .expect("strict parse accepts RustCrypto DER");
            assert_eq!(ours.to_raw(), sig.to_bytes().to_vec());
            assert_eq!(ours.to_der(), der.as_bytes());
            let back =
                Signature::ecdsa_from_raw(SignAlgorithm::EcdsaSha256, Curve::P256, &ours.to_raw())
                    .expect("raw");
            assert_eq!(back, ours);
        }
    }

    #[test]
    fn p521_uses_long_lengths() {
        let mut raw = vec![0x01u8; 132];
        raw[0] = 0x01;
        raw[66] = 0x01;
        let sig =
            Signature::ecdsa_from_raw(SignAlgorithm::EcdsaSha512, Curve::P521, &raw).expect("raw");
        let der = sig.to_der();
        assert_eq!(&der[..2], &[0x30, 0x81]);
        let back =
            Signature::ecdsa_from_der(SignAlgorithm::EcdsaSha512, Curve::P521, &der).expect("der");
        assert_eq!(back.to_raw(), raw);
    }

    #[test]
    fn strict_der_rejections() {
        let alg = SignAlgorithm::EcdsaSha256;
        let c = Curve::P256;
        let refused: [(&str, &[u8]); 6] = [
            (
                "non-minimal integer (leading zero without need)",
                &[0x30, 0x07, 0x02, 0x02, 0x00, 0x01, 0x02, 0x01, 0x01],
            ),
            (
                "negative r",
                &[0x30, 0x06, 0x02, 0x01, 0x81, 0x02, 0x01, 0x01],
            ),
            (
                "trailing data",
                &[0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x00],
            ),
            (
                "wrong outer length",
                &[0x30, 0x07, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01],
            ),
            ("zero s", &[0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x00]),
            (
                "long-form length for a short value",
                &[0x30, 0x81, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01],
            ),
        ];
        for (why, der) in refused {
            assert!(Signature::ecdsa_from_der(alg, c, der).is_err(), "{why}");
        }
        // r longer than the field.
        let mut long = vec![0x30, 0x26, 0x02, 0x21];
        long.extend_from_slice(&[0x11; 33]);
        long.extend_from_slice(&[0x02, 0x01, 0x01]);
        assert!(Signature::ecdsa_from_der(alg, c, &long).is_err());
        // Raw of the wrong size; non-ECDSA algorithm.
        assert!(Signature::ecdsa_from_raw(alg, c, &[1u8; 63]).is_err());
        assert!(Signature::ecdsa_from_raw(SignAlgorithm::Ed25519, c, &[1u8; 64]).is_err());
        assert!(Signature::from_bytes(SignAlgorithm::Ed25519, &[1u8; 63]).is_err());
        assert!(Signature::from_bytes(alg, &[1u8; 64]).is_err());
    }

    #[test]
    fn small_values_are_padded() {
        let der = [0x30, 0x06, 0x02, 0x01, 0x05, 0x02, 0x01, 0x07];
        let sig = Signature::ecdsa_from_der(SignAlgorithm::EcdsaPrehashed, Curve::P256, &der)
            .expect("ok");
        let raw = sig.to_raw();
        assert_eq!(raw.len(), 64);
        assert_eq!(raw[31], 5);
        assert_eq!(raw[63], 7);
        assert_eq!(sig.to_der(), der);
    }
}
