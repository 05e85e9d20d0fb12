//! A simulated N200 (feature `sim`): both APIs over HTTPS, a certificate issued to the server
//! name only (connecting by IP fails verification unless the client overrides the name, as on
//! the real appliance), separate key spaces per core, real cryptography (OpenSSL), optional
//! latency, and counters of TCP connections and HTTP requests.
//!
//! Credentials: every request needs HTTP basic auth of the configured user (401 otherwise), as
//! the record's `curl -u` does. The record also shows the device answering requests that carry
//! none (the GET `curl` examples and the Python import script, a POST): whether that was the
//! device's default or an access rule of the reviewer's is not public, so the simulator serves
//! such requests only with [`SimConfig::allow_anonymous`] (`--allow-anonymous`); wrong
//! credentials are refused either way.
//!
//! Faults for tests: [`Simulator::inject`] queues [`Fault`]s that the next requests meet
//! (stall, a refusal status, an answer broken off after the command was carried out, a failing
//! random-number generator).
//!
//! Random numbers (secrets, the serial, key ids, keys, IVs) come from OpenSSL's generator; when
//! it fails, the simulator does not start, or the request is answered with HTTP 500: nothing is
//! ever made from an unfilled (all-zero) buffer.
//!
//! ```no_run
//! use hsm_n200::sim::{SimConfig, Simulator};
//! let sim = Simulator::start(SimConfig::random_credentials())?;
//! let n200 = hsm_n200::N200::new(sim.client_builder()?.build()?, sim.key_pin(), "FFFF")?;
//! println!("{}", n200.block_on(n200.client().timestamp())?.unix_seconds);
//! # Ok::<(), hsm_core::Error>(())
//! ```

mod device;
mod keys;
mod rng;
mod server;

pub use server::Fault;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hsm_core::secret::{ExposeSecret as _, SecretString};
use hsm_core::{Error, ErrorKind, Result};

use crate::protocol::commands::CommandTable;

const OP: &str = "n200.sim";

/// How to run the simulator. Its `Debug` shows the password and key PIN as `[REDACTED]`.
#[derive(Debug)]
#[non_exhaustive]
pub struct SimConfig {
    /// Where to listen (default `127.0.0.1:0`, a free port).
    pub listen: SocketAddr,
    /// The name the certificate is issued to (default `seSAM-nserie-101`).
    pub server_name: String,
    /// The user of basic auth (default `pkmaster`).
    pub user: String,
    /// The user's password; empty: a random one is drawn when the simulator starts (read it
    /// with [`Simulator::password`]).
    pub password: SecretString,
    /// The key PIN given to keys `n200+sim:` creates; empty (the default): a random one is
    /// drawn when the simulator starts ([`Simulator::key_pin`]).
    pub key_pin: SecretString,
    /// Crypto cores, numbered from 1 (default 2).
    pub cores: u8,
    /// Added to every answer (default none).
    pub latency: Duration,
    /// Up to this much more, drawn for each request: a network's jitter (default none).
    pub jitter: Duration,
    /// Serve requests that carry no credentials, as the record shows the device doing (default
    /// off: every request needs basic auth).
    pub allow_anonymous: bool,
    /// Create the record's symmetric key `k01` (PIN `12345678`) on core 1.
    pub demo_keys: bool,
    /// The command and field names the simulated device answers to (default: this crate's
    /// table). Set overrides here to play a device whose manual differs from the guesses in
    /// [`crate::protocol::commands`]: a client must then carry the same overrides.
    pub commands: CommandTable,
}

/// `secret`, or a random one (12 bytes in hex) when it is empty.
fn or_random(secret: SecretString, rng: &rng::Rng) -> Result<SecretString> {
    if !secret.expose_secret().is_empty() {
        return Ok(secret);
    }
    let mut bytes = zeroize::Zeroizing::new([0u8; 12]);
    rng.fill(bytes.as_mut_slice()).map_err(start_failure)?;
    Ok(SecretString::from(hex::encode(bytes.as_slice())))
}

/// A failure of the simulated device while starting.
fn start_failure((_, message): (u16, String)) -> Error {
    Error::new(ErrorKind::Device, OP).with_message(message)
}

