//! Sessions: handle → session, each with at most one search and one signing operation. The
//! table's lock is held only to look a session up; a session's own lock only by the thread using
//! it (PKCS#11 forbids two threads in one session at once).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use cryptoki_sys::*;

use crate::error::CkResult;
use crate::sign::SignOp;

/// One session.
#[derive(Debug)]
pub(crate) struct Session {
    /// Its slot.
    pub slot: CK_SLOT_ID,
    /// Read-write (`CKF_RW_SESSION`).
    pub rw: bool,
    /// The objects an active `C_FindObjectsInit` found, and how many were returned.
    pub find: Option<(Vec<CK_OBJECT_HANDLE>, usize)>,
    /// The active signing operation.
    pub sign: Option<SignOp>,
}

/// Every open session of the module.
#[derive(Debug, Default)]
pub(crate) struct Sessions {
    next: Mutex<CK_SESSION_HANDLE>,
    map: Mutex<HashMap<CK_SESSION_HANDLE, Entry>>,
}

/// A session with its slot and mode kept outside its lock, so that counting and closing never
/// wait for a session that is in the middle of a network call.
#[derive(Debug)]
struct Entry {
    slot: CK_SLOT_ID,
    rw: bool,
    session: Arc<Mutex<Session>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Sessions {
    /// Opens a session.
    pub(crate) fn open(&self, slot: CK_SLOT_ID, rw: bool) -> CK_SESSION_HANDLE {
        let handle = {
            let mut next = lock(&self.next);
            *next += 1;
            *next
        };
        let session = Session {
            slot,
            rw,
            find: None,
            sign: None,
        };
        let entry = Entry {
            slot,
            rw,
            session: Arc::new(Mutex::new(session)),
        };
        let _ = lock(&self.map).insert(handle, entry);
        handle
    }

    /// A session by handle.
    ///
    /// # Errors
    /// `CKR_SESSION_HANDLE_INVALID`.
    pub(crate) fn get(&self, handle: CK_SESSION_HANDLE) -> CkResult<Arc<Mutex<Session>>> {
        lock(&self.map)
            .get(&handle)
            .map(|e| Arc::clone(&e.session))
            .ok_or(CKR_SESSION_HANDLE_INVALID)
    }

    /// Closes a session; returns its slot and whether it was the slot's last.
    ///
    /// # Errors
    /// `CKR_SESSION_HANDLE_INVALID`.
    pub(crate) fn close(&self, handle: CK_SESSION_HANDLE) -> CkResult<(CK_SLOT_ID, bool)> {
        let mut map = lock(&self.map);
        let slot = map.remove(&handle).ok_or(CKR_SESSION_HANDLE_INVALID)?.slot;
        let last = !map.values().any(|e| e.slot == slot);
        Ok((slot, last))
    }

    /// Closes every session of a slot.
    pub(crate) fn close_all(&self, slot: CK_SLOT_ID) {
        lock(&self.map).retain(|_, e| e.slot != slot);
    }

    /// How many sessions, and how many read-write, a slot has.
    pub(crate) fn count(&self, slot: CK_SLOT_ID) -> (usize, usize) {
        let map = lock(&self.map);
        let mut all = 0;
        let mut rw = 0;
        for e in map.values().filter(|e| e.slot == slot) {
            all += 1;
            rw += usize::from(e.rw);
        }
        (all, rw)
    }
}

/// Locks a session for one call.
pub(crate) fn locked(session: &Mutex<Session>) -> MutexGuard<'_, Session> {
    lock(session)
}
