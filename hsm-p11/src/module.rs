//! The module's state between `C_Initialize` and `C_Finalize`, and the PKCS#11 functions in safe
//! Rust (the [`crate::ffi`] layer reads the C arguments and calls these).
//!
//! The state is one `Arc<Module>` behind a read-write lock that is held only to clone the `Arc`:
//! no lock of the module's is held across a network call. After `fork`, the child sees the
//! parent's state as "not initialised" (the process id differs) and builds its own on
//! `C_Initialize`, never touching the parent's connections.

use std::sync::{Arc, Mutex, PoisonError, RwLock};

use cryptoki_sys::*;
use hsm_core::{KeyId, KeySpec, KeyTemplate};
use secrecy::SecretString;

use crate::certificate::CertRecord;
use crate::config::{Config, Scheme};
use crate::error::{CkResult, Doing, from_hsm};
use crate::mechanism::{self, MechParams, SignMech};
use crate::object::{self, AttrValue, Class, KeyRecord, ObjectTable};
use crate::session::{Sessions, locked};
use crate::sign::SignOp;
use crate::token::{Slot, padded};

/// The initialised module.
#[derive(Debug)]
pub(crate) struct Module {
    pid: u32,
    /// Backend-named threads that existed before this module started (see [`crate::threads`]).
    threads_before: std::collections::BTreeSet<String>,
    slots: Vec<Arc<Slot>>,
    sessions: Sessions,
    objects: Mutex<ObjectTable>,
}

static STATE: RwLock<Option<Arc<Module>>> = RwLock::new(None);

/// A thread-local with a destructor: once it is gone on the calling thread, the process is
/// exiting (glibc runs thread-local destructors before `atexit` handlers, and libp11 calls
/// `C_Finalize` from one). Other libraries' static destructors may have run by then, so the
/// backends are not dropped then: no call into a torn-down PKCS#11 module or runtime.
struct ThreadMark;

impl Drop for ThreadMark {
    fn drop(&mut self) {}
}

thread_local! {
    static MARK: ThreadMark = const { ThreadMark };
}

/// Registers the calling thread's mark (every entry point calls this).
pub(crate) fn mark_thread() {
    let _ = MARK.try_with(|_| ());
}

fn process_exiting() -> bool {
    MARK.try_with(|_| ()).is_err()
}

/// The initialised module of this process.
///
/// # Errors
/// `CKR_CRYPTOKI_NOT_INITIALIZED`, also in a child process after `fork`.
pub(crate) fn module() -> CkResult<Arc<Module>> {
    let state = STATE.read().unwrap_or_else(PoisonError::into_inner);
    match state.as_ref() {
        Some(m) if m.pid == std::process::id() => Ok(Arc::clone(m)),
        _ => Err(CKR_CRYPTOKI_NOT_INITIALIZED),
    }
}

/// What `C_Initialize`'s argument says.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct InitArgs {
    /// `CK_C_INITIALIZE_ARGS.flags`.
    pub flags: CK_FLAGS,
    /// How many of the four mutex functions were given.
    pub mutex_functions: usize,
    /// `pReserved` was not null.
    pub reserved: bool,
}

