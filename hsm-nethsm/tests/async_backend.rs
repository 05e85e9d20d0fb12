//! `AsyncNetHsm`, the native async backend, against the simulator: the hsm-core conformance
//! suite, one handle shared by many tasks, `health()` in every device state, `OpenOptions`
//! given in code, and `sign_many` keeping requests in flight (async and blocking). (No thread per call: `tests/async_threads.rs`, alone in its process.)
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use hsm_core::asynchronous::BlockingOverAsync;
use hsm_core::conformance::{Config, run};
use hsm_core::runtime::BlockingRuntime;
use hsm_core::secret::SecretString;
use hsm_core::{
    AsyncHsm, AsyncSigner as _, ErrorKind, KeyStore as _, OpenOptions, PublicKey, SignAlgorithm,
    Signature, Signer as _,
};
use hsm_nethsm::sim::{ADMIN_PASSPHRASE, OPERATOR_PASSPHRASE, SimConfig, Simulator};
use hsm_nethsm::{AsyncNetHsm, NetHsm};
use support::{authentication_failure, p256_key_async, service_runtime, sim_client};

const ALGORITHM: SignAlgorithm = SignAlgorithm::EcdsaSha256;

#[test]
fn the_async_backend_passes_the_conformance_suite() {
    let runtime = BlockingRuntime::new("hsm-nethsm-test").unwrap();
    // open_async starts the simulator on the current runtime: this one.
    let hsm = {
        let _entered = runtime.handle().unwrap().enter();
        hsm_nethsm::open_async("nethsm+sim:").unwrap()
    };
    let blocking = BlockingOverAsync::new(Arc::new(hsm), Arc::new(runtime));
    let report = run(&blocking, &Config::new("aconf")).unwrap_or_else(|f| panic!("{f}"));
    assert!(report.passed.len() > 100, "{report}");
}

#[test]
fn one_clone_able_handle_serves_many_tasks_with_one_key_cache_and_pool() {
    let runtime = service_runtime();
    let hsm = {
        let _entered = runtime.enter();
        hsm_nethsm::open_async("nethsm+sim:").unwrap()
    };
    let shared: Arc<dyn AsyncHsm> = Arc::new(hsm.clone());
    runtime.block_on(async {
        let key = p256_key_async(&hsm, "sharedhandle").await;
        let public = hsm.public_key(&key).await.unwrap();
        let sim = hsm.simulator().unwrap();
        let (requests, connections) = (sim.requests(), sim.connections());
        let mut tasks = tokio::task::JoinSet::new();
        for t in 0..32u8 {
            // Half the tasks hold a clone of the handle, half the same handle as a trait object.
            let (clone, shared, key) = (hsm.clone(), Arc::clone(&shared), key.clone());
            let _ = tasks.spawn(async move {
                let mut out = Vec::new();
                for i in 0..20u8 {
                    let message = vec![t, i];
                    let signature = if t % 2 == 0 {
                        clone.sign(&key, ALGORITHM, &message).await
                    } else {
                        shared.sign(&key, ALGORITHM, &message).await
                    };
                    out.push((message, signature.unwrap()));
                }
                out
            });
        }
        let mut signed = 0;
        while let Some(done) = tasks.join_next().await {
            for (message, signature) in done.unwrap() {
                public.verify(&message, &signature).unwrap();
                signed += 1;
            }
        }
        assert_eq!(signed, 640);
        // Exactly one request per signature: no clone looked the key up again.
        assert_eq!(sim.requests() - requests, 640);
        let opened = sim.connections() - connections;
        eprintln!("32 tasks, 640 signatures: {opened} new connections");
        assert!(opened <= 64, "{opened} connections for 32 tasks");
    });
}

#[test]
fn health_is_ok_only_for_an_operational_device_and_accepted_credentials() {
    let runtime = service_runtime();
    let _entered = runtime.enter();
    let healthy = hsm_nethsm::open_async("nethsm+sim:").unwrap();
    runtime.block_on(healthy.health()).unwrap();
    // The blocking type answers the same.
    let blocking = hsm_nethsm::open("nethsm+sim:").unwrap();
    blocking.health().unwrap();

    let fresh = hsm_nethsm::open_async("nethsm+sim:?state=unprovisioned").unwrap();
    let e = runtime.block_on(fresh.health()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidState, "{e}");

    // Locked by its administrator.
    let sim = healthy.simulator().unwrap();
    let admin = sim_client(sim, "admin", ADMIN_PASSPHRASE);
    runtime.block_on(admin.lock()).unwrap();
    let e = runtime.block_on(healthy.health()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidState, "{e}");

    // Operational, but the password is wrong: not ready for this handle.
    let wrong = hsm_nethsm::open_async_with(
        "nethsm+sim:",
        OpenOptions::new().credential(SecretString::from("not the passphrase")),
    )
    .unwrap();
    let _ = authentication_failure(runtime.block_on(wrong.health()));
}

