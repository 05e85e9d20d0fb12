//! The bodies of `/health/*`, `/info` and `/metrics`: the device's state and identity, and the cluster diagnosis.

use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;

/// The device's state (`SystemState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum SystemState {
    /// Factory state: only provisioning is possible.
    Unprovisioned,
    /// Provisioned, waiting for the unlock passphrase.
    Locked,
    /// Normal operation.
    Operational,
    /// Lost its cluster quorum (v4+).
    Failed,
}

/// `GET /health/state`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthState {
    /// The state.
    pub state: SystemState,
}

/// `GET /info`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[non_exhaustive]
pub struct InfoData {
    /// The vendor (`Nitrokey GmbH`).
    pub vendor: String,
    /// The product (`NetHSM`).
    pub product: String,
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
#[skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterState {
    /// Whether it runs.
    pub running: bool,
    /// Its exit code, when it exited.
    pub exited: Option<u8>,
    /// The signal that killed it.
    pub signaled: Option<u8>,
    /// The signal that stopped it.
    pub stopped: Option<u8>,
}
