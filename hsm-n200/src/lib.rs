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
mod blocking;
mod client;
pub mod commands;
mod get_api;
mod http;
pub mod keytypes;
pub mod labels;
pub mod model;
pub mod open;
pub mod parse;
mod post_api;
mod raw;
pub mod sigformat;
#[cfg(feature = "sim")]
pub mod sim;

pub use crate::backend::AsyncN200;
pub use crate::blocking::N200;
pub use crate::client::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_IN_FLIGHT, DEFAULT_RETRIES, DEFAULT_TIMEOUT, N200Client,
    N200ClientBuilder,
};
pub use crate::get_api::GetApi;
pub use crate::http::MAX_RESPONSE_BYTES;
pub use crate::post_api::DEFAULT_ACL;
pub use crate::raw::RawResponse;
