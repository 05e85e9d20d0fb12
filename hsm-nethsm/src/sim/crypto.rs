//! The simulator's keys: real cryptography for every key type and sign mode it serves.

use ecdsa::signature::hazmat::PrehashSigner as _;
use ed25519_dalek::Signer as _;
use rand_core::UnwrapErr;
use zeroize::Zeroizing;

use crate::client::model::{DecryptMode, KeyPrivateData, KeyPublicData, KeyType, SignMode};

/// A failure the simulator answers with 400 and this message.
pub(crate) type SimResult<T> = Result<T, String>;

fn rng() -> UnwrapErr<getrandom::SysRng> {
    UnwrapErr(getrandom::SysRng)
}

fn random_bytes(n: usize) -> SimResult<Zeroizing<Vec<u8>>> {
    let mut b = Zeroizing::new(vec![0u8; n]);
    getrandom::fill(&mut b).map_err(|e| format!("no randomness: {e}"))?;
    Ok(b)
}

/// A private key held by the simulator.
pub(crate) enum SimSecret {
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
    P521(p521::ecdsa::SigningKey),
    K256(k256::ecdsa::SigningKey),
    Bp256(ecdsa::SigningKey<bp256::BrainpoolP256r1>),
    Bp384(ecdsa::SigningKey<bp384::BrainpoolP384r1>),
    Ed25519(ed25519_dalek::SigningKey),
    Rsa(Box<rsa::RsaPrivateKey>),
    /// AES key bytes; held for AES-CBC, which the simulator does not serve yet.
    Generic(#[allow(dead_code)] Zeroizing<Vec<u8>>),
}

/// Draws scalars until one is valid for the curve (rejection sampling).
fn ec_key<T>(len: usize, first_byte_mask: u8, make: impl Fn(&[u8]) -> Option<T>) -> SimResult<T> {
    for _ in 0..64 {
        let mut b = random_bytes(len)?;
        if let Some(first) = b.first_mut() {
            *first &= first_byte_mask;
        }
        if let Some(k) = make(&b) {
            return Ok(k);
        }
    }
    Err("could not draw a private key".into())
}

impl SimSecret {
    /// Generates a key of `key_type` (`length` bits for RSA and Generic).
    pub(crate) fn generate(key_type: KeyType, length: Option<u32>) -> SimResult<Self> {
        Ok(match key_type {
            KeyType::EC_P256 => Self::P256(ec_key(32, 0xff, |b| {
                p256::ecdsa::SigningKey::from_slice(b).ok()
            })?),
            KeyType::EC_P384 => Self::P384(ec_key(48, 0xff, |b| {
                p384::ecdsa::SigningKey::from_slice(b).ok()
            })?),
            KeyType::EC_P521 => Self::P521(ec_key(66, 0x01, |b| {
                p521::ecdsa::SigningKey::from_slice(b).ok()
            })?),
            KeyType::EC_P256K1 => Self::K256(ec_key(32, 0xff, |b| {
                k256::ecdsa::SigningKey::from_slice(b).ok()
            })?),
            KeyType::BrainpoolP256 => {
                Self::Bp256(ec_key(32, 0xff, |b| ecdsa::SigningKey::from_slice(b).ok())?)
            }
            KeyType::BrainpoolP384 => {
                Self::Bp384(ec_key(48, 0xff, |b| ecdsa::SigningKey::from_slice(b).ok())?)
            }
            KeyType::Curve25519 => {
                let seed = random_bytes(32)?;
                let seed: [u8; 32] = seed.as_slice().try_into().map_err(|_| "seed".to_owned())?;
                Self::Ed25519(ed25519_dalek::SigningKey::from_bytes(&seed))
            }
            KeyType::RSA => {
                let bits = length.ok_or("RSA keys need a length")?;
                if !(1024..=8192).contains(&bits) {
                    return Err("RSA length must be between 1024 and 8192".into());
                }
                let key = rsa::RsaPrivateKey::new(&mut rng(), bits as usize)
                    .map_err(|e| format!("RSA key generation failed: {e}"))?;
                Self::Rsa(Box::new(key))
            }
            KeyType::Generic => {
                let bits = length.ok_or("Generic keys need a length")?;
                if !(128..=8192).contains(&bits) {
                    return Err("Generic length must be between 128 and 8192".into());
                }
                Self::Generic(random_bytes(bits.div_ceil(8) as usize)?)
            }
            KeyType::BrainpoolP512 => {
                return Err("BrainpoolP512 is not supported by this simulator".into());
            }
        })
    }

