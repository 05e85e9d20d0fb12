//! ECDSA signatures: strict DER parsing, and DER <-> raw `r||s` round trips, on every curve.

use hsm_core::{Curve, SignAlgorithm, Signature};

/// The first byte picks the curve; the rest is the signature.
pub fn run(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let curve = Curve::ALL[usize::from(selector) % Curve::ALL.len()];
    if let Ok(sig) = Signature::ecdsa_from_der(SignAlgorithm::EcdsaPrehashed, curve, rest) {
        // Whatever parses strictly re-encodes to the same bytes and survives the raw form.
        assert_eq!(sig.to_der(), rest, "strict DER re-encodes byte for byte");
        let raw = Signature::ecdsa_from_raw(SignAlgorithm::EcdsaPrehashed, curve, &sig.to_raw())
            .expect("the raw form of a parsed signature is valid");
        assert_eq!(raw, sig);
        assert_eq!(sig.to_raw().len(), 2 * curve.field_len());
    }
    if let Ok(sig) = Signature::ecdsa_from_raw(SignAlgorithm::EcdsaPrehashed, curve, rest) {
        let back = Signature::ecdsa_from_der(SignAlgorithm::EcdsaPrehashed, curve, &sig.to_der())
            .expect("the DER form of a raw signature parses");
        assert_eq!(back.to_raw(), rest, "raw -> DER -> raw is the identity");
    }
}
