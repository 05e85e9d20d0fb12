//! The one signing pipeline every backend runs: what the caller gave is checked, hashed and
//! shaped for the device here, and what the device answered is turned into a [`Signature`] here.
//!
//! A backend's [`Signer`](crate::Signer) builds a [`SignRequest`] from the caller's message or
//! digest ([`SignRequest::message`], [`SignRequest::digest`]), checks it against the key
//! ([`SignRequest::check_key`]), sends the form its device wants ([`SignRequest::digest_bytes`],
//! [`SignRequest::digest_info`], [`SignRequest::pkcs1_v15_block`], [`SignRequest::message_bytes`])
//! and reads the answer back with [`SignRequest::signature`]. All backends therefore refuse the
//! same inputs with the same kinds, and every ECDSA signature goes through the one range check and
//! low-S rule of [`Signature::ecdsa_from_raw`].

use crate::algorithm::SignAlgorithm;
use crate::error::{Error, ErrorKind, Result};
use crate::key_spec::KeySpec;
use crate::signature::Signature;
use crate::store::{check_algorithm_fits, check_digest, check_message};

/// How a device encodes an ECDSA signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EcdsaEncoding {
    /// DER `Ecdsa-Sig-Value` (`SEQUENCE { r, s }`): SmartCard-HSM, OpenSSL-based devices.
    Der,
    /// Fixed-size `r || s`, each half the curve's field length: PKCS#11 `CKM_ECDSA`, NetHSM.
    Raw,
}

/// A checked request to sign, ready for a device.
///
/// Holds the algorithm and either the digest to sign (host-hashed from the message, or the
/// caller's own) or, for Ed25519, the whole message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignRequest {
    algorithm: SignAlgorithm,
    data: Data,
    operation: &'static str,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Data {
    Digest(Vec<u8>),
    Message(Vec<u8>),
}

impl SignRequest {
    /// A request to sign `message`: refused when empty or over `max_len`; hashed on the host with
    /// the algorithm's hash; for [`SignAlgorithm::EcdsaPrehashed`] the message is the digest and
    /// its length is checked; for Ed25519 the message is kept whole.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] for an empty or oversized message or a wrong digest length.
    pub fn message(
        algorithm: SignAlgorithm,
        message: &[u8],
        max_len: usize,
        operation: &'static str,
    ) -> Result<Self> {
        check_message(message, max_len, operation)?;
        let data = match algorithm.hash() {
            Some(_) if algorithm == SignAlgorithm::Ed25519 => Data::Message(message.to_vec()),
            Some(hash) => Data::Digest(hash.digest(message)),
            None if algorithm == SignAlgorithm::Ed25519 => Data::Message(message.to_vec()),
            None => {
                check_digest(algorithm, message, operation)?;
                Data::Digest(message.to_vec())
            }
        };
        Ok(Self {
            algorithm,
            data,
            operation,
        })
    }

    /// A request to sign a digest the caller computed.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] if the length does not match the algorithm's hash (1 to 64
    /// bytes for [`SignAlgorithm::EcdsaPrehashed`]); [`ErrorKind::Unsupported`] for Ed25519.
    pub fn digest(
        algorithm: SignAlgorithm,
        digest: &[u8],
        operation: &'static str,
    ) -> Result<Self> {
        check_digest(algorithm, digest, operation)?;
        Ok(Self {
            algorithm,
            data: Data::Digest(digest.to_vec()),
            operation,
        })
    }

    /// Checks that the algorithm fits a key of `spec`.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] if it does not.
    pub fn check_key(&self, spec: KeySpec) -> Result<()> {
        check_algorithm_fits(spec, self.algorithm, self.operation)
    }

    /// The algorithm.
    #[must_use]
    pub fn algorithm(&self) -> SignAlgorithm {
        self.algorithm
    }

