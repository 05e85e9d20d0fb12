//! `/keys`: list, generate, inspect, delete, public key, sign.

use hsm_core::Result;
use reqwest::Method;

use super::NetHsmClient;
use super::model::{
    GenerateKeyRequest, KeyItem, PublicKeyData, SignMode, SignRequest, SignResponse,
};

impl NetHsmClient {
    /// `GET /keys`: the ids of the keys the user can see.
    ///
    /// # Errors
    /// Transport, authentication and device errors.
    pub async fn list_keys(&self) -> Result<Vec<KeyItem>> {
        self.json("nethsm.list_keys", Method::GET, &["keys"], None, true)
            .await
    }

    /// `POST /keys/generate`: returns the new key's id.
    ///
    /// Generation is never sent twice. When its outcome is unknown (the connection broke or the
    /// answer timed out after the request left) and the request names the key id, the client
    /// asks whether a key of that id and type now exists: if so the generation took place and
    /// this returns `Ok`; if not, the original error comes back and the caller may try again.
    ///
    /// # Errors
    /// `AlreadyExists` for a taken id (the spec says 409, the device answers 400; either way),
    /// `InvalidInput` (400) for a bad request, transport errors.
    pub async fn generate_key(&self, request: &GenerateKeyRequest) -> Result<KeyItem> {
        const OP: &str = "nethsm.generate_key";
        let failure = match self
            .json_call(OP, Method::POST, &["keys", "generate"], Some(request), true)
            .await
        {
            Ok(item) => return Ok(item),
            Err(failure) => failure,
        };
        let Some(id) = request.id.as_deref() else {
            return Err(failure.error);
        };
        // The device answers a taken id with 400 (the spec says 409): ask whether the key is
        // there, so that callers get `AlreadyExists` either way.
        if failure.error.status() == Some(&hsm_core::DeviceStatus::Http(400)) {
            return Err(match self.get_key(id).await {
                Ok(_) => hsm_core::Error::new(hsm_core::ErrorKind::AlreadyExists, OP)
                    .with_status(hsm_core::DeviceStatus::Http(400))
                    .with_message(format!("a key with id {id} already exists")),
                Err(_) => failure.error,
            });
        }
        if !failure.outcome_unknown {
            return Err(failure.error);
        }
        tracing::warn!(
            operation = OP,
            "outcome unknown: checking whether the key exists"
        );
        match self.get_key(id).await {
            Ok(key) if key.key_type == request.key_type => Ok(KeyItem { id: id.to_owned() }),
            Ok(_) => Err(failure
                .error
                .with_message("outcome unknown, and a key of this id but another type exists")),
            Err(e) if e.is_not_found() => Err(failure
                .error
                .with_message("outcome unknown; the key does not exist, so it was not generated")),
            Err(_) => Err(failure
                .error
                .with_message("outcome unknown, and the key's existence could not be checked")),
        }
    }

    /// `GET /keys/{KeyID}`: type, mechanisms and public part.
    ///
    /// # Errors
    /// `NotFound` (404) for an unknown key.
    pub async fn get_key(&self, id: &str) -> Result<PublicKeyData> {
        self.json("nethsm.get_key", Method::GET, &["keys", id], None, true)
            .await
    }

    /// `DELETE /keys/{KeyID}`.
    ///
    /// # Errors
    /// `NotFound` (404) for an unknown key.
    pub async fn delete_key(&self, id: &str) -> Result<()> {
        self.send(
            "nethsm.delete_key",
            Method::DELETE,
            &["keys", id],
            None,
            true,
        )
        .await
        .map(drop)
    }

    /// `GET /keys/{KeyID}/public.pem`: the SPKI PEM.
    ///
    /// # Errors
    /// `NotFound` (404) for an unknown key.
    pub async fn public_key_pem(&self, id: &str) -> Result<String> {
        let bytes = self
            .send(
                "nethsm.public_key_pem",
                Method::GET,
                &["keys", id, "public.pem"],
                None,
                true,
            )
            .await?;
        String::from_utf8(bytes).map_err(|e| {
            hsm_core::Error::protocol("nethsm.public_key_pem", "the PEM is not UTF-8")
                .with_source(e)
        })
    }

    /// `POST /keys/{KeyID}/sign`: signs `message` exactly as the mode defines it (see the
    /// crate docs: `PKCS1` needs the DigestInfo, `PSS_*` and `ECDSA` take a digest, `EdDSA` the
    /// message). Returns the device's bytes: DER for ECDSA.
    ///
    /// # Errors
    /// `NotFound`, `InvalidInput` (400: mode not allowed, wrong digest length), `PermissionDenied`
    /// (403: tag restriction), transport errors.
    pub async fn sign(&self, id: &str, mode: SignMode, message: &[u8]) -> Result<Vec<u8>> {
        let request = SignRequest {
            mode,
            message: message.to_vec(),
        };
        let response: SignResponse = self
            .json(
                "nethsm.sign",
                Method::POST,
                &["keys", id, "sign"],
                Some(&request),
                true,
            )
            .await?;
        Ok(response.signature)
    }
}
