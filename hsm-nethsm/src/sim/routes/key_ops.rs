//! Using a key: sign, decrypt, encrypt (with mechanism and tag checks), CSRs, the stored
//! certificate, tag restrictions.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::json;

use super::super::Shared;
use super::super::state::SimKey;
use super::keys::{may_use, not_found, path};
use super::{ADMIN, KEY_READERS, OPERATOR, authorize, error, json_body};
use crate::client::model::{
    DecryptMode, DecryptRequest, DistinguishedName, EncryptRequest, KeyMechanism, SignRequest,
};
use crate::mapping::valid_id;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Finds the caller's key `id`, checks that an operator may use it, and runs `use_key`.
fn with_usable_key(
    s: &Shared,
    headers: &HeaderMap,
    id: &str,
    use_key: impl FnOnce(&mut SimKey) -> Response,
) -> Response {
    let mut device = s.lock();
    let caller = match authorize(&mut device, headers, OPERATOR) {
        Ok(c) => c,
        Err(e) => return e,
    };
    let key_path = path(&caller, id);
    let Some(key) = device.keys.get(&key_path) else {
        return not_found();
    };
    if !may_use(&device, &caller, key) {
        return error(StatusCode::FORBIDDEN, "Access denied (tag restriction)");
    }
    match device.keys.get_mut(&key_path) {
        Some(key) => use_key(key),
        None => not_found(),
    }
}

pub(super) async fn sign(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let request: SignRequest = match json_body(&body) {
        Ok(r) => r,
        Err(e) => {
            // Still 401/403/404/412 first, as the device decides those before the body.
            let checked = with_usable_key(&s, &headers, &id, |_| e);
            return checked;
        }
    };
    with_usable_key(&s, &headers, &id, |key| {
        let allowed = crate::mapping::mode_mechanism(request.mode)
            .is_some_and(|m| key.mechanisms.contains(&m));
        if !allowed {
            return error(
                StatusCode::BAD_REQUEST,
                "Key mechanisms do not allow requested signing.",
            );
        }
        match key.secret.sign(request.mode, &request.message) {
            Ok(signature) => {
                key.operations += 1;
                axum::Json(json!({ "signature": b64(&signature) })).into_response()
            }
            Err(message) => error(StatusCode::BAD_REQUEST, message),
        }
    })
}

fn decrypt_mechanism(mode: DecryptMode) -> KeyMechanism {
    use DecryptMode as D;
    match mode {
        D::RAW => KeyMechanism::RSA_Decryption_RAW,
        D::PKCS1 => KeyMechanism::RSA_Decryption_PKCS1,
        D::OAEP_MD5 => KeyMechanism::RSA_Decryption_OAEP_MD5,
        D::OAEP_SHA1 => KeyMechanism::RSA_Decryption_OAEP_SHA1,
        D::OAEP_SHA224 => KeyMechanism::RSA_Decryption_OAEP_SHA224,
        D::OAEP_SHA256 => KeyMechanism::RSA_Decryption_OAEP_SHA256,
        D::OAEP_SHA384 => KeyMechanism::RSA_Decryption_OAEP_SHA384,
        D::OAEP_SHA512 => KeyMechanism::RSA_Decryption_OAEP_SHA512,
        D::AES_CBC => KeyMechanism::AES_Decryption_CBC,
    }
}

pub(super) async fn decrypt(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let request: DecryptRequest = match json_body(&body) {
        Ok(r) => r,
        Err(e) => return with_usable_key(&s, &headers, &id, |_| e),
    };
    with_usable_key(&s, &headers, &id, |key| {
        if !key.mechanisms.contains(&decrypt_mechanism(request.mode)) {
            return error(
                StatusCode::BAD_REQUEST,
                "Key mechanisms do not allow requested decryption.",
            );
        }
        match key
            .secret
            .decrypt(request.mode, &request.encrypted, request.iv.as_deref())
        {
            Ok(plain) => {
                let plain = zeroize::Zeroizing::new(plain);
                key.operations += 1;
                axum::Json(json!({ "decrypted": b64(&plain) })).into_response()
            }
            Err(message) => error(StatusCode::BAD_REQUEST, message),
        }
    })
}

