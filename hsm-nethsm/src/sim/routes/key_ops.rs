//! Using a key: sign, decrypt, encrypt (with mechanism and tag checks), CSRs, the stored
//! certificate, tag restrictions.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::keys::{key, key_mut, may_use};
use super::{
    ADMIN, Answer, Cx, KEY_READERS, OPERATOR, check_tag, content_type, error, json_body,
    no_content, octets, pem, tag_added, tag_removed,
};
use crate::protocol::{
    DecryptMode, DecryptRequest, DistinguishedName, EncryptRequest, KeyMechanism, SignRequest,
};
use crate::sim::Shared;
use crate::sim::crypto::{KeySecret, SimResult};
use crate::sim::state::SimKey;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Finds the caller's key `id`, checks that an operator may use it, and runs `use_key`.
fn with_usable_key(
    s: &Shared,
    headers: &HeaderMap,
    id: &str,
    use_key: impl FnOnce(&mut SimKey) -> Answer,
) -> Answer {
    let (mut device, caller) = s.authorized(headers, OPERATOR)?;
    if !may_use(&device, &caller, key(&device, &caller, id)?) {
        return Err(error(
            StatusCode::FORBIDDEN,
            "Access denied (tag restriction)",
        ));
    }
    use_key(key_mut(&mut device, &caller, id)?)
}

/// The JSON body of a sign, decrypt or encrypt request. A bad body is 400 only after the
/// answers the device decides first (401/403/404/412).
fn operation_request<T: DeserializeOwned>(
    s: &Shared,
    headers: &HeaderMap,
    id: &str,
    body: &[u8],
) -> Result<T, Response> {
    json_body(body).map_err(|bad| match with_usable_key(s, headers, id, |_| Err(bad)) {
        Ok(answer) | Err(answer) => answer,
    })
}

/// Runs `operation` with the caller's usable key `id` if the key has `mechanism` (400
/// otherwise, refusing the `what`), counts it and answers with its JSON. The cryptography runs
/// outside the device lock, as a device's cores work in parallel: the lock is held only to
/// check the caller and the key, and to count a successful operation.
fn operate(
    s: &Shared,
    headers: &HeaderMap,
    id: &str,
    mechanism: Option<KeyMechanism>,
    what: &str,
    operation: impl FnOnce(&KeySecret) -> SimResult<serde_json::Value>,
) -> Answer {
    let (secret, caller) = {
        let (mut device, caller) = s.authorized(headers, OPERATOR)?;
        if !may_use(&device, &caller, key(&device, &caller, id)?) {
            return Err(error(
                StatusCode::FORBIDDEN,
                "Access denied (tag restriction)",
            ));
        }
        let key = key_mut(&mut device, &caller, id)?;
        if !mechanism.is_some_and(|m| key.mechanisms.contains(&m)) {
            return Err(error(
                StatusCode::BAD_REQUEST,
                format!("Key mechanisms do not allow requested {what}."),
            ));
        }
        (Arc::clone(&key.secret), caller)
    };
    let answer = operation(&secret)?;
    if let Ok(key) = key_mut(&mut s.lock(), &caller, id) {
        key.operations += 1;
    }
    Ok(axum::Json(answer).into_response())
}

pub(super) async fn sign(Cx { s, headers }: Cx, Path(id): Path<String>, body: Bytes) -> Answer {
    let request: SignRequest = operation_request(&s, &headers, &id, &body)?;
    let mechanism = crate::protocol::signing::mode_mechanism(request.mode);
    operate(&s, &headers, &id, mechanism, "signing", |secret| {
        let signature = secret.sign(request.mode, &request.message, &s.rng)?;
        Ok(json!({ "signature": b64(&signature) }))
    })
}

fn decrypt_mechanism(mode: DecryptMode) -> KeyMechanism {
    use DecryptMode as D;
    match mode {
        D::Raw => KeyMechanism::RsaDecryptionRaw,
        D::Pkcs1 => KeyMechanism::RsaDecryptionPkcs1,
        D::OaepMd5 => KeyMechanism::RsaDecryptionOaepMd5,
        D::OaepSha1 => KeyMechanism::RsaDecryptionOaepSha1,
        D::OaepSha224 => KeyMechanism::RsaDecryptionOaepSha224,
        D::OaepSha256 => KeyMechanism::RsaDecryptionOaepSha256,
        D::OaepSha384 => KeyMechanism::RsaDecryptionOaepSha384,
        D::OaepSha512 => KeyMechanism::RsaDecryptionOaepSha512,
        D::AesCbc => KeyMechanism::AesDecryptionCbc,
    }
}

