//! The `Signer` impl: hsm-core's sign pipeline ([`SignRequest`]) hashes on the host and, for
//! PKCS#1 v1.5, builds the whole block; the card does one SIGN APDU.
//!
//! RSA PKCS#1 v1.5 is signed as OpenSC's SmartCard-HSM driver and the vendor's module do: the host
//! writes `00 01 FF..FF 00 || DigestInfo`, as long as the modulus, and the card applies the
//! private key to it with algorithm `20` (plain RSA). Algorithm `30` (the card pads a DigestInfo)
//! is in the command set too, but not every implementation of it accepts every hash (one answers
//! `6400` for SHA-256), so this backend never sends it.

use hsm_core::store::MAX_MESSAGE_LEN;
use hsm_core::{EcdsaEncoding, Error, KeyId, Result, SignRequest, Signature};

use super::ScHsm;
use crate::client::crypto::algo;

impl ScHsm {
    fn sign_request(&self, key: &KeyId, request: &SignRequest) -> Result<Signature> {
        let operation = request.operation();
        let algorithm = request.algorithm();
        let mut inner = self.lock()?;
        let entry = inner.find(key, operation)?;
        let spec = entry.spec.ok_or_else(|| {
            Error::unsupported(operation, format!("the type of key {key} is unknown"))
        })?;
        request.check_key(spec)?;
        let modulus_len = spec.rsa_bits().map(|bits| bits.div_ceil(8));
        let digest = || {
            request.digest_bytes().map(<[u8]>::to_vec).ok_or_else(|| {
                Error::unsupported(
                    operation,
                    format!("the SmartCard-HSM cannot sign with {algorithm}"),
                )
            })
        };
        let (card_algo, input) = if algorithm.is_ecdsa() {
            (algo::ECDSA, digest()?)
        } else if algorithm.is_rsa_pkcs1() {
            let modulus_len = modulus_len
                .ok_or_else(|| Error::unsupported(operation, format!("{key} is not an RSA key")))?;
            (algo::RSA_RAW, request.pkcs1_v15_block(modulus_len)?)
        } else if algorithm.is_rsa_pss() {
            (algo::RSA_PSS, digest()?)
        } else {
            return Err(Error::unsupported(
                operation,
                format!("the SmartCard-HSM cannot sign with {algorithm}"),
            ));
        };
        let key_ref = entry.key_ref;
        let raw = inner.logged_in(operation, |c| c.sign(key_ref, card_algo, &input))?;
        drop(inner);
        // What the pipeline refuses here (a wrong length, r or s not below the order) came from
        // the card: a Protocol error. secp256k1 answers come back low-S.
        request.signature(spec, EcdsaEncoding::Der, modulus_len, &raw)
    }
}

hsm_core::sign_pipeline! {
    impl Signer for ScHsm {
        #[tracing::instrument(level = "debug", name = "sc-hsm.sign", skip_all)]
        fn sign;
        #[tracing::instrument(level = "debug", name = "sc-hsm.sign_digest", skip_all)]
        fn sign_digest;
        operations: "sc-hsm",
        max_message_len: |hsm| MAX_MESSAGE_LEN,
        sign_request: |hsm, key, algorithm, request, operation| hsm.sign_request(key, &request?),
    }
}