/// `C_Initialize`.
pub(crate) fn initialize(args: Option<InitArgs>) -> CkResult<()> {
    let mut cant_create_threads = false;
    if let Some(args) = args {
        if args.reserved || !matches!(args.mutex_functions, 0 | 4) {
            return Err(CKR_ARGUMENTS_BAD);
        }
        if args.flags & CKF_LIBRARY_CANT_CREATE_OS_THREADS != 0 {
            // p11-kit passes this flag to every module it manages (GnuTLS, so Knot DNS and
            // p11tool, load modules through it). The network backends run their I/O on runtime
            // threads of their own, started once per slot; refusing the flag would make the
            // module unusable from those hosts, so it is accepted and the fact logged once the
            // log is set up.
            cant_create_threads = true;
        }
        if args.mutex_functions == 4 && args.flags & CKF_OS_LOCKING_OK == 0 {
            // Only the operating system's locks are used.
            return Err(CKR_CANT_LOCK);
        }
    }
    let mut state = STATE.write().unwrap_or_else(PoisonError::into_inner);
    let pid = std::process::id();
    if let Some(old) = state.take() {
        if old.pid == pid {
            *state = Some(old);
            return Err(CKR_CRYPTOKI_ALREADY_INITIALIZED);
        }
        // A child after fork: the parent's connections and threads are not ours. Dropping them
        // would close the parent's sockets or wait for threads that do not exist here.
        std::mem::forget(old);
    }
    let config = Config::load().map_err(|e| {
        crate::log::init(tracing::Level::WARN, None);
        tracing::error!("{e}");
        CKR_GENERAL_ERROR
    })?;
    crate::log::init(
        config.level().unwrap_or(tracing::Level::WARN),
        config.log_file.as_deref(),
    );
    let mut slots = Vec::with_capacity(config.slots.len());
    for (n, slot) in config.slots.iter().enumerate() {
        let slot = Slot::new(n as CK_SLOT_ID, slot).map_err(|e| {
            tracing::error!("hsm-p11 configuration: slot {n}: {e}");
            CKR_GENERAL_ERROR
        })?;
        slots.push(Arc::new(slot));
    }
    if cant_create_threads {
        tracing::info!(
            "C_Initialize: CKF_LIBRARY_CANT_CREATE_OS_THREADS set (p11-kit sets it); the backends \
             still run their network I/O on threads of their own"
        );
    }
    tracing::info!(slots = slots.len(), pid, "hsm-p11 initialised");
    *state = Some(Arc::new(Module {
        pid,
        threads_before: crate::threads::backend_threads(),
        slots,
        sessions: Sessions::default(),
        objects: Mutex::new(ObjectTable::default()),
    }));
    Ok(())
}

/// `C_Finalize`: drops every session and backend; returns once their connections are closed and
/// their threads have ended.
pub(crate) fn finalize() -> CkResult<()> {
    let old = {
        let mut state = STATE.write().unwrap_or_else(PoisonError::into_inner);
        match state.take() {
            Some(m) if m.pid == std::process::id() => m,
            Some(other) => {
                std::mem::forget(other);
                return Err(CKR_CRYPTOKI_NOT_INITIALIZED);
            }
            None => return Err(CKR_CRYPTOKI_NOT_INITIALIZED),
        }
    };
    if process_exiting() {
        std::mem::forget(old);
        return Ok(());
    }
    // Backends are dropped (connections closed, runtime threads joined) on a fresh thread: the
    // caller may be an exit handler whose thread-locals, which the async runtimes use, are
    // already destroyed. If no thread can be started, the closure (and the module) drops here.
    let before = old.threads_before.clone();
    let finish = move || drop(old);
    if let Ok(thread) = std::thread::Builder::new()
        .name("p11-finalize".into())
        .spawn(finish)
    {
        let _ = thread.join();
    }
    // Dropping a backend stops its runtime's threads without waiting for them: wait here, so
    // that no thread of the module runs once C_Finalize has returned.
    let _ = crate::threads::wait_for_end(&before);
    tracing::info!("hsm-p11 finalised");
    Ok(())
}

/// `C_GetInfo`.
pub(crate) fn info() -> CkResult<CK_INFO> {
    let _ = module()?;
    Ok(CK_INFO {
        cryptokiVersion: CK_VERSION {
            major: 2,
            minor: 40,
        },
        manufacturerID: padded("hsm-rs"),
        flags: 0,
        libraryDescription: padded("hsm-p11 PKCS#11 module"),
        libraryVersion: CK_VERSION { major: 0, minor: 1 },
    })
}

impl Module {
    pub(crate) fn slot(&self, id: CK_SLOT_ID) -> CkResult<&Arc<Slot>> {
        usize::try_from(id)
            .ok()
            .and_then(|i| self.slots.get(i))
            .ok_or(CKR_SLOT_ID_INVALID)
    }

    pub(crate) fn objects(&self) -> std::sync::MutexGuard<'_, ObjectTable> {
        self.objects.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A session and its slot.
    pub(crate) fn session(
        &self,
        handle: CK_SESSION_HANDLE,
    ) -> CkResult<(Arc<Mutex<crate::session::Session>>, &Arc<Slot>)> {
        let session = self.sessions.get(handle)?;
        let slot = locked(&session).slot;
        Ok((session, self.slot(slot)?))
    }

    /// An object visible in a session's slot.
    pub(crate) fn object(&self, slot: &Slot, handle: CK_OBJECT_HANDLE) -> CkResult<object::Object> {
        let object = self
            .objects()
            .get(handle)
            .filter(|o| o.key.slot == slot.id)
            .ok_or(CKR_OBJECT_HANDLE_INVALID)?;
        // Private objects are invisible while logged out (as in SoftHSM2).
        if object.class == Class::Private && !slot.logged_in() {
            return Err(CKR_OBJECT_HANDLE_INVALID);
        }
        Ok(object)
    }
}

