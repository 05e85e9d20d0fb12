//! `/keys`: list (tag filter, label, prefix), generate, import (JSON parts or PEM form), get,
//! delete, public key, move, labels. Every key lives in its caller's namespace.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::{
    ADMIN, Answer, Caller, Cx, KEY_READERS, authorize, content_type, created, ensure, error,
    form_part, json_body, no_content, pem, random_id,
};
use crate::protocol::ids::valid_id;
use crate::protocol::key_types::ec_key_type;
use crate::protocol::{
    GenerateKeyRequest, ImportKeyRequest, KeyItem, KeyMechanism, KeyPrivateData, KeyRestrictions,
    KeySetLabel, KeyType, MoveKeyRequest, PemKeyArguments, PublicKeyData,
};
use crate::sim::Shared;
use crate::sim::crypto::{KeySecret, SimResult, SimSecret};
use crate::sim::state::{DeviceState, SimKey};

const BAD_ID: &str = "ID may only contain alphanumeric characters, underscores, dashes, and dots.";

/// The device's answer to a taken id (400, not the spec's 409; nethsm.md section 11).
fn taken(id: &str) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        format!("Key with id {id} already exists"),
    )
}

pub(super) fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "Key not found")
}

/// The key `id` in the caller's namespace.
pub(super) fn path(caller: &Caller, id: &str) -> (String, String) {
    (caller.namespace().to_owned(), id.to_owned())
}

/// The caller's key `id` (404 when there is none).
pub(super) fn key<'d>(
    device: &'d DeviceState,
    caller: &Caller,
    id: &str,
) -> Result<&'d SimKey, Response> {
    device.keys.get(&path(caller, id)).ok_or_else(not_found)
}

/// The caller's key `id`, to change (404 when there is none).
pub(super) fn key_mut<'d>(
    device: &'d mut DeviceState,
    caller: &Caller,
    id: &str,
) -> Result<&'d mut SimKey, Response> {
    device.keys.get_mut(&path(caller, id)).ok_or_else(not_found)
}

/// A key id must be valid (400 otherwise).
fn check_id(id: &str) -> Result<(), Response> {
    ensure(valid_id(id), StatusCode::BAD_REQUEST, BAD_ID)
}

/// Whether `caller` may use `key` under its tag restrictions (administrators always may).
pub(super) fn may_use(device: &DeviceState, caller: &Caller, key: &SimKey) -> bool {
    if key.tags.is_empty() || caller.role == crate::protocol::UserRole::Administrator {
        return true;
    }
    device
        .users
        .get(&caller.id)
        .is_some_and(|u| !u.tags.is_disjoint(&key.tags))
}

/// `GET /keys?filter&label`: the caller's namespace.
pub(super) async fn list(
    Cx { s, headers }: Cx,
    Query(query): Query<HashMap<String, String>>,
) -> Answer {
    list_matching(&s, &headers, &query, "")
}

fn list_matching(
    s: &Shared,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
    prefix: &str,
) -> Answer {
    let (device, caller) = s.authorized(headers, KEY_READERS)?;
    let filter = query.contains_key("filter");
    let label = query.get("label");
    let items: Vec<KeyItem> = device
        .keys
        .iter()
        .filter(|((ns, id), key)| {
            ns == caller.namespace()
                && id.starts_with(prefix)
                && label.is_none_or(|l| *l == key.label)
                && (!filter || may_use(&device, &caller, key))
        })
        .map(|((_, id), _)| KeyItem { id: id.clone() })
        .collect();
    Ok(axum::Json(items).into_response())
}

