#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod backend;
pub mod client;
mod open;
pub mod protocol;
#[cfg(feature = "sim")]
pub mod sim;
pub mod transport;

pub use backend::{BACKEND, KeyEntry, ScHsm};
pub use client::dkek::DkekStatus;
pub use client::init::InitParams;
pub use client::pin::{PinRef, PinStatus, SoPin};
pub use client::{CardState, Commands, ScClient};
pub use open::open_with;
pub use protocol::dkek::ShareFile;
pub use protocol::wrapped_key::WrappedKeyFile;
