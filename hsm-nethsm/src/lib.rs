#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod backend;
pub mod client;
mod open;
pub mod protocol;
#[cfg(feature = "sim")]
pub mod sim;
mod transport;

pub use crate::backend::blocking::NetHsm;
pub use crate::backend::cipher::Sealed;
pub use crate::backend::{AsyncNetHsm, DEFAULT_MAX_IN_FLIGHT};
pub use crate::client::{
    Credentials, MAX_RESPONSE_BYTES, NetHsmClient, NetHsmClientBuilder, RetryPolicy,
};
pub use crate::open::{open, open_async, open_async_with, open_with};
