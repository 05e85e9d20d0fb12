//! What a test sees of its own process, for the tests that count threads and sockets (thread
//! lanes, connection pools): the threads and their names, the open sockets, a bounded wait, and
//! plain threads signing through a blocking backend.

use std::collections::BTreeSet;
use std::sync::{Barrier, Mutex, PoisonError};
use std::time::{Duration, Instant};

use hsm_core::{KeyId, KeyStore, SignAlgorithm, Signer};

/// The ids of this process's threads now.
#[must_use]
pub fn thread_ids() -> BTreeSet<u64> {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task lists the threads")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect()
}

/// The names of the threads `ids` (empty for a thread that has ended).
pub fn thread_names<'a>(ids: impl IntoIterator<Item = &'a u64>) -> Vec<String> {
    ids.into_iter()
        .map(|id| {
            std::fs::read_to_string(format!("/proc/self/task/{id}/comm"))
                .unwrap_or_default()
                .trim()
                .to_owned()
        })
        .collect()
}

/// The open sockets of this process (client and server sides).
#[must_use]
pub fn sockets() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd lists the descriptors")
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|target| target.to_string_lossy().starts_with("socket:"))
        .count()
}

/// Waits (up to 5 s, looking every 10 ms) until `done` holds; whether it did.
pub fn eventually(mut done: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    while !done() {
        if started.elapsed() > Duration::from_secs(5) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

/// Signs `per_thread` messages with `key` from each of `threads` plain threads through `hsm`,
/// verifying every signature with the key's public key; what `lanes` said (the backend's count
/// of thread lanes) in each thread after its signatures, while all the threads were alive (they
/// end together, so none gives its lane back early).
pub fn sign_from_threads<S: KeyStore + Signer + Sync + ?Sized>(
    hsm: &S,
    key: &KeyId,
    algorithm: SignAlgorithm,
    (threads, per_thread): (usize, usize),
    lanes: impl Fn(&S) -> usize + Sync,
) -> Vec<usize> {
    let public = hsm.public_key(key).expect("the key's public key");
    let lanes_seen = Mutex::new(Vec::new());
    let together = Barrier::new(threads);
    std::thread::scope(|scope| {
        for t in 0..threads {
            let (public, lanes_seen, together, lanes) = (&public, &lanes_seen, &together, &lanes);
            let _ = scope.spawn(move || {
                for i in 0..per_thread {
                    let message = format!("{t}/{i}");
                    let signature = hsm
                        .sign(key, algorithm, message.as_bytes())
                        .expect("a signature");
                    public
                        .verify(message.as_bytes(), &signature)
                        .expect("the signature verifies");
                }
                lanes_seen
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(lanes(hsm));
                let _ = together.wait();
            });
        }
    });
    lanes_seen
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner)
}
