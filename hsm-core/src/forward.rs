//! The method lists of [`KeyStore`] + [`Signer`] and of
//! [`AsyncKeyStore`] + [`AsyncSigner`], written once,
//! for every impl that forwards each method somewhere else: the pointer impls (`Arc`, `Box`,
//! `&`), the [`Observed`](crate::observe::Observed) wrapper, the blocking/async bridges, the mock's
//! async face and the backends' adapters.
//!
//! [`impl_blocking_traits!`](crate::impl_blocking_traits) and
//! [`impl_async_traits!`](crate::impl_async_traits) write the two impls of a pair; the body of
//! each method comes from a *body macro* the caller names, which is called once per method as
//!
//! ```text
//! body!([state] self, plain KeyStore::backend())
//! body!([state] self, call KeyStore::key_info(ref key))
//! body!([state] self, call Signer::sign(ref key, copy algorithm, ref message))
//! body!([state] self, batch Signer::sign_many(ref key, copy algorithm, ref messages))
//! ```
//!
//! - `[state]`: whatever the caller passed after the body macro (a type, a field name), as is;
//! - `self`: the method's receiver (a body must use this token, not a `self` of its own, which
//!   would not resolve to the receiver: macro hygiene);
//! - the kind: `plain` for `backend` and `capabilities` (answered at once, nothing can fail),
//!   `call` for a method that returns a `Result` (or its future), `batch` for `sign_many` (one
//!   `Result` per message);
//! - the trait and method: the trait of this flavour that declares it;
//! - the arguments, each `ref name` (a reference, borrowed for the call) or `copy name` (a `Copy`
//!   value), named as in the trait.
//!
//! Adding a trait method means adding it here, in the trait's table
//! (`__blocking_method!`/`__async_method!`) and in the default list of its impl macro; every
//! forwarding impl then has it.

use std::future::Future;

use std::sync::Arc;

use crate::async_store::{AsyncKeyStore, AsyncSigner, BoxFuture};
use crate::store::{KeyStore, Signer};

