//! The REST endpoints the simulator serves, with the device's status codes and error bodies.
// Handlers return their error answers directly; boxing them would only add noise.
#![allow(clippy::result_large_err)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use base64::Engine as _;
use secrecy::SecretString;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::Shared;
use super::crypto::SimSecret;
use super::state::{DeviceState, PassphraseDigest, SimKey, SimUser};
use crate::client::model::{
    GenerateKeyRequest, KeyItem, KeyMechanism, KeyType, PublicKeyData, SignRequest, SystemState,
    UserRole,
};
use crate::mapping::valid_id;

/// A `{"message": ...}` error answer.
fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, axum::Json(json!({ "message": message.into() }))).into_response()
}

fn json_body<T: DeserializeOwned>(body: &Bytes) -> Result<T, Response> {
    serde_json::from_slice(body).map_err(|e| {
        error(
            StatusCode::BAD_REQUEST,
            format!("Invalid data for JSON schema: {e}"),
        )
    })
}

pub(super) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/api/v1/health/state", get(health_state))
        .route("/api/v1/health/alive", get(health_alive))
        .route("/api/v1/health/ready", get(health_ready))
        .route("/api/v1/info", get(info))
        .route("/api/v1/provision", post(provision))
        .route("/api/v1/keys", get(list_keys).post(import_new_key))
        .route("/api/v1/keys/generate", post(generate_key))
        .route(
            "/api/v1/keys/{id}",
            get(get_key).delete(delete_key).put(import_key),
        )
        .route("/api/v1/keys/{id}/public.pem", get(public_pem))
        .route("/api/v1/keys/{id}/sign", post(sign))
        .route("/api/v1/users", get(list_users).post(create_user))
        .route("/api/v1/random", post(random))
        .route("/api/v1/keys/{id}/csr.pem", post(key_csr))
        .route("/api/v1/metrics", get(metrics))
        .route("/api/v1/system/info", get(system_info))
        .route("/api/v1/keys/{id}/decrypt", post(decrypt))
        .route("/api/v1/lock", post(lock))
        .route("/api/v1/unlock", post(unlock))
        .route(
            "/api/v1/keys/{id}/restrictions/tags/{tag}",
            put(add_key_tag).delete(remove_key_tag),
        )
        .route("/api/v1/users/{id}/tags", get(user_tags))
        .route("/api/v1/users/{id}/passphrase", post(set_user_passphrase))
        .route(
            "/api/v1/users/{id}/tags/{tag}",
            put(add_user_tag).delete(remove_user_tag),
        )
        .route(
            "/api/v1/users/{id}",
            put(add_user).get(get_user).delete(delete_user),
        )
        .fallback(|| async { error(StatusCode::NOT_FOUND, "Resource not found") })
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            latency,
        ))
        .with_state(shared)
}

async fn latency(
    State(shared): State<Arc<Shared>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let _ = shared
        .requests
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    while shared.stalled.load(std::sync::atomic::Ordering::Relaxed) {
        // A hung device: the connection stays open and no answer comes.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if !shared.latency.is_zero() {
        tokio::time::sleep(shared.latency).await;
    }
    next.run(request).await
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, DeviceState> {
        self.device
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Checks state, credentials and role in the device's order: 412, then 401/429, then 403.
fn authorize(
    device: &mut DeviceState,
    headers: &HeaderMap,
    roles: &[UserRole],
) -> Result<String, Response> {
    if device.state != SystemState::Operational {
        return Err(error(
            StatusCode::PRECONDITION_FAILED,
            "Service not available",
        ));
    }
    let unauthorized = || {
        (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Basic realm=\"NetHSM\"")],
            axum::Json(json!({ "message": "Unauthorized" })),
        )
            .into_response()
    };
    let (user, pass) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| {
            s.split_once(':')
                .map(|(u, p)| (u.to_owned(), zeroize::Zeroizing::new(p.to_owned())))
        })
        .ok_or_else(unauthorized)?;
    let ok = device.users.get(&user).is_some_and(|u| u.accepts(&pass));
    if !ok {
        let now = Instant::now();
        let throttled = device
            .failed_logins
            .get(&user)
            .is_some_and(|t| now.duration_since(*t) < Duration::from_secs(1));
        let _ = device.failed_logins.insert(user, now);
        return Err(if throttled {
            error(StatusCode::TOO_MANY_REQUESTS, "Too many requests")
        } else {
            unauthorized()
        });
    }
    let role = device.users.get(&user).map(|u| u.role);
    if role.is_some_and(|r| roles.contains(&r)) {
        Ok(user)
    } else {
        Err(error(StatusCode::FORBIDDEN, "Access denied"))
    }
}

