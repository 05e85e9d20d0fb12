//! Verifying signatures in software, with RustCrypto.
//!
//! Used by the examples and by callers that want to check what a device returned. Every curve and
//! algorithm of [`SignAlgorithm`] is covered except brainpoolP512r1, for which no maintained Rust
//! implementation exists; that case answers [`ErrorKind::Unsupported`] (the conformance suite
//! checks it with the `openssl` CLI instead).

use ecdsa::signature::hazmat::PrehashVerifier as _;

use crate::algorithm::SignAlgorithm;

use crate::error::{Error, ErrorKind, Result};
use crate::hash::HashAlgorithm;
use crate::key_spec::{Curve, KeyType};
use crate::public_key::PublicKey;
use crate::signature::Signature;

const OP: &str = "verify";

fn invalid() -> Error {
    Error::new(ErrorKind::VerificationFailed, OP).with_message("the signature does not verify")
}

macro_rules! ecdsa_verify {
    ($curve:ty, $point:expr, $digest:expr, $raw:expr) => {{
        let vk = ecdsa::VerifyingKey::<$curve>::from_sec1_bytes($point)
            .map_err(|_| Error::invalid_input(OP, "not a point on the curve"))?;
        let sig = ecdsa::Signature::<$curve>::from_slice($raw).map_err(|_| invalid())?;
        vk.verify_prehash($digest, &sig).map_err(|_| invalid())
    }};
}

impl PublicKey {
    /// Verifies `signature` over `message` with this key.
    ///
    /// For [`SignAlgorithm::EcdsaPrehashed`], `message` is the digest.
    ///
    /// # Errors
    /// [`ErrorKind::VerificationFailed`] if the signature does not verify;
    /// [`ErrorKind::InvalidInput`] if it does not fit the key;
    /// [`ErrorKind::Unsupported`] for brainpoolP512r1.
    pub fn verify(&self, message: &[u8], signature: &Signature) -> Result<()> {
        let algorithm = signature.algorithm();
        match algorithm.hash() {
            Some(hash) if algorithm != SignAlgorithm::Ed25519 => {
                self.verify_digest(&hash.digest(message), signature)
            }
            _ if algorithm == SignAlgorithm::Ed25519 => self.verify_ed25519(message, signature),
            _ => self.verify_digest(message, signature),
        }
    }

    /// Verifies `signature` over a precomputed `digest`.
    ///
    /// # Errors
    /// As [`verify`](Self::verify); [`ErrorKind::Unsupported`] for Ed25519, which has no digest
    /// form.
    pub fn verify_digest(&self, digest: &[u8], signature: &Signature) -> Result<()> {
        let algorithm = signature.algorithm();
        if algorithm.key_type() != self.key_type() {
            return Err(Error::invalid_input(
                OP,
                format!(
                    "a {algorithm} signature does not fit a {:?} key",
                    self.key_type()
                ),
            ));
        }
        match self.key_type() {
            KeyType::Ec => self.verify_ecdsa(digest, signature),
            KeyType::Rsa => self.verify_rsa(digest, signature),
            _ => Err(Error::unsupported(
                OP,
                format!("{algorithm} has no digest form"),
            )),
        }
    }

    fn verify_ecdsa(&self, digest: &[u8], signature: &Signature) -> Result<()> {
        let point = self.ec_point().ok_or_else(invalid)?;
        let curve = self.curve().ok_or_else(invalid)?;
        if signature.curve() != Some(curve) {
            return Err(Error::invalid_input(
                OP,
                "the signature is for another curve",
            ));
        }
        let raw = signature.as_raw();
        match curve {
            Curve::P256 => ecdsa_verify!(p256::NistP256, point, digest, raw),
            Curve::P384 => ecdsa_verify!(p384::NistP384, point, digest, raw),
            Curve::P521 => ecdsa_verify!(p521::NistP521, point, digest, raw),
            Curve::Secp256k1 => ecdsa_verify!(k256::Secp256k1, point, digest, raw),
            Curve::BrainpoolP256r1 => ecdsa_verify!(bp256::BrainpoolP256r1, point, digest, raw),
            Curve::BrainpoolP384r1 => ecdsa_verify!(bp384::BrainpoolP384r1, point, digest, raw),
            Curve::BrainpoolP512r1 => Err(Error::unsupported(
                OP,
                "no Rust implementation of brainpoolP512r1 is available; verify with openssl",
            )),
        }
    }

