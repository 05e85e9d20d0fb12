//! The private tokio runtime behind the blocking traits: one per backend, shared by every
//! thread that calls it, and safe to call from inside a caller's own runtime.

use std::future::Future;

use hsm_core::{Error, ErrorKind, Result};

/// Owns a multi-thread runtime and shuts it down without blocking when dropped (so dropping a
/// backend inside an async context does not panic).
#[derive(Debug)]
pub(crate) struct Runtime(Option<tokio::runtime::Runtime>);

impl Runtime {
    pub(crate) fn new() -> Result<Self> {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("hsm-nethsm")
            .enable_all()
            .build()
            .map(|rt| Self(Some(rt)))
            .map_err(|e| {
                Error::new(ErrorKind::Unavailable, "nethsm.runtime")
                    .with_message("cannot start the client runtime")
                    .with_source(e)
            })
    }

    fn get(&self) -> Result<&tokio::runtime::Runtime> {
        self.0
            .as_ref()
            .ok_or_else(|| Error::new(ErrorKind::InvalidState, "nethsm.runtime"))
    }

    /// A handle to spawn on (the in-process simulator runs on it).
    #[cfg(feature = "sim")]
    pub(crate) fn handle(&self) -> Result<tokio::runtime::Handle> {
        self.get().map(|rt| rt.handle().clone())
    }

    /// Runs `future` to completion from blocking code. Inside a caller's tokio runtime (where a
    /// nested `block_on` would panic) the future runs from a scoped helper thread instead.
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
                Error::new(ErrorKind::Device, "nethsm.runtime")
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