pub(super) fn mechanisms_fit(key_type: KeyType, mechanisms: &[KeyMechanism]) -> bool {
    use KeyMechanism as M;
    !mechanisms.is_empty()
        && mechanisms.iter().all(|m| match key_type {
            KeyType::Rsa => matches!(
                m,
                M::RsaDecryptionRaw
                    | M::RsaDecryptionPkcs1
                    | M::RsaDecryptionOaepMd5
                    | M::RsaDecryptionOaepSha1
                    | M::RsaDecryptionOaepSha224
                    | M::RsaDecryptionOaepSha256
                    | M::RsaDecryptionOaepSha384
                    | M::RsaDecryptionOaepSha512
                    | M::RsaSignaturePkcs1
                    | M::RsaSignaturePssMd5
                    | M::RsaSignaturePssSha1
                    | M::RsaSignaturePssSha224
                    | M::RsaSignaturePssSha256
                    | M::RsaSignaturePssSha384
                    | M::RsaSignaturePssSha512
            ),
            KeyType::Curve25519 => *m == M::EdDsaSignature,
            KeyType::EcP256k1 => matches!(m, M::EcdsaSignature | M::Bip340Signature),
            KeyType::Generic => matches!(m, M::AesEncryptionCbc | M::AesDecryptionCbc),
            _ => *m == M::EcdsaSignature,
        })
}

fn label_ok(label: Option<&String>) -> Result<String, Response> {
    let label = label.cloned().unwrap_or_default();
    if label.len() > 32 {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "Label is too long, max 32 bytes",
        ));
    }
    Ok(label)
}

fn tags_of(restrictions: Option<&KeyRestrictions>) -> Result<Vec<String>, Response> {
    let tags = restrictions
        .and_then(|r| r.tags.clone())
        .unwrap_or_default();
    if tags.iter().all(|t| valid_id(t)) {
        Ok(tags)
    } else {
        Err(error(StatusCode::BAD_REQUEST, "Invalid tag"))
    }
}

/// A new key but for its secret, checked like the device does: mechanisms that fit its type,
/// a label of at most 32 bytes, valid tags (400 otherwise).
struct NewKey {
    key_type: KeyType,
    mechanisms: Vec<KeyMechanism>,
    label: String,
    tags: Vec<String>,
}

impl NewKey {
    fn checked(
        key_type: KeyType,
        mechanisms: Vec<KeyMechanism>,
        label: Option<&String>,
        restrictions: Option<&KeyRestrictions>,
    ) -> Result<Self, Response> {
        if !mechanisms_fit(key_type, &mechanisms) {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "Mechanism does not match key type",
            ));
        }
        Ok(NewKey {
            key_type,
            mechanisms,
            label: label_ok(label)?,
            tags: tags_of(restrictions)?,
        })
    }

    fn with_secret(self, secret: SimSecret) -> SimKey {
        SimKey {
            key_type: self.key_type,
            mechanisms: self.mechanisms,
            secret: Arc::new(KeySecret::new(secret)),
            operations: 0,
            tags: self.tags.into_iter().collect(),
            label: self.label,
            certificate: None,
        }
    }
}

pub(super) async fn generate(Cx { s, headers }: Cx, body: Bytes) -> Answer {
    let caller = authorize(&mut s.lock(), &headers, ADMIN)?;
    let request: GenerateKeyRequest = json_body(&body)?;
    let id = match request.id {
        Some(id) => {
            check_id(&id)?;
            id
        }
        None => random_id(&s.rng)?,
    };
    let (key_type, length) = (request.key_type, request.length);
    let new = NewKey::checked(
        key_type,
        request.mechanisms,
        request.label.as_ref(),
        request.restrictions.as_ref(),
    )?;
    if s.lock().keys.contains_key(&path(&caller, &id)) {
        return Err(taken(&id));
    }
    // Generation (RSA especially) runs off the lock and off the async workers.
    let rng = s.rng.clone();
    let secret = match tokio::task::spawn_blocking(move || {
        SimSecret::generate(key_type, length, &rng)
    })
    .await
    {
        Ok(Ok(secret)) => secret,
        Ok(Err(e)) => return Err(e.into()),
        Err(_) => {
            return Err(error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "generation failed",
            ));
        }
    };
    store(&mut s.lock(), &caller, &id, new.with_secret(secret))?;
    Ok(created("keys", &id))
}

