//! `/provision`, `/unlock` and `/lock`: bringing a device into operation and locking it.

use hsm_core::Result;
use reqwest::Method;
use secrecy::SecretString;

use crate::client::NetHsmClient;
use crate::protocol::{PassphraseRequest, ProvisionRequest};
use crate::transport::http::Request;

impl NetHsmClient {
    /// `POST /provision`: turns an unprovisioned device operational and creates `admin`.
    ///
    /// # Errors
    /// `InvalidState` (412) unless the device is unprovisioned; `InvalidInput` for weak
    /// passphrases.
    pub async fn provision(&self, request: &ProvisionRequest) -> Result<()> {
        let request =
            Request::new("nethsm.provision", Method::POST, &["provision"]).json(request)?;
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
        self.send("nethsm.lock", Method::POST, &["lock"]).await
    }
}
