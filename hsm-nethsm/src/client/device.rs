//! Device administration: lock and unlock, users' passphrases and tags, namespaces, system
//! operations (backup and restore, updates, reboot, shutdown, factory reset), metrics.

use hsm_core::Result;
use reqwest::Method;
use secrecy::SecretString;

use super::NetHsmClient;
use crate::protocol::ids;
use crate::protocol::multipart::{Part, with_arguments};
use crate::protocol::{
    NamespaceItem, PassphraseRequest, RestoreArguments, SystemInfo, SystemUpdateData, UserPostData,
};
use crate::transport::http::Request;

impl NetHsmClient {
    /// `GET /health/alive`: `Ok` when the device is started but Locked or Unprovisioned.
    ///
    /// # Errors
    /// `InvalidState` (412) otherwise.
    pub async fn health_alive(&self) -> Result<()> {
        let request = Request::new("nethsm.health_alive", Method::GET, &["health", "alive"]);
        self.transport.no_answer(request.unauthenticated()).await
    }

    /// `POST /unlock` (no authentication): Locked to Operational.
    ///
    /// # Errors
    /// `PermissionDenied` (403) for a wrong passphrase, `InvalidState` unless Locked.
    pub async fn unlock(&self, passphrase: SecretString) -> Result<()> {
        let request = Request::new("nethsm.unlock", Method::POST, &["unlock"])
            .json(&PassphraseRequest { passphrase })?;
        self.transport.no_answer(request.unauthenticated()).await
    }

    /// `POST /lock` (Administrator): Operational to Locked.
    ///
    /// # Errors
    /// `PermissionDenied`, `InvalidState`.
    pub async fn lock(&self) -> Result<()> {
        self.transport
            .no_answer(Request::new("nethsm.lock", Method::POST, &["lock"]))
            .await
    }

    /// `POST /users` or, with a namespace, `POST /users/{ns~}`: a user whose id the device
    /// picks; returns it.
    ///
    /// # Errors
    /// `InvalidInput` (weak passphrase), `PermissionDenied`.
    pub async fn create_user(
        &self,
        namespace: Option<&str>,
        user: &UserPostData,
    ) -> Result<String> {
        if let Some(ns) = namespace {
            ids::check("nethsm.create_user", "namespace", ns)?;
        }
        let prefix = namespace.map(|ns| format!("{ns}~"));
        let segments: Vec<&str> = match &prefix {
            Some(p) => vec!["users", p.as_str()],
            None => vec!["users"],
        };
        let request = Request::new("nethsm.create_user", Method::POST, &segments).json(user)?;
        let created: crate::protocol::KeyItem = self.transport.json_request(&request).await?;
        Ok(created.id)
    }

    /// `POST /users/{UserID}/passphrase`: sets a user's passphrase (an Operator only its own).
    ///
    /// # Errors
    /// `NotFound`, `PermissionDenied`, `InvalidInput` (weak passphrase).
    pub async fn set_user_passphrase(&self, id: &str, passphrase: SecretString) -> Result<()> {
        ids::check_user("nethsm.set_user_passphrase", id)?;
        let segments = ["users", id, "passphrase"];
        let request = Request::new("nethsm.set_user_passphrase", Method::POST, &segments)
            .json(&PassphraseRequest { passphrase })?;
        self.transport.no_answer(request).await
    }

    /// `GET /users/{UserID}/tags`: an operator's tags.
    ///
    /// # Errors
    /// `NotFound`, `PermissionDenied`.
    pub async fn user_tags(&self, id: &str) -> Result<Vec<String>> {
        ids::check_user("nethsm.user_tags", id)?;
        let segments = ["users", id, "tags"];
        self.transport
            .json_request(&Request::new("nethsm.user_tags", Method::GET, &segments))
            .await
    }

    /// `PUT /users/{UserID}/tags/{Tag}`.
    ///
    /// # Errors
    /// `NotFound`, `PermissionDenied`, `InvalidInput`.
    pub async fn add_user_tag(&self, id: &str, tag: &str) -> Result<()> {
        ids::check_user("nethsm.add_user_tag", id)?;
        ids::check("nethsm.add_user_tag", "tag", tag)?;
        let segments = ["users", id, "tags", tag];
        self.transport
            .no_answer(Request::new("nethsm.add_user_tag", Method::PUT, &segments))
            .await
    }

    /// `DELETE /users/{UserID}/tags/{Tag}`.
    ///
    /// # Errors
    /// `NotFound`, `PermissionDenied`.
    pub async fn remove_user_tag(&self, id: &str, tag: &str) -> Result<()> {
        ids::check_user("nethsm.remove_user_tag", id)?;
        ids::check("nethsm.remove_user_tag", "tag", tag)?;
        let segments = ["users", id, "tags", tag];
        self.transport
            .no_answer(Request::new(
                "nethsm.remove_user_tag",
                Method::DELETE,
                &segments,
            ))
            .await
    }

    /// `GET /namespaces` (v2).
    ///
    /// # Errors
    /// `PermissionDenied`.
    pub async fn list_namespaces(&self) -> Result<Vec<String>> {
        let items: Vec<NamespaceItem> = self
            .transport
            .json_request(&Request::new(
                "nethsm.list_namespaces",
                Method::GET,
                &["namespaces"],
            ))
            .await?;
        Ok(items.into_iter().map(|i| i.id).collect())
    }

