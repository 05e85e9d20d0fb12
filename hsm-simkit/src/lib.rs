#![doc = include_str!("../README.md")]

pub mod clock;
pub mod config;
#[cfg(feature = "https")]
pub mod https;
#[cfg(feature = "openssl")]
pub mod ossl;
#[cfg(feature = "https")]
pub mod wire;
