//! The bodies of `/cluster/*`: members, joining, a new cluster.

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

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
    pub backup_passphrase: SecretString,
}

debug_without_secrets!(ClusterJoinRequest { members });
