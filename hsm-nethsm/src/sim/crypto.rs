//! The simulator's keys: real cryptography for every key type and sign mode it serves.

use ecdsa::signature::hazmat::PrehashSigner as _;
use ed25519_dalek::Signer as _;
use zeroize::Zeroizing;

#[cfg(feature = "sim-openssl")]
use super::openssl_keys;
use super::rng::SimRng;
use super::rsa_keys;
use crate::protocol::{DecryptMode, KeyPrivateData, KeyPublicData, KeyType, SignMode};

/// Why the simulator did not do what it was asked.
#[derive(Debug)]
pub(crate) enum SimError {
    /// The request is refused as the device refuses it: 400 with this message.
    Refused(String),
    /// The random-number generator failed: 500 with this message.
    RandomFailed(String),
}

impl From<String> for SimError {
    fn from(message: String) -> Self {
        Self::Refused(message)
    }
}

impl From<&str> for SimError {
    fn from(message: &str) -> Self {
        Self::Refused(message.to_owned())
    }
}

impl std::fmt::Display for SimError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Refused(m) | Self::RandomFailed(m) => f.write_str(m),
        }
    }
}

/// What the simulator makes, or why not.
pub(crate) type SimResult<T> = Result<T, SimError>;

/// The answer for a key type this build does not offer (brainpoolP512r1 without the
/// `sim-openssl` feature): what the device answers for a type it does not know.
#[cfg(not(feature = "sim-openssl"))]
fn unoffered() -> SimError {
    "Invalid key type: brainpoolP512r1 is not offered (simulator built without sim-openssl)".into()
}

/// Whether this build of the simulator offers `key_type` (brainpoolP512r1 needs the
/// `sim-openssl` feature).
pub(crate) fn offers(key_type: KeyType) -> bool {
    cfg!(feature = "sim-openssl") || key_type != KeyType::BrainpoolP512
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
    /// brainpoolP512r1 has no RustCrypto crate: OpenSSL (feature `sim-openssl`).
    #[cfg(feature = "sim-openssl")]
    Bp512(openssl::ec::EcKey<openssl::pkey::Private>),
    Rsa(Box<rsa::RsaPrivateKey>),
    /// Key bytes; AES-CBC when 16, 24 or 32 bytes long.
    Generic(Zeroizing<Vec<u8>>),
}

