//! Command and response APDUs (ISO/IEC 7816-4) and what the SmartCard-HSM's status words mean.

mod command;
mod response;
mod status;

pub use command::{Apdu, MAX_SHORT_NE};
pub use response::Response;
pub use status::{StatusWord, error_for_status};
