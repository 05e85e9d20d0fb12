//! RustCrypto key handles: an HSM key as a [`signature::Signer`] (or [`signature::AsyncSigner`])
//! with a [`signature::Keypair`].
//!
//! A handle binds a backend to one key, reads the public key once when it is made, and implements
//! the RustCrypto traits that builders such as `x509-cert` require: `Signer` (and `PrehashSigner`
//! for ECDSA and RSA), `Keypair`, and `SignatureAlgorithmIdentifier`
//! (`DynSignatureAlgorithmIdentifier` for PSS, whose identifier has parameters).
//!
//! | key | blocking handle (any [`Hsm`]) | async handle (any [`AsyncHsm`]) | signatures |
//! |---|---|---|---|
//! | ECDSA on a curve `C` | [`EcdsaKey<C>`] | [`AsyncEcdsaKey<C>`] | `ecdsa::Signature<C>`, `ecdsa::der::Signature<C>` |
//! | RSA PKCS#1 v1.5 with a hash `D` | [`RsaPkcs1Key<D>`] | [`AsyncRsaPkcs1Key<D>`] | `rsa::pkcs1v15::Signature` |
//! | RSA-PSS with a hash `D` | [`RsaPssKey<D>`] | [`AsyncRsaPssKey<D>`] | `rsa::pss::Signature` |
//! | Ed25519 | [`Ed25519Key`] | [`AsyncEd25519Key`] | `ed25519_dalek::Signature` |
//!
//! `C` is any [`HsmCurve`]: `p256::NistP256`, `p384::NistP384`, `p521::NistP521`,
//! `k256::Secp256k1`, `bp256::BrainpoolP256r1`, `bp384::BrainpoolP384r1`; the handle signs with
//! the curve's usual hash (SHA-256, SHA-384, SHA-512 for P-521). `D` is any [`HsmDigest`]:
//! `sha2::Sha256`, `Sha384`, `Sha512`. The aliases [`EcdsaP256Key`], [`RsaPssSha256Key`], ...
//! name the common ones.
//!
//! Handles are cheap to clone (one `Arc` inside) and `Send + Sync` when the backend is: clone one
//! into every task or thread. An async handle awaits the backend's own future: on a native async
//! backend a signature is one request on the caller's runtime, and no worker thread is blocked.
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
//! The async twin, with `x509-cert`'s `AsyncBuilder`:
//!
//! ```no_run
//! # async fn demo(backend: std::sync::Arc<dyn hsm_core::AsyncHsm>) -> Result<(), Box<dyn std::error::Error>> {
//! use std::str::FromStr as _;
//! use hsm_core::rustcrypto::AsyncEcdsaKey;
//! use x509_cert::builder::{AsyncBuilder as _, RequestBuilder};
//! use x509_cert::name::Name;
//!
//! let key = AsyncEcdsaKey::<p384::NistP384>::new(backend, "signing".parse()?).await?;
//! let subject = Name::from_str("CN=signer.example,O=Example")?;
//! let csr = RequestBuilder::new(subject)?
//!     .build_async::<_, p384::ecdsa::DerSignature>(&key)
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! Signing errors arrive as [`signature::Error`] whose source is the backend's [`Error`].

use std::fmt;
use std::ops::Add;
use std::sync::Arc;

use const_oid::AssociatedOid;
use der::asn1::AnyRef;
use ecdsa::elliptic_curve::array::ArraySize;
use ecdsa::elliptic_curve::{CurveArithmetic, FieldBytesSize};
use rsa::pkcs1v15::RsaSignatureAssociatedOid;
use sha2::digest::FixedOutputReset;
use signature::Keypair;
use signature::hazmat::{AsyncPrehashSigner, PrehashSigner};
use spki::{AlgorithmIdentifier, SignatureAlgorithmIdentifier};

use crate::algorithm::SignAlgorithm;
use crate::async_store::AsyncHsm;
use crate::error::{Error, Result};
use crate::key_id::KeyId;
use crate::key_spec::{Curve, KeyType};
use crate::public_key::{OID_ED25519, PublicKey};
use crate::signature::Signature as HsmSignature;
use crate::store::Hsm;

