//! `/system/*`: info, reboot, shutdown, factory reset, updates, backup and restore.

use std::sync::Arc;

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use serde_json::json;

use super::{
    ADMIN, Answer, Cx, authenticate, authorize_root, content_type, error, form_part, json_body,
    no_content, octets, unavailable,
};
use crate::protocol::{SystemState, UserRole};
use crate::sim::backup;
use crate::sim::state::{DeviceState, backup_key};

/// What the device comes up as after a boot: Operational with unattended boot, else Locked.
pub(crate) fn boot(device: &mut DeviceState) {
    if device.state != SystemState::Unprovisioned {
        device.state = if device.config.unattended_boot {
            SystemState::Operational
        } else {
            SystemState::Locked
        };
    }
}

/// `GET /system/info` (Administrator): versions and an obviously simulated device id.
pub(super) async fn info(Cx { s, headers }: Cx) -> Answer {
    let mut device = s.lock();
    authorize_root(&mut device, &headers, ADMIN)?;
    Ok(axum::Json(json!({
        "softwareVersion": device.software_version,
        "softwareBuild": "hsm-nethsm-sim",
        "firmwareVersion": "simulated",
        "hardwareVersion": "simulated",
        "deviceId": "SIMULATOR",
        "akPub": {},
        "pcr": {},
    }))
    .into_response())
}

/// `POST /system/reboot`: answers, then comes up Locked (or Operational with unattended
/// boot), like the device after a reboot.
pub(super) async fn reboot(Cx { s, headers }: Cx) -> Answer {
    let mut device = s.lock();
    authorize_root(&mut device, &headers, ADMIN)?;
    boot(&mut device);
    Ok(no_content())
}

/// `POST /system/shutdown`: an Administrator when Operational, anyone otherwise. The
/// simulator answers, then stops serving until [`crate::sim::Simulator::resume`] powers it
/// on again.
pub(super) async fn shutdown(Cx { s, headers }: Cx) -> Answer {
    {
        let mut device = s.lock();
        if device.state == SystemState::Operational {
            authorize_root(&mut device, &headers, ADMIN)?;
        }
    }
    let shared = Arc::clone(&s);
    let _task = tokio::spawn(async move {
        // Let the answer go out first.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let _ = shared.halted.send_replace(true);
    });
    Ok(no_content())
}

/// `POST /system/factory-reset`: everything erased, back to Unprovisioned.
pub(super) async fn factory_reset(Cx { s, headers }: Cx) -> Answer {
    let mut device = s.lock();
    authorize_root(&mut device, &headers, ADMIN)?;
    device.factory_reset();
    Ok(no_content())
}

pub(super) async fn update(Cx { s, headers }: Cx, body: Bytes) -> Answer {
    let mut device = s.lock();
    authorize_root(&mut device, &headers, ADMIN)?;
    let Some(notes) = body
        .strip_prefix(crate::sim::UPDATE_MAGIC)
        .and_then(|n| std::str::from_utf8(n).ok())
    else {
        return Err(error(StatusCode::BAD_REQUEST, "Invalid update image"));
    };
    device.pending_update = Some(notes.to_owned());
    Ok(axum::Json(json!({ "releaseNotes": notes })).into_response())
}

/// `POST /system/commit-update`: installs the uploaded update and reboots (412 without one).
pub(super) async fn commit_update(Cx { s, headers }: Cx) -> Answer {
    let mut device = s.lock();
    authorize_root(&mut device, &headers, ADMIN)?;
    take_pending_update(&mut device)?;
    device.software_version = format!("{}+update", env!("CARGO_PKG_VERSION"));
    boot(&mut device);
    Ok(no_content())
}

/// `POST /system/cancel-update` (412 without an uploaded update).
pub(super) async fn cancel_update(Cx { s, headers }: Cx) -> Answer {
    let mut device = s.lock();
    authorize_root(&mut device, &headers, ADMIN)?;
    take_pending_update(&mut device)?;
    Ok(no_content())
}

/// Drops the uploaded update (412 without one).
fn take_pending_update(device: &mut DeviceState) -> Result<String, Response> {
    device
        .pending_update
        .take()
        .ok_or_else(|| error(StatusCode::PRECONDITION_FAILED, "No update uploaded"))
}

/// `POST /system/backup` (Backup role, root): the encrypted file (412 until a backup
/// passphrase is set).
pub(super) async fn backup(Cx { s, headers }: Cx) -> Answer {
    let mut device = s.lock();
    authorize_root(&mut device, &headers, &[UserRole::Backup])?;
    let Some(key) = device.config.backup_key.clone() else {
        return Err(error(
            StatusCode::PRECONDITION_FAILED,
            "No backup passphrase set",
        ));
    };
    backup::make(&device, &key, &s.rng)
        .map(octets)
        .map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RestoreArguments {
    backup_passphrase: SecretString,
    system_time: Option<String>,
}

/// `POST /system/restore`: on an unprovisioned device, everything (it is then Locked); on an
/// operational one (Administrator), users, keys and namespaces.
pub(super) async fn restore(Cx { s, headers }: Cx, body: Bytes) -> Answer {
    let mut device = s.lock();
    let full = match device.state {
        SystemState::Unprovisioned => true,
        SystemState::Operational => {
            authenticate(&mut device, &headers, ADMIN)?;
            false
        }
        _ => return Err(unavailable()),
    };
    let bad = |m: &str| error(StatusCode::BAD_REQUEST, m.to_owned());
    let parts = crate::sim::form::parse(content_type(&headers), &body)
        .ok_or_else(|| bad("Invalid multipart/form-data body"))?;
    let (Some(arguments), Some(file)) = (
        form_part(&parts, "arguments"),
        form_part(&parts, "backup_file"),
    ) else {
        return Err(bad("The parts arguments and backup_file are required"));
    };
    let arguments: RestoreArguments = json_body(arguments)?;
    let key = backup_key(arguments.backup_passphrase.expose_secret());
    let restored = backup::open(file, &key).map_err(|e| bad(&e.to_string()))?;
    if let Some(time) = &arguments.system_time {
        device.config.clock_offset =
            crate::sim::clock::clock_offset_for(time).ok_or_else(|| bad("Invalid systemTime"))?;
    }
    device.users = restored.users.into_iter().collect();
    device.keys = restored.keys.into_iter().collect();
    device.namespaces = restored.namespaces;
    if full {
        device.unlock = restored.unlock;
        device.config.unattended_boot = restored.unattended_boot;
        device.config.logging = restored.logging;
        device.config.network = restored.network;
        device.config.ntp = restored.ntp;
        device.config.backup_key = Some(key);
        device.state = SystemState::Locked;
    }
    Ok(no_content())
}
