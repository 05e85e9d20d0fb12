//! The REST endpoints the simulator serves, with the device's status codes and error bodies:
//! the router, the latency and stall layer, and the checks every handler shares (state,
//! credentials, the failed-login throttle, roles, namespaces).
// Handlers return their error answers directly; boxing them would only add noise.
#![allow(clippy::result_large_err)]

mod config;
mod device;
mod key_ops;
mod keys;
mod system;
mod users;

pub(super) use self::system::boot;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use base64::Engine as _;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::Shared;
use super::crypto::SimError;
use super::rng::SimRng;
use super::state::{DeviceState, namespace_of};
use crate::protocol::{SystemState, UserRole};

/// What a handler answers: `Err` is an error answer, so a handler's checks read as `?`
/// (axum sends either side as it is).
pub(super) type Answer = Result<Response, Response>;

/// What a handler that checks credentials starts from: the simulator's shared state and the
/// request's headers (`Cx { s, headers }: Cx` in its parameters).
pub(super) struct Cx {
    pub(super) s: Arc<Shared>,
    pub(super) headers: HeaderMap,
}

impl axum::extract::FromRequestParts<Arc<Shared>> for Cx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        shared: &Arc<Shared>,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self {
            s: Arc::clone(shared),
            headers: parts.headers.clone(),
        })
    }
}

/// A `{"message": ...}` error answer.
pub(super) fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, axum::Json(json!({ "message": message.into() }))).into_response()
}

/// What the simulator could not make: 400 when the device refuses the request, 500 when the
/// random-number generator failed; both with the message.
impl From<SimError> for Response {
    fn from(e: SimError) -> Self {
        match e {
            SimError::Refused(m) => error(StatusCode::BAD_REQUEST, m),
            SimError::RandomFailed(m) => error(StatusCode::INTERNAL_SERVER_ERROR, m),
        }
    }
}

/// 412, the device's answer in the wrong state.
pub(super) fn unavailable() -> Response {
    error(StatusCode::PRECONDITION_FAILED, "Service not available")
}

/// A strict JSON body: unknown fields are 400, like the device.
pub(super) fn json_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, Response> {
    serde_json::from_slice(body).map_err(|e| {
        error(
            StatusCode::BAD_REQUEST,
            format!("Invalid data for JSON schema: {e}"),
        )
    })
}

/// 204, the answer of most changes.
pub(super) fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// A PEM document.
pub(super) fn pem(text: String) -> Response {
    ([(header::CONTENT_TYPE, "application/x-pem-file")], text).into_response()
}

/// Raw bytes (`application/octet-stream`).
pub(super) fn octets(bytes: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response()
}

/// A request's `Content-Type`, `""` when it has none.
pub(super) fn content_type(headers: &HeaderMap) -> &str {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// The part `name` of a `multipart/form-data` body parsed by [`super::form::parse`].
pub(super) fn form_part<'a>(parts: &[(String, &'a [u8])], name: &str) -> Option<&'a [u8]> {
    parts.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
}

/// `Ok` when `holds`, else the answer `status` with `message`.
pub(super) fn ensure(holds: bool, status: StatusCode, message: &str) -> Result<(), Response> {
    if holds {
        Ok(())
    } else {
        Err(error(status, message))
    }
}

/// A tag must be a valid id (400 otherwise).
pub(super) fn check_tag(tag: &str) -> Result<(), Response> {
    ensure(
        crate::protocol::ids::valid_id(tag),
        StatusCode::BAD_REQUEST,
        "Invalid tag",
    )
}

/// The answer to adding a tag: 204, or 304 when it was there.
pub(super) fn tag_added(inserted: bool) -> Response {
    if inserted {
        no_content()
    } else {
        StatusCode::NOT_MODIFIED.into_response()
    }
}

/// The answer to removing a tag: 204, or 404 when it was not there.
pub(super) fn tag_removed(removed: bool) -> Response {
    if removed {
        no_content()
    } else {
        error(StatusCode::NOT_FOUND, "Tag not found")
    }
}

