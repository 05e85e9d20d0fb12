//! The N200's signature answers (hsm-n200 `sigformat`): hex or base64 text, DER or raw `r||s`
//! for ECDSA, low-S for secp256k1. What parses is a valid signature of the right size, and
//! parsing is idempotent: the parsed signature, written back as hex DER or hex `r||s`, parses to
//! the same signature.

use hsm_core::{Curve, SignAlgorithm};
use hsm_n200::protocol::sigformat;

const OP: &str = "fuzz";

/// floor(n / 2) for the order n of secp256k1, big-endian.
const SECP256K1_HALF_ORDER: [u8; 32] = [
    0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0x5D, 0x57, 0x6E, 0x73, 0x57, 0xA4, 0x50, 0x1D, 0xDF, 0xE9, 0x2F, 0x46, 0x68, 0x1B, 0x20, 0xA0,
];

/// The first byte picks the curve and the RSA modulus length; the rest is the answer text.
pub fn run(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let _ = sigformat::decode_text(text, OP);

    ecdsa(text, Curve::ALL[usize::from(selector) % Curve::ALL.len()]);

    let modulus_len = usize::from(selector) * 2 + 1;
    if let Ok(sig) = sigformat::rsa_signature(text, SignAlgorithm::RsaPkcs1Sha256, modulus_len, OP)
    {
        assert_eq!(sig.as_raw().len(), modulus_len);
    }
}

fn ecdsa(text: &str, curve: Curve) {
    if let Ok(sig) = sigformat::ecdsa_signature(text, SignAlgorithm::EcdsaSha256, curve, OP) {
        assert_eq!(sig.curve(), Some(curve));
        assert_eq!(sig.to_raw().len(), 2 * curve.field_len());
        if curve == Curve::Secp256k1 {
            let s = sig.to_raw().split_off(32);
            assert!(
                s.as_slice() <= &SECP256K1_HALF_ORDER[..],
                "secp256k1 signatures are low-S"
            );
        }
        for again in [hex(&sig.to_der()), hex(&sig.to_raw())] {
            let back = sigformat::ecdsa_signature(&again, SignAlgorithm::EcdsaSha256, curve, OP)
                .expect("a parsed signature, written as hex, parses");
            assert_eq!(
                back, sig,
                "parsing is idempotent (low-S normalisation included)"
            );
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
