//! The sign pipeline every backend shares, written once: `sign` and `sign_digest` build a
//! [`SignRequest`](crate::SignRequest) from the caller's message or digest
//! ([`SignRequest::message`](crate::SignRequest::message) with the backend's longest message,
//! [`SignRequest::digest`](crate::SignRequest::digest)), named `<backend>.sign` and
//! `<backend>.sign_digest`, and hand it to the one step the backend supplies: "sign this request
//! with this key". [`sign_pipeline!`](macro@crate::sign_pipeline) writes those two methods, as
//! the [`Signer`](crate::Signer) impl of a blocking backend or as the inherent `async fn`s of an
//! async one (which [`async_traits_from_inherent!`](crate::async_traits_from_inherent) then
//! forwards the [`AsyncSigner`](crate::AsyncSigner) methods to).

/// Writes `sign` and `sign_digest` from a backend's "sign this request with this key" step (see
/// the [module docs](mod@crate::sign_pipeline)).
///
/// The backend gives:
///
/// - the attributes (docs, `#[tracing::instrument]`, ...) of each method, written before
///   `fn sign;` and `fn sign_digest;` (async backends: `pub async fn sign;`, any visibility);
/// - `operations`: the prefix of the operation names (a string literal): the requests and their
///   errors are named `<prefix>.sign` and `<prefix>.sign_digest`;
/// - `max_message_len: |backend| expr`: the longest message `sign` accepts;
/// - `sign_request: |backend, key, algorithm, request, operation| expr`: the step that signs.
///   `request` is the `Result<SignRequest>` the pipeline built (so the step may trace or count
///   a refused request before it answers its error, with `request?`), `operation` the
///   `&'static str` name above, `key` the `&KeyId` and `algorithm` the `SignAlgorithm` of the
///   call. The expression is the method's body: it returns `Result<Signature>`, may use `?`
///   and, in an async method, `.await`. Parameters it does not use need no underscore.
///
/// Optionally `sign_many` too, declared after `sign_digest` (`fn sign_many;`, or
/// `pub async fn sign_many;`, with its attributes) and given its step last:
/// `sign_many: |backend, key, algorithm, messages, operation| expr`, where `messages` is the
/// `&[&[u8]]` of the call, `operation` is `<prefix>.sign_many` and the expression answers the
/// `Vec<Result<Signature>>` (one result per message, in order). A declaration without its step,
/// or a step without its declaration, is a compile error. Without it, a blocking backend keeps
/// [`Signer::sign_many`](crate::Signer::sign_many)'s default.
///
/// A blocking impl may carry more items after the pipeline; they go into the same `impl Signer`
/// block.
///
/// ```
/// use hsm_core::{KeyId, Result, SignRequest, Signature};
///
/// /// A backend that signs nothing, to show the shape.
/// #[derive(Debug)]
/// struct Refusing;
///
/// impl Refusing {
///     fn sign_checked(&self, key: &KeyId, request: &SignRequest) -> Result<Signature> {
///         Err(hsm_core::Error::not_found(request.operation(), format!("no key {key}")))
///     }
/// }
///
/// hsm_core::sign_pipeline! {
///     impl Signer for Refusing {
///         fn sign;
///         fn sign_digest;
///         operations: "refusing",
///         max_message_len: |hsm| 1024,
///         sign_request: |hsm, key, algorithm, request, operation| {
///             hsm.sign_checked(key, &request?)
///         },
///     }
///     // Items after the pipeline (here none) go into the same `impl Signer`.
/// }
///
/// use hsm_core::{ErrorKind, SignAlgorithm, Signer as _};
/// let key: KeyId = "k".parse()?;
/// let refused = Refusing.sign(&key, SignAlgorithm::EcdsaSha256, b"hi").unwrap_err();
/// assert_eq!((refused.kind(), refused.operation()), (ErrorKind::NotFound, "refusing.sign"));
/// let digest = Refusing.sign_digest(&key, SignAlgorithm::EcdsaSha256, &[1; 3]).unwrap_err();
/// assert_eq!(
///     (digest.kind(), digest.operation()),
///     (ErrorKind::InvalidInput, "refusing.sign_digest")
/// );
/// # Ok::<(), hsm_core::Error>(())
/// ```
///
/// With `sign_many` (here a batch that answers each message with its length in a refusal):
///
/// ```
/// # use hsm_core::{ErrorKind, KeyId, SignAlgorithm, Signer as _};
/// # #[derive(Debug)]
/// # struct Batched;
/// hsm_core::sign_pipeline! {
///     impl Signer for Batched {
///         fn sign;
///         fn sign_digest;
///         /// Refuses every message, naming its length.
///         fn sign_many;
///         operations: "batched",
///         max_message_len: |hsm| 1024,
///         sign_request: |hsm, key, algorithm, request, operation| {
///             Err(hsm_core::Error::unsupported(operation, "one at a time"))
///         },
///         sign_many: |hsm, key, algorithm, messages, operation| {
///             let refuse = |m: &&[u8]| hsm_core::Error::unsupported(operation, m.len().to_string());
///             messages.iter().map(|m| Err(refuse(m))).collect()
///         },
///     }
/// }
///
/// let key: KeyId = "k".parse()?;
/// let results = Batched.sign_many(&key, SignAlgorithm::EcdsaSha256, &[b"a", b"bcd"]);
/// let refusals: Vec<_> = results.into_iter().map(Result::unwrap_err).collect();
/// assert_eq!(refusals.len(), 2);
/// assert!(refusals.iter().all(|e| e.operation() == "batched.sign_many"));
/// assert!(refusals[1].to_string().contains('3'), "{}", refusals[1]);
/// # Ok::<(), hsm_core::Error>(())
/// ```
///
/// A `sign_many` declared without its step (or the other way round) does not build:
///
/// ```compile_fail
/// # #[derive(Debug)]
/// # struct Batched;
/// hsm_core::sign_pipeline! {
///     impl Signer for Batched {
///         fn sign;
///         fn sign_digest;
///         fn sign_many;
///         operations: "batched",
///         max_message_len: |hsm| 1024,
///         sign_request: |hsm, key, algorithm, request, operation| {
///             Err(hsm_core::Error::unsupported(operation, "one at a time"))
///         },
///     }
/// }
/// ```
///
/// The async form writes inherent methods (the type's other methods stay in their own `impl`):
///
/// ```
/// # use hsm_core::{KeyId, Result, SignAlgorithm, SignRequest, Signature};
/// # #[derive(Debug)]
/// # struct AsyncRefusing;
/// # impl AsyncRefusing {
/// #     async fn send(&self, _: SignAlgorithm, request: SignRequest) -> Result<Signature> {
/// #         Err(hsm_core::Error::unsupported(request.operation(), "nothing"))
/// #     }
/// # }
/// hsm_core::sign_pipeline! {
///     impl AsyncRefusing {
///         /// Signs a message.
///         pub async fn sign;
///         /// Signs a digest the caller computed.
///         pub async fn sign_digest;
///         operations: "refusing",
///         max_message_len: |hsm| 1024,
///         sign_request: |hsm, key, algorithm, request, operation| {
///             hsm.send(algorithm, request?).await
///         },
///     }
/// }
/// ```
#[macro_export]
macro_rules! sign_pipeline {
    (
        impl Signer for $type:ty {
            $(#[$sign_attr:meta])*
            fn sign;
            $(#[$digest_attr:meta])*
            fn sign_digest;
            $($(#[$many_attr:meta])* fn sign_many;)?
            operations: $($pipeline:tt)*
        }
        $($items:tt)*
    ) => {
        impl $crate::Signer for $type {
            $crate::__sign_methods! {
                sign: [$(#[$sign_attr])*] [],
                sign_digest: [$(#[$digest_attr])*] [],
                sign_many: [$([$(#[$many_attr])*] [])?],
                operations: $($pipeline)*
            }

            $($items)*
        }
    };
    (
        impl $type:ty {
            $(#[$sign_attr:meta])*
            $sign_vis:vis async fn sign;
            $(#[$digest_attr:meta])*
            $digest_vis:vis async fn sign_digest;
            $($rest:tt)*
        }
    ) => {
        impl $type {
            $crate::sign_pipeline! {
                @with_sign_many [
                    sign: [$(#[$sign_attr])*] [$sign_vis async],
                    sign_digest: [$(#[$digest_attr])*] [$digest_vis async],
                ]
                $($rest)*
            }
        }
    };
    // The async methods, then an optional `sign_many` (its optional visibility next to
    // `operations` would be ambiguous in one pattern, hence these two arms).
    (@with_sign_many [$($methods:tt)*] operations: $($pipeline:tt)*) => {
        $crate::__sign_methods! { $($methods)* sign_many: [], operations: $($pipeline)* }
    };
    (
        @with_sign_many [$($methods:tt)*]
        $(#[$many_attr:meta])*
        $many_vis:vis async fn sign_many;
        operations: $($pipeline:tt)*
    ) => {
        $crate::__sign_methods! {
            $($methods)*
            sign_many: [[$(#[$many_attr])*] [$many_vis async]],
            operations: $($pipeline)*
        }
    };
}

/// The two methods of [`sign_pipeline!`](macro@crate::sign_pipeline), each with its attributes
/// and qualifiers (`pub async`, or none in a trait impl) in brackets: the same method twice, with
/// the request `sign` builds (a message, within the backend's longest) and the one `sign_digest`
/// builds.
#[doc(hidden)]
#[macro_export]
macro_rules! __sign_methods {
    (
        sign: [$($sign_attr:tt)*] [$($sign_qualifier:tt)*],
        sign_digest: [$($digest_attr:tt)*] [$($digest_qualifier:tt)*],
        sign_many: [$($many_header:tt)*],
        operations: $prefix:literal,
        max_message_len: |$max_this:ident| $max:expr,
        sign_request: |$this:ident, $key:ident, $algorithm:ident, $request:ident,
            $operation:ident| $step:expr
        $(, sign_many: |$many_this:ident, $many_key:ident, $many_algorithm:ident,
            $messages:ident, $many_operation:ident| $many_step:expr)? $(,)?
    ) => {
        $crate::__sign_method! {
            [$($sign_attr)*] [$($sign_qualifier)*] fn sign(message) as concat!($prefix, ".sign"),
            request: |backend, algorithm, message, operation| {
                #[allow(unused_variables)]
                let $max_this = backend;
                $crate::SignRequest::message(algorithm, message, $max, operation)
            },
            step: |$this, $key, $algorithm, $request, $operation| $step
        }

        $crate::__sign_method! {
            [$($digest_attr)*] [$($digest_qualifier)*] fn sign_digest(digest)
                as concat!($prefix, ".sign_digest"),
            request: |backend, algorithm, digest, operation| {
                $crate::SignRequest::digest(algorithm, digest, operation)
            },
            step: |$this, $key, $algorithm, $request, $operation| $step
        }

        $crate::__sign_many_method! {
            [$($many_header)*] as concat!($prefix, ".sign_many"),
            [$(|$many_this, $many_key, $many_algorithm, $messages, $many_operation| $many_step)?]
        }
    };
}

/// The optional `sign_many` of [`sign_pipeline!`](macro@crate::sign_pipeline): written when
/// both its declaration (attributes and qualifiers in brackets) and its step are given, nothing
/// when neither is, a compile error when only one is.
#[doc(hidden)]
#[macro_export]
macro_rules! __sign_many_method {
    ([] as $operation_name:expr, []) => {};
    (
        [[$($attr:tt)*] [$($qualifier:tt)*]] as $operation_name:expr,
        [|$this:ident, $key:ident, $algorithm:ident, $messages:ident, $operation:ident|
            $step:expr]
    ) => {
        $($attr)*
        $($qualifier)* fn sign_many(
            &self,
            key: &$crate::KeyId,
            algorithm: $crate::SignAlgorithm,
            messages: &[&[u8]],
        ) -> ::std::vec::Vec<$crate::Result<$crate::Signature>> {
            const OPERATION: &str = $operation_name;
            $crate::__sign_step!(self, key, algorithm, messages, OPERATION;
                |$this, $key, $algorithm, $messages, $operation| $step)
        }
    };
    ([$($header:tt)*] as $operation_name:expr, [$($step:tt)*]) => {
        ::core::compile_error!(
            "sign_pipeline!: `fn sign_many;` and `sign_many: |..| ..` go together (give both or neither)"
        );
    };
}

/// One method of [`sign_pipeline!`](macro@crate::sign_pipeline): `$name(&self, key, algorithm,
/// $input: &[u8])`, which builds its request with the `request` expression (given the backend,
/// the algorithm, the input and the operation name) and answers the backend's step.
#[doc(hidden)]
#[macro_export]
macro_rules! __sign_method {
    (
        [$($attr:tt)*] [$($qualifier:tt)*] fn $name:ident($input:ident) as $operation_name:expr,
        request: |$backend:ident, $request_algorithm:ident, $request_input:ident,
            $request_operation:ident| $build:expr,
        step: |$this:ident, $key:ident, $algorithm:ident, $request:ident, $operation:ident|
            $step:expr
    ) => {
        $($attr)*
        $($qualifier)* fn $name(
            &self,
            key: &$crate::KeyId,
            algorithm: $crate::SignAlgorithm,
            $input: &[u8],
        ) -> $crate::Result<$crate::Signature> {
            const OPERATION: &str = $operation_name;
            let request = $crate::__sign_step!(self, algorithm, $input, OPERATION;
                |$backend, $request_algorithm, $request_input, $request_operation| $build);
            $crate::__sign_step!(self, key, algorithm, request, OPERATION;
                |$this, $key, $algorithm, $request, $operation| $step)
        }
    };
}

/// A step of [`sign_pipeline!`](macro@crate::sign_pipeline) (building the request, signing
/// it): binds the method's values to the names the backend chose, then evaluates its expression.
#[doc(hidden)]
#[macro_export]
macro_rules! __sign_step {
    ($($value:ident),+; |$($name:ident),+| $step:expr) => {{
        #[allow(unused_variables)]
        let ($($name),+) = ($($value),+);
        $step
    }};
}
