//! `/keys/{KeyID}/sign`, `/decrypt` and `/encrypt`: the operations with a key.

use hsm_core::Result;
use reqwest::Method;

use crate::client::NetHsmClient;
use crate::protocol::ids;
use crate::protocol::{
    DecryptRequest, DecryptResponse, EncryptRequest, EncryptResponse, SignMode, SignRequest,
    SignResponse,
};
use crate::transport::http::Request;

impl NetHsmClient {
    /// `POST /keys/{KeyID}/sign`: signs `message` exactly as the mode defines it (see the
    /// crate docs: `PKCS1` needs the DigestInfo, `PSS_*` and `ECDSA` take a digest, `EdDSA` the
    /// message). Returns the device's bytes: DER for ECDSA.
    ///
    /// # Errors
    /// `NotFound`, `InvalidInput` (400: mode not allowed, wrong digest length), `PermissionDenied`
    /// (403: tag restriction), transport errors.
    pub async fn sign(&self, id: &str, mode: SignMode, message: &[u8]) -> Result<Vec<u8>> {
        ids::check("nethsm.sign", "key id", id)?;
        let request = SignRequest {
            mode,
            message: message.to_vec(),
        };
        let segments = ["keys", id, "sign"];
        let call = Request::new("nethsm.sign", Method::POST, &segments).json(&request)?;
        let response: SignResponse = self.transport.json_request(&call).await?;
        Ok(response.signature)
    }

    /// `POST /keys/{KeyID}/decrypt`. The plaintext is zeroized when the answer is dropped.
    ///
    /// # Errors
    /// `NotFound`, `InvalidInput` (mode not allowed for the key, bad padding).
    pub async fn decrypt(&self, id: &str, request: &DecryptRequest) -> Result<DecryptResponse> {
        ids::check("nethsm.decrypt", "key id", id)?;
        self.post_for_json("nethsm.decrypt", &["keys", id, "decrypt"], request)
            .await
    }

    /// `POST /keys/{KeyID}/encrypt` (AES-CBC with a Generic key).
    ///
    /// # Errors
    /// `NotFound`, `InvalidInput`.
    pub async fn encrypt(&self, id: &str, request: &EncryptRequest) -> Result<EncryptResponse> {
        ids::check("nethsm.encrypt", "key id", id)?;
        self.post_for_json("nethsm.encrypt", &["keys", id, "encrypt"], request)
            .await
    }
}
