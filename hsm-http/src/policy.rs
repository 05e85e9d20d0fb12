//! The retry and time-budget policy: the numbers ([`RetryPolicy`]) and the one table of what a
//! status says about a request ([`classify_status`]).

use std::time::Duration;

/// How a call's time budget is shared among its attempts (see the crate docs, *Time*).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BudgetSplit {
    /// Each attempt of an idempotent request may take `remaining / attempts left`: a stalled
    /// endpoint costs one share and the call still fails over (a cluster).
    Shared,
    /// Each attempt may take all that is left: a slow answer is waited for, not cut short and
    /// sent again (a single appliance).
    Whole,
}

/// When to send a request again, and how long to wait. One policy for every REST backend; the
/// defaults suit a device on a LAN.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts of one idempotent call over all endpoints (at least one per endpoint; at least
    /// one). `1` means no repeat.
    pub attempts: u32,
    /// The wait before an attempt that goes back to an endpoint this call already tried;
    /// doubles with each such attempt.
    pub retry_delay: Duration,
    /// How long a failed endpoint is left out of rotation; doubles with each consecutive
    /// failure, up to [`Self::max_backoff`].
    pub backoff: Duration,
    /// The longest backoff.
    pub max_backoff: Duration,
    /// How often one call waits out a `429` (throttled) and sends again.
    pub throttle_retries: u32,
    /// The wait after a `429`.
    pub throttle_delay: Duration,
    /// Whether the device documents that a `503` means the request was not carried out; when
    /// `false`, a `503` to a request that is not idempotent leaves its outcome unknown.
    pub unavailable_means_not_done: bool,
    /// How the budget is shared among attempts.
    pub split: BudgetSplit,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 3,
            retry_delay: Duration::from_millis(100),
            backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            throttle_retries: 2,
            throttle_delay: Duration::from_millis(1100),
            unavailable_means_not_done: false,
            split: BudgetSplit::Shared,
        }
    }
}

impl RetryPolicy {
    /// A policy that never repeats a request nor waits out a throttle: each call makes exactly
    /// one attempt.
    #[must_use]
    pub fn none() -> Self {
        Self {
            attempts: 1,
            throttle_retries: 0,
            ..Self::default()
        }
    }

    /// With `attempts` attempts per call (`retries + 1`).
    #[must_use]
    pub fn with_attempts(mut self, attempts: u32) -> Self {
        self.attempts = attempts.max(1);
        self
    }

    setters! {
        /// With this wait before going back to an endpoint already tried.
        #[must_use]
        with_retry_delay(delay: Duration) => retry_delay;
        /// Whether the device's `503` means the request was not carried out.
        #[must_use]
        with_unavailable_means_not_done(not_done: bool) => unavailable_means_not_done;
        /// With this way of sharing the budget among attempts.
        #[must_use]
        with_split(split: BudgetSplit) => split;
    }

    /// With this backoff for a failed endpoint (doubling up to `max`).
    #[must_use]
    pub fn with_backoff(mut self, backoff: Duration, max: Duration) -> Self {
        self.backoff = backoff;
        self.max_backoff = max;
        self
    }

    /// With `retries` waits of `delay` after a `429`.
    #[must_use]
    pub fn with_throttle(mut self, retries: u32, delay: Duration) -> Self {
        self.throttle_retries = retries;
        self.throttle_delay = delay;
        self
    }

    /// The backoff after `failures` consecutive failures.
    pub(crate) fn backoff_after(&self, failures: u32) -> Duration {
        let factor = 1u32 << failures.saturating_sub(1).min(16);
        self.backoff.saturating_mul(factor).min(self.max_backoff)
    }
}

/// What an answer's status says about the request (the crate docs' table).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StatusClass {
    /// `2xx`, `304`: the answer.
    Success,
    /// `429`: throttled, nothing done; wait and send again, whatever the request.
    Throttled,
    /// `412`: this endpoint is not ready, nothing done; another endpoint may be.
    NotReady,
    /// The request was not carried out: send again only if idempotent (a `503` the device
    /// documents as such).
    NotDone,
    /// The request may or may not have been carried out: send again only if idempotent
    /// (`500`, `502`, `504`, `408`, other `5xx`).
    Unknown,
    /// Final: the answer stands (other `4xx`, `1xx`, other `3xx`).
    Final,
}

/// The one table from an HTTP status to what it says about the request; `policy` says whether
/// a `503` means "not done".
#[must_use]
pub fn classify_status(status: u16, policy: &RetryPolicy) -> StatusClass {
    match status {
        200..=299 | 304 => StatusClass::Success,
        429 => StatusClass::Throttled,
        412 => StatusClass::NotReady,
        503 if policy.unavailable_means_not_done => StatusClass::NotDone,
        408 | 500..=599 => StatusClass::Unknown,
        _ => StatusClass::Final,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_table() {
        let p = RetryPolicy::default();
        for (status, class) in [
            (200, StatusClass::Success),
            (204, StatusClass::Success),
            (304, StatusClass::Success),
            (429, StatusClass::Throttled),
            (412, StatusClass::NotReady),
            (500, StatusClass::Unknown),
            (502, StatusClass::Unknown),
            (503, StatusClass::Unknown),
            (504, StatusClass::Unknown),
            (408, StatusClass::Unknown),
            (401, StatusClass::Final),
            (404, StatusClass::Final),
            (409, StatusClass::Final),
            (301, StatusClass::Final),
        ] {
            assert_eq!(classify_status(status, &p), class, "{status}");
        }
        let trusting = p.with_unavailable_means_not_done(true);
        assert_eq!(classify_status(503, &trusting), StatusClass::NotDone);
        assert_eq!(classify_status(500, &trusting), StatusClass::Unknown);
    }

    #[test]
    fn backoff_doubles_up_to_the_maximum() {
        let p = RetryPolicy::default();
        assert_eq!(p.backoff_after(1), Duration::from_millis(500));
        assert_eq!(p.backoff_after(2), Duration::from_secs(1));
        assert_eq!(p.backoff_after(4), Duration::from_secs(4));
        assert_eq!(p.backoff_after(40), Duration::from_secs(30));
    }
}
