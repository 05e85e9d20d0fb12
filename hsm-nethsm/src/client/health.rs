//! `/health/*`, `/info` and `/metrics`: the device's state, identity, counters, and the cluster process's diagnosis.

use hsm_core::Result;
use reqwest::Method;

use crate::client::NetHsmClient;
use crate::protocol::{HealthDiagnoseData, HealthState, InfoData, SystemState};
use crate::transport::http::Request;

impl NetHsmClient {
    /// `GET /info` (no authentication).
    ///
    /// # Errors
    /// Transport errors.
    pub async fn info(&self) -> Result<InfoData> {
        let request = Request::new("nethsm.info", Method::GET, &["info"]);
        self.transport
            .json_request(&request.unauthenticated())
            .await
    }

    /// `GET /health/alive`: `Ok` when the device is started but Locked or Unprovisioned.
    ///
    /// # Errors
    /// `InvalidState` (412) otherwise.
    pub async fn health_alive(&self) -> Result<()> {
        let request = Request::new("nethsm.health_alive", Method::GET, &["health", "alive"]);
        self.transport.no_answer(request.unauthenticated()).await
    }

    /// `GET /health/ready`: `Ok` when the device is operational.
    ///
    /// # Errors
    /// `InvalidState` (412) when it is not.
    pub async fn health_ready(&self) -> Result<()> {
        let segments = ["health", "ready"];
        let request = Request::new("nethsm.health_ready", Method::GET, &segments);
        self.transport.no_answer(request.unauthenticated()).await
    }

    /// `GET /health/state` (no authentication).
    ///
    /// # Errors
    /// Transport errors.
    pub async fn health_state(&self) -> Result<SystemState> {
        let segments = ["health", "state"];
        let request = Request::new("nethsm.health_state", Method::GET, &segments);
        let state: HealthState = self
            .transport
            .json_request(&request.unauthenticated())
            .await?;
        Ok(state.state)
    }

    /// `GET /health/diagnose` (v5): the cluster process's state and recent logs. Needs an
    /// Administrator when the device is Operational, nothing otherwise.
    ///
    /// # Errors
    /// `PermissionDenied`, transport errors.
    pub async fn health_diagnose(&self) -> Result<HealthDiagnoseData> {
        self.get_json("nethsm.health_diagnose", &["health", "diagnose"])
            .await
    }

    /// `GET /metrics` (Metrics role): the device's counters, as the device names them.
    ///
    /// # Errors
    /// `PermissionDenied`.
    pub async fn metrics(&self) -> Result<serde_json::Map<String, serde_json::Value>> {
        self.get_json("nethsm.metrics", &["metrics"]).await
    }
}
