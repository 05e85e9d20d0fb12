//! `/keys/{KeyID}/csr.pem` and `/keys/{KeyID}/cert`: a key's CSR and its stored certificate.

use hsm_core::Result;
use reqwest::Method;

use crate::client::{NetHsmClient, settle_unknown_outcome};
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

    /// `GET /keys/{KeyID}/cert`: the stored certificate, exactly as stored (DER or PEM, as
    /// uploaded: the device does not parse it).
    ///
    /// # Errors
    /// `NotFound` (404) when the key or its certificate is missing: the device answers the same
    /// for both ([`Self::get_key`] tells them apart).
    pub async fn key_certificate(&self, id: &str) -> Result<Vec<u8>> {
        const OP: &str = "nethsm.key_certificate";
        ids::check(OP, "key id", id)?;
        let segments = ["keys", id, "cert"];
        let request = Request::new(OP, Method::GET, &segments);
        self.transport.send_request(&request).await
    }

    /// `PUT /keys/{KeyID}/cert`: stores a certificate (at most 1 MiB) with the key (the
    /// Administrator role). Never sent twice: when the outcome is unknown (no complete answer),
    /// the certificate is read back, and the call succeeds only if it is the one sent.
    ///
    /// # Errors
    /// `AlreadyExists` (409) when one is stored: delete it first.
    pub async fn put_key_certificate(&self, id: &str, certificate: &[u8]) -> Result<()> {
        const OP: &str = "nethsm.put_key_certificate";
        ids::check(OP, "key id", id)?;
        let segments = ["keys", id, "cert"];
        let request = Request::new(OP, Method::PUT, &segments)
            .body("application/octet-stream", certificate.to_vec());
        let failure = match self.transport.call_request(&request).await {
            Ok(_) => return Ok(()),
            Err(failure) if !failure.outcome_unknown => return Err(failure.error),
            Err(failure) => failure,
        };
        tracing::warn!(
            operation = OP,
            "outcome unknown: reading the certificate back"
        );
        let stored = self.key_certificate(id).await;
        settle_unknown_outcome(
            failure.error,
            stored.map(|stored| stored == certificate),
            [
                "outcome unknown, and the key holds another certificate",
                "outcome unknown; the key has no certificate, so none was stored",
                "outcome unknown, and the certificate could not be read back",
            ],
        )
    }

    /// `DELETE /keys/{KeyID}/cert`.
    ///
    /// # Errors
    /// `NotFound`.
    pub async fn delete_key_certificate(&self, id: &str) -> Result<()> {
        const OP: &str = "nethsm.delete_key_certificate";
        ids::check(OP, "key id", id)?;
        self.send(OP, Method::DELETE, &["keys", id, "cert"]).await
    }
}
