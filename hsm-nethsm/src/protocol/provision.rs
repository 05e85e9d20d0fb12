//! The bodies of `/provision`, `/unlock` and `/lock`: bringing a device into operation.

use secrecy::SecretString;
use serde::Serialize;

use super::expose;

/// `POST /provision`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProvisionRequest {
    /// Passphrase that unlocks the device after a boot.
    #[serde(serialize_with = "expose")]
    pub unlock_passphrase: SecretString,
    /// Passphrase of the `admin` user created by provisioning.
    #[serde(serialize_with = "expose")]
    pub admin_passphrase: SecretString,
    /// The device time, RFC 3339 (`2026-01-01T00:00:00Z`).
    pub system_time: String,
}

debug_without_secrets!(ProvisionRequest { system_time });

/// A request body holding just a passphrase (`UnlockRequestData`, `UserPassphrasePostData`).
#[derive(Serialize)]
#[serde(deny_unknown_fields)]
pub struct PassphraseRequest {
    /// The passphrase.
    #[serde(serialize_with = "expose")]
    pub passphrase: SecretString,
}

debug_without_secrets!(PassphraseRequest {});
