//! The instances of one NetHSM cluster, over `hsm-http`: the pools the client builder made,
//! handed to one [`hsm_http::HttpClient`], which owns the rotation, the health marks and the
//! background probes (`GET /health/ready`).
//!
//! An instance that fails (transport fault, timeout, `412`, `5xx`) leaves the rotation for a
//! backoff that doubles with each consecutive failure ([`RetryPolicy::backoff`] up to
//! [`RetryPolicy::max_backoff`]); once it has passed, the next request starts one background
//! probe, and only a successful probe puts the instance back. When every instance is down,
//! requests still go to the one whose backoff ends first.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use hsm_http::{BudgetSplit, HttpClient};
use url::Url;

use super::http::MAX_RESPONSE_BYTES;

/// When to retry, fail over and re-probe. The defaults suit a NetHSM cluster on a LAN.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries of one idempotent call, over all instances (at least one per instance).
    pub attempts: u32,
    /// Delay before a retry that goes back to an instance this call already tried; doubles
    /// with each such retry.
    pub retry_delay: Duration,
    /// How long a failed instance is left alone before it is probed again; doubles with each
    /// consecutive failure.
    pub backoff: Duration,
    /// The longest backoff.
    pub max_backoff: Duration,
    /// How often one call waits out the device's failed-login throttle (429) and tries again.
    pub throttle_retries: u32,
    /// How long to wait after a 429 (the device throttles for one second).
    pub throttle_delay: Duration,
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
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries, fails over or waits out a throttle: each call makes exactly
    /// one request (to the next instance in rotation).
    #[must_use]
    pub fn none() -> Self {
        Self {
            attempts: 1,
            throttle_retries: 0,
            ..Self::default()
        }
    }

    /// `hsm-http`'s policy with these numbers and the NetHSM's own facts: a `503` means the
    /// request was not carried out, and each attempt of an idempotent request gets a share of
    /// the budget, so a stalled instance still leaves time to fail over.
    fn to_http(&self) -> hsm_http::RetryPolicy {
        hsm_http::RetryPolicy::default()
            .with_attempts(self.attempts)
            .with_retry_delay(self.retry_delay)
            .with_backoff(self.backoff, self.max_backoff)
            .with_throttle(self.throttle_retries, self.throttle_delay)
            .with_unavailable_means_not_done(true)
            .with_split(BudgetSplit::Shared)
    }
}

/// One instance: its API base URL and its own connection pool.
#[derive(Debug)]
pub(crate) struct Instance {
    pub(crate) base: Url,
    http: reqwest::Client,
    /// The cluster's client and this instance's place in it, once the cluster is made.
    place: OnceLock<(HttpClient, usize)>,
}

impl Instance {
    pub(crate) fn new(base: Url, http: reqwest::Client) -> Self {
        Self {
            base,
            http,
            place: OnceLock::new(),
        }
    }

    /// Whether the instance is in rotation.
    pub(crate) fn is_up(&self) -> bool {
        self.place
            .get()
            .is_none_or(|(client, index)| client.endpoint_up(*index))
    }
}

/// The instances and the client that sends over them.
#[derive(Debug)]
pub(crate) struct Cluster {
    pub(crate) instances: Vec<Arc<Instance>>,
    pub(crate) http: HttpClient,
}

impl Cluster {
    /// The cluster of `instances`, with `policy`; `probe_timeout` bounds a probe and each
    /// connection.
    pub(crate) fn new(
        instances: Vec<Arc<Instance>>,
        policy: RetryPolicy,
        probe_timeout: Duration,
    ) -> Self {
        let pools = instances
            .iter()
            .map(|i| (i.base.clone(), i.http.clone()))
            .collect();
        let http = HttpClient::pool_builder("NetHSM")
            .policy(policy.to_http())
            .connect_timeout(probe_timeout)
            .max_body(MAX_RESPONSE_BYTES)
            .probe_path("health/ready")
            .build_over(pools);
        for (index, instance) in instances.iter().enumerate() {
            let _ = instance.place.set((http.clone(), index));
        }
        Self { instances, http }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_carries_over_with_the_nethsms_facts() {
        let p = RetryPolicy::default().to_http();
        assert_eq!(p.attempts, 3);
        assert_eq!(p.retry_delay, Duration::from_millis(100));
        assert_eq!(p.throttle_delay, Duration::from_millis(1100));
        assert!(p.unavailable_means_not_done);
        assert_eq!(p.split, BudgetSplit::Shared);
        assert_eq!(RetryPolicy::none().to_http().attempts, 1);
    }
}
