//! `/users` and `/namespaces`. Root administrators manage every user and the namespaces (and
//! may create users in a namespace not created yet); namespace administrators manage only the
//! users of their own namespace; operators may read themselves and set their own passphrase.

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::json;

use super::{
    ADMIN, Answer, Caller, Cx, KEY_READERS, authorize, authorize_root, check_tag, created, ensure,
    error, json_body, no_content, passphrase_ok, random_id, tag_added, tag_removed,
};
use crate::protocol::UserRole;
use crate::protocol::ids::{valid_id, valid_user_id};
use crate::sim::Shared;
use crate::sim::state::{DeviceState, SimUser, namespace_of};

fn no_user() -> Response {
    error(StatusCode::NOT_FOUND, "User not found")
}

fn denied() -> Response {
    error(StatusCode::FORBIDDEN, "Access denied")
}

/// An Administrator who may manage user `id` (403 for one who may not).
fn admin_of(device: &mut DeviceState, headers: &HeaderMap, id: &str) -> Result<Caller, Response> {
    let caller = authorize(device, headers, ADMIN)?;
    if caller.reaches_user(id) {
        Ok(caller)
    } else {
        Err(denied())
    }
}

/// An Administrator who may manage user `id`, or the user `id` itself (403 for others).
fn admin_of_or_self(
    device: &mut DeviceState,
    headers: &HeaderMap,
    id: &str,
) -> Result<Caller, Response> {
    let caller = authorize(device, headers, KEY_READERS)?;
    if (caller.role == UserRole::Administrator && caller.reaches_user(id)) || caller.id == id {
        Ok(caller)
    } else {
        Err(denied())
    }
}

pub(super) async fn list(Cx { s, headers }: Cx) -> Answer {
    let (device, caller) = s.authorized(&headers, ADMIN)?;
    let mut ids: Vec<&String> = device
        .users
        .keys()
        .filter(|id| caller.reaches_user(id))
        .collect();
    ids.sort();
    let items: Vec<_> = ids.into_iter().map(|id| json!({ "user": id })).collect();
    Ok(axum::Json(items).into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewUser {
    real_name: String,
    role: UserRole,
    passphrase: SecretString,
}

/// Stores user `id` for `caller`: 403 outside the caller's reach, 409 when taken.
fn store_user(
    device: &mut DeviceState,
    caller: &Caller,
    id: &str,
    body: &[u8],
) -> Result<(), Response> {
    let request: NewUser = json_body(body)?;
    if !valid_user_id(id) {
        return Err(error(StatusCode::BAD_REQUEST, "Invalid user ID"));
    }
    if !caller.reaches_user(id) {
        return Err(error(
            StatusCode::FORBIDDEN,
            "Access denied: the user is not in your namespace",
        ));
    }
    if !passphrase_ok(&request.passphrase) {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "Passphrase must be 10 to 200 characters",
        ));
    }
    if device.users.contains_key(id) {
        return Err(error(StatusCode::CONFLICT, "User already exists"));
    }
    let user = SimUser::new(request.role, &request.real_name, &request.passphrase);
    let _ = device.users.insert(id.to_owned(), user);
    Ok(())
}

/// A user with an id the device picks, in the namespace `namespace` picks for the caller
/// (`None` for none): 201 with the id.
fn create_with_random_id(
    s: &Shared,
    headers: &HeaderMap,
    body: &[u8],
    namespace: impl FnOnce(&Caller) -> Result<Option<String>, Response>,
) -> Answer {
    let (mut device, caller) = s.authorized(headers, ADMIN)?;
    let namespace = namespace(&caller)?;
    let id = random_id(&s.rng)?;
    let id = match namespace {
        Some(ns) => format!("{ns}~{id}"),
        None => id,
    };
    store_user(&mut device, &caller, &id, body)?;
    Ok(created("users", &id))
}

/// `POST /users`: a user with an id the device picks, in the caller's namespace.
pub(super) async fn create(Cx { s, headers }: Cx, body: Bytes) -> Answer {
    create_with_random_id(&s, &headers, &body, |caller| {
        Ok(namespace_of(&caller.id).map(str::to_owned))
    })
}

/// `POST /users/{ns~}`: a user with an id the device picks, in namespace `ns`.
pub(super) async fn create_in_namespace(
    Cx { s, headers }: Cx,
    Path(prefix): Path<String>,
    body: Bytes,
) -> Answer {
    create_with_random_id(&s, &headers, &body, |_| {
        match prefix.strip_suffix('~').filter(|ns| valid_id(ns)) {
            Some(ns) => Ok(Some(ns.to_owned())),
            None => Err(error(
                StatusCode::BAD_REQUEST,
                "POST /users/{id} takes a namespace prefix `ns~`",
            )),
        }
    })
}

