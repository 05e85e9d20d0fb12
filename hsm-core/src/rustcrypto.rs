//! RustCrypto key handles: an HSM key as a [`signature::Signer`] with a [`signature::Keypair`].
//!
//! A handle binds a backend (any [`Hsm`], usually `Arc<dyn Hsm>`) to one key, reads the public
//! key once when it is made, and implements the RustCrypto traits that builders such as
//! `x509-cert` require: `Signer` (and `PrehashSigner` for ECDSA), `Keypair`, and
//! `SignatureAlgorithmIdentifier` (`DynSignatureAlgorithmIdentifier` for PSS, whose identifier has
//! parameters). So an HSM key signs a CSR or a certificate the Rust way:
//!
//! ```no_run
//! # fn backend() -> std::sync::Arc<dyn hsm_core::Hsm> { unimplemented!() }
//! use std::str::FromStr as _;
//! use hsm_core::rustcrypto::EcdsaP256Key;
//! use x509_cert::builder::{Builder as _, RequestBuilder};
//! use x509_cert::name::Name;
//!
//! let key = EcdsaP256Key::new(backend(), "signing".parse()?)?;
//! let subject = Name::from_str("CN=signer.example,O=Example")?;
//! let csr = RequestBuilder::new(subject)?.build::<_, p256::ecdsa::DerSignature>(&key)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Signing errors arrive as [`signature::Error`] whose source is the backend's [`Error`].

use std::fmt;
use std::sync::Arc;

use der::asn1::AnyRef;
use signature::Keypair;
use signature::hazmat::PrehashSigner;
use spki::{AlgorithmIdentifier, SignatureAlgorithmIdentifier};

use crate::algorithm::SignAlgorithm;
use crate::error::{Error, Result};
use crate::key_id::KeyId;
use crate::key_spec::{Curve, KeyType};
use crate::public_key::{OID_ED25519, PublicKey};
use crate::store::Hsm;

const OP: &str = "rustcrypto key";

fn wrong_key(expected: &str, found: &PublicKey) -> Error {
    Error::invalid_input(
        OP,
        format!("expected a {expected} key, found {:?}", found.spec()),
    )
}

macro_rules! ecdsa_key {
    ($name:ident, $crate_name:ident, $curve_type:ty, $curve:expr, $alg:expr, $doc:literal) => {
        #[doc = $doc]
        pub struct $name<H: ?Sized + Hsm = dyn Hsm> {
            hsm: Arc<H>,
            key: KeyId,
            verifying_key: $crate_name::ecdsa::VerifyingKey,
        }

        impl<H: ?Sized + Hsm> $name<H> {
            /// Binds `key` on `hsm`, reading its public key once.
            ///
            /// # Errors
            /// The backend's errors; [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput)
            /// if the key is not on this curve.
            pub fn new(hsm: Arc<H>, key: KeyId) -> Result<Self> {
                let public_key = hsm.public_key(&key)?;
                let point = public_key
                    .ec_point()
                    .filter(|_| public_key.curve() == Some($curve))
                    .ok_or_else(|| wrong_key(stringify!($curve_type), &public_key))?;
                let verifying_key = $crate_name::ecdsa::VerifyingKey::from_sec1_bytes(point)
                    .map_err(|_| Error::protocol(OP, "the device's public key is not on the curve"))?;
                Ok(Self { hsm, key, verifying_key })
            }

            /// The key's identifier.
            #[must_use]
            pub fn key_id(&self) -> &KeyId {
                &self.key
            }
        }

        impl<H: ?Sized + Hsm> fmt::Debug for $name<H> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("backend", &self.hsm.backend())
                    .field("key", &self.key)
                    .finish_non_exhaustive()
            }
        }

        impl<H: ?Sized + Hsm> PrehashSigner<$crate_name::ecdsa::Signature> for $name<H> {
            fn sign_prehash(
                &self,
                prehash: &[u8],
            ) -> signature::Result<$crate_name::ecdsa::Signature> {
                let sig = self
                    .hsm
                    .sign_digest(&self.key, SignAlgorithm::EcdsaPrehashed, prehash)?;
                $crate_name::ecdsa::Signature::from_slice(sig.as_raw())
                    .map_err(|e| Error::protocol(OP, "bad ECDSA signature").with_source(e).into())
            }
        }

        impl<H: ?Sized + Hsm> signature::Signer<$crate_name::ecdsa::Signature> for $name<H> {
            fn try_sign(&self, msg: &[u8]) -> signature::Result<$crate_name::ecdsa::Signature> {
                let sig = self.hsm.sign(&self.key, $alg, msg)?;
                $crate_name::ecdsa::Signature::from_slice(sig.as_raw())
                    .map_err(|e| Error::protocol(OP, "bad ECDSA signature").with_source(e).into())
            }
        }

        impl<H: ?Sized + Hsm> signature::Signer<$crate_name::ecdsa::DerSignature> for $name<H> {
            fn try_sign(&self, msg: &[u8]) -> signature::Result<$crate_name::ecdsa::DerSignature> {
                let sig: $crate_name::ecdsa::Signature = self.try_sign(msg)?;
                Ok(sig.to_der())
            }
        }

        impl<H: ?Sized + Hsm> Keypair for $name<H> {
            type VerifyingKey = $crate_name::ecdsa::VerifyingKey;

            fn verifying_key(&self) -> Self::VerifyingKey {
                self.verifying_key
            }
        }

        impl<H: ?Sized + Hsm> SignatureAlgorithmIdentifier for $name<H> {
            type Params = AnyRef<'static>;

            const SIGNATURE_ALGORITHM_IDENTIFIER: AlgorithmIdentifier<Self::Params> =
                <$crate_name::ecdsa::VerifyingKey as SignatureAlgorithmIdentifier>::SIGNATURE_ALGORITHM_IDENTIFIER;
        }
    };
}

