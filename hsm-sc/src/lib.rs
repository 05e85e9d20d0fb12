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

pub mod apdu;
mod backend;
pub mod card;
pub mod commands;
pub mod curves;
pub mod cvc;
pub mod device;
pub mod dkek;
pub mod pkcs15;
#[cfg(feature = "sim")]
pub mod sim;
pub mod tlv;
pub mod transport;
pub mod wrapfile;

pub use backend::{BACKEND, KeyEntry, ScHsm};
pub use card::{CardState, Commands, SmartCardHsm};
pub use commands::dkek::DkekStatus;
pub use commands::init::InitParams;
pub use commands::pin::{PinRef, PinStatus, SoPin};
pub use dkek::ShareFile;
pub use wrapfile::WrappedKeyFile;
