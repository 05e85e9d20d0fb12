//! One `tracing` span per backend call: `hsm.call` with the fields `backend` (`nethsm`),
//! `operation`, `key` and `algorithm`, closed by an event with `outcome` (`ok` or the error
//! kind) and `latency_us`. Nothing else is recorded: no message, no signature, no credential.
//! The names and fields are those of `hsm_core::observe`, so a service's log queries work the
//! same for every backend.

use std::future::Future;
use std::time::Instant;

use hsm_core::{KeyId, Result, SignAlgorithm};
use tracing::Instrument as _;

/// Runs `call` inside an `hsm.call` span and records its outcome and latency.
pub(crate) async fn traced<T>(
    operation: &'static str,
    key: Option<&KeyId>,
    algorithm: Option<SignAlgorithm>,
    call: impl Future<Output = Result<T>>,
) -> Result<T> {
    let span = tracing::debug_span!(
        "hsm.call",
        backend = "nethsm",
        operation,
        key = key.map(tracing::field::display),
        algorithm = algorithm.map(tracing::field::display),
    );
    let started = Instant::now();
    let result = call.instrument(span.clone()).await;
    finish(
        &span,
        result.as_ref().err().map(|e| e.kind().as_str()),
        started,
    );
    result
}

/// The closing event of a call: `failed` is the error kind, if it failed.
pub(crate) fn finish(span: &tracing::Span, failed: Option<&'static str>, started: Instant) {
    let latency_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    span.in_scope(|| match failed {
        None => tracing::debug!(outcome = "ok", latency_us, "hsm call finished"),
        Some(kind) => tracing::debug!(outcome = kind, latency_us, "hsm call failed"),
    });
}