const OP: &str = "rustcrypto key";

mod sealed {
    /// Only this module's curves and hashes: each is tested against real backends.
    pub trait Sealed {}
}

/// An elliptic curve whose ECDSA keys an HSM holds and RustCrypto verifies: the `C` of
/// [`EcdsaKey<C>`] and [`AsyncEcdsaKey<C>`].
///
/// Implemented for `p256::NistP256`, `p384::NistP384`, `p521::NistP521`, `k256::Secp256k1`,
/// `bp256::BrainpoolP256r1` and `bp384::BrainpoolP384r1` (sealed).
pub trait HsmCurve:
    ecdsa::EcdsaCurve + CurveArithmetic + ecdsa::DigestAlgorithm + sealed::Sealed
{
    /// The curve as the HSM API names it.
    const CURVE: Curve;
    /// What `Signer::try_sign` asks the HSM for: ECDSA with the curve's hash
    /// ([`DigestAlgorithm::Digest`](ecdsa::DigestAlgorithm::Digest)).
    const ALGORITHM: SignAlgorithm;
    /// `ecdsa-with-SHA256`, `-SHA384` or `-SHA512`, without parameters.
    const SIGNATURE_ALGORITHM_IDENTIFIER: AlgorithmIdentifier<AnyRef<'static>>;

    /// The verifying key for a SEC1 point, `None` if the point is not on the curve.
    #[doc(hidden)]
    fn verifying_key_from_sec1(point: &[u8]) -> Option<ecdsa::VerifyingKey<Self>>;
}

macro_rules! hsm_curve {
    ($($curve_type:ty => $curve:expr, $alg:expr;)*) => {$(
        impl sealed::Sealed for $curve_type {}

        impl HsmCurve for $curve_type {
            const CURVE: Curve = $curve;
            const ALGORITHM: SignAlgorithm = $alg;
            const SIGNATURE_ALGORITHM_IDENTIFIER: AlgorithmIdentifier<AnyRef<'static>> =
                <ecdsa::VerifyingKey<$curve_type> as SignatureAlgorithmIdentifier>::SIGNATURE_ALGORITHM_IDENTIFIER;

            fn verifying_key_from_sec1(point: &[u8]) -> Option<ecdsa::VerifyingKey<Self>> {
                ecdsa::VerifyingKey::from_sec1_bytes(point).ok()
            }
        }
    )*};
}

hsm_curve! {
    p256::NistP256 => Curve::P256, SignAlgorithm::EcdsaSha256;
    p384::NistP384 => Curve::P384, SignAlgorithm::EcdsaSha384;
    p521::NistP521 => Curve::P521, SignAlgorithm::EcdsaSha512;
    k256::Secp256k1 => Curve::Secp256k1, SignAlgorithm::EcdsaSha256;
    bp256::BrainpoolP256r1 => Curve::BrainpoolP256r1, SignAlgorithm::EcdsaSha256;
    bp384::BrainpoolP384r1 => Curve::BrainpoolP384r1, SignAlgorithm::EcdsaSha384;
}

/// A hash for RSA signatures made on an HSM: the `D` of [`RsaPkcs1Key<D>`] and [`RsaPssKey<D>`]
/// (and their async twins). Implemented for `sha2::Sha256`, `Sha384` and `Sha512` (sealed).
pub trait HsmDigest:
    sha2::Digest + FixedOutputReset + AssociatedOid + RsaSignatureAssociatedOid + sealed::Sealed
{
    /// RSASSA-PKCS1-v1_5 with this hash.
    const PKCS1: SignAlgorithm;
    /// RSASSA-PSS with this hash, MGF1 with the same hash and a salt of the hash's length.
    const PSS: SignAlgorithm;
}

macro_rules! hsm_digest {
    ($($digest:ty => $pkcs1:expr, $pss:expr;)*) => {$(
        impl sealed::Sealed for $digest {}

        impl HsmDigest for $digest {
            const PKCS1: SignAlgorithm = $pkcs1;
            const PSS: SignAlgorithm = $pss;
        }
    )*};
}

