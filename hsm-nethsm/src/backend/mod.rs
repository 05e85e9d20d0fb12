//! [`AsyncNetHsm`]: the hsm-core backend over the async client, and the one copy of its logic
//! (key cache, checks, sign modes, batches). The blocking [`NetHsm`](crate::NetHsm) runs these
//! same futures on its private runtime.

pub(crate) mod blocking;
mod capabilities;
mod certificates;
pub(crate) mod cipher;
mod key_cache;
mod keys;
mod listing;
mod random;
mod signing;
mod trace;
mod traits;

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use hsm_core::{Capabilities, Error, ErrorKind, KeySpec, Result};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use self::key_cache::CachedKey;
use crate::client::{Credentials, NetHsmClient};

/// Requests of one `sign_many` batch or `list_keys` listing in flight at once, unless
/// [`AsyncNetHsm::with_max_in_flight`] says otherwise.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 16;

/// A NetHSM as an async hsm-core backend ([`AsyncKeyStore`](hsm_core::AsyncKeyStore) + [`AsyncSigner`](hsm_core::AsyncSigner)), for services on
/// a tokio runtime: a signature is one HTTP request driven by the caller's own task, with no
/// thread hop and no runtime of its own.
///
/// Cheap to clone: clones share the connection pools, the key cache and the in-flight limit,
/// so one handle serves any number of tasks. Opened with [`AsyncNetHsm::open`] /
/// [`AsyncNetHsm::open_with`] (or [`crate::open_async`]), or built from a [`NetHsmClient`]
/// with [`AsyncNetHsm::new`].
///
/// ```no_run
/// # async fn demo() -> hsm_core::Result<()> {
/// use hsm_core::{OpenOptions, SignAlgorithm, secret::SecretString};
///
/// let hsm = hsm_nethsm::open_async_with(
///     "nethsm://operator@nethsm.example:8443?ca=nethsm.pem",
///     OpenOptions::new().credential(SecretString::from("from your vault")),
/// )?;
/// let key = "signer1".parse()?;
/// let signature = hsm.sign(&key, SignAlgorithm::EcdsaSha256, b"payload").await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct AsyncNetHsm {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    client: NetHsmClient,
    /// An Administrator sharing the pool, for key management (operators may only use keys).
    admin: Option<NetHsmClient>,
    /// Whether an administrator was configured (kept by thread lanes, which drop `admin`):
    /// certificates are served only then.
    has_admin: bool,
    keys: Arc<Mutex<HashMap<String, Arc<CachedKey>>>>,
    /// The spec of the AES (`Generic`) keys this backend generated or imported: the device
    /// does not report a Generic key's length.
    secret_specs: Arc<Mutex<HashMap<String, KeySpec>>>,
    /// Requests of one batch or listing in flight at once.
    batch_in_flight: usize,
    /// When set, the requests of every clone in flight at once.
    limit: Option<Arc<Semaphore>>,
    /// What the handle declares, certificates aside (they depend on `has_admin`): every
    /// NetHSM's, or what [`AsyncNetHsm::serving`] says the device behind it offers.
    capabilities: Capabilities,
    /// What the handle, its clones and its lanes keep alive, opaque here: over `nethsm+sim:`,
    /// the simulator `open` started (and finds again through [`AsyncNetHsm::kept_alive`]).
    keep_alive: Option<Arc<dyn Any + Send + Sync>>,
}

impl fmt::Debug for AsyncNetHsm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncNetHsm")
            .field("client", &self.inner.client)
            .field("batch_in_flight", &self.inner.batch_in_flight)
            .finish_non_exhaustive()
    }
}

impl AsyncNetHsm {
    /// A backend over `client`. Starts nothing: the calls run on the caller's runtime.
    #[must_use]
    pub fn new(client: NetHsmClient) -> Self {
        Self {
            inner: Arc::new(Inner {
                client,
                admin: None,
                has_admin: false,
                keys: Arc::default(),
                secret_specs: Arc::default(),
                batch_in_flight: DEFAULT_MAX_IN_FLIGHT,
                limit: None,
                capabilities: capabilities::capabilities(),
                keep_alive: None,
            }),
        }
    }

    fn rebuilt(self, change: impl FnOnce(&mut Inner)) -> Self {
        let mut inner = Arc::unwrap_or_clone(self.inner);
        change(&mut inner);
        Self {
            inner: Arc::new(inner),
        }
    }

    /// Uses `credentials` (an Administrator) for generate, import and delete and for storing
    /// and deleting key certificates, which the NetHSM allows only to administrators, while
    /// signing stays with the main user (an Operator). Certificates are declared (and served)
    /// only with an administrator.
    #[must_use]
    pub fn with_admin(self, credentials: Credentials) -> Self {
        let admin = self.inner.client.with_credentials(credentials);
        self.rebuilt(|inner| {
            inner.admin = Some(admin);
            inner.has_admin = true;
        })
    }

    /// At most `calls` requests in flight at once (at least one), over every clone of this
    /// handle: a `sign_many` batch or a listing keeps up to `calls` requests in flight, and
    /// single calls beyond the limit wait for a free slot. Without it, a batch keeps
    /// [`DEFAULT_MAX_IN_FLIGHT`] in flight and single calls are not limited.
    #[must_use]
    pub fn with_max_in_flight(self, calls: usize) -> Self {
        let calls = calls.max(1);
        self.rebuilt(|inner| {
            inner.batch_in_flight = calls;
            inner.limit = Some(Arc::new(Semaphore::new(calls)));
        })
    }

    /// Keeps `keep_alive` (what the device behind this handle needs, such as a simulator the
    /// handle started) for as long as the handle, its clones and its lanes live, and declares
    /// `capabilities` (what that device offers) instead of every NetHSM's.
    #[cfg_attr(not(feature = "sim"), allow(dead_code))]
    pub(crate) fn serving(
        self,
        keep_alive: Arc<dyn Any + Send + Sync>,
        capabilities: Capabilities,
    ) -> Self {
        self.rebuilt(|inner| {
            inner.keep_alive = Some(keep_alive);
            inner.capabilities = capabilities;
        })
    }

    /// What [`Self::serving`] keeps alive, if anything.
    #[cfg_attr(not(feature = "sim"), allow(dead_code))]
    pub(crate) fn kept_alive(&self) -> Option<&(dyn Any + Send + Sync)> {
        self.inner.keep_alive.as_deref()
    }

    /// The async client, for the parts of the API the traits do not cover.
    #[must_use]
    pub fn client(&self) -> &NetHsmClient {
        &self.inner.client
    }

    /// The client for key management: the administrator's if one is configured.
    fn manager(&self) -> &NetHsmClient {
        self.inner.admin.as_ref().unwrap_or(&self.inner.client)
    }

    /// A slot under the in-flight limit, if there is one.
    async fn slot(&self, operation: &'static str) -> Result<Option<OwnedSemaphorePermit>> {
        match &self.inner.limit {
            None => Ok(None),
            Some(limit) => acquire(limit, operation).await.map(Some),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn acquire(limit: &Arc<Semaphore>, operation: &'static str) -> Result<OwnedSemaphorePermit> {
    Arc::clone(limit).acquire_owned().await.map_err(|e| {
        Error::new(ErrorKind::InvalidState, operation)
            .with_message("the in-flight limit is closed")
            .with_source(e)
    })
}