/// One method of [`KeyStore`] or [`Signer`]: its signature, and a
/// body from the body macro (see [`impl_blocking_traits!`](crate::impl_blocking_traits)).
#[doc(hidden)]
#[macro_export]
macro_rules! __blocking_method {
    ([$($body:tt)+] $state:tt backend) => {
        fn backend(&self) -> &'static str {
            $($body)+!($state self, plain KeyStore::backend())
        }
    };
    ([$($body:tt)+] $state:tt capabilities) => {
        fn capabilities(&self) -> $crate::Capabilities {
            $($body)+!($state self, plain KeyStore::capabilities())
        }
    };
    ([$($body:tt)+] $state:tt list_keys) => {
        fn list_keys(&self) -> $crate::Result<::std::vec::Vec<$crate::KeyInfo>> {
            $($body)+!($state self, call KeyStore::list_keys())
        }
    };
    ([$($body:tt)+] $state:tt key_info) => {
        fn key_info(&self, key: &$crate::KeyId) -> $crate::Result<$crate::KeyInfo> {
            $($body)+!($state self, call KeyStore::key_info(ref key))
        }
    };
    ([$($body:tt)+] $state:tt generate_key) => {
        fn generate_key(&self, template: &$crate::KeyTemplate) -> $crate::Result<$crate::KeyInfo> {
            $($body)+!($state self, call KeyStore::generate_key(ref template))
        }
    };
    ([$($body:tt)+] $state:tt import_key) => {
        fn import_key(&self, request: &$crate::ImportRequest) -> $crate::Result<$crate::KeyInfo> {
            $($body)+!($state self, call KeyStore::import_key(ref request))
        }
    };
    ([$($body:tt)+] $state:tt delete_key) => {
        fn delete_key(&self, key: &$crate::KeyId) -> $crate::Result<()> {
            $($body)+!($state self, call KeyStore::delete_key(ref key))
        }
    };
    ([$($body:tt)+] $state:tt public_key) => {
        fn public_key(&self, key: &$crate::KeyId) -> $crate::Result<$crate::PublicKey> {
            $($body)+!($state self, call KeyStore::public_key(ref key))
        }
    };
    ([$($body:tt)+] $state:tt health) => {
        fn health(&self) -> $crate::Result<()> {
            $($body)+!($state self, call KeyStore::health())
        }
    };
    ([$($body:tt)+] $state:tt certificate) => {
        fn certificate(
            &self,
            key: &$crate::KeyId,
        ) -> $crate::Result<::std::option::Option<::std::vec::Vec<u8>>> {
            $($body)+!($state self, call KeyStore::certificate(ref key))
        }
    };
    ([$($body:tt)+] $state:tt store_certificate) => {
        fn store_certificate(&self, key: &$crate::KeyId, der: &[u8]) -> $crate::Result<()> {
            $($body)+!($state self, call KeyStore::store_certificate(ref key, ref der))
        }
    };
    ([$($body:tt)+] $state:tt delete_certificate) => {
        fn delete_certificate(&self, key: &$crate::KeyId) -> $crate::Result<()> {
            $($body)+!($state self, call KeyStore::delete_certificate(ref key))
        }
    };
    ([$($body:tt)+] $state:tt random) => {
        fn random(&self, len: usize) -> $crate::Result<::std::vec::Vec<u8>> {
            $($body)+!($state self, call KeyStore::random(copy len))
        }
    };
    ([$($body:tt)+] $state:tt sign) => {
        fn sign(
            &self,
            key: &$crate::KeyId,
            algorithm: $crate::SignAlgorithm,
            message: &[u8],
        ) -> $crate::Result<$crate::Signature> {
            $($body)+!($state self, call Signer::sign(ref key, copy algorithm, ref message))
        }
    };
    ([$($body:tt)+] $state:tt sign_digest) => {
        fn sign_digest(
            &self,
            key: &$crate::KeyId,
            algorithm: $crate::SignAlgorithm,
            digest: &[u8],
        ) -> $crate::Result<$crate::Signature> {
            $($body)+!($state self, call Signer::sign_digest(ref key, copy algorithm, ref digest))
        }
    };
    ([$($body:tt)+] $state:tt sign_many) => {
        fn sign_many(
            &self,
            key: &$crate::KeyId,
            algorithm: $crate::SignAlgorithm,
            messages: &[&[u8]],
        ) -> ::std::vec::Vec<$crate::Result<$crate::Signature>> {
            $($body)+!($state self, batch Signer::sign_many(ref key, copy algorithm, ref messages))
        }
    };
}