/// `C_GetSlotList` (every configured slot has a token).
pub(crate) fn slot_list() -> CkResult<Vec<CK_SLOT_ID>> {
    Ok(module()?.slots.iter().map(|s| s.id).collect())
}

/// `C_GetSlotInfo`.
pub(crate) fn slot_info(slot: CK_SLOT_ID) -> CkResult<CK_SLOT_INFO> {
    Ok(module()?.slot(slot)?.slot_info())
}

/// `C_GetTokenInfo`.
pub(crate) fn token_info(slot: CK_SLOT_ID) -> CkResult<CK_TOKEN_INFO> {
    let m = module()?;
    let (all, rw) = m.sessions.count(slot);
    let slot = m.slot(slot)?;
    Ok(slot.token_info(all, rw, has_rng(slot)))
}

/// Whether a slot's token has a random number generator (`CKF_RNG`): its backend declares one.
/// Known once the backend is open; a slot whose PIN is the credential opens at `C_Login`, and
/// a slot whose backend cannot be reached now is shown without one.
fn has_rng(slot: &Slot) -> bool {
    let backend = if slot.pin_is_credential {
        slot.open_backend()
    } else {
        slot.backend().ok()
    };
    backend.is_some_and(|b| b.capabilities().random)
}

/// The capabilities of a slot's backend: the live ones once it is open, otherwise those of its
/// family as documented (a slot whose PIN is the credential opens at `C_Login`).
fn capabilities(slot: &Slot) -> CkResult<hsm_core::Capabilities> {
    let backend = if slot.pin_is_credential {
        slot.open_backend()
    } else {
        Some(slot.backend()?)
    };
    if let Some(b) = backend {
        return Ok(b.capabilities());
    }
    use hsm_core::{Curve, SignAlgorithm as A};
    let rsa = vec![KeySpec::Rsa2048, KeySpec::Rsa3072, KeySpec::Rsa4096];
    let ec = [Curve::P256, Curve::P384, Curve::P521].map(KeySpec::Ec);
    let (specs, algs): (Vec<KeySpec>, Vec<A>) = match slot.scheme {
        Scheme::NetHsm | Scheme::Pkcs11 => (
            rsa.into_iter()
                .chain(ec)
                .chain([KeySpec::Ed25519])
                .collect(),
            A::ALL.to_vec(),
        ),
        Scheme::N200 | Scheme::ScHsm => (
            rsa.into_iter().chain(ec).collect(),
            A::ALL
                .iter()
                .copied()
                .filter(|a| *a != A::Ed25519)
                .collect(),
        ),
    };
    Ok(hsm_core::Capabilities::new(specs, algs))
}

/// `C_GetMechanismList`.
pub(crate) fn mechanism_list(slot: CK_SLOT_ID) -> CkResult<Vec<CK_MECHANISM_TYPE>> {
    let m = module()?;
    Ok(mechanism::list(&capabilities(m.slot(slot)?)?))
}

/// `C_GetMechanismInfo`.
pub(crate) fn mechanism_info(
    slot: CK_SLOT_ID,
    mech: CK_MECHANISM_TYPE,
) -> CkResult<CK_MECHANISM_INFO> {
    let m = module()?;
    mechanism::info(&capabilities(m.slot(slot)?)?, mech).ok_or(CKR_MECHANISM_INVALID)
}

/// `C_OpenSession`.
pub(crate) fn open_session(slot: CK_SLOT_ID, flags: CK_FLAGS) -> CkResult<CK_SESSION_HANDLE> {
    let m = module()?;
    let _ = m.slot(slot)?;
    if flags & CKF_SERIAL_SESSION == 0 {
        return Err(CKR_SESSION_PARALLEL_NOT_SUPPORTED);
    }
    Ok(m.sessions.open(slot, flags & CKF_RW_SESSION != 0))
}

/// `C_CloseSession`; closing a slot's last session logs out, as the standard says.
pub(crate) fn close_session(handle: CK_SESSION_HANDLE) -> CkResult<()> {
    let m = module()?;
    let (slot, last) = m.sessions.close(handle)?;
    if last {
        let _ = m.slot(slot)?.logout();
    }
    Ok(())
}

