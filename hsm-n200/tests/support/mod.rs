//! Shared test helpers.

pub(crate) mod hostile;
