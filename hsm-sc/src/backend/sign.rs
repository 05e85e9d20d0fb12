//! The `Signer` impl: hash on the host, one SIGN APDU on the card.

use hsm_core::store::{MAX_MESSAGE_LEN, check_algorithm_fits, check_digest, check_message};
use hsm_core::{Curve, Error, KeyId, KeySpec, Result, SignAlgorithm, Signature, Signer};

use super::ScHsm;
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
            (algo::RSA_PKCS1, hash.digest_info(digest)?)
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
        match spec {
            KeySpec::Ec(curve) => {
                let sig = Signature::ecdsa_from_der(algorithm, curve, &raw)?;
                if curve == Curve::Secp256k1 {
                    low_s(algorithm, curve, &sig)
                } else {
                    Ok(sig)
                }
            }
            _ => Signature::from_bytes(algorithm, &raw),
        }
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

/// secp256k1 verifiers (Bitcoin-style, RustCrypto's `k256`) accept only low-S signatures:
/// replace `s` by `n - s` when `s > n / 2`, as yubihsm.rs does.
fn low_s(algorithm: SignAlgorithm, curve: Curve, sig: &Signature) -> Result<Signature> {
    let n = crate::curves::SECP256K1.n;
    let raw = sig.to_raw();
    let (r, s) = raw
        .split_at_checked(n.len())
        .ok_or_else(|| Error::protocol("sc-hsm.sign", "an ECDSA signature of the wrong length"))?;
    // s > n/2  <=>  2s > n
    let doubled = shl1(s);
    let mut n_ext = vec![0u8];
    n_ext.extend_from_slice(n);
    if doubled <= n_ext {
        return Ok(sig.clone());
    }
    let mut out = r.to_vec();
    out.extend(sub_be(n, s));
    Signature::ecdsa_from_raw(algorithm, curve, &out)
}

/// `2 * a`, one byte longer than `a`.
fn shl1(a: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; a.len() + 1];
    let mut carry = 0u8;
    for (o, x) in out
        .iter_mut()
        .rev()
        .zip(a.iter().rev().chain(std::iter::once(&0)))
    {
        *o = (x << 1) | carry;
        carry = x >> 7;
    }
    out
}

/// `a - b` for equal-length big-endian numbers with `a >= b`.
fn sub_be(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; a.len()];
    let mut borrow = 0i16;
    for ((o, x), y) in out.iter_mut().rev().zip(a.iter().rev()).zip(b.iter().rev()) {
        let mut d = i16::from(*x) - i16::from(*y) - borrow;
        borrow = i16::from(d < 0);
        if d < 0 {
            d += 256;
        }
        *o = d as u8;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_endian_helpers() {
        assert_eq!(shl1(&[0x80, 0x01]), vec![1, 0, 2]);
        assert_eq!(sub_be(&[1, 0], &[0, 1]), vec![0, 0xFF]);
    }
}
