//! What the simulated device holds: its state, namespaces, users, keys and configuration.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Instant;

use secrecy::{ExposeSecret as _, SecretString};
use sha2::Digest as _;
use zeroize::Zeroizing;

use super::crypto::{KeySecret, SimSecret};
use crate::protocol::{
    KeyMechanism, KeyType, LogLevel, LoggingConfig, NetworkConfig, NtpConfig, SystemState, UserRole,
};

/// A user of the simulated device. The passphrase is kept only as a salted SHA-256, like the
/// device keeps an HMAC of it.
pub(crate) struct SimUser {
    pub(crate) role: UserRole,
    pub(crate) real_name: String,
    pub(crate) passphrase: PassphraseDigest,
    /// An operator's tags: it may use keys restricted to any of them.
    pub(crate) tags: BTreeSet<String>,
}

impl SimUser {
    pub(crate) fn new(role: UserRole, real_name: &str, passphrase: &SecretString) -> Self {
        Self {
            role,
            real_name: real_name.to_owned(),
            passphrase: PassphraseDigest::new(passphrase),
            tags: BTreeSet::new(),
        }
    }

    pub(crate) fn accepts(&self, passphrase: &str) -> bool {
        self.passphrase.accepts(passphrase)
    }

    pub(crate) fn set_passphrase(&mut self, passphrase: &SecretString) {
        self.passphrase = PassphraseDigest::new(passphrase);
    }
}

/// The namespace of a user id: `ns` of `ns~name`, `None` for root users.
pub(crate) fn namespace_of(user: &str) -> Option<&str> {
    user.split_once('~').map(|(ns, _)| ns)
}

/// A passphrase kept only as a salted SHA-256.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct PassphraseDigest(pub(crate) [u8; 32]);

impl PassphraseDigest {
    pub(crate) fn new(passphrase: &SecretString) -> Self {
        Self(passphrase_digest(passphrase.expose_secret()))
    }

    pub(crate) fn accepts(&self, passphrase: &str) -> bool {
        passphrase_digest(passphrase) == self.0
    }
}

fn passphrase_digest(passphrase: &str) -> [u8; 32] {
    sha2::Sha256::new()
        .chain_update(b"hsm-nethsm-sim")
        .chain_update(passphrase.as_bytes())
        .finalize()
        .into()
}

/// A key of the simulated device.
pub(crate) struct SimKey {
    pub(crate) key_type: KeyType,
    pub(crate) mechanisms: Vec<KeyMechanism>,
    /// Shared, so that an operation can use it outside the device lock.
    pub(crate) secret: std::sync::Arc<KeySecret>,
    pub(crate) operations: u64,
    /// Tag restrictions: when not empty, only operators with one of these tags may use it.
    pub(crate) tags: BTreeSet<String>,
    /// The label (v5); empty when unset.
    pub(crate) label: String,
    /// The stored certificate, exactly as uploaded.
    pub(crate) certificate: Option<Vec<u8>>,
}

/// A key's place: its namespace (`""` for the root namespace) and id.
pub(crate) type KeyPath = (String, String);

/// The device's configuration (`/config/*`).
pub(crate) struct DeviceConfig {
    pub(crate) unattended_boot: bool,
    /// Seconds added to the host clock (`PUT /config/time`).
    pub(crate) clock_offset: i64,
    pub(crate) logging: LoggingConfig,
    pub(crate) network: NetworkConfig,
    pub(crate) ntp: NtpConfig,
    /// The key backups are encrypted with, derived from the backup passphrase; `None` until
    /// one is set (backups are refused until then).
    pub(crate) backup_key: Option<Zeroizing<[u8; 32]>>,
    /// The TLS key `/config/tls/*` manages.
    pub(crate) tls_key: Option<SimSecret>,
    /// The TLS certificate, PEM.
    pub(crate) tls_certificate: String,
    /// The cluster CA, PEM, once set.
    pub(crate) cluster_ca: Option<String>,
}

impl Default for DeviceConfig {
    fn default() -> Self {
        Self {
            unattended_boot: false,
            clock_offset: 0,
            logging: LoggingConfig {
                ip_address: "0.0.0.0".into(),
                port: 514,
                log_level: LogLevel::Info,
            },
            network: NetworkConfig {
                ip_address: "192.168.1.1".into(),
                netmask: "255.255.255.0".into(),
                gateway: Some("0.0.0.0".into()),
                ipv6: None,
            },
            ntp: NtpConfig::default(),
            backup_key: None,
            tls_key: None,
            tls_certificate: String::new(),
            cluster_ca: None,
        }
    }
}

/// The key a backup passphrase stands for.
pub(crate) fn backup_key(passphrase: &str) -> Zeroizing<[u8; 32]> {
    Zeroizing::new(
        sha2::Sha256::new()
            .chain_update(b"hsm-nethsm-sim backup")
            .chain_update(passphrase.as_bytes())
            .finalize()
            .into(),
    )
}

/// The whole device.
pub(crate) struct DeviceState {
    pub(crate) state: SystemState,
    /// Users by full id (`ns~name` in a namespace).
    pub(crate) users: HashMap<String, SimUser>,
    pub(crate) keys: BTreeMap<KeyPath, SimKey>,
    /// Namespaces created by `PUT /namespaces/{id}`.
    pub(crate) namespaces: BTreeSet<String>,
    /// The unlock passphrase, set by provisioning.
    pub(crate) unlock: Option<PassphraseDigest>,
    /// Last failed login per user, for the one-second throttle (429).
    pub(crate) failed_logins: HashMap<String, Instant>,
    /// Last failed unlock, for its one-second throttle.
    pub(crate) failed_unlock: Option<Instant>,
    pub(crate) config: DeviceConfig,
    /// Release notes of an uploaded update waiting for commit or cancel.
    pub(crate) pending_update: Option<String>,
    /// The software version (`/system/info`); a committed update changes it.
    pub(crate) software_version: String,
}

impl DeviceState {
    pub(crate) fn unprovisioned() -> Self {
        Self {
            state: SystemState::Unprovisioned,
            users: HashMap::new(),
            keys: BTreeMap::new(),
            namespaces: BTreeSet::new(),
            unlock: None,
            failed_logins: HashMap::new(),
            failed_unlock: None,
            config: DeviceConfig::default(),
            pending_update: None,
            software_version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }

    /// Back to the factory state (`POST /system/factory-reset`): everything erased but the
    /// TLS identity, which the simulator keeps serving.
    pub(crate) fn factory_reset(&mut self) {
        let tls_key = self.config.tls_key.take();
        let tls_certificate = std::mem::take(&mut self.config.tls_certificate);
        *self = Self::unprovisioned();
        self.config.tls_key = tls_key;
        self.config.tls_certificate = tls_certificate;
    }
}
