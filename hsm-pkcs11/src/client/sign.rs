//! Signing on a session: what goes to `C_Sign` for a checked [`SignRequest`], and the token's
//! answer read back through [`SignRequest::signature`] (`r‖s` for ECDSA, checked and normalised
//! there; a malformed answer is a `Protocol` error of the operation).

use cryptoki::object::ObjectHandle;
use cryptoki::session::Session;
use hsm_core::{EcdsaEncoding, Error, KeySpec, Result, SignAlgorithm, SignRequest, Signature};
use zeroize::Zeroizing;

use crate::protocol::mechanisms::sign_mechanism;
use crate::transport::session_pool::OpResult;

/// The bytes `C_Sign` signs for a request: the `DigestInfo` for RSA PKCS#1 v1.5 (the token
/// pads), the digest for ECDSA and RSA-PSS, the whole message for Ed25519.
///
/// # Errors
/// None for the requests hsm-core builds; a request without the data its algorithm needs is
/// `InvalidInput`.
pub(crate) fn token_input(request: &SignRequest) -> Result<Zeroizing<Vec<u8>>> {
    let input = if request.algorithm().is_rsa_pkcs1() {
        request.digest_info()?
    } else {
        request
            .digest_bytes()
            .or_else(|| request.message_bytes())
            .ok_or_else(|| {
                Error::invalid_input(request.operation(), "the request holds nothing to sign")
            })?
            .to_vec()
    };
    Ok(Zeroizing::new(input))
}

/// Signs `input` (from [`token_input`]) with `key` on `session`; the token's raw output.
pub(crate) fn run(
    session: &Session,
    key: ObjectHandle,
    algorithm: SignAlgorithm,
    input: &[u8],
) -> OpResult<Vec<u8>> {
    tracing::trace!(%algorithm, input_len = input.len(), "C_Sign");
    Ok(session.sign(&sign_mechanism(algorithm), key, input)?)
}

/// The token's signature output as an hsm-core [`Signature`] for a key of `spec`: ECDSA as
/// `r‖s` through hsm-core's one check and normalisation (`r` and `s` in `1..n`, secp256k1 held
/// low-S), RSA exactly the modulus length. What hsm-core refuses is the token answering
/// garbage: a [`Protocol`](hsm_core::ErrorKind::Protocol) error of the request's operation.
pub(crate) fn signature(request: &SignRequest, spec: KeySpec, out: &[u8]) -> Result<Signature> {
    let modulus_len = spec.rsa_bits().map(|bits| bits / 8);
    request.signature(spec, EcdsaEncoding::Raw, modulus_len, out)
}

/// Refuses an algorithm the token's mechanisms do not cover.
pub(crate) fn unsupported(algorithm: SignAlgorithm, operation: &'static str) -> Error {
    Error::unsupported(
        operation,
        format!("the token has no mechanism for {algorithm}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use hsm_core::{Curve, ErrorKind};

    /// The error of signing with `spec` when the token answers `out`: a Protocol error of
    /// `operation`.
    fn refused(
        algorithm: SignAlgorithm,
        spec: KeySpec,
        out: &[u8],
        operation: &'static str,
    ) -> Error {
        let request = match algorithm {
            SignAlgorithm::Ed25519 => SignRequest::message(algorithm, b"m", 1024, operation),
            _ => SignRequest::digest(algorithm, &[1; 32], operation),
        }
        .unwrap();
        let e = signature(&request, spec, out).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Protocol, "{spec}: {e}");
        assert_eq!(e.operation(), operation);
        e
    }

    #[test]
    fn a_token_signature_out_of_range_is_a_protocol_error_of_the_operation() {
        for curve in [Curve::P256, Curve::Secp256k1, Curve::P384] {
            let n = curve.order();
            let mut one = vec![0u8; curve.field_len()];
            *one.last_mut().unwrap() = 1;
            let ecdsa = (SignAlgorithm::EcdsaSha256, KeySpec::Ec(curve));
            // r = n, and s = 0: both outside 1..n.
            for raw in [
                [n, &one[..]].concat(),
                [&one[..], &vec![0; n.len()]].concat(),
            ] {
                let e = refused(ecdsa.0, ecdsa.1, &raw, "pkcs11.sign_digest");
                assert!(std::error::Error::source(&e).is_some());
            }
            // Short output too.
            refused(ecdsa.0, ecdsa.1, &one, "pkcs11.sign");
        }
        refused(
            SignAlgorithm::Ed25519,
            KeySpec::Ed25519,
            &[1; 63],
            "pkcs11.sign",
        );
    }

    #[test]
    fn the_token_input_is_the_digest_info_the_digest_or_the_message() {
        let digest = [7u8; 32];
        let pkcs1 = SignRequest::digest(SignAlgorithm::RsaPkcs1Sha256, &digest, "t").unwrap();
        let input = token_input(&pkcs1).unwrap();
        assert_eq!(input.len(), 19 + 32, "SHA-256 DigestInfo prefix + digest");
        assert!(input.ends_with(&digest));
        let pss = SignRequest::digest(SignAlgorithm::RsaPssSha256, &digest, "t").unwrap();
        assert_eq!(&token_input(&pss).unwrap()[..], &digest[..]);
        let ed = SignRequest::message(SignAlgorithm::Ed25519, b"whole", 1024, "t").unwrap();
        assert_eq!(&token_input(&ed).unwrap()[..], b"whole");
    }
}