/// Draws scalars until one is valid for the curve (rejection sampling).
fn ec_key<T>(
    rng: &SimRng,
    len: usize,
    first_byte_mask: u8,
    make: impl Fn(&[u8]) -> Option<T>,
) -> SimResult<T> {
    for _ in 0..64 {
        let mut b = rng.bytes(len)?;
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
    /// Generates a key of `key_type` (`length` bits for RSA and Generic) from `rng`.
    pub(crate) fn generate(
        key_type: KeyType,
        length: Option<u32>,
        rng: &SimRng,
    ) -> SimResult<Self> {
        // An EC key of `len` scalar bytes, the first masked with `mask`.
        macro_rules! ec {
            ($variant:ident, $len:expr, $mask:expr) => {
                Self::$variant(ec_key(rng, $len, $mask, |b| {
                    ecdsa::SigningKey::from_slice(b).ok()
                })?)
            };
        }
        Ok(match key_type {
            KeyType::EcP256 => ec!(P256, 32, 0xff),
            KeyType::EcP384 => ec!(P384, 48, 0xff),
            KeyType::EcP521 => ec!(P521, 66, 0x01),
            KeyType::EcP256k1 => ec!(K256, 32, 0xff),
            KeyType::BrainpoolP256 => ec!(Bp256, 32, 0xff),
            KeyType::BrainpoolP384 => ec!(Bp384, 48, 0xff),
            KeyType::Curve25519 => {
                let seed = rng.bytes(32)?;
                let seed: [u8; 32] = seed.as_slice().try_into().map_err(|_| "seed".to_owned())?;
                Self::Ed25519(ed25519_dalek::SigningKey::from_bytes(&seed))
            }
            KeyType::Rsa => {
                let bits = length.ok_or("RSA keys need a length")?;
                if !(1024..=rsa_keys::MAX_RSA_BITS).contains(&u64::from(bits)) {
                    return Err("Length must be between 1024 and 8192.".into());
                }
                Self::Rsa(Box::new(rsa_keys::generate(bits, rng)?))
            }
            KeyType::Generic => {
                let bits = length.ok_or("Generic keys need a length")?;
                if !(128..=8192).contains(&bits) {
                    return Err("Generic length must be between 128 and 8192".into());
                }
                Self::Generic(rng.bytes(bits.div_ceil(8) as usize)?)
            }
            #[cfg(feature = "sim-openssl")]
            KeyType::BrainpoolP512 => {
                rng.check()?;
                Self::Bp512(openssl_keys::generate_bp512()?)
            }
            #[cfg(not(feature = "sim-openssl"))]
            KeyType::BrainpoolP512 => return Err(unoffered()),
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
            KeyType::EcP256 => {
                Self::P256(p256::ecdsa::SigningKey::from_slice(data()?).map_err(|e| bad(&e))?)
            }
            KeyType::EcP384 => {
                Self::P384(p384::ecdsa::SigningKey::from_slice(data()?).map_err(|e| bad(&e))?)
            }
            KeyType::EcP521 => {
                Self::P521(p521::ecdsa::SigningKey::from_slice(data()?).map_err(|e| bad(&e))?)
            }
            KeyType::EcP256k1 => {
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
            KeyType::Rsa => {
                let (Some(p), Some(q), Some(e)) =
                    (&private.prime_p, &private.prime_q, &private.public_exponent)
                else {
                    return Err("RSA keys need primeP, primeQ and publicExponent".into());
                };
                rsa_keys::check_rsa_parts(p, q, e)?;
                let uint = |b: &[u8]| rsa::BoxedUint::from_be_slice_vartime(b);
                let key =
                    rsa::RsaPrivateKey::from_p_q(uint(p), uint(q), uint(e)).map_err(|e| bad(&e))?;
                key.validate().map_err(|e| bad(&e))?;
                Self::Rsa(Box::new(key))
            }
            KeyType::Generic => Self::Generic(Zeroizing::new(data()?.to_vec())),
            #[cfg(feature = "sim-openssl")]
            KeyType::BrainpoolP512 => Self::Bp512(openssl_keys::bp512_from_scalar(data()?)?),
            #[cfg(not(feature = "sim-openssl"))]
            KeyType::BrainpoolP512 => return Err(unoffered()),
        })
    }

    /// The private parts, as an import sends them (for backups and OpenSSL signers).
    pub(crate) fn private_data(&self) -> SimResult<KeyPrivateData> {
        use rsa::traits::{PrivateKeyParts as _, PublicKeyParts as _};
        let data = |bytes: &[u8]| KeyPrivateData {
            data: Some(Zeroizing::new(bytes.to_vec())),
            ..KeyPrivateData::default()
        };
        Ok(match self {
            Self::P256(k) => data(&k.to_bytes()),
            Self::P384(k) => data(&k.to_bytes()),
            Self::P521(k) => data(&k.to_bytes()),
            Self::K256(k) => data(&k.to_bytes()),
            Self::Bp256(k) => data(&k.to_bytes()),
            Self::Bp384(k) => data(&k.to_bytes()),
            #[cfg(feature = "sim-openssl")]
            Self::Bp512(k) => data(&openssl_keys::ec_scalar(k)?),
            Self::Ed25519(k) => data(&k.to_bytes()),
            Self::Generic(bytes) => data(bytes),
            Self::Rsa(k) => {
                let [p, q, ..] = k.primes() else {
                    return Err("an RSA key without two primes".into());
                };
                KeyPrivateData {
                    prime_p: Some(Zeroizing::new(p.to_be_bytes_trimmed_vartime().to_vec())),
                    prime_q: Some(Zeroizing::new(q.to_be_bytes_trimmed_vartime().to_vec())),
                    public_exponent: Some(k.e().to_be_bytes_trimmed_vartime().to_vec()),
                    data: None,
                }
            }
        })
    }

    /// The device's type for this key.
    pub(crate) fn key_type(&self) -> KeyType {
        match self {
            Self::P256(_) => KeyType::EcP256,
            Self::P384(_) => KeyType::EcP384,
            Self::P521(_) => KeyType::EcP521,
            Self::K256(_) => KeyType::EcP256k1,
            Self::Bp256(_) => KeyType::BrainpoolP256,
            Self::Bp384(_) => KeyType::BrainpoolP384,
            #[cfg(feature = "sim-openssl")]
            Self::Bp512(_) => KeyType::BrainpoolP512,
            Self::Ed25519(_) => KeyType::Curve25519,
            Self::Rsa(_) => KeyType::Rsa,
            Self::Generic(_) => KeyType::Generic,
        }
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
            #[cfg(feature = "sim-openssl")]
            Self::Bp512(k) => point(openssl_keys::ec_point(k).ok()?),
            Self::Ed25519(k) => point(k.verifying_key().as_bytes().to_vec()),
            Self::Rsa(k) => KeyPublicData {
                modulus: Some(k.n().to_be_bytes_trimmed_vartime().to_vec()),
                public_exponent: Some(k.e().to_be_bytes_trimmed_vartime().to_vec()),
                data: None,
            },
            Self::Generic(_) => return None,
        })
    }

    /// Decrypts as `POST /keys/{id}/decrypt` does in `mode`: RSA raw, PKCS#1 v1.5 and OAEP
    /// (MGF1 with the same hash, no label); AES-CBC without padding for Generic keys.
    pub(crate) fn decrypt(
        &self,
        mode: DecryptMode,
        encrypted: &[u8],
        iv: Option<&[u8]>,
        rng: &SimRng,
    ) -> SimResult<Vec<u8>> {
        if let Self::Generic(key) = self {
            if mode != DecryptMode::AesCbc {
                return Err("the key cannot decrypt in this mode".into());
            }
            return aes_cbc(key, iv.ok_or("AES-CBC needs an iv")?, encrypted, false);
        }
        let Self::Rsa(key) = self else {
            return Err("the key cannot decrypt in this mode".into());
        };
        // Blinded with random numbers of the simulator's generator.
        macro_rules! blinded {
            ($padding:expr) => {
                rng.with_draws(|draws| key.decrypt_blinded(draws, $padding, encrypted))?
            };
        }
        let result = match mode {
            DecryptMode::Raw => return rsa_keys::raw(key, encrypted, rng),
            DecryptMode::Pkcs1 => blinded!(rsa::Pkcs1v15Encrypt),
            DecryptMode::OaepMd5 => blinded!(rsa::Oaep::<md5::Md5>::new()),
            DecryptMode::OaepSha1 => blinded!(rsa::Oaep::<sha1::Sha1>::new()),
            DecryptMode::OaepSha224 => blinded!(rsa::Oaep::<sha2::Sha224>::new()),
            DecryptMode::OaepSha256 => blinded!(rsa::Oaep::<sha2::Sha256>::new()),
            DecryptMode::OaepSha384 => blinded!(rsa::Oaep::<sha2::Sha384>::new()),
            DecryptMode::OaepSha512 => blinded!(rsa::Oaep::<sha2::Sha512>::new()),
            DecryptMode::AesCbc => return Err("the key cannot decrypt in this mode".into()),
        };
        result.map_err(|_| "Decryption failed".into())
    }

    /// Encrypts as `POST /keys/{id}/encrypt` does: AES-CBC, no padding, with a Generic key.
    pub(crate) fn encrypt_aes_cbc(&self, message: &[u8], iv: &[u8]) -> SimResult<Vec<u8>> {
        let Self::Generic(key) = self else {
            return Err("the key cannot encrypt".into());
        };
        aes_cbc(key, iv, message, true)
    }

    /// What `mode` signs with this key: `Some(Some(n))` a digest of `n` bytes, `Some(None)` a
    /// message of any length, `None` nothing (the key does not sign in `mode`).
    fn sign_input(&self, mode: SignMode) -> Option<Option<usize>> {
        use SignMode as M;
        Some(match (self, mode) {
            (Self::P256(_) | Self::K256(_) | Self::Bp256(_), M::Ecdsa) => Some(32),
            (Self::P384(_) | Self::Bp384(_), M::Ecdsa) => Some(48),
            (Self::P521(_), M::Ecdsa) => Some(64),
            #[cfg(feature = "sim-openssl")]
            (Self::Bp512(_), M::Ecdsa) => Some(64),
            (Self::K256(_), M::Bip340)
            | (Self::Ed25519(_), M::EdDsa)
            | (Self::Rsa(_), M::Pkcs1) => None,
            (Self::Rsa(_), M::PssMd5) => Some(16),
            (Self::Rsa(_), M::PssSha1) => Some(20),
            (Self::Rsa(_), M::PssSha224) => Some(28),
            (Self::Rsa(_), M::PssSha256) => Some(32),
            (Self::Rsa(_), M::PssSha384) => Some(48),
            (Self::Rsa(_), M::PssSha512) => Some(64),
            _ => return None,
        })
    }

    /// Checks a request to sign `message` in `mode` as the device does: the key must sign in
    /// that mode, and a digest must have the mode's size.
    pub(crate) fn check_sign_input(&self, mode: SignMode, message: &[u8]) -> SimResult<()> {
        match self.sign_input(mode) {
            None => Err("Key mechanisms do not allow requested signing.".into()),
            Some(Some(n)) if message.len() != n => Err("digested data of invalid size".into()),
            Some(_) => Ok(()),
        }
    }

    /// Signs as `POST /keys/{id}/sign` does in `mode`, drawing from `rng` what the mode
    /// draws.
    pub(crate) fn sign(&self, mode: SignMode, message: &[u8], rng: &SimRng) -> SimResult<Vec<u8>> {
        self.check_sign_input(mode, message)?;
        self.sign_checked(mode, message, rng)
    }

    /// [`Self::sign`] after [`Self::check_sign_input`].
    fn sign_checked(&self, mode: SignMode, message: &[u8], rng: &SimRng) -> SimResult<Vec<u8>> {
        use SignMode as M;
        let ecdsa_fail = |e: ecdsa::Error| format!("signing failed: {e}");
        // ECDSA over the digest, DER.
        macro_rules! ecdsa {
            ($key:expr, $signature:ty) => {{
                let s: $signature = $key.sign_prehash(message).map_err(ecdsa_fail)?;
                Ok(s.to_der().as_bytes().to_vec())
            }};
        }
        // RSA-PSS over the digest with hash `$hash`, a salt as long as the digest.
        macro_rules! pss {
            ($key:expr, $hash:ty) => {
                rng.with_draws(|draws| {
                    $key.sign_with_rng(draws, rsa::Pss::<$hash>::new(), message)
                })?
                .map_err(|e| format!("signing failed: {e}").into())
            };
        }
        match (self, mode) {
            (Self::P256(k), M::Ecdsa) => ecdsa!(k, p256::ecdsa::Signature),
            (Self::P384(k), M::Ecdsa) => ecdsa!(k, p384::ecdsa::Signature),
            (Self::P521(k), M::Ecdsa) => ecdsa!(k, p521::ecdsa::Signature),
            (Self::Bp256(k), M::Ecdsa) => ecdsa!(k, ecdsa::Signature<bp256::BrainpoolP256r1>),
            (Self::Bp384(k), M::Ecdsa) => ecdsa!(k, ecdsa::Signature<bp384::BrainpoolP384r1>),
            (Self::K256(k), M::Ecdsa) => {
                let s: k256::ecdsa::Signature = k.sign_prehash(message).map_err(ecdsa_fail)?;
                // The device signs secp256k1 with mirage-crypto-ec's generic ECDSA, which does
                // not normalise S: about half of its answers are high-S (k256 always gives the
                // low one, so half the time the other is sent).
                let high = rng.bytes(1)?.first().is_some_and(|b| b & 1 == 1);
                let s = if high {
                    k256::ecdsa::Signature::from_scalars(s.r(), -s.s()).map_err(ecdsa_fail)?
                } else {
                    s
                };
                Ok(s.to_der().as_bytes().to_vec())
            }
            // BIP-340 over the message itself (its tagged hashes are applied inside), with
            // fresh auxiliary randomness.
            (Self::K256(k), M::Bip340) => {
                let key = k256::schnorr::SigningKey::from_bytes(&k.to_bytes())
                    .map_err(|e| format!("BIP-340 key: {e}"))?;
                let aux = rng.bytes(32)?;
                let aux: [u8; 32] = aux.as_slice().try_into().map_err(|_| "aux".to_owned())?;
                key.sign_raw(message, &aux)
                    .map(|s| s.to_bytes().to_vec())
                    .map_err(|e| format!("signing failed: {e}").into())
            }
            #[cfg(feature = "sim-openssl")]
            (Self::Bp512(k), M::Ecdsa) => openssl_keys::ecdsa_sign(k, message),
            (Self::Ed25519(k), M::EdDsa) => Ok(k.sign(message).to_bytes().to_vec()),
            (Self::Rsa(k), M::Pkcs1) => k
                .sign(rsa::Pkcs1v15Sign::new_unprefixed(), message)
                .map_err(|_| "RSA key too short".into()),
            (Self::Rsa(k), M::PssMd5) => pss!(k, md5::Md5),
            (Self::Rsa(k), M::PssSha1) => pss!(k, sha1::Sha1),
            (Self::Rsa(k), M::PssSha224) => pss!(k, sha2::Sha224),
            (Self::Rsa(k), M::PssSha256) => pss!(k, sha2::Sha256),
            (Self::Rsa(k), M::PssSha384) => pss!(k, sha2::Sha384),
            (Self::Rsa(k), M::PssSha512) => pss!(k, sha2::Sha512),
            _ => Err("Key mechanisms do not allow requested signing.".into()),
        }
    }

    /// The same key as OpenSSL holds it, for [`KeySecret`]'s signatures; `None` for keys
    /// OpenSSL does not sign with here (Ed25519, Generic).
    #[cfg(feature = "sim-openssl")]
    fn fast_key(&self) -> SimResult<Option<openssl_keys::FastKey>> {
        use hsm_core::Curve;
        use openssl_keys::FastKey;
        let curve = match self {
            Self::P256(_) => Curve::P256,
            Self::P384(_) => Curve::P384,
            Self::P521(_) => Curve::P521,
            Self::K256(_) => Curve::Secp256k1,
            Self::Bp256(_) => Curve::BrainpoolP256r1,
            Self::Bp384(_) => Curve::BrainpoolP384r1,
            Self::Bp512(k) => return Ok(Some(FastKey::Ec(k.clone()))),
            Self::Rsa(k) => {
                use rsa::pkcs1::EncodeRsaPrivateKey as _;
                let der = k.to_pkcs1_der().map_err(|e| format!("RSA key: {e}"))?;
                return FastKey::rsa(der.as_bytes()).map(Some);
            }
            Self::Ed25519(_) | Self::Generic(_) => return Ok(None),
        };
        let scalar = self
            .private_data()?
            .data
            .ok_or("an EC key without a scalar")?;
        FastKey::ec(curve, &scalar).map(Some)
    }
}