fn store(device: &mut DeviceState, caller: &Caller, id: &str, key: SimKey) -> Result<(), Response> {
    let path = path(caller, id);
    if device.keys.contains_key(&path) {
        return Err(taken(id));
    }
    let _ = device.keys.insert(path, key);
    Ok(())
}

/// `PUT /keys/{id}`: imports a key under `id` (204).
pub(super) async fn import(Cx { s, headers }: Cx, Path(id): Path<String>, body: Bytes) -> Answer {
    store_imported(&s, &headers, &id, &body)?;
    Ok(no_content())
}

/// `POST /keys`: imports a key under an id the device picks (201 with the id).
pub(super) async fn import_new(Cx { s, headers }: Cx, body: Bytes) -> Answer {
    let id = random_id(&s.rng)?;
    store_imported(&s, &headers, &id, &body)?;
    Ok(created("keys", &id))
}

/// The type and private parts of a PEM key (RSA, EC or Ed25519, any PEM form).
fn from_pem(pem: &[u8]) -> SimResult<(KeyType, KeyPrivateData)> {
    use hsm_core::PrivateKeyParts;
    let der = crate::sim::pem_keys::pem_to_pkcs8(pem)?;
    let parts = hsm_core::PrivateKeyDer::new(der)
        .decode()
        .map_err(|e| format!("Invalid private key: {e}"))?;
    let data = |bytes: &zeroize::Zeroizing<Vec<u8>>| KeyPrivateData {
        data: Some(bytes.clone()),
        ..KeyPrivateData::default()
    };
    Ok(match &parts {
        PrivateKeyParts::Rsa {
            modulus,
            public_exponent,
            private_exponent,
            prime_p,
            prime_q,
            ..
        } => {
            crate::sim::rsa_keys::check_rsa_numbers(
                modulus,
                public_exponent,
                private_exponent,
                prime_p,
                prime_q,
            )?;
            (
                KeyType::Rsa,
                KeyPrivateData {
                    prime_p: Some(prime_p.clone()),
                    prime_q: Some(prime_q.clone()),
                    public_exponent: Some(public_exponent.clone()),
                    data: None,
                },
            )
        }
        PrivateKeyParts::Ec { curve, scalar } => {
            let key_type = ec_key_type(*curve).ok_or("Unsupported curve")?;
            (key_type, data(scalar))
        }
        PrivateKeyParts::Ed25519 { seed } => (KeyType::Curve25519, data(seed)),
        _ => return Err("Unsupported key".into()),
    })
}

/// What an import body says: JSON `PrivateKey`, or a form with `arguments` and `key_file`.
fn import_request(headers: &HeaderMap, body: &[u8]) -> Result<ImportKeyRequest, Response> {
    let content_type = content_type(headers);
    if !content_type.starts_with("multipart/form-data") {
        return json_body(body);
    }
    let bad = |m: &str| error(StatusCode::BAD_REQUEST, m.to_owned());
    let parts = crate::sim::form::parse(content_type, body)
        .ok_or_else(|| bad("Invalid multipart/form-data body"))?;
    let part =
        |name: &str| form_part(&parts, name).ok_or_else(|| bad(&format!("Missing part {name}")));
    let arguments: PemKeyArguments = json_body(part("arguments")?)?;
    let (key_type, private) = from_pem(part("key_file")?)?;
    Ok(ImportKeyRequest {
        mechanisms: arguments.mechanisms,
        key_type,
        private,
        restrictions: arguments.restrictions,
        label: arguments.label,
    })
}

fn store_imported(s: &Shared, headers: &HeaderMap, id: &str, body: &[u8]) -> Result<(), Response> {
    let caller = authorize(&mut s.lock(), headers, ADMIN)?;
    let request = import_request(headers, body)?;
    check_id(id)?;
    let new = NewKey::checked(
        request.key_type,
        request.mechanisms,
        request.label.as_ref(),
        request.restrictions.as_ref(),
    )?;
    let secret = SimSecret::import(request.key_type, &request.private)?;
    store(&mut s.lock(), &caller, id, new.with_secret(secret))
}

