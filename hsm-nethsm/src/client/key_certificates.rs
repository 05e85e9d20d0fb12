//! `/keys/{KeyID}/csr.pem` and `/keys/{KeyID}/cert`: a key's CSR and its stored certificate.

use hsm_core::Result;
use reqwest::Method;

use crate::client::NetHsmClient;
use crate::protocol::DistinguishedName;
use crate::protocol::ids;
use crate::transport::http::Request;

impl NetHsmClient {
    /// `POST /keys/{KeyID}/csr.pem`: a CSR signed by the key, PEM.
    ///
    /// # Errors
    /// `NotFound`, `InvalidInput` (e.g. a key that cannot sign).
    pub async fn key_csr_pem(&self, id: &str, subject: &DistinguishedName) -> Result<String> {
        ids::check("nethsm.key_csr", "key id", id)?;
        const OP: &str = "nethsm.key_csr";
        let segments = ["keys", id, "csr.pem"];
        let request = Request::new(OP, Method::POST, &segments).json(subject)?;
        self.transport.text(request).await
    }

    /// `GET /keys/{KeyID}/cert`: the stored certificate, exactly as stored.
    ///
    /// # Errors
    /// `NotFound` when the key or its certificate is missing.
    pub async fn key_certificate(&self, id: &str) -> Result<Vec<u8>> {
        ids::check("nethsm.key_certificate", "key id", id)?;
        let segments = ["keys", id, "cert"];
        let request = Request::new("nethsm.key_certificate", Method::GET, &segments);
        self.transport.send_request(&request).await
    }

    /// `PUT /keys/{KeyID}/cert`: stores a certificate (at most 1 MiB) with the key.
    ///
    /// # Errors
    /// `AlreadyExists` (409) when one is stored: delete it first.
    pub async fn put_key_certificate(&self, id: &str, certificate: &[u8]) -> Result<()> {
        ids::check("nethsm.put_key_certificate", "key id", id)?;
        let segments = ["keys", id, "cert"];
        let request = Request::new("nethsm.put_key_certificate", Method::PUT, &segments)
            .body("application/octet-stream", certificate.to_vec());
        self.transport.send_request(&request).await.map(drop)
    }

    /// `DELETE /keys/{KeyID}/cert`.
    ///
    /// # Errors
    /// `NotFound`.
    pub async fn delete_key_certificate(&self, id: &str) -> Result<()> {
        ids::check("nethsm.delete_key_certificate", "key id", id)?;
        let segments = ["keys", id, "cert"];
        let request = Request::new("nethsm.delete_key_certificate", Method::DELETE, &segments);
        self.transport.send_request(&request).await.map(drop)
    }
}
