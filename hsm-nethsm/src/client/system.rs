//! Health, info, provisioning and users.

use hsm_core::Result;
use reqwest::Method;

use super::model::{
    HealthState, InfoData, ProvisionRequest, SystemState, UserData, UserItem, UserPostData,
};
use super::{NetHsmClient, ids};

impl NetHsmClient {
    /// `GET /health/state` (no authentication).
    ///
    /// # Errors
    /// Transport errors.
    pub async fn health_state(&self) -> Result<SystemState> {
        let state: HealthState = self
            .json(
                "nethsm.health_state",
                Method::GET,
                &["health", "state"],
                None,
                false,
            )
            .await?;
        Ok(state.state)
    }

    /// `GET /health/ready`: `Ok` when the device is operational.
    ///
    /// # Errors
    /// `InvalidState` (412) when it is not.
    pub async fn health_ready(&self) -> Result<()> {
        self.send(
            "nethsm.health_ready",
            Method::GET,
            &["health", "ready"],
            None,
            false,
        )
        .await
        .map(drop)
    }

    /// `GET /info` (no authentication).
    ///
    /// # Errors
    /// Transport errors.
    pub async fn info(&self) -> Result<InfoData> {
        self.json("nethsm.info", Method::GET, &["info"], None, false)
            .await
    }

    /// `POST /provision`: turns an unprovisioned device operational and creates `admin`.
    ///
    /// # Errors
    /// `InvalidState` (412) unless the device is unprovisioned; `InvalidInput` for weak
    /// passphrases.
    pub async fn provision(&self, request: &ProvisionRequest) -> Result<()> {
        self.send(
            "nethsm.provision",
            Method::POST,
            &["provision"],
            Some(request),
            false,
        )
        .await
        .map(drop)
    }

    /// `PUT /users/{UserID}` (Administrator).
    ///
    /// # Errors
    /// `AlreadyExists` (409), `PermissionDenied` (403), `InvalidInput` (400).
    pub async fn add_user(&self, id: &str, user: &UserPostData) -> Result<()> {
        ids::check_user("nethsm.add_user", id)?;
        self.send(
            "nethsm.add_user",
            Method::PUT,
            &["users", id],
            Some(user),
            true,
        )
        .await
        .map(drop)
    }

    /// `GET /users` (Administrator): the user ids.
    ///
    /// # Errors
    /// `PermissionDenied` (403).
    pub async fn list_users(&self) -> Result<Vec<String>> {
        let items: Vec<UserItem> = self
            .json("nethsm.list_users", Method::GET, &["users"], None, true)
            .await?;
        Ok(items.into_iter().map(|i| i.user).collect())
    }

    /// `DELETE /users/{UserID}` (Administrator).
    ///
    /// # Errors
    /// `NotFound` (404), `PermissionDenied` (403).
    pub async fn delete_user(&self, id: &str) -> Result<()> {
        ids::check_user("nethsm.delete_user", id)?;
        self.send(
            "nethsm.delete_user",
            Method::DELETE,
            &["users", id],
            None,
            true,
        )
        .await
        .map(drop)
    }

    /// `GET /users/{UserID}` (Administrator; an Operator may read itself).
    ///
    /// # Errors
    /// `NotFound` (404), `PermissionDenied` (403).
    pub async fn get_user(&self, id: &str) -> Result<UserData> {
        ids::check_user("nethsm.get_user", id)?;
        self.json("nethsm.get_user", Method::GET, &["users", id], None, true)
            .await
    }
}