hsm_digest! {
    sha2::Sha256 => SignAlgorithm::RsaPkcs1Sha256, SignAlgorithm::RsaPssSha256;
    sha2::Sha384 => SignAlgorithm::RsaPkcs1Sha384, SignAlgorithm::RsaPssSha384;
    sha2::Sha512 => SignAlgorithm::RsaPkcs1Sha512, SignAlgorithm::RsaPssSha512;
}

/// What every handle shares with its clones: the backend, the key and its verifying key.
struct Bound<H: ?Sized, V> {
    hsm: Arc<H>,
    key: KeyId,
    verifying_key: V,
}

fn wrong_key(expected: &str, found: &PublicKey) -> Error {
    Error::invalid_input(
        OP,
        format!("expected a {expected} key, found {:?}", found.spec()),
    )
}

fn ecdsa_verifying_key<C: HsmCurve>(public_key: &PublicKey) -> Result<ecdsa::VerifyingKey<C>> {
    let point = public_key
        .ec_point()
        .filter(|_| public_key.curve() == Some(C::CURVE))
        .ok_or_else(|| wrong_key(&format!("{} EC", C::CURVE), public_key))?;
    C::verifying_key_from_sec1(point)
        .ok_or_else(|| Error::protocol(OP, "the device's public key is not on the curve"))
}

fn rsa_public_key(public_key: &PublicKey) -> Result<rsa::RsaPublicKey> {
    use rsa::pkcs8::DecodePublicKey as _;
    if public_key.key_type() != KeyType::Rsa {
        return Err(wrong_key("RSA", public_key));
    }
    rsa::RsaPublicKey::from_public_key_der(public_key.as_der())
        .map_err(|e| Error::protocol(OP, "the device's RSA key does not parse").with_source(e))
}

fn ed25519_verifying_key(public_key: &PublicKey) -> Result<ed25519_dalek::VerifyingKey> {
    let raw: [u8; 32] = public_key
        .ed25519_bytes()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| wrong_key("Ed25519", public_key))?;
    ed25519_dalek::VerifyingKey::from_bytes(&raw)
        .map_err(|e| Error::protocol(OP, "the device's Ed25519 key is invalid").with_source(e))
}

fn ecdsa_signature<C: HsmCurve>(
    signature: Result<HsmSignature>,
) -> signature::Result<ecdsa::Signature<C>> {
    ecdsa::Signature::from_slice(signature?.as_raw()).map_err(|e| {
        Error::protocol(OP, "bad ECDSA signature")
            .with_source(e)
            .into()
    })
}

fn rsa_signature<S>(signature: Result<HsmSignature>) -> signature::Result<S>
where
    S: for<'a> TryFrom<&'a [u8], Error = signature::Error>,
{
    S::try_from(signature?.as_raw())
}

fn ed25519_signature(
    signature: Result<HsmSignature>,
) -> signature::Result<ed25519_dalek::Signature> {
    ed25519_dalek::Signature::from_slice(signature?.as_raw())
}

/// A handle's `new`: reads the public key once, blocking or awaiting the backend.
macro_rules! constructor {
    (blocking, $read:expr) => {
        /// Binds `key` on `hsm`, reading its public key once.
        ///
        /// # Errors
        /// The backend's errors; [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput)
        /// if the key is not of this handle's type (or curve).
        pub fn new(hsm: Arc<H>, key: KeyId) -> Result<Self> {
            let public_key = hsm.public_key(&key)?;
            Ok(Self::bind(hsm, key, $read(&public_key)?))
        }
    };
    (awaiting, $read:expr) => {
        /// Binds `key` on `hsm`, reading its public key once (awaiting the backend).
        ///
        /// # Errors
        /// The backend's errors; [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput)
        /// if the key is not of this handle's type (or curve).
        pub async fn new(hsm: Arc<H>, key: KeyId) -> Result<Self> {
            let public_key = hsm.public_key(&key).await?;
            Ok(Self::bind(hsm, key, $read(&public_key)?))
        }
    };
}

