//! `libhsm_p11.so`: a PKCS#11 v2.40 module over every hsm-rs backend.
//!
//! Programs that only speak PKCS#11 (OpenSSL through libp11, `pkcs11-tool`, Knot DNS, BIND,
//! OpenDNSSEC, CAs) load this module and sign with keys on a NetHSM, an se.SAM N200, a
//! SmartCard-HSM or another PKCS#11 token, through this library's clients: one connection pool
//! per slot, timeouts on every call, TLS verified, PINs only in `secrecy` types.
//!
//! Each slot is one backend URI (the URIs of `hsm::open`), configured in a TOML or YAML file named
//! by `HSM_P11_CONF` (default [`config::DEFAULT_PATH`]); see [`config`] and the README.
//!
//! Layout: [`ffi`] is the only code with `unsafe` (the C function list, pointer marshalling and
//! panic catching); everything below it is safe Rust working on Rust values.
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

mod attribute;
mod certificate;
pub mod config;
mod create;
mod error;
pub mod ffi;
mod log;
mod mechanism;
mod module;
mod object;
mod open;
mod random;
mod session;
mod sign;
mod threads;
mod token;

pub use crate::error::rv_name;
