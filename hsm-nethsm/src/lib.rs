#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod backend;
mod cipher;
pub mod client;
mod key_ids;
mod mapping;
mod open;
#[cfg(feature = "sim")]
pub mod sim;

pub use crate::backend::NetHsm;
pub use crate::cipher::Sealed;
pub use crate::client::{
    Credentials, MAX_RESPONSE_BYTES, NetHsmClient, NetHsmClientBuilder, RetryPolicy,
};
