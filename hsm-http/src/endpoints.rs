//! The endpoints of one client (one device, or the instances of one cluster): round-robin
//! choice, health marks, background re-probes.
//!
//! An endpoint that fails (transport fault, timeout, `412`, `5xx`) leaves the rotation for a
//! backoff that doubles with each consecutive failure ([`RetryPolicy::backoff`] up to
//! [`RetryPolicy::max_backoff`]). Once the backoff has passed, the next request that comes by
//! starts one background probe (`GET` of the client's probe path) and only a `2xx` puts the
//! endpoint back; without a probe path it is simply back. When every endpoint is down, requests
//! still go to the one whose backoff ends first, so a single-endpoint client never refuses to
//! try.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use url::Url;

use crate::answer::{Answer, Fault};
use crate::conn::{Outgoing, Pool};
use crate::policy::RetryPolicy;

/// The most of a probe's answer that is read.
const PROBE_BODY: usize = 64 * 1024;

/// One endpoint: its base URL and its own connection pool.
pub(crate) struct Endpoint {
    pub(crate) base: Url,
    transport: Transport,
    health: Mutex<Health>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("origin", &self.origin())
            .finish_non_exhaustive()
    }
}

/// How an endpoint's requests travel.
pub(crate) enum Transport {
    /// This crate's kept-alive HTTP/1.1 connections ([`crate::conn`]).
    Pool(Pool),
    /// A pool the backend made ([`crate::HttpClientBuilder::build_over`]).
    External(reqwest::Client),
}

#[derive(Debug, Default)]
struct Health {
    /// Consecutive failures.
    failures: u32,
    /// Left alone until then; `None` when healthy.
    down_until: Option<Instant>,
    /// A probe is running.
    probing: bool,
}

impl Endpoint {
    pub(crate) fn new(base: Url, transport: Transport) -> Self {
        Self {
            base,
            transport,
            health: Mutex::new(Health::default()),
        }
    }

    fn health(&self) -> std::sync::MutexGuard<'_, Health> {
        self.health.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the endpoint is in rotation.
    pub(crate) fn is_up(&self) -> bool {
        self.health().down_until.is_none()
    }

    /// Sends one request to this endpoint and reads its answer.
    pub(crate) async fn exchange(&self, request: &Outgoing<'_>) -> Result<Answer, Fault> {
        match &self.transport {
            Transport::Pool(pool) => pool.exchange(request).await,
            Transport::External(http) => crate::external::exchange(http, request).await,
        }
    }

    /// Where the endpoint is, for logs: scheme, host and port (never a path).
    pub(crate) fn origin(&self) -> String {
        self.base.origin().ascii_serialization()
    }
}

/// The endpoints and the rotation.
#[derive(Debug)]
pub(crate) struct Endpoints {
    pub(crate) list: Vec<Arc<Endpoint>>,
    policy: RetryPolicy,
    /// `GET` this path under an endpoint's base to see whether it is back.
    probe_path: Option<String>,
    /// Time allowed for a probe.
    probe_timeout: Duration,
    next: AtomicUsize,
}

