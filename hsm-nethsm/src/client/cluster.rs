//! `/cluster/*` (v4+): members, join, promote, a new single-node cluster.

use hsm_core::Result;
use reqwest::Method;
use secrecy::SecretString;

use crate::client::{Credentials, NetHsmClient};
use crate::protocol::ids;
use crate::protocol::{
    ClusterAddRequest, ClusterJoinRequest, ClusterMember, ClusterMemberAddResponse,
};
use crate::transport::http::Request;

impl NetHsmClient {
    /// `GET /cluster/members` (v4).
    ///
    /// # Errors
    /// `PermissionDenied`.
    pub async fn cluster_members(&self) -> Result<Vec<ClusterMember>> {
        self.get_json("nethsm.cluster_members", &["cluster", "members"])
            .await
    }

    /// `POST /cluster/members` (v4): announces a new member; the answer's joiner kit goes to
    /// [`Self::join_cluster`] on the new device.
    ///
    /// # Errors
    /// `InvalidInput` for malformed URLs.
    pub async fn add_cluster_member(
        &self,
        request: &ClusterAddRequest,
    ) -> Result<ClusterMemberAddResponse> {
        self.post_for_json(
            "nethsm.add_cluster_member",
            &["cluster", "members"],
            request,
        )
        .await
    }

    /// `PUT /cluster/members/{MemberID}` (v4): changes a member's peer URLs.
    ///
    /// # Errors
    /// `NotFound`, `InvalidInput`.
    pub async fn update_cluster_member(&self, id: &str, request: &ClusterAddRequest) -> Result<()> {
        const OP: &str = "nethsm.update_cluster_member";
        ids::check(OP, "member id", id)?;
        self.send_json(OP, Method::PUT, &["cluster", "members", id], request)
            .await
    }

    /// `DELETE /cluster/members/{MemberID}` (v4).
    ///
    /// # Errors
    /// `NotFound`.
    pub async fn remove_cluster_member(&self, id: &str) -> Result<()> {
        const OP: &str = "nethsm.remove_cluster_member";
        ids::check(OP, "member id", id)?;
        self.send(OP, Method::DELETE, &["cluster", "members", id])
            .await
    }

    /// `POST /cluster/members/{MemberID}/promote` (v5): a learner becomes a voting member.
    ///
    /// # Errors
    /// `NotFound`, `InvalidInput`.
    pub async fn promote_cluster_member(&self, id: &str) -> Result<()> {
        const OP: &str = "nethsm.promote_cluster_member";
        ids::check(OP, "member id", id)?;
        self.send(OP, Method::POST, &["cluster", "members", id, "promote"])
            .await
    }

    /// `POST /cluster/join` (v4): this device joins the cluster described by `request`.
    ///
    /// # Errors
    /// `InvalidInput`, `AlreadyExists` (409: already in a cluster).
    pub async fn join_cluster(&self, request: &ClusterJoinRequest) -> Result<()> {
        self.send_json(
            "nethsm.join_cluster",
            Method::POST,
            &["cluster", "join"],
            request,
        )
        .await
    }

    /// `POST /cluster/force-new` (v5, state Failed only): rebuilds a single-node cluster from
    /// the local data and reboots. Authenticates as the user `unlock` with the last unlock
    /// passphrase, as the device requires, instead of the client's credentials.
    ///
    /// # Errors
    /// `AuthenticationFailed` (401), `InvalidState` (412) unless Failed.
    pub async fn force_new_cluster(&self, unlock_passphrase: SecretString) -> Result<()> {
        let credentials = Credentials::new("unlock", unlock_passphrase);
        let segments = ["cluster", "force-new"];
        let request = Request::new("nethsm.force_new_cluster", Method::POST, &segments)
            .credentials(&credentials);
        self.transport.no_answer(request).await
    }
}