/// 201 with `Location` and `{"id": ...}`.
pub(super) fn created(path: &str, id: &str) -> Response {
    (
        StatusCode::CREATED,
        [(header::LOCATION, format!("/api/v1/{path}/{id}"))],
        axum::Json(json!({ "id": id })),
    )
        .into_response()
}

/// 20 lowercase hex characters from `rng`, like the device's generated ids.
pub(super) fn random_id(rng: &SimRng) -> Result<String, Response> {
    let mut b = [0u8; 10];
    rng.fill(&mut b)?;
    Ok(hex::encode(b))
}

pub(super) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/api/v1/health/state", get(device::health_state))
        .route("/api/v1/health/alive", get(device::health_alive))
        .route("/api/v1/health/ready", get(device::health_ready))
        .route("/api/v1/health/diagnose", get(device::health_diagnose))
        .route("/api/v1/info", get(device::info))
        .route("/api/v1/provision", post(device::provision))
        .route("/api/v1/lock", post(device::lock))
        .route("/api/v1/unlock", post(device::unlock))
        .route("/api/v1/random", post(device::random))
        .route("/api/v1/metrics", get(device::metrics))
        .route("/api/v1/keys", get(keys::list).post(keys::import_new))
        .route("/api/v1/keys/generate", post(keys::generate))
        .route(
            "/api/v1/keys/{id}",
            get(keys::get_or_list_prefix)
                .delete(keys::delete)
                .put(keys::import),
        )
        .route("/api/v1/keys/{id}/public.pem", get(keys::public_pem))
        .route("/api/v1/keys/{id}/move", post(keys::move_key))
        .route(
            "/api/v1/keys/{id}/label",
            put(keys::set_label).delete(keys::delete_label),
        )
        .route("/api/v1/keys/{id}/sign", post(key_ops::sign))
        .route("/api/v1/keys/{id}/decrypt", post(key_ops::decrypt))
        .route("/api/v1/keys/{id}/encrypt", post(key_ops::encrypt))
        .route("/api/v1/keys/{id}/csr.pem", post(key_ops::csr))
        .route(
            "/api/v1/keys/{id}/cert",
            get(key_ops::get_cert)
                .put(key_ops::put_cert)
                .delete(key_ops::delete_cert),
        )
        .route(
            "/api/v1/keys/{id}/restrictions/tags/{tag}",
            put(key_ops::add_tag).delete(key_ops::remove_tag),
        )
        .route("/api/v1/users", get(users::list).post(users::create))
        .route(
            "/api/v1/users/{id}",
            put(users::add)
                .get(users::get)
                .delete(users::delete)
                .post(users::create_in_namespace),
        )
        .route("/api/v1/users/{id}/passphrase", post(users::set_passphrase))
        .route("/api/v1/users/{id}/tags", get(users::tags))
        .route(
            "/api/v1/users/{id}/tags/{tag}",
            put(users::add_tag).delete(users::remove_tag),
        )
        .route("/api/v1/namespaces", get(users::list_namespaces))
        .route(
            "/api/v1/namespaces/{id}",
            put(users::add_namespace).delete(users::delete_namespace),
        )
        .route(
            "/api/v1/config/unlock-passphrase",
            put(config::set_unlock_passphrase),
        )
        .route(
            "/api/v1/config/backup-passphrase",
            put(config::set_backup_passphrase),
        )
        .route(
            "/api/v1/config/unattended-boot",
            get(config::unattended_boot).put(config::set_unattended_boot),
        )
        .route(
            "/api/v1/config/time",
            get(config::time).put(config::set_time),
        )
        .route("/api/v1/config/ntp", get(config::ntp).put(config::set_ntp))
        .route(
            "/api/v1/config/logging",
            get(config::logging).put(config::set_logging),
        )
        .route(
            "/api/v1/config/network",
            get(config::network).put(config::set_network),
        )
        .route("/api/v1/config/tls/public.pem", get(config::tls_public_pem))
        .route(
            "/api/v1/config/tls/cert.pem",
            get(config::tls_cert).put(config::set_tls_cert),
        )
        .route("/api/v1/config/tls/csr.pem", post(config::tls_csr))
        .route("/api/v1/config/tls/generate", post(config::tls_generate))
        .route(
            "/api/v1/config/tls/cluster-ca.pem",
            get(config::cluster_ca).put(config::set_cluster_ca),
        )
        .route("/api/v1/system/info", get(system::info))
        .route("/api/v1/system/reboot", post(system::reboot))
        .route("/api/v1/system/shutdown", post(system::shutdown))
        .route("/api/v1/system/factory-reset", post(system::factory_reset))
        .route("/api/v1/system/update", post(system::update))
        .route("/api/v1/system/commit-update", post(system::commit_update))
        .route("/api/v1/system/cancel-update", post(system::cancel_update))
        .route("/api/v1/system/backup", post(system::backup))
        .route("/api/v1/system/restore", post(system::restore))
        .route(
            "/api/v1/cluster/members",
            get(device::cluster_members).post(device::add_cluster_member),
        )
        .route(
            "/api/v1/cluster/members/{id}",
            put(device::update_cluster_member).delete(device::remove_cluster_member),
        )
        .route(
            "/api/v1/cluster/members/{id}/promote",
            post(device::promote_cluster_member),
        )
        .route("/api/v1/cluster/join", post(device::join_cluster))
        .route("/api/v1/cluster/force-new", post(device::force_new_cluster))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "Resource not found") })
        .layer(axum::extract::DefaultBodyLimit::max(LARGE_BODY))
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            injected_failure,
        ))
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            latency,
        ))
        .with_state(shared)
}

