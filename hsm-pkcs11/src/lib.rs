#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

mod backend;
mod error;
mod import;
mod keys;
mod many;
pub mod mechanisms;
pub mod module;
pub mod objects;
mod pool;
mod sign;
#[cfg(feature = "sim")]
pub mod sim;
mod token;
pub mod uri;

pub use crate::backend::{
    DEFAULT_MAX_SESSIONS, DEFAULT_SIGN_MANY_THREADS, Options, Pkcs11Hsm, TokenSummary,
};
pub use crate::module::finalize;
pub use crate::objects::ObjectKind;
pub use crate::uri::Pkcs11Uri;
/// The `cryptoki` this crate is built on, for raw PKCS#11 calls next to the backend (tools,
/// the benchmark that measures this crate's overhead).
pub use cryptoki;
