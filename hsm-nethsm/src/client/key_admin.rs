//! The rest of `/keys`: filtered lists, move, labels, CSRs, certificates, tag restrictions,
//! decrypt, encrypt; and `/random`.

use hsm_core::Result;
use reqwest::Method;

use super::NetHsmClient;
use crate::protocol::ids;
use crate::protocol::{
    DecryptRequest, DecryptResponse, DistinguishedName, EncryptRequest, EncryptResponse, KeyItem,
    KeySetLabel, MoveKeyRequest, RandomRequest, RandomResponse,
};
use crate::transport::http::Request;

/// The `filter` and `label` of a key listing.
#[derive(Clone, Debug, Default)]
pub struct KeyFilter<'a> {
    /// Sent as `filter`: when present, only the keys the caller may use under their tag
    /// restrictions (keys without tags always match). The device looks only at the
    /// parameter's presence; by convention the value is a tag.
    pub tag: Option<&'a str>,
    /// Only keys with this label (v5).
    pub label: Option<&'a str>,
    /// Only ids starting with this prefix (`GET /keys/{prefix}*`, v3).
    pub prefix: Option<&'a str>,
}

impl NetHsmClient {
    /// `GET /keys?filter=&label=` or `GET /keys/{prefix}*`: the ids of matching keys.
    ///
    /// # Errors
    /// Transport, authentication and device errors.
    pub async fn list_keys_filtered(&self, filter: &KeyFilter<'_>) -> Result<Vec<KeyItem>> {
        if let Some(prefix) = filter.prefix.filter(|p| !p.is_empty()) {
            ids::check("nethsm.list_keys", "key id prefix", prefix)?;
        }
        let mut query = Vec::new();
        if let Some(tag) = filter.tag {
            query.push(("filter", tag));
        }
        if let Some(label) = filter.label {
            query.push(("label", label));
        }
        let prefixed;
        let segments: Vec<&str> = match filter.prefix {
            Some(prefix) => {
                prefixed = format!("{prefix}*");
                vec!["keys", prefixed.as_str()]
            }
            None => vec!["keys"],
        };
        let request = Request::new("nethsm.list_keys", Method::GET, &segments).query(&query);
        self.transport.json_request(&request).await
    }

    /// `POST /keys/{KeyID}/move`: renames a key; returns the new id.
    ///
    /// # Errors
    /// `NotFound`, `AlreadyExists` (409) for a taken id.
    pub async fn move_key(&self, id: &str, new_id: &str) -> Result<KeyItem> {
        ids::check("nethsm.move_key", "key id", id)?;
        ids::check("nethsm.move_key", "key id", new_id)?;
        let body = MoveKeyRequest {
            new_id: new_id.to_owned(),
        };
        let segments = ["keys", id, "move"];
        let request = Request::new("nethsm.move_key", Method::POST, &segments).json(&body)?;
        self.transport.json_request(&request).await
    }

    /// `PUT /keys/{KeyID}/label` (v5).
    ///
    /// # Errors
    /// `NotFound`, `InvalidInput`.
    pub async fn set_key_label(&self, id: &str, label: &str) -> Result<()> {
        ids::check("nethsm.set_key_label", "key id", id)?;
        let body = KeySetLabel {
            label: label.to_owned(),
        };
        let segments = ["keys", id, "label"];
        let request = Request::new("nethsm.set_key_label", Method::PUT, &segments).json(&body)?;
        self.transport.send_request(&request).await.map(drop)
    }

    /// `DELETE /keys/{KeyID}/label` (v5).
    ///
    /// # Errors
    /// `NotFound`.
    pub async fn delete_key_label(&self, id: &str) -> Result<()> {
        ids::check("nethsm.delete_key_label", "key id", id)?;
        let segments = ["keys", id, "label"];
        let request = Request::new("nethsm.delete_key_label", Method::DELETE, &segments);
        self.transport.send_request(&request).await.map(drop)
    }

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

    /// `PUT /keys/{KeyID}/restrictions/tags/{Tag}`: only operators with the tag may use the key.
    ///
    /// # Errors
    /// `NotFound`, `InvalidInput` for a bad tag.
    pub async fn add_key_tag(&self, id: &str, tag: &str) -> Result<()> {
        ids::check("nethsm.add_key_tag", "key id", id)?;
        ids::check("nethsm.add_key_tag", "tag", tag)?;
        let segments = ["keys", id, "restrictions", "tags", tag];
        let request = Request::new("nethsm.add_key_tag", Method::PUT, &segments);
        self.transport.send_request(&request).await.map(drop)
    }

    /// `DELETE /keys/{KeyID}/restrictions/tags/{Tag}`.
    ///
    /// # Errors
    /// `NotFound`.
    pub async fn remove_key_tag(&self, id: &str, tag: &str) -> Result<()> {
        ids::check("nethsm.remove_key_tag", "key id", id)?;
        ids::check("nethsm.remove_key_tag", "tag", tag)?;
        let segments = ["keys", id, "restrictions", "tags", tag];
        let request = Request::new("nethsm.remove_key_tag", Method::DELETE, &segments);
        self.transport.send_request(&request).await.map(drop)
    }

    /// `POST /keys/{KeyID}/decrypt`. The plaintext is zeroized when the answer is dropped.
    ///
    /// # Errors
    /// `NotFound`, `InvalidInput` (mode not allowed for the key, bad padding).
    pub async fn decrypt(&self, id: &str, request: &DecryptRequest) -> Result<DecryptResponse> {
        ids::check("nethsm.decrypt", "key id", id)?;
        let segments = ["keys", id, "decrypt"];
        let request = Request::new("nethsm.decrypt", Method::POST, &segments).json(request)?;
        self.transport.json_request(&request).await
    }

    /// `POST /keys/{KeyID}/encrypt` (AES-CBC with a Generic key).
    ///
    /// # Errors
    /// `NotFound`, `InvalidInput`.
    pub async fn encrypt(&self, id: &str, request: &EncryptRequest) -> Result<EncryptResponse> {
        ids::check("nethsm.encrypt", "key id", id)?;
        let segments = ["keys", id, "encrypt"];
        let request = Request::new("nethsm.encrypt", Method::POST, &segments).json(request)?;
        self.transport.json_request(&request).await
    }

    /// `POST /random`: `length` (1 to 1024) random bytes from the device.
    ///
    /// # Errors
    /// `InvalidInput` for a length out of range.
    pub async fn random(&self, length: u32) -> Result<Vec<u8>> {
        let request = Request::new("nethsm.random", Method::POST, &["random"])
            .json(&RandomRequest { length })?;
        let answer: RandomResponse = self.transport.json_request(&request).await?;
        Ok(answer.random)
    }
}
