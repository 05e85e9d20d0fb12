//! The session pool: sessions checked out per operation, one session kept to hold the login.
//!
//! PKCS#11 login state belongs to the application and token, not to one session: while any
//! session is open the token stays logged in. The pool keeps an *anchor* session open for its
//! whole life and logs in on it once.
//!
//! Sizing: working sessions are checked out one per operation, so the signatures in flight are
//! the sessions checked out. The pool opens its idle minimum with the anchor; beyond it, a
//! caller that finds no idle session opens a new one, up to the pool's maximum (the configured
//! cap, and never more than the token's `ulMaxSessionCount`/`ulMaxRwSessionCount` minus the
//! anchor). Sessions are kept for reuse once opened, so the pool grows to the number of callers
//! that sign at once and stays there, bounded by its maximum. A caller that finds the pool at
//! its maximum waits for a session to come back.
//!
//! A session is lent as a [`Lease`]: if an operation panics while it holds one, the session
//! (whose state is unknown) is closed and its place in the pool freed, so a panic never shrinks
//! the pool.
//!
//! Recovery: an operation failing with `CKR_SESSION_HANDLE_INVALID`, `CKR_SESSION_CLOSED`,
//! `CKR_DEVICE_REMOVED`, `CKR_TOKEN_NOT_PRESENT` or `CKR_USER_NOT_LOGGED_IN` (someone closed our
//! sessions with `C_CloseAllSessions` or logged the application out; a card left its reader)
//! makes the pool [`recover`](SessionPool::recover): idle sessions the
//! token no longer knows are discarded, the anchor is reopened if it is gone, and the login is
//! re-established with the PIN that already succeeded, once the slot is seen to hold the same
//! token (label and serial number). The operation then runs once more. A PIN the token refuses
//! on such a re-login is forgotten, so it is never tried twice.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use cryptoki::context::Pkcs11;
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use hsm_core::{Error, ErrorKind, Result};
use secrecy::SecretString;

use crate::protocol::return_codes::{map, rv_of};

/// How long a caller waits for a free session before [`ErrorKind::Timeout`], unless the
/// backend's options say otherwise.
pub(crate) const DEFAULT_SESSION_WAIT: Duration = Duration::from_secs(30);

struct State {
    idle: Vec<Session>,
    /// Working sessions open: idle or lent.
    open: usize,
    /// Sessions lent now, and the most lent at once.
    in_use: usize,
    peak_in_use: usize,
}

/// How the pool is sized (see the [module docs](self)).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sizing {
    /// The most working sessions; capped further by the token's limit.
    pub(crate) max: usize,
    /// Working sessions opened with the pool and kept open.
    pub(crate) min_idle: usize,
    /// How long a caller waits for a free session.
    pub(crate) wait: Duration,
}

pub(crate) struct SessionPool {
    pkcs11: Pkcs11,
    slot: Slot,
    /// The token's label and serial number when the pool was made, to notice another token in
    /// the slot (and never offer it our PIN).
    label: String,
    serial: String,
    read_write: bool,
    max: usize,
    wait: Duration,
    state: Mutex<State>,
    freed: Condvar,
    /// Holds the login for the pool's life (reopened by [`SessionPool::recover`]).
    anchor: Mutex<Session>,
    /// The PIN that logged in, kept to re-establish a lost login; `None` once the token
    /// refused it.
    pin: Mutex<Option<SecretString>>,
    /// Set when the token refused the PIN on a re-login: later "not found" errors are then
    /// explained as the missing login they are.
    pin_refused: AtomicBool,
}

impl fmt::Debug for SessionPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionPool")
            .field("slot", &self.slot.id())
            .field("max", &self.max)
            .finish_non_exhaustive()
    }
}

/// Whether an error means the session itself is gone: closed, or its token removed (a card
/// pulled from its reader; once it is back, new sessions work).
pub(crate) fn session_lost(e: &CkError) -> bool {
    matches!(
        rv_of(e),
        Some(
            RvError::SessionHandleInvalid
                | RvError::SessionClosed
                | RvError::DeviceRemoved
                | RvError::TokenNotPresent
        )
    )
}

