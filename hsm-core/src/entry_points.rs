//! The URI entry points every backend crate offers, written once:
//! [`uri_entry_points!`](crate::uri_entry_points) writes the crate-level `open(uri)` and
//! `open_with(uri, options)` (and, for a backend with an async type, `open_async(uri)` and
//! `open_async_with(uri, options)`) from the backend types' own constructors, so every backend
//! answers the same entry points with the same docs, by construction.

/// Writes a backend crate's URI entry points, each parsing the URI string
/// ([`BackendUri::parse`](crate::uri::BackendUri::parse)) and handing it to the backend type's
/// constructor of the same name:
///
/// | entry point | calls |
/// |---|---|
/// | `pub fn open(uri: &str) -> Result<Blocking>` | `Blocking::open(BackendUri)` |
/// | `pub fn open_with(uri: &str, options: OpenOptions) -> Result<Blocking>` | `Blocking::open_with(BackendUri, OpenOptions)` |
/// | `pub fn open_async(uri: &str) -> Result<Async>` | `Async::open(BackendUri)` |
/// | `pub fn open_async_with(uri: &str, options: OpenOptions) -> Result<Async>` | `Async::open_with(BackendUri, OpenOptions)` |
///
/// The two async ones only with `async Async` in the invocation. The first argument names the
/// device in the docs (`"NetHSM"`: "Opens the NetHSM `uri` names, ..."); the types must be in
/// scope where the macro is invoked (usually the crate's `open` module) and their docs are
/// linked from the entry points' docs. A URI that does not parse is
/// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput), from the parser.
///
/// ```
/// mod open {
///     use hsm_core::uri::BackendUri;
///     use hsm_core::{OpenOptions, Result};
///
///     /// A backend that remembers the scheme it was opened with.
///     #[derive(Debug)]
///     pub struct Toy(pub String);
///
///     impl Toy {
///         /// Opens a toy.
///         ///
///         /// # Errors
///         /// Never.
///         pub fn open(uri: BackendUri) -> Result<Self> {
///             Self::open_with(uri, OpenOptions::new())
///         }
///
///         /// Opens a toy with options.
///         ///
///         /// # Errors
///         /// Never.
///         pub fn open_with(uri: BackendUri, _options: OpenOptions) -> Result<Self> {
///             Ok(Self(uri.scheme))
///         }
///     }
///
///     hsm_core::uri_entry_points!("toy device": blocking Toy);
/// }
///
/// assert_eq!(open::open("toy:")?.0, "toy");
/// let refused = open::open_with("no scheme", hsm_core::OpenOptions::new()).unwrap_err();
/// assert_eq!(refused.kind(), hsm_core::ErrorKind::InvalidInput);
/// # Ok::<(), hsm_core::Error>(())
/// ```
///
/// With an async type too: `hsm_core::uri_entry_points!("NetHSM": blocking NetHsm, async
/// AsyncNetHsm);`.
#[macro_export]
macro_rules! uri_entry_points {
    ($device:literal: blocking $blocking:ident, async $async_type:ident) => {
        $crate::uri_entry_points!($device: blocking $blocking);
        $crate::__uri_entry_point_pair! {
            $async_type,
            open_async: concat!("Opens the ", $device, " `uri` names for async code ([`",
                stringify!($async_type), "::open`]): no runtime is started."),
            concat!("As [`", stringify!($async_type), "::open`]."),
            open_async_with: concat!("Opens the ", $device, " `uri` names with `options`, for ",
                "async code ([`", stringify!($async_type), "::open_with`])."),
            concat!("As [`", stringify!($async_type), "::open_with`]."),
        }
    };
    ($device:literal: blocking $blocking:ident) => {
        $crate::__uri_entry_point_pair! {
            $blocking,
            open: concat!("Opens the ", $device, " `uri` names, blocking ([`",
                stringify!($blocking), "::open`])."),
            concat!("As [`", stringify!($blocking), "::open`], and ",
                "[`ErrorKind::InvalidInput`](hsm_core::ErrorKind::InvalidInput) for a URI that ",
                "does not parse."),
            open_with: concat!("Opens the ", $device, " `uri` names with `options` given in ",
                "code ([`OpenOptions`](hsm_core::OpenOptions): credential, timeouts, retries, ",
                "calls in flight), blocking ([`", stringify!($blocking), "::open_with`])."),
            concat!("As [`", stringify!($blocking), "::open_with`]."),
        }
    };
}

/// Two entry points of [`uri_entry_points!`](crate::uri_entry_points) opening `$type`: one
/// without options (calls `$type::open`), one with (calls `$type::open_with`), each with its
/// summary and its errors line.
#[doc(hidden)]
#[macro_export]
macro_rules! __uri_entry_point_pair {
    (
        $type:ident,
        $open:ident: $open_doc:expr, $open_errors:expr,
        $open_with:ident: $open_with_doc:expr, $open_with_errors:expr $(,)?
    ) => {
        #[doc = $open_doc]
        ///
        /// # Errors
        #[doc = $open_errors]
        pub fn $open(uri: &str) -> $crate::Result<$type> {
            $type::open($crate::uri::BackendUri::parse(uri)?)
        }

        #[doc = $open_with_doc]
        ///
        /// # Errors
        #[doc = $open_with_errors]
        pub fn $open_with(uri: &str, options: $crate::OpenOptions) -> $crate::Result<$type> {
            $type::open_with($crate::uri::BackendUri::parse(uri)?, options)
        }
    };
}
