//! `/users`: users, their passphrases and tags.

use hsm_core::Result;
use reqwest::Method;
use secrecy::SecretString;

use crate::client::NetHsmClient;
use crate::protocol::ids;
use crate::protocol::{KeyItem, PassphraseRequest, UserData, UserItem, UserPostData};

impl NetHsmClient {
    /// `PUT /users/{UserID}` (Administrator).
    ///
    /// # Errors
    /// `AlreadyExists` (409), `PermissionDenied` (403), `InvalidInput` (400).
    pub async fn add_user(&self, id: &str, user: &UserPostData) -> Result<()> {
        const OP: &str = "nethsm.add_user";
        ids::check_user(OP, id)?;
        self.send_json(OP, Method::PUT, &["users", id], user).await
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
        const OP: &str = "nethsm.create_user";
        if let Some(ns) = namespace {
            ids::check(OP, "namespace", ns)?;
        }
        let prefix = namespace.map(|ns| format!("{ns}~"));
        let segments: Vec<&str> = match &prefix {
            Some(p) => vec!["users", p.as_str()],
            None => vec!["users"],
        };
        let created: KeyItem = self.post_for_json(OP, &segments, user).await?;
        Ok(created.id)
    }

    /// `GET /users` (Administrator): the user ids.
    ///
    /// # Errors
    /// `PermissionDenied` (403).
    pub async fn list_users(&self) -> Result<Vec<String>> {
        let items: Vec<UserItem> = self.get_json("nethsm.list_users", &["users"]).await?;
        Ok(items.into_iter().map(|i| i.user).collect())
    }

    /// `GET /users/{UserID}` (Administrator; an Operator may read itself).
    ///
    /// # Errors
    /// `NotFound` (404), `PermissionDenied` (403).
    pub async fn get_user(&self, id: &str) -> Result<UserData> {
        const OP: &str = "nethsm.get_user";
        ids::check_user(OP, id)?;
        self.get_json(OP, &["users", id]).await
    }

    /// `DELETE /users/{UserID}` (Administrator).
    ///
    /// # Errors
    /// `NotFound` (404), `PermissionDenied` (403).
    pub async fn delete_user(&self, id: &str) -> Result<()> {
        const OP: &str = "nethsm.delete_user";
        ids::check_user(OP, id)?;
        self.send(OP, Method::DELETE, &["users", id]).await
    }

    /// `POST /users/{UserID}/passphrase`: sets a user's passphrase (an Operator only its own).
    ///
    /// # Errors
    /// `NotFound`, `PermissionDenied`, `InvalidInput` (weak passphrase).
    pub async fn set_user_passphrase(&self, id: &str, passphrase: SecretString) -> Result<()> {
        const OP: &str = "nethsm.set_user_passphrase";
        ids::check_user(OP, id)?;
        let segments = ["users", id, "passphrase"];
        let body = PassphraseRequest { passphrase };
        self.send_json(OP, Method::POST, &segments, &body).await
    }

    /// `GET /users/{UserID}/tags`: an operator's tags.
    ///
    /// # Errors
    /// `NotFound`, `PermissionDenied`.
    pub async fn user_tags(&self, id: &str) -> Result<Vec<String>> {
        const OP: &str = "nethsm.user_tags";
        ids::check_user(OP, id)?;
        self.get_json(OP, &["users", id, "tags"]).await
    }

    /// `PUT /users/{UserID}/tags/{Tag}`.
    ///
    /// # Errors
    /// `NotFound`, `PermissionDenied`, `InvalidInput`.
    pub async fn add_user_tag(&self, id: &str, tag: &str) -> Result<()> {
        const OP: &str = "nethsm.add_user_tag";
        ids::check_user(OP, id)?;
        self.send_tag(OP, Method::PUT, &["users", id], tag).await
    }

    /// `DELETE /users/{UserID}/tags/{Tag}`.
    ///
    /// # Errors
    /// `NotFound`, `PermissionDenied`.
    pub async fn remove_user_tag(&self, id: &str, tag: &str) -> Result<()> {
        const OP: &str = "nethsm.remove_user_tag";
        ids::check_user(OP, id)?;
        self.send_tag(OP, Method::DELETE, &["users", id], tag).await
    }
}
