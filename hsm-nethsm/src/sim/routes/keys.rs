//! `/keys`: list (tag filter, label, prefix), generate, import (JSON parts or PEM form), get,
//! delete, public key, move, labels. Every key lives in its caller's namespace.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::super::Shared;
use super::super::crypto::SimSecret;
use super::super::state::{DeviceState, SimKey};
use super::{ADMIN, Caller, KEY_READERS, authorize, created, error, json_body, random_id};
use crate::client::model::{
    GenerateKeyRequest, ImportKeyRequest, KeyItem, KeyMechanism, KeyPrivateData, KeyRestrictions,
    KeySetLabel, KeyType, MoveKeyRequest, PemKeyArguments, PublicKeyData,
};
use crate::mapping::valid_id;

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

/// Whether `caller` may use `key` under its tag restrictions (administrators always may).
pub(super) fn may_use(device: &DeviceState, caller: &Caller, key: &SimKey) -> bool {
    if key.tags.is_empty() || caller.role == crate::client::model::UserRole::Administrator {
        return true;
    }
    device
        .users
        .get(&caller.id)
        .is_some_and(|u| !u.tags.is_disjoint(&key.tags))
}

/// `GET /keys?filter&label`: the caller's namespace.
pub(super) async fn list(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    list_matching(&s, &headers, &query, "")
}

fn list_matching(
    s: &Shared,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
    prefix: &str,
) -> Response {
    let mut device = s.lock();
    let caller = match authorize(&mut device, headers, KEY_READERS) {
        Ok(c) => c,
        Err(e) => return e,
    };
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
    axum::Json(items).into_response()
}

