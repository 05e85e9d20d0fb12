//! Signing: the mechanism and input for each algorithm, and the token's output as a
//! [`Signature`].
//!
//! - ECDSA: hashed on the host, signed with `CKM_ECDSA` (SoftHSM2 has no `CKM_ECDSA_SHA256`);
//!   the raw `r‖s` output becomes an hsm-core signature through hsm-core's one check (`r`, `s`
//!   in `1..n`, secp256k1 low-S); a token's signature it refuses is a `Protocol` error.
//! - RSA PKCS#1 v1.5: the `DigestInfo` is built on the host and signed with `CKM_RSA_PKCS`.
//! - RSA-PSS: `CKM_RSA_PKCS_PSS` over the host digest, MGF1 with the same hash, salt = hash length.
//! - Ed25519: `CKM_EDDSA` over the whole message.

use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsPssParams};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::ObjectHandle;
use cryptoki::session::Session;
use hsm_core::{Error, HashAlgorithm, KeySpec, Result, SignAlgorithm, Signature};
use zeroize::Zeroizing;

use crate::pool::OpError;

/// What goes to the token for one signature.
pub(crate) struct Prepared {
    input: Zeroizing<Vec<u8>>,
    algorithm: SignAlgorithm,
    spec: KeySpec,
}

/// Prepares a signature over `data`, a message (`is_digest == false`) or a digest.
pub(crate) fn prepare(
    spec: KeySpec,
    algorithm: SignAlgorithm,
    data: &[u8],
    is_digest: bool,
) -> Result<Prepared> {
    let input = match (algorithm.hash(), is_digest) {
        (Some(hash), false) => hash.digest(data),
        _ => data.to_vec(),
    };
    let input = if algorithm.is_rsa_pkcs1() {
        let hash = algorithm.hash().unwrap_or(HashAlgorithm::Sha256);
        hash.digest_info(&input)?
    } else {
        input
    };
    Ok(Prepared {
        input: Zeroizing::new(input),
        algorithm,
        spec,
    })
}

fn pss(hash: HashAlgorithm) -> PkcsPssParams {
    let (hash_alg, mgf) = match hash {
        HashAlgorithm::Sha256 => (MechanismType::SHA256, PkcsMgfType::MGF1_SHA256),
        HashAlgorithm::Sha384 => (MechanismType::SHA384, PkcsMgfType::MGF1_SHA384),
        _ => (MechanismType::SHA512, PkcsMgfType::MGF1_SHA512),
    };
    PkcsPssParams {
        hash_alg,
        mgf,
        s_len: (hash.output_len() as u64).into(),
    }
}

/// Signs a prepared input with `key` on `session`.
pub(crate) fn run(
    session: &Session,
    key: ObjectHandle,
    p: &Prepared,
    operation: &'static str,
) -> std::result::Result<Signature, OpError> {
    let params;
    let mechanism = if p.algorithm.is_ecdsa() {
        Mechanism::Ecdsa
    } else if p.algorithm.is_rsa_pkcs1() {
        Mechanism::RsaPkcs
    } else if p.algorithm.is_rsa_pss() {
        params = pss(p.algorithm.hash().unwrap_or(HashAlgorithm::Sha256));
        Mechanism::RsaPkcsPss(params)
    } else {
        Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure))
    };
    tracing::trace!(
        algorithm = %p.algorithm,
        input_len = p.input.len(),
        "C_Sign"
    );
    let out = session.sign(&mechanism, key, &p.input)?;
    Ok(from_token(p.algorithm, p.spec, &out, operation)?)
}

/// The token's signature output as an hsm-core [`Signature`]. ECDSA goes through hsm-core's one
/// check and normalisation (`r` and `s` in `1..n`, secp256k1 held low-S); what it refuses is
/// the token answering garbage, so a [`ErrorKind::Protocol`](hsm_core::ErrorKind::Protocol)
/// error of `operation` with hsm-core's reason as the source.
pub(crate) fn from_token(
    algorithm: SignAlgorithm,
    spec: KeySpec,
    out: &[u8],
    operation: &'static str,
) -> Result<Signature> {
    let parsed = match spec {
        KeySpec::Ec(curve) => Signature::ecdsa_from_raw(algorithm, curve, out),
        _ => Signature::from_bytes(algorithm, out),
    };
    parsed.map_err(|e| {
        Error::protocol(
            operation,
            format!("the token's {algorithm} signature is not a valid one"),
        )
        .with_source(e)
    })
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

    #[test]
    fn a_token_signature_out_of_range_is_a_protocol_error_of_the_operation() {
        for curve in [Curve::P256, Curve::Secp256k1, Curve::P384] {
            let n = curve.order();
            let mut one = vec![0u8; curve.field_len()];
            *one.last_mut().unwrap() = 1;
            // r = n, and s = 0: both outside 1..n.
            for raw in [
                [n, &one[..]].concat(),
                [&one[..], &vec![0; n.len()]].concat(),
            ] {
                let e = from_token(
                    SignAlgorithm::EcdsaSha256,
                    KeySpec::Ec(curve),
                    &raw,
                    "pkcs11.sign_digest",
                )
                .unwrap_err();
                assert_eq!(e.kind(), ErrorKind::Protocol, "{curve}: {e}");
                assert_eq!(e.operation(), "pkcs11.sign_digest");
                assert!(std::error::Error::source(&e).is_some());
            }
            // Short output too.
            let e = from_token(
                SignAlgorithm::EcdsaSha256,
                KeySpec::Ec(curve),
                &one,
                "pkcs11.sign",
            )
            .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Protocol);
        }
        let e = from_token(
            SignAlgorithm::Ed25519,
            KeySpec::Ed25519,
            &[1; 63],
            "pkcs11.sign",
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Protocol);
    }
}
