//! How requests reach the N200: a thin layer over `hsm-http`, the one HTTPS transport of the
//! REST backends (keep-alive pool, the call's time budget, repeats of idempotent commands, the
//! answer size cap), with the N200's POST form and GET path ([`http`]).

pub(crate) mod http;
