//! `/namespaces` (v2).

use hsm_core::Result;
use reqwest::Method;

use crate::client::NetHsmClient;
use crate::protocol::NamespaceItem;
use crate::protocol::ids;
use crate::transport::http::Request;

impl NetHsmClient {
    /// `GET /namespaces` (v2).
    ///
    /// # Errors
    /// `PermissionDenied`.
    pub async fn list_namespaces(&self) -> Result<Vec<String>> {
        let items: Vec<NamespaceItem> = self
            .transport
            .json_request(&Request::new(
                "nethsm.list_namespaces",
                Method::GET,
                &["namespaces"],
            ))
            .await?;
        Ok(items.into_iter().map(|i| i.id).collect())
    }

    /// `PUT /namespaces/{NamespaceID}` (v2).
    ///
    /// # Errors
    /// `AlreadyExists`, `PermissionDenied`, `InvalidInput`.
    pub async fn add_namespace(&self, id: &str) -> Result<()> {
        ids::check("nethsm.add_namespace", "namespace", id)?;
        let segments = ["namespaces", id];
        self.transport
            .no_answer(Request::new("nethsm.add_namespace", Method::PUT, &segments))
            .await
    }

    /// `DELETE /namespaces/{NamespaceID}` (v2): deletes its keys too.
    ///
    /// # Errors
    /// `NotFound`, `PermissionDenied`.
    pub async fn delete_namespace(&self, id: &str) -> Result<()> {
        ids::check("nethsm.delete_namespace", "namespace", id)?;
        let segments = ["namespaces", id];
        self.transport
            .no_answer(Request::new(
                "nethsm.delete_namespace",
                Method::DELETE,
                &segments,
            ))
            .await
    }
}
