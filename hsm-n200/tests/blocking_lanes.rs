//! The blocking `N200` with thread lanes, on by default from `open`/`open_with`: each plain
//! thread that signs drives a connection of its own; the lanes of exited threads wait, warm,
//! for the next threads (no new connection); dropping the handle closes them; no thread is
//! left behind. In a file of its own, so that no other test's threads and sockets come and go
//! in the same process; its tests run one at a time.
#![cfg(feature = "sim")]
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use hsm_core::{KeyId, KeyStore as _, OpenOptions, SignAlgorithm, Signer as _};
use hsm_n200::N200;
use hsm_n200::sim::{SimConfig, Simulator};

mod common;
use common::{device_uri, p256_key};

const ALGORITHM: SignAlgorithm = SignAlgorithm::EcdsaSha256;
const THREADS: usize = 4;

/// One test at a time: each counts the process's threads and sockets.
static ALONE: Mutex<()> = Mutex::new(());

/// The ids of this process's threads now.
fn thread_ids() -> BTreeSet<u64> {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect()
}

/// The names of the threads `ids`.
fn thread_names<'a>(ids: impl Iterator<Item = &'a u64>) -> Vec<String> {
    ids.map(|id| {
        std::fs::read_to_string(format!("/proc/self/task/{id}/comm"))
            .unwrap_or_default()
            .trim()
            .to_owned()
    })
    .collect()
}

/// The open sockets of this process (client and simulator sides).
fn sockets() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|target| target.to_string_lossy().starts_with("socket:"))
        .count()
}

/// Waits (up to 5 s) until `done` holds; whether it did.
fn eventually(mut done: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    while !done() {
        if started.elapsed() > Duration::from_secs(5) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

/// Signs `per_thread` messages from each of `threads` plain threads, every signature verified;
/// the lanes each thread saw while all were alive.
fn sign_from_threads(hsm: &N200, key: &KeyId, threads: usize, per_thread: usize) -> Vec<usize> {
    let public = hsm.public_key(key).unwrap();
    let lanes_seen = Mutex::new(Vec::new());
    // The threads end together, so none exits (and pools its lane for another) early.
    let together = std::sync::Barrier::new(threads);
    std::thread::scope(|scope| {
        for t in 0..threads {
            let (public, lanes_seen, together) = (&public, &lanes_seen, &together);
            let _ = scope.spawn(move || {
                for i in 0..per_thread {
                    let message = format!("{t}/{i}");
                    let signature = hsm.sign(key, ALGORITHM, message.as_bytes()).unwrap();
                    public.verify(message.as_bytes(), &signature).unwrap();
                }
                lanes_seen.lock().unwrap().push(hsm.thread_lanes());
                let _ = together.wait();
            });
        }
    });
    lanes_seen.into_inner().unwrap()
}

#[test]
fn a_handle_from_open_signs_from_plain_threads_on_lanes_of_their_own() {
    let _alone = ALONE.lock().unwrap_or_else(PoisonError::into_inner);
    let hsm = hsm_n200::open("n200+sim:").unwrap();
    let key = p256_key(&hsm, "openlanes");
    let sim = hsm.simulator().unwrap();
    let connections_before = sim.connections();
    let lanes_seen = sign_from_threads(&hsm, &key, THREADS, 100);
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
    assert_eq!(sign_from_threads(&shared, &key, 2, 5), [0, 0]);
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
    let lanes_seen = sign_from_threads(&hsm, &key, THREADS, 50);
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
    let lanes_seen = sign_from_threads(&hsm, &key, THREADS, 5);
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