const ADMIN: &[UserRole] = &[UserRole::Administrator];
const OPERATOR: &[UserRole] = &[UserRole::Operator];
const KEY_READERS: &[UserRole] = &[UserRole::Administrator, UserRole::Operator];

async fn health_state(State(s): State<Arc<Shared>>) -> Response {
    axum::Json(json!({ "state": s.lock().state })).into_response()
}

async fn health_alive(State(s): State<Arc<Shared>>) -> Response {
    match s.lock().state {
        SystemState::Locked | SystemState::Unprovisioned => StatusCode::OK.into_response(),
        _ => error(StatusCode::PRECONDITION_FAILED, "Service not available"),
    }
}

async fn health_ready(State(s): State<Arc<Shared>>) -> Response {
    match s.lock().state {
        SystemState::Operational => StatusCode::OK.into_response(),
        _ => error(StatusCode::PRECONDITION_FAILED, "Service not available"),
    }
}

async fn info() -> Response {
    axum::Json(json!({ "vendor": "Nitrokey GmbH", "product": "NetHSM" })).into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Provision {
    unlock_passphrase: SecretString,
    admin_passphrase: SecretString,
    #[allow(dead_code)]
    system_time: String,
}

fn passphrase_ok(p: &SecretString) -> bool {
    let n = secrecy::ExposeSecret::expose_secret(p).chars().count();
    (10..=200).contains(&n)
}

async fn provision(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let mut device = s.lock();
    if device.state != SystemState::Unprovisioned {
        return error(StatusCode::PRECONDITION_FAILED, "Service not available");
    }
    let request: Provision = match json_body(&body) {
        Ok(r) => r,
        Err(e) => return e,
    };
    if !passphrase_ok(&request.admin_passphrase) || !passphrase_ok(&request.unlock_passphrase) {
        return error(
            StatusCode::BAD_REQUEST,
            "Passphrases must be 10 to 200 characters",
        );
    }
    device.unlock = Some(PassphraseDigest::new(&request.unlock_passphrase));
    let admin = SimUser::new(UserRole::Administrator, "admin", &request.admin_passphrase);
    let _ = device.users.insert("admin".into(), admin);
    device.state = SystemState::Operational;
    StatusCode::NO_CONTENT.into_response()
}

async fn list_keys(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let mut device = s.lock();
    if let Err(e) = authorize(&mut device, &headers, KEY_READERS) {
        return e;
    }
    let items: Vec<KeyItem> = device
        .keys
        .keys()
        .map(|id| KeyItem { id: id.clone() })
        .collect();
    axum::Json(items).into_response()
}

async fn generate_key(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    {
        let mut device = s.lock();
        if let Err(e) = authorize(&mut device, &headers, ADMIN) {
            return e;
        }
    }
    let request: GenerateKeyRequest = match json_body(&body) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let id = match request.id.clone() {
        Some(id) if valid_id(&id) => id,
        Some(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "ID may only contain alphanumeric characters, underscores, dashes, and dots.",
            );
        }
        None => {
            let mut b = [0u8; 10];
            if getrandom::fill(&mut b).is_err() {
                return error(StatusCode::INTERNAL_SERVER_ERROR, "no randomness");
            }
            hex::encode(b)
        }
    };
    if request.mechanisms.is_empty() || !mechanisms_fit(request.key_type, &request) {
        return error(StatusCode::BAD_REQUEST, "Mechanism does not match key type");
    }
    if s.lock().keys.contains_key(&id) {
        // The device's own answer here, not the spec's 409 (see nethsm.md, section 11).
        return error(
            StatusCode::BAD_REQUEST,
            format!("Key with id {id} already exists"),
        );
    }
    // Generation (RSA especially) runs off the lock and off the async workers.
    let (key_type, length) = (request.key_type, request.length);
    let secret =
        match tokio::task::spawn_blocking(move || SimSecret::generate(key_type, length)).await {
            Ok(Ok(secret)) => secret,
            Ok(Err(message)) => return error(StatusCode::BAD_REQUEST, message),
            Err(_) => return error(StatusCode::INTERNAL_SERVER_ERROR, "generation failed"),
        };
    let mut device = s.lock();
    if device.keys.contains_key(&id) {
        // The device's own answer here, not the spec's 409 (see nethsm.md, section 11).
        return error(
            StatusCode::BAD_REQUEST,
            format!("Key with id {id} already exists"),
        );
    }
    let key = SimKey {
        key_type,
        mechanisms: request.mechanisms,
        secret,
        operations: 0,
        tags: request
            .restrictions
            .and_then(|r| r.tags)
            .unwrap_or_default()
            .into_iter()
            .collect(),
    };
    let _ = device.keys.insert(id.clone(), key);
    (
        StatusCode::CREATED,
        [(header::LOCATION, format!("/api/v1/keys/{id}"))],
        axum::Json(KeyItem { id }),
    )
        .into_response()
}

