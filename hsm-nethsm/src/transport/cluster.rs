//! The instances of one NetHSM cluster: round-robin choice, health marks, background re-probes.
//!
//! An instance that fails (transport error, timeout, 412, 5xx) is marked down for a backoff
//! that doubles with each consecutive failure ([`RetryPolicy::backoff`] up to
//! [`RetryPolicy::max_backoff`]). Live traffic skips it meanwhile; once the backoff has passed,
//! the next request that comes by starts one background probe (`GET /health/ready`), and only a
//! successful probe puts the instance back into rotation. When every instance is down, requests
//! still go to the one whose backoff ends first, so a single-host client never refuses to try.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use url::Url;

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

    fn backoff_after(&self, failures: u32) -> Duration {
        let factor = 1u32 << failures.saturating_sub(1).min(16);
        self.backoff.saturating_mul(factor).min(self.max_backoff)
    }
}

/// One instance: its API base URL and its own connection pool.
#[derive(Debug)]
pub(crate) struct Instance {
    pub(crate) base: Url,
    pub(crate) http: reqwest::Client,
    health: Mutex<Health>,
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

impl Instance {
    pub(crate) fn new(base: Url, http: reqwest::Client) -> Self {
        Self {
            base,
            http,
            health: Mutex::new(Health::default()),
        }
    }

    fn health(&self) -> std::sync::MutexGuard<'_, Health> {
        self.health.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the instance is in rotation.
    pub(crate) fn is_up(&self) -> bool {
        self.health().down_until.is_none()
    }
}

/// The instances and the rotation.
#[derive(Debug)]
pub(crate) struct Cluster {
    pub(crate) instances: Vec<Arc<Instance>>,
    pub(crate) policy: RetryPolicy,
    /// Time allowed for a probe.
    pub(crate) probe_timeout: Duration,
    next: AtomicUsize,
}

impl Cluster {
    pub(crate) fn new(
        instances: Vec<Arc<Instance>>,
        policy: RetryPolicy,
        probe_timeout: Duration,
    ) -> Self {
        Self {
            instances,
            policy,
            probe_timeout,
            next: AtomicUsize::new(0),
        }
    }

    /// The instance for the next attempt of a call that already tried `tried`: the next healthy
    /// one in rotation not yet tried; else any healthy one; else the one whose backoff ends
    /// first. Starts probes of instances whose backoff has passed.
    pub(crate) fn pick(&self, tried: &[usize]) -> Option<usize> {
        let n = self.instances.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let now = Instant::now();
        let mut fallback: Option<(Instant, bool, usize)> = None;
        let mut healthy_tried = None;
        for step in 0..n {
            let index = start.wrapping_add(step) % n;
            let Some(instance) = self.instances.get(index) else {
                continue;
            };
            let mut health = instance.health();
            match health.down_until {
                None if !tried.contains(&index) => return Some(index),
                None => healthy_tried = healthy_tried.or(Some(index)),
                Some(until) => {
                    if until <= now && !health.probing {
                        health.probing = true;
                        drop(health);
                        self.probe(Arc::clone(instance));
                    }
                    let key = (until, tried.contains(&index), index);
                    // Prefer untried instances, then the earliest end of backoff.
                    if fallback.is_none_or(|(u, t, _)| (key.1, key.0) < (t, u)) {
                        fallback = Some(key);
                    }
                }
            }
        }
        healthy_tried.or(fallback.map(|(_, _, index)| index))
    }

    pub(crate) fn instance(&self, index: usize) -> Option<&Arc<Instance>> {
        self.instances.get(index)
    }

    /// Marks an instance healthy after a good answer.
    pub(crate) fn mark_up(&self, index: usize) {
        if let Some(instance) = self.instances.get(index) {
            let mut health = instance.health();
            if health.down_until.is_some() {
                tracing::info!(instance = %instance.base, "NetHSM instance back in rotation");
            }
            health.failures = 0;
            health.down_until = None;
        }
    }

