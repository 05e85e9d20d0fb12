//! Opening the N200 with `hsm_core::OpenOptions`: the password from code, the uniform time
//! limits, retries and calls in flight, blocking and async, and options given twice refused.
#![cfg(feature = "sim")]

use std::time::{Duration, Instant};

use hsm_core::secret::{ExposeSecret as _, SecretString};
use hsm_core::{ErrorKind, KeyStore as _, OpenOptions, SignAlgorithm, Signer as _};
use hsm_n200::sim::{Fault, SimConfig, Simulator};
use hsm_n200::{AsyncN200, N200};

mod common;
use common::{device_uri, p256_key, rt};

/// One `timestamp` through the blocking backend: exactly one command, idempotent.
fn timestamp(n200: &N200) -> hsm_core::Result<u64> {
    n200.block_on(n200.client().timestamp())
        .map(|t| t.unix_seconds)
}

#[test]
fn the_password_comes_from_code_blocking_and_async() {
    let sim = Simulator::start(SimConfig::random_credentials()).unwrap();
    let options = OpenOptions::new().credential(sim.password());
    let n200 = hsm_n200::open_with(&device_uri(&sim, true, true), options.clone()).unwrap();
    let key = p256_key(&n200, "from-code");
    let signature = n200.sign(&key, SignAlgorithm::EcdsaSha256, b"m").unwrap();
    n200.public_key(&key)
        .unwrap()
        .verify(b"m", &signature)
        .unwrap();

    // The user from code too; the async backend from the same URI and options.
    let both = OpenOptions::new()
        .user(sim.user())
        .credential(sim.password());
    let async_n200: AsyncN200 =
        hsm_n200::open_async_with(&device_uri(&sim, false, true), both).unwrap();
    let listed = rt().block_on(async_n200.list_keys()).unwrap();
    assert!(listed.iter().any(|k| k.id == key), "{listed:?}");

    // A wrong password from code is the device's refusal, not an open-time error.
    let wrong = OpenOptions::new().credential(SecretString::from("not-the-password"));
    let bad = hsm_n200::open_with(&device_uri(&sim, true, true), wrong).unwrap();
    assert!(bad.list_keys().unwrap_err().is_auth());

    // No password anywhere, or no user anywhere: refused when opening, saying where to put it.
    let e = hsm_n200::open_with(&device_uri(&sim, true, true), OpenOptions::new()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(e.to_string().contains("OpenOptions::credential"), "{e}");
    let e = hsm_n200::open_with(&device_uri(&sim, false, true), options).unwrap_err();
    assert!(e.to_string().contains("OpenOptions::user"), "{e}");
}

#[test]
fn the_simulator_accepts_the_user_and_password_given_in_code() {
    let options = OpenOptions::new()
        .user("svc")
        .credential(SecretString::from("from-the-vault"));
    let n200 = hsm_n200::open_with("n200+sim:", options.clone()).unwrap();
    let sim = n200.simulator().unwrap();
    assert_eq!(sim.user(), "svc");
    assert_eq!(sim.password().expose_secret(), "from-the-vault");
    assert!(timestamp(&n200).unwrap() > 1_600_000_000);
    let async_n200 = hsm_n200::open_async_with("n200+sim:", options).unwrap();
    assert_eq!(async_n200.simulator().unwrap().user(), "svc");
    assert!(rt().block_on(async_n200.list_keys()).unwrap().is_empty());
}

#[test]
fn options_given_in_code_and_in_the_uri_are_refused_naming_them() {
    let sim = Simulator::start(SimConfig::random_credentials()).unwrap();
    let uri = device_uri(&sim, true, true);
    let secret = "inline-secret-123";
    let cases: [(String, OpenOptions, &str); 5] = [
        (
            uri.replace("n200://pkmaster@", &format!("n200://pkmaster:{secret}@")),
            OpenOptions::new().credential(sim.password()),
            "credential",
        ),
        (
            format!("{uri}&timeout-ms=100"),
            OpenOptions::new().timeout(Duration::from_secs(1)),
            "timeout",
        ),
        (
            format!("{uri}&connect-timeout-ms=100"),
            OpenOptions::new().connect_timeout(Duration::from_secs(1)),
            "connect-timeout",
        ),
        (
            format!("{uri}&retries=1"),
            OpenOptions::new().retries(0),
            "retries",
        ),
        (
            format!("{uri}&max-in-flight=2"),
            OpenOptions::new().max_in_flight(4),
            "max-in-flight",
        ),
    ];
    for (uri, options, name) in cases {
        let options = options.credential(sim.password());
        let e = hsm_n200::open_with(&uri, options.clone()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{name}: {e}");
        assert_eq!(e.operation(), "n200.open", "{name}: {e}");
        assert!(e.to_string().contains(name), "{name}: {e}");
        assert!(!format!("{e:?}").contains(secret), "{e:?}");
        let e = hsm_n200::open_async_with(&uri, options).unwrap_err();
        assert!(e.to_string().contains(name), "async {name}: {e}");
    }
}

#[test]
fn the_timeout_is_the_whole_calls_budget_in_code_and_in_the_uri() {
    let sim = Simulator::start(SimConfig::random_credentials()).unwrap();
    let budget = Duration::from_millis(600);
    let from_code = hsm_n200::open_with(
        &device_uri(&sim, true, true),
        OpenOptions::new()
            .credential(sim.password())
            .timeout(budget)
            .retries(3),
    )
    .unwrap();
    let from_uri = hsm_n200::open_with(
        &format!("{}&timeout-ms=600&retries=3", device_uri(&sim, true, true)),
        OpenOptions::new().credential(sim.password()),
    )
    .unwrap();
    for n200 in [&from_code, &from_uri] {
        assert_eq!(n200.client().timeout(), budget);
        // Every attempt stalls: retries fit in the budget, the call never outlives it.
        sim.inject(vec![Fault::Stall; 4]);
        let started = Instant::now();
        let e = timestamp(n200).unwrap_err();
        let took = started.elapsed();
        assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
        assert!(took >= budget - Duration::from_millis(50), "{took:?}");
        assert!(took < budget * 2, "{took:?} for a budget of {budget:?}");
        while sim.pending_faults() > 0 {
            let _ = timestamp(n200);
        }
        assert!(timestamp(n200).is_ok());
    }
}

#[test]
fn retries_from_code_bound_the_repeats_of_idempotent_commands() {
    let sim = Simulator::start(SimConfig::random_credentials()).unwrap();
    let open = |retries: u32| {
        hsm_n200::open_with(
            &device_uri(&sim, true, true),
            OpenOptions::new()
                .credential(sim.password())
                .retries(retries),
        )
        .unwrap()
    };
    let none = open(0);
    sim.inject([Fault::Refuse(503)]);
    let before = sim.requests();
    assert_eq!(timestamp(&none).unwrap_err().kind(), ErrorKind::Unavailable);
    assert_eq!(sim.requests(), before + 1, "retries(0): one request");

    let two = open(2);
    sim.inject([Fault::Refuse(503), Fault::Refuse(502)]);
    let before = sim.requests();
    assert!(timestamp(&two).is_ok());
    assert_eq!(sim.requests(), before + 3, "retries(2): two repeats");
}

#[test]
fn the_connect_timeout_from_code_bounds_a_handshake_that_never_ends() {
    // A port that takes TCP connections (the kernel's backlog) but never speaks TLS.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let uri = format!(
        "n200://pkmaster@{}?server-name=seSAM-nserie-101&pin-sha256={}",
        silent.local_addr().unwrap(),
        "00".repeat(32)
    );
    let options = OpenOptions::new()
        .credential(SecretString::from("unused"))
        .timeout(Duration::from_secs(20))
        .retries(0);
    let n200 = hsm_n200::open_with(
        &uri,
        options.clone().connect_timeout(Duration::from_millis(300)),
    )
    .unwrap();
    let started = Instant::now();
    let e = timestamp(&n200).unwrap_err();
    let took = started.elapsed();
    assert!(
        matches!(e.kind(), ErrorKind::Timeout | ErrorKind::Unavailable),
        "{e}"
    );
    assert!(
        took < Duration::from_secs(3),
        "{took:?}: the connect timeout was not applied"
    );
    // The URI spelling works the same.
    let n200 = hsm_n200::open_with(&format!("{uri}&connect-timeout-ms=300"), options).unwrap();
    let started = Instant::now();
    assert!(timestamp(&n200).is_err());
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[test]
fn max_in_flight_from_code_bounds_sign_many() {
    let latency = Duration::from_millis(40);
    let elapsed = |calls: usize| {
        let n200 = hsm_n200::open_with(
            "n200+sim:?latency-ms=40",
            OpenOptions::new().max_in_flight(calls),
        )
        .unwrap();
        let key = p256_key(&n200, "batch");
        // Resolve the key first, so the batch is only signatures.
        let _ = n200
            .sign(&key, SignAlgorithm::EcdsaSha256, b"warm")
            .unwrap();
        let messages: Vec<&[u8]> = vec![&b"m"[..]; 8];
        let started = Instant::now();
        let results = n200.sign_many(&key, SignAlgorithm::EcdsaSha256, &messages);
        let took = started.elapsed();
        assert!(results.iter().all(Result::is_ok));
        took
    };
    let one_at_a_time = elapsed(1);
    let eight = elapsed(8);
    assert!(one_at_a_time >= latency * 8, "{one_at_a_time:?}");
    assert!(
        eight * 2 < one_at_a_time,
        "8 in flight {eight:?} vs 1 in flight {one_at_a_time:?}"
    );
}

/// What `hsm::open_async_with` does: open inside the caller's runtime (the simulator starts on
/// threads of its own), use the handle from tasks, and drop it there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opened_and_dropped_inside_a_tokio_runtime() {
    let n200 = hsm_n200::open_async_with("n200+sim:", OpenOptions::new().retries(1)).unwrap();
    let task = {
        let n200 = n200.clone();
        tokio::spawn(async move { n200.health().await })
    };
    task.await.unwrap().unwrap();
    assert_eq!(n200.random(8).await.unwrap().len(), 8);
    drop(n200);
}