/// The device's request body limits: 1 MiB, and 67 MiB for sign, decrypt and encrypt.
const BODY: usize = 1 << 20;
const LARGE_BODY: usize = 67 << 20;
/// The device's URI limit.
const MAX_URI: usize = 2000;

async fn latency(
    State(shared): State<Arc<Shared>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let _ = shared
        .requests
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let _in_flight = InFlight::enter(&shared);
    while shared.stalled.load(std::sync::atomic::Ordering::Relaxed) {
        // A hung device: the connection stays open and no answer comes.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    shared.wire.delay().await;
    if request.uri().to_string().len() > MAX_URI {
        return error(StatusCode::URI_TOO_LONG, "URI too long");
    }
    let path = request.uri().path();
    let large = ["/sign", "/decrypt", "/encrypt"]
        .iter()
        .any(|s| path.ends_with(s));
    let announced = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    if announced > if large { LARGE_BODY } else { BODY } {
        return error(StatusCode::PAYLOAD_TOO_LARGE, "Request body too large");
    }
    let accept = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok());
    if let Some(accept) = accept
        && !accepts(accept, produced(request.method(), path))
    {
        return error(StatusCode::NOT_ACCEPTABLE, "Not acceptable");
    }
    if is_prefix_listing(path) && !matches!(*request.method(), Method::GET | Method::HEAD) {
        return method_not_allowed(PREFIX_LISTING_METHODS);
    }
    let conditional = (request.method() == Method::GET)
        .then(|| request.headers().get(header::IF_NONE_MATCH).cloned());
    // The handler runs as a task of its own: if it panics, the task ends and the client still
    // gets an answer (500), never a dropped connection.
    let response = match tokio::spawn(next.run(request)).await {
        Ok(response) => with_json_error_body(response).await,
        Err(e) => {
            tracing::error!(error = %e, "a simulator handler failed");
            error(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error")
        }
    };
    match conditional {
        Some(if_none_match) if response.status() == StatusCode::OK => {
            with_etag(response, if_none_match).await
        }
        _ => response,
    }
}

/// Runs the request's handler, unless [`super::Fault::HandlerPanic`] is set: then it panics
/// in its place (once), inside the task [`latency`] runs handlers in, as a handler's bug would.
async fn injected_failure(
    State(shared): State<Arc<Shared>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if shared
        .panic_next
        .swap(false, std::sync::atomic::Ordering::Relaxed)
    {
        handler_panics();
    }
    next.run(request).await
}

/// The failure [`super::Fault::HandlerPanic`] injects.
#[allow(clippy::panic)] // the panic is the fault asked for
fn handler_panics() -> ! {
    panic!("a simulator handler failed (injected: Fault::HandlerPanic)")
}

/// `GET /keys/{KeyPrefix}*`: a listing, which is all that path offers (its `Allow`).
fn is_prefix_listing(path: &str) -> bool {
    path.strip_prefix("/api/v1/keys/")
        .is_some_and(|rest| rest.ends_with('*') && !rest.contains('/'))
}

const PREFIX_LISTING_METHODS: &str = "GET,HEAD";

/// 405 with the methods the path has.
fn method_not_allowed(allow: &'static str) -> Response {
    let mut response = error(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed");
    let _ = response
        .headers_mut()
        .insert(header::ALLOW, axum::http::HeaderValue::from_static(allow));
    response
}

/// An error answer made outside the handlers (the router's 405, a rejected path, query or
/// body) gets the device's `{"message": ...}` body: its text, or the status's reason.
async fn with_json_error_body(response: Response) -> Response {
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(response.status().is_client_error() || response.status().is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, BODY)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let message = if text.is_empty() {
        parts
            .status
            .canonical_reason()
            .unwrap_or("Error")
            .to_owned()
    } else {
        text
    };
    let mut answer = error(parts.status, message);
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            let _ = answer.headers_mut().append(name, value.clone());
        }
    }
    answer
}

