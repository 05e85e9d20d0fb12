//! Two simulators as one cluster (they share state, like replicated NetHSMs): under many
//! concurrent signers, an instance dies, stalls, or never completes a handshake; no signature
//! call fails, calls stay within their time bound, and a returning instance is used again.
#![allow(clippy::indexing_slicing, clippy::print_stderr, clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hsm_core::tls::TlsOptions;
use hsm_core::uri::BackendUri;
use hsm_core::{Curve, KeyId, KeySpec, KeyStore as _, KeyTemplate, SignAlgorithm, Signer as _};
use hsm_nethsm::sim::{
    ADMIN_PASSPHRASE, ADMIN_USER, OPERATOR_PASSPHRASE, OPERATOR_USER, SimConfig, Simulator,
};
use hsm_nethsm::{Credentials, NetHsm, NetHsmClient, RetryPolicy};
use secrecy::SecretString;

const TIMEOUT: Duration = Duration::from_millis(1000);

fn pin(sim: &Simulator) -> [u8; 32] {
    sim.tls_options().pin_sha256[0]
}

fn policy() -> RetryPolicy {
    RetryPolicy {
        backoff: Duration::from_millis(200),
        max_backoff: Duration::from_millis(800),
        retry_delay: Duration::from_millis(20),
        ..RetryPolicy::default()
    }
}

/// A backend over the two instances `a` and `b`, trusting both.
fn backend_of(a: &Simulator, b: &Simulator) -> NetHsm {
    backend(&[a.addr().port(), b.addr().port()], &[pin(a), pin(b)])
}

/// A backend over the given instances (operator signs, admin generates), trusting `pins`.
fn backend(ports: &[u16], pins: &[[u8; 32]]) -> NetHsm {
    let mut tls = TlsOptions::default();
    for p in pins {
        tls = tls.with_pin_sha256(*p);
    }
    let mut builder = NetHsmClient::builder("127.0.0.1", ports[0]);
    for port in &ports[1..] {
        builder = builder.instance("127.0.0.1", *port);
    }
    let client = builder
        .credentials(Credentials::new(
            OPERATOR_USER,
            SecretString::from(OPERATOR_PASSPHRASE),
        ))
        .tls(tls)
        .timeout(TIMEOUT)
        .connect_timeout(Duration::from_millis(500))
        .retry_policy(policy())
        .build()
        .unwrap();
    NetHsm::new(client).unwrap().with_admin(Credentials::new(
        ADMIN_USER,
        SecretString::from(ADMIN_PASSPHRASE),
    ))
}

/// Signers on `threads` threads until `stop`; counts signatures and failures, and the slowest
/// call. Every signature is verified.
struct Load {
    stop: Arc<AtomicBool>,
    signed: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
    slowest_ms: Arc<AtomicU64>,
    handles: Vec<std::thread::JoinHandle<()>>,
}

impl Load {
    fn start(hsm: &Arc<NetHsm>, key: &KeyId, threads: usize) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let signed = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));
        let slowest_ms = Arc::new(AtomicU64::new(0));
        let public = hsm.public_key(key).unwrap();
        let handles = (0..threads)
            .map(|t| {
                let (hsm, key, public) = (Arc::clone(hsm), key.clone(), public.clone());
                let (stop, signed, failed, slowest) = (
                    Arc::clone(&stop),
                    Arc::clone(&signed),
                    Arc::clone(&failed),
                    Arc::clone(&slowest_ms),
                );
                std::thread::spawn(move || {
                    let mut i = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        let message = format!("thread {t} message {i}");
                        let started = Instant::now();
                        match hsm.sign(&key, SignAlgorithm::EcdsaSha256, message.as_bytes()) {
                            Ok(sig) => {
                                public.verify(message.as_bytes(), &sig).unwrap();
                                let _ = signed.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(e) => {
                                eprintln!("sign failed: {e}");
                                let _ = failed.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        let ms = u64::try_from(started.elapsed().as_millis()).unwrap();
                        let _ = slowest.fetch_max(ms, Ordering::Relaxed);
                        i += 1;
                    }
                })
            })
            .collect();
        Self {
            stop,
            signed,
            failed,
            slowest_ms,
            handles,
        }
    }

    fn signed(&self) -> u64 {
        self.signed.load(Ordering::Relaxed)
    }

    /// Stops; returns (signed, failed, slowest call).
    fn finish(self) -> (u64, u64, Duration) {
        self.stop.store(true, Ordering::Relaxed);
        for h in self.handles {
            h.join().unwrap();
        }
        (
            self.signed.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
            Duration::from_millis(self.slowest_ms.load(Ordering::Relaxed)),
        )
    }
}