/// One method of [`AsyncKeyStore`] or [`AsyncSigner`]:
/// its signature, and a body from the body macro (see
/// [`impl_async_traits!`](crate::impl_async_traits)).
#[doc(hidden)]
#[macro_export]
macro_rules! __async_method {
    ([$($body:tt)+] $state:tt backend) => {
        fn backend(&self) -> &'static str {
            $($body)+!($state self, plain AsyncKeyStore::backend())
        }
    };
    ([$($body:tt)+] $state:tt capabilities) => {
        fn capabilities(&self) -> $crate::Capabilities {
            $($body)+!($state self, plain AsyncKeyStore::capabilities())
        }
    };
    ([$($body:tt)+] $state:tt list_keys) => {
        fn list_keys(
            &self,
        ) -> $crate::BoxFuture<'_, $crate::Result<::std::vec::Vec<$crate::KeyInfo>>> {
            $($body)+!($state self, call AsyncKeyStore::list_keys())
        }
    };
    ([$($body:tt)+] $state:tt key_info) => {
        fn key_info<'a>(
            &'a self,
            key: &'a $crate::KeyId,
        ) -> $crate::BoxFuture<'a, $crate::Result<$crate::KeyInfo>> {
            $($body)+!($state self, call AsyncKeyStore::key_info(ref key))
        }
    };
    ([$($body:tt)+] $state:tt generate_key) => {
        fn generate_key<'a>(
            &'a self,
            template: &'a $crate::KeyTemplate,
        ) -> $crate::BoxFuture<'a, $crate::Result<$crate::KeyInfo>> {
            $($body)+!($state self, call AsyncKeyStore::generate_key(ref template))
        }
    };
    ([$($body:tt)+] $state:tt import_key) => {
        fn import_key<'a>(
            &'a self,
            request: &'a $crate::ImportRequest,
        ) -> $crate::BoxFuture<'a, $crate::Result<$crate::KeyInfo>> {
            $($body)+!($state self, call AsyncKeyStore::import_key(ref request))
        }
    };
    ([$($body:tt)+] $state:tt delete_key) => {
        fn delete_key<'a>(
            &'a self,
            key: &'a $crate::KeyId,
        ) -> $crate::BoxFuture<'a, $crate::Result<()>> {
            $($body)+!($state self, call AsyncKeyStore::delete_key(ref key))
        }
    };
    ([$($body:tt)+] $state:tt public_key) => {
        fn public_key<'a>(
            &'a self,
            key: &'a $crate::KeyId,
        ) -> $crate::BoxFuture<'a, $crate::Result<$crate::PublicKey>> {
            $($body)+!($state self, call AsyncKeyStore::public_key(ref key))
        }
    };
    ([$($body:tt)+] $state:tt health) => {
        fn health(&self) -> $crate::BoxFuture<'_, $crate::Result<()>> {
            $($body)+!($state self, call AsyncKeyStore::health())
        }
    };
    ([$($body:tt)+] $state:tt certificate) => {
        fn certificate<'a>(
            &'a self,
            key: &'a $crate::KeyId,
        ) -> $crate::BoxFuture<'a, $crate::Result<::std::option::Option<::std::vec::Vec<u8>>>> {
            $($body)+!($state self, call AsyncKeyStore::certificate(ref key))
        }
    };
    ([$($body:tt)+] $state:tt store_certificate) => {
        fn store_certificate<'a>(
            &'a self,
            key: &'a $crate::KeyId,
            der: &'a [u8],
        ) -> $crate::BoxFuture<'a, $crate::Result<()>> {
            $($body)+!($state self, call AsyncKeyStore::store_certificate(ref key, ref der))
        }
    };
    ([$($body:tt)+] $state:tt delete_certificate) => {
        fn delete_certificate<'a>(
            &'a self,
            key: &'a $crate::KeyId,
        ) -> $crate::BoxFuture<'a, $crate::Result<()>> {
            $($body)+!($state self, call AsyncKeyStore::delete_certificate(ref key))
        }
    };
    ([$($body:tt)+] $state:tt random) => {
        fn random(&self, len: usize) -> $crate::BoxFuture<'_, $crate::Result<::std::vec::Vec<u8>>> {
            $($body)+!($state self, call AsyncKeyStore::random(copy len))
        }
    };
    ([$($body:tt)+] $state:tt sign) => {
        fn sign<'a>(
            &'a self,
            key: &'a $crate::KeyId,
            algorithm: $crate::SignAlgorithm,
            message: &'a [u8],
        ) -> $crate::BoxFuture<'a, $crate::Result<$crate::Signature>> {
            $($body)+!($state self, call AsyncSigner::sign(ref key, copy algorithm, ref message))
        }
    };
    ([$($body:tt)+] $state:tt sign_digest) => {
        fn sign_digest<'a>(
            &'a self,
            key: &'a $crate::KeyId,
            algorithm: $crate::SignAlgorithm,
            digest: &'a [u8],
        ) -> $crate::BoxFuture<'a, $crate::Result<$crate::Signature>> {
            $($body)+!(
                $state self, call AsyncSigner::sign_digest(ref key, copy algorithm, ref digest)
            )
        }
    };
    ([$($body:tt)+] $state:tt sign_many) => {
        fn sign_many<'a>(
            &'a self,
            key: &'a $crate::KeyId,
            algorithm: $crate::SignAlgorithm,
            messages: &'a [&'a [u8]],
        ) -> $crate::BoxFuture<'a, ::std::vec::Vec<$crate::Result<$crate::Signature>>> {
            $($body)+!(
                $state self, batch AsyncSigner::sign_many(ref key, copy algorithm, ref messages)
            )
        }
    };
}

