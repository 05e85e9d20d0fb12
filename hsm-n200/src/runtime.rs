//! The private tokio runtime behind the blocking API: one per client, shared by every thread
//! and every core-bound copy of the client.

use std::future::Future;

use hsm_core::{Error, ErrorKind, Result};

/// A multi-thread runtime, shut down without blocking when dropped (so dropping a client inside
/// an async context does not panic).
#[derive(Debug)]
pub(crate) struct Runtime(Option<tokio::runtime::Runtime>);

impl Runtime {
    pub(crate) fn new() -> Result<Self> {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("hsm-n200")
            .enable_all()
            .build()
            .map(|rt| Self(Some(rt)))
            .map_err(|e| {
                Error::new(ErrorKind::Unavailable, "n200.runtime")
                    .with_message("cannot start the client runtime")
                    .with_source(e)
            })
    }

    fn get(&self) -> Result<&tokio::runtime::Runtime> {
        self.0
            .as_ref()
            .ok_or_else(|| Error::new(ErrorKind::InvalidState, "n200.runtime"))
    }

    /// Runs `future` from blocking code. Inside a caller's own tokio runtime (where a nested
    /// `block_on` would panic) it runs from a scoped helper thread.
    pub(crate) fn block_on<F>(&self, future: F) -> Result<F::Output>
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
                Error::new(ErrorKind::Device, "n200.runtime")
                    .with_message("the request thread panicked")
            })
        })
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}