/// Whether an error means the session or the login is gone, so recovering and running the
/// operation once more may succeed.
fn recoverable(e: &CkError) -> bool {
    session_lost(e) || rv_of(e) == Some(RvError::UserNotLoggedIn)
}

/// Disposes of a session the token says is invalid without calling `C_CloseSession`: its handle
/// may already belong to a new session, which closing it would end. The `Session` value (a
/// handle and a reference to the module) is leaked on purpose; this happens once per lost
/// session.
fn discard(session: Session) {
    std::mem::forget(session);
}

/// Whether the token still knows `session`.
fn alive(session: &Session) -> bool {
    !matches!(session.get_session_info(), Err(ref e) if session_lost(e))
}

fn is_public(session: &Session) -> bool {
    use cryptoki::session::SessionState;
    matches!(
        session.get_session_info().map(|i| i.session_state()),
        Ok(SessionState::RoPublic | SessionState::RwPublic)
    )
}

/// Logs `session` in as the user; `CKR_USER_ALREADY_LOGGED_IN` is success.
fn login(session: &Session, pin: &SecretString) -> std::result::Result<(), CkError> {
    match session.login(UserType::User, Some(pin)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(()),
        Err(e) => Err(e),
    }
}

impl SessionPool {
    /// Opens the anchor session, logs in with `pin` (if any), sizes the pool from the token's
    /// session limits and `sizing`, and opens the idle minimum of working sessions.
    pub(crate) fn new(
        pkcs11: Pkcs11,
        slot: Slot,
        pin: Option<SecretString>,
        sizing: Sizing,
    ) -> Result<Self> {
        let info = pkcs11
            .get_token_info(slot)
            .map_err(|e| map("pkcs11.token_info", e))?;
        let read_write = !info.write_protected();
        let label = info.label().to_owned();
        let serial = info.serial_number().to_owned();
        let token_max = token_limit(info.max_session_count()).min(if read_write {
            token_limit(info.max_rw_session_count())
        } else {
            usize::MAX
        });
        let max = working_max(sizing.max, token_max);
        let min_idle = sizing.min_idle.min(max);
        let anchor = open(&pkcs11, slot, read_write)?;
        if let Some(pin) = &pin {
            login(&anchor, pin).map_err(|e| map("pkcs11.login", e))?;
        }
        let idle = (0..min_idle)
            .map(|_| open(&pkcs11, slot, read_write))
            .collect::<Result<Vec<_>>>()?;
        tracing::debug!(slot = slot.id(), max, min_idle, "session pool ready");
        Ok(Self {
            pkcs11,
            slot,
            label,
            serial,
            read_write,
            max,
            wait: sizing.wait,
            state: Mutex::new(State {
                open: idle.len(),
                idle,
                in_use: 0,
                peak_in_use: 0,
            }),
            freed: Condvar::new(),
            anchor: Mutex::new(anchor),
            pin: Mutex::new(pin),
            pin_refused: AtomicBool::new(false),
        })
    }