/// `C_CloseAllSessions`.
pub(crate) fn close_all_sessions(slot: CK_SLOT_ID) -> CkResult<()> {
    let m = module()?;
    let s = m.slot(slot)?;
    m.sessions.close_all(slot);
    let _ = s.logout();
    Ok(())
}

/// `C_GetSessionInfo`.
pub(crate) fn session_info(handle: CK_SESSION_HANDLE) -> CkResult<CK_SESSION_INFO> {
    let m = module()?;
    let (session, slot) = m.session(handle)?;
    let rw = locked(&session).rw;
    let state = match (rw, slot.logged_in()) {
        (false, false) => CKS_RO_PUBLIC_SESSION,
        (false, true) => CKS_RO_USER_FUNCTIONS,
        (true, false) => CKS_RW_PUBLIC_SESSION,
        (true, true) => CKS_RW_USER_FUNCTIONS,
    };
    Ok(CK_SESSION_INFO {
        slotID: slot.id,
        state,
        flags: CKF_SERIAL_SESSION | if rw { CKF_RW_SESSION } else { 0 },
        ulDeviceError: 0,
    })
}

/// `C_Login`.
pub(crate) fn login(
    handle: CK_SESSION_HANDLE,
    user: CK_USER_TYPE,
    pin: &SecretString,
) -> CkResult<()> {
    let m = module()?;
    let (_, slot) = m.session(handle)?;
    match user {
        CKU_USER => slot.login(pin),
        CKU_SO => Err(CKR_USER_TYPE_INVALID),
        CKU_CONTEXT_SPECIFIC => Err(CKR_OPERATION_NOT_INITIALIZED),
        _ => Err(CKR_USER_TYPE_INVALID),
    }
}

/// `C_Logout`.
pub(crate) fn logout(handle: CK_SESSION_HANDLE) -> CkResult<()> {
    let m = module()?;
    let (_, slot) = m.session(handle)?;
    slot.logout()
}

/// An attribute template read from C: (type, value bytes).
pub(crate) type Template = Vec<(CK_ATTRIBUTE_TYPE, Vec<u8>)>;

/// A `CK_ULONG` attribute of a template; `CKR_ATTRIBUTE_VALUE_INVALID` when it has another size.
pub(crate) fn template_ulong(
    template: &Template,
    attr: CK_ATTRIBUTE_TYPE,
) -> CkResult<Option<CK_ULONG>> {
    match template.iter().find(|(t, _)| *t == attr) {
        None => Ok(None),
        Some((_, v)) => <[u8; 8]>::try_from(v.as_slice())
            .map(|b| Some(CK_ULONG::from_ne_bytes(b)))
            .map_err(|_| CKR_ATTRIBUTE_VALUE_INVALID),
    }
}

/// An attribute's value in a template.
pub(crate) fn template_bytes(template: &Template, attr: CK_ATTRIBUTE_TYPE) -> Option<&[u8]> {
    template
        .iter()
        .find(|(t, _)| *t == attr)
        .map(|(_, v)| v.as_slice())
}

/// The keys a search may match: one lookup when the template names a NetHSM/N200 key by
/// `CKA_ID`, else the whole listing.
pub(crate) fn candidate_keys(slot: &Slot, template: &Template) -> CkResult<Vec<hsm_core::KeyInfo>> {
    let hsm = slot.backend()?;
    let by_id = template_bytes(template, CKA_ID)
        .filter(|id| !id.is_empty() && matches!(slot.scheme, Scheme::NetHsm | Scheme::N200));
    if let Some(id) = by_id
        && let Ok(key) = KeyId::name(object::encode_name(id))
    {
        {
            return match hsm.key_info(&key) {
                Ok(info) => Ok(vec![info]),
                Err(e) if e.is_not_found() || e.kind() == hsm_core::ErrorKind::InvalidInput => {
                    Ok(Vec::new())
                }
                Err(e) => Err(from_hsm(Doing::Objects, &e)),
            };
        }
    }
    hsm.list_keys().map_err(|e| from_hsm(Doing::Objects, &e))
}

/// Reads the public key of a record once (a backend call), for the attributes that need it.
fn ensure_public(slot: &Slot, key: &KeyRecord) -> CkResult<()> {
    if key.public.get().is_some() {
        return Ok(());
    }
    let public = slot
        .backend()?
        .public_key(&key.id)
        .map_err(|e| from_hsm(Doing::Objects, &e))?;
    let _ = key.public.set(public);
    Ok(())
}

