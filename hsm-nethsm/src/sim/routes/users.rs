//! `/users` and `/namespaces`. Root administrators manage every user and the namespaces (and
//! may create users in a namespace not created yet); namespace administrators manage only the
//! users of their own namespace; operators may read themselves and set their own passphrase.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::json;

use super::super::Shared;
use super::super::state::{DeviceState, SimUser, namespace_of};
use super::{
    ADMIN, Caller, KEY_READERS, authorize, authorize_root, created, error, json_body,
    passphrase_ok, random_id,
};
use crate::client::ids::{valid_id, valid_user_id};
use crate::client::model::UserRole;

fn no_user() -> Response {
    error(StatusCode::NOT_FOUND, "User not found")
}

fn denied() -> Response {
    error(StatusCode::FORBIDDEN, "Access denied")
}

/// An administrator reaching `id`, or the user `id` itself.
fn reaches_or_is(caller: &Caller, id: &str) -> bool {
    (caller.role == UserRole::Administrator && caller.reaches_user(id)) || caller.id == id
}

pub(super) async fn list(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let mut device = s.lock();
    let caller = match authorize(&mut device, &headers, ADMIN) {
        Ok(c) => c,
        Err(e) => return e,
    };
    let mut ids: Vec<&String> = device
        .users
        .keys()
        .filter(|id| caller.reaches_user(id))
        .collect();
    ids.sort();
    let items: Vec<_> = ids.into_iter().map(|id| json!({ "user": id })).collect();
    axum::Json(items).into_response()
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
    body: &Bytes,
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

/// `POST /users`: a user with an id the device picks, in the caller's namespace.
pub(super) async fn create(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut device = s.lock();
    let caller = match authorize(&mut device, &headers, ADMIN) {
        Ok(c) => c,
        Err(e) => return e,
    };
    let id = match (random_id(), namespace_of(&caller.id)) {
        (Ok(id), Some(ns)) => format!("{ns}~{id}"),
        (Ok(id), None) => id,
        (Err(e), _) => return e,
    };
    match store_user(&mut device, &caller, &id, &body) {
        Ok(()) => created("users", &id),
        Err(e) => e,
    }
}

/// `POST /users/{ns~}`: a user with an id the device picks, in namespace `ns`.
pub(super) async fn create_in_namespace(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(prefix): Path<String>,
    body: Bytes,
) -> Response {
    let mut device = s.lock();
    let caller = match authorize(&mut device, &headers, ADMIN) {
        Ok(c) => c,
        Err(e) => return e,
    };
    let Some(ns) = prefix.strip_suffix('~').filter(|ns| valid_id(ns)) else {
        return error(
            StatusCode::BAD_REQUEST,
            "POST /users/{id} takes a namespace prefix `ns~`",
        );
    };
    let id = match random_id() {
        Ok(id) => format!("{ns}~{id}"),
        Err(e) => return e,
    };
    match store_user(&mut device, &caller, &id, &body) {
        Ok(()) => created("users", &id),
        Err(e) => e,
    }
}

/// `PUT /users/{id}` (201, no body).
pub(super) async fn add(
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
    match store_user(&mut device, &caller, &id, &body) {
        Ok(()) => (
            StatusCode::CREATED,
            [(axum::http::header::LOCATION, format!("/api/v1/users/{id}"))],
        )
            .into_response(),
        Err(e) => e,
    }
}

pub(super) async fn get(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let mut device = s.lock();
    let caller = match authorize(&mut device, &headers, KEY_READERS) {
        Ok(c) => c,
        Err(e) => return e,
    };
    if !reaches_or_is(&caller, &id) {
        return denied();
    }
    match device.users.get(&id) {
        Some(u) => axum::Json(json!({ "realName": u.real_name, "role": u.role })).into_response(),
        None => no_user(),
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
    if caller.id == id {
        return error(StatusCode::BAD_REQUEST, "Cannot delete the current user");
    }
    if !caller.reaches_user(&id) {
        return denied();
    }
    match device.users.remove(&id) {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => no_user(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PassphraseBody {
    passphrase: SecretString,
}

pub(super) async fn set_passphrase(
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
    if !reaches_or_is(&caller, &id) {
        return denied();
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
        None => no_user(),
    }
}

pub(super) async fn tags(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let mut device = s.lock();
    let caller = match authorize(&mut device, &headers, KEY_READERS) {
        Ok(c) => c,
        Err(e) => return e,
    };
    if !reaches_or_is(&caller, &id) {
        return denied();
    }
    match device.users.get(&id) {
        Some(u) if u.role == UserRole::Operator => {
            axum::Json(u.tags.iter().collect::<Vec<_>>()).into_response()
        }
        Some(_) => error(StatusCode::BAD_REQUEST, "Only operators have tags"),
        None => no_user(),
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
    if !caller.reaches_user(&id) {
        return denied();
    }
    if !valid_id(&tag) {
        return error(StatusCode::BAD_REQUEST, "Invalid tag");
    }
    let Some(user) = device.users.get_mut(&id) else {
        return no_user();
    };
    if user.role != UserRole::Operator {
        error(StatusCode::BAD_REQUEST, "Only operators have tags")
    } else if user.tags.insert(tag) {
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
    if !caller.reaches_user(&id) {
        return denied();
    }
    let Some(user) = device.users.get_mut(&id) else {
        return no_user();
    };
    if user.tags.remove(&tag) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        error(StatusCode::NOT_FOUND, "Tag not found")
    }
}

pub(super) async fn list_namespaces(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let mut device = s.lock();
    if let Err(e) = authorize_root(&mut device, &headers, ADMIN) {
        return e;
    }
    let items: Vec<_> = device
        .namespaces
        .iter()
        .map(|id| json!({ "id": id }))
        .collect();
    axum::Json(items).into_response()
}

/// `PUT /namespaces/{id}` (204; 409 when it exists).
pub(super) async fn add_namespace(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let mut device = s.lock();
    if let Err(e) = authorize_root(&mut device, &headers, ADMIN) {
        return e;
    }
    if !valid_id(&id) {
        return error(StatusCode::BAD_REQUEST, "Invalid namespace ID");
    }
    if device.namespaces.insert(id) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        error(StatusCode::CONFLICT, "Namespace already exists")
    }
}

/// `DELETE /namespaces/{id}`: the namespace and all its keys go; its users stay, powerless
/// until it is created again.
pub(super) async fn delete_namespace(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let mut device = s.lock();
    if let Err(e) = authorize_root(&mut device, &headers, ADMIN) {
        return e;
    }
    if !valid_id(&id) {
        return error(StatusCode::BAD_REQUEST, "Invalid namespace ID");
    }
    if !device.namespaces.remove(&id) {
        return error(StatusCode::NOT_FOUND, "Namespace not found");
    }
    device.keys.retain(|(ns, _), _| *ns != id);
    StatusCode::NO_CONTENT.into_response()
}
