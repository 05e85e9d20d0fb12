//! Health, info, provisioning and users.

use hsm_core::Result;
use reqwest::Method;

use super::NetHsmClient;
use crate::protocol::ids;
use crate::protocol::{
    HealthState, InfoData, ProvisionRequest, SystemState, UserData, UserItem, UserPostData,
};
use crate::transport::http::Request;

impl NetHsmClient {
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

    /// `GET /health/ready`: `Ok` when the device is operational.
    ///
    /// # Errors
    /// `InvalidState` (412) when it is not.
    pub async fn health_ready(&self) -> Result<()> {
        let segments = ["health", "ready"];
        let request = Request::new("nethsm.health_ready", Method::GET, &segments);
        self.transport.no_answer(request.unauthenticated()).await
    }

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

    /// `PUT /users/{UserID}` (Administrator).
    ///
    /// # Errors
    /// `AlreadyExists` (409), `PermissionDenied` (403), `InvalidInput` (400).
    pub async fn add_user(&self, id: &str, user: &UserPostData) -> Result<()> {
        ids::check_user("nethsm.add_user", id)?;
        let segments = ["users", id];
        self.transport
            .no_answer(Request::new("nethsm.add_user", Method::PUT, &segments).json(user)?)
            .await
    }

    /// `GET /users` (Administrator): the user ids.
    ///
    /// # Errors
    /// `PermissionDenied` (403).
    pub async fn list_users(&self) -> Result<Vec<String>> {
        let request = Request::new("nethsm.list_users", Method::GET, &["users"]);
        let items: Vec<UserItem> = self.transport.json_request(&request).await?;
        Ok(items.into_iter().map(|i| i.user).collect())
    }

    /// `DELETE /users/{UserID}` (Administrator).
    ///
    /// # Errors
    /// `NotFound` (404), `PermissionDenied` (403).
    pub async fn delete_user(&self, id: &str) -> Result<()> {
        ids::check_user("nethsm.delete_user", id)?;
        let segments = ["users", id];
        self.transport
            .no_answer(Request::new(
                "nethsm.delete_user",
                Method::DELETE,
                &segments,
            ))
            .await
    }

    /// `GET /users/{UserID}` (Administrator; an Operator may read itself).
    ///
    /// # Errors
    /// `NotFound` (404), `PermissionDenied` (403).
    pub async fn get_user(&self, id: &str) -> Result<UserData> {
        ids::check_user("nethsm.get_user", id)?;
        let segments = ["users", id];
        self.transport
            .json_request(&Request::new("nethsm.get_user", Method::GET, &segments))
            .await
    }
}