ecdsa_key!(
    EcdsaP256Key,
    p256,
    p256::NistP256,
    Curve::P256,
    SignAlgorithm::EcdsaSha256,
    "An ECDSA P-256 key on an HSM, signing with SHA-256 (`ecdsa-with-SHA256`)."
);
ecdsa_key!(
    EcdsaP384Key,
    p384,
    p384::NistP384,
    Curve::P384,
    SignAlgorithm::EcdsaSha384,
    "An ECDSA P-384 key on an HSM, signing with SHA-384 (`ecdsa-with-SHA384`)."
);

fn rsa_public_key(public_key: &PublicKey) -> Result<rsa::RsaPublicKey> {
    use rsa::pkcs8::DecodePublicKey as _;
    if public_key.key_type() != KeyType::Rsa {
        return Err(wrong_key("RSA", public_key));
    }
    rsa::RsaPublicKey::from_public_key_der(public_key.as_der())
        .map_err(|e| Error::protocol(OP, "the device's RSA key does not parse").with_source(e))
}

macro_rules! rsa_key {
    ($name:ident, $module:ident, $digest:ty, $alg:expr, $doc:literal) => {
        #[doc = $doc]
        pub struct $name<H: ?Sized + Hsm = dyn Hsm> {
            hsm: Arc<H>,
            key: KeyId,
            verifying_key: rsa::$module::VerifyingKey<$digest>,
        }

        impl<H: ?Sized + Hsm> $name<H> {
            /// Binds `key` on `hsm`, reading its public key once.
            ///
            /// # Errors
            /// The backend's errors; [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput)
            /// if the key is not RSA.
            pub fn new(hsm: Arc<H>, key: KeyId) -> Result<Self> {
                let public_key = rsa_public_key(&hsm.public_key(&key)?)?;
                Ok(Self {
                    hsm,
                    key,
                    verifying_key: rsa::$module::VerifyingKey::new(public_key),
                })
            }

            /// The key's identifier.
            #[must_use]
            pub fn key_id(&self) -> &KeyId {
                &self.key
            }
        }

        impl<H: ?Sized + Hsm> fmt::Debug for $name<H> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("backend", &self.hsm.backend())
                    .field("key", &self.key)
                    .finish_non_exhaustive()
            }
        }

        impl<H: ?Sized + Hsm> signature::Signer<rsa::$module::Signature> for $name<H> {
            fn try_sign(&self, msg: &[u8]) -> signature::Result<rsa::$module::Signature> {
                let sig = self.hsm.sign(&self.key, $alg, msg)?;
                rsa::$module::Signature::try_from(sig.as_raw())
            }
        }

        impl<H: ?Sized + Hsm> PrehashSigner<rsa::$module::Signature> for $name<H> {
            fn sign_prehash(&self, prehash: &[u8]) -> signature::Result<rsa::$module::Signature> {
                let sig = self.hsm.sign_digest(&self.key, $alg, prehash)?;
                rsa::$module::Signature::try_from(sig.as_raw())
            }
        }

        impl<H: ?Sized + Hsm> Keypair for $name<H> {
            type VerifyingKey = rsa::$module::VerifyingKey<$digest>;

            fn verifying_key(&self) -> Self::VerifyingKey {
                self.verifying_key.clone()
            }
        }
    };
}

