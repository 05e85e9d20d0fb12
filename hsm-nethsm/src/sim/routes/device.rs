//! Health, info, provisioning, lock and unlock, random bytes, metrics, and the cluster
//! endpoints of a single-member cluster.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::json;

use super::{
    ADMIN, Answer, Cx, OPERATOR, authenticate, authorize, authorize_root, ensure, error, json_body,
    no_content, passphrase_ok, unavailable,
};
use crate::protocol::{ClusterAddRequest, SystemState, UserRole};
use crate::sim::Shared;
use crate::sim::state::{PassphraseDigest, SimUser};

pub(super) async fn health_state(State(s): State<Arc<Shared>>) -> Response {
    axum::Json(json!({ "state": s.lock().state })).into_response()
}

pub(super) async fn health_alive(State(s): State<Arc<Shared>>) -> Response {
    match s.lock().state {
        SystemState::Locked | SystemState::Unprovisioned => StatusCode::OK.into_response(),
        _ => unavailable(),
    }
}

pub(super) async fn health_ready(State(s): State<Arc<Shared>>) -> Response {
    match s.lock().state {
        SystemState::Operational => StatusCode::OK.into_response(),
        _ => unavailable(),
    }
}

/// `GET /health/diagnose`: an Administrator when Operational, anyone otherwise. The
/// simulator's cluster process always runs and logs nothing.
pub(super) async fn health_diagnose(Cx { s, headers }: Cx) -> Answer {
    let mut device = s.lock();
    if device.state == SystemState::Operational {
        authenticate(&mut device, &headers, ADMIN)?;
    }
    Ok(
        axum::Json(json!({ "clusterLogs": [], "clusterState": { "running": true } }))
            .into_response(),
    )
}

pub(super) async fn info() -> Response {
    axum::Json(json!({ "vendor": "Nitrokey GmbH", "product": "NetHSM" })).into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Provision {
    unlock_passphrase: SecretString,
    admin_passphrase: SecretString,
    system_time: String,
}

pub(super) async fn provision(State(s): State<Arc<Shared>>, body: Bytes) -> Answer {
    let mut device = s.lock();
    in_state(device.state, SystemState::Unprovisioned)?;
    let request: Provision = json_body(&body)?;
    if !passphrase_ok(&request.admin_passphrase) || !passphrase_ok(&request.unlock_passphrase) {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "Passphrases must be 10 to 200 characters",
        ));
    }
    let Some(offset) = crate::sim::clock::clock_offset_for(&request.system_time) else {
        return Err(error(StatusCode::BAD_REQUEST, "Invalid systemTime"));
    };
    device.config.clock_offset = offset;
    device.unlock = Some(PassphraseDigest::new(&request.unlock_passphrase));
    let admin = SimUser::new(UserRole::Administrator, "admin", &request.admin_passphrase);
    let _ = device.users.insert("admin".into(), admin);
    device.state = SystemState::Operational;
    Ok(no_content())
}

/// 412 unless the device is in state `wanted`.
fn in_state(state: SystemState, wanted: SystemState) -> Result<(), Response> {
    if state == wanted {
        Ok(())
    } else {
        Err(unavailable())
    }
}

pub(super) async fn lock(Cx { s, headers }: Cx) -> Answer {
    let mut device = s.lock();
    authorize_root(&mut device, &headers, ADMIN)?;
    device.state = SystemState::Locked;
    Ok(no_content())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UnlockRequest {
    passphrase: SecretString,
}

/// `POST /unlock`: 403 for a wrong passphrase, 429 for a second try within a second.
pub(super) async fn unlock(State(s): State<Arc<Shared>>, body: Bytes) -> Answer {
    let mut device = s.lock();
    in_state(device.state, SystemState::Locked)?;
    let request: UnlockRequest = json_body(&body)?;
    if !passphrase_ok(&request.passphrase) {
        return Err(error(StatusCode::BAD_REQUEST, "Passphrase too short"));
    }
    let now = Instant::now();
    if device
        .failed_unlock
        .is_some_and(|t| now.duration_since(t) < Duration::from_secs(1))
    {
        device.failed_unlock = Some(now);
        return Err(error(
            StatusCode::TOO_MANY_REQUESTS,
            "Service unavailable: too many requests",
        ));
    }
    let ok = device
        .unlock
        .as_ref()
        .is_some_and(|d| d.accepts(secrecy::ExposeSecret::expose_secret(&request.passphrase)));
    if !ok {
        device.failed_unlock = Some(now);
        return Err(error(StatusCode::FORBIDDEN, "Access denied"));
    }
    device.state = SystemState::Operational;
    Ok(no_content())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RandomRequest {
    length: u32,
}

pub(super) async fn random(Cx { s, headers }: Cx, body: Bytes) -> Answer {
    authorize(&mut s.lock(), &headers, OPERATOR)?;
    let request: RandomRequest = json_body(&body)?;
    if !(1..=1024).contains(&request.length) {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "Length must be between 1 and 1024",
        ));
    }
    let mut bytes = vec![0u8; request.length as usize];
    s.rng.fill(&mut bytes)?;
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    Ok(axum::Json(json!({ "random": encoded })).into_response())
}

