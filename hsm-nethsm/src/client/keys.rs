//! `/keys`: list (filtered), generate, import (parts or PEM), get, delete, public key, move, labels, tag restrictions.

use hsm_core::{DeviceStatus, Error, ErrorKind, Result};
use reqwest::Method;
use secrecy::{ExposeSecret as _, SecretString};

use crate::client::{NetHsmClient, settle_unknown_outcome};
use crate::protocol::ids;
use crate::protocol::multipart::{self, Part};
use crate::protocol::{
    GenerateKeyRequest, ImportKeyRequest, KeyItem, KeySetLabel, KeyType, MoveKeyRequest,
    PemKeyArguments, PublicKeyData,
};
use crate::transport::http::{Failure, Request};

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
    /// `GET /keys`: the ids of the keys the user can see.
    ///
    /// # Errors
    /// Transport, authentication and device errors.
    pub async fn list_keys(&self) -> Result<Vec<KeyItem>> {
        self.get_json("nethsm.list_keys", &["keys"]).await
    }

    /// `GET /keys?filter=&label=` or `GET /keys/{prefix}*`: the ids of matching keys.
    ///
    /// # Errors
    /// Transport, authentication and device errors.
    pub async fn list_keys_filtered(&self, filter: &KeyFilter<'_>) -> Result<Vec<KeyItem>> {
        const OP: &str = "nethsm.list_keys";
        if let Some(prefix) = filter.prefix.filter(|p| !p.is_empty()) {
            ids::check(OP, "key id prefix", prefix)?;
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
        let request = Request::new(OP, Method::GET, &segments).query(&query);
        self.transport.json_request(&request).await
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
        if let Some(id) = request.id.as_deref() {
            ids::check("nethsm.generate_key", "key id", id)?;
        }
        const OP: &str = "nethsm.generate_key";
        let segments = ["keys", "generate"];
        let call = Request::new(OP, Method::POST, &segments).json(request)?;
        let failure = match self.transport.json_call(&call).await {
            Ok(item) => return Ok(item),
            Err(failure) => failure,
        };
        let Some(id) = request.id.as_deref() else {
            return Err(failure.error);
        };
        self.settle_creation(OP, failure, id, Some(request.key_type))
            .await
            .map(|()| KeyItem { id: id.to_owned() })
    }

    /// `PUT /keys/{KeyID}` (with an id) or `POST /keys` (the device picks one): imports a
    /// private key; returns its id. Never sent twice; an unknown outcome or a 400 is settled
    /// by asking whether the key exists, as for [`Self::generate_key`].
    ///
    /// # Errors
    /// `AlreadyExists` for a taken id, `InvalidInput` for a key the device refuses.
    pub async fn import_key(&self, id: Option<&str>, request: &ImportKeyRequest) -> Result<String> {
        if let Some(id) = id {
            ids::check("nethsm.import_key", "key id", id)?;
        }
        const OP: &str = "nethsm.import_key";
        let Some(id) = id else {
            let call = Request::new(OP, Method::POST, &["keys"]).json(request)?;
            let created: KeyItem = self.transport.json_request(&call).await?;
            return Ok(created.id);
        };
        let segments = ["keys", id];
        let call = Request::new(OP, Method::PUT, &segments).json(request)?;
        match self.transport.call_request(&call).await {
            Ok(_) => Ok(id.to_owned()),
            Err(failure) => self
                .settle_creation(OP, failure, id, Some(request.key_type))
                .await
                .map(|()| id.to_owned()),
        }
    }

    /// `PUT /keys/{KeyID}` (with an id) or `POST /keys` as `multipart/form-data`: imports a
    /// private key from PEM (`RSA PRIVATE KEY`, `EC PRIVATE KEY` or PKCS#8 `PRIVATE KEY`);
    /// returns its id. Never sent twice; settled like [`Self::import_key`].
    ///
    /// # Errors
    /// `AlreadyExists` for a taken id, `InvalidInput` for a key the device refuses.
    pub async fn import_key_pem(
        &self,
        id: Option<&str>,
        arguments: &PemKeyArguments,
        pem: &SecretString,
    ) -> Result<String> {
        if let Some(id) = id {
            ids::check("nethsm.import_key_pem", "key id", id)?;
        }
        const OP: &str = "nethsm.import_key_pem";
        let key_file = Part {
            name: "key_file",
            file_name: Some("key.pem"),
            content_type: "application/x-pem-file",
            body: pem.expose_secret().as_bytes(),
        };
        let (content_type, body) = multipart::with_arguments(OP, arguments, key_file)?;
        let Some(id) = id else {
            let request = Request::new(OP, Method::POST, &["keys"]).body(content_type, body);
            let created: KeyItem = self.transport.json_request(&request).await?;
            return Ok(created.id);
        };
        let segments = ["keys", id];
        let request = Request::new(OP, Method::PUT, &segments).body(content_type, body);
        match self.transport.call_request(&request).await {
            Ok(_) => Ok(id.to_owned()),
            Err(failure) => self
                .settle_creation(OP, failure, id, None)
                .await
                .map(|()| id.to_owned()),
        }
    }

    /// After a failed creation of key `id`: `Ok` when the outcome was unknown and the key now
    /// exists with the type asked for; `AlreadyExists` when the device said 400 and the key
    /// exists (the device's answer to a taken id; the spec says 409); else the error.
    async fn settle_creation(
        &self,
        operation: &'static str,
        failure: Failure,
        id: &str,
        key_type: Option<KeyType>,
    ) -> Result<()> {
        if failure.error.status() == Some(&DeviceStatus::Http(400)) {
            return Err(match self.get_key(id).await {
                Ok(_) => Error::new(ErrorKind::AlreadyExists, operation)
                    .with_status(DeviceStatus::Http(400))
                    .with_message(format!("a key with id {id} already exists")),
                Err(_) => failure.error,
            });
        }
        if !failure.outcome_unknown {
            return Err(failure.error);
        }
        tracing::warn!(
            operation,
            "outcome unknown: checking whether the key exists"
        );
        let found = self.get_key(id).await;
        settle_unknown_outcome(
            failure.error,
            found.map(|key| key_type.is_none_or(|t| key.key_type == t)),
            [
                "outcome unknown, and a key of this id but another type exists",
                "outcome unknown; the key does not exist, so it was not created",
                "outcome unknown, and the key's existence could not be checked",
            ],
        )
    }

    /// `GET /keys/{KeyID}`: type, mechanisms and public part.
    ///
    /// # Errors
    /// `NotFound` (404) for an unknown key.
    pub async fn get_key(&self, id: &str) -> Result<PublicKeyData> {
        const OP: &str = "nethsm.get_key";
        ids::check(OP, "key id", id)?;
        self.get_json(OP, &["keys", id]).await
    }

    /// `DELETE /keys/{KeyID}`.
    ///
    /// # Errors
    /// `NotFound` (404) for an unknown key.
    pub async fn delete_key(&self, id: &str) -> Result<()> {
        const OP: &str = "nethsm.delete_key";
        ids::check(OP, "key id", id)?;
        self.send(OP, Method::DELETE, &["keys", id]).await
    }

    /// `GET /keys/{KeyID}/public.pem`: the SPKI PEM.
    ///
    /// # Errors
    /// `NotFound` (404) for an unknown key.
    pub async fn public_key_pem(&self, id: &str) -> Result<String> {
        const OP: &str = "nethsm.public_key_pem";
        ids::check(OP, "key id", id)?;
        self.get_text(OP, &["keys", id, "public.pem"]).await
    }

    /// `POST /keys/{KeyID}/move`: renames a key; returns the new id.
    ///
    /// # Errors
    /// `NotFound`, `AlreadyExists` (409) for a taken id.
    pub async fn move_key(&self, id: &str, new_id: &str) -> Result<KeyItem> {
        const OP: &str = "nethsm.move_key";
        ids::check(OP, "key id", id)?;
        ids::check(OP, "key id", new_id)?;
        let body = MoveKeyRequest {
            new_id: new_id.to_owned(),
        };
        self.post_for_json(OP, &["keys", id, "move"], &body).await
    }

    /// `PUT /keys/{KeyID}/label` (v5).
    ///
    /// # Errors
    /// `NotFound`, `InvalidInput`.
    pub async fn set_key_label(&self, id: &str, label: &str) -> Result<()> {
        const OP: &str = "nethsm.set_key_label";
        ids::check(OP, "key id", id)?;
        let body = KeySetLabel {
            label: label.to_owned(),
        };
        self.send_json(OP, Method::PUT, &["keys", id, "label"], &body)
            .await
    }

    /// `DELETE /keys/{KeyID}/label` (v5).
    ///
    /// # Errors
    /// `NotFound`.
    pub async fn delete_key_label(&self, id: &str) -> Result<()> {
        const OP: &str = "nethsm.delete_key_label";
        ids::check(OP, "key id", id)?;
        self.send(OP, Method::DELETE, &["keys", id, "label"]).await
    }

    /// `PUT /keys/{KeyID}/restrictions/tags/{Tag}`: only operators with the tag may use the key.
    ///
    /// # Errors
    /// `NotFound`, `InvalidInput` for a bad tag.
    pub async fn add_key_tag(&self, id: &str, tag: &str) -> Result<()> {
        const OP: &str = "nethsm.add_key_tag";
        ids::check(OP, "key id", id)?;
        self.send_tag(OP, Method::PUT, &["keys", id, "restrictions"], tag)
            .await
    }

    /// `DELETE /keys/{KeyID}/restrictions/tags/{Tag}`.
    ///
    /// # Errors
    /// `NotFound`.
    pub async fn remove_key_tag(&self, id: &str, tag: &str) -> Result<()> {
        const OP: &str = "nethsm.remove_key_tag";
        ids::check(OP, "key id", id)?;
        self.send_tag(OP, Method::DELETE, &["keys", id, "restrictions"], tag)
            .await
    }
}
