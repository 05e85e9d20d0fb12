//! `random()`: bytes from the device's generator (`getrandom`), split into requests of at most
//! `MAX_RANDOM_PER_REQUEST` bytes, with hsm-core's limit and the device's failures.
#![cfg(feature = "sim")]
#![allow(clippy::unwrap_used)]

use hsm_core::{AsyncKeyStore, ErrorKind, MAX_RANDOM_LEN};
use hsm_n200::AsyncN200;
use hsm_n200::protocol::model::MAX_RANDOM_PER_REQUEST;
use hsm_n200::sim::Fault;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn sim_backend() -> AsyncN200 {
    hsm_n200::open_async("n200+sim:").unwrap()
}

#[test]
fn random_gives_the_length_asked_for_in_device_sized_requests() {
    let n200 = sim_backend();
    let sim = n200.simulator().unwrap();
    assert!(AsyncKeyStore::capabilities(&n200).random);
    let rt = rt();
    for (len, requests) in [
        (0, 0),
        (1, 1),
        (32, 1),
        (MAX_RANDOM_PER_REQUEST, 1),
        (MAX_RANDOM_PER_REQUEST + 1, 2),
        (
            MAX_RANDOM_LEN,
            MAX_RANDOM_LEN.div_ceil(MAX_RANDOM_PER_REQUEST),
        ),
    ] {
        let before = sim.requests();
        let bytes = rt.block_on(n200.random(len)).unwrap();
        assert_eq!(bytes.len(), len);
        assert_eq!(sim.requests() - before, requests as u64, "random({len})");
    }
    // Through the async trait too; two draws differ, and neither is all zeros.
    let a = rt.block_on(AsyncKeyStore::random(&n200, 32)).unwrap();
    let b = rt.block_on(AsyncKeyStore::random(&n200, 32)).unwrap();
    assert_ne!(a, b);
    assert!(a.iter().any(|&x| x != 0) && b.iter().any(|&x| x != 0));
    // A long draw is not one request's bytes repeated.
    let long = rt
        .block_on(n200.random(2 * MAX_RANDOM_PER_REQUEST))
        .unwrap();
    let (first, second) = long.split_at(MAX_RANDOM_PER_REQUEST);
    assert_ne!(first, second);
}

#[test]
fn too_much_is_invalid_input_and_nothing_is_sent() {
    let n200 = sim_backend();
    let sim = n200.simulator().unwrap();
    let before = sim.requests();
    let e = rt().block_on(n200.random(MAX_RANDOM_LEN + 1)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert_eq!(e.operation(), "n200.random");
    assert_eq!(sim.requests(), before);
}

#[test]
fn a_failing_generator_is_a_device_error_never_zeros() {
    // No repeats: the 500 of the failing generator comes back as it is.
    let options = hsm_core::OpenOptions::new().retries(0);
    let n200 = hsm_n200::open_async_with("n200+sim:", options).unwrap();
    let sim = n200.simulator().unwrap();
    // The second request of a two-request draw meets the failure: no partial result.
    sim.inject([Fault::Pass, Fault::RandomFails]);
    let e = rt()
        .block_on(n200.random(MAX_RANDOM_PER_REQUEST + 1))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Device, "{e}");
    assert_eq!(e.operation(), "n200.random");
    assert_eq!(e.status(), Some(&hsm_core::DeviceStatus::Http(500)));
    assert_eq!(rt().block_on(n200.random(16)).unwrap().len(), 16);
}

#[test]
fn the_blocking_backend_draws_through_the_async_one() {
    let n200 = hsm_n200::open("n200+sim:").unwrap();
    assert!(hsm_core::KeyStore::capabilities(&n200).random);
    let sim = n200.simulator().unwrap();
    let before = sim.requests();
    let a = hsm_core::KeyStore::random(&n200, MAX_RANDOM_PER_REQUEST + 1).unwrap();
    let b = hsm_core::KeyStore::random(&n200, MAX_RANDOM_PER_REQUEST + 1).unwrap();
    assert_eq!(a.len(), MAX_RANDOM_PER_REQUEST + 1);
    assert_ne!(a, b);
    assert_eq!(sim.requests() - before, 4, "two requests per draw");
    let e = hsm_core::KeyStore::random(&n200, MAX_RANDOM_LEN + 1).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
}
