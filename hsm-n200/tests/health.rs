//! `health()`: one small request that proves the device answers and the password works, and
//! clear kinds when it does not (wrong password, nothing listening, no answer).
#![cfg(feature = "sim")]
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use hsm_core::secret::{ExposeSecret as _, SecretString};
use hsm_core::{AsyncKeyStore, ErrorKind, KeyStore, OpenOptions};
use hsm_n200::sim::{Fault, SimConfig, Simulator};
use hsm_n200::{AsyncN200, N200};

mod common;
use common::{device_uri, rt};

fn both(uri: &str, options: &OpenOptions) -> (AsyncN200, N200) {
    (
        hsm_n200::open_async_with(uri, options.clone()).unwrap(),
        hsm_n200::open_with(uri, options.clone()).unwrap(),
    )
}

#[test]
fn a_healthy_device_answers_one_small_request() {
    let sim = Simulator::start(SimConfig::new()).unwrap();
    let options = OpenOptions::new().credential(sim.password());
    let (async_n200, n200) = both(&device_uri(&sim, true, false), &options);
    let rt = rt();
    let before = sim.requests();
    rt.block_on(async_n200.health()).unwrap();
    assert_eq!(sim.requests(), before + 1, "one request, not a key listing");
    // The same through the async trait (a readiness probe holding `dyn AsyncHsm`).
    let probe: &dyn AsyncKeyStore = &async_n200;
    rt.block_on(probe.health()).unwrap();
    assert_eq!(sim.requests(), before + 2);
    // The blocking backend runs the same future: one request too.
    KeyStore::health(&n200).unwrap();
    assert_eq!(sim.requests(), before + 3);
}

#[test]
fn a_wrong_password_is_authentication_failed() {
    let sim = Simulator::start(SimConfig::new()).unwrap();
    let wrong = format!("{}-not", sim.password().expose_secret());
    let options = OpenOptions::new()
        .credential(SecretString::from(wrong.clone()))
        .retries(3);
    let (async_n200, n200) = both(&device_uri(&sim, true, false), &options);
    let before = sim.requests();
    let e = rt().block_on(async_n200.health()).unwrap_err();
    assert!(e.is_auth(), "{e}");
    assert_eq!(e.operation(), "n200.health");
    assert_eq!(
        sim.requests(),
        before + 1,
        "a refused password is never retried"
    );
    assert!(!format!("{e:?}").contains(&wrong));
    let e = KeyStore::health(&n200).unwrap_err();
    assert!(e.is_auth(), "{e}");
}

#[test]
fn nothing_listening_is_unavailable_and_soon() {
    // A port that was just free: connection refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let uri = format!(
        "n200://pkmaster@127.0.0.1:{port}?server-name=seSAM-nserie-101&pin-sha256={}",
        "00".repeat(32)
    );
    let options = OpenOptions::new()
        .credential(SecretString::from("unused"))
        .timeout(Duration::from_secs(10));
    let (async_n200, n200) = both(&uri, &options);
    let started = Instant::now();
    let e = rt().block_on(async_n200.health()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    assert_eq!(e.operation(), "n200.health");
    let e = KeyStore::health(&n200).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_device_that_does_not_answer_is_a_timeout_within_the_budget() {
    let sim = Simulator::start(SimConfig::new()).unwrap();
    let budget = Duration::from_millis(500);
    let options = OpenOptions::new()
        .credential(sim.password())
        .timeout(budget)
        .retries(0);
    let (async_n200, n200) = both(&device_uri(&sim, true, false), &options);
    sim.inject(Fault::Stall);
    let started = Instant::now();
    let e = rt().block_on(async_n200.health()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(started.elapsed() < budget * 2, "{:?}", started.elapsed());
    sim.inject(Fault::Stall);
    let e = KeyStore::health(&n200).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    // And healthy again once it answers.
    rt().block_on(async_n200.health()).unwrap();
}
