//! The N200's signature answers (hsm-n200 `sigformat`): hex or base64 text, DER or raw `r||s`
//! for ECDSA, low-S for secp256k1. What parses is a valid signature of the right size, and
//! parsing is idempotent: the parsed signature, written back as hex DER or hex `r||s`, parses to
//! the same signature.

use hsm_core::{Curve, SignAlgorithm};
use hsm_n200::sigformat;

const OP: &str = "fuzz";

/// The first byte picks the curve and the RSA modulus length; the rest is the answer text.
pub fn run(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let _ = sigformat::decode_text(text, OP);

    let curve = Curve::ALL[usize::from(selector) % Curve::ALL.len()];
    if let Ok(sig) = sigformat::ecdsa_signature(text, SignAlgorithm::EcdsaSha256, curve, OP) {
        assert_eq!(sig.curve(), Some(curve));
        assert_eq!(sig.to_raw().len(), 2 * curve.field_len());
        for again in [hex(&sig.to_der()), hex(&sig.to_raw())] {
            let back = sigformat::ecdsa_signature(&again, SignAlgorithm::EcdsaSha256, curve, OP)
                .expect("a parsed signature, written as hex, parses");
            assert_eq!(
                back, sig,
                "parsing is idempotent (low-S normalisation included)"
            );
        }
    }

    let modulus_len = usize::from(selector) * 2 + 1;
    if let Ok(sig) = sigformat::rsa_signature(text, SignAlgorithm::RsaPkcs1Sha256, modulus_len, OP)
    {
        assert_eq!(sig.as_raw().len(), modulus_len);
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
