//! [`Pkcs11Hsm`]: the backend type, its constructor and the `KeyStore`/`Signer` implementation.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

use cryptoki::context::Pkcs11;
use cryptoki::mechanism::MechanismType;
use cryptoki::object::ObjectHandle;
use cryptoki::slot::Slot;
use hsm_core::store::{check_algorithm_fits, check_digest, check_message};
use hsm_core::{
    Capabilities, Error, ErrorKind, ImportRequest, KeyId, KeyInfo, KeySpec, KeyStore, KeyTemplate,
    PublicKey, Result, SignAlgorithm, Signature, Signer,
};
use secrecy::SecretString;

use crate::error::{CkResultExt, named};
use crate::keys;
use crate::mechanisms::{CANDIDATE_CURVES, Mechanisms};
use crate::objects::{self, ObjectKind};
use crate::pool::{SessionPool, Sizing};
use crate::sign;
use crate::uri::{PinSource, Pkcs11Uri};

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
    #[cfg(feature = "sim")]
    _sim: Option<crate::sim::SimToken>,
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

/// The most threads [`Signer::sign_many`] signs on when [`Options::sign_many_threads`] is unset.
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
    /// How many threads [`Signer::sign_many`] signs on (never more than the pool's sessions or
    /// the messages). `None`: [`DEFAULT_SIGN_MANY_THREADS`].
    pub sign_many_threads: Option<usize>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            max_sessions: None,
            min_idle_sessions: 1,
            sign_many_threads: None,
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

    /// Both the most sessions and the `sign_many` threads set to `threads`: at most `threads`
    /// operations in flight.
    #[must_use]
    pub fn with_concurrency(self, threads: usize) -> Self {
        self.with_max_sessions(threads)
            .with_sign_many_threads(threads)
    }
}

fn read_pin(pin: Option<PinSource>) -> Result<Option<SecretString>> {
    Ok(match pin {
        None => None,
        Some(PinSource::Value(p)) => Some(p),
        Some(PinSource::Env(var)) => Some(hsm_core::secret::secret_from_env(&var)?),
        Some(PinSource::File(path)) => Some(hsm_core::secret::secret_from_file(&path)?),
    })
}

impl Pkcs11Hsm {
    /// Opens the token a `pkcs11:` URI names (see the crate docs for the grammar), or, with the
    /// `sim` feature, `pkcs11+sim:` for a throwaway SoftHSM2 token.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] for a malformed URI or one without `module-path`/`module-name`,
    /// [`ErrorKind::Unavailable`] if the module cannot be loaded, [`ErrorKind::NotFound`] if no
    /// token matches, [`ErrorKind::AuthenticationFailed`] for a wrong PIN.
    pub fn open(uri: &str) -> Result<Self> {
        Self::open_with(uri, Options::default())
    }

    /// [`open`](Self::open) with [`Options`].
    ///
    /// # Errors
    /// As [`open`](Self::open).
    pub fn open_with(uri: &str, options: Options) -> Result<Self> {
        if let Some(rest) = uri.strip_prefix("pkcs11+sim:") {
            return Self::open_sim(rest, options).map_err(named("pkcs11.open"));
        }
        let parsed = Pkcs11Uri::parse(uri)?;
        Self::from_uri(parsed, options)
    }

    #[cfg(feature = "sim")]
    fn open_sim(rest: &str, options: Options) -> Result<Self> {
        if !rest.is_empty() {
            return Err(Error::invalid_input(
                "pkcs11.open",
                "`pkcs11+sim:` takes no attributes",
            ));
        }
        let sim = crate::sim::SimToken::create()?;
        let mut uri = Pkcs11Uri::parse(&sim.uri())?;
        uri.pin = Some(PinSource::Value(SecretString::from(crate::sim::USER_PIN)));
        let mut hsm = Self::from_uri(uri, options)?;
        hsm._sim = Some(sim);
        Ok(hsm)
    }

    #[cfg(not(feature = "sim"))]
    fn open_sim(_: &str, _: Options) -> Result<Self> {
        Err(Error::unsupported(
            "pkcs11.open",
            "built without the `sim` feature",
        ))
    }