/// The inherent part every handle has: `new` (reading the public key once), `key_id`, a
/// `Debug` that names the backend and the key (never anything secret), and a `Clone` that
/// shares the one `Arc`.
macro_rules! handle {
    (
        $(#[$meta:meta])*
        $name:ident<$($param:ident: $bound:path),*>, $backend:ident, $verifying_key:ty,
        $read:expr, $mode:ident
    ) => {
        $(#[$meta])*
        pub struct $name<$($param: $bound,)* H: ?Sized + $backend = dyn $backend> {
            bound: Arc<Bound<H, $verifying_key>>,
        }

        impl<$($param: $bound,)* H: ?Sized + $backend> $name<$($param,)* H> {
            constructor!($mode, $read);

            fn bind(hsm: Arc<H>, key: KeyId, verifying_key: $verifying_key) -> Self {
                Self { bound: Arc::new(Bound { hsm, key, verifying_key }) }
            }

            /// The key's identifier.
            #[must_use]
            pub fn key_id(&self) -> &KeyId {
                &self.bound.key
            }

            /// The backend the key lives on.
            #[must_use]
            pub fn backend(&self) -> &Arc<H> {
                &self.bound.hsm
            }
        }

        impl<$($param: $bound,)* H: ?Sized + $backend> Clone for $name<$($param,)* H> {
            fn clone(&self) -> Self {
                Self { bound: Arc::clone(&self.bound) }
            }
        }

        impl<$($param: $bound,)* H: ?Sized + $backend> fmt::Debug for $name<$($param,)* H> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("backend", &self.bound.hsm.backend())
                    .field("key", &self.bound.key)
                    .finish_non_exhaustive()
            }
        }

        impl<$($param: $bound,)* H: ?Sized + $backend> Keypair for $name<$($param,)* H> {
            type VerifyingKey = $verifying_key;

            fn verifying_key(&self) -> Self::VerifyingKey {
                self.bound.verifying_key.clone()
            }
        }
    };
}

handle!(
    /// An ECDSA key on an HSM, on the curve `C` ([`HsmCurve`]), signing with the curve's hash.
    ///
    /// `Signer<ecdsa::Signature<C>>` (fixed-size `r || s`), `Signer<ecdsa::der::Signature<C>>`
    /// (for X.509), `PrehashSigner<ecdsa::Signature<C>>` (a digest the caller made), `Keypair`
    /// and `SignatureAlgorithmIdentifier`.
    EcdsaKey<C: HsmCurve>, Hsm, ecdsa::VerifyingKey<C>, ecdsa_verifying_key::<C>,
    blocking
);
handle!(
    /// An ECDSA key on an async backend, on the curve `C` ([`HsmCurve`]): the async twin of
    /// [`EcdsaKey`], implementing `signature::AsyncSigner` and `AsyncPrehashSigner` by awaiting
    /// the backend.
    AsyncEcdsaKey<C: HsmCurve>, AsyncHsm, ecdsa::VerifyingKey<C>, ecdsa_verifying_key::<C>,
    awaiting
);
handle!(
    /// An RSA key on an HSM, signing RSASSA-PKCS1-v1_5 with the hash `D` ([`HsmDigest`];
    /// `sha256WithRSAEncryption` and its siblings in X.509).
    RsaPkcs1Key<D: HsmDigest>, Hsm, rsa::pkcs1v15::VerifyingKey<D>, pkcs1_verifying_key::<D>,
    blocking
);
handle!(
    /// The async twin of [`RsaPkcs1Key`].
    AsyncRsaPkcs1Key<D: HsmDigest>, AsyncHsm, rsa::pkcs1v15::VerifyingKey<D>,
    pkcs1_verifying_key::<D>,
    awaiting
);
handle!(
    /// An RSA key on an HSM, signing RSASSA-PSS with the hash `D` ([`HsmDigest`]), MGF1 with the
    /// same hash and a salt as long as the hash (`id-RSASSA-PSS` with those parameters in X.509).
    RsaPssKey<D: HsmDigest>, Hsm, rsa::pss::VerifyingKey<D>, pss_verifying_key::<D>,
    blocking
);
handle!(
    /// The async twin of [`RsaPssKey`].
    AsyncRsaPssKey<D: HsmDigest>, AsyncHsm, rsa::pss::VerifyingKey<D>, pss_verifying_key::<D>,
    awaiting
);
handle!(
    /// An Ed25519 key on an HSM (pure Ed25519, RFC 8032; `id-Ed25519` in X.509).
    Ed25519Key<>, Hsm, ed25519_dalek::VerifyingKey, ed25519_verifying_key,
    blocking
);
handle!(
    /// The async twin of [`Ed25519Key`].
    AsyncEd25519Key<>, AsyncHsm, ed25519_dalek::VerifyingKey, ed25519_verifying_key,
    awaiting
);