rsa_key!(
    RsaPkcs1Sha256Key,
    pkcs1v15,
    sha2::Sha256,
    SignAlgorithm::RsaPkcs1Sha256,
    "An RSA key on an HSM, signing RSASSA-PKCS1-v1_5 with SHA-256 (`sha256WithRSAEncryption`)."
);
rsa_key!(
    RsaPkcs1Sha384Key,
    pkcs1v15,
    sha2::Sha384,
    SignAlgorithm::RsaPkcs1Sha384,
    "An RSA key on an HSM, signing RSASSA-PKCS1-v1_5 with SHA-384."
);
rsa_key!(
    RsaPkcs1Sha512Key,
    pkcs1v15,
    sha2::Sha512,
    SignAlgorithm::RsaPkcs1Sha512,
    "An RSA key on an HSM, signing RSASSA-PKCS1-v1_5 with SHA-512."
);
rsa_key!(
    RsaPssSha256Key,
    pss,
    sha2::Sha256,
    SignAlgorithm::RsaPssSha256,
    "An RSA key on an HSM, signing RSASSA-PSS with SHA-256, MGF1-SHA-256 and a 32-byte salt."
);
rsa_key!(
    RsaPssSha384Key,
    pss,
    sha2::Sha384,
    SignAlgorithm::RsaPssSha384,
    "An RSA key on an HSM, signing RSASSA-PSS with SHA-384, MGF1-SHA-384 and a 48-byte salt."
);
rsa_key!(
    RsaPssSha512Key,
    pss,
    sha2::Sha512,
    SignAlgorithm::RsaPssSha512,
    "An RSA key on an HSM, signing RSASSA-PSS with SHA-512, MGF1-SHA-512 and a 64-byte salt."
);

macro_rules! rsa_pkcs1_algorithm_identifier {
    ($($name:ident => $digest:ty),*) => {$(
        impl<H: ?Sized + Hsm> SignatureAlgorithmIdentifier for $name<H> {
            type Params = AnyRef<'static>;

            const SIGNATURE_ALGORITHM_IDENTIFIER: AlgorithmIdentifier<Self::Params> =
                <rsa::pkcs1v15::VerifyingKey<$digest> as SignatureAlgorithmIdentifier>::SIGNATURE_ALGORITHM_IDENTIFIER;
        }
    )*};
}

rsa_pkcs1_algorithm_identifier!(
    RsaPkcs1Sha256Key => sha2::Sha256,
    RsaPkcs1Sha384Key => sha2::Sha384,
    RsaPkcs1Sha512Key => sha2::Sha512
);

macro_rules! rsa_pss_algorithm_identifier {
    ($($name:ident => $digest:ty),*) => {$(
        impl<H: ?Sized + Hsm> spki::DynSignatureAlgorithmIdentifier for $name<H> {
            fn signature_algorithm_identifier(&self) -> spki::Result<spki::AlgorithmIdentifierOwned> {
                rsa::pss::get_default_pss_signature_algo_id::<$digest>()
            }
        }
    )*};
}

rsa_pss_algorithm_identifier!(
    RsaPssSha256Key => sha2::Sha256,
    RsaPssSha384Key => sha2::Sha384,
    RsaPssSha512Key => sha2::Sha512
);

/// An Ed25519 key on an HSM (pure Ed25519, RFC 8032; `id-Ed25519` in X.509).
pub struct Ed25519Key<H: ?Sized + Hsm = dyn Hsm> {
    hsm: Arc<H>,
    key: KeyId,
    verifying_key: ed25519_dalek::VerifyingKey,
}

impl<H: ?Sized + Hsm> Ed25519Key<H> {
    /// Binds `key` on `hsm`, reading its public key once.
    ///
    /// # Errors
    /// The backend's errors; [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) if the
    /// key is not Ed25519.
    pub fn new(hsm: Arc<H>, key: KeyId) -> Result<Self> {
        let public_key = hsm.public_key(&key)?;
        let raw: [u8; 32] = public_key
            .ed25519_bytes()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| wrong_key("Ed25519", &public_key))?;
        let verifying_key = ed25519_dalek::VerifyingKey::from_bytes(&raw).map_err(|e| {
            Error::protocol(OP, "the device's Ed25519 key is invalid").with_source(e)
        })?;
        Ok(Self {
            hsm,
            key,
            verifying_key,
        })
    }

    /// The key's identifier.
    #[must_use]
    pub fn key_id(&self) -> &KeyId {
        &self.key
    }
}

impl<H: ?Sized + Hsm> fmt::Debug for Ed25519Key<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ed25519Key")
            .field("backend", &self.hsm.backend())
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl<H: ?Sized + Hsm> signature::Signer<ed25519_dalek::Signature> for Ed25519Key<H> {
    fn try_sign(&self, msg: &[u8]) -> signature::Result<ed25519_dalek::Signature> {
        let sig = self.hsm.sign(&self.key, SignAlgorithm::Ed25519, msg)?;
        ed25519_dalek::Signature::from_slice(sig.as_raw())
    }
}

impl<H: ?Sized + Hsm> Keypair for Ed25519Key<H> {
    type VerifyingKey = ed25519_dalek::VerifyingKey;

    fn verifying_key(&self) -> Self::VerifyingKey {
        self.verifying_key
    }
}

impl<H: ?Sized + Hsm> SignatureAlgorithmIdentifier for Ed25519Key<H> {
    type Params = AnyRef<'static>;

    const SIGNATURE_ALGORITHM_IDENTIFIER: AlgorithmIdentifier<Self::Params> = AlgorithmIdentifier {
        oid: OID_ED25519,
        parameters: None,
    };
}
