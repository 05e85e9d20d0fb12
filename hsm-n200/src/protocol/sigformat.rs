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
/// The bytes go through [`Signature::ecdsa_from_der`] / [`Signature::ecdsa_from_raw`], the one
/// ECDSA check of the workspace: `r` and `s` must lie in `1..n`, and a secp256k1 signature is
/// held low-S (devices return either half). A device signature those refuse is garbage from
/// the device: [`ErrorKind::Protocol`](hsm_core::ErrorKind::Protocol) here, with the refusal
/// as its source.
///
/// # Errors
/// [`ErrorKind::Protocol`](hsm_core::ErrorKind::Protocol) if no decoding gives a valid signature.
pub fn ecdsa_signature(
    text: &str,
    algorithm: SignAlgorithm,
    curve: Curve,
    operation: &'static str,
) -> Result<Signature> {
    let mut refusal = None;
    for bytes in decodings(text.trim()) {
        let der = (bytes.first() == Some(&0x30))
            .then(|| Signature::ecdsa_from_der(algorithm, curve, &bytes));
        let raw = (bytes.len() == 2 * curve.field_len())
            .then(|| Signature::ecdsa_from_raw(algorithm, curve, &bytes));
        for parsed in [der, raw].into_iter().flatten() {
            match parsed {
                Ok(sig) => return Ok(sig),
                Err(e) => {
                    let _ = refusal.get_or_insert(e);
                }
            }
        }
    }
    let error = Error::protocol(
        operation,
        format!("the answer is not a valid {curve} ECDSA signature in hex or base64, DER or r||s"),
    );
    Err(match refusal {
        Some(e) => error.with_source(e),
        None => error,
    })
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

    /// secp256k1's group order n.
    const SECP256K1_N: &str = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";

    #[test]
    fn secp256k1_s_not_below_the_order_is_refused_and_high_s_is_lowered() {
        // Found by the n200_signature fuzz target: s = 2^256 - 1 came back as n + 1.
        let alg = SignAlgorithm::EcdsaSha256;
        let text = format!("{}{}", "01".repeat(32), "ff".repeat(32));
        let e = ecdsa_signature(&text, alg, Curve::Secp256k1, "n200.test").expect_err("s >= n");
        assert_eq!(e.kind(), hsm_core::ErrorKind::Protocol);
        assert_eq!(e.operation(), "n200.test");
        // The refusal of hsm-core's one ECDSA check is kept as the cause.
        let cause = std::error::Error::source(&e).expect("the refusal is the source");
        assert!(cause.to_string().contains("order"), "{cause}");

        // n - 1 is valid but high: it becomes 1.
        let n_minus_1 = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140";
        let sig = ecdsa_signature(
            &format!("{}{n_minus_1}", "01".repeat(32)),
            alg,
            Curve::Secp256k1,
            "n200.test",
        )
        .expect("valid high-S signature");
        let raw = sig.to_raw();
        assert_eq!(raw.get(32..63), Some(&[0u8; 31][..]));
        assert_eq!(raw.get(63), Some(&1));
        assert_eq!(sig.is_low_s(), Some(true));
    }

    #[test]
    fn r_or_s_out_of_range_is_a_protocol_error_on_every_curve() {
        let alg = SignAlgorithm::EcdsaSha256;
        let one = "01".repeat(32);
        // P-256: s = n (just out of range), r = 0, s = 0, and n as r in DER.
        let p256_n = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";
        let zero = "00".repeat(32);
        for text in [
            format!("{one}{p256_n}"),
            format!("{p256_n}{one}"),
            format!("{zero}{one}"),
            format!("{one}{zero}"),
        ] {
            let e = ecdsa_signature(&text, alg, Curve::P256, "n200.test").expect_err(&text);
            assert_eq!(e.kind(), hsm_core::ErrorKind::Protocol, "{text}");
        }
        // secp256k1: s = n in DER.
        let der = Signature::ecdsa_from_raw(alg, Curve::P256, &[1u8; 64])
            .expect("a valid P-256 signature")
            .to_der();
        assert!(ecdsa_signature(&hex::encode(&der), alg, Curve::P256, "t").is_ok());
        let n = hex::decode(SECP256K1_N).expect("hex");
        let mut bad_der = vec![0x30, 0x26, 0x02, 0x01, 0x01, 0x02, 0x21, 0x00];
        bad_der.extend(&n);
        let e = ecdsa_signature(&hex::encode(&bad_der), alg, Curve::Secp256k1, "n200.test")
            .expect_err("s = n");
        assert_eq!(e.kind(), hsm_core::ErrorKind::Protocol);
        // P-256 keeps a high s (its verifiers accept both halves).
        let high = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632550";
        let sig = ecdsa_signature(&format!("{one}{high}"), alg, Curve::P256, "t").expect("valid");
        assert_eq!(sig.is_low_s(), Some(false));
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