fn pkcs1_verifying_key<D: HsmDigest>(
    public_key: &PublicKey,
) -> Result<rsa::pkcs1v15::VerifyingKey<D>> {
    Ok(rsa::pkcs1v15::VerifyingKey::new(rsa_public_key(
        public_key,
    )?))
}

fn pss_verifying_key<D: HsmDigest>(public_key: &PublicKey) -> Result<rsa::pss::VerifyingKey<D>> {
    Ok(rsa::pss::VerifyingKey::new(rsa_public_key(public_key)?))
}

/// ECDSA P-256 with SHA-256 (`ecdsa-with-SHA256`).
pub type EcdsaP256Key<H = dyn Hsm> = EcdsaKey<p256::NistP256, H>;
/// ECDSA P-384 with SHA-384 (`ecdsa-with-SHA384`).
pub type EcdsaP384Key<H = dyn Hsm> = EcdsaKey<p384::NistP384, H>;
/// ECDSA P-521 with SHA-512 (`ecdsa-with-SHA512`).
pub type EcdsaP521Key<H = dyn Hsm> = EcdsaKey<p521::NistP521, H>;
/// RSASSA-PKCS1-v1_5 with SHA-256 (`sha256WithRSAEncryption`).
pub type RsaPkcs1Sha256Key<H = dyn Hsm> = RsaPkcs1Key<sha2::Sha256, H>;
/// RSASSA-PKCS1-v1_5 with SHA-384 (`sha384WithRSAEncryption`).
pub type RsaPkcs1Sha384Key<H = dyn Hsm> = RsaPkcs1Key<sha2::Sha384, H>;
/// RSASSA-PKCS1-v1_5 with SHA-512 (`sha512WithRSAEncryption`).
pub type RsaPkcs1Sha512Key<H = dyn Hsm> = RsaPkcs1Key<sha2::Sha512, H>;
/// RSASSA-PSS with SHA-256, MGF1-SHA-256 and a 32-byte salt.
pub type RsaPssSha256Key<H = dyn Hsm> = RsaPssKey<sha2::Sha256, H>;
/// RSASSA-PSS with SHA-384, MGF1-SHA-384 and a 48-byte salt.
pub type RsaPssSha384Key<H = dyn Hsm> = RsaPssKey<sha2::Sha384, H>;
/// RSASSA-PSS with SHA-512, MGF1-SHA-512 and a 64-byte salt.
pub type RsaPssSha512Key<H = dyn Hsm> = RsaPssKey<sha2::Sha512, H>;

// ECDSA: fixed-size and DER signatures, prehashes, the algorithm identifier.

impl<C: HsmCurve, H: ?Sized + Hsm> signature::Signer<ecdsa::Signature<C>> for EcdsaKey<C, H> {
    fn try_sign(&self, msg: &[u8]) -> signature::Result<ecdsa::Signature<C>> {
        let b = &self.bound;
        ecdsa_signature(b.hsm.sign(&b.key, C::ALGORITHM, msg))
    }
}

impl<C, H> signature::Signer<ecdsa::der::Signature<C>> for EcdsaKey<C, H>
where
    C: HsmCurve,
    H: ?Sized + Hsm,
    ecdsa::der::MaxSize<C>: ArraySize,
    <FieldBytesSize<C> as Add>::Output: Add<ecdsa::der::MaxOverhead> + ArraySize,
{
    fn try_sign(&self, msg: &[u8]) -> signature::Result<ecdsa::der::Signature<C>> {
        let signature: ecdsa::Signature<C> = self.try_sign(msg)?;
        Ok(signature.to_der())
    }
}

