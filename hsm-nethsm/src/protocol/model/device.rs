//! Bodies of the device-wide endpoints: network and NTP configuration, cluster membership,
//! cluster diagnosis, PEM key import arguments and restore arguments.

use serde::{Deserialize, Serialize};

use super::{KeyMechanism, KeyRestrictions};

/// `GET/PUT /config/network` (`NetworkConfigOutput`, `NetworkConfigInput`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NetworkConfig {
    /// IPv4 address.
    pub ip_address: String,
    /// IPv4 netmask.
    pub netmask: String,
    /// IPv4 gateway (`0.0.0.0` for none). Always present in answers; optional when setting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    /// IPv6 (v4+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
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
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NtpConfig {
    /// The NTP server's IP address.
    #[serde(rename = "ntpIP", default, skip_serializing_if = "Option::is_none")]
    pub ntp_ip: Option<String>,
    /// The NTS server's host name (enables Network Time Security).
    #[serde(rename = "ntsName", default, skip_serializing_if = "Option::is_none")]
    pub nts_name: Option<String>,
}

/// A member of the cluster (`ClusterMember`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterMember {
    /// The member id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its peer URLs (`https://...`).
    pub urls: Vec<String>,
    /// Whether it is a learner (not yet voting; v5).
    pub learner: bool,
}

/// `POST /cluster/members` and `PUT /cluster/members/{MemberID}` (`ClusterAddReq`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterAddRequest {
    /// The new member's peer URLs.
    pub urls: Vec<String>,
}

/// The answer to `POST /cluster/members` (`ClusterMemberAddResponse`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterMemberAddResponse {
    /// The members, the new one included.
    pub members: Vec<ClusterMember>,
    /// What the joining device needs (`POST /cluster/join` there).
    pub joiner_kit: String,
}

/// A member as `POST /cluster/join` names it (`ClusterInitialMember`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterInitialMember {
    /// Its name.
    pub name: String,
    /// Its peer URLs.
    pub urls: Vec<String>,
}

/// `POST /cluster/join` (`ClusterJoinReq`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterJoinRequest {
    /// The cluster's members.
    pub members: Vec<ClusterInitialMember>,
    /// The kit from `POST /cluster/members` on a member.
    pub joiner_kit: String,
    /// The cluster's backup passphrase.
    #[serde(serialize_with = "super::expose")]
    pub backup_passphrase: secrecy::SecretString,
}

impl std::fmt::Debug for ClusterJoinRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterJoinRequest")
            .field("members", &self.members)
            .finish_non_exhaustive()
    }
}

/// `GET /health/diagnose` (v5): the cluster process on this device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HealthDiagnoseData {
    /// Recent log messages of warning level or above.
    pub cluster_logs: Vec<ClusterLogItem>,
    /// The local database snapshot (only while the cluster process is not running).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_snapshot: Option<ClusterSnapshot>,
    /// The cluster process.
    pub cluster_state: ClusterState,
}

/// One log message (`ClusterLogItem`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterLogItem {
    /// Its level.
    pub level: String,
    /// The message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msg: Option<String>,
}

/// Statistics of the local cluster database snapshot (`ClusterSnapshot`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterSnapshot {
    /// Its hash.
    pub hash: u64,
    /// Its revision.
    pub revision: u64,
    /// Number of keys.
    pub total_key: u64,
    /// Size in bytes.
    pub total_size: u64,
    /// Format version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// The state of the cluster process (`ClusterState`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterState {
    /// Whether it runs.
    pub running: bool,
    /// Its exit code, when it exited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exited: Option<u8>,
    /// The signal that killed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signaled: Option<u8>,
    /// The signal that stopped it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<u8>,
}

/// The `arguments` part of a PEM key import (`PrivateKeyPem`, multipart).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PemKeyArguments {
    /// Allowed mechanisms.
    pub mechanisms: Vec<KeyMechanism>,
    /// Tag restrictions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restrictions: Option<KeyRestrictions>,
    /// A label (v5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

/// The `arguments` part of `POST /system/restore`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RestoreArguments {
    /// The backup passphrase in force when the backup was made.
    #[serde(serialize_with = "super::expose")]
    pub backup_passphrase: secrecy::SecretString,
    /// The device time to set, RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_time: Option<String>,
}

impl std::fmt::Debug for RestoreArguments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestoreArguments")
            .field("system_time", &self.system_time)
            .finish_non_exhaustive()
    }
}
