//! What the simulated device holds: its state, users and keys.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Instant;

use secrecy::{ExposeSecret as _, SecretString};
use sha2::Digest as _;

use super::crypto::SimSecret;
use crate::client::model::{KeyMechanism, KeyType, SystemState, UserRole};

/// A user of the simulated device. The passphrase is kept only as a salted SHA-256, like the
/// device keeps an HMAC of it.
pub(crate) struct SimUser {
    pub(crate) role: UserRole,
    pub(crate) real_name: String,
    passphrase: PassphraseDigest,
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

/// A passphrase kept only as a salted SHA-256.
pub(crate) struct PassphraseDigest([u8; 32]);

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
    pub(crate) secret: SimSecret,
    pub(crate) operations: u64,
    /// Tag restrictions: when not empty, only operators with one of these tags may use it.
    pub(crate) tags: BTreeSet<String>,
}

/// The whole device.
pub(crate) struct DeviceState {
    pub(crate) state: SystemState,
    pub(crate) users: HashMap<String, SimUser>,
    pub(crate) keys: BTreeMap<String, SimKey>,
    /// The unlock passphrase, set by provisioning.
    pub(crate) unlock: Option<PassphraseDigest>,
    /// Last failed login per user, for the one-second throttle (429).
    pub(crate) failed_logins: HashMap<String, Instant>,
}

impl DeviceState {
    pub(crate) fn unprovisioned() -> Self {
        Self {
            state: SystemState::Unprovisioned,
            users: HashMap::new(),
            keys: BTreeMap::new(),
            unlock: None,
            failed_logins: HashMap::new(),
        }
    }
}
