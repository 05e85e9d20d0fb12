//! A signing operation: `C_SignInit` fixes key and mechanism, `C_Sign`/`C_SignUpdate` feed data
//! (hashed as it comes for the hashing mechanisms, kept for the others), `C_SignFinal` asks the
//! backend for the signature.

use std::sync::Arc;

use cryptoki_sys::*;
use hsm::Hsm;
use hsm_core::{HashAlgorithm, KeySpec, SignAlgorithm};
use sha2::Digest as _;

use crate::error::{CkResult, Doing, from_hsm};
use crate::mechanism::{SignMech, algorithm};
use crate::object::KeyRecord;

/// The largest amount of data a non-hashing mechanism keeps for one signature.
const MAX_DATA: usize = hsm_core::store::MAX_MESSAGE_LEN;

#[derive(Debug)]
enum Data {
    Sha256(sha2::Sha256),
    Sha384(sha2::Sha384),
    Sha512(sha2::Sha512),
    Raw(Vec<u8>),
}

/// An active `C_SignInit`.
#[derive(Debug)]
pub(crate) struct SignOp {
    key: Arc<KeyRecord>,
    mech: SignMech,
    data: Data,
    /// Whether `C_SignUpdate` was called (then `C_Sign` is refused).
    pub(crate) updated: bool,
}

impl SignOp {
    /// Starts an operation, checking that the mechanism fits the key.
    ///
    /// # Errors
    /// `CKR_KEY_TYPE_INCONSISTENT` when it does not.
    pub(crate) fn new(key: Arc<KeyRecord>, mech: SignMech) -> CkResult<Self> {
        if key.spec.key_type() != mech.key_type() {
            return Err(CKR_KEY_TYPE_INCONSISTENT);
        }
        let data = match mech.hash() {
            Some(HashAlgorithm::Sha256) => Data::Sha256(sha2::Sha256::new()),
            Some(HashAlgorithm::Sha384) => Data::Sha384(sha2::Sha384::new()),
            Some(HashAlgorithm::Sha512) => Data::Sha512(sha2::Sha512::new()),
            _ => Data::Raw(Vec::new()),
        };
        Ok(Self {
            key,
            mech,
            data,
            updated: false,
        })
    }

    /// The signature's length (for sizes-only calls and buffer checks).
    pub(crate) fn signature_len(&self) -> usize {
        self.key.signature_len()
    }

    /// Adds data.
    ///
    /// # Errors
    /// `CKR_DATA_LEN_RANGE` past the limit of the non-hashing mechanisms.
    pub(crate) fn update(&mut self, part: &[u8]) -> CkResult<()> {
        match &mut self.data {
            Data::Sha256(h) => h.update(part),
            Data::Sha384(h) => h.update(part),
            Data::Sha512(h) => h.update(part),
            Data::Raw(v) => {
                if v.len().saturating_add(part.len()) > MAX_DATA {
                    return Err(CKR_DATA_LEN_RANGE);
                }
                v.extend_from_slice(part);
            }
        }
        Ok(())
    }

    /// Signs what was fed, through `hsm`; the signature in PKCS#11 form (`r||s` for ECDSA).
    ///
    /// # Errors
    /// `CKR_DATA_INVALID` / `CKR_DATA_LEN_RANGE` for data the mechanism cannot sign, else the
    /// backend's errors mapped to `CKR_*`.
    pub(crate) fn finish(self, hsm: &dyn Hsm) -> CkResult<Vec<u8>> {
        let caps = hsm.capabilities();
        let id = &self.key.id;
        let (digest, hash) = match self.data {
            Data::Sha256(h) => (h.finalize().to_vec(), Some(HashAlgorithm::Sha256)),
            Data::Sha384(h) => (h.finalize().to_vec(), Some(HashAlgorithm::Sha384)),
            Data::Sha512(h) => (h.finalize().to_vec(), Some(HashAlgorithm::Sha512)),
            Data::Raw(v) => (v, None),
        };
        let signed = match (self.mech, hash) {
            (mech, Some(hash)) => hsm.sign_digest(id, algorithm(mech, hash), &digest),
            (SignMech::Ecdsa, None) => {
                if digest.is_empty() {
                    return Err(CKR_DATA_LEN_RANGE);
                }
                let by_length = match digest.len() {
                    32 => Some(HashAlgorithm::Sha256),
                    48 => Some(HashAlgorithm::Sha384),
                    64 => Some(HashAlgorithm::Sha512),
                    _ => None,
                };
                match by_length.map(|h| algorithm(SignMech::Ecdsa, h)) {
                    Some(alg) if caps.has_algorithm(alg) => hsm.sign_digest(id, alg, &digest),
                    _ => {
                        // A digest of another length: the curve's order length decides, as in
                        // every ECDSA implementation (truncate the leftmost bits, or pad).
                        let fitted = fit_digest(&digest, self.key.spec);
                        hsm.sign_digest(id, SignAlgorithm::EcdsaPrehashed, &fitted)
                    }
                }
            }
            (SignMech::RsaPkcs, None) => {
                let (hash, digest) = split_digest_info(&digest).ok_or(CKR_DATA_INVALID)?;
                hsm.sign_digest(id, algorithm(SignMech::RsaPkcs, hash), digest)
            }
            (SignMech::RsaPss(hash), None) => {
                if digest.len() != hash.output_len() {
                    return Err(CKR_DATA_LEN_RANGE);
                }
                hsm.sign_digest(id, algorithm(self.mech, hash), &digest)
            }
            (SignMech::Eddsa, None) => hsm.sign(id, SignAlgorithm::Ed25519, &digest),
            (_, None) => return Err(CKR_MECHANISM_INVALID),
        };
        let signature = signed.map_err(|e| from_hsm(Doing::Sign, &e))?;
        Ok(signature.to_raw())
    }
}

/// A digest fitted to a curve's order: at most 64 bytes (what the backends take), the leftmost
/// bytes kept, as ECDSA truncates.
fn fit_digest(digest: &[u8], spec: KeySpec) -> Vec<u8> {
    let order = spec
        .curve()
        .map_or(32, |c| c.order_bits().div_ceil(8))
        .min(64);
    digest.iter().copied().take(order).collect()
}

/// Splits a DER DigestInfo into its hash and digest (SHA-256/384/512 only).
fn split_digest_info(data: &[u8]) -> Option<(HashAlgorithm, &[u8])> {
    [
        HashAlgorithm::Sha256,
        HashAlgorithm::Sha384,
        HashAlgorithm::Sha512,
    ]
    .into_iter()
    .find_map(|h| {
        let rest = data.strip_prefix(h.digest_info_prefix())?;
        (rest.len() == h.output_len()).then_some((h, rest))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_infos_split_by_hash() {
        for h in [
            HashAlgorithm::Sha256,
            HashAlgorithm::Sha384,
            HashAlgorithm::Sha512,
        ] {
            let d = vec![7u8; h.output_len()];
            let info = h.digest_info(&d).unwrap();
            assert_eq!(split_digest_info(&info), Some((h, &d[..])));
            assert_eq!(split_digest_info(&info[..info.len() - 1]), None);
        }
        assert_eq!(split_digest_info(&[0x30, 0x21]), None);
    }

    #[test]
    fn long_digests_are_truncated_to_the_curve() {
        let p256 = KeySpec::Ec(hsm_core::Curve::P256);
        assert_eq!(fit_digest(&[1; 64], p256).len(), 32);
        assert_eq!(fit_digest(&[1; 20], p256).len(), 20);
    }
}
