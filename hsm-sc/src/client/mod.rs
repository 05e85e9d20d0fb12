//! The SmartCard-HSM command set, one module per family, all as methods of
//! [`Commands`](crate::card::Commands).

pub mod crypto;
pub mod dkek;
pub mod files;
pub mod init;
pub mod keys;
pub mod pin;
pub mod random;
pub mod select;
pub mod wrap;
