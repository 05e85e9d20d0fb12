//! The backends' own threads, so that `C_Finalize` returns only once they are gone.
//!
//! The REST backends run their I/O on a private runtime whose threads carry the backend's name
//! (`hsm-nethsm`, `hsm-n200`). Dropping a backend tells those threads to stop but does not wait
//! for them, and a host that unloads the module after `C_Finalize` must not have threads left
//! running its code. So the module notes which such threads existed before it started (a host may
//! use hsm-rs itself), and after dropping its backends waits, for a bounded time, until every
//! other one has ended. Linux only (`/proc/self/task`); elsewhere there is nothing to wait for.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// The prefix the backends' runtime threads are named with.
const PREFIX: &str = "hsm-";

/// How long `C_Finalize` waits for the threads to end (they end within milliseconds).
const WAIT: Duration = Duration::from_secs(5);

/// The ids of this process's threads named like a backend's.
pub(crate) fn backend_threads() -> BTreeSet<String> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return BTreeSet::new();
    };
    tasks
        .flatten()
        .filter(|task| {
            std::fs::read_to_string(task.path().join("comm"))
                .is_ok_and(|name| name.starts_with(PREFIX))
        })
        .map(|task| task.file_name().to_string_lossy().into_owned())
        .collect()
}

/// Waits until every backend thread not in `before` has ended, at most [`WAIT`]; `false` (and a
/// warning in the log) if some are still there.
pub(crate) fn wait_for_end(before: &BTreeSet<String>) -> bool {
    let deadline = Instant::now() + WAIT;
    loop {
        let left: Vec<String> = backend_threads().difference(before).cloned().collect();
        if left.is_empty() {
            return true;
        }
        if Instant::now() >= deadline {
            tracing::warn!(
                threads = ?left,
                "C_Finalize: backend threads still running after {} s",
                WAIT.as_secs()
            );
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_named_thread_is_seen_until_it_ends() {
        let before = backend_threads();
        let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("hsm-unit-test".into())
            .spawn(move || {
                ready_tx.send(()).unwrap();
                let _ = stop_rx.recv();
            })
            .unwrap();
        ready_rx.recv().unwrap();
        assert!(backend_threads().difference(&before).count() >= 1);
        drop(stop_tx);
        thread.join().unwrap();
        assert!(wait_for_end(&before));
    }
}
