//! The bodies of `/system/*`: system information, updates, backup and restore.

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

/// `GET /system/info`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SystemInfo {
    /// Software version.
    pub software_version: String,
    /// Software build.
    pub software_build: String,
    /// Firmware version.
    pub firmware_version: String,
    /// Hardware version.
    pub hardware_version: String,
    /// Device id.
    pub device_id: String,
    /// The TPM attestation keys, by curve.
    #[serde(default)]
    pub ak_pub: serde_json::Map<String, serde_json::Value>,
    /// TPM PCR values.
    #[serde(default)]
    pub pcr: serde_json::Map<String, serde_json::Value>,
}

/// The answer of `POST /system/update`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SystemUpdateData {
    /// The release notes of the uploaded image.
    pub release_notes: String,
}

/// The `arguments` part of `POST /system/restore`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RestoreArguments {
    /// The backup passphrase in force when the backup was made.
    #[serde(serialize_with = "super::expose")]
    pub backup_passphrase: SecretString,
    /// The device time to set, RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_time: Option<String>,
}

debug_without_secrets!(RestoreArguments { system_time });