/// `GET /metrics` (Metrics role). The device reports its counters as strings (nethsm.md,
/// section 11).
pub(super) async fn metrics(Cx { s, headers }: Cx) -> Answer {
    let mut device = s.lock();
    authorize(&mut device, &headers, &[UserRole::Metrics])?;
    let operations: u64 = device.keys.values().map(|k| k.operations).sum();
    Ok(axum::Json(json!({
        "keyOperations": operations.to_string(),
        "keys": device.keys.len().to_string(),
        "users": device.users.len().to_string(),
        "requests": s.requests.load(std::sync::atomic::Ordering::Relaxed).to_string(),
    }))
    .into_response())
}

/// The simulator is a one-member cluster: this member.
const MEMBER_ID: &str = "5a1e5a1e5a1e5a1e";

fn this_member() -> serde_json::Value {
    json!({ "id": MEMBER_ID, "name": "default", "urls": ["https://127.0.0.1:2380"],
            "learner": false })
}

pub(super) async fn cluster_members(Cx { s, headers }: Cx) -> Answer {
    authorize_root(&mut s.lock(), &headers, ADMIN)?;
    Ok(axum::Json(json!([this_member()])).into_response())
}

/// A member's peer URLs from a request body: at least one, each `https://` (400 otherwise).
fn peer_urls(body: &[u8]) -> Result<Vec<String>, Response> {
    let request: ClusterAddRequest = json_body(body)?;
    let valid = !request.urls.is_empty()
        && request
            .urls
            .iter()
            .all(|u| u.starts_with("https://") && u.len() > 8 && u.len() <= 1024);
    if valid {
        Ok(request.urls)
    } else {
        Err(error(StatusCode::BAD_REQUEST, "Invalid peer URLs"))
    }
}

/// 404 for any member but this one.
fn only_this_member(id: &str) -> Result<(), Response> {
    ensure(id == MEMBER_ID, StatusCode::NOT_FOUND, "Member not found")
}

/// `POST /cluster/members`: answers with the new member as a learner and a joiner kit; the
/// simulator never hears from it again.
pub(super) async fn add_cluster_member(Cx { s, headers }: Cx, body: Bytes) -> Answer {
    authorize_root(&mut s.lock(), &headers, ADMIN)?;
    let urls = peer_urls(&body)?;
    let new = json!({ "id": "0000000000000001", "name": "", "urls": urls, "learner": true });
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({ "members": [this_member(), new],
                            "joinerKit": "hsm-nethsm-simulator-joiner-kit" })),
    )
        .into_response())
}

/// `PUT /cluster/members/{id}`: 404 for any member but this one.
pub(super) async fn update_cluster_member(
    Cx { s, headers }: Cx,
    Path(id): Path<String>,
    body: Bytes,
) -> Answer {
    authorize_root(&mut s.lock(), &headers, ADMIN)?;
    let _ = peer_urls(&body)?;
    only_this_member(&id)?;
    Ok(no_content())
}

/// `DELETE /cluster/members/{id}`: the only member cannot leave (400), others are unknown.
pub(super) async fn remove_cluster_member(Cx { s, headers }: Cx, Path(id): Path<String>) -> Answer {
    authorize_root(&mut s.lock(), &headers, ADMIN)?;
    only_this_member(&id)?;
    Err(error(
        StatusCode::BAD_REQUEST,
        "Cannot remove the last member of the cluster",
    ))
}

/// `POST /cluster/members/{id}/promote`: this member is no learner (400), others unknown.
pub(super) async fn promote_cluster_member(
    Cx { s, headers }: Cx,
    Path(id): Path<String>,
) -> Answer {
    authorize_root(&mut s.lock(), &headers, ADMIN)?;
    only_this_member(&id)?;
    Err(error(StatusCode::BAD_REQUEST, "Member is not a learner"))
}

/// `POST /cluster/join`: the simulator has no peers to join (400 after the checks).
pub(super) async fn join_cluster(Cx { s, headers }: Cx, body: Bytes) -> Answer {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    #[allow(dead_code)]
    struct Join {
        members: Vec<serde_json::Value>,
        joiner_kit: String,
        backup_passphrase: SecretString,
    }
    authorize_root(&mut s.lock(), &headers, ADMIN)?;
    let _: Join = json_body(&body)?;
    Err(error(
        StatusCode::BAD_REQUEST,
        "Invalid joiner kit: the simulator cannot join a cluster",
    ))
}

/// `POST /cluster/force-new`: only in state Failed, which the simulator never enters (412).
pub(super) async fn force_new_cluster(State(s): State<Arc<Shared>>) -> Answer {
    in_state(s.lock().state, SystemState::Failed)?;
    Err(error(StatusCode::UNAUTHORIZED, "Unauthorized"))
}
