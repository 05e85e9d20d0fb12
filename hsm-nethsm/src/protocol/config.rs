//! The bodies of `/config/*`: passphrases, unattended boot, time, logging, TLS, network and NTP.

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;

use super::expose;
use super::keys::KeyType;

/// `PUT /config/unlock-passphrase` and `PUT /config/backup-passphrase`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChangePassphraseRequest {
    /// The new passphrase.
    #[serde(serialize_with = "expose")]
    pub new_passphrase: SecretString,
    /// The current one.
    #[serde(serialize_with = "expose")]
    pub current_passphrase: SecretString,
}

debug_without_secrets!(ChangePassphraseRequest {});

/// `GET/PUT /config/time`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeConfig {
    /// RFC 3339.
    pub time: String,
}

/// On or off (`Switch`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum Switch {
    #[serde(rename = "on")]
    On,
    #[serde(rename = "off")]
    Off,
}

/// `GET/PUT /config/unattended-boot`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnattendedBootConfig {
    /// Whether the device unlocks itself at boot.
    pub status: Switch,
}

/// `GET/PUT /config/logging`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoggingConfig {
    /// Syslog server address (`0.0.0.0`: no remote logging).
    pub ip_address: String,
    /// Syslog server port.
    pub port: u16,
    /// The lowest level logged.
    pub log_level: LogLevel,
}

/// A log level (`LogLevel`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum LogLevel {
    Debug,
    Info,
    Warning,
    Error,
}

/// `POST /config/tls/generate`.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsKeyGenerateRequest {
    /// The key type (the key types minus secp256k1 and Generic).
    #[serde(rename = "type")]
    pub key_type: KeyType,
    /// RSA modulus bits.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub length: Option<u32>,
}

/// `GET/PUT /config/network` (`NetworkConfigOutput`, `NetworkConfigInput`).
#[skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NetworkConfig {
    /// IPv4 address.
    pub ip_address: String,
    /// IPv4 netmask.
    pub netmask: String,
    /// IPv4 gateway (`0.0.0.0` for none). Always present in answers; optional when setting.
    pub gateway: Option<String>,
    /// IPv6 (v4+).
    pub ipv6: Option<Ipv6Config>,
}

/// The IPv6 part of the network configuration (`Ipv6Config`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ipv6Config {
    /// Address and prefix length, `addr/len`.
    pub cidr: String,
    /// The gateway; `null` for none.
    pub gateway: Option<String>,
}

/// `GET/PUT /config/ntp` (v5): both absent means NTP is off.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NtpConfig {
    /// The NTP server's IP address.
    #[serde(rename = "ntpIP", default)]
    pub ntp_ip: Option<String>,
    /// The NTS server's host name (enables Network Time Security).
    #[serde(rename = "ntsName", default)]
    pub nts_name: Option<String>,
}