/// Implements [`KeyStore`] and [`Signer`] for a type whose every
/// method is forwarded the same way, writing the method list once: the body of each method comes
/// from a body macro, called as `body!([state] self, kind Trait::method(ref arg, copy arg, ...))`
/// (see [the module](crate::forward) for each part).
///
/// Without method lists, every method of both traits is implemented; with them (`KeyStore for T
/// { list_keys, key_info, ... }`), only the listed ones, the others keeping the trait's default.
///
/// ```
/// use hsm_core::{KeyStore, Signer};
///
/// /// A backend behind a label, e.g. for a registry of named backends.
/// #[derive(Debug)]
/// struct Labelled<H> {
///     label: &'static str,
///     hsm: H,
/// }
///
/// // Each method calls the same method on the `hsm` field.
/// macro_rules! to_field {
///     (
///         [$field:ident] $this:tt,
///         $kind:ident $trait:ident :: $method:ident($($mode:tt $arg:ident),*)
///     ) => {
///         $trait::$method(&$this.$field, $($arg),*)
///     };
/// }
///
/// hsm_core::impl_blocking_traits! {
///     impl[H: KeyStore] KeyStore for Labelled<H>;
///     impl[H: Signer] Signer for Labelled<H>;
///     with [to_field] [hsm]
/// }
///
/// # #[cfg(feature = "mock")] {
/// let labelled = Labelled { label: "test", hsm: hsm_core::mock::MockHsm::new() };
/// assert_eq!(labelled.backend(), "mock");
/// assert_eq!(labelled.label, "test");
/// # }
/// ```
#[macro_export]
macro_rules! impl_blocking_traits {
    ($($input:tt)*) => {
        $crate::__impl_trait_pair!(__blocking_method $($input)*);
    };
}

/// Implements [`AsyncKeyStore`] and [`AsyncSigner`] for
/// a type whose every method is forwarded the same way, writing the method list once: the async
/// twin of [`impl_blocking_traits!`](crate::impl_blocking_traits), with the same input (the
/// traits named `AsyncKeyStore` and `AsyncSigner`). A `call` or `batch` body returns the
/// method's [`BoxFuture`](crate::BoxFuture); a `plain` one its value.
#[macro_export]
macro_rules! impl_async_traits {
    ($($input:tt)*) => {
        $crate::__impl_trait_pair!(__async_method $($input)*);
    };
}

/// The two impls of a trait pair, each method from the pair's table (`__blocking_method!` or
/// `__async_method!`): [`impl_blocking_traits!`] and [`impl_async_traits!`]. Without method
/// lists, every method of both traits.
#[doc(hidden)]
#[macro_export]
macro_rules! __impl_trait_pair {
    (
        $table:ident
        impl[$($store_generics:tt)*] $store_trait:ident for $store:ty;
        impl[$($signer_generics:tt)*] $signer_trait:ident for $signer:ty;
        with $body:tt $state:tt $(;)?
    ) => {
        $crate::__impl_trait_pair! {
            $table
            impl[$($store_generics)*] $store_trait for $store {
                backend, capabilities, list_keys, key_info, generate_key, import_key, delete_key,
                public_key, health, certificate, store_certificate, delete_certificate, random,
            }
            impl[$($signer_generics)*] $signer_trait for $signer { sign, sign_digest, sign_many }
            with $body $state
        }
    };
    (
        $table:ident
        impl[$($store_generics:tt)*] $store_trait:ident for $store:ty {
            $($store_method:ident),* $(,)?
        }
        impl[$($signer_generics:tt)*] $signer_trait:ident for $signer:ty {
            $($signer_method:ident),* $(,)?
        }
        with $body:tt $state:tt $(;)?
    ) => {
        impl<$($store_generics)*> $crate::$store_trait for $store {
            $($crate::$table!($body $state $store_method);)*
        }
        impl<$($signer_generics)*> $crate::$signer_trait for $signer {
            $($crate::$table!($body $state $signer_method);)*
        }
    };
}