pub(super) fn mechanisms_fit(key_type: KeyType, mechanisms: &[KeyMechanism]) -> bool {
    use KeyMechanism as M;
    !mechanisms.is_empty()
        && mechanisms.iter().all(|m| match key_type {
            KeyType::RSA => matches!(
                m,
                M::RSA_Decryption_RAW
                    | M::RSA_Decryption_PKCS1
                    | M::RSA_Decryption_OAEP_MD5
                    | M::RSA_Decryption_OAEP_SHA1
                    | M::RSA_Decryption_OAEP_SHA224
                    | M::RSA_Decryption_OAEP_SHA256
                    | M::RSA_Decryption_OAEP_SHA384
                    | M::RSA_Decryption_OAEP_SHA512
                    | M::RSA_Signature_PKCS1
                    | M::RSA_Signature_PSS_MD5
                    | M::RSA_Signature_PSS_SHA1
                    | M::RSA_Signature_PSS_SHA224
                    | M::RSA_Signature_PSS_SHA256
                    | M::RSA_Signature_PSS_SHA384
                    | M::RSA_Signature_PSS_SHA512
            ),
            KeyType::Curve25519 => *m == M::EdDSA_Signature,
            KeyType::EC_P256K1 => matches!(m, M::ECDSA_Signature | M::BIP340_Signature),
            KeyType::Generic => matches!(m, M::AES_Encryption_CBC | M::AES_Decryption_CBC),
            _ => *m == M::ECDSA_Signature,
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

pub(super) async fn generate(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let caller = match authorize(&mut s.lock(), &headers, ADMIN) {
        Ok(c) => c,
        Err(e) => return e,
    };
    let request: GenerateKeyRequest = match json_body(&body) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let id = match request.id.clone() {
        Some(id) if valid_id(&id) => id,
        Some(_) => return error(StatusCode::BAD_REQUEST, BAD_ID),
        None => match random_id() {
            Ok(id) => id,
            Err(e) => return e,
        },
    };
    if !mechanisms_fit(request.key_type, &request.mechanisms) {
        return error(StatusCode::BAD_REQUEST, "Mechanism does not match key type");
    }
    let (label, tags) = match (
        label_ok(request.label.as_ref()),
        tags_of(request.restrictions.as_ref()),
    ) {
        (Ok(l), Ok(t)) => (l, t),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    if s.lock().keys.contains_key(&path(&caller, &id)) {
        return taken(&id);
    }
    // Generation (RSA especially) runs off the lock and off the async workers.
    let (key_type, length) = (request.key_type, request.length);
    let secret =
        match tokio::task::spawn_blocking(move || SimSecret::generate(key_type, length)).await {
            Ok(Ok(secret)) => secret,
            Ok(Err(message)) => return error(StatusCode::BAD_REQUEST, message),
            Err(_) => return error(StatusCode::INTERNAL_SERVER_ERROR, "generation failed"),
        };
    let key = SimKey {
        key_type,
        mechanisms: request.mechanisms,
        secret,
        operations: 0,
        tags: tags.into_iter().collect(),
        label,
        certificate: None,
    };
    match store(&mut s.lock(), &caller, &id, key) {
        Ok(()) => created("keys", &id),
        Err(e) => e,
    }
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
pub(super) async fn import(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    match store_imported(&s, &headers, &id, &body) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e,
    }
}

/// `POST /keys`: imports a key under an id the device picks (201 with the id).
pub(super) async fn import_new(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let id = match random_id() {
        Ok(id) => id,
        Err(e) => return e,
    };
    match store_imported(&s, &headers, &id, &body) {
        Ok(()) => created("keys", &id),
        Err(e) => e,
    }
}

/// The type and private parts of a PEM key (RSA, EC or Ed25519, any PEM form).
fn from_pem(pem: &[u8]) -> Result<(KeyType, KeyPrivateData), String> {
    use hsm_core::{Curve, PrivateKeyParts};
    let der = super::super::openssl_keys::pem_to_pkcs8(pem)?;
    let parts = hsm_core::PrivateKeyDer::new(der)
        .decode()
        .map_err(|e| format!("Invalid private key: {e}"))?;
    let data = |bytes: &zeroize::Zeroizing<Vec<u8>>| KeyPrivateData {
        data: Some(bytes.clone()),
        ..KeyPrivateData::default()
    };
    Ok(match &parts {
        PrivateKeyParts::Rsa {
            public_exponent,
            prime_p,
            prime_q,
            ..
        } => (
            KeyType::RSA,
            KeyPrivateData {
                prime_p: Some(prime_p.clone()),
                prime_q: Some(prime_q.clone()),
                public_exponent: Some(public_exponent.clone()),
                data: None,
            },
        ),
        PrivateKeyParts::Ec { curve, scalar } => {
            let key_type = match curve {
                Curve::P256 => KeyType::EC_P256,
                Curve::P384 => KeyType::EC_P384,
                Curve::P521 => KeyType::EC_P521,
                Curve::Secp256k1 => KeyType::EC_P256K1,
                Curve::BrainpoolP256r1 => KeyType::BrainpoolP256,
                Curve::BrainpoolP384r1 => KeyType::BrainpoolP384,
                Curve::BrainpoolP512r1 => KeyType::BrainpoolP512,
                _ => return Err("Unsupported curve".into()),
            };
            (key_type, data(scalar))
        }
        PrivateKeyParts::Ed25519 { seed } => (KeyType::Curve25519, data(seed)),
        _ => return Err("Unsupported key".into()),
    })
}

/// What an import body says: JSON `PrivateKey`, or a form with `arguments` and `key_file`.
fn import_request(headers: &HeaderMap, body: &Bytes) -> Result<ImportKeyRequest, Response> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type.starts_with("multipart/form-data") {
        return json_body(body);
    }
    let bad = |m: &str| error(StatusCode::BAD_REQUEST, m.to_owned());
    let parts = super::super::form::parse(content_type, body)
        .ok_or_else(|| bad("Invalid multipart/form-data body"))?;
    let part = |name: &str| {
        parts
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| *v)
            .ok_or_else(|| bad(&format!("Missing part {name}")))
    };
    let arguments: PemKeyArguments = json_body(&Bytes::copy_from_slice(part("arguments")?))?;
    let (key_type, private) = from_pem(part("key_file")?).map_err(|m| bad(&m))?;
    Ok(ImportKeyRequest {
        mechanisms: arguments.mechanisms,
        key_type,
        private,
        restrictions: arguments.restrictions,
        label: arguments.label,
    })
}

fn store_imported(s: &Shared, headers: &HeaderMap, id: &str, body: &Bytes) -> Result<(), Response> {
    let caller = authorize(&mut s.lock(), headers, ADMIN)?;
    let request = import_request(headers, body)?;
    if !valid_id(id) {
        return Err(error(StatusCode::BAD_REQUEST, BAD_ID));
    }
    if !mechanisms_fit(request.key_type, &request.mechanisms) {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "Mechanism does not match key type",
        ));
    }
    let label = label_ok(request.label.as_ref())?;
    let tags = tags_of(request.restrictions.as_ref())?;
    let secret = SimSecret::import(request.key_type, &request.private)
        .map_err(|m| error(StatusCode::BAD_REQUEST, m))?;
    let key = SimKey {
        key_type: request.key_type,
        mechanisms: request.mechanisms,
        secret,
        operations: 0,
        tags: tags.into_iter().collect(),
        label,
        certificate: None,
    };
    store(&mut s.lock(), &caller, id, key)
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
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Some(prefix) = id.strip_suffix('*') {
        return list_matching(&s, &headers, &query, prefix);
    }
    let mut device = s.lock();
    let caller = match authorize(&mut device, &headers, KEY_READERS) {
        Ok(c) => c,
        Err(e) => return e,
    };
    match device.keys.get(&path(&caller, &id)) {
        Some(key) => axum::Json(key_data(key)).into_response(),
        None => not_found(),
    }
}

