//! One initialised PKCS#11 module per path per process.
//!
//! `C_Initialize` is process-global, so every [`Pkcs11Hsm`](crate::Pkcs11Hsm) on the same
//! module file shares one [`cryptoki::context::Pkcs11`], initialised once with
//! `CKF_OS_LOCKING_OK`. Nothing finalises it implicitly; call [`finalize`] at shutdown when no
//! backend on that module is left.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use hsm_core::{Error, ErrorKind, Result};

use crate::protocol::return_codes::map;

fn registry() -> &'static Mutex<HashMap<PathBuf, Pkcs11>> {
    static MODULES: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();
    MODULES.get_or_init(|| Mutex::new(HashMap::new()))
}

fn lock() -> Result<std::sync::MutexGuard<'static, HashMap<PathBuf, Pkcs11>>> {
    registry().lock().map_err(|_| {
        Error::new(ErrorKind::InvalidState, "pkcs11.module")
            .with_message("module registry poisoned")
    })
}

/// The shared, initialised module at `path` (loaded and initialised on first use).
pub(crate) fn load(path: &Path) -> Result<Pkcs11> {
    let key = path.canonicalize().unwrap_or_else(|_| path.to_owned());
    let mut modules = lock()?;
    if let Some(p) = modules.get(&key) {
        return Ok(p.clone());
    }
    let named = || {
        if key == path {
            path.display().to_string()
        } else {
            format!("{} ({})", path.display(), key.display())
        }
    };
    let pkcs11 = Pkcs11::new(&key).map_err(|e| match e {
        CkError::MissingSymbol(symbol) => Error::new(ErrorKind::Unavailable, "pkcs11.load")
            .with_message(format!(
                "cannot load the module {}: not a PKCS#11 module (no {symbol})",
                named()
            )),
        e => Error::new(ErrorKind::Unavailable, "pkcs11.load")
            .with_message(format!("cannot load the module {}", named()))
            .with_source(map("pkcs11.load", e)),
    })?;
    match pkcs11.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => {
            return Err(map("pkcs11.initialize", e)
                .with_message(format!("the module {} refused C_Initialize", named())));
        }
    }
    tracing::debug!(module = %key.display(), "PKCS#11 module initialised");
    modules.insert(key, pkcs11.clone());
    Ok(pkcs11)
}

/// Resolves `module-name=` to a file: an absolute path as is, otherwise
/// `lib<name>.so`/`<name>.so` in the usual module directories.
pub(crate) fn resolve_name(name: &str) -> Result<PathBuf> {
    const DIRS: [&str; 5] = [
        "/usr/lib/x86_64-linux-gnu/pkcs11",
        "/usr/lib/pkcs11",
        "/usr/lib/x86_64-linux-gnu",
        "/usr/lib/softhsm",
        "/usr/local/lib",
    ];
    DIRS.iter()
        .flat_map(|d| {
            [
                format!("{d}/lib{name}.so"),
                format!("{d}/{name}.so"),
                format!("{d}/{name}"),
            ]
        })
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .ok_or_else(|| {
            Error::new(ErrorKind::NotFound, "pkcs11.module")
                .with_message(format!("no module named `{name}` in {}", DIRS.join(", ")))
        })
}

/// Finalises the module at `path` (`C_Finalize`) and forgets it. Every session and backend on it
/// becomes unusable; call it only at shutdown. Returns `Ok(false)` if the module was not loaded.
///
/// # Errors
/// The module's `C_Finalize` error.
pub fn finalize(path: &Path) -> Result<bool> {
    let key = path.canonicalize().unwrap_or_else(|_| path.to_owned());
    let Some(pkcs11) = lock()?.remove(&key) else {
        return Ok(false);
    };
    pkcs11.finalize().map_err(|e| map("pkcs11.finalize", e))?;
    Ok(true)
}
