//! ECDSA signatures from SoftHSM2 through hsm-core's one check: secp256k1 signatures held
//! low-S, so RustCrypto's `k256` (which refuses high-S) verifies every one of them.

mod common;

use hsm_core::{Curve, KeySpec, KeyStore, SignAlgorithm, Signer};
use k256::ecdsa::signature::Verifier as _;
use k256::pkcs8::DecodePublicKey as _;

#[test]
fn secp256k1_signatures_from_softhsm2_are_low_s_and_verify_with_k256() {
    let Some(hsm) = common::sim_if_ready() else {
        return;
    };
    if !hsm.capabilities().has_spec(KeySpec::Ec(Curve::Secp256k1)) {
        eprintln!(
            "SKIPPED (LOUDLY): this SoftHSM2 cannot make secp256k1 keys, so the low-S path \
             of hsm-pkcs11 is not tested against a token here"
        );
        assert!(
            std::env::var_os("CI").is_none(),
            "SoftHSM2 without secp256k1 under CI"
        );
        return;
    }
    let (key, public) = common::generate(&hsm, "k1", KeySpec::Ec(Curve::Secp256k1));
    let k256_key = k256::ecdsa::VerifyingKey::from_public_key_der(&public.to_der()).unwrap();
    // A token gives high S half the time: 64 signatures all low-S means the normalisation ran.
    for i in 0..64 {
        let msg = format!("secp256k1 message {i}");
        let sig = hsm
            .sign(&key, SignAlgorithm::EcdsaSha256, msg.as_bytes())
            .unwrap();
        assert_eq!(sig.is_low_s(), Some(true), "message {i}");
        let raw = k256::ecdsa::Signature::from_slice(sig.as_raw()).unwrap();
        k256_key.verify(msg.as_bytes(), &raw).unwrap();
        public.verify(msg.as_bytes(), &sig).unwrap();
    }
}