    /// The operation name errors carry.
    #[must_use]
    pub fn operation(&self) -> &'static str {
        self.operation
    }

    /// The digest to sign; `None` for Ed25519, which signs the message.
    #[must_use]
    pub fn digest_bytes(&self) -> Option<&[u8]> {
        match &self.data {
            Data::Digest(d) => Some(d),
            Data::Message(_) => None,
        }
    }

    /// The whole message, for Ed25519; `None` for the hashed algorithms.
    #[must_use]
    pub fn message_bytes(&self) -> Option<&[u8]> {
        match &self.data {
            Data::Message(m) => Some(m),
            Data::Digest(_) => None,
        }
    }

    /// The PKCS#1 v1.5 `DigestInfo` (`prefix || digest`) for RSA PKCS#1 v1.5 algorithms: what a
    /// device that pads but does not hash (PKCS#11 `CKM_RSA_PKCS`, NetHSM `PKCS1`) signs.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] if the algorithm is not RSA PKCS#1 v1.5.
    pub fn digest_info(&self) -> Result<Vec<u8>> {
        match (
            self.algorithm.is_rsa_pkcs1(),
            self.algorithm.hash(),
            &self.data,
        ) {
            (true, Some(hash), Data::Digest(d)) => hash.digest_info(d),
            _ => Err(Error::invalid_input(
                self.operation,
                format!("{} has no PKCS#1 v1.5 DigestInfo", self.algorithm),
            )),
        }
    }

    /// The whole encoded message of RSASSA-PKCS1-v1_5 (RFC 8017 §9.2): `00 01 FF..FF 00
    /// DigestInfo`, `modulus_len` bytes long. What a device that only does the raw RSA operation
    /// (SmartCard-HSM's plain RSA, `CKM_RSA_X_509`) signs.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] if the algorithm is not RSA PKCS#1 v1.5, or the modulus is too
    /// short for the DigestInfo and the 8 bytes of padding the standard requires.
    pub fn pkcs1_v15_block(&self, modulus_len: usize) -> Result<Vec<u8>> {
        let digest_info = self.digest_info()?;
        let padding = modulus_len
            .checked_sub(digest_info.len() + 3)
            .filter(|&p| p >= 8)
            .ok_or_else(|| {
                Error::invalid_input(
                    self.operation,
                    format!(
                        "a {modulus_len}-byte modulus is too short for a {}-byte DigestInfo",
                        digest_info.len()
                    ),
                )
            })?;
        let mut block = Vec::with_capacity(modulus_len);
        block.extend_from_slice(&[0x00, 0x01]);
        block.resize(2 + padding, 0xff);
        block.push(0x00);
        block.extend_from_slice(&digest_info);
        Ok(block)
    }

    /// Reads the device's answer as a signature for a key of `spec`. ECDSA answers are decoded
    /// from `encoding` and go through [`Signature::ecdsa_from_raw`]'s range check and low-S rule;
    /// RSA answers must be exactly `modulus_len` bytes when it is given; Ed25519 answers 64 bytes.
    ///
    /// # Errors
    /// [`ErrorKind::Protocol`] if the answer is not a well-formed signature of that shape: the
    /// device, not the caller, is at fault.
    pub fn signature(
        &self,
        spec: KeySpec,
        encoding: EcdsaEncoding,
        modulus_len: Option<usize>,
        answer: &[u8],
    ) -> Result<Signature> {
        let op = self.operation;
        let parsed = match spec {
            KeySpec::Ec(curve) => match encoding {
                EcdsaEncoding::Der => Signature::ecdsa_from_der(self.algorithm, curve, answer),
                EcdsaEncoding::Raw => Signature::ecdsa_from_raw(self.algorithm, curve, answer),
            },
            _ => {
                if let Some(len) = modulus_len
                    && answer.len() != len
                {
                    return Err(Error::protocol(
                        op,
                        format!(
                            "the device's RSA signature is {} bytes, the modulus {len}",
                            answer.len()
                        ),
                    ));
                }
                Signature::from_bytes(self.algorithm, answer)
            }
        };
        parsed.map_err(|e| {
            if e.kind() == ErrorKind::InvalidInput {
                Error::protocol(op, "the device answered a malformed signature").with_source(e)
            } else {
                e.with_operation(op)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::HashAlgorithm;
    use crate::key_spec::Curve;

    const OP: &str = "test.sign";

    #[test]
    fn messages_are_hashed_and_ed25519_kept_whole() {
        let r = SignRequest::message(SignAlgorithm::EcdsaSha384, b"abc", 100, OP).expect("ok");
        assert_eq!(
            r.digest_bytes(),
            Some(&HashAlgorithm::Sha384.digest(b"abc")[..])
        );
        assert_eq!(r.message_bytes(), None);
        let r = SignRequest::message(SignAlgorithm::Ed25519, b"abc", 100, OP).expect("ok");
        assert_eq!(r.message_bytes(), Some(&b"abc"[..]));
        assert_eq!(r.digest_bytes(), None);
        let r = SignRequest::message(SignAlgorithm::EcdsaPrehashed, &[7; 20], 100, OP).expect("ok");
        assert_eq!(r.digest_bytes(), Some(&[7u8; 20][..]));
    }

    #[test]
    fn the_same_inputs_are_refused_with_the_same_kinds() {
        let kind = |r: Result<SignRequest>| r.map(|_| ()).map_err(|e| e.kind());
        assert_eq!(
            kind(SignRequest::message(
                SignAlgorithm::EcdsaSha256,
                b"",
                100,
                OP
            )),
            Err(ErrorKind::InvalidInput)
        );
        assert_eq!(
            kind(SignRequest::message(
                SignAlgorithm::EcdsaSha256,
                &[0; 101],
                100,
                OP
            )),
            Err(ErrorKind::InvalidInput)
        );
        assert_eq!(
            kind(SignRequest::message(
                SignAlgorithm::EcdsaPrehashed,
                &[0; 65],
                100,
                OP
            )),
            Err(ErrorKind::InvalidInput)
        );
        assert_eq!(
            kind(SignRequest::digest(
                SignAlgorithm::RsaPkcs1Sha256,
                &[0; 31],
                OP
            )),
            Err(ErrorKind::InvalidInput)
        );
        assert_eq!(
            kind(SignRequest::digest(SignAlgorithm::Ed25519, &[0; 32], OP)),
            Err(ErrorKind::Unsupported)
        );
        let r = SignRequest::digest(SignAlgorithm::EcdsaSha256, &[1; 32], OP).expect("ok");
        assert!(r.check_key(KeySpec::Ec(Curve::P256)).is_ok());
        let err = r.check_key(KeySpec::Rsa2048).expect_err("ECDSA on RSA");
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert_eq!(err.operation(), OP);
    }

    fn openssl(args: &[&str]) {
        let out = std::process::Command::new("openssl")
            .args(args)
            .output()
            .expect("the openssl CLI runs");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    #[test]
    fn pkcs1_block_signed_with_plain_rsa_verifies_in_openssl() {
        // A card's plain RSA operation is the raw private-key operation, OpenSSL's `pkeyutl
        // -decrypt` without padding: if the block is right, `openssl dgst -verify` accepts the
        // result as RSASSA-PKCS1-v1_5.
        let dir = tempfile::tempdir().expect("tempdir");
        let path = |name: &str| dir.path().join(name).display().to_string();
        openssl(&[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            &path("key.pem"),
        ]);
        openssl(&[
            "pkey",
            "-in",
            &path("key.pem"),
            "-pubout",
            "-out",
            &path("pub.pem"),
        ]);
        let message = b"plain RSA on the card";
        std::fs::write(path("msg"), message).expect("write");
        for (algorithm, dgst) in [
            (SignAlgorithm::RsaPkcs1Sha256, "-sha256"),
            (SignAlgorithm::RsaPkcs1Sha384, "-sha384"),
            (SignAlgorithm::RsaPkcs1Sha512, "-sha512"),
        ] {
            let r = SignRequest::message(algorithm, message, 100, OP).expect("ok");
            let block = r.pkcs1_v15_block(256).expect("block");
            assert_eq!(block.len(), 256);
            assert_eq!(block.get(..2), Some(&[0x00, 0x01][..]));
            std::fs::write(path("block"), &block).expect("write");
            openssl(&[
                "pkeyutl",
                "-decrypt",
                "-inkey",
                &path("key.pem"),
                "-pkeyopt",
                "rsa_padding_mode:none",
                "-in",
                &path("block"),
                "-out",
                &path("sig"),
            ]);
            let sig = std::fs::read(path("sig")).expect("read");
            let parsed = r
                .signature(KeySpec::Rsa2048, EcdsaEncoding::Der, Some(256), &sig)
                .expect("signature");
            assert_eq!(parsed.as_raw(), &sig[..]);
            openssl(&[
                "dgst",
                dgst,
                "-verify",
                &path("pub.pem"),
                "-signature",
                &path("sig"),
                &path("msg"),
            ]);
        }
        let r = SignRequest::digest(SignAlgorithm::RsaPkcs1Sha512, &[0; 64], OP).expect("ok");
        // 19-byte prefix + 64-byte digest + 3 + 8 minimum padding = 94.
        assert!(r.pkcs1_v15_block(94).is_ok());
        assert_eq!(
            r.pkcs1_v15_block(93).map_err(|e| e.kind()),
            Err(ErrorKind::InvalidInput)
        );
        let ecdsa = SignRequest::digest(SignAlgorithm::EcdsaSha256, &[0; 32], OP).expect("ok");
        assert!(ecdsa.digest_info().is_err());
        assert!(ecdsa.pkcs1_v15_block(256).is_err());
    }

    #[test]
    fn malformed_device_answers_are_protocol_errors() {
        let r = SignRequest::digest(SignAlgorithm::EcdsaSha256, &[1; 32], OP).expect("ok");
        let p256 = KeySpec::Ec(Curve::P256);
        for (encoding, answer) in [
            (EcdsaEncoding::Raw, vec![0u8; 64]),
            (EcdsaEncoding::Raw, vec![1u8; 63]),
            (EcdsaEncoding::Raw, vec![0xffu8; 64]),
            (EcdsaEncoding::Der, vec![0x30, 0x00]),
        ] {
            let err = r
                .signature(p256, encoding, None, &answer)
                .expect_err("malformed");
            assert_eq!(
                err.kind(),
                ErrorKind::Protocol,
                "{encoding:?} {answer:02x?}"
            );
            assert_eq!(err.operation(), OP);
        }
        let rsa = SignRequest::digest(SignAlgorithm::RsaPkcs1Sha256, &[1; 32], OP).expect("ok");
        let err = rsa
            .signature(KeySpec::Rsa2048, EcdsaEncoding::Raw, Some(256), &[1; 255])
            .expect_err("short");
        assert_eq!(err.kind(), ErrorKind::Protocol);
    }
}
