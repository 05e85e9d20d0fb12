//! The bodies of `/namespaces`.

use serde::{Deserialize, Serialize};

/// An entry of `GET /namespaces`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamespaceItem {
    /// The namespace id.
    pub id: String,
}