/// `POST /keys/{id}/encrypt`: AES-CBC with a Generic key; a random IV when none is given.
pub(super) async fn encrypt(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let request: EncryptRequest = match json_body(&body) {
        Ok(r) => r,
        Err(e) => return with_usable_key(&s, &headers, &id, |_| e),
    };
    let iv = match request.iv.clone() {
        Some(iv) => iv,
        None => {
            let mut iv = vec![0u8; 16];
            if getrandom::fill(&mut iv).is_err() {
                return error(StatusCode::INTERNAL_SERVER_ERROR, "no randomness");
            }
            iv
        }
    };
    with_usable_key(&s, &headers, &id, |key| {
        if !key.mechanisms.contains(&KeyMechanism::AES_Encryption_CBC) {
            return error(
                StatusCode::BAD_REQUEST,
                "Key mechanisms do not allow requested encryption.",
            );
        }
        match key.secret.encrypt_aes_cbc(&request.message, &iv) {
            Ok(encrypted) => {
                key.operations += 1;
                axum::Json(json!({ "encrypted": b64(&encrypted), "iv": b64(&iv) })).into_response()
            }
            Err(message) => error(StatusCode::BAD_REQUEST, message),
        }
    })
}

/// `POST /keys/{id}/csr.pem` (Administrator or Operator): a real CSR signed by the key.
pub(super) async fn csr(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let mut device = s.lock();
    let caller = match authorize(&mut device, &headers, KEY_READERS) {
        Ok(c) => c,
        Err(e) => return e,
    };
    let request: DistinguishedName = match json_body(&body) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let Some(key) = device.keys.get(&path(&caller, &id)) else {
        return not_found();
    };
    match super::super::csr::csr_pem(&key.secret, &request) {
        Ok(pem) => ([(header::CONTENT_TYPE, "application/x-pem-file")], pem).into_response(),
        Err(message) => error(StatusCode::BAD_REQUEST, message),
    }
}

/// The largest certificate stored (1 MB, the spec's limit).
const MAX_CERTIFICATE: usize = 1_000_000;

pub(super) async fn get_cert(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let mut device = s.lock();
    let caller = match authorize(&mut device, &headers, KEY_READERS) {
        Ok(c) => c,
        Err(e) => return e,
    };
    match device
        .keys
        .get(&path(&caller, &id))
        .map(|k| k.certificate.clone())
    {
        Some(Some(cert)) => {
            ([(header::CONTENT_TYPE, "application/octet-stream")], cert).into_response()
        }
        Some(None) => error(StatusCode::NOT_FOUND, "Certificate not found"),
        None => not_found(),
    }
}

/// `PUT /keys/{id}/cert`: stores the bytes as given (octet-stream only; 409 when one is
/// stored).
pub(super) async fn put_cert(
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
    let octets = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/octet-stream"));
    if !octets {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content type must be application/octet-stream",
        );
    }
    if body.is_empty() || body.len() > MAX_CERTIFICATE {
        return error(StatusCode::BAD_REQUEST, "Certificate size out of range");
    }
    let Some(key) = device.keys.get_mut(&path(&caller, &id)) else {
        return not_found();
    };
    if key.certificate.is_some() {
        return error(StatusCode::CONFLICT, "Certificate already exists");
    }
    key.certificate = Some(body.to_vec());
    StatusCode::CREATED.into_response()
}

pub(super) async fn delete_cert(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let mut device = s.lock();
    let caller = match authorize(&mut device, &headers, ADMIN) {
        Ok(c) => c,
        Err(e) => return e,
    };
    match device
        .keys
        .get_mut(&path(&caller, &id))
        .map(|k| k.certificate.take())
    {
        Some(Some(_)) => StatusCode::NO_CONTENT.into_response(),
        Some(None) => error(StatusCode::NOT_FOUND, "Certificate not found"),
        None => not_found(),
    }
}

pub(super) async fn add_tag(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Path((id, tag)): Path<(String, String)>,
) -> Response {
    let mut device = s.lock();
    let caller = match authorize(&mut device, &headers, ADMIN) {
        Ok(c) => c,
        Err(e) => return e,
    };
    if !valid_id(&tag) {
        return error(StatusCode::BAD_REQUEST, "Invalid tag");
    }
    let Some(key) = device.keys.get_mut(&path(&caller, &id)) else {
        return not_found();
    };
    if key.tags.insert(tag) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        StatusCode::NOT_MODIFIED.into_response()
    }
}

pub(super) async fn remove_tag(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Path((id, tag)): Path<(String, String)>,
) -> Response {
    let mut device = s.lock();
    let caller = match authorize(&mut device, &headers, ADMIN) {
        Ok(c) => c,
        Err(e) => return e,
    };
    let Some(key) = device.keys.get_mut(&path(&caller, &id)) else {
        return not_found();
    };
    if key.tags.remove(&tag) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        error(StatusCode::NOT_FOUND, "Tag not found")
    }
}