impl<C: HsmCurve, H: ?Sized + Hsm> PrehashSigner<ecdsa::Signature<C>> for EcdsaKey<C, H> {
    fn sign_prehash(&self, prehash: &[u8]) -> signature::Result<ecdsa::Signature<C>> {
        let b = &self.bound;
        ecdsa_signature(
            b.hsm
                .sign_digest(&b.key, SignAlgorithm::EcdsaPrehashed, prehash),
        )
    }
}

impl<C: HsmCurve, H: ?Sized + AsyncHsm> signature::AsyncSigner<ecdsa::Signature<C>>
    for AsyncEcdsaKey<C, H>
{
    async fn sign_async(&self, msg: &[u8]) -> signature::Result<ecdsa::Signature<C>> {
        let b = &self.bound;
        ecdsa_signature(b.hsm.sign(&b.key, C::ALGORITHM, msg).await)
    }
}

impl<C, H> signature::AsyncSigner<ecdsa::der::Signature<C>> for AsyncEcdsaKey<C, H>
where
    C: HsmCurve,
    H: ?Sized + AsyncHsm,
    ecdsa::der::MaxSize<C>: ArraySize,
    <FieldBytesSize<C> as Add>::Output: Add<ecdsa::der::MaxOverhead> + ArraySize,
{
    async fn sign_async(&self, msg: &[u8]) -> signature::Result<ecdsa::der::Signature<C>> {
        let signature =
            <Self as signature::AsyncSigner<ecdsa::Signature<C>>>::sign_async(self, msg).await?;
        Ok(signature.to_der())
    }
}

impl<C: HsmCurve, H: ?Sized + AsyncHsm> AsyncPrehashSigner<ecdsa::Signature<C>>
    for AsyncEcdsaKey<C, H>
{
    async fn sign_prehash_async(&self, prehash: &[u8]) -> signature::Result<ecdsa::Signature<C>> {
        let b = &self.bound;
        ecdsa_signature(
            b.hsm
                .sign_digest(&b.key, SignAlgorithm::EcdsaPrehashed, prehash)
                .await,
        )
    }
}

impl<C: HsmCurve, H: ?Sized + Hsm> SignatureAlgorithmIdentifier for EcdsaKey<C, H> {
    type Params = AnyRef<'static>;

    const SIGNATURE_ALGORITHM_IDENTIFIER: AlgorithmIdentifier<Self::Params> =
        C::SIGNATURE_ALGORITHM_IDENTIFIER;
}

impl<C: HsmCurve, H: ?Sized + AsyncHsm> SignatureAlgorithmIdentifier for AsyncEcdsaKey<C, H> {
    type Params = AnyRef<'static>;

    const SIGNATURE_ALGORITHM_IDENTIFIER: AlgorithmIdentifier<Self::Params> =
        C::SIGNATURE_ALGORITHM_IDENTIFIER;
}

// RSA PKCS#1 v1.5 and PSS: messages, prehashes, the algorithm identifiers.