/// `PUT /users/{id}` (201, no body).
pub(super) async fn add(Cx { s, headers }: Cx, Path(id): Path<String>, body: Bytes) -> Answer {
    let (mut device, caller) = s.authorized(&headers, ADMIN)?;
    store_user(&mut device, &caller, &id, &body)?;
    Ok((
        StatusCode::CREATED,
        [(axum::http::header::LOCATION, format!("/api/v1/users/{id}"))],
    )
        .into_response())
}

pub(super) async fn get(Cx { s, headers }: Cx, Path(id): Path<String>) -> Answer {
    let mut device = s.lock();
    admin_of_or_self(&mut device, &headers, &id)?;
    let user = device.users.get(&id).ok_or_else(no_user)?;
    Ok(axum::Json(json!({ "realName": user.real_name, "role": user.role })).into_response())
}

pub(super) async fn delete(Cx { s, headers }: Cx, Path(id): Path<String>) -> Answer {
    let (mut device, caller) = s.authorized(&headers, ADMIN)?;
    if caller.id == id {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "Cannot delete the current user",
        ));
    }
    if !caller.reaches_user(&id) {
        return Err(denied());
    }
    device.users.remove(&id).ok_or_else(no_user)?;
    Ok(no_content())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PassphraseBody {
    passphrase: SecretString,
}

pub(super) async fn set_passphrase(
    Cx { s, headers }: Cx,
    Path(id): Path<String>,
    body: Bytes,
) -> Answer {
    let mut device = s.lock();
    admin_of_or_self(&mut device, &headers, &id)?;
    let request: PassphraseBody = json_body(&body)?;
    if !passphrase_ok(&request.passphrase) {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "Passphrase must be 10 to 200 characters",
        ));
    }
    let user = device.users.get_mut(&id).ok_or_else(no_user)?;
    user.set_passphrase(&request.passphrase);
    Ok(no_content())
}

/// Only operators have tags (400 for other users).
fn check_operator(user: &SimUser) -> Result<(), Response> {
    ensure(
        user.role == UserRole::Operator,
        StatusCode::BAD_REQUEST,
        "Only operators have tags",
    )
}

pub(super) async fn tags(Cx { s, headers }: Cx, Path(id): Path<String>) -> Answer {
    let mut device = s.lock();
    admin_of_or_self(&mut device, &headers, &id)?;
    let user = device.users.get(&id).ok_or_else(no_user)?;
    check_operator(user)?;
    Ok(axum::Json(user.tags.iter().collect::<Vec<_>>()).into_response())
}

pub(super) async fn add_tag(
    Cx { s, headers }: Cx,
    Path((id, tag)): Path<(String, String)>,
) -> Answer {
    let mut device = s.lock();
    admin_of(&mut device, &headers, &id)?;
    check_tag(&tag)?;
    let user = device.users.get_mut(&id).ok_or_else(no_user)?;
    check_operator(user)?;
    Ok(tag_added(user.tags.insert(tag)))
}

pub(super) async fn remove_tag(
    Cx { s, headers }: Cx,
    Path((id, tag)): Path<(String, String)>,
) -> Answer {
    let mut device = s.lock();
    admin_of(&mut device, &headers, &id)?;
    let user = device.users.get_mut(&id).ok_or_else(no_user)?;
    Ok(tag_removed(user.tags.remove(&tag)))
}

pub(super) async fn list_namespaces(Cx { s, headers }: Cx) -> Answer {
    let mut device = s.lock();
    authorize_root(&mut device, &headers, ADMIN)?;
    let items: Vec<_> = device
        .namespaces
        .iter()
        .map(|id| json!({ "id": id }))
        .collect();
    Ok(axum::Json(items).into_response())
}

/// A namespace id from the path (400 when it is not a valid id).
fn namespace_id(id: &str) -> Result<(), Response> {
    ensure(
        valid_id(id),
        StatusCode::BAD_REQUEST,
        "Invalid namespace ID",
    )
}

/// `PUT /namespaces/{id}` (204; 409 when it exists).
pub(super) async fn add_namespace(Cx { s, headers }: Cx, Path(id): Path<String>) -> Answer {
    let mut device = s.lock();
    authorize_root(&mut device, &headers, ADMIN)?;
    namespace_id(&id)?;
    if !device.namespaces.insert(id) {
        return Err(error(StatusCode::CONFLICT, "Namespace already exists"));
    }
    Ok(no_content())
}

/// `DELETE /namespaces/{id}`: the namespace and all its keys go; its users stay, powerless
/// until it is created again.
pub(super) async fn delete_namespace(Cx { s, headers }: Cx, Path(id): Path<String>) -> Answer {
    let mut device = s.lock();
    authorize_root(&mut device, &headers, ADMIN)?;
    namespace_id(&id)?;
    if !device.namespaces.remove(&id) {
        return Err(error(StatusCode::NOT_FOUND, "Namespace not found"));
    }
    device.keys.retain(|(ns, _), _| *ns != id);
    Ok(no_content())
}
