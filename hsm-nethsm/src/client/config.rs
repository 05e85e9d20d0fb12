//! `/config`: passphrases, unattended boot, time, NTP, logging, network, the TLS key and
//! certificates, the cluster CA.

use hsm_core::Result;
use reqwest::Method;

use super::NetHsmClient;
use crate::protocol::{
    ChangePassphraseRequest, DistinguishedName, LoggingConfig, NetworkConfig, NtpConfig,
    TimeConfig, TlsKeyGenerateRequest, UnattendedBootConfig,
};
use crate::transport::http::Request;

impl NetHsmClient {
    /// `PUT /config/unlock-passphrase`.
    ///
    /// # Errors
    /// `InvalidInput` (wrong current or weak new passphrase).
    pub async fn change_unlock_passphrase(&self, change: &ChangePassphraseRequest) -> Result<()> {
        self.send_json(
            "nethsm.change_unlock_passphrase",
            Method::PUT,
            &["config", "unlock-passphrase"],
            change,
        )
        .await
    }

    /// `PUT /config/backup-passphrase`.
    ///
    /// # Errors
    /// `InvalidInput` (wrong current or weak new passphrase).
    pub async fn change_backup_passphrase(&self, change: &ChangePassphraseRequest) -> Result<()> {
        self.send_json(
            "nethsm.change_backup_passphrase",
            Method::PUT,
            &["config", "backup-passphrase"],
            change,
        )
        .await
    }

    /// `GET /config/unattended-boot`.
    ///
    /// # Errors
    /// `PermissionDenied`.
    pub async fn unattended_boot(&self) -> Result<UnattendedBootConfig> {
        self.get_json("nethsm.unattended_boot", &["config", "unattended-boot"])
            .await
    }

    /// `PUT /config/unattended-boot`.
    ///
    /// # Errors
    /// `PermissionDenied`.
    pub async fn set_unattended_boot(&self, config: UnattendedBootConfig) -> Result<()> {
        self.send_json(
            "nethsm.set_unattended_boot",
            Method::PUT,
            &["config", "unattended-boot"],
            &config,
        )
        .await
    }

    /// `GET /config/time`.
    ///
    /// # Errors
    /// `PermissionDenied`.
    pub async fn time(&self) -> Result<TimeConfig> {
        self.get_json("nethsm.time", &["config", "time"]).await
    }

    /// `PUT /config/time`.
    ///
    /// # Errors
    /// `InvalidInput` for a malformed time.
    pub async fn set_time(&self, time: &TimeConfig) -> Result<()> {
        self.send_json("nethsm.set_time", Method::PUT, &["config", "time"], time)
            .await
    }

    /// `GET /config/logging`.
    ///
    /// # Errors
    /// `PermissionDenied`.
    pub async fn logging(&self) -> Result<LoggingConfig> {
        self.get_json("nethsm.logging", &["config", "logging"])
            .await
    }

    /// `PUT /config/logging`.
    ///
    /// # Errors
    /// `InvalidInput`.
    pub async fn set_logging(&self, config: &LoggingConfig) -> Result<()> {
        self.send_json(
            "nethsm.set_logging",
            Method::PUT,
            &["config", "logging"],
            config,
        )
        .await
    }

    /// `GET /config/tls/public.pem`: the TLS key's public key.
    ///
    /// # Errors
    /// `PermissionDenied`.
    pub async fn tls_public_key_pem(&self) -> Result<String> {
        self.get_text("nethsm.tls_public_key", &["config", "tls", "public.pem"])
            .await
    }

    /// `GET /config/tls/cert.pem`: the TLS certificate.
    ///
    /// # Errors
    /// `PermissionDenied`.
    pub async fn tls_certificate_pem(&self) -> Result<String> {
        self.get_text("nethsm.tls_certificate", &["config", "tls", "cert.pem"])
            .await
    }

    /// `PUT /config/tls/cert.pem`: installs a TLS certificate for the current TLS key.
    ///
    /// # Errors
    /// `InvalidInput` when it does not match the key.
    pub async fn set_tls_certificate_pem(&self, pem: &str) -> Result<()> {
        self.put_pem(
            "nethsm.set_tls_certificate",
            &["config", "tls", "cert.pem"],
            pem,
        )
        .await
    }

    /// `POST /config/tls/csr.pem`: a CSR for the TLS key.
    ///
    /// # Errors
    /// `PermissionDenied`.
    pub async fn tls_csr_pem(&self, subject: &DistinguishedName) -> Result<String> {
        let segments = ["config", "tls", "csr.pem"];
        let request = Request::new("nethsm.tls_csr", Method::POST, &segments).json(subject)?;
        self.transport.text(request).await
    }

    /// `POST /config/tls/generate`: a new TLS key (and self-signed certificate).
    ///
    /// # Errors
    /// `InvalidInput`.
    pub async fn generate_tls_key(&self, request: &TlsKeyGenerateRequest) -> Result<()> {
        self.send_json(
            "nethsm.generate_tls_key",
            Method::POST,
            &["config", "tls", "generate"],
            request,
        )
        .await
    }

    /// `GET /config/tls/cluster-ca.pem` (v4): the CA of cluster peer traffic.
    ///
    /// # Errors
    /// `NotFound` when none was ever set.
    pub async fn cluster_ca_pem(&self) -> Result<String> {
        self.get_text("nethsm.cluster_ca", &["config", "tls", "cluster-ca.pem"])
            .await
    }

    /// `PUT /config/tls/cluster-ca.pem` (v4): sets the CA of cluster peer traffic; the
    /// device's TLS certificate must be signed by it.
    ///
    /// # Errors
    /// `InvalidInput` for a malformed CA, `InvalidState` (412) when the TLS certificate is not
    /// signed by it.
    pub async fn set_cluster_ca_pem(&self, pem: &str) -> Result<()> {
        self.put_pem(
            "nethsm.set_cluster_ca",
            &["config", "tls", "cluster-ca.pem"],
            pem,
        )
        .await
    }

    /// `GET /config/network`.
    ///
    /// # Errors
    /// `PermissionDenied`.
    pub async fn network(&self) -> Result<NetworkConfig> {
        self.get_json("nethsm.network", &["config", "network"])
            .await
    }

    /// `PUT /config/network`.
    ///
    /// # Errors
    /// `InvalidInput` for a malformed address.
    pub async fn set_network(&self, config: &NetworkConfig) -> Result<()> {
        self.send_json(
            "nethsm.set_network",
            Method::PUT,
            &["config", "network"],
            config,
        )
        .await
    }

    /// `GET /config/ntp` (v5).
    ///
    /// # Errors
    /// `PermissionDenied`.
    pub async fn ntp(&self) -> Result<NtpConfig> {
        self.get_json("nethsm.ntp", &["config", "ntp"]).await
    }

    /// `PUT /config/ntp` (v5); an empty config turns NTP off.
    ///
    /// # Errors
    /// `InvalidInput` for a malformed address or name.
    pub async fn set_ntp(&self, config: &NtpConfig) -> Result<()> {
        self.send_json("nethsm.set_ntp", Method::PUT, &["config", "ntp"], config)
            .await
    }
}