/// A key as the device holds it: the secret, and with OpenSSL built in (feature
/// `sim-openssl`) the same EC or RSA key as OpenSSL holds it, made once, which makes its
/// signatures (several times faster than the Rust implementations, and with the device's
/// random ECDSA nonces). Everything else the key does goes to [`SimSecret`], which it dereferences to.
pub(crate) struct KeySecret {
    secret: SimSecret,
    #[cfg(feature = "sim-openssl")]
    fast: Option<openssl_keys::FastKey>,
}

impl KeySecret {
    /// `secret`, with its OpenSSL twin when there is one (when OpenSSL cannot take the key,
    /// the Rust implementations sign it, as without `sim-openssl`).
    pub(crate) fn new(secret: SimSecret) -> Self {
        Self {
            #[cfg(feature = "sim-openssl")]
            fast: secret.fast_key().unwrap_or_else(|e| {
                tracing::warn!(error = %e, "the simulator signs with this key without OpenSSL");
                None
            }),
            secret,
        }
    }

    /// Signs as `POST /keys/{id}/sign` does in `mode` (see [`SimSecret::sign`]).
    pub(crate) fn sign(&self, mode: SignMode, message: &[u8], rng: &SimRng) -> SimResult<Vec<u8>> {
        self.secret.check_sign_input(mode, message)?;
        #[cfg(feature = "sim-openssl")]
        if let Some(fast) = self.fast.as_ref() {
            // OpenSSL draws from its own generator for the modes that draw (ECDSA nonces,
            // PSS salts): this one is asked first, so that its failure fails them too.
            if draws_randomness(mode) {
                rng.check()?;
            }
            if let Some(signed) = fast.sign(mode, message) {
                return signed;
            }
        }
        self.secret.sign_checked(mode, message, rng)
    }
}