impl SimConfig {
    /// The defaults: user `pkmaster`, a random password and key PIN (drawn when the simulator
    /// starts), `127.0.0.1:0`, server name `seSAM-nserie-101`, two cores, no latency. Change
    /// them with the builder methods.
    #[must_use]
    pub fn new() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            server_name: "seSAM-nserie-101".into(),
            user: "pkmaster".into(),
            password: SecretString::from(""),
            key_pin: SecretString::from(""),
            cores: 2,
            latency: Duration::ZERO,
            jitter: Duration::ZERO,
            allow_anonymous: false,
            demo_keys: false,
            commands: CommandTable::default(),
        }
    }

    /// The same as [`SimConfig::new`]: user `pkmaster` with a random password and key PIN.
    #[must_use]
    pub fn random_credentials() -> Self {
        Self::new()
    }

    /// Sets the basic-auth user and password (empty: a random one).
    #[must_use]
    pub fn credentials(mut self, user: impl Into<String>, password: SecretString) -> Self {
        self.user = user.into();
        self.password = password;
        self
    }

    hsm_simkit::setters! {
        /// Sets the key PIN (empty: a random one).
        key_pin: SecretString,
        /// Sets where to listen.
        listen: SocketAddr,
        /// Sets the latency added to every answer.
        latency: Duration,
        /// Sets the most jitter added to the latency, drawn for each answer.
        jitter: Duration,
        /// Sets the number of crypto cores.
        cores: u8,
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        Self::new()
    }
}

/// A running simulator; stops when dropped.
pub struct Simulator {
    addr: SocketAddr,
    server_name: String,
    cert_pem: String,
    cert_sha256: [u8; 32],
    user: String,
    password: SecretString,
    key_pin: SecretString,
    state: Arc<server::AppState>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator")
            .field("addr", &self.addr)
            .field("server_name", &self.server_name)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

fn sim_error(e: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::new(ErrorKind::Unavailable, OP).with_source(e)
}

impl Simulator {
    /// Starts the simulator on its own runtime (also from inside another tokio runtime).
    ///
    /// # Errors
    /// [`ErrorKind::Unavailable`] if it cannot listen or build its certificate;
    /// [`ErrorKind::Device`] if the random-number generator fails.
    pub fn start(config: SimConfig) -> Result<Self> {
        Self::start_with_rng(config, &rng::Rng::system())
    }

    /// [`Self::start`], drawing the secrets, the serial and the demo key from `rng`.
    fn start_with_rng(config: SimConfig, rng: &rng::Rng) -> Result<Self> {
        let password = or_random(config.password, rng)?;
        let key_pin = or_random(config.key_pin, rng)?;
        let certified = hsm_simkit::https::SelfSigned::generate(&[&config.server_name], None)
            .map_err(sim_error)?;
        let acceptor = hsm_simkit::https::tls_acceptor(
            &certified.cert_der,
            certified.key_der.secret_pkcs8_der(),
        )
        .map_err(sim_error)?;
        let device = device::Device::new(config.cores, &config.user, config.commands.clone(), rng)
            .map_err(start_failure)?;
        if config.demo_keys {
            device
                .add_sym_key(1, "k01", "12345678", rng)
                .map_err(start_failure)?;
        }
        let state = Arc::new(server::AppState {
            device,
            user: config.user.clone(),
            password: password.clone(),
            allow_anonymous: config.allow_anonymous,
            faults: std::sync::Mutex::new(std::collections::VecDeque::new()),
            wire: hsm_simkit::wire::Wire::new(config.latency, config.jitter)
                .map_err(|e| Error::new(ErrorKind::Unavailable, "n200-sim.start").with_source(e))?,
            connections: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            table: config.commands,
        });
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("n200-sim")
            .enable_all()
            .build()
            .map_err(sim_error)?;
        let listener =
            hsm_simkit::https::bind(config.listen, runtime.handle()).map_err(sim_error)?;
        let addr = listener.local_addr().map_err(sim_error)?;
        drop(runtime.spawn(server::serve(listener, acceptor, Arc::clone(&state))));
        Ok(Self {
            addr,
            server_name: config.server_name,
            cert_sha256: openssl::sha::sha256(&certified.cert_der),
            cert_pem: certified.cert_pem,
            user: config.user,
            password,
            key_pin,
            state,
            runtime: Some(runtime),
        })
    }

