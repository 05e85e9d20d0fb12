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

/// secp256k1 signatures are made low-S (`s <= n/2`), as Bitcoin-style verifiers (and RustCrypto's
/// `k256`) require; devices such as OpenSSL-based ones return either half. An `r` or `s` that is
/// zero or not below the curve order is no signature at all and is refused.
fn normalize_low_s(
    sig: Signature,
    algorithm: SignAlgorithm,
    curve: Curve,
    operation: &'static str,
) -> Result<Signature> {
    if curve != Curve::Secp256k1 {
        return Ok(sig);
    }
    let parsed = k256::ecdsa::Signature::from_slice(&sig.to_raw()).map_err(|_| {
        Error::protocol(
            operation,
            "the secp256k1 signature's r or s is zero or not below the curve order",
        )
    })?;
    Signature::ecdsa_from_raw(algorithm, curve, &parsed.normalize_s().to_bytes())
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
    fn secp256k1_s_not_below_the_order_is_refused_and_high_s_is_lowered() {
        // Found by the n200_signature fuzz target: s = 2^256 - 1 came back as n + 1.
        let alg = SignAlgorithm::EcdsaSha256;
        let text = format!("{}{}", "01".repeat(32), "ff".repeat(32));
        let e = ecdsa_signature(&text, alg, Curve::Secp256k1, "test").expect_err("s >= n");
        assert_eq!(e.kind(), hsm_core::ErrorKind::Protocol);

        // n - 1 is valid but high: it becomes 1.
        let n_minus_1 = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140";
        let sig = ecdsa_signature(
            &format!("{}{n_minus_1}", "01".repeat(32)),
            alg,
            Curve::Secp256k1,
            "test",
        )
        .expect("valid high-S signature");
        let raw = sig.to_raw();
        assert_eq!(raw.get(32..63), Some(&[0u8; 31][..]));
        assert_eq!(raw.get(63), Some(&1));
    }

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