    /// Brings the pool back after its sessions or its login were lost behind its back: discards
    /// idle sessions the token no longer knows, reopens the anchor if it is gone and logs in
    /// again if the token is public and a PIN is known.
    ///
    /// # Errors
    /// The module's error when the anchor cannot be reopened (the token is gone) or the token
    /// refuses the PIN (which is then forgotten).
    pub(crate) fn recover(&self) -> Result<()> {
        let stale: Vec<Session> = {
            let mut state = self.lock();
            let (keep, stale): (Vec<_>, Vec<_>) = state.idle.drain(..).partition(alive);
            state.idle = keep;
            state.open = state.open.saturating_sub(stale.len());
            stale
        };
        if !stale.is_empty() {
            tracing::debug!(
                lost = stale.len(),
                "discarded idle sessions the token forgot"
            );
        }
        stale.into_iter().for_each(discard);
        let mut anchor = self.anchor.lock().map_err(|_| {
            Error::new(ErrorKind::InvalidState, "pkcs11.pool").with_message("anchor poisoned")
        })?;
        if !alive(&anchor) {
            tracing::debug!(slot = self.slot.id(), "anchor session lost; reopening it");
            let fresh = open(&self.pkcs11, self.slot, self.read_write)?;
            discard(std::mem::replace(&mut *anchor, fresh));
        }
        let mut pin = self.pin.lock().map_err(|_| {
            Error::new(ErrorKind::InvalidState, "pkcs11.pool").with_message("PIN poisoned")
        })?;
        if let Some(p) = pin.as_ref().filter(|_| is_public(&anchor)) {
            // A card swapped for another in the same reader must not be offered our PIN.
            self.check_token("pkcs11.login")?;
            tracing::debug!(slot = self.slot.id(), "login lost; logging in again");
            if let Err(e) = login(&anchor, p) {
                if matches!(
                    rv_of(&e),
                    Some(
                        RvError::PinIncorrect
                            | RvError::PinInvalid
                            | RvError::PinLenRange
                            | RvError::PinLocked
                            | RvError::PinExpired
                    )
                ) {
                    // Never offered again: a second try could count against the retry counter.
                    *pin = None;
                    self.pin_refused.store(true, Ordering::Relaxed);
                }
                return Err(map("pkcs11.login", e));
            }
        }
        Ok(())
    }

    /// The most working sessions this pool opens.
    pub(crate) fn max_sessions(&self) -> usize {
        self.max
    }

    /// Working sessions open now (idle or checked out), not counting the anchor.
    pub(crate) fn open_sessions(&self) -> usize {
        self.lock().open
    }

    /// Working sessions lent to operations now.
    pub(crate) fn in_use(&self) -> usize {
        self.lock().in_use
    }

    /// The most working sessions lent at once since the pool was made.
    pub(crate) fn peak_in_use(&self) -> usize {
        self.lock().peak_in_use
    }

