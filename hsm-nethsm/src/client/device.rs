//! Device administration: lock and unlock, users' passphrases and tags, namespaces,
//! configuration, system operations, metrics.

use hsm_core::Result;
use reqwest::Method;
use secrecy::SecretString;

use super::NetHsmClient;
use super::http::Request;
use super::model::{
    ChangePassphraseRequest, LoggingConfig, NamespaceItem, PassphraseRequest, SystemInfo,
    SystemUpdateData, TimeConfig, TlsKeyGenerateRequest, UnattendedBootConfig, UserPostData,
};

impl NetHsmClient {
    async fn no_answer(&self, request: Request<'_>) -> Result<()> {
        self.send_request(&request).await.map(drop)
    }

    async fn text(&self, request: Request<'_>) -> Result<String> {
        let operation = request.operation;
        String::from_utf8(self.send_request(&request).await?).map_err(|e| {
            hsm_core::Error::protocol(operation, "the answer is not UTF-8").with_source(e)
        })
    }

    /// `GET /health/alive`: `Ok` when the device is started but Locked or Unprovisioned.
    ///
    /// # Errors
    /// `InvalidState` (412) otherwise.
    pub async fn health_alive(&self) -> Result<()> {
        let mut request = Request::new("nethsm.health_alive", Method::GET, &["health", "alive"]);
        request.authenticate = false;
        self.no_answer(request).await
    }

    /// `POST /unlock` (no authentication): Locked to Operational.
    ///
    /// # Errors
    /// `PermissionDenied` (403) for a wrong passphrase, `InvalidState` unless Locked.
    pub async fn unlock(&self, passphrase: SecretString) -> Result<()> {
        let mut request = Request::new("nethsm.unlock", Method::POST, &["unlock"])
            .json(&PassphraseRequest { passphrase })?;
        request.authenticate = false;
        self.no_answer(request).await
    }

    /// `POST /lock` (Administrator): Operational to Locked.
    ///
    /// # Errors
    /// `PermissionDenied`, `InvalidState`.
    pub async fn lock(&self) -> Result<()> {
        self.no_answer(Request::new("nethsm.lock", Method::POST, &["lock"]))
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
        let prefix = namespace.map(|ns| format!("{ns}~"));
        let segments: Vec<&str> = match &prefix {
            Some(p) => vec!["users", p.as_str()],
            None => vec!["users"],
        };
        let request = Request::new("nethsm.create_user", Method::POST, &segments).json(user)?;
        let created: super::model::KeyItem = self.json_request(&request).await?;
        Ok(created.id)
    }

    /// `POST /users/{UserID}/passphrase`: sets a user's passphrase (an Operator only its own).
    ///
    /// # Errors
    /// `NotFound`, `PermissionDenied`, `InvalidInput` (weak passphrase).
    pub async fn set_user_passphrase(&self, id: &str, passphrase: SecretString) -> Result<()> {
        let segments = ["users", id, "passphrase"];
        let request = Request::new("nethsm.set_user_passphrase", Method::POST, &segments)
            .json(&PassphraseRequest { passphrase })?;
        self.no_answer(request).await
    }

    /// `GET /users/{UserID}/tags`: an operator's tags.
    ///
    /// # Errors
    /// `NotFound`, `PermissionDenied`.
    pub async fn user_tags(&self, id: &str) -> Result<Vec<String>> {
        let segments = ["users", id, "tags"];
        self.json_request(&Request::new("nethsm.user_tags", Method::GET, &segments))
            .await
    }

    /// `PUT /users/{UserID}/tags/{Tag}`.
    ///
    /// # Errors
    /// `NotFound`, `PermissionDenied`, `InvalidInput`.
    pub async fn add_user_tag(&self, id: &str, tag: &str) -> Result<()> {
        let segments = ["users", id, "tags", tag];
        self.no_answer(Request::new("nethsm.add_user_tag", Method::PUT, &segments))
            .await
    }

