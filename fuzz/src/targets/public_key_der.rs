//! SubjectPublicKeyInfo DER and PEM: parsing, the PEM round trip, rebuilding the key from its
//! parts (EC point, RSA modulus and exponent, Ed25519 bytes), and verification against an
//! arbitrary signature.

use hsm_core::{PublicKey, SignAlgorithm, Signature};

/// The input is SPKI DER, and also tried as PEM text.
pub fn run(data: &[u8]) {
    if let Ok(pk) = PublicKey::from_der(data) {
        check(&pk);
    }
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(pk) = PublicKey::from_pem(text)
    {
        check(&pk);
    }
}

fn check(pk: &PublicKey) {
    let again = PublicKey::from_pem(&pk.to_pem()).expect("our PEM parses");
    assert_eq!(&again, pk, "DER -> PEM -> DER is the identity");
    if let (Some(curve), Some(point)) = (pk.curve(), pk.ec_point()) {
        let rebuilt = PublicKey::from_ec_point(curve, point).expect("a parsed EC point rebuilds");
        assert_eq!(rebuilt.spec(), pk.spec());
        assert_eq!(rebuilt.ec_point(), Some(point));
        let raw = vec![1u8; 2 * curve.field_len()];
        if let Ok(sig) = Signature::ecdsa_from_raw(SignAlgorithm::EcdsaSha256, curve, &raw) {
            assert!(pk.verify(b"message", &sig).is_err(), "1||1 is no signature");
        }
    }
    if let Some((modulus, exponent)) = pk.rsa_components() {
        let rebuilt = PublicKey::from_rsa_components(&modulus, &exponent)
            .expect("parsed RSA components rebuild");
        assert_eq!(rebuilt.rsa_components(), Some((modulus, exponent)));
        assert_eq!(rebuilt.spec(), pk.spec());
    }
    if let Some(raw) = pk.ed25519_bytes() {
        let rebuilt = PublicKey::from_ed25519(raw).expect("32 parsed bytes rebuild");
        assert_eq!(&rebuilt, pk, "Ed25519 SPKI has one encoding");
    }
}