    /// The pool's counters. No code that can panic runs while the lock is held, so a poisoned
    /// lock (a panic elsewhere in the holding thread) still guards consistent counters.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn checkout(&self) -> Result<Lease<'_>> {
        let deadline = std::time::Instant::now() + self.wait;
        let mut state = self.lock();
        loop {
            if let Some(s) = state.idle.pop() {
                state.lend();
                return Ok(Lease::new(self, s));
            }
            if state.open < self.max {
                state.open += 1;
                state.lend();
                drop(state);
                return match open(&self.pkcs11, self.slot, self.read_write) {
                    Ok(s) => Ok(Lease::new(self, s)),
                    Err(e) => {
                        self.give_back(None);
                        Err(e)
                    }
                };
            }
            let (next, timeout) = self
                .freed
                .wait_timeout(
                    state,
                    deadline.saturating_duration_since(std::time::Instant::now()),
                )
                .unwrap_or_else(PoisonError::into_inner);
            if timeout.timed_out() && next.idle.is_empty() && next.open >= self.max {
                return Err(
                    Error::new(ErrorKind::Timeout, "pkcs11.pool").with_message(format!(
                        "no PKCS#11 session became free in {:?} (all {} in use)",
                        self.wait, self.max
                    )),
                );
            }
            state = next;
        }
    }

    /// Takes back a lent session (`None`: it was closed or discarded).
    fn give_back(&self, session: Option<Session>) {
        {
            let mut state = self.lock();
            state.in_use = state.in_use.saturating_sub(1);
            match session {
                Some(s) => state.idle.push(s),
                None => state.open = state.open.saturating_sub(1),
            }
        }
        self.freed.notify_one();
    }

    /// `Ok` if the slot still holds the token this pool was made for; otherwise an
    /// [`ErrorKind::Unavailable`] that says so (`C_GetTokenInfo` fails once SoftHSM2's token
    /// directory is deleted, for one).
    pub(crate) fn check_token(&self, operation: &'static str) -> Result<()> {
        match self.pkcs11.get_token_info(self.slot) {
            Ok(t) if t.label() == self.label && t.serial_number() == self.serial => Ok(()),
            Ok(t) => Err(
                Error::new(ErrorKind::Unavailable, operation).with_message(format!(
                    "slot {} now holds the token `{}` (serial {}), not `{}` (serial {})",
                    self.slot.id(),
                    t.label(),
                    t.serial_number(),
                    self.label,
                    self.serial
                )),
            ),
            Err(e) => {
                let probe = map("pkcs11.token_info", e);
                let mut gone = Error::new(ErrorKind::Unavailable, operation).with_message(format!(
                    "the token `{}` in slot {} is gone or unusable ({})",
                    self.label,
                    self.slot.id(),
                    probe.message().unwrap_or("C_GetTokenInfo failed")
                ));
                if let Some(status) = probe.status() {
                    gone = gone.with_status(status.clone());
                }
                Err(gone)
            }
        }
    }

    /// Turns an operation's failure into its cause when "not found" or a general error would
    /// hide it: the whole token went away, or the login is gone for good because the token
    /// refused the PIN on a re-login.
    fn explain(&self, operation: &'static str, e: Error) -> Error {
        if e.is_not_found() && self.pin_refused.load(Ordering::Relaxed) && self.anchor_public() {
            return Error::new(
                ErrorKind::AuthenticationFailed { retries_left: None },
                operation,
            )
            .with_message(
                "not logged in: the token logged this application out and refused the PIN \
                 when logging in again; open the backend with the current PIN",
            )
            .with_source(e);
        }
        if !matches!(
            e.kind(),
            ErrorKind::NotFound
                | ErrorKind::Device
                | ErrorKind::Unavailable
                | ErrorKind::InvalidState
        ) {
            return e;
        }
        match self.check_token(operation) {
            Ok(()) => e,
            Err(gone) => gone.with_source(e),
        }
    }

    /// Whether the anchor is closed or public, i.e. the application is not logged in.
    fn anchor_public(&self) -> bool {
        self.anchor
            .lock()
            .is_ok_and(|a| !alive(&a) || is_public(&a))
    }

    /// Whether the pool can serve calls: the slot still holds its token (`C_GetTokenInfo`) and
    /// the application is logged in. A login lost behind the pool's back is taken again with
    /// the PIN that already worked (what the next operation would do); a token that needs a
    /// login is [`ErrorKind::PermissionDenied`] when no PIN was given, and
    /// [`ErrorKind::AuthenticationFailed`] when it refused the PIN on a re-login. Nothing else
    /// is sent, and never a PIN that failed.
    pub(crate) fn health(&self, operation: &'static str) -> Result<()> {
        let info = match self.pkcs11.get_token_info(self.slot) {
            Ok(info) => info,
            Err(_) => return self.check_token(operation),
        };
        if info.label() != self.label || info.serial_number() != self.serial {
            return self.check_token(operation);
        }
        if !info.login_required() {
            return Ok(());
        }
        if self.pin_refused.load(Ordering::Relaxed) {
            return Err(Error::new(
                ErrorKind::AuthenticationFailed { retries_left: None },
                operation,
            )
            .with_message(
                "not logged in: the token refused the PIN when logging in again; open the \
                 backend with the current PIN",
            ));
        }
        if !self.pin.lock().is_ok_and(|p| p.is_some()) {
            return Err(Error::new(ErrorKind::PermissionDenied, operation).with_message(
                "not logged in: the token needs a login and the backend was opened without a PIN",
            ));
        }
        if self.anchor_public() {
            tracing::debug!(operation, "the login is gone; logging in again");
            self.recover().map_err(|e| e.with_operation(operation))?;
        }
        Ok(())
    }

    /// Whether the login this pool holds is gone (a PIN is known but the anchor is closed or
    /// public): private objects are then invisible, so "not found" may be a lost login.
    pub(crate) fn login_lost(&self) -> bool {
        self.pin.lock().is_ok_and(|p| p.is_some()) && self.anchor_public()
    }

    /// Runs `op` on a lent session and returns the session: to the idle list, or discarded if
    /// `op` found it lost.
    fn run_once<T>(&self, op: &mut impl FnMut(&Session) -> OpResult<T>) -> Result<OpResult<T>> {
        let mut lease = self.checkout()?;
        let result = match lease.session.as_ref() {
            Some(session) => op(session),
            None => return Err(Error::new(ErrorKind::InvalidState, "pkcs11.pool")),
        };
        let lost = matches!(&result, Err(OpError::Ck(c)) if session_lost(c));
        if let Some(session) = lease.session.take() {
            if lost {
                discard(session);
                self.give_back(None);
            } else {
                self.give_back(Some(session));
            }
        }
        Ok(result)
    }

    /// Runs `op` on a checked-out session. If the session or the login turns out to be lost,
    /// the pool [recovers](Self::recover) and `op` runs once more on another session.
    pub(crate) fn run<T>(
        &self,
        operation: &'static str,
        mut op: impl FnMut(&Session) -> OpResult<T>,
    ) -> Result<T> {
        let first = match self.run_once(&mut op)? {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        let retry = match &first {
            OpError::Ck(c) => recoverable(c),
            OpError::Hsm(e) => e.is_not_found() && self.login_lost(),
        };
        if !retry {
            return Err(self.explain(operation, first.into_error(operation)));
        }
        tracing::debug!(
            operation,
            "session or login lost; recovering and retrying once"
        );
        if let Err(e) = self.recover() {
            // The recovery's failure says more (e.g. the token is gone); the first is its cause.
            return Err(e
                .with_operation(operation)
                .with_source(first.into_error(operation)));
        }
        self.run_once(&mut op)?
            .map_err(|e| self.explain(operation, e.into_error(operation)))
    }
}

