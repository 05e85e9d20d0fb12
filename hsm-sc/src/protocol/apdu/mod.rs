//! Command and response APDUs (ISO/IEC 7816-4); what their status words mean is in
//! [`crate::protocol::status`].

mod command;
mod response;

pub use command::{Apdu, MAX_SHORT_NE};
pub use response::Response;
