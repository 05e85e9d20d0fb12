//! `/config/*` (root Administrators): passphrases, unattended boot, time, NTP, logging,
//! network, the TLS key and certificate, the cluster CA. Values are kept in the device state
//! (and in backups); a new TLS key or certificate is served to new connections.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;

use super::super::Shared;
use super::super::clock::{clock_offset_for, format_rfc3339, now_unix};
use super::super::crypto::SimSecret;
use super::super::openssl_keys;
use super::super::state::{PassphraseDigest, backup_key};
use super::{ADMIN, authorize_root, error, json_body, passphrase_ok};
use crate::client::model::{
    DistinguishedName, LoggingConfig, NetworkConfig, NtpConfig, Switch, TimeConfig,
    TlsKeyGenerateRequest, UnattendedBootConfig,
};

/// Runs `f` on the device for a root Administrator.
fn admin<F: FnOnce(&mut super::super::state::DeviceState) -> Response>(
    s: &Shared,
    headers: &HeaderMap,
    f: F,
) -> Response {
    let mut device = s.lock();
    match authorize_root(&mut device, headers, ADMIN) {
        Ok(_) => f(&mut device),
        Err(e) => e,
    }
}

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

fn pem(text: String) -> Response {
    ([(header::CONTENT_TYPE, "application/x-pem-file")], text).into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ChangePassphrase {
    new_passphrase: SecretString,
    current_passphrase: SecretString,
}

/// `PUT /config/unlock-passphrase`: the current one must match (400 otherwise).
pub(super) async fn set_unlock_passphrase(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    admin(&s, &headers, |device| {
        let request: ChangePassphrase = match json_body(&body) {
            Ok(r) => r,
            Err(e) => return e,
        };
        let current_ok = device
            .unlock
            .as_ref()
            .is_some_and(|d| d.accepts(request.current_passphrase.expose_secret()));
        if !current_ok {
            return error(StatusCode::BAD_REQUEST, "Current passphrase is wrong");
        }
        if !passphrase_ok(&request.new_passphrase) {
            return error(StatusCode::BAD_REQUEST, "Passphrase too short");
        }
        device.unlock = Some(PassphraseDigest::new(&request.new_passphrase));
        no_content()
    })
}

/// `PUT /config/backup-passphrase`: the current one must match (`""` while none is set).
pub(super) async fn set_backup_passphrase(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    admin(&s, &headers, |device| {
        let request: ChangePassphrase = match json_body(&body) {
            Ok(r) => r,
            Err(e) => return e,
        };
        let current = request.current_passphrase.expose_secret();
        let current_ok = match &device.config.backup_key {
            Some(key) => *backup_key(current) == **key,
            None => current.is_empty(),
        };
        if !current_ok {
            return error(StatusCode::BAD_REQUEST, "Current passphrase is wrong");
        }
        if !passphrase_ok(&request.new_passphrase) {
            return error(StatusCode::BAD_REQUEST, "Passphrase too short");
        }
        device.config.backup_key = Some(backup_key(request.new_passphrase.expose_secret()));
        no_content()
    })
}

pub(super) async fn unattended_boot(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    admin(&s, &headers, |device| {
        let status = if device.config.unattended_boot {
            Switch::On
        } else {
            Switch::Off
        };
        axum::Json(UnattendedBootConfig { status }).into_response()
    })
}

pub(super) async fn set_unattended_boot(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    admin(&s, &headers, |device| {
        match json_body::<UnattendedBootConfig>(&body) {
            Ok(c) => {
                device.config.unattended_boot = c.status == Switch::On;
                no_content()
            }
            Err(e) => e,
        }
    })
}

pub(super) async fn time(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    admin(&s, &headers, |device| {
        let time = format_rfc3339(now_unix() + device.config.clock_offset);
        axum::Json(TimeConfig { time }).into_response()
    })
}

pub(super) async fn set_time(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    admin(&s, &headers, |device| {
        let request: TimeConfig = match json_body(&body) {
            Ok(r) => r,
            Err(e) => return e,
        };
        match clock_offset_for(&request.time) {
            Some(offset) => {
                device.config.clock_offset = offset;
                no_content()
            }
            None => error(StatusCode::BAD_REQUEST, "Invalid time: RFC 3339 expected"),
        }
    })
}

pub(super) async fn ntp(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    admin(&s, &headers, |device| {
        axum::Json(device.config.ntp.clone()).into_response()
    })
}

pub(super) async fn set_ntp(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    admin(&s, &headers, |device| {
        let request: NtpConfig = match json_body(&body) {
            Ok(r) => r,
            Err(e) => return e,
        };
        if request
            .ntp_ip
            .as_deref()
            .is_some_and(|ip| ip.parse::<std::net::IpAddr>().is_err())
        {
            return error(StatusCode::BAD_REQUEST, "Invalid NTP server address");
        }
        device.config.ntp = request;
        no_content()
    })
}

pub(super) async fn logging(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    admin(&s, &headers, |device| {
        axum::Json(device.config.logging.clone()).into_response()
    })
}

pub(super) async fn set_logging(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    admin(&s, &headers, |device| {
        let request: LoggingConfig = match json_body(&body) {
            Ok(r) => r,
            Err(e) => return e,
        };
        if request.ip_address.parse::<std::net::IpAddr>().is_err() {
            return error(StatusCode::BAD_REQUEST, "Invalid IP address");
        }
        device.config.logging = request;
        no_content()
    })
}

pub(super) async fn network(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    admin(&s, &headers, |device| {
        let mut config = device.config.network.clone();
        // Answers always carry the gateway.
        let _ = config.gateway.get_or_insert_with(|| "0.0.0.0".into());
        axum::Json(config).into_response()
    })
}

pub(super) async fn set_network(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    admin(&s, &headers, |device| {
        let request: NetworkConfig = match json_body(&body) {
            Ok(r) => r,
            Err(e) => return e,
        };
        let v4 = |a: &str| a.parse::<std::net::Ipv4Addr>().is_ok();
        let ok = v4(&request.ip_address)
            && v4(&request.netmask)
            && request.gateway.as_deref().is_none_or(v4);
        if !ok {
            return error(StatusCode::BAD_REQUEST, "Invalid network configuration");
        }
        device.config.network = request;
        no_content()
    })
}

/// The TLS key's public key, PEM.
fn tls_public(secret: Option<&SimSecret>) -> Option<String> {
    let data = crate::client::model::PublicKeyData {
        mechanisms: Vec::new(),
        key_type: secret?.key_type(),
        restrictions: crate::client::model::KeyRestrictions::default(),
        public: secret?.public(),
        operations: 0,
        label: None,
    };
    crate::backend::public_key_of(&data)
        .ok()
        .flatten()
        .map(|pk| pk.to_pem())
}

pub(super) async fn tls_public_pem(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    admin(&s, &headers, |device| {
        match tls_public(device.config.tls_key.as_ref()) {
            Some(p) => pem(p),
            None => error(StatusCode::INTERNAL_SERVER_ERROR, "no TLS key"),
        }
    })
}

pub(super) async fn tls_cert(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    admin(&s, &headers, |device| {
        pem(device.config.tls_certificate.clone())
    })
}

/// `PUT /config/tls/cert.pem`: a certificate for the current TLS key (400 otherwise).
pub(super) async fn set_tls_cert(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    admin(&s, &headers, |device| {
        let Ok(text) = std::str::from_utf8(&body) else {
            return error(StatusCode::BAD_REQUEST, "Certificate is not PEM");
        };
        let Some(public) = tls_public(device.config.tls_key.as_ref()) else {
            return error(StatusCode::INTERNAL_SERVER_ERROR, "no TLS key");
        };
        let Some(matches) = openssl_keys::certificate_has_key(text, &public) else {
            return error(StatusCode::BAD_REQUEST, "Certificate is not PEM");
        };
        if !matches {
            return error(
                StatusCode::BAD_REQUEST,
                "Certificate does not match the TLS key",
            );
        }
        device.config.tls_certificate = text.to_owned();
        if let Some(key) = device.config.tls_key.as_ref() {
            let _ = s.serve_identity(key, text);
        }
        StatusCode::CREATED.into_response()
    })
}

pub(super) async fn tls_csr(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    admin(&s, &headers, |device| {
        let request: DistinguishedName = match json_body(&body) {
            Ok(r) => r,
            Err(e) => return e,
        };
        let Some(key) = device.config.tls_key.as_ref() else {
            return error(StatusCode::INTERNAL_SERVER_ERROR, "no TLS key");
        };
        match super::super::csr::csr_pem(key, &request) {
            Ok(p) => pem(p),
            Err(m) => error(StatusCode::BAD_REQUEST, m),
        }
    })
}

/// `POST /config/tls/generate`: a new TLS key and a self-signed certificate for it.
pub(super) async fn tls_generate(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    use crate::client::model::KeyType;
    {
        let mut device = s.lock();
        if let Err(e) = authorize_root(&mut device, &headers, ADMIN) {
            return e;
        }
    }
    let request: TlsKeyGenerateRequest = match json_body(&body) {
        Ok(r) => r,
        Err(e) => return e,
    };
    if matches!(request.key_type, KeyType::Generic | KeyType::EC_P256K1) {
        return error(StatusCode::BAD_REQUEST, "Invalid TLS key type");
    }
    let (key_type, length) = (request.key_type, request.length);
    let made = tokio::task::spawn_blocking(move || {
        let key = SimSecret::generate(key_type, length)?;
        let cert = openssl_keys::self_signed_pem(&openssl_keys::pkey(&key)?, "NetHSM simulator")?;
        Ok::<_, String>((key, cert))
    })
    .await;
    match made {
        Ok(Ok((key, cert))) => {
            let _ = s.serve_identity(&key, &cert);
            let mut device = s.lock();
            device.config.tls_key = Some(key);
            device.config.tls_certificate = cert;
            no_content()
        }
        Ok(Err(m)) => error(StatusCode::BAD_REQUEST, m),
        Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "generation failed"),
    }
}

pub(super) async fn cluster_ca(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    admin(&s, &headers, |device| match &device.config.cluster_ca {
        Some(ca) => pem(ca.clone()),
        None => error(StatusCode::NOT_FOUND, "Cluster CA has never been set"),
    })
}

/// `PUT /config/tls/cluster-ca.pem`: a CA certificate that signed the TLS certificate (412
/// otherwise, like the device).
pub(super) async fn set_cluster_ca(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    admin(&s, &headers, |device| {
        let Ok(text) = std::str::from_utf8(&body) else {
            return error(StatusCode::BAD_REQUEST, "Certificate malformed");
        };
        match openssl_keys::signed_by(&device.config.tls_certificate, text) {
            None => error(StatusCode::BAD_REQUEST, "Certificate malformed"),
            Some(false) => error(
                StatusCode::PRECONDITION_FAILED,
                "The TLS certificate is not signed by this CA",
            ),
            Some(true) => {
                device.config.cluster_ca = Some(text.to_owned());
                StatusCode::CREATED.into_response()
            }
        }
    })
}