    /// `PUT /namespaces/{NamespaceID}` (v2).
    ///
    /// # Errors
    /// `AlreadyExists`, `PermissionDenied`, `InvalidInput`.
    pub async fn add_namespace(&self, id: &str) -> Result<()> {
        ids::check("nethsm.add_namespace", "namespace", id)?;
        let segments = ["namespaces", id];
        self.transport
            .no_answer(Request::new("nethsm.add_namespace", Method::PUT, &segments))
            .await
    }

    /// `DELETE /namespaces/{NamespaceID}` (v2): deletes its keys too.
    ///
    /// # Errors
    /// `NotFound`, `PermissionDenied`.
    pub async fn delete_namespace(&self, id: &str) -> Result<()> {
        ids::check("nethsm.delete_namespace", "namespace", id)?;
        let segments = ["namespaces", id];
        self.transport
            .no_answer(Request::new(
                "nethsm.delete_namespace",
                Method::DELETE,
                &segments,
            ))
            .await
    }

    /// `GET /metrics` (Metrics role): the device's counters, as the device names them.
    ///
    /// # Errors
    /// `PermissionDenied`.
    pub async fn metrics(&self) -> Result<serde_json::Map<String, serde_json::Value>> {
        self.transport
            .json_request(&Request::new("nethsm.metrics", Method::GET, &["metrics"]))
            .await
    }

    /// `GET /system/info`.
    ///
    /// # Errors
    /// `PermissionDenied`.
    pub async fn system_info(&self) -> Result<SystemInfo> {
        let segments = ["system", "info"];
        self.transport
            .json_request(&Request::new("nethsm.system_info", Method::GET, &segments))
            .await
    }

    /// `POST /system/reboot`.
    ///
    /// # Errors
    /// `PermissionDenied`.
    pub async fn reboot(&self) -> Result<()> {
        let segments = ["system", "reboot"];
        self.transport
            .no_answer(Request::new("nethsm.reboot", Method::POST, &segments))
            .await
    }

    /// `POST /system/shutdown`.
    ///
    /// # Errors
    /// `PermissionDenied`.
    pub async fn shutdown(&self) -> Result<()> {
        let segments = ["system", "shutdown"];
        self.transport
            .no_answer(Request::new("nethsm.shutdown", Method::POST, &segments))
            .await
    }

    /// `POST /system/factory-reset`: erases everything.
    ///
    /// # Errors
    /// `PermissionDenied`.
    pub async fn factory_reset(&self) -> Result<()> {
        let segments = ["system", "factory-reset"];
        self.transport
            .no_answer(Request::new(
                "nethsm.factory_reset",
                Method::POST,
                &segments,
            ))
            .await
    }

    /// `POST /system/update`: uploads a signed update image; commit or cancel it next.
    ///
    /// # Errors
    /// `InvalidInput` (bad image), `AlreadyExists` (409: a downgrade).
    pub async fn upload_update(&self, image: Vec<u8>) -> Result<SystemUpdateData> {
        let segments = ["system", "update"];
        let request = Request::new("nethsm.upload_update", Method::POST, &segments)
            .body("application/octet-stream", image);
        self.transport.json_request(&request).await
    }

    /// `POST /system/commit-update`.
    ///
    /// # Errors
    /// `InvalidState` without an uploaded update.
    pub async fn commit_update(&self) -> Result<()> {
        let segments = ["system", "commit-update"];
        self.transport
            .no_answer(Request::new(
                "nethsm.commit_update",
                Method::POST,
                &segments,
            ))
            .await
    }

    /// `POST /system/cancel-update`.
    ///
    /// # Errors
    /// `InvalidState` without an uploaded update.
    pub async fn cancel_update(&self) -> Result<()> {
        let segments = ["system", "cancel-update"];
        self.transport
            .no_answer(Request::new(
                "nethsm.cancel_update",
                Method::POST,
                &segments,
            ))
            .await
    }

    /// `POST /system/backup` (Backup role): the encrypted backup file.
    ///
    /// # Errors
    /// `PermissionDenied`, `InvalidState` (no backup passphrase set).
    pub async fn backup(&self) -> Result<Vec<u8>> {
        let segments = ["system", "backup"];
        self.transport
            .send_request(&Request::new("nethsm.backup", Method::POST, &segments))
            .await
    }

    /// `POST /system/restore`: restores users, keys and namespaces (and, on an unprovisioned
    /// device, its configuration: it is then Locked) from a backup made with
    /// [`Self::backup`]. Unprovisioned devices take it without authentication; operational
    /// ones from an Administrator.
    ///
    /// # Errors
    /// `InvalidInput` (400) for a wrong backup passphrase or a damaged file, `InvalidState`
    /// (412) when the device is Locked.
    pub async fn restore(&self, arguments: &RestoreArguments, backup: &[u8]) -> Result<()> {
        const OP: &str = "nethsm.restore";
        let backup_file = Part {
            name: "backup_file",
            file_name: Some("backup.bin"),
            content_type: "application/octet-stream",
            body: backup,
        };
        let (content_type, body) = with_arguments(OP, arguments, backup_file)?;
        let segments = ["system", "restore"];
        let request = Request::new(OP, Method::POST, &segments).body(content_type, body);
        self.transport.no_answer(request).await
    }
}
