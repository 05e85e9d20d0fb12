//! A NetHSM you can run (feature `sim`): the REST API over real HTTPS on loopback, with real
//! cryptography, the device's states, roles, status codes and `{"message": ...}` error bodies.
//!
//! Start it in-process with [`Simulator::start`] (what `nethsm+sim:` does) or as the
//! `nethsm-sim` binary. In the `operational` state it is provisioned with these users:
//!
//! | user | role | passphrase |
//! |---|---|---|
//! | `admin` | Administrator | [`ADMIN_PASSPHRASE`] |
//! | `operator` | Operator | [`OPERATOR_PASSPHRASE`] |
//!
//! and the unlock passphrase [`UNLOCK_PASSPHRASE`] (or [`SimConfig::unlock_passphrase`]).
//!
//! It is a test double with published passphrases: never put real keys in it.

mod backup;
mod clock;
mod crypto;
mod csr;
mod form;
#[cfg(feature = "sim-openssl")]
mod openssl_keys;
mod pem_keys;
mod rng;
mod routes;
mod rsa_keys;
mod state;
mod tls;
mod x509;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use hsm_core::tls::TlsOptions;
use hsm_core::{Error, ErrorKind, Result};
use secrecy::SecretString;

use self::state::{DeviceState, SimUser};
use crate::protocol::{SystemState, UserRole};

/// The administrator of an `operational` simulator.
pub const ADMIN_USER: &str = "admin";
/// The administrator's passphrase.
pub const ADMIN_PASSPHRASE: &str = "adminpassphrase";
/// The operator of an `operational` simulator.
pub const OPERATOR_USER: &str = "operator";
/// The operator's passphrase.
pub const OPERATOR_PASSPHRASE: &str = "operatorpassphrase";
/// The unlock passphrase of an `operational` simulator unless [`SimConfig::unlock_passphrase`]
/// says otherwise.
pub const UNLOCK_PASSPHRASE: &str = "unlockpassphrase";

/// What the simulator takes as an update image (`POST /system/update`): this line, then the
/// release notes. Anything else is refused as an invalid image (400).
pub const UPDATE_MAGIC: &[u8] = b"hsm-nethsm-sim update\n";

/// The state the simulator starts in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum InitialState {
    /// Factory state, like the real container: provision it first.
    Unprovisioned,
    /// Provisioned, with the default admin and operator.
    #[default]
    Operational,
}

/// How to run the simulator.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Address to listen on (port 0 picks a free one).
    pub listen: SocketAddr,
    /// The starting state.
    pub state: InitialState,
    /// Added to every response, to stand for a network.
    pub latency: Duration,
    /// Up to this much more, drawn for each request: a network's jitter (zero by default).
    pub jitter: Duration,
    /// The unlock passphrase of an `operational` start (`POST /unlock` after `POST /lock`).
    pub unlock_passphrase: SecretString,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            state: InitialState::Operational,
            latency: Duration::ZERO,
            jitter: Duration::ZERO,
            unlock_passphrase: SecretString::from(UNLOCK_PASSPHRASE),
        }
    }
}

impl SimConfig {
    /// The defaults: `127.0.0.1` on a free port, operational, no added latency.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    hsm_simkit::setters! {
        /// Listens on `listen` (port 0 picks a free one).
        listen: SocketAddr,
        /// Starts in `state`.
        state: InitialState,
        /// Adds `latency` to every response, to stand for a network.
        latency: Duration,
        /// Adds up to `jitter` more to every response, drawn for each.
        jitter: Duration,
        /// The unlock passphrase of an operational start.
        unlock_passphrase: SecretString,
    }
}

/// A fault to put the simulator in ([`Simulator::inject`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Accepts connections and requests and answers none, like a hung device.
    Stall,
    /// Stops serving as if the machine died: the listener closes and open connections drop
    /// mid-request; the state is kept.
    Crash,
    /// The handler of the next request panics (once), as a bug in the device's software
    /// would: that request is answered 500 with a `{"message": ...}` body, never left without
    /// an answer, and the requests after it are served as usual.
    HandlerPanic,
    /// The random-number generator fails: every request that draws random numbers (key
    /// generation, `/random`, ECDSA and PSS signatures, generated ids, IVs, backups) is
    /// answered 500 with a message until [`Fault::Recover`]; nothing is made from a failed draw.
    RandomFails,
    /// Back to normal: answers again and, after a crash or a `POST /system/shutdown`, serves
    /// again on the same address with the same certificate and state; the random-number
    /// generator works again.
    Recover,
}

/// What the request handlers of one instance share. Replicas share `device`.
pub(crate) struct Shared {
    device: Arc<Mutex<DeviceState>>,
    /// The network's delay before each request is handled.
    wire: hsm_simkit::wire::Wire,
    connections: AtomicU64,
    requests: AtomicU64,
    /// Requests received and not yet answered, and the most there ever were at once.
    in_flight: AtomicU64,
    max_in_flight: AtomicU64,
    stalled: AtomicBool,
    /// Set by [`Fault::HandlerPanic`]: the next request's handler panics.
    panic_next: AtomicBool,
    /// The random numbers (shared by replicas, like the device).
    pub(crate) rng: rng::SimRng,
    /// Set by `POST /system/shutdown`: the server stops until resumed.
    halted: tokio::sync::watch::Sender<bool>,
    /// The TLS identity served to new connections.
    served: std::sync::RwLock<tls::Served>,
}

