//! The simulator's keys: real cryptography with OpenSSL (every N200 curve, brainpoolP512r1
//! included, RSA, and AES-128/256 for the symmetric commands).

use hsm_core::{Curve, HashAlgorithm};
use openssl::ec::{EcGroup, EcKey};
use openssl::ecdsa::EcdsaSig;
use openssl::md::Md;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::symm::{Cipher, decrypt, encrypt};

use super::rng::Rng;

/// A failure inside the simulator, answered as an HTTP error.
pub(crate) type SimResult<T> = Result<T, (u16, String)>;

pub(crate) fn bad(message: impl Into<String>) -> (u16, String) {
    (400, message.into())
}

fn internal(e: openssl::error::ErrorStack) -> (u16, String) {
    (500, format!("crypto error: {e}"))
}

/// Key material.
pub(crate) enum Material {
    Ec { curve: Curve, key: EcKey<Private> },
    Rsa { bits: u32, key: PKey<Private> },
    Sym { key: zeroize::Zeroizing<Vec<u8>> },
}

fn group(curve: Curve) -> SimResult<EcGroup> {
    hsm_simkit::ossl::ec_group(curve)
        .map_err(internal)?
        .ok_or_else(|| bad("this curve is not simulated"))
}

fn md(hash: Option<HashAlgorithm>) -> &'static openssl::md::MdRef {
    match hash {
        Some(HashAlgorithm::Sha384) => Md::sha384(),
        Some(HashAlgorithm::Sha512) => Md::sha512(),
        _ => Md::sha256(),
    }
}

impl Material {
    pub(crate) fn generate_ec(curve: Curve) -> SimResult<Self> {
        let group = group(curve)?;
        let key = EcKey::generate(&group).map_err(internal)?;
        Ok(Self::Ec { curve, key })
    }

    pub(crate) fn import_ec(curve: Curve, scalar: &[u8]) -> SimResult<Self> {
        if scalar.len() != curve.field_len() {
            return Err(bad(format!(
                "key_to_import must be {} bytes for this curve",
                curve.field_len()
            )));
        }
        let key = hsm_simkit::ossl::ec_key_from_scalar(&group(curve)?, scalar)
            .map_err(|_| bad("key_to_import is not a valid private key"))?;
        key.check_key()
            .map_err(|_| bad("key_to_import is not a valid private key"))?;
        Ok(Self::Ec { curve, key })
    }

    pub(crate) fn generate_rsa(bits: u32) -> SimResult<Self> {
        if !matches!(bits, 2048 | 3072 | 4096) {
            return Err(bad("keysize must be 2048, 3072 or 4096"));
        }
        let rsa = Rsa::generate(bits).map_err(internal)?;
        let key = PKey::from_rsa(rsa).map_err(internal)?;
        Ok(Self::Rsa { bits, key })
    }

    /// An AES key of `bits` (128 or 256) from `rng`.
    pub(crate) fn generate_sym(bits: u32, rng: &Rng) -> SimResult<Self> {
        if !matches!(bits, 128 | 256) {
            return Err(bad("keysize must be 128 or 256"));
        }
        let mut key = zeroize::Zeroizing::new(vec![0u8; bits as usize / 8]);
        rng.fill(&mut key)?;
        Ok(Self::Sym { key })
    }

    /// `key_type` and `key_len` as the device lists them.
    pub(crate) fn type_and_len(&self) -> (&'static str, u32) {
        match self {
            Self::Ec { curve, .. } => crate::protocol::keytypes::curve_family(*curve),
            Self::Rsa { bits, .. } => ("RSA", *bits),
            Self::Sym { key } => ("SYM", u32::try_from(key.len() * 8).unwrap_or(0)),
        }
    }

    /// The public key as the device sends it: hex `X‖Y` (EC), hex SPKI DER (RSA, assumed).
    pub(crate) fn public_hex(&self) -> SimResult<Option<String>> {
        match self {
            Self::Ec { key, .. } => {
                let bytes = hsm_simkit::ossl::uncompressed_point(key).map_err(internal)?;
                Ok(Some(hex::encode_upper(bytes.get(1..).unwrap_or_default())))
            }
            Self::Rsa { key, .. } => Ok(Some(hex::encode_upper(
                key.public_key_to_der().map_err(internal)?,
            ))),
            Self::Sym { .. } => Ok(None),
        }
    }

    /// ECDSA over `digest`: raw `r‖s` (the simulator's assumed answer format).
    pub(crate) fn sign_ecdsa(&self, digest: &[u8]) -> SimResult<Vec<u8>> {
        let Self::Ec { curve, key } = self else {
            return Err(bad("not an EC key"));
        };
        hsm_simkit::ossl::ecdsa_raw(key, digest, curve.field_len()).map_err(internal)
    }

    pub(crate) fn verify_ecdsa(&self, digest: &[u8], der: &[u8]) -> SimResult<bool> {
        let Self::Ec { key, .. } = self else {
            return Err(bad("not an EC key"));
        };
        let sig = EcdsaSig::from_der(der).map_err(|_| bad("signature is not DER"))?;
        sig.verify(digest, key).map_err(internal)
    }

    pub(crate) fn sign_rsa(
        &self,
        hash: HashAlgorithm,
        pss: bool,
        digest: &[u8],
    ) -> SimResult<Vec<u8>> {
        let Self::Rsa { key, .. } = self else {
            return Err(bad("not an RSA key"));
        };
        if digest.len() != hash.output_len() {
            return Err(bad("hash length does not match hash_algorithm"));
        }
        let md = md(Some(hash));
        if pss {
            hsm_simkit::ossl::rsa_pss(key, md, digest).map_err(internal)
        } else {
            hsm_simkit::ossl::rsa_pkcs1(key, Some(md), digest).map_err(internal)
        }
    }

    /// AES-CBC (128 or 256 as the key is) with PKCS#7 padding and a fresh IV from `rng`: hex of
    /// IV ‖ ciphertext. The device's format is not public: the record's answer to an 11-byte
    /// text is 48 bytes, this one is 32.
    pub(crate) fn encrypt(&self, plaintext: &[u8], rng: &Rng) -> SimResult<String> {
        let Self::Sym { key } = self else {
            return Err(bad("not a symmetric key"));
        };
        let mut iv = [0u8; 16];
        rng.fill(&mut iv)?;
        let ct = encrypt(cbc(key)?, key, Some(&iv), plaintext).map_err(internal)?;
        Ok(hex::encode_upper([&iv[..], &ct].concat()))
    }

    pub(crate) fn decrypt(&self, hex_data: &str) -> SimResult<Vec<u8>> {
        let Self::Sym { key } = self else {
            return Err(bad("not a symmetric key"));
        };
        let cipher = cbc(key)?;
        let data = hex::decode(hex_data).map_err(|_| bad("data is not hex"))?;
        let (iv, ct) = data
            .split_at_checked(16)
            .ok_or_else(|| bad("data is too short"))?;
        decrypt(cipher, key, Some(iv), ct).map_err(|_| bad("decryption failed"))
    }
}

/// AES-CBC for a key of this length.
fn cbc(key: &[u8]) -> SimResult<Cipher> {
    match key.len() {
        16 => Ok(Cipher::aes_128_cbc()),
        32 => Ok(Cipher::aes_256_cbc()),
        n => Err((
            500,
            format!("a symmetric key of {n} bytes is not simulated"),
        )),
    }
}