macro_rules! rsa_signers {
    ($($name:ident, $async_name:ident, $module:ident, $alg:ident;)*) => {$(
        impl<D: HsmDigest, H: ?Sized + Hsm> signature::Signer<rsa::$module::Signature>
            for $name<D, H>
        {
            fn try_sign(&self, msg: &[u8]) -> signature::Result<rsa::$module::Signature> {
                let b = &self.bound;
                rsa_signature(b.hsm.sign(&b.key, D::$alg, msg))
            }
        }

        impl<D: HsmDigest, H: ?Sized + Hsm> PrehashSigner<rsa::$module::Signature>
            for $name<D, H>
        {
            fn sign_prehash(&self, prehash: &[u8]) -> signature::Result<rsa::$module::Signature> {
                let b = &self.bound;
                rsa_signature(b.hsm.sign_digest(&b.key, D::$alg, prehash))
            }
        }

        impl<D: HsmDigest, H: ?Sized + AsyncHsm> signature::AsyncSigner<rsa::$module::Signature>
            for $async_name<D, H>
        {
            async fn sign_async(&self, msg: &[u8]) -> signature::Result<rsa::$module::Signature> {
                let b = &self.bound;
                rsa_signature(b.hsm.sign(&b.key, D::$alg, msg).await)
            }
        }

        impl<D: HsmDigest, H: ?Sized + AsyncHsm> AsyncPrehashSigner<rsa::$module::Signature>
            for $async_name<D, H>
        {
            async fn sign_prehash_async(
                &self,
                prehash: &[u8],
            ) -> signature::Result<rsa::$module::Signature> {
                let b = &self.bound;
                rsa_signature(b.hsm.sign_digest(&b.key, D::$alg, prehash).await)
            }
        }
    )*};
}

rsa_signers! {
    RsaPkcs1Key, AsyncRsaPkcs1Key, pkcs1v15, PKCS1;
    RsaPssKey, AsyncRsaPssKey, pss, PSS;
}

macro_rules! rsa_algorithm_identifiers {
    ($($backend:ident: $pkcs1:ident, $pss:ident;)*) => {$(
        impl<D: HsmDigest, H: ?Sized + $backend> SignatureAlgorithmIdentifier for $pkcs1<D, H> {
            type Params = AnyRef<'static>;

            const SIGNATURE_ALGORITHM_IDENTIFIER: AlgorithmIdentifier<Self::Params> =
                <rsa::pkcs1v15::VerifyingKey<D> as SignatureAlgorithmIdentifier>::SIGNATURE_ALGORITHM_IDENTIFIER;
        }

        impl<D: HsmDigest, H: ?Sized + $backend> spki::DynSignatureAlgorithmIdentifier
            for $pss<D, H>
        {
            fn signature_algorithm_identifier(
                &self,
            ) -> spki::Result<spki::AlgorithmIdentifierOwned> {
                rsa::pss::get_default_pss_signature_algo_id::<D>()
            }
        }
    )*};
}

rsa_algorithm_identifiers! {
    Hsm: RsaPkcs1Key, RsaPssKey;
    AsyncHsm: AsyncRsaPkcs1Key, AsyncRsaPssKey;
}

// Ed25519.

impl<H: ?Sized + Hsm> signature::Signer<ed25519_dalek::Signature> for Ed25519Key<H> {
    fn try_sign(&self, msg: &[u8]) -> signature::Result<ed25519_dalek::Signature> {
        let b = &self.bound;
        ed25519_signature(b.hsm.sign(&b.key, SignAlgorithm::Ed25519, msg))
    }
}

impl<H: ?Sized + AsyncHsm> signature::AsyncSigner<ed25519_dalek::Signature> for AsyncEd25519Key<H> {
    async fn sign_async(&self, msg: &[u8]) -> signature::Result<ed25519_dalek::Signature> {
        let b = &self.bound;
        ed25519_signature(b.hsm.sign(&b.key, SignAlgorithm::Ed25519, msg).await)
    }
}

const ED25519_ALGORITHM_IDENTIFIER: AlgorithmIdentifier<AnyRef<'static>> = AlgorithmIdentifier {
    oid: OID_ED25519,
    parameters: None,
};

impl<H: ?Sized + Hsm> SignatureAlgorithmIdentifier for Ed25519Key<H> {
    type Params = AnyRef<'static>;

    const SIGNATURE_ALGORITHM_IDENTIFIER: AlgorithmIdentifier<Self::Params> =
        ED25519_ALGORITHM_IDENTIFIER;
}

impl<H: ?Sized + AsyncHsm> SignatureAlgorithmIdentifier for AsyncEd25519Key<H> {
    type Params = AnyRef<'static>;

    const SIGNATURE_ALGORITHM_IDENTIFIER: AlgorithmIdentifier<Self::Params> =
        ED25519_ALGORITHM_IDENTIFIER;
}
