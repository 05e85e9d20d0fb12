//! The bodies of `/users`: users, their roles, passphrases and tags.

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::expose;

/// A user's role (`UserRole`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum UserRole {
    /// Manages users, keys and the device.
    Administrator,
    /// Uses keys.
    Operator,
    /// Reads metrics.
    Metrics,
    /// Makes backups.
    Backup,
}

/// `PUT /users/{UserID}` / `POST /users`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserPostData {
    /// A display name.
    pub real_name: String,
    /// The role.
    pub role: UserRole,
    /// The passphrase (10 to 200 characters).
    #[serde(serialize_with = "expose")]
    pub passphrase: SecretString,
}

debug_without_secrets!(UserPostData { real_name, role });

/// `GET /users/{UserID}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserData {
    /// The display name.
    pub real_name: String,
    /// The role.
    pub role: UserRole,
}

/// An entry of `GET /users`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserItem {
    /// The user id (`ns~id` in a namespace).
    pub user: String,
}