fn mechanisms_fit(key_type: KeyType, request: &GenerateKeyRequest) -> bool {
    use crate::client::model::KeyMechanism as M;
    request.mechanisms.iter().all(|m| match key_type {
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

fn key_data(key: &SimKey) -> PublicKeyData {
    PublicKeyData {
        mechanisms: key.mechanisms.clone(),
        key_type: key.key_type,
        restrictions: crate::client::model::KeyRestrictions {
            tags: Some(key.tags.iter().cloned().collect()),
        },
        public: key.secret.public(),
        operations: key.operations,
    }
}

async fn get_key(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let mut device = s.lock();
    if let Err(e) = authorize(&mut device, &headers, KEY_READERS) {
        return e;
    }
    match device.keys.get(&id) {
        Some(key) => axum::Json(key_data(key)).into_response(),
        None => error(StatusCode::NOT_FOUND, "Key not found"),
    }
}

async fn delete_key(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let mut device = s.lock();
    if let Err(e) = authorize(&mut device, &headers, ADMIN) {
        return e;
    }
    match device.keys.remove(&id) {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => error(StatusCode::NOT_FOUND, "Key not found"),
    }
}

async fn public_pem(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let mut device = s.lock();
    if let Err(e) = authorize(&mut device, &headers, KEY_READERS) {
        return e;
    }
    let Some(key) = device.keys.get(&id) else {
        return error(StatusCode::NOT_FOUND, "Key not found");
    };
    let data = key_data(key);
    match crate::backend::public_key_of(&data) {
        Ok(Some(pk)) => (
            [(header::CONTENT_TYPE, "application/x-pem-file")],
            pk.to_pem(),
        )
            .into_response(),
        _ => error(StatusCode::BAD_REQUEST, "Key has no public part"),
    }
}

async fn sign(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    {
        let mut device = s.lock();
        if let Err(e) = authorize(&mut device, &headers, OPERATOR) {
            return e;
        }
        if !device.keys.contains_key(&id) {
            return error(StatusCode::NOT_FOUND, "Key not found");
        }
    }
    let request: SignRequest = match json_body(&body) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let mut device = s.lock();
    if let Err(e) = tag_check(&device, &headers, &id) {
        return e;
    }
    let Some(key) = device.keys.get_mut(&id) else {
        return error(StatusCode::NOT_FOUND, "Key not found");
    };
    let allowed =
        crate::mapping::mode_mechanism(request.mode).is_some_and(|m| key.mechanisms.contains(&m));
    if !allowed {
        return error(
            StatusCode::BAD_REQUEST,
            "Key mechanisms do not allow requested signing.",
        );
    }
    match key.secret.sign(request.mode, &request.message) {
        Ok(signature) => {
            key.operations += 1;
            let encoded = base64::engine::general_purpose::STANDARD.encode(signature);
            axum::Json(json!({ "signature": encoded })).into_response()
        }
        Err(message) => error(StatusCode::BAD_REQUEST, message),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewUser {
    real_name: String,
    role: UserRole,
    passphrase: SecretString,
}

async fn list_users(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let mut device = s.lock();
    if let Err(e) = authorize(&mut device, &headers, ADMIN) {
        return e;
    }
    let mut ids: Vec<&String> = device.users.keys().collect();
    ids.sort();
    let items: Vec<_> = ids.into_iter().map(|id| json!({ "user": id })).collect();
    axum::Json(items).into_response()
}

/// `POST /users`: a user with an id the device picks; the answer carries it.
async fn create_user(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let mut b = [0u8; 10];
    if getrandom::fill(&mut b).is_err() {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "no randomness");
    }
    let id = hex::encode(b);
    let response = store_user(&s, &headers, &id, &body);
    if response.status() != StatusCode::CREATED {
        return response;
    }
    (
        StatusCode::CREATED,
        [(header::LOCATION, format!("/api/v1/users/{id}"))],
        axum::Json(json!({ "id": id })),
    )
        .into_response()
}

async fn delete_user(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let mut device = s.lock();
    let caller = match authorize(&mut device, &headers, ADMIN) {
        Ok(c) => c,
        Err(e) => return e,
    };
    if caller == id {
        return error(StatusCode::BAD_REQUEST, "Cannot delete the current user");
    }
    match device.users.remove(&id) {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => error(StatusCode::NOT_FOUND, "User not found"),
    }
}

async fn add_user(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    store_user(&s, &headers, &id, &body)
}

fn store_user(s: &Shared, headers: &HeaderMap, id: &str, body: &Bytes) -> Response {
    let id = id.to_owned();
    let mut device = s.lock();
    if let Err(e) = authorize(&mut device, headers, ADMIN) {
        return e;
    }
    let request: NewUser = match json_body(body) {
        Ok(r) => r,
        Err(e) => return e,
    };
    if !valid_id(&id) {
        return error(StatusCode::BAD_REQUEST, "Invalid user ID");
    }
    if !passphrase_ok(&request.passphrase) {
        return error(
            StatusCode::BAD_REQUEST,
            "Passphrase must be 10 to 200 characters",
        );
    }
    if device.users.contains_key(&id) {
        return error(StatusCode::CONFLICT, "User already exists");
    }
    let user = SimUser::new(request.role, &request.real_name, &request.passphrase);
    let _ = device.users.insert(id.clone(), user);
    (
        StatusCode::CREATED,
        [(header::LOCATION, format!("/api/v1/users/{id}"))],
    )
        .into_response()
}

async fn get_user(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let mut device = s.lock();
    let caller = match authorize(
        &mut device,
        &headers,
        &[UserRole::Administrator, UserRole::Operator],
    ) {
        Ok(c) => c,
        Err(e) => return e,
    };
    let caller_is_admin = device
        .users
        .get(&caller)
        .is_some_and(|u| u.role == UserRole::Administrator);
    if !caller_is_admin && caller != id {
        return error(StatusCode::FORBIDDEN, "Access denied");
    }
    match device.users.get(&id) {
        Some(u) => axum::Json(json!({ "realName": u.real_name, "role": u.role })).into_response(),
        None => error(StatusCode::NOT_FOUND, "User not found"),
    }
}

/// The Basic-auth user of an already authorized request.
fn caller(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(value.strip_prefix("Basic ")?)
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    text.split_once(':').map(|(u, _)| u.to_owned())
}

/// A key with tags may be used only by operators carrying one of them (403 otherwise).
fn tag_check(device: &DeviceState, headers: &HeaderMap, id: &str) -> Result<(), Response> {
    let Some(key) = device.keys.get(id) else {
        return Ok(());
    };
    if key.tags.is_empty() {
        return Ok(());
    }
    let user_tags = caller(headers)
        .and_then(|u| device.users.get(&u))
        .map(|u| &u.tags);
    if user_tags.is_some_and(|t| !t.is_disjoint(&key.tags)) {
        Ok(())
    } else {
        Err(error(
            StatusCode::FORBIDDEN,
            "Access denied (tag restriction)",
        ))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RandomRequest {
    length: u32,
}

async fn random(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    {
        let mut device = s.lock();
        if let Err(e) = authorize(&mut device, &headers, OPERATOR) {
            return e;
        }
    }
    let request: RandomRequest = match json_body(&body) {
        Ok(r) => r,
        Err(e) => return e,
    };
    if !(1..=1024).contains(&request.length) {
        return error(StatusCode::BAD_REQUEST, "Length must be between 1 and 1024");
    }
    let mut bytes = vec![0u8; request.length as usize];
    if getrandom::fill(&mut bytes).is_err() {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "no randomness");
    }
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    axum::Json(json!({ "random": encoded })).into_response()
}

async fn lock(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let mut device = s.lock();
    if let Err(e) = authorize(&mut device, &headers, ADMIN) {
        return e;
    }
    device.state = SystemState::Locked;
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UnlockRequest {
    passphrase: SecretString,
}

async fn unlock(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let mut device = s.lock();
    if device.state != SystemState::Locked {
        return error(StatusCode::PRECONDITION_FAILED, "Service not available");
    }
    let request: UnlockRequest = match json_body(&body) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let ok = device
        .unlock
        .as_ref()
        .is_some_and(|d| d.accepts(secrecy::ExposeSecret::expose_secret(&request.passphrase)));
    if !ok {
        return error(StatusCode::FORBIDDEN, "Access denied");
    }
    device.state = SystemState::Operational;
    StatusCode::NO_CONTENT.into_response()
}

async fn add_key_tag(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Path((id, tag)): Path<(String, String)>,
) -> Response {
    let mut device = s.lock();
    if let Err(e) = authorize(&mut device, &headers, ADMIN) {
        return e;
    }
    if !valid_id(&tag) {
        return error(StatusCode::BAD_REQUEST, "Invalid tag");
    }
    let Some(key) = device.keys.get_mut(&id) else {
        return error(StatusCode::NOT_FOUND, "Key not found");
    };
    if key.tags.insert(tag) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        StatusCode::NOT_MODIFIED.into_response()
    }
}

async fn remove_key_tag(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Path((id, tag)): Path<(String, String)>,
) -> Response {
    let mut device = s.lock();
    if let Err(e) = authorize(&mut device, &headers, ADMIN) {
        return e;
    }
    let Some(key) = device.keys.get_mut(&id) else {
        return error(StatusCode::NOT_FOUND, "Key not found");
    };
    if key.tags.remove(&tag) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        error(StatusCode::NOT_FOUND, "Tag not found")
    }
}

async fn user_tags(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let mut device = s.lock();
    if let Err(e) = authorize(&mut device, &headers, KEY_READERS) {
        return e;
    }
    match device.users.get(&id) {
        Some(u) if u.role == UserRole::Operator => {
            axum::Json(u.tags.iter().collect::<Vec<_>>()).into_response()
        }
        Some(_) => error(StatusCode::BAD_REQUEST, "Only operators have tags"),
        None => error(StatusCode::NOT_FOUND, "User not found"),
    }
}

async fn add_user_tag(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Path((id, tag)): Path<(String, String)>,
) -> Response {
    let mut device = s.lock();
    if let Err(e) = authorize(&mut device, &headers, ADMIN) {
        return e;
    }
    if !valid_id(&tag) {
        return error(StatusCode::BAD_REQUEST, "Invalid tag");
    }
    let Some(user) = device.users.get_mut(&id) else {
        return error(StatusCode::NOT_FOUND, "User not found");
    };
    if user.role != UserRole::Operator {
        error(StatusCode::BAD_REQUEST, "Only operators have tags")
    } else if user.tags.insert(tag) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        StatusCode::NOT_MODIFIED.into_response()
    }
}

async fn remove_user_tag(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Path((id, tag)): Path<(String, String)>,
) -> Response {
    let mut device = s.lock();
    if let Err(e) = authorize(&mut device, &headers, ADMIN) {
        return e;
    }
    let Some(user) = device.users.get_mut(&id) else {
        return error(StatusCode::NOT_FOUND, "User not found");
    };
    if user.tags.remove(&tag) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        error(StatusCode::NOT_FOUND, "Tag not found")
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PassphraseBody {
    passphrase: SecretString,
}

async fn set_user_passphrase(
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
    let is_admin = device
        .users
        .get(&caller)
        .is_some_and(|u| u.role == UserRole::Administrator);
    if !is_admin && caller != id {
        return error(StatusCode::FORBIDDEN, "Access denied");
    }
    let request: PassphraseBody = match json_body(&body) {
        Ok(r) => r,
        Err(e) => return e,
    };
    if !passphrase_ok(&request.passphrase) {
        return error(
            StatusCode::BAD_REQUEST,
            "Passphrase must be 10 to 200 characters",
        );
    }
    match device.users.get_mut(&id) {
        Some(user) => {
            user.set_passphrase(&request.passphrase);
            StatusCode::NO_CONTENT.into_response()
        }
        None => error(StatusCode::NOT_FOUND, "User not found"),
    }
}

/// `PUT /keys/{id}`: imports a key under `id` (204).
async fn import_key(
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
async fn import_new_key(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let mut b = [0u8; 10];
    if getrandom::fill(&mut b).is_err() {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "no randomness");
    }
    let id = hex::encode(b);
    match store_imported(&s, &headers, &id, &body) {
        Ok(()) => (
            StatusCode::CREATED,
            [(header::LOCATION, format!("/api/v1/keys/{id}"))],
            axum::Json(KeyItem { id }),
        )
            .into_response(),
        Err(e) => e,
    }
}

fn store_imported(s: &Shared, headers: &HeaderMap, id: &str, body: &Bytes) -> Result<(), Response> {
    let mut device = s.lock();
    authorize(&mut device, headers, ADMIN)?;
    let request: crate::client::model::ImportKeyRequest = json_body(body)?;
    if !valid_id(id) {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "ID may only contain alphanumeric characters, underscores, dashes, and dots.",
        ));
    }
    let as_generate = GenerateKeyRequest {
        mechanisms: request.mechanisms.clone(),
        key_type: request.key_type,
        length: None,
        id: None,
        restrictions: None,
        label: None,
    };
    if request.mechanisms.is_empty() || !mechanisms_fit(request.key_type, &as_generate) {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "Mechanism does not match key type",
        ));
    }
    if device.keys.contains_key(id) {
        // The device's own answer here, not the spec's 409 (see nethsm.md, section 11).
        return Err(error(
            StatusCode::BAD_REQUEST,
            format!("Key with id {id} already exists"),
        ));
    }
    let secret = SimSecret::import(request.key_type, &request.private)
        .map_err(|m| error(StatusCode::BAD_REQUEST, m))?;
    let key = SimKey {
        key_type: request.key_type,
        mechanisms: request.mechanisms.clone(),
        secret,
        operations: 0,
        tags: request
            .restrictions
            .as_ref()
            .and_then(|r| r.tags.clone())
            .unwrap_or_default()
            .into_iter()
            .collect(),
    };
    let _ = device.keys.insert(id.to_owned(), key);
    Ok(())
}