/// A request in progress, counted in [`Shared`] until it is answered or dropped.
struct InFlight<'a>(&'a Shared);

impl<'a> InFlight<'a> {
    fn enter(shared: &'a Shared) -> Self {
        use std::sync::atomic::Ordering::Relaxed;
        let now = shared.in_flight.fetch_add(1, Relaxed) + 1;
        let _ = shared.max_in_flight.fetch_max(now, Relaxed);
        Self(shared)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let _ = self
            .0
            .in_flight
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// A GET answer gets an `ETag` (a digest of its body), and becomes `304 Not Modified` when
/// the request's `If-None-Match` names it, like the device's resources.
async fn with_etag(response: Response, if_none_match: Option<axum::http::HeaderValue>) -> Response {
    use sha2::Digest as _;
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, LARGE_BODY).await else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "answer too large");
    };
    let digest = sha2::Sha256::digest(&bytes);
    let tag = format!("\"{}\"", hex::encode(digest.get(..16).unwrap_or_default()));
    let matches = if_none_match
        .as_ref()
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag || t.trim() == "*"));
    if let Ok(value) = axum::http::HeaderValue::from_str(&tag) {
        let _ = parts.headers.insert(header::ETAG, value);
    }
    if matches {
        parts.status = StatusCode::NOT_MODIFIED;
        let _ = parts.headers.remove(header::CONTENT_TYPE);
        let _ = parts.headers.remove(header::CONTENT_LENGTH);
        return Response::from_parts(parts, axum::body::Body::empty());
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

/// The media type an endpoint answers with.
fn produced(method: &Method, path: &str) -> &'static str {
    if path.ends_with(".pem") {
        "application/x-pem-file"
    } else if path.ends_with("/system/backup") || (path.ends_with("/cert") && method == Method::GET)
    {
        "application/octet-stream"
    } else {
        "application/json"
    }
}

