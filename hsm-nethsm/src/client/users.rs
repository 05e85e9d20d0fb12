//! `/users`: users, their passphrases and tags.

use hsm_core::Result;
use reqwest::Method;
use secrecy::SecretString;

use crate::client::NetHsmClient;
use crate::protocol::ids;
use crate::protocol::{KeyItem, PassphraseRequest, UserData, UserItem, UserPostData};
use crate::transport::http::Request;

impl NetHsmClient {
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
        let created: KeyItem = self.transport.json_request(&request).await?;
        Ok(created.id)
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
}
