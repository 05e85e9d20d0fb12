//! The N200's protocol without I/O: the command table (wire names and fields), the request form,
//! the answers' data types and parsers, the signature encodings, key labels and key types, and
//! the one table from statuses and device texts to [`hsm_core::ErrorKind`] ([`errors`]).
//!
//! The client, the simulator and the fuzz targets all use these; nothing here imports the
//! transport, the client or the backend.

pub(crate) mod answer;
pub mod commands;
pub mod errors;
pub(crate) mod form;
pub mod keytypes;
pub mod labels;
pub mod model;
pub mod parse;
pub(crate) mod raw;
pub mod sigformat;