/// `C_FindObjectsInit`.
pub(crate) fn find_init(handle: CK_SESSION_HANDLE, template: Template) -> CkResult<()> {
    let m = module()?;
    let (session, slot) = m.session(handle)?;
    if locked(&session).find.is_some() {
        return Err(CKR_OPERATION_ACTIVE);
    }
    let class = template_ulong(&template, CKA_CLASS).unwrap_or(None);
    let keys_wanted = class.is_none_or(|c| c == CKO_PRIVATE_KEY || c == CKO_PUBLIC_KEY);
    let certs_wanted = class.is_none_or(|c| c == CKO_CERTIFICATE);
    let mut found = Vec::new();
    // Without the backend's credential nothing can be listed: a slot whose PIN is the
    // credential shows its objects after C_Login.
    if (keys_wanted || certs_wanted) && slot.logged_in() {
        let certs_wanted = certs_wanted && slot.backend()?.capabilities().certificates;
        for info in candidate_keys(slot, &template)? {
            let Some(record) = KeyRecord::from_info(slot.id, slot.scheme, &info) else {
                continue;
            };
            let [private, public] = m.objects().register(record);
            let key = Arc::clone(&private.1.key);
            if keys_wanted {
                for (h, object) in [private, public] {
                    if matching(slot, &object, &template)? {
                        found.push(h);
                    }
                }
            }
            // A certificate shares its key's CKA_ID and CKA_LABEL: a template that names
            // another key costs no certificate read.
            if certs_wanted && key_may_match(&key, &template) {
                match read_certificate(slot, &key)? {
                    Some(cert) => {
                        let (h, object) = m.objects().register_certificate(key, cert);
                        if object::matches(&object, &template) {
                            found.push(h);
                        }
                    }
                    None => m.objects().remove_certificate(&key),
                }
            }
        }
    }
    locked(&session).find = Some((found, 0));
    Ok(())
}

/// Whether a key object matches a search template (reading its public key first when the
/// template names an attribute of it).
fn matching(slot: &Slot, object: &object::Object, template: &Template) -> CkResult<bool> {
    if template
        .iter()
        .any(|(t, _)| object::needs_public_key(object.class, *t))
    {
        ensure_public(slot, &object.key)?;
    }
    Ok(object::matches(object, template))
}

/// Whether the template's `CKA_ID` and `CKA_LABEL`, if any, are this key's.
fn key_may_match(key: &KeyRecord, template: &Template) -> bool {
    template_bytes(template, CKA_ID).is_none_or(|id| id == key.cka_id.as_slice())
        && template_bytes(template, CKA_LABEL).is_none_or(|l| l == key.label.as_bytes())
}

/// The certificate the backend keeps with a key, if any. A stored value that is not one X.509
/// certificate (DER or PEM) is left out, with a warning.
pub(crate) fn read_certificate(slot: &Slot, key: &KeyRecord) -> CkResult<Option<CertRecord>> {
    match slot.backend()?.certificate(&key.id) {
        Ok(Some(bytes)) => {
            let cert = CertRecord::parse(&bytes);
            if cert.is_none() {
                tracing::warn!(
                    slot = slot.id,
                    key = %key.id,
                    len = bytes.len(),
                    "the certificate stored with the key is not one X.509 certificate; not shown"
                );
            }
            Ok(cert)
        }
        Ok(None) => Ok(None),
        // The key went away since the listing.
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(from_hsm(Doing::Objects, &e)),
    }
}

/// `C_FindObjects`: up to `max` more handles.
pub(crate) fn find(handle: CK_SESSION_HANDLE, max: usize) -> CkResult<Vec<CK_OBJECT_HANDLE>> {
    let m = module()?;
    let (session, _) = m.session(handle)?;
    let mut session = locked(&session);
    let (found, pos) = session.find.as_mut().ok_or(CKR_OPERATION_NOT_INITIALIZED)?;
    let out: Vec<_> = found.iter().skip(*pos).take(max).copied().collect();
    *pos += out.len();
    Ok(out)
}

/// `C_FindObjectsFinal`.
pub(crate) fn find_final(handle: CK_SESSION_HANDLE) -> CkResult<()> {
    let m = module()?;
    let (session, _) = m.session(handle)?;
    locked(&session)
        .find
        .take()
        .map(|_| ())
        .ok_or(CKR_OPERATION_NOT_INITIALIZED)
}

