//! ECDSA signatures: strict DER parsing, and DER <-> raw round trips.
#![no_main]

use hsm_core::{Curve, SignAlgorithm, Signature};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let curve = Curve::ALL[usize::from(selector) % Curve::ALL.len()];
    if let Ok(sig) = Signature::ecdsa_from_der(SignAlgorithm::EcdsaPrehashed, curve, rest) {
        // Whatever parses strictly re-encodes to the same bytes and survives the raw form.
        assert_eq!(sig.to_der(), rest);
        let raw = Signature::ecdsa_from_raw(SignAlgorithm::EcdsaPrehashed, curve, &sig.to_raw())
            .expect("the raw form of a parsed signature is valid");
        assert_eq!(raw, sig);
    }
    if let Ok(sig) = Signature::ecdsa_from_raw(SignAlgorithm::EcdsaPrehashed, curve, rest) {
        let back = Signature::ecdsa_from_der(SignAlgorithm::EcdsaPrehashed, curve, &sig.to_der())
            .expect("the DER form of a raw signature parses");
        assert_eq!(back.to_raw(), rest);
    }
});