impl std::ops::Deref for KeySecret {
    type Target = SimSecret;

    fn deref(&self) -> &SimSecret {
        &self.secret
    }
}

/// Whether a signature in `mode` draws random numbers on the device (ECDSA nonces, PSS salts,
/// BIP-340 auxiliary data).
#[cfg(feature = "sim-openssl")]
fn draws_randomness(mode: SignMode) -> bool {
    !matches!(mode, SignMode::Pkcs1 | SignMode::EdDsa)
}

/// AES-CBC without padding, with a 128, 192 or 256-bit key.
fn aes_cbc(key: &[u8], iv: &[u8], data: &[u8], encrypt: bool) -> SimResult<Vec<u8>> {
    use aes::cipher::block_padding::NoPadding;
    use aes::cipher::{BlockModeDecrypt as _, BlockModeEncrypt as _, KeyIvInit as _};
    if iv.len() != 16 {
        return Err("the iv must be 16 bytes".into());
    }
    if !data.len().is_multiple_of(16) {
        return Err("the data must be a multiple of 16 bytes (no padding)".into());
    }
    let bad_key = |_| "the key is not an AES key".to_owned();
    macro_rules! run {
        ($aes:ty) => {
            if encrypt {
                Ok(cbc::Encryptor::<$aes>::new_from_slices(key, iv)
                    .map_err(bad_key)?
                    .encrypt_padded_vec::<NoPadding>(data))
            } else {
                cbc::Decryptor::<$aes>::new_from_slices(key, iv)
                    .map_err(bad_key)?
                    .decrypt_padded_vec::<NoPadding>(data)
                    .map_err(|_| "Decryption failed".into())
            }
        };
    }
    match key.len() {
        16 => run!(aes::Aes128),
        24 => run!(aes::Aes192),
        32 => run!(aes::Aes256),
        _ => Err("the key is not an AES key (128, 192 or 256 bits)".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rng() -> SimRng {
        SimRng::default()
    }

    /// brainpoolP512r1 is offered exactly when OpenSSL is built in; without it generation and
    /// import are refused (400) and every other type still works.
    #[test]
    fn brainpool_p512_needs_openssl() {
        let with_openssl = cfg!(feature = "sim-openssl");
        assert_eq!(offers(KeyType::BrainpoolP512), with_openssl);
        let generated = SimSecret::generate(KeyType::BrainpoolP512, None, &rng());
        assert_eq!(generated.is_ok(), with_openssl);
        let imported = SimSecret::import(
            KeyType::BrainpoolP512,
            &KeyPrivateData {
                data: Some(Zeroizing::new(vec![7u8; 64])),
                ..KeyPrivateData::default()
            },
        );
        assert_eq!(imported.is_ok(), with_openssl);
        for key_type in [KeyType::EcP521, KeyType::BrainpoolP384, KeyType::Curve25519] {
            assert!(offers(key_type));
            assert!(
                SimSecret::generate(key_type, None, &rng()).is_ok(),
                "{key_type:?}"
            );
        }
    }

    /// With OpenSSL the simulator signs as the device does: ECDSA with a random nonce (two
    /// signatures of one digest differ) that verifies on every curve, RSA PKCS#1 v1.5 with the
    /// very bytes the Rust implementation gives, and RSA-PSS that verifies.
    #[cfg(feature = "sim-openssl")]
    #[test]
    fn openssl_signatures_are_the_devices() {
        use openssl::ecdsa::EcdsaSig;
        use openssl::pkey::PKey;
        let curves = [
            (KeyType::EcP256, 32),
            (KeyType::EcP384, 48),
            (KeyType::EcP521, 64),
            (KeyType::EcP256k1, 32),
            (KeyType::BrainpoolP256, 32),
            (KeyType::BrainpoolP384, 48),
            (KeyType::BrainpoolP512, 64),
        ];
        for (key_type, len) in curves {
            let key = KeySecret::new(SimSecret::generate(key_type, None, &rng()).unwrap());
            assert!(key.fast.is_some(), "{key_type:?}");
            let digest = vec![0x5a; len];
            let a = key.sign(SignMode::Ecdsa, &digest, &rng()).unwrap();
            let b = key.sign(SignMode::Ecdsa, &digest, &rng()).unwrap();
            assert_ne!(a, b, "{key_type:?}: random nonces");
            let public = crate::sim::x509::public_key_der(&key).unwrap();
            let public = PKey::public_key_from_der(&public)
                .unwrap()
                .ec_key()
                .unwrap();
            for signature in [a, b] {
                let signature = EcdsaSig::from_der(&signature).unwrap();
                assert!(signature.verify(&digest, &public).unwrap(), "{key_type:?}");
            }
            assert!(key.sign(SignMode::Ecdsa, &digest[1..], &rng()).is_err());
        }
        let rsa = KeySecret::new(SimSecret::generate(KeyType::Rsa, Some(2048), &rng()).unwrap());
        assert!(rsa.fast.is_some());
        let digest_info = [0x30u8; 51];
        assert_eq!(
            rsa.sign(SignMode::Pkcs1, &digest_info, &rng()).unwrap(),
            rsa.secret
                .sign(SignMode::Pkcs1, &digest_info, &rng())
                .unwrap()
        );
        let digest = [0x11u8; 32];
        let pss = rsa.sign(SignMode::PssSha256, &digest, &rng()).unwrap();
        let public =
            PKey::public_key_from_der(&crate::sim::x509::public_key_der(&rsa).unwrap()).unwrap();
        let mut ctx = openssl::pkey_ctx::PkeyCtx::new(&public).unwrap();
        ctx.verify_init().unwrap();
        ctx.set_rsa_padding(openssl::rsa::Padding::PKCS1_PSS)
            .unwrap();
        ctx.set_signature_md(openssl::md::Md::sha256()).unwrap();
        ctx.set_rsa_pss_saltlen(openssl::sign::RsaPssSaltlen::DIGEST_LENGTH)
            .unwrap();
        assert!(ctx.verify(&digest, &pss).unwrap());
        assert!(!ctx.verify(&[0x12u8; 32], &pss).unwrap_or(false));
    }
}