impl Shared {
    /// The served certificate and an acceptor for it.
    fn served(&self) -> (tls::Certificate, tokio_rustls::TlsAcceptor) {
        let served = self.served.read().unwrap_or_else(PoisonError::into_inner);
        (served.certificate.clone(), served.acceptor.clone())
    }

    /// Serves `certificate` (PEM) with `key` to new connections, if the TLS stack can (rustls
    /// signs with P-256, P-384, Ed25519 and RSA keys); `false` when it keeps the old identity.
    pub(crate) fn serve_identity(&self, key: &crypto::SimSecret, certificate: &str) -> bool {
        let served = x509::tls_pkcs8(key)
            .map_err(|m| {
                Error::new(ErrorKind::Unavailable, "nethsm-sim.tls").with_message(m.to_string())
            })
            .and_then(|der| tls::Certificate::from_parts(certificate, der))
            .and_then(tls::Served::new);
        match served {
            Ok(served) => {
                *self.served.write().unwrap_or_else(PoisonError::into_inner) = served;
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, "the simulator keeps serving its previous TLS certificate");
                false
            }
        }
    }
}

/// Whether this build of the simulator offers keys of `key_type`: every type the device has,
/// except brainpoolP512r1 without the `sim-openssl` feature (no Rust implementation of that
/// curve exists). A type it does not offer is refused as the device refuses a type it does not
/// know: 400 Bad Request on generation and import.
#[must_use]
pub fn offers(key_type: crate::protocol::KeyType) -> bool {
    crypto::offers(key_type)
}

/// A running simulator; it stops when dropped.
pub struct Simulator {
    addr: SocketAddr,
    shared: Arc<Shared>,
    runtime: tokio::runtime::Handle,
    /// Dropping it stops the accept loop and closes every open connection.
    shutdown: Option<tokio::sync::watch::Sender<()>>,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

fn start_error(e: impl Into<hsm_core::error::BoxError>) -> Error {
    Error::new(ErrorKind::Unavailable, "nethsm-sim.start").with_source(e)
}

impl Simulator {
    /// Binds, generates a TLS certificate and starts serving on `runtime`.
    ///
    /// # Errors
    /// [`ErrorKind::Unavailable`] if the address cannot be bound.
    pub fn start(config: SimConfig, runtime: &tokio::runtime::Handle) -> Result<Self> {
        let mut device = DeviceState::unprovisioned();
        if config.state == InitialState::Operational {
            device.state = SystemState::Operational;
            device.unlock = Some(state::PassphraseDigest::new(&config.unlock_passphrase));
            let admin = SimUser::new(
                UserRole::Administrator,
                "admin",
                &SecretString::from(ADMIN_PASSPHRASE),
            );
            let operator = SimUser::new(
                UserRole::Operator,
                "operator",
                &SecretString::from(OPERATOR_PASSPHRASE),
            );
            let _ = device.users.insert(ADMIN_USER.into(), admin);
            let _ = device.users.insert(OPERATOR_USER.into(), operator);
        }
        let wire = hsm_simkit::wire::Wire::new(config.latency, config.jitter)
            .map_err(|e| Error::new(ErrorKind::Unavailable, "nethsm-sim.start").with_source(e))?;
        Self::serve(
            config.listen,
            wire,
            (Arc::new(Mutex::new(device)), rng::SimRng::default()),
            runtime,
        )
    }

    /// Another instance of the same cluster: it listens on `listen` with its own certificate
    /// and connections, and shares this one's state (users, keys), like a replicated NetHSM.
    ///
    /// # Errors
    /// [`ErrorKind::Unavailable`] if the address cannot be bound.
    pub fn start_replica(&self, listen: SocketAddr) -> Result<Self> {
        Self::serve(
            listen,
            self.shared.wire.clone(),
            (Arc::clone(&self.shared.device), self.shared.rng.clone()),
            &self.runtime,
        )
    }

    /// Serves `device` with `rng` (a replica shares both with the simulator it copies).
    fn serve(
        listen: SocketAddr,
        wire: hsm_simkit::wire::Wire,
        (device, rng): (Arc<Mutex<DeviceState>>, rng::SimRng),
        runtime: &tokio::runtime::Handle,
    ) -> Result<Self> {
        let certificate = tls::Certificate::generate()?;
        let shared = Arc::new(Shared {
            device,
            wire,
            connections: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
            max_in_flight: AtomicU64::new(0),
            stalled: AtomicBool::new(false),
            panic_next: AtomicBool::new(false),
            rng,
            halted: tokio::sync::watch::channel(false).0,
            served: std::sync::RwLock::new(tls::Served::new(certificate.clone())?),
        });
        {
            let mut device = shared.device.lock().unwrap_or_else(PoisonError::into_inner);
            if device.config.tls_key.is_none() {
                device.config.tls_key = Some(certificate.secret()?);
                device.config.tls_certificate = certificate.pem.clone();
            }
        }
        let mut simulator = Self {
            addr: listen,
            shared,
            runtime: runtime.clone(),
            shutdown: None,
        };
        simulator.listen()?;
        Ok(simulator)
    }

