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
        let segments = ["config", "unlock-passphrase"];
        let request =
            Request::new("nethsm.change_unlock_passphrase", Method::PUT, &segments).json(change)?;
        self.transport.no_answer(request).await
    }

    /// `PUT /config/backup-passphrase`.
    ///
    /// # Errors
    /// `InvalidInput` (wrong current or weak new passphrase).
    pub async fn change_backup_passphrase(&self, change: &ChangePassphraseRequest) -> Result<()> {
        let segments = ["config", "backup-passphrase"];
        let request =
            Request::new("nethsm.change_backup_passphrase", Method::PUT, &segments).json(change)?;
        self.transport.no_answer(request).await
    }

    /// `GET /config/unattended-boot`.
    ///
    /// # Errors
    /// `PermissionDenied`.
    pub async fn unattended_boot(&self) -> Result<UnattendedBootConfig> {
        let segments = ["config", "unattended-boot"];
        self.transport
            .json_request(&Request::new(
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
        self.transport.no_answer(request).await
    }

    /// `GET /config/time`.
    ///
    /// # Errors
    /// `PermissionDenied`.
    pub async fn time(&self) -> Result<TimeConfig> {
        let segments = ["config", "time"];
        self.transport
            .json_request(&Request::new("nethsm.time", Method::GET, &segments))
            .await
    }

    /// `PUT /config/time`.
    ///
    /// # Errors
    /// `InvalidInput` for a malformed time.
    pub async fn set_time(&self, time: &TimeConfig) -> Result<()> {
        let segments = ["config", "time"];
        let request = Request::new("nethsm.set_time", Method::PUT, &segments).json(time)?;
        self.transport.no_answer(request).await
    }

    /// `GET /config/logging`.
    ///
    /// # Errors
    /// `PermissionDenied`.
    pub async fn logging(&self) -> Result<LoggingConfig> {
        let segments = ["config", "logging"];
        self.transport
            .json_request(&Request::new("nethsm.logging", Method::GET, &segments))
            .await
    }

    /// `PUT /config/logging`.
    ///
    /// # Errors
    /// `InvalidInput`.
    pub async fn set_logging(&self, config: &LoggingConfig) -> Result<()> {
        let segments = ["config", "logging"];
        let request = Request::new("nethsm.set_logging", Method::PUT, &segments).json(config)?;
        self.transport.no_answer(request).await
    }

    /// `GET /config/tls/public.pem`: the TLS key's public key.
    ///
    /// # Errors
    /// `PermissionDenied`.
    pub async fn tls_public_key_pem(&self) -> Result<String> {
        let segments = ["config", "tls", "public.pem"];
        self.transport
            .text(Request::new(
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
        self.transport
            .text(Request::new(
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
        self.transport.no_answer(request).await
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
        let segments = ["config", "tls", "generate"];
        let request =
            Request::new("nethsm.generate_tls_key", Method::POST, &segments).json(request)?;
        self.transport.no_answer(request).await
    }

    /// `GET /config/tls/cluster-ca.pem` (v4): the CA of cluster peer traffic.
    ///
    /// # Errors
    /// `NotFound` when none was ever set.
    pub async fn cluster_ca_pem(&self) -> Result<String> {
        let segments = ["config", "tls", "cluster-ca.pem"];
        self.transport
            .text(Request::new("nethsm.cluster_ca", Method::GET, &segments))
            .await
    }

    /// `PUT /config/tls/cluster-ca.pem` (v4): sets the CA of cluster peer traffic; the
    /// device's TLS certificate must be signed by it.
    ///
    /// # Errors
    /// `InvalidInput` for a malformed CA, `InvalidState` (412) when the TLS certificate is not
    /// signed by it.
    pub async fn set_cluster_ca_pem(&self, pem: &str) -> Result<()> {
        let segments = ["config", "tls", "cluster-ca.pem"];
        let request = Request::new("nethsm.set_cluster_ca", Method::PUT, &segments)
            .body("application/x-pem-file", pem.as_bytes().to_vec());
        self.transport.no_answer(request).await
    }

    /// `GET /config/network`.
    ///
    /// # Errors
    /// `PermissionDenied`.
    pub async fn network(&self) -> Result<NetworkConfig> {
        let segments = ["config", "network"];
        self.transport
            .json_request(&Request::new("nethsm.network", Method::GET, &segments))
            .await
    }

    /// `PUT /config/network`.
    ///
    /// # Errors
    /// `InvalidInput` for a malformed address.
    pub async fn set_network(&self, config: &NetworkConfig) -> Result<()> {
        let segments = ["config", "network"];
        let request = Request::new("nethsm.set_network", Method::PUT, &segments).json(config)?;
        self.transport.no_answer(request).await
    }

    /// `GET /config/ntp` (v5).
    ///
    /// # Errors
    /// `PermissionDenied`.
    pub async fn ntp(&self) -> Result<NtpConfig> {
        let segments = ["config", "ntp"];
        self.transport
            .json_request(&Request::new("nethsm.ntp", Method::GET, &segments))
            .await
    }

    /// `PUT /config/ntp` (v5); an empty config turns NTP off.
    ///
    /// # Errors
    /// `InvalidInput` for a malformed address or name.
    pub async fn set_ntp(&self, config: &NtpConfig) -> Result<()> {
        let segments = ["config", "ntp"];
        let request = Request::new("nethsm.set_ntp", Method::PUT, &segments).json(config)?;
        self.transport.no_answer(request).await
    }
}