pub(super) async fn decrypt(Cx { s, headers }: Cx, Path(id): Path<String>, body: Bytes) -> Answer {
    let request: DecryptRequest = operation_request(&s, &headers, &id, &body)?;
    let mechanism = Some(decrypt_mechanism(request.mode));
    operate(&s, &headers, &id, mechanism, "decryption", |secret| {
        let iv = request.iv.as_deref();
        let plain = secret.decrypt(request.mode, &request.encrypted, iv, &s.rng)?;
        let plain = zeroize::Zeroizing::new(plain);
        Ok(json!({ "decrypted": b64(&plain) }))
    })
}

/// `POST /keys/{id}/encrypt`: AES-CBC with a Generic key; a random IV when none is given.
pub(super) async fn encrypt(Cx { s, headers }: Cx, Path(id): Path<String>, body: Bytes) -> Answer {
    let request: EncryptRequest = operation_request(&s, &headers, &id, &body)?;
    let iv = match request.iv.clone() {
        Some(iv) => iv,
        None => {
            let mut iv = vec![0u8; 16];
            s.rng.fill(&mut iv)?;
            iv
        }
    };
    let mechanism = Some(KeyMechanism::AesEncryptionCbc);
    operate(&s, &headers, &id, mechanism, "encryption", |secret| {
        let encrypted = secret.encrypt_aes_cbc(&request.message, &iv)?;
        Ok(json!({ "encrypted": b64(&encrypted), "iv": b64(&iv) }))
    })
}

/// `POST /keys/{id}/csr.pem` (Administrator or Operator): a real CSR signed by the key.
pub(super) async fn csr(Cx { s, headers }: Cx, Path(id): Path<String>, body: Bytes) -> Answer {
    let (device, caller) = s.authorized(&headers, KEY_READERS)?;
    let request: DistinguishedName = json_body(&body)?;
    let key = key(&device, &caller, &id)?;
    Ok(crate::sim::csr::csr_pem(&key.secret, &request, &s.rng).map(pem)?)
}

/// The largest certificate stored (1 MB, the spec's limit).
const MAX_CERTIFICATE: usize = 1_000_000;

fn no_certificate() -> Response {
    error(StatusCode::NOT_FOUND, "Certificate not found")
}

pub(super) async fn get_cert(Cx { s, headers }: Cx, Path(id): Path<String>) -> Answer {
    let (device, caller) = s.authorized(&headers, KEY_READERS)?;
    let cert = key(&device, &caller, &id)?.certificate.clone();
    cert.map(octets).ok_or_else(no_certificate)
}

/// `PUT /keys/{id}/cert`: stores the bytes as given (octet-stream only; 409 when one is
/// stored).
pub(super) async fn put_cert(Cx { s, headers }: Cx, Path(id): Path<String>, body: Bytes) -> Answer {
    let (mut device, caller) = s.authorized(&headers, ADMIN)?;
    if !content_type(&headers).starts_with("application/octet-stream") {
        return Err(error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content type must be application/octet-stream",
        ));
    }
    if body.is_empty() || body.len() > MAX_CERTIFICATE {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "Certificate size out of range",
        ));
    }
    let key = key_mut(&mut device, &caller, &id)?;
    if key.certificate.is_some() {
        return Err(error(StatusCode::CONFLICT, "Certificate already exists"));
    }
    key.certificate = Some(body.to_vec());
    Ok(StatusCode::CREATED.into_response())
}

pub(super) async fn delete_cert(Cx { s, headers }: Cx, Path(id): Path<String>) -> Answer {
    let (mut device, caller) = s.authorized(&headers, ADMIN)?;
    let key = key_mut(&mut device, &caller, &id)?;
    key.certificate.take().ok_or_else(no_certificate)?;
    Ok(no_content())
}

pub(super) async fn add_tag(
    Cx { s, headers }: Cx,
    Path((id, tag)): Path<(String, String)>,
) -> Answer {
    let (mut device, caller) = s.authorized(&headers, ADMIN)?;
    check_tag(&tag)?;
    Ok(tag_added(
        key_mut(&mut device, &caller, &id)?.tags.insert(tag),
    ))
}

pub(super) async fn remove_tag(
    Cx { s, headers }: Cx,
    Path((id, tag)): Path<(String, String)>,
) -> Answer {
    let (mut device, caller) = s.authorized(&headers, ADMIN)?;
    Ok(tag_removed(
        key_mut(&mut device, &caller, &id)?.tags.remove(&tag),
    ))
}