    fn verify_rsa(&self, digest: &[u8], signature: &Signature) -> Result<()> {
        use rsa::pkcs8::DecodePublicKey as _;
        let key = rsa::RsaPublicKey::from_public_key_der(self.as_der())
            .map_err(|_| Error::invalid_input(OP, "not an RSA public key"))?;
        let algorithm = signature.algorithm();
        let hash = algorithm.hash().ok_or_else(invalid)?;
        hash.check_digest(digest, OP)?;
        let sig = signature.as_raw();
        let result = match (algorithm.is_rsa_pss(), hash) {
            (false, HashAlgorithm::Sha256) => {
                key.verify(rsa::Pkcs1v15Sign::new::<sha2::Sha256>(), digest, sig)
            }
            (false, HashAlgorithm::Sha384) => {
                key.verify(rsa::Pkcs1v15Sign::new::<sha2::Sha384>(), digest, sig)
            }
            (false, HashAlgorithm::Sha512) => {
                key.verify(rsa::Pkcs1v15Sign::new::<sha2::Sha512>(), digest, sig)
            }
            (true, HashAlgorithm::Sha256) => {
                key.verify(rsa::Pss::<sha2::Sha256>::new(), digest, sig)
            }
            (true, HashAlgorithm::Sha384) => {
                key.verify(rsa::Pss::<sha2::Sha384>::new(), digest, sig)
            }
            (true, HashAlgorithm::Sha512) => {
                key.verify(rsa::Pss::<sha2::Sha512>::new(), digest, sig)
            }
        };
        result.map_err(|_| invalid())
    }

    fn verify_ed25519(&self, message: &[u8], signature: &Signature) -> Result<()> {
        let raw: [u8; 32] = self
            .ed25519_bytes()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| Error::invalid_input(OP, "an Ed25519 signature needs an Ed25519 key"))?;
        let vk = ed25519_dalek::VerifyingKey::from_bytes(&raw)
            .map_err(|_| Error::invalid_input(OP, "not an Ed25519 point"))?;
        let sig_bytes: [u8; 64] = signature.as_raw().try_into().map_err(|_| invalid())?;
        let sig = ed25519_dalek::Signature::from_bytes(&sig_bytes);
        vk.verify_strict(message, &sig).map_err(|_| invalid())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Signer as _;
    use spki::EncodePublicKey as _;

    #[test]
    fn verifies_p256_and_rejects_tampering() {
        let sk = p256::ecdsa::SigningKey::from_slice(&[5u8; 32]).expect("scalar");
        let pk = PublicKey::from_der(
            sk.verifying_key()
                .to_public_key_der()
                .expect("der")
                .as_bytes(),
        )
        .expect("spki");
        let s: p256::ecdsa::Signature = sk.sign(b"hello");
        let sig = Signature::ecdsa_from_raw(SignAlgorithm::EcdsaSha256, Curve::P256, &s.to_bytes())
            .expect("raw");
        pk.verify(b"hello", &sig).expect("verifies");
        let tampered = pk.verify(b"hellO", &sig).expect_err("tampered message");
        assert_eq!(tampered.kind(), ErrorKind::VerificationFailed);
        assert!(!tampered.is_retryable());
        let wrong_alg =
            Signature::ecdsa_from_raw(SignAlgorithm::EcdsaSha384, Curve::P256, &s.to_bytes())
                .expect("raw");
        assert!(pk.verify(b"hello", &wrong_alg).is_err());
    }

    #[test]
    fn verifies_ed25519() {
        use ed25519_dalek::Signer as _;
        let sk = ed25519_dalek::SigningKey::from_bytes(&[1u8; 32]);
        let pk = PublicKey::from_ed25519(sk.verifying_key().as_bytes()).expect("pk");
        let s = sk.sign(b"msg");
        let sig = Signature::from_bytes(SignAlgorithm::Ed25519, &s.to_bytes()).expect("sig");
        pk.verify(b"msg", &sig).expect("verifies");
        let tampered = pk.verify(b"msh", &sig).expect_err("tampered message");
        assert_eq!(tampered.kind(), ErrorKind::VerificationFailed);
        // A signature of another key type cannot even be checked: that is bad input.
        let ecdsa = Signature::ecdsa_from_raw(SignAlgorithm::EcdsaSha256, Curve::P256, &[1u8; 64])
            .expect("raw");
        let mismatch = pk.verify(b"msg", &ecdsa).expect_err("wrong key type");
        assert_eq!(mismatch.kind(), ErrorKind::InvalidInput);
    }
}
