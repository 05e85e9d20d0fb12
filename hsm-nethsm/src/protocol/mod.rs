//! The NetHSM REST API's protocol, without I/O: the request and response bodies with the
//! spec's wire names (one module per API group, all re-exported here), the spec's id rules,
//! the key id mapping shared with Nitrokey's PKCS#11 module, the `multipart/form-data`
//! framing, and the tables between hsm-core's key specs and algorithms and the device's key
//! types, mechanisms and sign modes. The client, the backend, the simulator and the fuzz
//! targets share these.

/// `Debug` for a body that holds secrets: the type name and only the named fields, then `..`
/// (so no passphrase reaches a log or an error).
macro_rules! debug_without_secrets {
    ($type:ident { $($field:ident),* }) => {
        impl std::fmt::Debug for $type {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($type))
                    $(.field(stringify!($field), &self.$field))*
                    .finish_non_exhaustive()
            }
        }
    };
}

mod cluster;
mod config;
mod health;
pub(crate) mod ids;
pub(crate) mod key_ids;
mod key_operations;
pub mod key_types;
mod keys;
pub(crate) mod multipart;
mod namespaces;
mod provision;
mod random;
pub(crate) mod signing;
mod system;
mod users;

use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize, Serializer};

pub use self::cluster::*;
pub use self::config::*;
pub use self::health::*;
pub use self::key_operations::*;
pub use self::keys::*;
pub use self::namespaces::*;
pub use self::provision::*;
pub use self::random::*;
pub use self::system::*;
pub use self::users::*;

/// Every request and response body in one module, the path they had before the API groups
/// got their own modules (`client::model` is this module too).
pub mod model {
    pub use super::ErrorBody;
    pub use super::cluster::*;
    pub use super::config::*;
    pub use super::health::*;
    pub use super::key_operations::*;
    pub use super::keys::*;
    pub use super::namespaces::*;
    pub use super::provision::*;
    pub use super::random::*;
    pub use super::system::*;
    pub use super::users::*;
}

/// The error body the device sends with a 4xx or 5xx status.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The explanation.
    pub message: String,
}

/// The name a value has on the wire: its JSON string (`EC_P256` for [`KeyType::EcP256`]).
#[must_use]
pub fn wire_name<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

/// Serializes a secret for a request body; the value never reaches a log or `Debug`.
fn expose<S: Serializer>(secret: &SecretString, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(secret.expose_secret())
}