    /// `DELETE /users/{UserID}/tags/{Tag}`.
    ///
    /// # Errors
    /// `NotFound`, `PermissionDenied`.
    pub async fn remove_user_tag(&self, id: &str, tag: &str) -> Result<()> {
        let segments = ["users", id, "tags", tag];
        self.no_answer(Request::new(
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
        let segments = ["namespaces", id];
        self.no_answer(Request::new("nethsm.add_namespace", Method::PUT, &segments))
            .await
    }

    /// `DELETE /namespaces/{NamespaceID}` (v2): deletes its keys too.
    ///
    /// # Errors
    /// `NotFound`, `PermissionDenied`.
    pub async fn delete_namespace(&self, id: &str) -> Result<()> {
        let segments = ["namespaces", id];
        self.no_answer(Request::new(
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
        self.json_request(&Request::new("nethsm.metrics", Method::GET, &["metrics"]))
            .await
    }

    /// `PUT /config/unlock-passphrase`.
    ///
    /// # Errors
    /// `InvalidInput` (wrong current or weak new passphrase).
    pub async fn change_unlock_passphrase(&self, change: &ChangePassphraseRequest) -> Result<()> {
        let segments = ["config", "unlock-passphrase"];
        let request =
            Request::new("nethsm.change_unlock_passphrase", Method::PUT, &segments).json(change)?;
        self.no_answer(request).await
    }

    /// `PUT /config/backup-passphrase`.
    ///
    /// # Errors
    /// `InvalidInput` (wrong current or weak new passphrase).
    pub async fn change_backup_passphrase(&self, change: &ChangePassphraseRequest) -> Result<()> {
        let segments = ["config", "backup-passphrase"];
        let request =
            Request::new("nethsm.change_backup_passphrase", Method::PUT, &segments).json(change)?;
        self.no_answer(request).await
    }

    /// `GET /config/unattended-boot`.
    ///
    /// # Errors
    /// `PermissionDenied`.
    pub async fn unattended_boot(&self) -> Result<UnattendedBootConfig> {
        let segments = ["config", "unattended-boot"];
        self.json_request(&Request::new(
            "nethsm.unattended_boot",
            Method::GET,
            &segments,
        ))
        .await
    }

    /// `PUT /config/unattended-boot`.
    ///
    /// # Errors
    /// `PermissionDenied`.
    pub async fn set_unattended_boot(&self, config: UnattendedBootConfig) -> Result<()> {
        let segments = ["config", "unattended-boot"];
        let request =
            Request::new("nethsm.set_unattended_boot", Method::PUT, &segments).json(&config)?;
        self.no_answer(request).await
    }

    /// `GET /config/time`.
    ///
    /// # Errors
    /// `PermissionDenied`.
    pub async fn time(&self) -> Result<TimeConfig> {
        let segments = ["config", "time"];
        self.json_request(&Request::new("nethsm.time", Method::GET, &segments))
            .await
    }

    /// `PUT /config/time`.
    ///
    /// # Errors
    /// `InvalidInput` for a malformed time.
    pub async fn set_time(&self, time: &TimeConfig) -> Result<()> {
        let segments = ["config", "time"];
        let request = Request::new("nethsm.set_time", Method::PUT, &segments).json(time)?;
        self.no_answer(request).await
    }

    /// `GET /config/logging`.
    ///
    /// # Errors
    /// `PermissionDenied`.
    pub async fn logging(&self) -> Result<LoggingConfig> {
        let segments = ["config", "logging"];
        self.json_request(&Request::new("nethsm.logging", Method::GET, &segments))
            .await
    }

    /// `PUT /config/logging`.
    ///
    /// # Errors
    /// `InvalidInput`.
    pub async fn set_logging(&self, config: &LoggingConfig) -> Result<()> {
        let segments = ["config", "logging"];
        let request = Request::new("nethsm.set_logging", Method::PUT, &segments).json(config)?;
        self.no_answer(request).await
    }

    /// `GET /config/tls/public.pem`: the TLS key's public key.
    ///
    /// # Errors
    /// `PermissionDenied`.
    pub async fn tls_public_key_pem(&self) -> Result<String> {
        let segments = ["config", "tls", "public.pem"];
        self.text(Request::new(
            "nethsm.tls_public_key",
            Method::GET,
            &segments,
        ))
        .await
    }

    /// `GET /config/tls/cert.pem`: the TLS certificate.
    ///
    /// # Errors
    /// `PermissionDenied`.
    pub async fn tls_certificate_pem(&self) -> Result<String> {
        let segments = ["config", "tls", "cert.pem"];
        self.text(Request::new(
            "nethsm.tls_certificate",
            Method::GET,
            &segments,
        ))
        .await
    }

    /// `PUT /config/tls/cert.pem`: installs a TLS certificate for the current TLS key.
    ///
    /// # Errors
    /// `InvalidInput` when it does not match the key.
    pub async fn set_tls_certificate_pem(&self, pem: &str) -> Result<()> {
        let segments = ["config", "tls", "cert.pem"];
        let request = Request::new("nethsm.set_tls_certificate", Method::PUT, &segments)
            .body("application/x-pem-file", pem.as_bytes().to_vec());
        self.no_answer(request).await
    }

    /// `POST /config/tls/csr.pem`: a CSR for the TLS key.
    ///
    /// # Errors
    /// `PermissionDenied`.
    pub async fn tls_csr_pem(&self, subject: &super::model::DistinguishedName) -> Result<String> {
        let segments = ["config", "tls", "csr.pem"];
        let request = Request::new("nethsm.tls_csr", Method::POST, &segments).json(subject)?;
        self.text(request).await
    }

    /// `POST /config/tls/generate`: a new TLS key (and self-signed certificate).
    ///
    /// # Errors
    /// `InvalidInput`.
    pub async fn generate_tls_key(&self, request: &TlsKeyGenerateRequest) -> Result<()> {
        let segments = ["config", "tls", "generate"];
        let request =
            Request::new("nethsm.generate_tls_key", Method::POST, &segments).json(request)?;
        self.no_answer(request).await
    }

    /// `GET /system/info`.
    ///
    /// # Errors
    /// `PermissionDenied`.
    pub async fn system_info(&self) -> Result<SystemInfo> {
        let segments = ["system", "info"];
        self.json_request(&Request::new("nethsm.system_info", Method::GET, &segments))
            .await
    }

    /// `POST /system/reboot`.
    ///
    /// # Errors
    /// `PermissionDenied`.
    pub async fn reboot(&self) -> Result<()> {
        let segments = ["system", "reboot"];
        self.no_answer(Request::new("nethsm.reboot", Method::POST, &segments))
            .await
    }

    /// `POST /system/shutdown`.
    ///
    /// # Errors
    /// `PermissionDenied`.
    pub async fn shutdown(&self) -> Result<()> {
        let segments = ["system", "shutdown"];
        self.no_answer(Request::new("nethsm.shutdown", Method::POST, &segments))
            .await
    }

    /// `POST /system/factory-reset`: erases everything.
    ///
    /// # Errors
    /// `PermissionDenied`.
    pub async fn factory_reset(&self) -> Result<()> {
        let segments = ["system", "factory-reset"];
        self.no_answer(Request::new(
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
        self.json_request(&request).await
    }

    /// `POST /system/commit-update`.
    ///
    /// # Errors
    /// `InvalidState` without an uploaded update.
    pub async fn commit_update(&self) -> Result<()> {
        let segments = ["system", "commit-update"];
        self.no_answer(Request::new(
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
        self.no_answer(Request::new(
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
        self.send_request(&Request::new("nethsm.backup", Method::POST, &segments))
            .await
    }
}
