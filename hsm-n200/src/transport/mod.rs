//! How requests reach the N200: the keep-alive HTTPS client, the call's time budget, the
//! repeats of idempotent commands and the cap on an answer's size ([`http`]).

pub(crate) mod http;
