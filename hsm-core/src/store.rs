//! The traits every backend implements: [`KeyStore`], [`Signer`] and their union [`Hsm`].
//!
//! The traits are blocking, object-safe and `Send + Sync`: for programs without an async runtime,
//! and for PKCS#11 and PC/SC, which block by nature. A program that picks its backend at run time
//! holds a `Box<dyn Hsm>` or an `Arc<dyn Hsm>`, both backends themselves. Async services use the
//! twins in [`crate::async_store`].

use std::fmt;

use crate::algorithm::SignAlgorithm;
use crate::error::{Error, ErrorKind, Result};
use crate::key_id::KeyId;
use crate::key_info::{ImportRequest, KeyInfo, KeyTemplate};
use crate::key_spec::KeySpec;
use crate::public_key::PublicKey;
use crate::signature::Signature;

/// The most bytes one [`KeyStore::random`] call returns. Backends split a request into the
/// device's own chunk size; callers needing more call again.
pub const MAX_RANDOM_LEN: usize = 1 << 16;

/// The largest message [`Signer::sign`] accepts by default (bytes). Backends may accept less
/// (devices have request limits) and say so with [`ErrorKind::InvalidInput`].
pub const MAX_MESSAGE_LEN: usize = 1 << 20;

/// What a backend, with the device behind it, can do. The conformance suite tests exactly this:
/// everything declared must work, everything else must fail with [`ErrorKind::Unsupported`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capabilities {
    /// Key specs [`KeyStore::generate_key`] can make.
    pub key_specs: Vec<KeySpec>,
    /// Signature algorithms [`Signer::sign`] can use (with a key that fits).
    pub algorithms: Vec<SignAlgorithm>,
    /// Whether [`KeyStore::import_key`] works.
    pub import: bool,
    /// The specs [`KeyStore::import_key`] takes, when narrower than [`key_specs`](Self::key_specs)
    /// (read it through [`import_specs`](Self::import_specs)).
    pub import_only: Option<Vec<KeySpec>>,
    /// Whether [`KeyStore::delete_key`] works.
    pub delete: bool,
    /// The largest message [`Signer::sign`] takes, in bytes.
    pub max_message_len: usize,
    /// Whether [`KeyStore::certificate`], [`KeyStore::store_certificate`] and
    /// [`KeyStore::delete_certificate`] work (the device keeps a certificate with a key).
    pub certificates: bool,
    /// Whether [`KeyStore::random`] works (the device has a random number generator it exposes).
    pub random: bool,
}