/// `C_GetAttributeValue`: one answer per requested type.
pub(crate) fn attributes(
    handle: CK_SESSION_HANDLE,
    object: CK_OBJECT_HANDLE,
    types: &[CK_ATTRIBUTE_TYPE],
) -> CkResult<Vec<AttrValue>> {
    let m = module()?;
    let (_, slot) = m.session(handle)?;
    let object = m.object(slot, object)?;
    if types
        .iter()
        .any(|t| object::needs_public_key(object.class, *t))
    {
        ensure_public(slot, &object.key)?;
    }
    Ok(types
        .iter()
        .map(|t| object::attribute(&object, *t))
        .collect())
}

/// `C_SignInit`.
pub(crate) fn sign_init(
    handle: CK_SESSION_HANDLE,
    mech: CK_MECHANISM_TYPE,
    params: MechParams,
    key: CK_OBJECT_HANDLE,
) -> CkResult<()> {
    let m = module()?;
    let (session, slot) = m.session(handle)?;
    if locked(&session).sign.is_some() {
        return Err(CKR_OPERATION_ACTIVE);
    }
    let object = m.object(slot, key)?;
    if object.class != Class::Private {
        return Err(CKR_KEY_FUNCTION_NOT_PERMITTED);
    }
    let mech = SignMech::parse(mech, params)?;
    let op = SignOp::new(object.key, mech)?;
    locked(&session).sign = Some(op);
    Ok(())
}

/// What a signing call produced.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Signed {
    /// Sizes-only call, or the caller's buffer is too small: the length, operation still active.
    Length(usize),
    /// The signature; the operation is over.
    Done(Vec<u8>),
}

/// `C_Sign` (`data` is `None` for `C_SignFinal`); `capacity` is the caller's buffer, `None` for
/// a sizes-only call.
pub(crate) fn sign(
    handle: CK_SESSION_HANDLE,
    data: Option<&[u8]>,
    capacity: Option<usize>,
) -> CkResult<Signed> {
    let m = module()?;
    let (session, slot) = m.session(handle)?;
    let mut guard = locked(&session);
    let op = guard.sign.as_ref().ok_or(CKR_OPERATION_NOT_INITIALIZED)?;
    let len = op.signature_len();
    if capacity.is_none_or(|c| c < len) {
        return Ok(Signed::Length(len));
    }
    let mut op = guard.sign.take().ok_or(CKR_OPERATION_NOT_INITIALIZED)?;
    if let Some(data) = data {
        if op.updated {
            return Err(CKR_OPERATION_ACTIVE);
        }
        op.update(data)?;
    }
    if !slot.logged_in() {
        return Err(CKR_USER_NOT_LOGGED_IN);
    }
    let hsm = slot.backend()?;
    // The session's own lock is held (one thread per session); no module-wide lock is.
    let signature = op.finish(hsm.as_ref())?;
    drop(guard);
    Ok(Signed::Done(signature))
}

/// `C_SignUpdate`.
pub(crate) fn sign_update(handle: CK_SESSION_HANDLE, part: &[u8]) -> CkResult<()> {
    let m = module()?;
    let (session, _) = m.session(handle)?;
    let mut guard = locked(&session);
    let op = guard.sign.as_mut().ok_or(CKR_OPERATION_NOT_INITIALIZED)?;
    op.updated = true;
    let result = op.update(part);
    if result.is_err() {
        guard.sign = None;
    }
    result
}

