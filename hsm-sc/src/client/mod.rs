//! The SmartCard-HSM's typed API: [`ScClient`] (one card behind a channel) and
//! [`Commands`], the command set, one module per group of commands, all as methods of
//! [`Commands`].

pub mod card;
pub mod crypto;
pub mod device;
pub mod dkek;
pub mod files;
pub mod init;
pub mod keys;
pub mod pin;
pub mod random;
pub mod select;
pub mod wrap;

pub use card::{CardState, Commands, ScClient};