/// Builder methods of [`Capabilities`] that set one field to the value given.
macro_rules! declarations {
    ($($(#[doc = $doc:literal])* $method:ident => $field:ident: $type:ty;)*) => {$(
        $(#[doc = $doc])*
        #[must_use]
        pub fn $method(mut self, $field: $type) -> Self {
            self.$field = $field;
            self
        }
    )*};
}

impl Capabilities {
    /// Capabilities for these specs and algorithms, with import and delete off.
    #[must_use]
    pub fn new(key_specs: Vec<KeySpec>, algorithms: Vec<SignAlgorithm>) -> Self {
        Self {
            key_specs,
            algorithms,
            import: false,
            import_only: None,
            delete: false,
            max_message_len: MAX_MESSAGE_LEN,
            certificates: false,
            random: false,
        }
    }

    declarations! {
        /// Declares certificate storage ([`KeyStore::certificate`] and its siblings).
        with_certificates => certificates: bool;
        /// Declares the device's random number generator ([`KeyStore::random`]).
        with_random => random: bool;
        /// Declares import support.
        with_import => import: bool;
        /// Declares delete support.
        with_delete => delete: bool;
        /// Declares the largest message.
        with_max_message_len => max_message_len: usize;
    }

    /// Declares that import takes only these specs (by default, every spec in `key_specs`).
    #[must_use]
    pub fn with_import_specs(mut self, specs: Vec<KeySpec>) -> Self {
        self.import_only = Some(specs);
        self
    }

    /// The specs [`KeyStore::import_key`] takes: none unless import is declared.
    #[must_use]
    pub fn import_specs(&self) -> Vec<KeySpec> {
        match (&self.import_only, self.import) {
            (_, false) => Vec::new(),
            (Some(specs), true) => specs.clone(),
            (None, true) => self.key_specs.clone(),
        }
    }

    /// Whether `spec` can be generated.
    #[must_use]
    pub fn has_spec(&self, spec: KeySpec) -> bool {
        self.key_specs.contains(&spec)
    }

    /// Whether `algorithm` can be used.
    #[must_use]
    pub fn has_algorithm(&self, algorithm: SignAlgorithm) -> bool {
        self.algorithms.contains(&algorithm)
    }
}

/// Key management: list, inspect, generate, import, delete, and read public keys.
pub trait KeyStore: Send + Sync + fmt::Debug {
    /// The backend's short name (`nethsm`, `n200`, `pkcs11`, `sc-hsm`).
    fn backend(&self) -> &'static str;

    /// What this backend and device can do.
    fn capabilities(&self) -> Capabilities;

    /// Every key the credentials can see.
    ///
    /// # Errors
    /// Transport, authentication and device errors.
    fn list_keys(&self) -> Result<Vec<KeyInfo>>;

    /// One key's details.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] if there is no such key; transport and device errors.
    fn key_info(&self, key: &KeyId) -> Result<KeyInfo>;

    /// Generates a key pair on the device.
    ///
    /// # Errors
    /// [`ErrorKind::AlreadyExists`] if the id is taken, [`ErrorKind::Unsupported`] for a spec the
    /// backend does not declare, [`ErrorKind::InvalidInput`] for an id the device refuses.
    fn generate_key(&self, template: &KeyTemplate) -> Result<KeyInfo>;

    /// Imports a private key, where the device allows it. The default refuses.
    ///
    /// # Errors
    /// [`ErrorKind::Unsupported`] unless the backend overrides it; otherwise as
    /// [`generate_key`](Self::generate_key).
    fn import_key(&self, request: &ImportRequest) -> Result<KeyInfo> {
        let _ = request;
        Err(unsupported(self.backend(), "import_key", "import keys"))
    }

    /// Deletes a key. The default refuses.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] if there is no such key, [`ErrorKind::Unsupported`] unless the
    /// backend overrides it.
    fn delete_key(&self, key: &KeyId) -> Result<()> {
        let _ = key;
        Err(unsupported(self.backend(), "delete_key", "delete keys"))
    }

    /// The key's public key.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] if there is no such key; transport and device errors.
    fn public_key(&self, key: &KeyId) -> Result<PublicKey>;
    /// Whether the backend can serve calls now, for a service's readiness probe: the device is
    /// reachable, answers, and the credentials work. Backends answer with their cheapest such
    /// check (NetHSM `/health/ready`, a PKCS#11 token-info call, ...); the default lists the keys.
    ///
    /// # Errors
    /// The reason it cannot: [`ErrorKind::Unavailable`], [`ErrorKind::Timeout`],
    /// [`ErrorKind::AuthenticationFailed`], [`ErrorKind::InvalidState`] (e.g. a locked device).
    fn health(&self) -> Result<()> {
        self.list_keys().map(drop)
    }

    /// The X.509 certificate stored with the key (DER), `None` when the key has none. The
    /// default refuses.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] if there is no such key; [`ErrorKind::Unsupported`] unless the
    /// backend declares [`Capabilities::certificates`].
    fn certificate(&self, key: &KeyId) -> Result<Option<Vec<u8>>> {
        let _ = key;
        Err(unsupported(
            self.backend(),
            "certificate",
            "store certificates",
        ))
    }

    /// Stores `der` (one X.509 certificate, DER) with the key, replacing any certificate it has.
    /// The default refuses.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] if there is no such key, [`ErrorKind::InvalidInput`] if `der` is
    /// not one DER-encoded certificate; [`ErrorKind::Unsupported`] unless the backend declares
    /// [`Capabilities::certificates`].
    fn store_certificate(&self, key: &KeyId, der: &[u8]) -> Result<()> {
        let _ = (key, der);
        Err(unsupported(
            self.backend(),
            "store_certificate",
            "store certificates",
        ))
    }

    /// Deletes the certificate stored with the key. The default refuses.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] if there is no such key or it has no certificate;
    /// [`ErrorKind::Unsupported`] unless the backend declares [`Capabilities::certificates`].
    fn delete_certificate(&self, key: &KeyId) -> Result<()> {
        let _ = key;
        Err(unsupported(
            self.backend(),
            "delete_certificate",
            "store certificates",
        ))
    }

    /// `len` bytes from the device's random number generator (`len` ≤ [`MAX_RANDOM_LEN`]).
    /// The default refuses.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] for `len` over [`MAX_RANDOM_LEN`]; [`ErrorKind::Unsupported`]
    /// unless the backend declares [`Capabilities::random`].
    fn random(&self, len: usize) -> Result<Vec<u8>> {
        let _ = len;
        Err(unsupported(
            self.backend(),
            "random",
            "read the device's random number generator",
        ))
    }
}

/// The answer of a default method: this backend cannot `what`.
pub(crate) fn unsupported(backend: &str, operation: &'static str, what: &str) -> Error {
    Error::unsupported(operation, format!("the {backend} backend cannot {what}"))
}

/// Checks a [`KeyStore::random`] length: at most [`MAX_RANDOM_LEN`].
///
/// # Errors
/// [`ErrorKind::InvalidInput`] for a longer request.
pub fn check_random_len(len: usize, operation: &'static str) -> Result<()> {
    if len > MAX_RANDOM_LEN {
        return Err(Error::invalid_input(
            operation,
            format!("{len} random bytes asked for; at most {MAX_RANDOM_LEN} per call"),
        ));
    }
    Ok(())
}

/// Signing with keys held by the device.
pub trait Signer: Send + Sync + fmt::Debug {
    /// Signs a message: the algorithm's hash is applied (on the host or the device, as the backend
    /// does best). For [`SignAlgorithm::EcdsaPrehashed`] the message is the digest.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] for empty or oversized input or an algorithm that does not fit
    /// the key, [`ErrorKind::NotFound`] for an unknown key, [`ErrorKind::Unsupported`] for an
    /// algorithm the backend does not declare; transport, authentication and device errors.
    fn sign(&self, key: &KeyId, algorithm: SignAlgorithm, message: &[u8]) -> Result<Signature>;

    /// Signs a digest the caller computed with the algorithm's hash (any length for
    /// [`SignAlgorithm::EcdsaPrehashed`], within the device's limits).
    ///
    /// # Errors
    /// As [`sign`](Self::sign); [`ErrorKind::InvalidInput`] if the digest length does not match
    /// the hash, and [`ErrorKind::Unsupported`] for Ed25519, which signs whole messages only.
    fn sign_digest(
        &self,
        key: &KeyId,
        algorithm: SignAlgorithm,
        digest: &[u8],
    ) -> Result<Signature>;

    /// Signs a batch of messages with one key. Backends may pipeline or parallelise; the default
    /// signs one after another. The result has one entry per message, in order.
    fn sign_many(
        &self,
        key: &KeyId,
        algorithm: SignAlgorithm,
        messages: &[&[u8]],
    ) -> Vec<Result<Signature>> {
        messages
            .iter()
            .map(|m| self.sign(key, algorithm, m))
            .collect()
    }
}

/// A whole HSM backend: a [`KeyStore`] that is also a [`Signer`]. Implemented for every type that
/// is both, so `Box<dyn Hsm>` holds any backend.
pub trait Hsm: KeyStore + Signer {}

impl<T: KeyStore + Signer + ?Sized> Hsm for T {}

// Shared ownership: `Arc<dyn Hsm>`, `Box<dyn Hsm>` and `&dyn Hsm` are backends themselves (the
// pointer impls are in `forward`, next to the method tables they are written from).

/// Checks a message and algorithm before they are sent to a device: the common part of every
/// backend's [`Signer::sign`]. Backends call it first so that all of them refuse the same inputs
/// with the same kinds.
///
/// # Errors
/// [`ErrorKind::InvalidInput`] for an empty or oversized message.
pub fn check_message(message: &[u8], max_len: usize, operation: &'static str) -> Result<()> {
    if message.is_empty() {
        return Err(Error::invalid_input(operation, "the message is empty"));
    }
    if message.len() > max_len {
        return Err(Error::invalid_input(
            operation,
            format!("the message is {} bytes; at most {max_len}", message.len()),
        ));
    }
    Ok(())
}

/// Checks a digest for `algorithm`: the hash's length, or 1..=64 bytes for
/// [`SignAlgorithm::EcdsaPrehashed`]; Ed25519 takes no digest.
///
/// # Errors
/// [`ErrorKind::InvalidInput`] for a wrong length, [`ErrorKind::Unsupported`] for Ed25519.
pub fn check_digest(
    algorithm: SignAlgorithm,
    digest: &[u8],
    operation: &'static str,
) -> Result<()> {
    if !algorithm.accepts_digest() {
        return Err(Error::unsupported(
            operation,
            format!("{algorithm} signs whole messages; it takes no digest"),
        ));
    }
    match algorithm.hash() {
        Some(hash) => hash.check_digest(digest, operation),
        None if digest.is_empty() || digest.len() > 64 => Err(Error::invalid_input(
            operation,
            format!("a digest is 1 to 64 bytes, got {}", digest.len()),
        )),
        None => Ok(()),
    }
}

/// Checks that `algorithm` fits a key of `spec`.
///
/// # Errors
/// [`ErrorKind::InvalidInput`] if it does not.
pub fn check_algorithm_fits(
    spec: KeySpec,
    algorithm: SignAlgorithm,
    operation: &'static str,
) -> Result<()> {
    if spec.supports(algorithm) {
        Ok(())
    } else {
        Err(Error::new(ErrorKind::InvalidInput, operation)
            .with_message(format!("{algorithm} does not fit a {spec} key")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_object_safe(_: Option<&dyn Hsm>) {}

    #[test]
    fn traits_are_object_safe_and_thread_safe() {
        assert_object_safe(None);
        fn is_send_sync<T: Send + Sync + ?Sized>() {}
        is_send_sync::<dyn Hsm>();
        is_send_sync::<Box<dyn Hsm>>();
    }

    #[test]
    fn digest_checks() {
        assert!(check_digest(SignAlgorithm::EcdsaSha256, &[0; 32], "t").is_ok());
        assert_eq!(
            check_digest(SignAlgorithm::EcdsaSha256, &[0; 31], "t").map_err(|e| e.kind()),
            Err(ErrorKind::InvalidInput)
        );
        assert_eq!(
            check_digest(SignAlgorithm::Ed25519, &[0; 32], "t").map_err(|e| e.kind()),
            Err(ErrorKind::Unsupported)
        );
        assert!(check_digest(SignAlgorithm::EcdsaPrehashed, &[0; 20], "t").is_ok());
        assert!(check_digest(SignAlgorithm::EcdsaPrehashed, &[], "t").is_err());
        assert!(check_message(&[], 10, "t").is_err());
        assert!(check_message(&[0; 11], 10, "t").is_err());
        assert!(check_message(&[0; 10], 10, "t").is_ok());
    }
}
