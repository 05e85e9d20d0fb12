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

// The paths of the configuration resources (most are read and written at the same place).
const UNLOCK_PASSPHRASE: &[&str] = &["config", "unlock-passphrase"];
const BACKUP_PASSPHRASE: &[&str] = &["config", "backup-passphrase"];
const UNATTENDED_BOOT: &[&str] = &["config", "unattended-boot"];
const TIME: &[&str] = &["config", "time"];
const LOGGING: &[&str] = &["config", "logging"];
const TLS_PUBLIC: &[&str] = &["config", "tls", "public.pem"];
const TLS_CERT: &[&str] = &["config", "tls", "cert.pem"];
const TLS_CSR: &[&str] = &["config", "tls", "csr.pem"];
const TLS_GENERATE: &[&str] = &["config", "tls", "generate"];
const CLUSTER_CA: &[&str] = &["config", "tls", "cluster-ca.pem"];
const NETWORK: &[&str] = &["config", "network"];
const NTP: &[&str] = &["config", "ntp"];

impl NetHsmClient {
    /// `PUT /config/unlock-passphrase`.
    ///
    /// # Errors
    /// `InvalidInput` (wrong current or weak new passphrase).
    pub async fn change_unlock_passphrase(&self, change: &ChangePassphraseRequest) -> Result<()> {
        self.send_json(
            "nethsm.change_unlock_passphrase",
            Method::PUT,
            UNLOCK_PASSPHRASE,
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
            BACKUP_PASSPHRASE,
            change,
        )
        .await
    }

    /// `GET /config/unattended-boot`.
    ///
    /// # Errors
    /// `PermissionDenied`.
    pub async fn unattended_boot(&self) -> Result<UnattendedBootConfig> {
        self.get_json("nethsm.unattended_boot", UNATTENDED_BOOT)
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
            UNATTENDED_BOOT,
            &config,
        )
        .await
    }

    /// `GET /config/time`.
    ///
    /// # Errors
    /// `PermissionDenied`.
    pub async fn time(&self) -> Result<TimeConfig> {
        self.get_json("nethsm.time", TIME).await
    }

    /// `PUT /config/time`.
    ///
    /// # Errors
    /// `InvalidInput` for a malformed time.
    pub async fn set_time(&self, time: &TimeConfig) -> Result<()> {
        self.send_json("nethsm.set_time", Method::PUT, TIME, time)
            .await
    }

    /// `GET /config/logging`.
    ///
    /// # Errors
    /// `PermissionDenied`.
    pub async fn logging(&self) -> Result<LoggingConfig> {
        self.get_json("nethsm.logging", LOGGING).await
    }

    /// `PUT /config/logging`.
    ///
    /// # Errors
    /// `InvalidInput`.
    pub async fn set_logging(&self, config: &LoggingConfig) -> Result<()> {
        self.send_json("nethsm.set_logging", Method::PUT, LOGGING, config)
            .await
    }

    /// `GET /config/tls/public.pem`: the TLS key's public key.
    ///
    /// # Errors
    /// `PermissionDenied`.
    pub async fn tls_public_key_pem(&self) -> Result<String> {
        self.get_text("nethsm.tls_public_key", TLS_PUBLIC).await
    }

    /// `GET /config/tls/cert.pem`: the TLS certificate.
    ///
    /// # Errors
    /// `PermissionDenied`.
    pub async fn tls_certificate_pem(&self) -> Result<String> {
        self.get_text("nethsm.tls_certificate", TLS_CERT).await
    }

    /// `PUT /config/tls/cert.pem`: installs a TLS certificate for the current TLS key.
    ///
    /// # Errors
    /// `InvalidInput` when it does not match the key.
    pub async fn set_tls_certificate_pem(&self, pem: &str) -> Result<()> {
        self.put_pem("nethsm.set_tls_certificate", TLS_CERT, pem)
            .await
    }

    /// `POST /config/tls/csr.pem`: a CSR for the TLS key.
    ///
    /// # Errors
    /// `PermissionDenied`.
    pub async fn tls_csr_pem(&self, subject: &DistinguishedName) -> Result<String> {
        let request = Request::new("nethsm.tls_csr", Method::POST, TLS_CSR).json(subject)?;
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
            TLS_GENERATE,
            request,
        )
        .await
    }

    /// `GET /config/tls/cluster-ca.pem` (v4): the CA of cluster peer traffic.
    ///
    /// # Errors
    /// `NotFound` when none was ever set.
    pub async fn cluster_ca_pem(&self) -> Result<String> {
        self.get_text("nethsm.cluster_ca", CLUSTER_CA).await
    }

    /// `PUT /config/tls/cluster-ca.pem` (v4): sets the CA of cluster peer traffic; the
    /// device's TLS certificate must be signed by it.
    ///
    /// # Errors
    /// `InvalidInput` for a malformed CA, `InvalidState` (412) when the TLS certificate is not
    /// signed by it.
    pub async fn set_cluster_ca_pem(&self, pem: &str) -> Result<()> {
        self.put_pem("nethsm.set_cluster_ca", CLUSTER_CA, pem).await
    }

    /// `GET /config/network`.
    ///
    /// # Errors
    /// `PermissionDenied`.
    pub async fn network(&self) -> Result<NetworkConfig> {
        self.get_json("nethsm.network", NETWORK).await
    }

    /// `PUT /config/network`.
    ///
    /// # Errors
    /// `InvalidInput` for a malformed address.
    pub async fn set_network(&self, config: &NetworkConfig) -> Result<()> {
        self.send_json("nethsm.set_network", Method::PUT, NETWORK, config)
            .await
    }

    /// `GET /config/ntp` (v5).
    ///
    /// # Errors
    /// `PermissionDenied`.
    pub async fn ntp(&self) -> Result<NtpConfig> {
        self.get_json("nethsm.ntp", NTP).await
    }

    /// `PUT /config/ntp` (v5); an empty config turns NTP off.
    ///
    /// # Errors
    /// `InvalidInput` for a malformed address or name.
    pub async fn set_ntp(&self, config: &NtpConfig) -> Result<()> {
        self.send_json("nethsm.set_ntp", Method::PUT, NTP, config)
            .await
    }
}
