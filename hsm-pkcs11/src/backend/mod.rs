//! [`Pkcs11Hsm`]: the backend type, its options and the token's own calls it offers; the
//! `KeyStore` ([`key_store`]) and `Signer` ([`signer`], [`sign_many`]) implementations.

mod key_store;
mod sign_many;
mod signer;

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use cryptoki::context::Pkcs11;
use cryptoki::object::ObjectHandle;
use cryptoki::slot::Slot;
use hsm_core::{Capabilities, Error, KeyId, KeySpec, Result};

use crate::client::objects;
use crate::protocol::attributes::ObjectKind;
use crate::protocol::mechanisms::Mechanisms;
use crate::protocol::return_codes::{CkResultExt, map};
use crate::transport::session_pool::SessionPool;

/// A PKCS#11 token as an hsm-rs backend. Cheap to share across threads (`&self` everywhere).
pub struct Pkcs11Hsm {
    module: PathBuf,
    pkcs11: Pkcs11,
    slot: Slot,
    pool: SessionPool,
    sign_many_threads: usize,
    mechanisms: Mechanisms,
    capabilities: Capabilities,
    handles: Mutex<HashMap<KeyId, (ObjectHandle, KeySpec)>>,
}

impl fmt::Debug for Pkcs11Hsm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Hsm")
            .field("module", &self.module)
            .field("slot", &self.slot.id())
            .field("pool", &self.pool)
            .finish_non_exhaustive()
    }
}

/// The most working sessions a pool opens when neither [`Options::max_sessions`] nor the URI's
/// `max-sessions=` says otherwise (the token's own limit still applies).
pub const DEFAULT_MAX_SESSIONS: usize = 64;

/// The most threads [`Signer::sign_many`](hsm_core::Signer::sign_many) signs on when [`Options::sign_many_threads`] is unset.
pub const DEFAULT_SIGN_MANY_THREADS: usize = 16;

/// Options beyond the URI.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct Options {
    /// The most working sessions the pool opens, which is the most operations in flight at once
    /// (callers beyond it wait for a session). `None`: [`DEFAULT_MAX_SESSIONS`]. The URI's
    /// `max-sessions=` is a cap too: the smaller of the two applies, and never more than the
    /// token's `ulMaxSessionCount` (`ulMaxRwSessionCount` for a writable token) minus the session
    /// that holds the login.
    pub max_sessions: Option<usize>,
    /// Working sessions opened with the backend and kept open; more are opened when callers
    /// need them and kept for reuse. Defaults to 1.
    pub min_idle_sessions: usize,
    /// How many threads [`Signer::sign_many`](hsm_core::Signer::sign_many) signs on (never more than the pool's sessions or
    /// the messages). `None`: [`DEFAULT_SIGN_MANY_THREADS`].
    pub sign_many_threads: Option<usize>,
    /// How long a call waits for a free session when every session is lent, before
    /// [`ErrorKind::Timeout`](hsm_core::ErrorKind::Timeout). `None`: 30 s. A call into the
    /// module, once made, runs to its end: PKCS#11 has no way to cancel it.
    pub session_wait: Option<Duration>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            max_sessions: None,
            min_idle_sessions: 1,
            sign_many_threads: None,
            session_wait: None,
        }
    }
}

impl Options {
    /// These options with [`max_sessions`](Self::max_sessions) set to `sessions`.
    #[must_use]
    pub fn with_max_sessions(mut self, sessions: usize) -> Self {
        self.max_sessions = Some(sessions);
        self
    }

    /// These options with [`min_idle_sessions`](Self::min_idle_sessions) set to `sessions`.
    #[must_use]
    pub fn with_min_idle_sessions(mut self, sessions: usize) -> Self {
        self.min_idle_sessions = sessions;
        self
    }

    /// These options with [`sign_many_threads`](Self::sign_many_threads) set to `threads`.
    #[must_use]
    pub fn with_sign_many_threads(mut self, threads: usize) -> Self {
        self.sign_many_threads = Some(threads);
        self
    }

    /// These options with [`session_wait`](Self::session_wait) set to `wait`.
    #[must_use]
    pub fn with_session_wait(mut self, wait: Duration) -> Self {
        self.session_wait = Some(wait);
        self
    }

    /// Both the most sessions and the `sign_many` threads set to `threads`: at most `threads`
    /// operations in flight.
    #[must_use]
    pub fn with_concurrency(self, threads: usize) -> Self {
        self.with_max_sessions(threads)
            .with_sign_many_threads(threads)
    }
}