/// Implements [`AsyncKeyStore`] and [`AsyncSigner`] for
/// a backend type by delegating every method to the type's inherent method of the same name
/// (`async fn list_keys(&self) -> Result<Vec<KeyInfo>>`, ...); `backend()` answers the given name.
///
/// The inherent methods take the trait method's arguments and are `async fn`s (or return a `Send`
/// future borrowing them) with the trait's output; `capabilities` is a plain
/// `fn capabilities(&self) -> Capabilities`:
///
/// ```text
/// fn capabilities(&self) -> Capabilities
/// async fn list_keys(&self) -> Result<Vec<KeyInfo>>
/// async fn key_info(&self, key: &KeyId) -> Result<KeyInfo>
/// async fn generate_key(&self, template: &KeyTemplate) -> Result<KeyInfo>
/// async fn import_key(&self, request: &ImportRequest) -> Result<KeyInfo>
/// async fn delete_key(&self, key: &KeyId) -> Result<()>
/// async fn public_key(&self, key: &KeyId) -> Result<PublicKey>
/// async fn health(&self) -> Result<()>
/// async fn certificate(&self, key: &KeyId) -> Result<Option<Vec<u8>>>
/// async fn store_certificate(&self, key: &KeyId, der: &[u8]) -> Result<()>
/// async fn delete_certificate(&self, key: &KeyId) -> Result<()>
/// async fn random(&self, len: usize) -> Result<Vec<u8>>
/// async fn sign(&self, key: &KeyId, algorithm: SignAlgorithm, message: &[u8]) -> Result<Signature>
/// async fn sign_digest(&self, key: &KeyId, algorithm: SignAlgorithm, digest: &[u8])
///     -> Result<Signature>
/// async fn sign_many(&self, key: &KeyId, algorithm: SignAlgorithm, messages: &[&[u8]])
///     -> Vec<Result<Signature>>
/// ```
///
/// A type that has only some of the methods that have a trait default (`import_key`,
/// `delete_key`, `health`, the certificate methods, `random`, `sign_many`) lists the methods to
/// delegate; the others keep the trait's default (which refuses, or for `health` and
/// `sign_many`, is built on the other methods). A listed async method with no inherent twin is a
/// compile error that names `InherentAsyncMethodMissing` (without the check, the call would
/// resolve to the trait method itself and call itself for ever); `capabilities`, which returns
/// the same type either way, cannot be checked: the type must have it.
///
/// ```
/// use hsm_core::{
///     AsyncSigner, Capabilities, KeyId, KeyInfo, KeyTemplate, PublicKey, Result,
///     SignAlgorithm, Signature,
/// };
///
/// /// A device that answers every call with "unavailable".
/// #[derive(Debug)]
/// struct Offline;
///
/// fn offline<T>(operation: &'static str) -> Result<T> {
///     Err(hsm_core::Error::new(hsm_core::ErrorKind::Unavailable, operation))
/// }
///
/// impl Offline {
///     fn capabilities(&self) -> Capabilities {
///         Capabilities::new(Vec::new(), Vec::new())
///     }
///     async fn list_keys(&self) -> Result<Vec<KeyInfo>> {
///         offline("offline.list_keys")
///     }
///     async fn key_info(&self, _key: &KeyId) -> Result<KeyInfo> {
///         offline("offline.key_info")
///     }
///     async fn generate_key(&self, _template: &KeyTemplate) -> Result<KeyInfo> {
///         offline("offline.generate_key")
///     }
///     async fn public_key(&self, _key: &KeyId) -> Result<PublicKey> {
///         offline("offline.public_key")
///     }
///     async fn sign(&self, _: &KeyId, _: SignAlgorithm, _: &[u8]) -> Result<Signature> {
///         offline("offline.sign")
///     }
///     async fn sign_digest(&self, _: &KeyId, _: SignAlgorithm, _: &[u8]) -> Result<Signature> {
///         offline("offline.sign_digest")
///     }
/// }
///
/// // Every method: `hsm_core::async_traits_from_inherent!(Offline, "offline");`. This type has
/// // none of the methods with a default, so it lists the methods it has:
/// hsm_core::async_traits_from_inherent!(Offline, "offline", {
///     AsyncKeyStore: capabilities, list_keys, key_info, generate_key, public_key;
///     AsyncSigner: sign, sign_digest;
/// });
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let signer: &dyn AsyncSigner = &Offline;
/// let key: KeyId = "k".parse().unwrap();
/// let error = signer.sign(&key, SignAlgorithm::Ed25519, b"m").await.unwrap_err();
/// assert_eq!(error.kind(), hsm_core::ErrorKind::Unavailable);
/// assert_eq!(error.operation(), "offline.sign");
/// # });
/// ```
///
/// Listing `health` for a type without an inherent `health` does not compile:
///
/// ```compile_fail
/// # use hsm_core::{Capabilities, KeyId, KeyInfo, KeyTemplate, PublicKey, Result};
/// # use hsm_core::{SignAlgorithm, Signature};
/// #[derive(Debug)]
/// struct NoHealth;
///
/// impl NoHealth {
///     fn capabilities(&self) -> Capabilities {
///         Capabilities::new(Vec::new(), Vec::new())
///     }
///     async fn list_keys(&self) -> Result<Vec<KeyInfo>> {
///         Ok(Vec::new())
///     }
/// #   async fn key_info(&self, key: &KeyId) -> Result<KeyInfo> { todo!() }
/// #   async fn generate_key(&self, t: &KeyTemplate) -> Result<KeyInfo> { todo!() }
/// #   async fn public_key(&self, _: &KeyId) -> Result<PublicKey> { todo!() }
/// #   async fn sign(&self, _: &KeyId, _: SignAlgorithm, _: &[u8]) -> Result<Signature> { todo!() }
/// #   async fn sign_digest(&self, _: &KeyId, _: SignAlgorithm, _: &[u8]) -> Result<Signature> {
/// #       todo!()
/// #   }
///     // ... the other required methods
/// }
///
/// hsm_core::async_traits_from_inherent!(NoHealth, "no-health", {
///     AsyncKeyStore: capabilities, list_keys, key_info, generate_key, public_key, health;
///     AsyncSigner: sign, sign_digest;
/// });
/// ```
#[macro_export]
macro_rules! async_traits_from_inherent {
    ($backend:ty, $name:literal $(,)?) => {
        $crate::async_traits_from_inherent!($backend, $name, {
            AsyncKeyStore: capabilities, list_keys, key_info, generate_key, import_key,
                delete_key, public_key, health, certificate, store_certificate,
                delete_certificate, random;
            AsyncSigner: sign, sign_digest, sign_many;
        });
    };
    (
        $backend:ty, $name:literal, {
            AsyncKeyStore: $($store_method:ident),* $(,)?;
            AsyncSigner: $($signer_method:ident),* $(,)?;
        } $(,)?
    ) => {
        $crate::impl_async_traits! {
            impl[] AsyncKeyStore for $backend { backend, $($store_method),* }
            impl[] AsyncSigner for $backend { $($signer_method),* }
            with [$crate::__inherent_async_body] [$backend, $name]
        }
    };
}