    /// Binds `self.addr` and spawns the accept loop.
    fn listen(&mut self) -> Result<()> {
        let listener = hsm_simkit::https::bind(self.addr, &self.runtime).map_err(|e| {
            Error::new(ErrorKind::Unavailable, "nethsm-sim.start")
                .with_message(format!("cannot listen on {}", self.addr))
                .with_source(e)
        })?;
        self.addr = listener.local_addr().map_err(start_error)?;
        let app = routes::router(Arc::clone(&self.shared));
        let (shutdown, stop) = tokio::sync::watch::channel(());
        let _task = self
            .runtime
            .spawn(tls::serve(listener, app, Arc::clone(&self.shared), stop));
        self.shutdown = Some(shutdown);
        tracing::info!(addr = %self.addr, "NetHSM simulator listening");
        Ok(())
    }

    /// Stops serving as if the machine died: the listener closes and every open connection is
    /// dropped mid-request. The state is kept; [`Self::resume`] serves it again.
    pub fn stop(&mut self) {
        drop(self.shutdown.take());
    }

    /// Serves again on the same address, with the same certificate and state, after
    /// [`Self::stop`] or a `POST /system/shutdown` (which, like powering the device on again,
    /// boots it: Locked, or Operational with unattended boot). Does nothing if it is running.
    ///
    /// # Errors
    /// [`ErrorKind::Unavailable`] if the address cannot be bound again.
    pub fn resume(&mut self) -> Result<()> {
        if self.shared.halted.send_replace(false) {
            routes::boot(&mut self.shared.lock());
            self.stop();
        }
        if self.shutdown.is_some() {
            return Ok(());
        }
        self.listen()
    }

    /// Whether a `POST /system/shutdown` stopped it.
    #[must_use]
    pub fn is_shut_down(&self) -> bool {
        *self.shared.halted.borrow()
    }

    /// While `stalled`, the simulator accepts connections and requests but answers none, like
    /// a hung device (requests already waiting are answered once it is released).
    pub fn set_stalled(&self, stalled: bool) {
        self.shared.stalled.store(stalled, Ordering::Relaxed);
    }

    /// HTTP requests received so far.
    #[must_use]
    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }

    /// The most requests this instance has had in progress at once (received, not yet
    /// answered), to prove that a client overlaps its requests.
    #[must_use]
    pub fn max_in_flight(&self) -> u64 {
        self.shared.max_in_flight.load(Ordering::Relaxed)
    }

    /// Starts [`Self::max_in_flight`] again from the requests in progress now.
    pub fn reset_max_in_flight(&self) {
        self.shared.max_in_flight.store(
            self.shared.in_flight.load(Ordering::Relaxed),
            Ordering::Relaxed,
        );
    }

    /// The address it listens on.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The certificate served now, PEM: the one made at start until `/config/tls/generate` or
    /// `PUT /config/tls/cert.pem` installs another (for new connections, like the device).
    #[must_use]
    pub fn certificate_pem(&self) -> String {
        self.shared.served().0.pem
    }

    /// The certificate served now, PEM (the name every hsm-rs simulator uses for it; the same
    /// as [`Self::certificate_pem`]).
    #[must_use]
    pub fn cert_pem(&self) -> String {
        self.certificate_pem()
    }

    /// Puts the simulator in `fault`, or takes it out with [`Fault::Recover`].
    ///
    /// # Errors
    /// [`ErrorKind::Unavailable`] if recovering from a crash cannot bind the address again.
    pub fn inject(&mut self, fault: Fault) -> Result<()> {
        match fault {
            Fault::Stall => self.set_stalled(true),
            Fault::Crash => self.stop(),
            Fault::HandlerPanic => self.shared.panic_next.store(true, Ordering::Relaxed),
            Fault::RandomFails => self.shared.rng.set_failing(true),
            Fault::Recover => {
                self.set_stalled(false);
                self.shared.panic_next.store(false, Ordering::Relaxed);
                self.shared.rng.set_failing(false);
                return self.resume();
            }
        }
        Ok(())
    }

    /// TLS options that trust exactly the certificate served now (SHA-256 pin).
    #[must_use]
    pub fn tls_options(&self) -> TlsOptions {
        TlsOptions::default().with_pin_sha256(self.shared.served().0.sha256)
    }

    /// TCP connections accepted so far (to prove connection reuse).
    #[must_use]
    pub fn connections(&self) -> u64 {
        self.shared.connections.load(Ordering::Relaxed)
    }

    /// The default passphrase of `user` (`admin` or `operator`); anything else gets an empty
    /// secret, which the device refuses.
    #[must_use]
    pub fn default_passphrase(&self, user: &str) -> SecretString {
        SecretString::from(match user {
            ADMIN_USER => ADMIN_PASSPHRASE,
            OPERATOR_USER => OPERATOR_PASSPHRASE,
            _ => "",
        })
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.stop();
    }
}
