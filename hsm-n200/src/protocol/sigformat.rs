//! Signatures as the N200 may send them: hex or base64, DER or raw `r‖s` for ECDSA.
//!
//! The encoding of the device's signature answer is not public, so every plausible form is
//! accepted: the text is decoded as hex first, then as base64 (standard, then URL-safe); ECDSA
//! bytes that parse as a DER `SEQUENCE { r, s }` are DER, bytes of twice the field length are
//! raw `r‖s`.

use base64::Engine as _;
use hsm_core::{
    Curve, EcdsaEncoding, Error, KeySpec, Result, SignAlgorithm, SignRequest, Signature,
};

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

/// The readings of an ECDSA answer on `curve`: every hex/base64 decoding that looks like DER
/// (starts with a `SEQUENCE`) or has the length of raw `r‖s`, with its encoding.
fn ecdsa_candidates(text: &str, curve: Curve) -> Vec<(EcdsaEncoding, Vec<u8>)> {
    let mut out = Vec::new();
    for bytes in decodings(text.trim()) {
        if bytes.first() == Some(&0x30) {
            out.push((EcdsaEncoding::Der, bytes.clone()));
        }
        if bytes.len() == 2 * curve.field_len() {
            out.push((EcdsaEncoding::Raw, bytes));
        }
    }
    out
}

/// The first candidate `read` accepts; else [`ErrorKind::Protocol`](hsm_core::ErrorKind::Protocol)
/// with the first refusal as its source.
fn first_ecdsa(
    text: &str,
    curve: Curve,
    operation: &'static str,
    read: impl Fn(EcdsaEncoding, &[u8]) -> Result<Signature>,
) -> Result<Signature> {
    let mut refusal = None;
    for (encoding, bytes) in ecdsa_candidates(text, curve) {
        match read(encoding, &bytes) {
            Ok(sig) => return Ok(sig),
            Err(e) => {
                let _ = refusal.get_or_insert(e);
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

/// The decoding of an RSA answer that has the modulus length.
fn rsa_candidate(text: &str, modulus_len: usize, operation: &'static str) -> Result<Vec<u8>> {
    decodings(text.trim())
        .into_iter()
        .find(|b| b.len() == modulus_len)
        .ok_or_else(|| {
            Error::protocol(
                operation,
                format!("the answer is not a {modulus_len}-byte RSA signature in hex or base64"),
            )
        })
}

/// Reads the device's answer to `request` with a key of `spec`: the text is decoded here (hex
/// or base64; DER or raw `r‖s` for ECDSA), the bytes are read by
/// [`SignRequest::signature`], the one reading of a device's signature (range check and low-S
/// rule for ECDSA, the modulus length for RSA, malformed → `Protocol`).
///
/// # Errors
/// [`ErrorKind::Protocol`](hsm_core::ErrorKind::Protocol) if no decoding gives a valid
/// signature; [`ErrorKind::Unsupported`](hsm_core::ErrorKind::Unsupported) for a key that does
/// not sign.
pub fn signature(request: &SignRequest, spec: KeySpec, text: &str) -> Result<Signature> {
    let operation = request.operation();
    match (spec.curve(), spec.rsa_bits()) {
        (Some(curve), _) => first_ecdsa(text, curve, operation, |encoding, bytes| {
            request.signature(spec, encoding, None, bytes)
        }),
        (None, Some(bits)) => {
            let modulus_len = bits / 8;
            let bytes = rsa_candidate(text, modulus_len, operation)?;
            request.signature(spec, EcdsaEncoding::Raw, Some(modulus_len), &bytes)
        }
        _ => Err(Error::unsupported(
            operation,
            format!("a {spec} key cannot sign"),
        )),
    }
}

/// Reads an ECDSA signature on `curve` from the device's text, without a [`SignRequest`] (for
/// answers recorded from a device and for fuzzing); [`signature`] is the backend's reading.
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
    first_ecdsa(text, curve, operation, |encoding, bytes| match encoding {
        EcdsaEncoding::Der => Signature::ecdsa_from_der(algorithm, curve, bytes),
        _ => Signature::ecdsa_from_raw(algorithm, curve, bytes),
    })
}

/// Reads an RSA signature of `modulus_len` bytes from the device's text, without a
/// [`SignRequest`].
///
/// # Errors
/// [`ErrorKind::Protocol`](hsm_core::ErrorKind::Protocol) if no decoding has the modulus length.
pub fn rsa_signature(
    text: &str,
    algorithm: SignAlgorithm,
    modulus_len: usize,
    operation: &'static str,
) -> Result<Signature> {
    Signature::from_bytes(algorithm, &rsa_candidate(text, modulus_len, operation)?)
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

    /// The backend's reading through `SignRequest::signature`: every encoding the device may
    /// use is accepted and gives the same signature; garbage, an out-of-range `s` and an RSA
    /// answer of the wrong length are the device's fault (Protocol, the request's operation).
    #[test]
    fn the_request_reads_every_encoding_and_refuses_garbage_as_protocol() {
        let alg = SignAlgorithm::EcdsaSha256;
        let request = SignRequest::message(alg, b"zone data", 1 << 20, "n200.sign").expect("ok");
        let spec = KeySpec::Ec(Curve::P256);
        let expected = Signature::ecdsa_from_raw(alg, Curve::P256, &[7u8; 64]).expect("valid");
        let der = expected.to_der();
        let b64 = base64::engine::general_purpose::STANDARD.encode(expected.to_raw());
        for text in [hex::encode(expected.to_raw()), hex::encode_upper(&der), b64] {
            let sig = signature(&request, spec, &text).expect(&text);
            assert_eq!(sig.to_raw(), expected.to_raw(), "{text}");
        }
        let p256_n = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";
        for text in [
            "not a signature".to_owned(),
            format!("{}{p256_n}", "01".repeat(32)),
        ] {
            let e = signature(&request, spec, &text).expect_err(&text);
            assert_eq!(e.kind(), hsm_core::ErrorKind::Protocol, "{text}");
            assert_eq!(e.operation(), "n200.sign");
        }
        let rsa = SignRequest::message(SignAlgorithm::RsaPkcs1Sha256, b"x", 1 << 20, "n200.sign")
            .expect("ok");
        let e = signature(&rsa, KeySpec::Rsa2048, &"ab".repeat(255)).expect_err("255 bytes");
        assert_eq!(e.kind(), hsm_core::ErrorKind::Protocol);
        let sig = signature(&rsa, KeySpec::Rsa2048, &"ab".repeat(256)).expect("256 bytes");
        assert_eq!(sig.as_raw().len(), 256);
    }
}