/// The body macro of [`async_traits_from_inherent!`]: the inherent method's future, boxed.
#[doc(hidden)]
#[macro_export]
macro_rules! __inherent_async_body {
    ([$backend:ty, $name:literal] $this:tt, plain $trait:ident :: backend()) => {
        $name
    };
    ([$backend:ty, $name:literal] $this:tt, plain $trait:ident :: $method:ident()) => {
        <$backend>::$method($this)
    };
    (
        [$backend:ty, $name:literal] $this:tt,
        $kind:ident $trait:ident :: $method:ident($($mode:tt $arg:ident),*)
    ) => {
        ::std::boxed::Box::pin({
            use $crate::forward::InherentFuture as _;
            $crate::forward::InherentProbe(<$backend>::$method($this, $($arg),*)).future()
        })
    };
}

/// Holds the future `<Backend>::method(..)` returned in
/// [`async_traits_from_inherent!`](crate::async_traits_from_inherent), to tell an inherent
/// method's future from the trait method's own [`BoxFuture`]: inside a trait impl, a type with no
/// inherent method of that name resolves `<Backend>::method` to the trait method being defined,
/// which would call itself for ever. `.future()` gives the inherent method's future back, and
/// for a `BoxFuture` gives [`InherentAsyncMethodMissing`] instead, which is no future: a compile
/// error that names the problem.
#[doc(hidden)]
#[derive(Debug)]
pub struct InherentProbe<F>(pub F);