    /// Takes an instance out of rotation for its backoff.
    pub(crate) fn mark_down(&self, index: usize) {
        if let Some(instance) = self.instances.get(index) {
            mark_down(&self.policy, instance);
        }
    }

    /// Probes `instance` in the background (`GET /health/ready`); only a 2xx brings it back.
    fn probe(&self, instance: Arc<Instance>) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            // No runtime to probe on: let the next live request be the probe.
            let mut health = instance.health();
            health.probing = false;
            health.down_until = None;
            return;
        };
        let policy = self.policy.clone();
        let timeout = self.probe_timeout;
        let _task = runtime.spawn(async move {
            let ok = match instance.base.join("health/ready") {
                Ok(url) => {
                    let request = instance.http.get(url).timeout(timeout).send();
                    matches!(
                        tokio::time::timeout(timeout, request).await,
                        Ok(Ok(answer)) if answer.status().is_success()
                    )
                }
                Err(_) => false,
            };
            tracing::debug!(instance = %instance.base, ok, "NetHSM instance probed");
            if ok {
                let mut health = instance.health();
                health.failures = 0;
                health.down_until = None;
                health.probing = false;
                tracing::info!(instance = %instance.base, "NetHSM instance back in rotation");
            } else {
                mark_down(&policy, &instance);
                instance.health().probing = false;
            }
        });
    }
}

fn mark_down(policy: &RetryPolicy, instance: &Instance) {
    let mut health = instance.health();
    health.failures = health.failures.saturating_add(1);
    let backoff = policy.backoff_after(health.failures);
    health.down_until = Some(Instant::now() + backoff);
    tracing::warn!(
        instance = %instance.base,
        failures = health.failures,
        backoff_ms = u64::try_from(backoff.as_millis()).unwrap_or(u64::MAX),
        "NetHSM instance out of rotation"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster(n: usize) -> Cluster {
        let instances = (0..n)
            .map(|i| {
                let url = Url::parse(&format!("https://h{i}:8443/api/v1/")).unwrap_or_else(|_| {
                    Url::parse("https://localhost/").unwrap_or_else(|_| unreachable!())
                });
                let tls = hsm_core::tls::client_config(&hsm_core::tls::TlsOptions::default())
                    .unwrap_or_else(|_| unreachable!());
                let http = reqwest::Client::builder()
                    .tls_backend_preconfigured(tls)
                    .build()
                    .unwrap_or_else(|_| unreachable!());
                Arc::new(Instance::new(url, http))
            })
            .collect();
        Cluster::new(instances, RetryPolicy::default(), Duration::from_secs(1))
    }

    #[test]
    fn round_robin_over_healthy_instances_and_failover_skips_the_tried() {
        let c = cluster(3);
        let picks: Vec<_> = (0..6).map(|_| c.pick(&[])).collect();
        assert_eq!(
            picks,
            [Some(0), Some(1), Some(2), Some(0), Some(1), Some(2)]
        );
        assert_eq!(c.pick(&[0, 1]), Some(2));
        // All tried: any healthy one again.
        assert!(c.pick(&[0, 1, 2]).is_some());
    }

    #[test]
    fn a_down_instance_is_skipped_until_it_is_the_last_resort() {
        let c = cluster(2);
        c.mark_down(1);
        for _ in 0..4 {
            assert_eq!(c.pick(&[]), Some(0));
        }
        // A healthy instance, even one tried already, comes before a down one.
        assert_eq!(c.pick(&[0]), Some(0));
        // Both down: the untried one, rather than nothing.
        c.mark_down(0);
        assert_eq!(c.pick(&[0]), Some(1));
        assert_eq!(c.pick(&[1]), Some(0));
        c.mark_up(0);
        c.mark_up(1);
        assert!(c.instances.iter().all(|i| i.is_up()));
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