fn wait_until(limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    while started.elapsed() < limit {
        if condition() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

fn cluster() -> (tokio::runtime::Runtime, Simulator, Simulator) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let a = Simulator::start(SimConfig::default(), runtime.handle()).unwrap();
    let b = a
        .start_replica(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
        .unwrap();
    (runtime, a, b)
}

fn key(hsm: &NetHsm, name: &str) -> KeyId {
    let id: KeyId = name.parse().unwrap();
    hsm.generate_key(&KeyTemplate::new(id.clone(), KeySpec::Ec(Curve::P256)))
        .unwrap();
    id
}

#[test]
fn killing_one_instance_fails_no_signature_and_it_is_used_again_after_it_returns() {
    let (_runtime, a, mut b) = cluster();
    let hsm = Arc::new(backend_of(&a, &b));
    let id = key(&hsm, "clusterkill");
    let load = Load::start(&hsm, &id, 8);
    assert!(wait_until(Duration::from_secs(10), || load.signed() > 200));
    assert!(b.requests() > 20, "round-robin reaches the replica");

    b.stop();
    let at_kill = load.signed();
    assert!(wait_until(Duration::from_secs(10), || load.signed() > at_kill + 200));
    assert_eq!(hsm.client().instances_up(), [true, false]);

    b.resume().unwrap();
    let b_before = b.requests();
    // Back in rotation after a probe (backoff at most 800 ms here), then serving signatures.
    assert!(
        wait_until(Duration::from_secs(10), || b.requests() > b_before + 50),
        "the returned instance is used again"
    );
    assert_eq!(hsm.client().instances_up(), [true, true]);
    let (signed, failed, _) = load.finish();
    eprintln!("{signed} signatures, {failed} failed");
    assert_eq!(failed, 0);
}

#[test]
fn a_stalled_instance_costs_at_most_one_timeout_per_call() {
    let (_runtime, a, b) = cluster();
    let hsm = Arc::new(backend_of(&a, &b));
    let id = key(&hsm, "clusterstall");
    let load = Load::start(&hsm, &id, 6);
    assert!(wait_until(Duration::from_secs(10), || load.signed() > 100));
    b.set_stalled(true);
    let at_stall = load.signed();
    // Long enough for calls that were on the stalled instance to time out and fail over, and
    // for the re-probes (which the stall also times out) to keep it out of rotation.
    std::thread::sleep(TIMEOUT * 3);
    assert!(load.signed() > at_stall + 100);
    b.set_stalled(false);
    let (signed, failed, slowest) = load.finish();
    eprintln!("{signed} signatures, {failed} failed, slowest call {slowest:?}");
    assert_eq!(failed, 0);
    // One attempt's share of the budget on the stalled instance (a third: three attempts
    // allowed), then one request on the healthy one (loopback: milliseconds; the margin is
    // for a loaded 2-core machine).
    assert!(
        slowest < TIMEOUT + Duration::from_millis(700),
        "{slowest:?}"
    );
    assert!(
        slowest >= TIMEOUT / 3,
        "some call met the stall: {slowest:?}"
    );
}

/// The timeout is the whole call's: with one instance stalled, a call on a fresh handle (whose
/// first attempt may well go to the stalled one) fails over within its budget and succeeds;
/// no call takes much longer than the timeout, never an attempt's full timeout per instance.
#[test]
fn the_timeout_bounds_a_whole_call_that_fails_over() {
    let (_runtime, a, b) = cluster();
    let id = key(&backend_of(&a, &b), "budget");
    a.set_stalled(true);
    let stalled_before = a.requests();
    for round in 0..3 {
        // A fresh handle each time: no instance is known to be down yet.
        let hsm = backend_of(&a, &b);
        let started = Instant::now();
        let signature = hsm.sign(&id, SignAlgorithm::EcdsaSha256, b"budget");
        let took = started.elapsed();
        assert!(signature.is_ok(), "round {round}: {signature:?}");
        assert!(took < TIMEOUT * 3, "round {round}: {took:?}");
        // An attempt on the stalled instance gets a third of the budget (three attempts
        // allowed), so even a call that met the stall ends well before one full timeout.
        assert!(took < TIMEOUT, "round {round}: {took:?}");
    }
    assert!(
        a.requests() > stalled_before,
        "some attempt went to the stalled instance and failed over"
    );
    a.set_stalled(false);
}

/// With every instance stalled, the call fails with `Timeout` once its budget is spent: about
/// the timeout, not one timeout per attempt.
#[test]
fn a_call_to_a_stalled_cluster_times_out_within_its_budget() {
    let (_runtime, a, b) = cluster();
    let id = key(&backend_of(&a, &b), "allstalled");
    let hsm = backend_of(&a, &b);
    // Known to the handle, so the call below is the signature alone.
    let _ = hsm.public_key(&id).unwrap();
    a.set_stalled(true);
    b.set_stalled(true);
    let started = Instant::now();
    let e = hsm
        .sign(&id, SignAlgorithm::EcdsaSha256, b"nobody answers")
        .unwrap_err();
    let took = started.elapsed();
    assert_eq!(e.kind(), hsm_core::ErrorKind::Timeout, "{e}");
    // Three attempts of 1 s each took over 3 s before the timeout was the call's.
    assert!(took < TIMEOUT * 2, "{took:?}");
    assert!(
        took >= TIMEOUT / 2,
        "the budget was used, not given up at once: {took:?}"
    );
    a.set_stalled(false);
    b.set_stalled(false);
}

#[test]
fn an_instance_that_never_completes_the_handshake_costs_one_connect_timeout() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let a = Simulator::start(SimConfig::default(), runtime.handle()).unwrap();
    // Accepts TCP connections and never says a word.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let _held = std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in silent.incoming().take(64) {
            held.push(stream);
        }
        std::thread::sleep(Duration::from_secs(30));
    });
    let hsm = Arc::new(backend(&[silent_port, a.addr().port()], &[pin(&a)]));
    let id = key(&hsm, "silentpeer");
    let load = Load::start(&hsm, &id, 4);
    std::thread::sleep(Duration::from_secs(3));
    let (signed, failed, slowest) = load.finish();
    eprintln!("{signed} signatures, {failed} failed, slowest call {slowest:?}");
    assert_eq!(failed, 0);
    assert!(signed > 50);
    // The connect timeout is 500 ms.
    assert!(slowest < Duration::from_millis(1200), "{slowest:?}");
}

#[test]
fn a_cluster_uri_names_every_instance() {
    let (_runtime, a, b) = cluster();
    let pins = format!("{},{}", hex::encode(pin(&a)), hex::encode(pin(&b)));
    let uri = format!(
        "nethsm://operator:{OPERATOR_PASSPHRASE}@127.0.0.1:{}?cluster=127.0.0.1:{}&pin-sha256={pins}&timeout-ms=2000&connect-timeout-ms=500&admin=admin&admin-password={ADMIN_PASSPHRASE}",
        a.addr().port(),
        b.addr().port()
    );
    let hsm = NetHsm::open(BackendUri::parse(&uri).unwrap()).unwrap();
    let urls: Vec<String> = hsm
        .client()
        .instance_urls()
        .map(|u| u.to_string())
        .collect();
    assert_eq!(urls.len(), 2);
    assert!(urls[1].contains(&b.addr().port().to_string()));
    let id = key(&hsm, "clusteruri");
    let (a0, b0) = (a.requests(), b.requests());
    for i in 0..10u8 {
        hsm.sign(&id, SignAlgorithm::EcdsaSha256, &[i]).unwrap();
    }
    assert!(
        a.requests() >= a0 + 4 && b.requests() >= b0 + 4,
        "round-robin"
    );
}