fn decrypt_mechanism(mode: crate::client::model::DecryptMode) -> KeyMechanism {
    use crate::client::model::DecryptMode as D;
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

async fn decrypt(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let mut device = s.lock();
    if let Err(e) = authorize(&mut device, &headers, OPERATOR) {
        return e;
    }
    if !device.keys.contains_key(&id) {
        return error(StatusCode::NOT_FOUND, "Key not found");
    }
    if let Err(e) = tag_check(&device, &headers, &id) {
        return e;
    }
    let request: crate::client::model::DecryptRequest = match json_body(&body) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let Some(key) = device.keys.get_mut(&id) else {
        return error(StatusCode::NOT_FOUND, "Key not found");
    };
    if !key.mechanisms.contains(&decrypt_mechanism(request.mode)) {
        return error(
            StatusCode::BAD_REQUEST,
            "Key mechanisms do not allow requested decryption.",
        );
    }
    match key.secret.decrypt(request.mode, &request.encrypted) {
        Ok(plain) => {
            let plain = zeroize::Zeroizing::new(plain);
            key.operations += 1;
            let encoded = base64::engine::general_purpose::STANDARD.encode(plain.as_slice());
            axum::Json(json!({ "decrypted": encoded })).into_response()
        }
        Err(message) => error(StatusCode::BAD_REQUEST, message),
    }
}

/// `GET /metrics` (Metrics role). The device reports its counters as strings (nethsm.md,
/// section 11).
async fn metrics(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let mut device = s.lock();
    if let Err(e) = authorize(&mut device, &headers, &[UserRole::Metrics]) {
        return e;
    }
    let operations: u64 = device.keys.values().map(|k| k.operations).sum();
    axum::Json(json!({
        "keyOperations": operations.to_string(),
        "keys": device.keys.len().to_string(),
        "users": device.users.len().to_string(),
        "requests": s.requests.load(std::sync::atomic::Ordering::Relaxed).to_string(),
    }))
    .into_response()
}

/// `GET /system/info` (Administrator): versions and an obviously simulated device id.
async fn system_info(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let mut device = s.lock();
    if let Err(e) = authorize(&mut device, &headers, ADMIN) {
        return e;
    }
    axum::Json(json!({
        "softwareVersion": env!("CARGO_PKG_VERSION"),
        "softwareBuild": "hsm-nethsm-sim",
        "firmwareVersion": "simulated",
        "hardwareVersion": "simulated",
        "deviceId": "SIMULATOR",
        "akPub": {},
        "pcr": {},
    }))
    .into_response()
}

/// `POST /keys/{id}/csr.pem` (Administrator or Operator): a real CSR signed by the key.
async fn key_csr(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let mut device = s.lock();
    if let Err(e) = authorize(&mut device, &headers, KEY_READERS) {
        return e;
    }
    let request: crate::client::model::DistinguishedName = match json_body(&body) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let Some(key) = device.keys.get(&id) else {
        return error(StatusCode::NOT_FOUND, "Key not found");
    };
    match super::csr::csr_pem(&key.secret, &request) {
        Ok(pem) => ([(header::CONTENT_TYPE, "application/x-pem-file")], pem).into_response(),
        Err(message) => error(StatusCode::BAD_REQUEST, message),
    }
}
