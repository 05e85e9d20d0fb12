//! The session pool: sessions checked out per operation, one session kept to hold the login.
//!
//! PKCS#11 login state belongs to the application and token, not to one session: while any
//! session is open the token stays logged in. The pool keeps an *anchor* session open for its
//! whole life, logs in on it once, and opens working sessions up to its size on demand. A session
//! that fails with `CKR_SESSION_HANDLE_INVALID`/`CKR_SESSION_CLOSED` is dropped and the operation
//! is run once more on a fresh one.

use std::fmt;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use cryptoki::context::Pkcs11;
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use hsm_core::{Error, ErrorKind, Result};
use secrecy::SecretString;

use crate::error::{map, rv_of};

/// How long a caller waits for a free session before [`ErrorKind::Timeout`].
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(30);

struct State {
    idle: Vec<Session>,
    open: usize,
}

pub(crate) struct SessionPool {
    pkcs11: Pkcs11,
    slot: Slot,
    read_write: bool,
    max: usize,
    state: Mutex<State>,
    freed: Condvar,
    /// Holds the login for the pool's life.
    _anchor: Mutex<Session>,
}

impl fmt::Debug for SessionPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionPool")
            .field("slot", &self.slot.id())
            .field("max", &self.max)
            .finish_non_exhaustive()
    }
}

/// Whether an error means the session itself is gone.
pub(crate) fn session_lost(e: &CkError) -> bool {
    matches!(
        rv_of(e),
        Some(RvError::SessionHandleInvalid | RvError::SessionClosed)
    )
}

impl SessionPool {
    /// Opens the anchor session, logs in with `pin` (if any) and sizes the pool from the token's
    /// session limit and `concurrency`.
    pub(crate) fn new(
        pkcs11: Pkcs11,
        slot: Slot,
        pin: Option<&SecretString>,
        concurrency: usize,
    ) -> Result<Self> {
        let info = pkcs11
            .get_token_info(slot)
            .map_err(|e| map("pkcs11.token_info", e))?;
        let read_write = !info.write_protected();
        let token_max = match info.max_session_count() {
            cryptoki::slot::Limit::Max(n) => usize::try_from(n).unwrap_or(usize::MAX),
            _ => usize::MAX,
        };
        // One session is the anchor; at least one more is needed to work.
        let max = concurrency.max(1).min(token_max.saturating_sub(1)).max(1);
        let anchor = open(&pkcs11, slot, read_write)?;
        if let Some(pin) = pin {
            match anchor.login(UserType::User, Some(pin)) {
                Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
                Err(e) => return Err(map("pkcs11.login", e)),
            }
        }
        tracing::debug!(slot = slot.id(), max, "session pool ready");
        Ok(Self {
            pkcs11,
            slot,
            read_write,
            max,
            state: Mutex::new(State {
                idle: Vec::new(),
                open: 0,
            }),
            freed: Condvar::new(),
            _anchor: Mutex::new(anchor),
        })
    }

    /// The most working sessions this pool opens.
    pub(crate) fn max_sessions(&self) -> usize {
        self.max
    }

    /// Working sessions open now (idle or checked out), not counting the anchor.
    pub(crate) fn open_sessions(&self) -> usize {
        self.lock().map_or(0, |s| s.open)
    }

    fn lock(&self) -> Result<MutexGuard<'_, State>> {
        self.state.lock().map_err(|_| {
            Error::new(ErrorKind::InvalidState, "pkcs11.pool").with_message("pool poisoned")
        })
    }

    fn checkout(&self) -> Result<Session> {
        let mut state = self.lock()?;
        loop {
            if let Some(s) = state.idle.pop() {
                return Ok(s);
            }
            if state.open < self.max {
                state.open += 1;
                drop(state);
                return open(&self.pkcs11, self.slot, self.read_write).inspect_err(|_| {
                    if let Ok(mut s) = self.lock() {
                        s.open -= 1;
                    }
                });
            }
            let (next, timeout) = self
                .freed
                .wait_timeout(state, CHECKOUT_TIMEOUT)
                .map_err(|_| Error::new(ErrorKind::InvalidState, "pkcs11.pool"))?;
            if timeout.timed_out() && next.idle.is_empty() && next.open >= self.max {
                return Err(Error::new(ErrorKind::Timeout, "pkcs11.pool")
                    .with_message("no PKCS#11 session became free in 30 s"));
            }
            state = next;
        }
    }

    fn give_back(&self, session: Option<Session>) {
        if let Ok(mut state) = self.lock() {
            match session {
                Some(s) => state.idle.push(s),
                None => state.open = state.open.saturating_sub(1),
            }
        }
        self.freed.notify_one();
    }

    /// Runs `op` on a checked-out session. If the session turns out to be invalid or closed, it
    /// is dropped and `op` runs once more on a new one.
    pub(crate) fn run<T>(
        &self,
        operation: &'static str,
        mut op: impl FnMut(&Session) -> std::result::Result<T, OpError>,
    ) -> Result<T> {
        for attempt in 0..2 {
            let session = self.checkout()?;
            match op(&session) {
                Ok(v) => {
                    self.give_back(Some(session));
                    return Ok(v);
                }
                Err(OpError::Ck(e)) if session_lost(&e) && attempt == 0 => {
                    tracing::debug!(operation, "session lost; retrying on a new one");
                    drop(session);
                    self.give_back(None);
                }
                Err(e) => {
                    let lost = matches!(&e, OpError::Ck(c) if session_lost(c));
                    if lost {
                        drop(session);
                        self.give_back(None);
                    } else {
                        self.give_back(Some(session));
                    }
                    return Err(e.into_error(operation));
                }
            }
        }
        Err(Error::new(ErrorKind::Unavailable, operation).with_message("sessions keep failing"))
    }
}

fn open(pkcs11: &Pkcs11, slot: Slot, read_write: bool) -> Result<Session> {
    if read_write {
        pkcs11.open_rw_session(slot)
    } else {
        pkcs11.open_ro_session(slot)
    }
    .map_err(|e| map("pkcs11.open_session", e))
}

/// An operation's error: a raw cryptoki error (so the pool can spot lost sessions) or ours.
#[derive(Debug)]
pub(crate) enum OpError {
    /// From the module.
    Ck(CkError),
    /// Already mapped.
    Hsm(Error),
}

impl OpError {
    fn into_error(self, operation: &'static str) -> Error {
        match self {
            Self::Ck(e) => map(operation, e),
            Self::Hsm(e) => e,
        }
    }
}

impl From<CkError> for OpError {
    fn from(e: CkError) -> Self {
        Self::Ck(e)
    }
}

impl From<Error> for OpError {
    fn from(e: Error) -> Self {
        Self::Hsm(e)
    }
}