    /// The address it listens on.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The name its certificate is issued to.
    #[must_use]
    pub fn server_name(&self) -> &str {
        &self.server_name
    }

    /// Its certificate (PEM): the `tlscert` / `ca=` of clients.
    #[must_use]
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The SHA-256 fingerprint of its certificate (for `pin-sha256=`).
    #[must_use]
    pub fn cert_sha256(&self) -> [u8; 32] {
        self.cert_sha256
    }

    /// The basic-auth user.
    #[must_use]
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The basic-auth password.
    #[must_use]
    pub fn password(&self) -> SecretString {
        self.password.clone()
    }

    /// The key PIN `n200+sim:` uses.
    #[must_use]
    pub fn key_pin(&self) -> SecretString {
        self.key_pin.clone()
    }

    /// TCP connections accepted so far.
    #[must_use]
    pub fn connections(&self) -> u64 {
        self.state.connections.load(Ordering::Relaxed)
    }

    /// Queues faults: the next requests meet them in order, one each (then the simulator
    /// answers normally again). Takes one fault (`inject(Fault::Stall)`) or several
    /// (`inject([Fault::Pass, Fault::Refuse(503)])`).
    pub fn inject(&self, faults: impl IntoIterator<Item = Fault>) {
        self.state.faults().extend(faults);
    }

    /// Faults queued and not met yet.
    #[must_use]
    pub fn pending_faults(&self) -> usize {
        self.state.faults().len()
    }

    /// HTTP requests served so far.
    #[must_use]
    pub fn requests(&self) -> u64 {
        self.state.requests.load(Ordering::Relaxed)
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo_config() -> SimConfig {
        let mut config = SimConfig::random_credentials();
        config.demo_keys = true;
        config
    }

    #[test]
    fn a_failing_random_number_generator_stops_the_start() {
        // The draws at start, in order: password, key PIN, serial, the demo key, its CKA_ID.
        for draws in 0..5 {
            let e = Simulator::start_with_rng(demo_config(), &rng::Rng::failing_after(draws))
                .expect_err("a failed draw is an error");
            assert_eq!(e.kind(), ErrorKind::Device, "draw {draws}: {e}");
            assert!(e.to_string().contains("random-number generator"), "{e}");
        }
        let sim = Simulator::start_with_rng(demo_config(), &rng::Rng::failing_after(5))
            .expect("five draws are enough");
        drop(sim);
        // Given secrets are not drawn: the serial is the first draw then.
        let config = SimConfig::new()
            .credentials("pkmaster", SecretString::from("given-password"))
            .key_pin(SecretString::from("given-pin"));
        assert!(Simulator::start_with_rng(config, &rng::Rng::failing_after(0)).is_err());
    }

    #[test]
    fn drawn_secrets_are_random_and_given_ones_kept() {
        let a = Simulator::start(SimConfig::random_credentials()).expect("starts");
        let b = Simulator::start(SimConfig::random_credentials()).expect("starts");
        for sim in [&a, &b] {
            for secret in [sim.password(), sim.key_pin()] {
                let s = secret.expose_secret();
                assert_eq!(s.len(), 24, "12 bytes in hex");
                assert_ne!(s, "0".repeat(24));
            }
        }
        assert_ne!(a.password().expose_secret(), b.password().expose_secret());
        assert_ne!(a.key_pin().expose_secret(), a.password().expose_secret());
        let config = SimConfig::new()
            .credentials("pkmaster", SecretString::from("given-password"))
            .key_pin(SecretString::from("given-pin"));
        let c = Simulator::start(config).expect("starts");
        assert_eq!(c.password().expose_secret(), "given-password");
        assert_eq!(c.key_pin().expose_secret(), "given-pin");
    }

    #[test]
    fn a_config_shows_no_secret_in_debug() {
        let config = SimConfig::new()
            .credentials("pkmaster", SecretString::from("given-password"))
            .key_pin(SecretString::from("given-pin"));
        let shown = format!("{config:?}");
        assert!(
            shown.contains("pkmaster") && shown.contains("REDACTED"),
            "{shown}"
        );
        assert!(
            !shown.contains("given-password") && !shown.contains("given-pin"),
            "{shown}"
        );
    }
}