    /// Opens the token a parsed URI names.
    ///
    /// # Errors
    /// As [`open`](Self::open).
    pub fn from_uri(mut uri: Pkcs11Uri, options: Options) -> Result<Self> {
        let module = match (uri.module_path.take(), uri.module_name.take()) {
            (Some(p), _) => p,
            (None, Some(name)) => crate::module::resolve_name(&name)?,
            (None, None) => {
                return Err(Error::invalid_input(
                    "pkcs11.open",
                    "the URI needs `?module-path=` or `?module-name=`",
                ));
            }
        };
        let pin = read_pin(uri.pin.take()).map_err(named("pkcs11.open"))?;
        let pkcs11 = crate::module::load(&module)?;
        let slot = crate::token::select(&pkcs11, &uri)?;
        let max = [options.max_sessions, uri.max_sessions]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(DEFAULT_MAX_SESSIONS);
        let sizing = Sizing {
            max,
            min_idle: options.min_idle_sessions,
        };
        let pool = SessionPool::new(pkcs11.clone(), slot, pin, sizing)?;
        let mechanisms = Mechanisms::detect(&pkcs11, slot);
        let curves: Vec<_> = match pkcs11.get_mechanism_info(slot, MechanismType::ECC_KEY_PAIR_GEN)
        {
            Ok(info) => CANDIDATE_CURVES
                .into_iter()
                .filter(|c| (info.min_key_size()..=info.max_key_size()).contains(&c.order_bits()))
                .collect(),
            Err(_) => Vec::new(),
        };
        let capabilities = mechanisms.capabilities(&curves);
        tracing::info!(module = %module.display(), slot = slot.id(), "PKCS#11 token open");
        Ok(Self {
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
            #[cfg(feature = "sim")]
            _sim: None,
        })
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
                return Err(crate::error::map("pkcs11.token_info", e));
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

    /// `len` random bytes from the token's generator.
    ///
    /// # Errors
    /// The module's error.
    pub fn random(&self, len: u32) -> Result<Vec<u8>> {
        self.pool
            .run("pkcs11.random", |s| Ok(s.generate_random_vec(len)?))
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
    /// [`ErrorKind::NotFound`]; the module's error.
    pub fn read_object(&self, kind: ObjectKind, key: &KeyId) -> Result<Vec<u8>> {
        self.pool
            .run("pkcs11.read_object", |s| objects::read(s, kind, key))
    }

    /// Deletes a certificate or data object.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`]; the module's error.
    pub fn delete_object(&self, kind: ObjectKind, key: &KeyId) -> Result<()> {
        self.pool
            .run("pkcs11.delete_object", |s| objects::delete(s, kind, key))
    }

    fn forget(&self, key: &KeyId) {
        self.handles
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
    }

    /// The private key handle and spec of `key`, and whether they came from the cache (looked
    /// up and cached on a miss).
    fn lookup(
        &self,
        key: &KeyId,
        operation: &'static str,
    ) -> Result<(ObjectHandle, KeySpec, bool)> {
        if let Some(&(handle, spec)) = self
            .handles
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
        {
            return Ok((handle, spec, true));
        }
        let (handle, spec) = self.pool.run(operation, |s| {
            let h = keys::find_private(s, key, operation)?;
            let spec = keys::spec_of(s, h)?.ok_or_else(|| {
                Error::unsupported(
                    operation,
                    format!("{key} has a key type this library does not model"),
                )
            })?;
            Ok((h, spec))
        })?;
        self.handles
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key.clone(), (handle, spec));
        Ok((handle, spec, false))
    }

    fn sign_inner(
        &self,
        key: &KeyId,
        algorithm: SignAlgorithm,
        data: &[u8],
        is_digest: bool,
        operation: &'static str,
    ) -> Result<Signature> {
        if !self.capabilities.has_algorithm(algorithm) {
            return Err(sign::unsupported(algorithm, operation));
        }
        let attempt = |(handle, spec, _): (ObjectHandle, KeySpec, bool)| {
            check_algorithm_fits(spec, algorithm, operation)?;
            let prepared = sign::prepare(spec, algorithm, data, is_digest)?;
            self.pool
                .run(operation, |s| sign::run(s, handle, &prepared, operation))
        };
        let found = self.lookup(key, operation)?;
        let cached = found.2;
        match attempt(found) {
            Err(e) if is_stale(&e) || (cached && e.kind() == ErrorKind::InvalidInput) => {
                // The cached handle or spec went stale: the key was deleted (and perhaps
                // re-created, even with another type) by someone else, or a logout dropped the
                // token's private handles. Log in again if needed and look the key up afresh.
                tracing::debug!(operation, "stale key handle; looking the key up again");
                self.forget(key);
                if self.pool.login_lost() {
                    self.pool
                        .recover()
                        .map_err(|r| r.with_operation(operation))?;
                }
                attempt(self.lookup(key, operation)?)
            }
            other => other,
        }
    }
}

fn is_stale(e: &Error) -> bool {
    matches!(
        e.status(),
        Some(hsm_core::DeviceStatus::Pkcs11 { name, .. })
            if name == "CKR_OBJECT_HANDLE_INVALID" || name == "CKR_KEY_HANDLE_INVALID"
    )
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

impl KeyStore for Pkcs11Hsm {
    fn backend(&self) -> &'static str {
        "pkcs11"
    }

    fn capabilities(&self) -> Capabilities {
        self.capabilities.clone()
    }

    #[tracing::instrument(name = "pkcs11.list_keys", skip_all)]
    fn list_keys(&self) -> Result<Vec<KeyInfo>> {
        // Without the login the private keys are invisible and the list would be silently short.
        self.pool.check_token("pkcs11.list_keys")?;
        if self.pool.login_lost() {
            self.pool.recover()?;
        }
        self.pool
            .run("pkcs11.list_keys", |s| {
                let handles = s.find_objects(&[cryptoki::object::Attribute::Class(
                    cryptoki::object::ObjectClass::PRIVATE_KEY,
                )])?;
                handles.into_iter().map(|h| keys::info(s, h)).collect()
            })
            .map_err(named("pkcs11.list_keys"))
    }

    #[tracing::instrument(name = "pkcs11.key_info", skip_all)]
    fn key_info(&self, key: &KeyId) -> Result<KeyInfo> {
        self.pool
            .run("pkcs11.key_info", |s| {
                let h = keys::find_private(s, key, "pkcs11.key_info")?;
                let mut info = keys::info(s, h)?;
                info.id = key.clone();
                Ok(info)
            })
            .map_err(named("pkcs11.key_info"))
    }

    #[tracing::instrument(name = "pkcs11.generate_key", skip_all)]
    fn generate_key(&self, template: &KeyTemplate) -> Result<KeyInfo> {
        const OP: &str = "pkcs11.generate_key";
        let spec = template.spec;
        if !self.capabilities.has_spec(spec) {
            return Err(Error::unsupported(
                OP,
                format!("the token cannot generate {spec} keys"),
            ));
        }
        let (id, label) = keys::id_and_label(&template.id, template.label.as_deref());
        self.forget(&template.id);
        self.pool
            .run(OP, |s| {
                keys::ensure_free(s, &template.id, &id, &label, OP)?;
                let h = keys::generate(s, spec, &id, &label)?;
                let mut info = keys::info(s, h)?;
                info.id = template.id.clone();
                Ok(info)
            })
            .map_err(named(OP))
    }

    #[tracing::instrument(name = "pkcs11.import_key", skip_all)]
    fn import_key(&self, request: &ImportRequest) -> Result<KeyInfo> {
        const OP: &str = "pkcs11.import_key";
        let parts = request.key.decode().map_err(named(OP))?;
        let public = crate::import::public_of(&parts).map_err(named(OP))?;
        let (id, label) = keys::id_and_label(&request.id, request.label.as_deref());
        self.forget(&request.id);
        self.pool
            .run(OP, |s| {
                keys::ensure_free(s, &request.id, &id, &label, OP)?;
                let h = keys::import(s, &parts, &public, &id, &label)?;
                let mut info = keys::info(s, h)?;
                info.id = request.id.clone();
                Ok(info)
            })
            .map_err(named(OP))
    }

    #[tracing::instrument(name = "pkcs11.delete_key", skip_all)]
    fn delete_key(&self, key: &KeyId) -> Result<()> {
        self.forget(key);
        self.pool.run("pkcs11.delete_key", |s| keys::delete(s, key))
    }

    #[tracing::instrument(name = "pkcs11.public_key", skip_all)]
    fn public_key(&self, key: &KeyId) -> Result<PublicKey> {
        self.pool
            .run("pkcs11.public_key", |s| {
                keys::public_key(s, key, "pkcs11.public_key")
            })
            .map_err(named("pkcs11.public_key"))
    }
}

impl Signer for Pkcs11Hsm {
    #[tracing::instrument(name = "pkcs11.sign", skip_all)]
    fn sign(&self, key: &KeyId, algorithm: SignAlgorithm, message: &[u8]) -> Result<Signature> {
        const OP: &str = "pkcs11.sign";
        check_message(message, self.capabilities.max_message_len, OP)?;
        let is_digest = algorithm == SignAlgorithm::EcdsaPrehashed;
        if is_digest {
            check_digest(algorithm, message, OP)?;
        }
        self.sign_inner(key, algorithm, message, is_digest, OP)
            .map_err(named(OP))
    }

    #[tracing::instrument(name = "pkcs11.sign_digest", skip_all)]
    fn sign_digest(
        &self,
        key: &KeyId,
        algorithm: SignAlgorithm,
        digest: &[u8],
    ) -> Result<Signature> {
        const OP: &str = "pkcs11.sign_digest";
        check_digest(algorithm, digest, OP)?;
        self.sign_inner(key, algorithm, digest, true, OP)
            .map_err(named(OP))
    }

    /// Signs on up to [`Options::sign_many_threads`] threads at once (at most the pool's
    /// sessions), one session each. Every message gets its result, in order: a message whose
    /// signing panicked, or that a lost thread never signed, gets an
    /// [`ErrorKind::InvalidState`] error of `pkcs11.sign_many`, and the other messages are
    /// still signed.
    fn sign_many(
        &self,
        key: &KeyId,
        algorithm: SignAlgorithm,
        messages: &[&[u8]],
    ) -> Vec<Result<Signature>> {
        let threads = self
            .sign_many_threads
            .min(self.pool.max_sessions())
            .min(messages.len())
            .max(1);
        crate::many::sign_each(threads, messages, |m| self.sign(key, algorithm, m))
    }
}
