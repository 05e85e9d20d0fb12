//! The plumbing of a bounded soak: its length, its threads, and the descriptors it must not leak.

use std::time::Instant;

use crate::{KeyId, PublicKey, SignAlgorithm, Signer};

/// The soak's length in seconds: `HSM_SOAK_SECS` if it is set to a number, else `default`.
pub fn soak_secs(default: u64) -> u64 {
    env_number("HSM_SOAK_SECS").unwrap_or(default)
}

/// Threads per signer: `HSM_SOAK_THREADS` if it is set to a positive number, else `default`.
pub fn soak_threads(default: usize) -> usize {
    env_number("HSM_SOAK_THREADS")
        .filter(|n| *n > 0)
        .unwrap_or(default)
}

fn env_number<T: std::str::FromStr>(name: &str) -> Option<T> {
    std::env::var(name).ok()?.parse().ok()
}

/// The number of file descriptors this process has open (the entries of `/proc/self/fd`; the
/// one `read_dir` itself holds is counted, the same at every call).
///
/// # Errors
///
/// If `/proc/self/fd` cannot be read (not Linux, no procfs).
pub fn open_fds() -> std::io::Result<usize> {
    Ok(std::fs::read_dir("/proc/self/fd")?.count())
}

/// What a [`fan_out`] did: calls that succeeded and calls that failed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Calls that returned `Ok`.
    pub ok: u64,
    /// Calls that returned `Err` (each printed to stderr).
    pub failed: u64,
}

/// Runs `work(thread, iteration)` in a loop on each of `threads` scoped threads until
/// `deadline` (a deadline already past runs nothing), and counts the results. Each error is
/// printed to stderr with its thread and iteration. `work` may borrow from the caller.
///
/// # Panics
///
/// If `work` panics on a thread: the panic is resumed here.
pub fn fan_out<F>(threads: usize, deadline: Instant, work: F) -> Tally
where
    F: Fn(usize, usize) -> Result<(), String> + Sync,
{
    let work = &work;
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|thread| {
                scope.spawn(move || {
                    let mut tally = Tally::default();
                    let mut iteration = 0;
                    while Instant::now() < deadline {
                        match work(thread, iteration) {
                            Ok(()) => tally.ok += 1,
                            Err(e) => {
                                #[allow(clippy::print_stderr, reason = "the soak's error report")]
                                {
                                    eprintln!("thread {thread}, call {iteration}: {e}");
                                }
                                tally.failed += 1;
                            }
                        }
                        iteration += 1;
                    }
                    tally
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| {
                worker
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .fold(Tally::default(), |sum, t| Tally {
                ok: sum.ok + t.ok,
                failed: sum.failed + t.failed,
            })
    })
}

/// Signs `message` with `key` and verifies the signature with `public`; the error says which
/// key and algorithm failed and how.
///
/// # Errors
///
/// The signer's error, or the verification's, as text.
pub fn sign_and_verify<S: Signer + ?Sized>(
    signer: &S,
    key: &KeyId,
    algorithm: SignAlgorithm,
    public: &PublicKey,
    message: &[u8],
) -> Result<(), String> {
    let signature = signer
        .sign(key, algorithm, message)
        .map_err(|e| format!("{key} {algorithm}: {e}"))?;
    public
        .verify(message, &signature)
        .map_err(|e| format!("{key} {algorithm}: the signature does not verify: {e}"))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    use super::{Tally, fan_out, open_fds, soak_secs, soak_threads};

    #[test]
    fn fan_out_counts_successes_and_failures_across_threads() {
        let threads_seen = AtomicUsize::new(0);
        let tally = fan_out(3, Instant::now() + Duration::from_millis(50), |t, i| {
            if i == 0 {
                let _ = threads_seen.fetch_or(1 << t, Ordering::Relaxed);
            }
            std::thread::sleep(Duration::from_millis(1));
            if i % 2 == 0 {
                Ok(())
            } else {
                Err(format!("odd call {i}"))
            }
        });
        assert_eq!(threads_seen.load(Ordering::Relaxed), 0b111);
        assert!(tally.ok >= 3 && tally.failed >= 3, "{tally:?}");
        assert!(tally.ok.abs_diff(tally.failed) <= 3, "{tally:?}");
    }

    #[test]
    fn a_past_deadline_runs_nothing() {
        let tally = fan_out(2, Instant::now(), |_, _| Err("ran".into()));
        assert_eq!(tally, Tally::default());
    }

    #[test]
    fn open_fds_sees_a_new_descriptor() {
        let before = open_fds().unwrap();
        let file = tempfile::tempfile().unwrap();
        assert_eq!(open_fds().unwrap(), before + 1);
        drop(file);
        assert_eq!(open_fds().unwrap(), before);
    }

    #[test]
    fn defaults_apply_without_the_variables() {
        // The variables are only read, never set, here: a CI run with them set checks them.
        let secs = soak_secs(17);
        match std::env::var("HSM_SOAK_SECS")
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
        {
            Some(n) => assert_eq!(secs, n),
            None => assert_eq!(secs, 17),
        }
        assert!(soak_threads(5) > 0);
    }
}