/// What `.future()` gives for a trait method's own future: the backend type has no inherent
/// async method of that name (see [`InherentProbe`]).
#[doc(hidden)]
#[derive(Debug)]
pub struct InherentAsyncMethodMissing;

impl<'a, T> InherentProbe<BoxFuture<'a, T>> {
    /// Chosen over [`InherentFuture::future`] (inherent methods come first) when the future is a
    /// [`BoxFuture`]: the trait method's own.
    pub fn future(self) -> InherentAsyncMethodMissing {
        InherentAsyncMethodMissing
    }
}

/// Gives back the inherent method's future (see [`InherentProbe`]).
#[doc(hidden)]
pub trait InherentFuture {
    /// The future.
    type Future;

    /// The future held.
    fn future(self) -> Self::Future;
}

impl<F: Future> InherentFuture for InherentProbe<F> {
    type Future = F;

    fn future(self) -> F {
        self.0
    }
}

/// The body macro of the pointer impls (`Arc<T>`, `Box<T>`, `&T`): the same method on the
/// pointee.
macro_rules! to_pointee {
    ([] $this:tt, $kind:ident $trait:ident :: $method:ident($($mode:tt $arg:ident),*)) => {
        (**$this).$method($($arg),*)
    };
}
pub(crate) use to_pointee;

/// The pointer impls of a trait pair: `Arc<T>`, `Box<T>` and `&T` forward every method to `T`.
macro_rules! pointer_impls {
    ($impl_traits:ident! $store:ident + $signer:ident for $($pointer:ty),*) => {$(
        crate::$impl_traits! {
            impl[T: $store + ?Sized] $store for $pointer;
            impl[T: $signer + ?Sized] $signer for $pointer;
            with [crate::forward::to_pointee] []
        }
    )*};
}

// Shared ownership: `Arc<dyn Hsm>`, `Box<dyn Hsm>` and `&dyn Hsm` (and their async twins) are
// backends themselves, so code generic over the traits takes them as they are.
pointer_impls!(impl_blocking_traits! KeyStore + Signer for Arc<T>, Box<T>, &T);
pointer_impls!(impl_async_traits! AsyncKeyStore + AsyncSigner for Arc<T>, Box<T>, &T);
