//! The `Signer` impl: hash (and for PKCS#1 v1.5, pad) on the host, one SIGN APDU on the card.

use hsm_core::store::{MAX_MESSAGE_LEN, check_algorithm_fits, check_digest, check_message};
use hsm_core::{Error, KeyId, KeySpec, Result, SignAlgorithm, Signature, Signer};

use super::{ScHsm, pkcs1};
use crate::commands::crypto::algo;

impl ScHsm {
    fn sign_prepared(
        &self,
        key: &KeyId,
        algorithm: SignAlgorithm,
        digest: &[u8],
        operation: &'static str,
    ) -> Result<Signature> {
        let mut inner = self.lock()?;
        let entry = inner.find(key, operation)?;
        let spec = entry.spec.ok_or_else(|| {
            Error::unsupported(operation, format!("the type of key {key} is unknown"))
        })?;
        check_algorithm_fits(spec, algorithm, operation)?;
        let (card_algo, input) = if algorithm.is_ecdsa() {
            (algo::ECDSA, digest.to_vec())
        } else if algorithm.is_rsa_pkcs1() {
            let hash = algorithm
                .hash()
                .ok_or_else(|| Error::unsupported(operation, "PKCS#1 needs a hash"))?;
            let modulus_len = spec
                .rsa_bits()
                .map(|bits| bits.div_ceil(8))
                .ok_or_else(|| Error::unsupported(operation, format!("{key} is not an RSA key")))?;
            let block = pkcs1::signature_block(hash, digest, modulus_len, operation)?;
            (algo::RSA_RAW, block)
        } else if algorithm.is_rsa_pss() {
            (algo::RSA_PSS, digest.to_vec())
        } else {
            return Err(Error::unsupported(
                operation,
                format!("the SmartCard-HSM cannot sign with {algorithm}"),
            ));
        };
        let key_ref = entry.key_ref;
        let raw = inner.logged_in(operation, |c| c.sign(key_ref, card_algo, &input))?;
        drop(inner);
        if let Some(bits) = spec.rsa_bits()
            && raw.len() != bits.div_ceil(8)
        {
            return Err(Error::protocol(
                operation,
                format!(
                    "the card answered {} bytes for an RSA-{bits} signature",
                    raw.len()
                ),
            ));
        }
        // Signature's constructors check r and s against the curve order (and hold secp256k1
        // signatures low-S); what they refuse here came from the card.
        let signature = match spec {
            KeySpec::Ec(curve) => Signature::ecdsa_from_der(algorithm, curve, &raw),
            _ => Signature::from_bytes(algorithm, &raw),
        };
        signature.map_err(|e| {
            Error::protocol(
                operation,
                format!("the card answered an invalid {algorithm} signature"),
            )
            .with_source(e)
        })
    }
}

impl Signer for ScHsm {
    fn sign(&self, key: &KeyId, algorithm: SignAlgorithm, message: &[u8]) -> Result<Signature> {
        const OP: &str = "sc-hsm.sign";
        let _span = tracing::debug_span!("sc-hsm.sign").entered();
        check_message(message, MAX_MESSAGE_LEN, OP)?;
        let digest = match algorithm.hash() {
            Some(h) => h.digest(message),
            // The message is the digest (1 to 64 bytes).
            None if algorithm == SignAlgorithm::EcdsaPrehashed => {
                check_digest(algorithm, message, OP)?;
                message.to_vec()
            }
            None => {
                return Err(Error::unsupported(
                    OP,
                    format!("the SmartCard-HSM cannot sign with {algorithm}"),
                ));
            }
        };
        self.sign_prepared(key, algorithm, &digest, OP)
    }

    fn sign_digest(
        &self,
        key: &KeyId,
        algorithm: SignAlgorithm,
        digest: &[u8],
    ) -> Result<Signature> {
        const OP: &str = "sc-hsm.sign_digest";
        let _span = tracing::debug_span!("sc-hsm.sign_digest").entered();
        check_digest(algorithm, digest, OP)?;
        self.sign_prepared(key, algorithm, digest, OP)
    }
}
