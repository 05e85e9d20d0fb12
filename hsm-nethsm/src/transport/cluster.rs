//! The instances of one NetHSM cluster, over `hsm-http`: one keep-alive pool per instance,
//! made by [`hsm_http::HttpClient`]'s builder from [`ConnectionSettings`] (TLS, time limits,
//! pool size, server-name resolution), which also owns the rotation, the health marks and the
//! background probes (`GET /health/ready`).
//!
//! An instance that fails (transport fault, timeout, `412`, `5xx`) leaves the rotation for a
//! backoff that doubles with each consecutive failure ([`RetryPolicy::backoff`] up to
//! [`RetryPolicy::max_backoff`]); once it has passed, the next request starts one background
//! probe, and only a successful probe puts the instance back. When every instance is down,
//! requests still go to the one whose backoff ends first.

use std::sync::Arc;
use std::time::Duration;

use hsm_core::tls::TlsOptions;
use hsm_core::{Error, Result};
use hsm_http::{BudgetSplit, HttpClient};
use url::Url;

use super::http::MAX_RESPONSE_BYTES;

const OP: &str = "nethsm.client";

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

/// What a client's connections are made from: the instances, the TLS trust, the time limits,
/// the retry policy and the pool size. Kept with the cluster, so that a client with the same
/// settings and connection pools of its own can be made ([`Cluster::connect`] again).
#[derive(Clone, Debug)]
pub(crate) struct ConnectionSettings {
    /// `(host, port)` of each instance, the first one first.
    pub(crate) hosts: Vec<(String, u16)>,
    pub(crate) tls: TlsOptions,
    /// The budget of one call.
    pub(crate) timeout: Duration,
    /// Connecting (TLS handshake included), and a probe of a failed instance.
    pub(crate) connect_timeout: Duration,
    pub(crate) retry: RetryPolicy,
    /// Idle connections kept per instance.
    pub(crate) max_idle: usize,
}

/// The instances of one cluster and the `hsm-http` client that sends over their pools.
#[derive(Debug)]
pub(crate) struct Cluster {
    pub(crate) http: HttpClient,
    /// What the pools were made from.
    pub(crate) settings: Arc<ConnectionSettings>,
}

impl Cluster {
    /// Connection pools for every instance of `settings` (`https://host:port/api/v1/`, one
    /// keep-alive pool each; with a server-name override the URL names the certificate's host
    /// and the pool connects to the configured address), behind one [`HttpClient`] with the
    /// NetHSM's policy. No connection is opened yet.
    ///
    /// # Errors
    /// [`hsm_core::ErrorKind::InvalidInput`] for a bad host, CA file or server name, or no
    /// instance; [`hsm_core::ErrorKind::Unavailable`] for a host that does not resolve (with a
    /// server-name override).
    pub(crate) fn connect(settings: Arc<ConnectionSettings>) -> Result<Self> {
        let mut hosts = settings.hosts.iter();
        let (host, port) = hosts
            .next()
            .ok_or_else(|| Error::invalid_input(OP, "no instance"))?;
        let mut builder = HttpClient::builder("NetHSM", host.clone(), *port, "/api/v1/");
        for (host, port) in hosts {
            builder = builder.endpoint(host.clone(), *port);
        }
        let http = builder
            .tls(settings.tls.clone())
            .timeout(settings.timeout)
            .connect_timeout(settings.connect_timeout)
            .policy(settings.retry.to_http())
            .max_body(MAX_RESPONSE_BYTES)
            .max_idle(settings.max_idle)
            .probe_path("health/ready")
            .build()?;
        Ok(Self { http, settings })
    }

    /// The API base URL of each instance, in configuration order.
    pub(crate) fn bases(&self) -> impl Iterator<Item = &Url> {
        self.http.base_urls()
    }

    /// Whether each instance is in rotation now (configuration order).
    pub(crate) fn up(&self) -> Vec<bool> {
        self.http.endpoints_up()
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
