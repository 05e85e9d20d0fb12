#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod backend;
mod client;
mod open;
pub mod protocol;
#[cfg(feature = "sim")]
pub mod sim;
mod transport;

pub use crate::backend::{
    DEFAULT_MAX_SESSIONS, DEFAULT_SIGN_MANY_THREADS, Options, Pkcs11Hsm, TokenSummary,
};
pub use crate::open::open_with;
pub use crate::protocol::attributes::ObjectKind;
pub use crate::protocol::mechanisms::Mechanisms;
pub use crate::protocol::uri::{ObjectType, PinSource, Pkcs11Uri};
pub use crate::transport::module::finalize;
/// The `cryptoki` this crate is built on, for raw PKCS#11 calls next to the backend (tools,
/// the benchmark that measures this crate's overhead).
pub use cryptoki;
