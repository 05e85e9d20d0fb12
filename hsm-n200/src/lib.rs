#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod backend;
mod client;
pub mod open;
pub mod protocol;
#[cfg(feature = "sim")]
pub mod sim;
mod transport;

pub use crate::backend::AsyncN200;
pub use crate::backend::blocking::N200;
pub use crate::client::get_api::GetApi;
pub use crate::client::post_api::DEFAULT_ACL;
pub use crate::client::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_IN_FLIGHT, DEFAULT_RETRIES, DEFAULT_TIMEOUT, N200Client,
    N200ClientBuilder,
};
pub use crate::open::{open, open_async, open_async_with, open_with};
pub use crate::protocol::commands::{Command, CommandTable};
pub use crate::protocol::labels::{KeyIdent, Pkcs11KeyUri};
pub use crate::protocol::raw::RawResponse;
pub use crate::transport::http::MAX_RESPONSE_BYTES;
