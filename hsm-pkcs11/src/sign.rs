//! Signing: the mechanism and input for each algorithm, and the token's output as a
//! [`Signature`].
//!
//! - ECDSA: hashed on the host, signed with `CKM_ECDSA` (SoftHSM2 has no `CKM_ECDSA_SHA256`);
//!   the raw `r‖s` output becomes an hsm-core signature.
//! - RSA PKCS#1 v1.5: the `DigestInfo` is built on the host and signed with `CKM_RSA_PKCS`.
//! - RSA-PSS: `CKM_RSA_PKCS_PSS` over the host digest, MGF1 with the same hash, salt = hash length.
//! - Ed25519: `CKM_EDDSA` over the whole message.

use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsPssParams};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::ObjectHandle;
use cryptoki::session::Session;
use hsm_core::{Curve, Error, HashAlgorithm, KeySpec, Result, SignAlgorithm, Signature};
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
    let out = session.sign(&mechanism, key, &p.input)?;
    let sig = match p.spec {
        // secp256k1 verifiers (k256, libsecp256k1) accept only low-S signatures.
        KeySpec::Ec(Curve::Secp256k1) => {
            let low = k256::ecdsa::Signature::from_slice(&out).map_err(|_| {
                Error::protocol(
                    "pkcs11.sign",
                    "the token's secp256k1 signature is malformed",
                )
            })?;
            let low = low.normalize_s();
            Signature::ecdsa_from_raw(p.algorithm, Curve::Secp256k1, &low.to_bytes())?
        }
        KeySpec::Ec(curve) => Signature::ecdsa_from_raw(p.algorithm, curve, &out)?,
        _ => Signature::from_bytes(p.algorithm, &out)?,
    };
    Ok(sig)
}

/// Refuses an algorithm the token's mechanisms do not cover.
pub(crate) fn unsupported(algorithm: SignAlgorithm, operation: &'static str) -> Error {
    Error::unsupported(
        operation,
        format!("the token has no mechanism for {algorithm}"),
    )
}
