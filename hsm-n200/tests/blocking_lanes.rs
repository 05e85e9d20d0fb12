//! The blocking `N200` with thread lanes, on by default from `open`/`open_with`: each plain
//! thread that signs drives a connection of its own; the lanes of exited threads wait, warm,
//! for the next threads (no new connection); dropping the handle closes them; no thread is
//! left behind. In a file of its own, so that no other test's threads and sockets come and go
//! in the same process; its tests run one at a time.
#![cfg(feature = "sim")]
#![allow(clippy::unwrap_used)]

use std::sync::{Mutex, PoisonError};

use hsm_core::{KeyId, OpenOptions, SignAlgorithm};
use hsm_n200::N200;
use hsm_n200::sim::{SimConfig, Simulator};
use hsm_testkit::process::{eventually, sign_from_threads, sockets, thread_ids, thread_names};

mod common;
use common::{device_uri, p256_key};

const ALGORITHM: SignAlgorithm = SignAlgorithm::EcdsaSha256;
const THREADS: usize = 4;

/// One test at a time: each counts the process's threads and sockets.
static ALONE: Mutex<()> = Mutex::new(());

/// [`sign_from_threads`] through `hsm`, seeing its thread lanes.
fn sign_on_threads(hsm: &N200, key: &KeyId, threads: usize, per_thread: usize) -> Vec<usize> {
    sign_from_threads(
        hsm,
        key,
        ALGORITHM,
        (threads, per_thread),
        N200::thread_lanes,
    )
}

#[test]
fn a_handle_from_open_signs_from_plain_threads_on_lanes_of_their_own() {
    let _alone = ALONE.lock().unwrap_or_else(PoisonError::into_inner);
    let hsm = hsm_n200::open("n200+sim:").unwrap();
    let key = p256_key(&hsm, "openlanes");
    let sim = hsm.simulator().unwrap();
    let connections_before = sim.connections();
    let lanes_seen = sign_on_threads(&hsm, &key, THREADS, 100);
    assert!(
        lanes_seen.iter().all(|&n| n >= 2),
        "every signing thread had a lane besides the main thread's: {lanes_seen:?}"
    );
    // The main thread's lane (its public key) and one per signing thread.
    assert_eq!(
        sim.connections() - connections_before,
        THREADS as u64 + 1,
        "one connection of its own per lane"
    );
    assert!(
        eventually(|| hsm.thread_lanes() == 1),
        "only the main thread holds a lane once the others have exited"
    );

    // Turned off, the same calls go through the shared runtime: no lane.
    let shared = hsm_n200::open("n200+sim:").unwrap().with_thread_lanes(0);
    let key = p256_key(&shared, "nolanes");
    assert_eq!(sign_on_threads(&shared, &key, 2, 5), [0, 0]);
}

#[test]
fn a_second_round_of_threads_takes_the_pooled_lanes_and_a_drop_closes_them() {
    let _alone = ALONE.lock().unwrap_or_else(PoisonError::into_inner);
    // A simulator apart from the handle (so the drop below closes only the client's side),
    // opened as a device through `open_with`: lanes are on by default there too.
    let sim = Simulator::start(SimConfig::new()).unwrap();
    let sockets_before = sockets();
    let threads_before = thread_ids();
    let hsm = hsm_n200::open_with(
        &device_uri(&sim, true, true),
        OpenOptions::new().credential(sim.password()),
    )
    .unwrap();
    let key = p256_key(&hsm, "pooled");

    let connections_before = sim.connections();
    let lanes_seen = sign_on_threads(&hsm, &key, THREADS, 50);
    assert!(lanes_seen.iter().all(|&n| n >= 2), "{lanes_seen:?}");
    let first_round = sim.connections() - connections_before;
    assert_eq!(first_round, THREADS as u64 + 1, "one connection per lane");
    // The threads have exited: their lanes wait in the idle pool with their connections.
    assert!(
        eventually(|| hsm.thread_lanes() == 1),
        "only the main thread holds a lane"
    );

    // New threads take the pooled lanes over: no new connection.
    let pooled = sim.connections();
    let lanes_seen = sign_on_threads(&hsm, &key, THREADS, 5);
    assert!(lanes_seen.iter().all(|&n| n >= 2), "{lanes_seen:?}");
    assert_eq!(
        sim.connections(),
        pooled,
        "the second round of threads used the pooled lanes' connections"
    );
    assert!(sockets() > sockets_before + THREADS, "the lanes' sockets");

    // Dropping the handle drops the pooled lanes and closes their connections, and no thread
    // of the handle (its runtime's, a lane's) is left behind.
    drop(hsm);
    assert!(
        eventually(|| sockets() <= sockets_before),
        "sockets after the drop: {}, {sockets_before} before",
        sockets()
    );
    // (The simulator stands for a device elsewhere: its runtime's threads, named `n200-sim`,
    // come and go as it likes.)
    let left_behind = || {
        thread_names(thread_ids().difference(&threads_before))
            .into_iter()
            .filter(|name| name != "n200-sim")
            .collect::<Vec<_>>()
    };
    assert!(
        eventually(|| left_behind().is_empty()),
        "threads left behind: {:?}",
        left_behind()
    );
}
