//! The one HTTPS transport of the hsm-rs REST backends (`hsm-nethsm`, `hsm-n200`).
//!
//! [`HttpClient`] sends a [`Request`] to one device (or to the instances of one cluster) over
//! kept-alive TLS connections (HTTP/1.1 over rustls, configured by
//! [`hsm_core::tls::client_config`], so certificates are verified by default), within one time
//! budget, repeating it only where that is safe, and reads at most a capped number of bytes of
//! the answer. What a backend's answers *mean* (JSON, forms, error texts) stays in the backend;
//! this crate decides only how bytes travel and when a request goes again.
//!
//! # The rules
//!
//! **Status to kind.** Every error status maps through hsm-core's one table,
//! [`ErrorKind::from_http_status`](hsm_core::ErrorKind::from_http_status): `500` is `Device`,
//! `502`/`503`/`429` `Unavailable`, `408`/`504` `Timeout`, `412`/`423` `InvalidState`, and so on.
//! A backend may refine the kind from the body (a documented device text); the *retry* decision
//! never depends on the kind, only on the status and the request's idempotency:
//!
//! | what happens on an attempt | idempotent request | other requests |
//! |---|---|---|
//! | `2xx`, `304` | the [`Answer`] | same |
//! | connection refused, connect or TLS handshake timeout (nothing sent) | sent again | sent again |
//! | certificate, name or pin refused by TLS | another endpoint if there is one, else final | same |
//! | `429` (throttled: nothing done) | waited out ([`RetryPolicy::throttle_delay`]), sent again, at most [`RetryPolicy::throttle_retries`] times | same |
//! | `412` (the endpoint is not ready: nothing done) | another endpoint, never the same one again | same |
//! | `500`, `502`, `504`, `408`, other `5xx` | sent again | not repeated, outcome unknown |
//! | `503` | sent again | not repeated; outcome unknown unless [`RetryPolicy::unavailable_means_not_done`] |
//! | reset, truncated body, attempt timed out (sent, no complete answer) | sent again | not repeated, outcome unknown |
//! | other `4xx` (`400`, `401`, `403`, `404`, `409`, ...) | final; a `401` is never repeated (no automatic password retry) | same |
//! | answer over the body cap, announced or streamed | final (`Protocol`), read no further | final, outcome unknown |
//!
//! "Sent again" goes to the next endpoint in rotation (another cluster instance), or back to
//! the same one after [`RetryPolicy::retry_delay`] (doubling), at most
//! [`RetryPolicy::attempts`] attempts in all (at least one per endpoint). A [`Failure`] says
//! when the outcome of a request that is not idempotent is unknown, so the backend can settle it
//! by asking the device (never by sending it again).
//!
//! **Time.** `timeout` is the budget of the whole call: connecting, sending, the whole answer,
//! every repeat, wait and failover. A call never runs past it; when it is spent the call fails
//! with `Timeout` (or with the last attempt's error if that came first). `connect_timeout`
//! bounds each connection (TCP and TLS handshake) within it. How the budget is shared among
//! attempts is the one number a backend chooses, [`BudgetSplit`]: with
//! [`BudgetSplit::Shared`] each attempt of an idempotent request may take an equal share of
//! what is left (`remaining / attempts left`), so a stalled endpoint costs one share and the
//! call can still fail over; with [`BudgetSplit::Whole`] an attempt may take all that is left
//! (a slow answer from a single appliance is waited for, not cut short and sent again). A
//! request that is not idempotent is never sent again after a timeout, so its attempt always
//! gets all that is left.
//!
//! **Body cap.** An answer is read up to the client's cap ([`HttpClientBuilder::max_body`],
//! each backend sets its own; default [`DEFAULT_MAX_BODY`]). An answer whose `Content-Length`
//! announces more is refused unread; one that streams more is dropped at the cap, the
//! connection closed. Either is a `Protocol` error, not repeated.
//!
//! **Secrets.** Credentials live in a [`secrecy::SecretString`] and travel only in the
//! `Authorization` header; request bodies are zeroized when dropped. No URL (a path may carry a
//! PIN), header or body is put into a log, an error or a `Debug` output: spans carry the
//! operation, the method, the attempt and the status only, and every reqwest error is stripped
//! of its URL.
//!
//! **Concurrency.** Clones of an [`HttpClient`] share the connection pools, the endpoints'
//! health and the optional in-flight limit ([`HttpClientBuilder::max_in_flight`]); each endpoint
//! keeps up to [`HttpClientBuilder::max_idle`] idle connections, so `k` requests in flight find
//! `k` warm connections.
//!
//! **Cost per request.** The connections are the crate's own, driven by the task that awaits
//! the call: it checks a connection out of the endpoint's pool (one that the server closed
//! meanwhile is dropped), writes the request's head and body in one write, reads the answer,
//! and puts the connection back once the answer was read whole. No connection task, channel,
//! redirect or URL re-parsing sits between the caller and the socket, so a request costs the
//! caller little more than its TLS records and two system calls (PKCS#11 module against
//! Nitrokey's, P-256 on the NetHSM simulator: see `BENCHMARKS.md`). Pools a backend makes
//! itself ([`HttpClientBuilder::build_over`]) go through reqwest.
#![forbid(unsafe_code)]

#[macro_use]
mod setters;
mod answer;
mod body;
mod client;
mod conn;
mod endpoints;
mod external;
mod fault;
mod policy;
mod request;

pub use answer::{Answer, Failure, Fault};

/// The answer reader over scripted bytes, for the fuzz target `http_answers` (feature
/// `fuzzing`; not a stable API).
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::conn::scripted::{Framing, Outcome, read_scripted};
}
pub use client::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_BODY, DEFAULT_MAX_IDLE, DEFAULT_TIMEOUT, HttpClient,
    HttpClientBuilder,
};
pub use policy::{BudgetSplit, RetryPolicy, StatusClass, classify_status};
pub use request::{BasicAuth, Request};

/// The HTTP method type of [`Request`].
pub use reqwest::Method;