/// Whether an `Accept` header admits `media` (`type/subtype`, `type/*` or `*/*`, not `q=0`).
fn accepts(accept: &str, media: &str) -> bool {
    let (kind, _) = media.split_once('/').unwrap_or((media, ""));
    accept.split(',').any(|range| {
        let mut parts = range.split(';').map(str::trim);
        let name = parts.next().unwrap_or("").to_ascii_lowercase();
        let refused = parts.any(|p| {
            p.strip_prefix("q=")
                .and_then(|q| q.parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        !refused && (name == "*/*" || name == media || name == format!("{kind}/*"))
    })
}

impl Shared {
    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, DeviceState> {
        self.device
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// An authenticated caller.
pub(super) struct Caller {
    /// The full user id (`ns~name` in a namespace).
    pub(super) id: String,
    pub(super) role: UserRole,
}

impl Caller {
    /// The caller's namespace, `""` for root users (the key space the caller sees).
    pub(super) fn namespace(&self) -> &str {
        namespace_of(&self.id).unwrap_or("")
    }

    pub(super) fn is_root(&self) -> bool {
        namespace_of(&self.id).is_none()
    }

    /// Whether the caller may manage user `id`: root administrators any, namespace
    /// administrators those of their own namespace.
    pub(super) fn reaches_user(&self, id: &str) -> bool {
        self.is_root() || namespace_of(id) == Some(self.namespace())
    }
}

/// The Basic-auth user and passphrase of a request.
fn basic_auth(headers: &HeaderMap) -> Option<(String, zeroize::Zeroizing<String>)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(value.strip_prefix("Basic ")?)
        .ok()?;
    let decoded = zeroize::Zeroizing::new(decoded);
    let text = std::str::from_utf8(&decoded).ok()?;
    text.split_once(':')
        .map(|(u, p)| (u.to_owned(), zeroize::Zeroizing::new(p.to_owned())))
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Basic realm=\"NetHSM\"")],
        axum::Json(json!({ "message": "Unauthorized" })),
    )
        .into_response()
}

/// Checks credentials, the failed-login throttle and the role (401/429, then 403), in any
/// state. A namespaced user whose namespace does not exist yet may do nothing (403).
pub(super) fn authenticate(
    device: &mut DeviceState,
    headers: &HeaderMap,
    roles: &[UserRole],
) -> Result<Caller, Response> {
    let (user, pass) = basic_auth(headers).ok_or_else(unauthorized)?;
    let Some(role) = device
        .users
        .get(&user)
        .filter(|u| u.accepts(&pass))
        .map(|u| u.role)
    else {
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
    };
    if !roles.contains(&role) {
        return Err(error(StatusCode::FORBIDDEN, "Access denied"));
    }
    if let Some(ns) = namespace_of(&user)
        && !device.namespaces.contains(ns)
    {
        return Err(error(
            StatusCode::FORBIDDEN,
            format!("Namespace {ns} does not exist"),
        ));
    }
    Ok(Caller { id: user, role })
}

/// Checks state (412 unless Operational), then [`authenticate`].
pub(super) fn authorize(
    device: &mut DeviceState,
    headers: &HeaderMap,
    roles: &[UserRole],
) -> Result<Caller, Response> {
    if device.state != SystemState::Operational {
        return Err(unavailable());
    }
    authenticate(device, headers, roles)
}

impl Shared {
    /// The locked device and its caller, checked by [`authorize`].
    pub(super) fn authorized(
        &self,
        headers: &HeaderMap,
        roles: &[UserRole],
    ) -> Result<(std::sync::MutexGuard<'_, DeviceState>, Caller), Response> {
        let mut device = self.lock();
        let caller = authorize(&mut device, headers, roles)?;
        Ok((device, caller))
    }
}

/// [`authorize`] for the endpoints only root users may call (config, system, lock,
/// namespaces, cluster): 403 for namespaced users.
pub(super) fn authorize_root(
    device: &mut DeviceState,
    headers: &HeaderMap,
    roles: &[UserRole],
) -> Result<Caller, Response> {
    let caller = authorize(device, headers, roles)?;
    if caller.is_root() {
        Ok(caller)
    } else {
        Err(error(
            StatusCode::FORBIDDEN,
            "Access denied: namespaced users cannot do this",
        ))
    }
}

pub(super) const ADMIN: &[UserRole] = &[UserRole::Administrator];
pub(super) const OPERATOR: &[UserRole] = &[UserRole::Operator];
pub(super) const KEY_READERS: &[UserRole] = &[UserRole::Administrator, UserRole::Operator];

/// Passphrases are 10 to 200 characters.
pub(super) fn passphrase_ok(p: &secrecy::SecretString) -> bool {
    let n = secrecy::ExposeSecret::expose_secret(p).chars().count();
    (10..=200).contains(&n)
}