#[test]
fn options_in_code_open_a_device_and_an_option_given_twice_is_refused() {
    let server = tokio::runtime::Runtime::new().unwrap();
    let sim = Simulator::start(SimConfig::default(), server.handle()).unwrap();
    let pin = hex::encode(sim.tls_options().pin_sha256[0]);
    let port = sim.addr().port();
    let runtime = service_runtime();
    let from_vault = || SecretString::from(OPERATOR_PASSPHRASE);

    // The credential from code: no environment variable, no password in the URI.
    let uri = format!("nethsm://operator@127.0.0.1:{port}?pin-sha256={pin}");
    let hsm =
        hsm_nethsm::open_async_with(&uri, OpenOptions::new().credential(from_vault())).unwrap();
    runtime.block_on(hsm.health()).unwrap();
    // The user from code too, and the other options.
    let uri = format!("nethsm://127.0.0.1:{port}?pin-sha256={pin}&max-in-flight=2");
    let options = OpenOptions::new()
        .user("operator")
        .credential(from_vault())
        .timeout(Duration::from_secs(5))
        .connect_timeout(Duration::from_secs(2))
        .retries(1);
    let limited = hsm_nethsm::open_async_with(&uri, options.clone()).unwrap();
    let admin = AsyncNetHsm::new(sim_client(&sim, "admin", ADMIN_PASSPHRASE));
    runtime.block_on(async {
        let key = p256_key_async(&admin, "optionsincode").await;
        sim.reset_max_in_flight();
        let messages: Vec<Vec<u8>> = (0..20u8).map(|i| vec![i]).collect();
        let refs: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
        for r in limited.sign_many(&key, ALGORITHM, &refs).await {
            r.unwrap();
        }
    });
    // max-in-flight=2 from the URI: never more than two requests at once.
    assert!(
        (1..=2).contains(&sim.max_in_flight()),
        "{}",
        sim.max_in_flight()
    );
    // The blocking type takes the same options.
    hsm_nethsm::open_with(&uri, options.clone())
        .unwrap()
        .health()
        .unwrap();

    // Given twice: refused, naming the option, never showing the secret.
    let twice = format!("nethsm://operator:inline-secret@127.0.0.1:{port}?pin-sha256={pin}");
    let e = hsm_nethsm::open_async_with(&twice, OpenOptions::new().credential(from_vault()))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(e.to_string().contains("credential"), "{e}");
    assert!(!e.to_string().contains("inline-secret"), "{e}");
    let twice = format!("{uri}&timeout-ms=100");
    let e = hsm_nethsm::open_with(&twice, options).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(e.to_string().contains("timeout"), "{e}");
    // No password anywhere: named.
    let e = hsm_nethsm::open_async(&format!("nethsm://operator@127.0.0.1:{port}")).unwrap_err();
    assert!(e.to_string().contains("password"), "{e}");
}

/// Checks a `sign_many` batch: one result per message, in order (the signature at `i`
/// verifies for message `i`, and every message differs), every one a valid signature.
fn assert_signed_in_order(
    public: &PublicKey,
    messages: &[Vec<u8>],
    results: Vec<hsm_core::Result<Signature>>,
) {
    assert_eq!(results.len(), messages.len());
    for (i, (message, result)) in messages.iter().zip(results).enumerate() {
        let verified = result.and_then(|signature| public.verify(message, &signature));
        assert!(verified.is_ok(), "message {i}: {verified:?}");
    }
}

/// The README's "`sign_many` with requests in flight": with 20 ms added to every answer, a
/// batch of 32 messages under `max_in_flight = 8` has at least 4 (and never more than 8)
/// requests at the simulator at once, through the async handle and through the blocking one.
/// A batch sent one request after another would have 1.
#[test]
fn sign_many_keeps_requests_in_flight() {
    const MESSAGES: u8 = 32;
    const LIMIT: usize = 8;
    let server = tokio::runtime::Runtime::new().unwrap();
    let config = SimConfig {
        latency: Duration::from_millis(20),
        ..SimConfig::default()
    };
    let sim = Simulator::start(config, server.handle()).unwrap();
    let runtime = service_runtime();
    let admin = AsyncNetHsm::new(sim_client(&sim, "admin", ADMIN_PASSPHRASE));
    let key = runtime.block_on(p256_key_async(&admin, "inflight"));
    let public = runtime.block_on(admin.public_key(&key)).unwrap();
    let messages: Vec<Vec<u8>> = (0..MESSAGES)
        .map(|i| format!("batch {i}").into_bytes())
        .collect();
    let refs: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
    let operator = || sim_client(&sim, "operator", OPERATOR_PASSPHRASE);
    let in_flight_range = |through: &str| {
        let most = sim.max_in_flight();
        assert!(
            (4..=LIMIT as u64).contains(&most),
            "{through}: {most} requests in flight at once (limit {LIMIT})"
        );
        most
    };

    let asynchronous = AsyncNetHsm::new(operator()).with_max_in_flight(LIMIT);
    sim.reset_max_in_flight();
    let results = runtime.block_on(asynchronous.sign_many(&key, ALGORITHM, &refs));
    let async_most = in_flight_range("AsyncNetHsm");
    assert_signed_in_order(&public, &messages, results);

    let blocking = NetHsm::new(operator()).unwrap().with_max_in_flight(LIMIT);
    sim.reset_max_in_flight();
    let results = blocking.sign_many(&key, ALGORITHM, &refs);
    let blocking_most = in_flight_range("NetHsm");
    assert_signed_in_order(&public, &messages, results);
    eprintln!(
        "sign_many of {MESSAGES}, limit {LIMIT}: {async_most} (async), {blocking_most} (blocking) in flight at most"
    );
}
