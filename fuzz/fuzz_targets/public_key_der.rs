//! SubjectPublicKeyInfo parsing, PEM round trip, and verification against arbitrary signatures.
#![no_main]

use hsm_core::{PublicKey, SignAlgorithm, Signature};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(pk) = PublicKey::from_der(data) {
        let again = PublicKey::from_pem(&pk.to_pem()).expect("our PEM parses");
        assert_eq!(again, pk);
        let _ = pk.rsa_components();
        if let Some(curve) = pk.curve() {
            let raw = vec![1u8; 2 * curve.field_len()];
            if let Ok(sig) = Signature::ecdsa_from_raw(SignAlgorithm::EcdsaSha256, curve, &raw) {
                let _ = pk.verify(b"message", &sig);
            }
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = PublicKey::from_pem(text);
    }
});
