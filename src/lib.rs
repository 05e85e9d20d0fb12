#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod open;
#[cfg(feature = "tokio")]
mod open_async;

pub use crate::open::{open, open_with, schemes};
#[cfg(feature = "tokio")]
pub use crate::open_async::{open_async, open_async_with};
pub use hsm_core::*;

/// The Nitrokey NetHSM backend ([`hsm_nethsm`]).
#[cfg(feature = "nethsm")]
pub use hsm_nethsm as nethsm;

/// The sematicon se.SAM N200 backend ([`hsm_n200`]).
#[cfg(feature = "n200")]
pub use hsm_n200 as n200;

/// The PKCS#11 backend ([`hsm_pkcs11`]).
#[cfg(feature = "pkcs11")]
pub use hsm_pkcs11 as pkcs11;

/// The SmartCard-HSM / Nitrokey HSM 2 backend ([`hsm_sc`]).
#[cfg(feature = "sc")]
pub use hsm_sc as sc;