    /// A key from the private parts of an import (`KeyPrivateData`).
    pub(crate) fn import(key_type: KeyType, private: &KeyPrivateData) -> SimResult<Self> {
        let data = || {
            private
                .data
                .as_ref()
                .map(|d| d.as_slice())
                .ok_or("the key needs `data`".to_owned())
        };
        let bad = |e: &dyn std::fmt::Display| format!("invalid key: {e}");
        Ok(match key_type {
            KeyType::EC_P256 => {
                Self::P256(p256::ecdsa::SigningKey::from_slice(data()?).map_err(|e| bad(&e))?)
            }
            KeyType::EC_P384 => {
                Self::P384(p384::ecdsa::SigningKey::from_slice(data()?).map_err(|e| bad(&e))?)
            }
            KeyType::EC_P521 => {
                Self::P521(p521::ecdsa::SigningKey::from_slice(data()?).map_err(|e| bad(&e))?)
            }
            KeyType::EC_P256K1 => {
                Self::K256(k256::ecdsa::SigningKey::from_slice(data()?).map_err(|e| bad(&e))?)
            }
            KeyType::BrainpoolP256 => {
                Self::Bp256(ecdsa::SigningKey::from_slice(data()?).map_err(|e| bad(&e))?)
            }
            KeyType::BrainpoolP384 => {
                Self::Bp384(ecdsa::SigningKey::from_slice(data()?).map_err(|e| bad(&e))?)
            }
            KeyType::Curve25519 => {
                let seed: [u8; 32] = data()?
                    .try_into()
                    .map_err(|_| "an Ed25519 seed is 32 bytes".to_owned())?;
                Self::Ed25519(ed25519_dalek::SigningKey::from_bytes(&seed))
            }
            KeyType::RSA => {
                let (Some(p), Some(q), Some(e)) =
                    (&private.prime_p, &private.prime_q, &private.public_exponent)
                else {
                    return Err("RSA keys need primeP, primeQ and publicExponent".into());
                };
                let uint = |b: &[u8]| rsa::BoxedUint::from_be_slice_vartime(b);
                let key =
                    rsa::RsaPrivateKey::from_p_q(uint(p), uint(q), uint(e)).map_err(|e| bad(&e))?;
                Self::Rsa(Box::new(key))
            }
            KeyType::Generic => Self::Generic(Zeroizing::new(data()?.to_vec())),
            KeyType::BrainpoolP512 => {
                return Err("BrainpoolP512 is not supported by this simulator".into());
            }
        })
    }

    /// The public part, as `GET /keys/{id}` shows it.
    pub(crate) fn public(&self) -> Option<KeyPublicData> {
        use rsa::traits::PublicKeyParts as _;
        let point = |p: Vec<u8>| KeyPublicData {
            data: Some(p),
            ..KeyPublicData::default()
        };
        Some(match self {
            Self::P256(k) => point(k.verifying_key().to_sec1_point(false).as_bytes().to_vec()),
            Self::P384(k) => point(k.verifying_key().to_sec1_point(false).as_bytes().to_vec()),
            Self::P521(k) => point(k.verifying_key().to_sec1_point(false).as_bytes().to_vec()),
            Self::K256(k) => point(k.verifying_key().to_sec1_point(false).as_bytes().to_vec()),
            Self::Bp256(k) => point(k.verifying_key().to_sec1_point(false).as_bytes().to_vec()),
            Self::Bp384(k) => point(k.verifying_key().to_sec1_point(false).as_bytes().to_vec()),
            Self::Ed25519(k) => point(k.verifying_key().as_bytes().to_vec()),
            Self::Rsa(k) => KeyPublicData {
                modulus: Some(k.n().to_be_bytes_trimmed_vartime().to_vec()),
                public_exponent: Some(k.e().to_be_bytes_trimmed_vartime().to_vec()),
                data: None,
            },
            Self::Generic(_) => return None,
        })
    }