impl Endpoints {
    pub(crate) fn new(
        list: Vec<Arc<Endpoint>>,
        policy: RetryPolicy,
        probe_path: Option<String>,
        probe_timeout: Duration,
    ) -> Self {
        Self {
            list,
            policy,
            probe_path,
            probe_timeout,
            next: AtomicUsize::new(0),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.list.len()
    }

    pub(crate) fn get(&self, index: usize) -> Option<&Arc<Endpoint>> {
        self.list.get(index)
    }

    /// The endpoint for the next attempt of a call that already tried `tried`, never one of
    /// `excluded`: the next healthy one in rotation not yet tried; else any healthy one; else
    /// the one whose backoff ends first (untried first). Starts probes of endpoints whose
    /// backoff has passed. `None` when every endpoint is excluded.
    pub(crate) fn pick(&self, tried: &[usize], excluded: &[usize]) -> Option<usize> {
        let n = self.list.len();
        if n == 1 {
            if excluded.contains(&0) {
                return None;
            }
            // One endpoint: nothing to choose; still let it come back after its backoff.
            self.revive_if_due(0);
            return Some(0);
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let now = Instant::now();
        let mut fallback: Option<(Instant, bool, usize)> = None;
        let mut healthy_tried = None;
        for step in 0..n {
            let index = start.wrapping_add(step) % n.max(1);
            if excluded.contains(&index) {
                continue;
            }
            let Some(endpoint) = self.list.get(index) else {
                continue;
            };
            let mut health = endpoint.health();
            match health.down_until {
                None if !tried.contains(&index) => return Some(index),
                None => healthy_tried = healthy_tried.or(Some(index)),
                Some(until) => {
                    if until <= now && !health.probing {
                        health.probing = true;
                        drop(health);
                        self.probe(Arc::clone(endpoint));
                    }
                    let key = (until, tried.contains(&index), index);
                    // Prefer untried endpoints, then the earliest end of backoff.
                    if fallback.is_none_or(|(u, t, _)| (key.1, key.0) < (t, u)) {
                        fallback = Some(key);
                    }
                }
            }
        }
        healthy_tried.or(fallback.map(|(_, _, index)| index))
    }

    /// A single endpoint whose backoff has passed is back in rotation (there is nothing else
    /// to send to anyway).
    fn revive_if_due(&self, index: usize) {
        if let Some(endpoint) = self.list.get(index) {
            let mut health = endpoint.health();
            if health
                .down_until
                .is_some_and(|until| until <= Instant::now())
            {
                health.down_until = None;
            }
        }
    }

    /// Marks an endpoint healthy after a good answer.
    pub(crate) fn mark_up(&self, index: usize) {
        if let Some(endpoint) = self.list.get(index) {
            let mut health = endpoint.health();
            if health.down_until.is_some() && self.list.len() > 1 {
                tracing::info!(endpoint = %endpoint.origin(), "endpoint back in rotation");
            }
            health.failures = 0;
            health.down_until = None;
        }
    }

    /// Takes an endpoint out of rotation for its backoff.
    pub(crate) fn mark_down(&self, index: usize) {
        if let Some(endpoint) = self.list.get(index) {
            mark_down(&self.policy, endpoint, self.list.len() > 1);
        }
    }

    /// Probes `endpoint` in the background; only a `2xx` brings it back.
    fn probe(&self, endpoint: Arc<Endpoint>) {
        let runtime = tokio::runtime::Handle::try_current();
        let url = self
            .probe_path
            .as_deref()
            .and_then(|path| endpoint.base.join(path).ok());
        let (Ok(runtime), Some(url)) = (runtime, url) else {
            // No probe (no runtime, or no probe path): let the next live request be the probe.
            let mut health = endpoint.health();
            health.probing = false;
            health.down_until = None;
            return;
        };
        let policy = self.policy.clone();
        let timeout = self.probe_timeout;
        let _task = runtime.spawn(async move {
            let probe = Outgoing {
                operation: "http.probe",
                device: "device",
                cap: PROBE_BODY,
                method: &reqwest::Method::GET,
                url: &url,
                auth: None,
                body: None,
            };
            let request = endpoint.exchange(&probe);
            let ok = matches!(
                tokio::time::timeout(timeout, request).await,
                Ok(Ok(answer)) if answer.is_success()
            );
            tracing::debug!(endpoint = %endpoint.origin(), ok, "endpoint probed");
            if ok {
                let mut health = endpoint.health();
                health.failures = 0;
                health.down_until = None;
                health.probing = false;
                tracing::info!(endpoint = %endpoint.origin(), "endpoint back in rotation");
            } else {
                mark_down(&policy, &endpoint, true);
                endpoint.health().probing = false;
            }
        });
    }
}

fn mark_down(policy: &RetryPolicy, endpoint: &Endpoint, cluster: bool) {
    let mut health = endpoint.health();
    health.failures = health.failures.saturating_add(1);
    let backoff = policy.backoff_after(health.failures);
    health.down_until = Some(Instant::now() + backoff);
    let backoff_ms = u64::try_from(backoff.as_millis()).unwrap_or(u64::MAX);
    if cluster {
        tracing::warn!(
            endpoint = %endpoint.origin(),
            failures = health.failures,
            backoff_ms,
            "endpoint out of rotation"
        );
    } else {
        tracing::debug!(endpoint = %endpoint.origin(), failures = health.failures, "endpoint failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoints(n: usize) -> Endpoints {
        let list = (0..n)
            .filter_map(|i| {
                let url = Url::parse(&format!("https://h{i}:8443/api/v1/")).ok()?;
                let http = reqwest::Client::builder()
                    .tls_backend_preconfigured(
                        hsm_core::tls::client_config(&hsm_core::tls::TlsOptions::default()).ok()?,
                    )
                    .build()
                    .ok()?;
                Some(Arc::new(Endpoint::new(url, Transport::External(http))))
            })
            .collect();
        Endpoints::new(list, RetryPolicy::default(), None, Duration::from_secs(1))
    }

    #[test]
    fn round_robin_over_healthy_endpoints_and_failover_skips_the_tried() {
        let c = endpoints(3);
        assert_eq!(c.len(), 3);
        let picks: Vec<_> = (0..6).map(|_| c.pick(&[], &[])).collect();
        assert_eq!(
            picks,
            [Some(0), Some(1), Some(2), Some(0), Some(1), Some(2)]
        );
        assert_eq!(c.pick(&[0, 1], &[]), Some(2));
        assert!(c.pick(&[0, 1, 2], &[]).is_some());
        assert_eq!(c.pick(&[], &[0, 2]), Some(1));
        assert_eq!(c.pick(&[], &[0, 1, 2]), None);
    }

    #[test]
    fn a_down_endpoint_is_skipped_until_it_is_the_last_resort() {
        let c = endpoints(2);
        c.mark_down(1);
        for _ in 0..4 {
            assert_eq!(c.pick(&[], &[]), Some(0));
        }
        assert_eq!(c.pick(&[0], &[]), Some(0));
        c.mark_down(0);
        assert_eq!(c.pick(&[0], &[]), Some(1));
        assert_eq!(c.pick(&[1], &[]), Some(0));
        c.mark_up(0);
        c.mark_up(1);
        assert!(c.list.iter().all(|e| e.is_up()));
    }
}
