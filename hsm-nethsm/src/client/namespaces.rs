//! `/namespaces` (v2).

use hsm_core::Result;
use reqwest::Method;

use crate::client::NetHsmClient;
use crate::protocol::NamespaceItem;
use crate::protocol::ids;

impl NetHsmClient {
    /// `GET /namespaces` (v2).
    ///
    /// # Errors
    /// `PermissionDenied`.
    pub async fn list_namespaces(&self) -> Result<Vec<String>> {
        let items: Vec<NamespaceItem> = self
            .get_json("nethsm.list_namespaces", &["namespaces"])
            .await?;
        Ok(items.into_iter().map(|i| i.id).collect())
    }

    /// `PUT /namespaces/{NamespaceID}` (v2).
    ///
    /// # Errors
    /// `AlreadyExists`, `PermissionDenied`, `InvalidInput`.
    pub async fn add_namespace(&self, id: &str) -> Result<()> {
        const OP: &str = "nethsm.add_namespace";
        ids::check(OP, "namespace", id)?;
        self.send(OP, Method::PUT, &["namespaces", id]).await
    }

    /// `DELETE /namespaces/{NamespaceID}` (v2): deletes its keys too.
    ///
    /// # Errors
    /// `NotFound`, `PermissionDenied`.
    pub async fn delete_namespace(&self, id: &str) -> Result<()> {
        const OP: &str = "nethsm.delete_namespace";
        ids::check(OP, "namespace", id)?;
        self.send(OP, Method::DELETE, &["namespaces", id]).await
    }
}
