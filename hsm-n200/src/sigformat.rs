//! Signatures as the N200 may send them: hex or base64, DER or raw `r‖s` for ECDSA.
//!
//! The encoding of the device's signature answer is not public, so every plausible form is
//! accepted: the text is decoded as hex first, then as base64 (standard, then URL-safe); ECDSA
//! bytes that parse as a DER `SEQUENCE { r, s }` are DER, bytes of twice the field length are
//! raw `r‖s`.

use base64::Engine as _;
use hsm_core::{Curve, Error, Result, SignAlgorithm, Signature};

/// Decodes hex or base64 text into bytes.
///
/// # Errors
/// [`ErrorKind::Protocol`](hsm_core::ErrorKind::Protocol) if it is neither.
pub fn decode_text(text: &str, operation: &'static str) -> Result<Vec<u8>> {
    let text = text.trim();
    let candidates = decodings(text);
    candidates
        .into_iter()
        .next()
        .ok_or_else(|| Error::protocol(operation, "the signature is neither hex nor base64"))
}

/// Every decoding of `text`, hex first.
fn decodings(text: &str) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    if let Ok(b) = hex::decode(text) {
        out.push(b);
    }
    for engine in [
        &base64::engine::general_purpose::STANDARD,
        &base64::engine::general_purpose::URL_SAFE,
        &base64::engine::general_purpose::STANDARD_NO_PAD,
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ] {
        if let Ok(b) = engine.decode(text) {
            out.push(b);
            break;
        }
    }
    out
}

/// Reads an ECDSA signature on `curve` from the device's text.
///
/// # Errors
/// [`ErrorKind::Protocol`](hsm_core::ErrorKind::Protocol) if no decoding gives a valid signature.
pub fn ecdsa_signature(
    text: &str,
    algorithm: SignAlgorithm,
    curve: Curve,
    operation: &'static str,
) -> Result<Signature> {
    for bytes in decodings(text.trim()) {
        let parsed = if bytes.first() == Some(&0x30) {
            Signature::ecdsa_from_der(algorithm, curve, &bytes).ok()
        } else {
            None
        };
        let parsed = parsed.or_else(|| {
            (bytes.len() == 2 * curve.field_len())
                .then(|| Signature::ecdsa_from_raw(algorithm, curve, &bytes).ok())
                .flatten()
        });
        if let Some(sig) = parsed {
            return normalize_low_s(sig, algorithm, curve, operation);
        }
    }
    Err(Error::protocol(
        operation,
        format!("the answer is not a {curve} ECDSA signature in hex or base64, DER or r||s"),
    ))
}

/// The order of secp256k1, big-endian.
const SECP256K1_ORDER: [u8; 32] = [
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE,
    0xBA, 0xAE, 0xDC, 0xE6, 0xAF, 0x48, 0xA0, 0x3B, 0xBF, 0xD2, 0x5E, 0x8C, 0xD0, 0x36, 0x41, 0x41,
];

/// secp256k1 signatures are made low-S (`s <= n/2`), as Bitcoin-style verifiers (and RustCrypto's
/// `k256`) require; devices such as OpenSSL-based ones return either half.
fn normalize_low_s(
    sig: Signature,
    algorithm: SignAlgorithm,
    curve: Curve,
    operation: &'static str,
) -> Result<Signature> {
    if curve != Curve::Secp256k1 {
        return Ok(sig);
    }
    let raw = sig.to_raw();
    let Some((r, s)) = raw.split_at_checked(32) else {
        return Ok(sig);
    };
    // s > n/2  <=>  2s > n.
    let mut doubled = [0u8; 33];
    let mut carry = 0u16;
    for (i, b) in s.iter().enumerate().rev() {
        let v = u16::from(*b) * 2 + carry;
        if let Some(slot) = doubled.get_mut(i + 1) {
            *slot = (v & 0xFF) as u8;
        }
        carry = v >> 8;
    }
    doubled[0] = carry as u8;
    let mut order = [0u8; 33];
    order[1..].copy_from_slice(&SECP256K1_ORDER);
    if doubled <= order {
        return Ok(sig);
    }
    // s' = n - s.
    let mut out = [0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let n = i16::from(SECP256K1_ORDER.get(i).copied().unwrap_or(0));
        let v = n - i16::from(s.get(i).copied().unwrap_or(0)) - borrow;
        borrow = i16::from(v < 0);
        if let Some(slot) = out.get_mut(i) {
            *slot = (v.rem_euclid(256)) as u8;
        }
    }
    Signature::ecdsa_from_raw(algorithm, curve, &[r, &out[..]].concat())
        .map_err(|e| e.with_operation(operation))
}

/// Reads an RSA signature of `modulus_len` bytes from the device's text.
///
/// # Errors
/// [`ErrorKind::Protocol`](hsm_core::ErrorKind::Protocol) if no decoding has the modulus length.
pub fn rsa_signature(
    text: &str,
    algorithm: SignAlgorithm,
    modulus_len: usize,
    operation: &'static str,
) -> Result<Signature> {
    decodings(text.trim())
        .into_iter()
        .find(|b| b.len() == modulus_len)
        .map_or_else(
            || {
                Err(Error::protocol(
                    operation,
                    format!(
                        "the answer is not a {modulus_len}-byte RSA signature in hex or base64"
                    ),
                ))
            },
            |b| Signature::from_bytes(algorithm, &b),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_four_ecdsa_forms() {
        let mut raw = vec![0x11; 32];
        raw.extend(vec![0x22; 32]);
        let alg = SignAlgorithm::EcdsaSha256;
        let expected = Signature::ecdsa_from_raw(alg, Curve::P256, &raw).expect("raw");
        let der = expected.to_der();
        let b64 = base64::engine::general_purpose::STANDARD;
        for text in [
            hex::encode(&raw),
            hex::encode_upper(&der),
            b64.encode(&raw),
            b64.encode(&der),
        ] {
            let got = ecdsa_signature(&text, alg, Curve::P256, "t").expect("decodes");
            assert_eq!(got, expected, "{text}");
        }
        assert!(ecdsa_signature("zz", alg, Curve::P256, "t").is_err());
        assert!(ecdsa_signature(&hex::encode([1u8; 10]), alg, Curve::P256, "t").is_err());
    }

    #[test]
    fn rsa_forms() {
        let sig = vec![0x5a; 256];
        let alg = SignAlgorithm::RsaPkcs1Sha256;
        let b64 = base64::engine::general_purpose::STANDARD;
        for text in [hex::encode(&sig), b64.encode(&sig)] {
            let got = rsa_signature(&text, alg, 256, "t").expect("decodes");
            assert_eq!(got.as_raw(), &sig[..]);
        }
        // (hex of 256 bytes read as base64 is 384 bytes: that is why the length must match.)
        assert!(rsa_signature(&hex::encode(&sig), alg, 300, "t").is_err());
        assert!(decode_text("!!", "t").is_err());
    }
}