pub(super) async fn delete(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let mut device = s.lock();
    let caller = match authorize(&mut device, &headers, ADMIN) {
        Ok(c) => c,
        Err(e) => return e,
    };
    match device.keys.remove(&path(&caller, &id)) {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => not_found(),
    }
}

pub(super) async fn public_pem(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let mut device = s.lock();
    let caller = match authorize(&mut device, &headers, KEY_READERS) {
        Ok(c) => c,
        Err(e) => return e,
    };
    let Some(key) = device.keys.get(&path(&caller, &id)) else {
        return not_found();
    };
    match crate::backend::public_key_of(&key_data(key)) {
        Ok(Some(pk)) => (
            [(header::CONTENT_TYPE, "application/x-pem-file")],
            pk.to_pem(),
        )
            .into_response(),
        _ => error(StatusCode::BAD_REQUEST, "Key has no public part"),
    }
}

/// `POST /keys/{id}/move`: renames (200 with the new id; 409 when it is taken).
pub(super) async fn move_key(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let mut device = s.lock();
    let caller = match authorize(&mut device, &headers, ADMIN) {
        Ok(c) => c,
        Err(e) => return e,
    };
    let request: MoveKeyRequest = match json_body(&body) {
        Ok(r) => r,
        Err(e) => return e,
    };
    if !valid_id(&request.new_id) {
        return error(StatusCode::BAD_REQUEST, BAD_ID);
    }
    let to = path(&caller, &request.new_id);
    if !device.keys.contains_key(&path(&caller, &id)) {
        return not_found();
    }
    if device.keys.contains_key(&to) {
        return error(
            StatusCode::CONFLICT,
            format!("Key with id {} already exists", request.new_id),
        );
    }
    let Some(key) = device.keys.remove(&path(&caller, &id)) else {
        return not_found();
    };
    let _ = device.keys.insert(to, key);
    axum::Json(KeyItem { id: request.new_id }).into_response()
}

/// `PUT /keys/{id}/label` (204; 304 when unchanged).
pub(super) async fn set_label(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let mut device = s.lock();
    let caller = match authorize(&mut device, &headers, ADMIN) {
        Ok(c) => c,
        Err(e) => return e,
    };
    let request: KeySetLabel = match json_body(&body) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let label = match label_ok(Some(&request.label)) {
        Ok(l) => l,
        Err(e) => return e,
    };
    let Some(key) = device.keys.get_mut(&path(&caller, &id)) else {
        return not_found();
    };
    if key.label == label {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    key.label = label;
    StatusCode::NO_CONTENT.into_response()
}

/// `DELETE /keys/{id}/label`.
pub(super) async fn delete_label(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let mut device = s.lock();
    let caller = match authorize(&mut device, &headers, ADMIN) {
        Ok(c) => c,
        Err(e) => return e,
    };
    match device.keys.get_mut(&path(&caller, &id)) {
        Some(key) => {
            key.label.clear();
            StatusCode::NO_CONTENT.into_response()
        }
        None => not_found(),
    }
}
