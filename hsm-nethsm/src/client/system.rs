//! `/system/*`: system information, reboot, shutdown, factory reset, updates, backup and restore.

use hsm_core::Result;
use reqwest::Method;

use crate::client::NetHsmClient;
use crate::protocol::multipart::{Part, with_arguments};
use crate::protocol::{RestoreArguments, SystemInfo, SystemUpdateData};
use crate::transport::http::Request;

impl NetHsmClient {
    /// `GET /system/info`.
    ///
    /// # Errors
    /// `PermissionDenied`.
    pub async fn system_info(&self) -> Result<SystemInfo> {
        self.get_json("nethsm.system_info", &["system", "info"])
            .await
    }

    /// `POST /system/reboot`.
    ///
    /// # Errors
    /// `PermissionDenied`.
    pub async fn reboot(&self) -> Result<()> {
        self.send("nethsm.reboot", Method::POST, &["system", "reboot"])
            .await
    }

    /// `POST /system/shutdown`.
    ///
    /// # Errors
    /// `PermissionDenied`.
    pub async fn shutdown(&self) -> Result<()> {
        self.send("nethsm.shutdown", Method::POST, &["system", "shutdown"])
            .await
    }

    /// `POST /system/factory-reset`: erases everything.
    ///
    /// # Errors
    /// `PermissionDenied`.
    pub async fn factory_reset(&self) -> Result<()> {
        self.send(
            "nethsm.factory_reset",
            Method::POST,
            &["system", "factory-reset"],
        )
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
        self.send(
            "nethsm.commit_update",
            Method::POST,
            &["system", "commit-update"],
        )
        .await
    }

    /// `POST /system/cancel-update`.
    ///
    /// # Errors
    /// `InvalidState` without an uploaded update.
    pub async fn cancel_update(&self) -> Result<()> {
        self.send(
            "nethsm.cancel_update",
            Method::POST,
            &["system", "cancel-update"],
        )
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