    /// Decrypts as `POST /keys/{id}/decrypt` does in `mode`: RSA PKCS#1 v1.5 and OAEP with
    /// SHA-1 or SHA-2. RAW, OAEP-MD5 and AES-CBC are refused (not served by this simulator).
    pub(crate) fn decrypt(&self, mode: DecryptMode, encrypted: &[u8]) -> SimResult<Vec<u8>> {
        let Self::Rsa(key) = self else {
            return Err("the key cannot decrypt in this mode".into());
        };
        let result = match mode {
            DecryptMode::PKCS1 => key.decrypt(rsa::Pkcs1v15Encrypt, encrypted),
            DecryptMode::OAEP_SHA1 => key.decrypt(rsa::Oaep::<sha1::Sha1>::new(), encrypted),
            DecryptMode::OAEP_SHA224 => key.decrypt(rsa::Oaep::<sha2::Sha224>::new(), encrypted),
            DecryptMode::OAEP_SHA256 => key.decrypt(rsa::Oaep::<sha2::Sha256>::new(), encrypted),
            DecryptMode::OAEP_SHA384 => key.decrypt(rsa::Oaep::<sha2::Sha384>::new(), encrypted),
            DecryptMode::OAEP_SHA512 => key.decrypt(rsa::Oaep::<sha2::Sha512>::new(), encrypted),
            _ => return Err("this decryption mode is not served by the simulator".into()),
        };
        result.map_err(|_| "Decryption failed".to_owned())
    }

    /// Signs as `POST /keys/{id}/sign` does in `mode`.
    pub(crate) fn sign(&self, mode: SignMode, message: &[u8]) -> SimResult<Vec<u8>> {
        let digest_size = |n: usize| {
            if message.len() == n {
                Ok(())
            } else {
                Err("digested data of invalid size".to_owned())
            }
        };
        let ecdsa_fail = |e: ecdsa::Error| format!("signing failed: {e}");
        match (self, mode) {
            (Self::P256(k), SignMode::ECDSA) => {
                digest_size(32)?;
                let s: p256::ecdsa::Signature = k.sign_prehash(message).map_err(ecdsa_fail)?;
                Ok(s.to_der().as_bytes().to_vec())
            }
            (Self::P384(k), SignMode::ECDSA) => {
                digest_size(48)?;
                let s: p384::ecdsa::Signature = k.sign_prehash(message).map_err(ecdsa_fail)?;
                Ok(s.to_der().as_bytes().to_vec())
            }
            (Self::P521(k), SignMode::ECDSA) => {
                digest_size(64)?;
                let s: p521::ecdsa::Signature = k.sign_prehash(message).map_err(ecdsa_fail)?;
                Ok(s.to_der().as_bytes().to_vec())
            }
            (Self::K256(k), SignMode::ECDSA) => {
                digest_size(32)?;
                let s: k256::ecdsa::Signature = k.sign_prehash(message).map_err(ecdsa_fail)?;
                Ok(s.to_der().as_bytes().to_vec())
            }
            (Self::Bp256(k), SignMode::ECDSA) => {
                digest_size(32)?;
                let s: ecdsa::Signature<bp256::BrainpoolP256r1> =
                    k.sign_prehash(message).map_err(ecdsa_fail)?;
                Ok(s.to_der().as_bytes().to_vec())
            }
            (Self::Bp384(k), SignMode::ECDSA) => {
                digest_size(48)?;
                let s: ecdsa::Signature<bp384::BrainpoolP384r1> =
                    k.sign_prehash(message).map_err(ecdsa_fail)?;
                Ok(s.to_der().as_bytes().to_vec())
            }
            (Self::Ed25519(k), SignMode::EdDSA) => Ok(k.sign(message).to_bytes().to_vec()),
            (Self::Rsa(k), SignMode::PKCS1) => k
                .sign(rsa::Pkcs1v15Sign::new_unprefixed(), message)
                .map_err(|_| "RSA key too short".to_owned()),
            (Self::Rsa(k), SignMode::PSS_SHA256) => {
                digest_size(32)?;
                k.sign_with_rng(&mut rng(), rsa::Pss::<sha2::Sha256>::new(), message)
                    .map_err(|e| format!("signing failed: {e}"))
            }
            (Self::Rsa(k), SignMode::PSS_SHA384) => {
                digest_size(48)?;
                k.sign_with_rng(&mut rng(), rsa::Pss::<sha2::Sha384>::new(), message)
                    .map_err(|e| format!("signing failed: {e}"))
            }
            (Self::Rsa(k), SignMode::PSS_SHA512) => {
                digest_size(64)?;
                k.sign_with_rng(&mut rng(), rsa::Pss::<sha2::Sha512>::new(), message)
                    .map_err(|e| format!("signing failed: {e}"))
            }
            _ => Err("Key mechanisms do not allow requested signing.".into()),
        }
    }
}
