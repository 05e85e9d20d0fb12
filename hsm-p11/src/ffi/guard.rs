//! Every entry point runs inside [`guard`]: a panic becomes `CKR_GENERAL_ERROR` instead of
//! unwinding into C (which would abort the host process).

use std::panic::{AssertUnwindSafe, catch_unwind};

use cryptoki_sys::{CK_RV, CKR_GENERAL_ERROR, CKR_OK};

use crate::error::{CkResult, rv_name};

/// Runs one PKCS#11 call, logging its outcome, turning a panic into `CKR_GENERAL_ERROR`.
pub(crate) fn guard(function: &'static str, call: impl FnOnce() -> CkResult<()>) -> CK_RV {
    crate::module::mark_thread();
    match catch_unwind(AssertUnwindSafe(call)) {
        Ok(Ok(())) => {
            quietly(|| tracing::trace!(function, "CKR_OK"));
            CKR_OK
        }
        Ok(Err(rv)) => {
            quietly(|| tracing::debug!(function, rv = rv_name(rv), "returned"));
            rv
        }
        Err(_) => {
            quietly(|| tracing::error!(function, "panic caught; answering CKR_GENERAL_ERROR"));
            CKR_GENERAL_ERROR
        }
    }
}

/// Logs without ever unwinding: a host that calls the module from an exit handler (libp11 calls
/// `C_Finalize` there) runs after the thread's thread-locals are gone, and the log writer's
/// thread-local buffer then panics. Losing that log line beats aborting the host.
fn quietly(log: impl FnOnce()) {
    let _ = catch_unwind(AssertUnwindSafe(log));
}