/// `C_GenerateKeyPair`: the public and private handles.
pub(crate) fn generate_key_pair(
    handle: CK_SESSION_HANDLE,
    mech: CK_MECHANISM_TYPE,
    public: &Template,
    private: &Template,
) -> CkResult<(CK_OBJECT_HANDLE, CK_OBJECT_HANDLE)> {
    let m = module()?;
    let (session, slot) = m.session(handle)?;
    if !locked(&session).rw {
        return Err(CKR_SESSION_READ_ONLY);
    }
    if !slot.logged_in() {
        return Err(CKR_USER_NOT_LOGGED_IN);
    }
    for t in [public, private] {
        if template_bytes(t, CKA_TOKEN).is_some_and(|v| v == [CK_FALSE]) {
            // Every key lives on the device.
            return Err(CKR_TEMPLATE_INCONSISTENT);
        }
    }
    let spec = mechanism::keygen_spec(
        mech,
        template_ulong(public, CKA_MODULUS_BITS)?,
        template_bytes(public, CKA_PUBLIC_EXPONENT),
        template_bytes(public, CKA_EC_PARAMS),
    )?;
    let hsm = slot.backend()?;
    if !hsm.capabilities().has_spec(spec) {
        return Err(match spec {
            KeySpec::Ec(_) | KeySpec::Ed25519 => CKR_CURVE_NOT_SUPPORTED,
            _ => CKR_ATTRIBUTE_VALUE_INVALID,
        });
    }
    let id = template_bytes(private, CKA_ID).or_else(|| template_bytes(public, CKA_ID));
    let label = template_bytes(private, CKA_LABEL)
        .or_else(|| template_bytes(public, CKA_LABEL))
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .filter(|l| !l.is_empty());
    let template = key_template(slot.scheme, id, label, spec)?;
    let info = hsm
        .generate_key(&template)
        .map_err(|e| from_hsm(Doing::Generate, &e))?;
    let record = KeyRecord::from_info(slot.id, slot.scheme, &info).ok_or(CKR_DEVICE_ERROR)?;
    let [(private_h, _), (public_h, _)] = m.objects().register(record);
    tracing::info!(slot = slot.id, key = %info.id, %spec, "key pair generated");
    Ok((public_h, private_h))
}

/// What to ask the backend for: NetHSM and N200 name keys (`CKA_ID` mapped as Nitrokey's module
/// does), PKCS#11 and SmartCard-HSM keep `CKA_ID` bytes and a label.
fn key_template(
    scheme: Scheme,
    id: Option<&[u8]>,
    label: Option<String>,
    spec: KeySpec,
) -> CkResult<KeyTemplate> {
    let fresh = || {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        format!("p11{nanos:x}").into_bytes()
    };
    let bad = |_| CKR_ATTRIBUTE_VALUE_INVALID;
    Ok(match scheme {
        Scheme::NetHsm | Scheme::N200 => {
            let bytes = id
                .map(<[u8]>::to_vec)
                .or_else(|| label.map(String::into_bytes))
                .unwrap_or_else(fresh);
            KeyTemplate::new(KeyId::name(object::encode_name(&bytes)).map_err(bad)?, spec)
        }
        Scheme::Pkcs11 | Scheme::ScHsm => {
            let key = match (id, &label) {
                (Some(id), _) => KeyId::from_bytes(id).map_err(bad)?,
                (None, Some(l)) => KeyId::name(l.clone()).map_err(bad)?,
                (None, None) => KeyId::from_bytes(fresh()).map_err(bad)?,
            };
            let template = KeyTemplate::new(key, spec);
            match label {
                Some(l) => template.with_label(l),
                None => template,
            }
        }
    })
}

/// `C_DestroyObject`: a key handle deletes the key pair on the device (either handle names it),
/// a certificate handle the certificate stored with the key.
pub(crate) fn destroy_object(handle: CK_SESSION_HANDLE, object: CK_OBJECT_HANDLE) -> CkResult<()> {
    let m = module()?;
    let (session, slot) = m.session(handle)?;
    if !locked(&session).rw {
        return Err(CKR_SESSION_READ_ONLY);
    }
    let object = m.object(slot, object)?;
    if !slot.logged_in() {
        return Err(CKR_USER_NOT_LOGGED_IN);
    }
    let hsm = slot.backend()?;
    let key = &object.key;
    if object.class == Class::Certificate {
        hsm.delete_certificate(&key.id)
            .map_err(|e| from_hsm(Doing::Objects, &e))?;
        m.objects().remove_certificate(key);
        tracing::info!(slot = slot.id, key = %key.id, "certificate destroyed");
    } else {
        hsm.delete_key(&key.id)
            .map_err(|e| from_hsm(Doing::Objects, &e))?;
        m.objects().remove_key(key);
        tracing::info!(slot = slot.id, key = %key.id, "key pair destroyed");
    }
    Ok(())
}

/// Checks a session handle (for the functions this module does not support, which must still
/// say `CKR_SESSION_HANDLE_INVALID` / `CKR_CRYPTOKI_NOT_INITIALIZED` first).
pub(crate) fn check_session(handle: CK_SESSION_HANDLE) -> CkResult<()> {
    let m = module()?;
    m.session(handle).map(|_| ())
}
