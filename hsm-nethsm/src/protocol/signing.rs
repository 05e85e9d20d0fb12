//! hsm-core's algorithms in NetHSM terms: the mechanisms a key needs for them, the sign modes,
//! and what the `message` of each mode must hold.

use hsm_core::{Error, KeySpec, Result, SignAlgorithm};

use crate::protocol::{KeyMechanism, SignMode};

/// The mechanism that allows `algorithm`.
pub(crate) fn mechanism(algorithm: SignAlgorithm) -> Option<KeyMechanism> {
    Some(match algorithm {
        SignAlgorithm::EcdsaSha256
        | SignAlgorithm::EcdsaSha384
        | SignAlgorithm::EcdsaSha512
        | SignAlgorithm::EcdsaPrehashed => KeyMechanism::EcdsaSignature,
        SignAlgorithm::RsaPkcs1Sha256
        | SignAlgorithm::RsaPkcs1Sha384
        | SignAlgorithm::RsaPkcs1Sha512 => KeyMechanism::RsaSignaturePkcs1,
        SignAlgorithm::RsaPssSha256 => KeyMechanism::RsaSignaturePssSha256,
        SignAlgorithm::RsaPssSha384 => KeyMechanism::RsaSignaturePssSha384,
        SignAlgorithm::RsaPssSha512 => KeyMechanism::RsaSignaturePssSha512,
        SignAlgorithm::Ed25519 => KeyMechanism::EdDsaSignature,
        _ => return None,
    })
}

/// The mechanism a sign mode needs.
#[cfg_attr(not(feature = "sim"), allow(dead_code))]
pub(crate) fn mode_mechanism(mode: SignMode) -> Option<KeyMechanism> {
    Some(match mode {
        SignMode::Pkcs1 => KeyMechanism::RsaSignaturePkcs1,
        SignMode::PssMd5 => KeyMechanism::RsaSignaturePssMd5,
        SignMode::PssSha1 => KeyMechanism::RsaSignaturePssSha1,
        SignMode::PssSha224 => KeyMechanism::RsaSignaturePssSha224,
        SignMode::PssSha256 => KeyMechanism::RsaSignaturePssSha256,
        SignMode::PssSha384 => KeyMechanism::RsaSignaturePssSha384,
        SignMode::PssSha512 => KeyMechanism::RsaSignaturePssSha512,
        SignMode::EdDsa => KeyMechanism::EdDsaSignature,
        SignMode::Ecdsa => KeyMechanism::EcdsaSignature,
        SignMode::Bip340 => KeyMechanism::Bip340Signature,
    })
}

/// The algorithms a key with these mechanisms allows, for a key of `spec`.
pub(crate) fn algorithms(spec: KeySpec, mechanisms: &[KeyMechanism]) -> Vec<SignAlgorithm> {
    spec.algorithms()
        .into_iter()
        .filter(|a| mechanism(*a).is_some_and(|m| mechanisms.contains(&m)))
        .collect()
}

/// The mechanisms to give a new key: those of the allowed algorithms, deduplicated; AES keys
/// get CBC encryption and decryption.
pub(crate) fn mechanisms(spec: KeySpec, allowed: &[SignAlgorithm]) -> Vec<KeyMechanism> {
    if matches!(spec, KeySpec::Aes128 | KeySpec::Aes256) {
        return vec![
            KeyMechanism::AesEncryptionCbc,
            KeyMechanism::AesDecryptionCbc,
        ];
    }
    let mut out: Vec<KeyMechanism> = Vec::new();
    for m in allowed.iter().filter_map(|a| mechanism(*a)) {
        if !out.contains(&m) {
            out.push(m);
        }
    }
    out
}

/// The sign mode and the `message` bytes for `algorithm` on a key of `spec`, from a `digest`
/// of the algorithm's hash (or, for `EcdsaPrehashed`, the caller's digest).
///
/// NetHSM's ECDSA mode takes exactly the curve's digest size (32, 48 or 64 bytes): a longer
/// digest is cut to its leftmost bytes (what ECDSA does anyway) and a shorter one is padded
/// with leading zeros (the same integer).
pub(crate) fn digest_request(
    spec: KeySpec,
    algorithm: SignAlgorithm,
    digest: &[u8],
    operation: &'static str,
) -> Result<(SignMode, Vec<u8>)> {
    if let Some(curve) = spec.curve() {
        let size = curve.matching_hash().output_len();
        let fitted = if digest.len() >= size {
            digest.get(..size).unwrap_or(digest).to_vec()
        } else {
            let mut padded = vec![0u8; size - digest.len()];
            padded.extend_from_slice(digest);
            padded
        };
        return Ok((SignMode::Ecdsa, fitted));
    }
    let hash = algorithm
        .hash()
        .ok_or_else(|| Error::unsupported(operation, format!("{algorithm} takes no digest")))?;
    let mode = match algorithm {
        SignAlgorithm::RsaPkcs1Sha256
        | SignAlgorithm::RsaPkcs1Sha384
        | SignAlgorithm::RsaPkcs1Sha512 => return Ok((SignMode::Pkcs1, hash.digest_info(digest)?)),
        SignAlgorithm::RsaPssSha256 => SignMode::PssSha256,
        SignAlgorithm::RsaPssSha384 => SignMode::PssSha384,
        SignAlgorithm::RsaPssSha512 => SignMode::PssSha512,
        other => {
            return Err(Error::unsupported(
                operation,
                format!("{other} has no NetHSM digest mode"),
            ));
        }
    };
    Ok((mode, digest.to_vec()))
}

#[cfg(test)]
mod tests {
    use hsm_core::Curve;

    use super::*;

    #[test]
    fn ecdsa_digests_are_fitted_to_the_curve() {
        let spec = KeySpec::Ec(Curve::P256);
        let (mode, m) = digest_request(spec, SignAlgorithm::EcdsaSha384, &[7u8; 48], "t").unwrap();
        assert_eq!(mode, SignMode::Ecdsa);
        assert_eq!(m, vec![7u8; 32]);
        let (_, m) = digest_request(
            KeySpec::Ec(Curve::P521),
            SignAlgorithm::EcdsaSha256,
            &[7u8; 32],
            "t",
        )
        .unwrap();
        assert_eq!(m.len(), 64);
        assert_eq!(&m[..32], &[0u8; 32]);
    }

    #[test]
    fn pkcs1_gets_the_digest_info() {
        let d = [1u8; 32];
        let (mode, m) =
            digest_request(KeySpec::Rsa2048, SignAlgorithm::RsaPkcs1Sha256, &d, "t").unwrap();
        assert_eq!(mode, SignMode::Pkcs1);
        assert_eq!(m.len(), 19 + 32);
        let (mode, m) =
            digest_request(KeySpec::Rsa2048, SignAlgorithm::RsaPssSha256, &d, "t").unwrap();
        assert_eq!(mode, SignMode::PssSha256);
        assert_eq!(m, d);
    }
}