impl State {
    fn lend(&mut self) {
        self.in_use += 1;
        self.peak_in_use = self.peak_in_use.max(self.in_use);
    }
}

/// A working session lent to one operation. [`SessionPool::run_once`] takes the session back
/// when the operation returns; if the operation panics instead, dropping the lease closes the
/// session (an operation may be half done on it) and frees its place in the pool.
struct Lease<'a> {
    pool: &'a SessionPool,
    session: Option<Session>,
}

impl<'a> Lease<'a> {
    fn new(pool: &'a SessionPool, session: Session) -> Self {
        Self {
            pool,
            session: Some(session),
        }
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(session) = self.session.take() {
            tracing::debug!("an operation panicked holding a session; closing it");
            drop(session);
            self.pool.give_back(None);
        }
    }
}

/// A token's stated session limit; "unavailable" and "effectively infinite" are no limit.
fn token_limit(limit: cryptoki::slot::Limit) -> usize {
    match limit {
        cryptoki::slot::Limit::Max(0) => usize::MAX,
        cryptoki::slot::Limit::Max(n) => usize::try_from(n).unwrap_or(usize::MAX),
        _ => usize::MAX,
    }
}

/// The most working sessions: the configured cap within the token's limit, one session of which
/// is the anchor; at least one, since nothing works without one.
fn working_max(cap: usize, token_max: usize) -> usize {
    cap.min(token_max.saturating_sub(1)).max(1)
}

fn open(pkcs11: &Pkcs11, slot: Slot, read_write: bool) -> Result<Session> {
    if read_write {
        pkcs11.open_rw_session(slot)
    } else {
        pkcs11.open_ro_session(slot)
    }
    .map_err(|e| map("pkcs11.open_session", e))
}

/// What an operation on a session returns.
pub(crate) type OpResult<T> = std::result::Result<T, OpError>;

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