impl Pkcs11Hsm {
    /// The backend on a token whose module is loaded, slot chosen and pool open; its
    /// capabilities follow the token's mechanisms and EC curves.
    pub(crate) fn new(
        module: PathBuf,
        pkcs11: Pkcs11,
        slot: Slot,
        pool: SessionPool,
        options: Options,
        curves: &[hsm_core::Curve],
    ) -> Self {
        let mechanisms = Mechanisms::detect(&pkcs11, slot);
        // Certificates are token objects: a write-protected token cannot store them. The RNG is
        // the token's own flag.
        let (writable, rng) = pkcs11
            .get_token_info(slot)
            .map_or((false, false), |t| (!t.write_protected(), t.rng()));
        let capabilities = mechanisms
            .capabilities(curves)
            .with_certificates(writable)
            .with_random(rng);
        Self {
            module,
            pkcs11,
            slot,
            pool,
            sign_many_threads: options
                .sign_many_threads
                .unwrap_or(DEFAULT_SIGN_MANY_THREADS),
            mechanisms,
            capabilities,
            handles: Mutex::new(HashMap::new()),
        }
    }

    /// The token's label, manufacturer, model and serial number.
    ///
    /// # Errors
    /// The module's error.
    pub fn token_info(&self) -> Result<TokenSummary> {
        let t = match self.pkcs11.get_token_info(self.slot) {
            Ok(t) => t,
            Err(e) => {
                self.pool.check_token("pkcs11.token_info")?;
                return Err(map("pkcs11.token_info", e));
            }
        };
        Ok(TokenSummary {
            label: t.label().to_owned(),
            manufacturer: t.manufacturer_id().to_owned(),
            model: t.model().to_owned(),
            serial: t.serial_number().to_owned(),
            slot_id: self.slot.id(),
            sessions_open: t.session_count(),
        })
    }

    /// The mechanisms the token lists (`C_GetMechanismList`), by `CKM_*` name. Mechanisms
    /// cryptoki has no name for are left out, and cryptoki logs an ERROR line for each.
    ///
    /// # Errors
    /// The module's error.
    pub fn mechanism_names(&self) -> Result<Vec<String>> {
        let list = self
            .pkcs11
            .get_mechanism_list(self.slot)
            .ck("pkcs11.mechanisms")?;
        Ok(list.iter().map(ToString::to_string).collect())
    }

    /// The mechanisms this backend uses, as detected.
    #[must_use]
    pub fn mechanisms(&self) -> &Mechanisms {
        &self.mechanisms
    }

    /// Working sessions the pool holds now (not counting the one that keeps the login).
    #[must_use]
    pub fn pool_sessions(&self) -> usize {
        self.pool.open_sessions()
    }

    /// The most working sessions the pool opens: the configured cap within the token's limit.
    #[must_use]
    pub fn pool_size(&self) -> usize {
        self.pool.max_sessions()
    }

    /// Working sessions lent to operations right now: the operations in flight.
    #[must_use]
    pub fn pool_in_use(&self) -> usize {
        self.pool.in_use()
    }

    /// The most working sessions lent at once since the backend was opened: the most
    /// operations that were in flight together.
    #[must_use]
    pub fn pool_peak_in_use(&self) -> usize {
        self.pool.peak_in_use()
    }

    /// Writes a certificate (DER) or data object named by `key` (`id:HEX` sets `CKA_ID` and a hex
    /// label; a name sets `CKA_LABEL` and, for certificates, `CKA_ID` to its bytes). Data objects
    /// have no `CKA_ID`: name them by label.
    ///
    /// # Errors
    /// The module's error.
    pub fn write_object(&self, kind: ObjectKind, key: &KeyId, value: &[u8]) -> Result<()> {
        self.pool.run("pkcs11.write_object", |s| {
            objects::write(s, kind, key, value)
        })
    }

    /// Reads a certificate or data object's value.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`](hsm_core::ErrorKind::NotFound); the module's error.
    pub fn read_object(&self, kind: ObjectKind, key: &KeyId) -> Result<Vec<u8>> {
        self.pool
            .run("pkcs11.read_object", |s| objects::read(s, kind, key))
    }

    /// Deletes a certificate or data object.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`](hsm_core::ErrorKind::NotFound); the module's error.
    pub fn delete_object(&self, kind: ObjectKind, key: &KeyId) -> Result<()> {
        self.pool
            .run("pkcs11.delete_object", |s| objects::delete(s, kind, key))
    }
}

/// What [`Pkcs11Hsm::token_info`] reports.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenSummary {
    /// `CKA_LABEL` of the token.
    pub label: String,
    /// Manufacturer id.
    pub manufacturer: String,
    /// Model.
    pub model: String,
    /// Serial number.
    pub serial: String,
    /// The slot id.
    pub slot_id: u64,
    /// Sessions this application has open on the token, if the token says.
    pub sessions_open: Option<u64>,
}

/// Gives an error from a shared helper (hsm-core's key decoders, PIN readers, public-key
/// parsers), which carries the helper's own operation name, the name of this crate's public
/// `operation`: every error the backend returns is named `pkcs11.<operation>`. Errors already
/// named by this crate keep their more precise name (`pkcs11.login`, `pkcs11.pool`, ...).
pub(crate) fn named(operation: &'static str) -> impl FnOnce(Error) -> Error {
    move |e| {
        if e.operation().starts_with("pkcs11.") {
            e
        } else {
            e.with_operation(operation)
        }
    }
}
