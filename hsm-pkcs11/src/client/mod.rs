//! The token's own API on a session, one module per group: the token and its mechanisms, key
//! objects, importing keys, certificate and data objects, signing.

pub(crate) mod import;
pub(crate) mod keys;
pub(crate) mod objects;
pub(crate) mod sign;
pub(crate) mod token;
