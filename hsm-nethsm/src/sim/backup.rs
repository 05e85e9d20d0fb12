//! The simulator's backup file: users, namespaces, keys and configuration, encrypted with a
//! key derived from the backup passphrase (AES-256-CBC, PKCS#7, with a SHA-256 of the content
//! inside, so a wrong passphrase or a damaged file is refused). The real device's format
//! differs; only this simulator reads these files.

use std::collections::BTreeSet;

use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockModeDecrypt as _, BlockModeEncrypt as _, KeyIvInit as _};
use serde::{Deserialize, Serialize};
use sha2::Digest as _;
use zeroize::Zeroizing;

use super::crypto::{KeySecret, SimResult, SimSecret};
use super::state::{DeviceState, PassphraseDigest, SimKey, SimUser};
use crate::protocol::{
    KeyMechanism, KeyPrivateData, KeyType, LoggingConfig, NetworkConfig, NtpConfig, UserRole,
};

const MAGIC: &[u8] = b"hsm-nethsm-sim backup v1\n";

#[derive(Serialize, Deserialize)]
struct User {
    id: String,
    role: UserRole,
    real_name: String,
    passphrase: String,
    tags: BTreeSet<String>,
}

#[derive(Serialize, Deserialize)]
struct Key {
    namespace: String,
    id: String,
    key_type: KeyType,
    mechanisms: Vec<KeyMechanism>,
    tags: BTreeSet<String>,
    label: String,
    certificate: Option<Vec<u8>>,
    private: KeyPrivateData,
}

#[derive(Serialize, Deserialize)]
struct Config {
    unattended_boot: bool,
    logging: LoggingConfig,
    network: NetworkConfig,
    ntp: NtpConfig,
}

#[derive(Serialize, Deserialize)]
struct Contents {
    unlock: Option<String>,
    users: Vec<User>,
    namespaces: BTreeSet<String>,
    keys: Vec<Key>,
    config: Config,
}

/// What a backup restores.
pub(crate) struct Restored {
    pub(crate) unlock: Option<PassphraseDigest>,
    pub(crate) users: Vec<(String, SimUser)>,
    pub(crate) namespaces: BTreeSet<String>,
    pub(crate) keys: Vec<((String, String), SimKey)>,
    pub(crate) unattended_boot: bool,
    pub(crate) logging: LoggingConfig,
    pub(crate) network: NetworkConfig,
    pub(crate) ntp: NtpConfig,
}

type Enc = cbc::Encryptor<aes::Aes256>;
type Dec = cbc::Decryptor<aes::Aes256>;

/// Encrypts the device's contents under `key`.
pub(crate) fn make(
    device: &DeviceState,
    key: &[u8; 32],
    rng: &super::rng::SimRng,
) -> SimResult<Vec<u8>> {
    let mut keys = Vec::new();
    for ((namespace, id), k) in &device.keys {
        keys.push(Key {
            namespace: namespace.clone(),
            id: id.clone(),
            key_type: k.key_type,
            mechanisms: k.mechanisms.clone(),
            tags: k.tags.clone(),
            label: k.label.clone(),
            certificate: k.certificate.clone(),
            private: k.secret.private_data()?,
        });
    }
    let contents = Contents {
        unlock: device.unlock.as_ref().map(|d| hex::encode(d.0)),
        users: device
            .users
            .iter()
            .map(|(id, u)| User {
                id: id.clone(),
                role: u.role,
                real_name: u.real_name.clone(),
                passphrase: hex::encode(u.passphrase.0),
                tags: u.tags.clone(),
            })
            .collect(),
        namespaces: device.namespaces.clone(),
        keys,
        config: Config {
            unattended_boot: device.config.unattended_boot,
            logging: device.config.logging.clone(),
            network: device.config.network.clone(),
            ntp: device.config.ntp.clone(),
        },
    };
    let mut plain =
        Zeroizing::new(serde_json::to_vec(&contents).map_err(|e| format!("backup: {e}"))?);
    let check: [u8; 32] = sha2::Sha256::digest(plain.as_slice()).into();
    plain.extend_from_slice(&check);
    let mut iv = [0u8; 16];
    rng.fill(&mut iv)?;
    let encrypted = Enc::new_from_slices(key, &iv)
        .map_err(|_| "backup key".to_owned())?
        .encrypt_padded_vec::<Pkcs7>(&plain);
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&iv);
    out.extend_from_slice(&encrypted);
    Ok(out)
}

fn digest(hex_text: &str) -> SimResult<PassphraseDigest> {
    let bytes = hex::decode(hex_text).map_err(|_| "damaged backup".to_owned())?;
    let array: [u8; 32] = bytes.try_into().map_err(|_| "damaged backup".to_owned())?;
    Ok(PassphraseDigest(array))
}

/// Decrypts and decodes a backup; an error for a wrong key or a damaged file.
pub(crate) fn open(file: &[u8], key: &[u8; 32]) -> SimResult<Restored> {
    const BAD: &str = "Invalid backup file or wrong backup passphrase";
    let rest = file.strip_prefix(MAGIC).ok_or(BAD)?;
    let (iv, encrypted) = (rest.get(..16).ok_or(BAD)?, rest.get(16..).ok_or(BAD)?);
    let plain = Zeroizing::new(
        Dec::new_from_slices(key, iv)
            .map_err(|_| BAD.to_owned())?
            .decrypt_padded_vec::<Pkcs7>(encrypted)
            .map_err(|_| BAD.to_owned())?,
    );
    let split = plain.len().checked_sub(32).ok_or(BAD)?;
    let (json, check) = (
        plain.get(..split).ok_or(BAD)?,
        plain.get(split..).ok_or(BAD)?,
    );
    if sha2::Sha256::digest(json).as_slice() != check {
        return Err(BAD.into());
    }
    let contents: Contents = serde_json::from_slice(json).map_err(|_| BAD.to_owned())?;
    let mut users = Vec::new();
    for u in contents.users {
        let user = SimUser {
            role: u.role,
            real_name: u.real_name,
            passphrase: digest(&u.passphrase)?,
            tags: u.tags,
        };
        users.push((u.id, user));
    }
    let mut keys = Vec::new();
    for k in contents.keys {
        let key = SimKey {
            key_type: k.key_type,
            mechanisms: k.mechanisms,
            secret: std::sync::Arc::new(KeySecret::new(SimSecret::import(k.key_type, &k.private)?)),
            operations: 0,
            tags: k.tags,
            label: k.label,
            certificate: k.certificate,
        };
        keys.push(((k.namespace, k.id), key));
    }
    Ok(Restored {
        unlock: contents.unlock.as_deref().map(digest).transpose()?,
        users,
        namespaces: contents.namespaces,
        keys,
        unattended_boot: contents.config.unattended_boot,
        logging: contents.config.logging,
        network: contents.config.network,
        ntp: contents.config.ntp,
    })
}
