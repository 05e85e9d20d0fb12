//! Runtimes for blocking APIs built on async clients (feature `tokio`).
//!
//! The REST backends talk HTTP asynchronously but implement the blocking [`KeyStore`] and
//! [`Signer`] traits. Each backend owns one [`BlockingRuntime`], a small multi-thread runtime
//! shared by every thread that calls it, so a call from a plain thread costs no runtime start-up,
//! and calling from inside a caller's own tokio runtime does not panic. On that runtime a request
//! crosses threads twice (the caller hands it to a worker that owns the connection, the worker
//! hands the answer back); [`ThreadLanes`] avoid both hops for plain threads by giving each one
//! a current-thread runtime and a client of its own, driven on the caller's thread.
//! [`run_batch`] and [`run_in_order`] are the REST backends' batches (`sign_many`, listings): k
//! workers, each sending its next request as soon as its answer is in.
//!
//! [`KeyStore`]: crate::KeyStore
//! [`Signer`]: crate::Signer

mod batch;
mod lanes;

pub use self::batch::{run_batch, run_in_order};
pub use self::lanes::{DEFAULT_MAX_THREAD_LANES, IDLE_LANE, ThreadLane, ThreadLanes};

use std::borrow::Cow;
use std::fmt;
use std::future::Future;

use crate::{Error, ErrorKind, Result};

/// A multi-thread tokio runtime owned by a blocking client, shut down without blocking when
/// dropped (so dropping the client inside an async context does not panic).
pub struct BlockingRuntime {
    runtime: Option<tokio::runtime::Runtime>,
    name: &'static str,
}

impl fmt::Debug for BlockingRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockingRuntime")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl BlockingRuntime {
    /// Starts a runtime with two worker threads named `name` (e.g. `"hsm-nethsm"`); errors are
    /// reported as operation `"<name>.runtime"` (without the `hsm-` prefix).
    ///
    /// # Errors
    /// [`ErrorKind::Unavailable`] when the operating system refuses the threads.
    pub fn new(name: &'static str) -> Result<Self> {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name(name)
            .enable_all()
            .build()
            .map(|rt| Self {
                runtime: Some(rt),
                name,
            })
            .map_err(|e| {
                Error::new(ErrorKind::Unavailable, Self::operation(name))
                    .with_message("cannot start the client runtime")
                    .with_source(e)
            })
    }

    /// The name given to [`Self::new`] (its worker threads' name).
    #[must_use]
    pub fn name(&self) -> &'static str {
        self.name
    }

    fn operation(name: &'static str) -> Cow<'static, str> {
        Cow::Owned(format!(
            "{}.runtime",
            name.strip_prefix("hsm-").unwrap_or(name)
        ))
    }

    fn get(&self) -> Result<&tokio::runtime::Runtime> {
        self.runtime
            .as_ref()
            .ok_or_else(|| Error::new(ErrorKind::InvalidState, Self::operation(self.name)))
    }

    /// A handle to spawn tasks on (in-process simulators run on it).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidState`] once the runtime is shutting down.
    pub fn handle(&self) -> Result<tokio::runtime::Handle> {
        self.get().map(|rt| rt.handle().clone())
    }

    /// Runs `future` to completion from blocking code. Inside a caller's tokio runtime (where a
    /// nested `block_on` would panic) the future runs from a scoped helper thread instead.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidState`] once the runtime is shutting down; [`ErrorKind::Device`] if
    /// the future panicked on the helper thread.
    pub fn block_on<F>(&self, future: F) -> Result<F::Output>
    where
        F: Future + Send,
        F::Output: Send,
    {
        let rt = self.get()?;
        if tokio::runtime::Handle::try_current().is_err() {
            return Ok(rt.block_on(future));
        }
        std::thread::scope(|scope| {
            scope.spawn(|| rt.block_on(future)).join().map_err(|_| {
                Error::new(ErrorKind::Device, Self::operation(self.name))
                    .with_message("the request thread panicked")
            })
        })
    }
}

impl Drop for BlockingRuntime {
    /// Outside any async context the worker threads are joined (up to 5 s), so that dropping a
    /// client leaves no thread behind (a PKCS#11 module's `C_Finalize` relies on it); inside one,
    /// where blocking would panic, they are told to stop without waiting.
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            if tokio::runtime::Handle::try_current().is_ok() {
                rt.shutdown_background();
            } else {
                rt.shutdown_timeout(std::time::Duration::from_secs(5));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_from_plain_threads_and_from_inside_another_runtime() {
        let rt = BlockingRuntime::new("hsm-test").unwrap();
        assert_eq!(rt.block_on(async { 7 }).unwrap(), 7);
        let outer = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let inner = outer.block_on(async { rt.block_on(async { 8 }) }).unwrap();
        assert_eq!(inner, 8);
        assert!(format!("{rt:?}").contains("hsm-test"));
    }

    #[test]
    fn dropping_outside_an_async_context_leaves_no_worker_thread() {
        fn threads_named(prefix: &str) -> usize {
            std::fs::read_dir("/proc/self/task")
                .map(|tasks| {
                    tasks
                        .filter_map(|t| t.ok())
                        .filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok())
                        .filter(|name| name.starts_with(prefix))
                        .count()
                })
                .unwrap_or(0)
        }
        let rt = BlockingRuntime::new("hsm-join-test").unwrap();
        assert_eq!(rt.block_on(async { 1 }).unwrap(), 1);
        // A new thread takes its name once it first runs: wait until the workers show.
        let started = std::time::Instant::now();
        while threads_named("hsm-join-test") == 0 && started.elapsed().as_secs() < 5 {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(threads_named("hsm-join-test") > 0, "workers are running");
        drop(rt);
        // A worker reports that it has stopped just before its OS thread ends: allow it a moment
        // to be gone, bounded.
        let dropped = std::time::Instant::now();
        while threads_named("hsm-join-test") > 0 && dropped.elapsed().as_secs() < 5 {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(
            threads_named("hsm-join-test"),
            0,
            "no worker left after drop"
        );
    }

    #[test]
    fn dropping_inside_an_async_context_does_not_panic() {
        let rt = BlockingRuntime::new("hsm-test").unwrap();
        let outer = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        outer.block_on(async move { drop(rt) });
    }
}