pub(super) fn key_data(key: &SimKey) -> PublicKeyData {
    PublicKeyData {
        mechanisms: key.mechanisms.clone(),
        key_type: key.key_type,
        restrictions: KeyRestrictions {
            tags: Some(key.tags.iter().cloned().collect()),
        },
        public: key.secret.public(),
        operations: key.operations,
        // Omitted when empty, like the device (nethsm.md section 11).
        label: (!key.label.is_empty()).then(|| key.label.clone()),
    }
}

/// `GET /keys/{id}`, or `GET /keys/{prefix}*`: a listing by id prefix.
pub(super) async fn get_or_list_prefix(
    Cx { s, headers }: Cx,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Answer {
    if let Some(prefix) = id.strip_suffix('*') {
        return list_matching(&s, &headers, &query, prefix);
    }
    let (device, caller) = s.authorized(&headers, KEY_READERS)?;
    Ok(axum::Json(key_data(key(&device, &caller, &id)?)).into_response())
}

pub(super) async fn delete(Cx { s, headers }: Cx, Path(id): Path<String>) -> Answer {
    let (mut device, caller) = s.authorized(&headers, ADMIN)?;
    device
        .keys
        .remove(&path(&caller, &id))
        .ok_or_else(not_found)?;
    Ok(no_content())
}

pub(super) async fn public_pem(Cx { s, headers }: Cx, Path(id): Path<String>) -> Answer {
    let (device, caller) = s.authorized(&headers, KEY_READERS)?;
    match crate::protocol::key_types::public_key_of(&key_data(key(&device, &caller, &id)?)) {
        Ok(Some(pk)) => Ok(pem(pk.to_pem())),
        _ => Err(error(StatusCode::BAD_REQUEST, "Key has no public part")),
    }
}

/// `POST /keys/{id}/move`: renames (200 with the new id; 409 when it is taken).
pub(super) async fn move_key(Cx { s, headers }: Cx, Path(id): Path<String>, body: Bytes) -> Answer {
    let (mut device, caller) = s.authorized(&headers, ADMIN)?;
    let request: MoveKeyRequest = json_body(&body)?;
    check_id(&request.new_id)?;
    let (from, to) = (path(&caller, &id), path(&caller, &request.new_id));
    if !device.keys.contains_key(&from) {
        return Err(not_found());
    }
    if device.keys.contains_key(&to) {
        return Err(error(
            StatusCode::CONFLICT,
            format!("Key with id {} already exists", request.new_id),
        ));
    }
    let key = device.keys.remove(&from).ok_or_else(not_found)?;
    let _ = device.keys.insert(to, key);
    Ok(axum::Json(KeyItem { id: request.new_id }).into_response())
}

/// `PUT /keys/{id}/label` (204; 304 when unchanged).
pub(super) async fn set_label(
    Cx { s, headers }: Cx,
    Path(id): Path<String>,
    body: Bytes,
) -> Answer {
    let (mut device, caller) = s.authorized(&headers, ADMIN)?;
    let request: KeySetLabel = json_body(&body)?;
    let label = label_ok(Some(&request.label))?;
    let key = key_mut(&mut device, &caller, &id)?;
    if key.label == label {
        return Ok(StatusCode::NOT_MODIFIED.into_response());
    }
    key.label = label;
    Ok(no_content())
}

/// `DELETE /keys/{id}/label`.
pub(super) async fn delete_label(Cx { s, headers }: Cx, Path(id): Path<String>) -> Answer {
    let (mut device, caller) = s.authorized(&headers, ADMIN)?;
    key_mut(&mut device, &caller, &id)?.label.clear();
    Ok(no_content())
}
