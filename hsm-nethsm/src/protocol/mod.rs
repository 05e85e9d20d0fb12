//! The NetHSM REST API's wire types: requests and responses with the spec's names ([`model`]).
//! No I/O here: the client, the backend and the simulator share these.

pub mod model;
