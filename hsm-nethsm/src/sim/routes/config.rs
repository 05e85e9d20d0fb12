//! `/config/*` (root Administrators): passphrases, unattended boot, time, NTP, logging,
//! network, the TLS key and certificate, the cluster CA. Values are kept in the device state
//! (and in backups); a new TLS key or certificate is served to new connections.

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use secrecy::{ExposeSecret as _, SecretString};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{ADMIN, Answer, Cx, authorize_root, error, json_body, no_content, passphrase_ok, pem};
use crate::protocol::{
    DistinguishedName, LoggingConfig, NetworkConfig, NtpConfig, Switch, TimeConfig,
    TlsKeyGenerateRequest, UnattendedBootConfig,
};
use crate::sim::Shared;
use crate::sim::clock::{clock_offset_for, format_rfc3339, now_unix};
use crate::sim::crypto::SimSecret;
use crate::sim::state::{DeviceState, PassphraseDigest, backup_key};
use crate::sim::x509;

/// Runs `f` on the device for a root Administrator.
fn admin(s: &Shared, headers: &HeaderMap, f: impl FnOnce(&mut DeviceState) -> Answer) -> Answer {
    let mut device = s.lock();
    authorize_root(&mut device, headers, ADMIN)?;
    f(&mut device)
}

/// A `PUT` of a JSON value for a root Administrator: `store` checks and keeps it (204).
fn admin_put<T: DeserializeOwned>(
    s: &Shared,
    headers: &HeaderMap,
    body: &[u8],
    store: impl FnOnce(&mut DeviceState, T) -> Result<(), Response>,
) -> Answer {
    admin(s, headers, |device| {
        store(device, json_body(body)?)?;
        Ok(no_content())
    })
}

/// A `GET` of a JSON value for a root Administrator.
fn admin_get<T: Serialize>(
    s: &Shared,
    headers: &HeaderMap,
    value: impl FnOnce(&DeviceState) -> T,
) -> Answer {
    admin(s, headers, |device| {
        Ok(axum::Json(value(device)).into_response())
    })
}

fn bad_request(message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, message.to_owned())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ChangePassphrase {
    new_passphrase: SecretString,
    current_passphrase: SecretString,
}

impl ChangePassphrase {
    /// The new passphrase, if `current_ok` accepts the current one and the new one is long
    /// enough (400 otherwise).
    fn checked(self, current_ok: impl FnOnce(&str) -> bool) -> Result<SecretString, Response> {
        if !current_ok(self.current_passphrase.expose_secret()) {
            return Err(bad_request("Current passphrase is wrong"));
        }
        if !passphrase_ok(&self.new_passphrase) {
            return Err(bad_request("Passphrase too short"));
        }
        Ok(self.new_passphrase)
    }
}

/// `PUT /config/unlock-passphrase`: the current one must match (400 otherwise).
pub(super) async fn set_unlock_passphrase(Cx { s, headers }: Cx, body: Bytes) -> Answer {
    admin_put(&s, &headers, &body, |device, request: ChangePassphrase| {
        let unlock = &device.unlock;
        let new = request.checked(|current| unlock.as_ref().is_some_and(|d| d.accepts(current)))?;
        device.unlock = Some(PassphraseDigest::new(&new));
        Ok(())
    })
}

/// `PUT /config/backup-passphrase`: the current one must match (`""` while none is set).
pub(super) async fn set_backup_passphrase(Cx { s, headers }: Cx, body: Bytes) -> Answer {
    admin_put(&s, &headers, &body, |device, request: ChangePassphrase| {
        let key = &device.config.backup_key;
        let new = request.checked(|current| match key {
            Some(key) => *backup_key(current) == **key,
            None => current.is_empty(),
        })?;
        device.config.backup_key = Some(backup_key(new.expose_secret()));
        Ok(())
    })
}

pub(super) async fn unattended_boot(Cx { s, headers }: Cx) -> Answer {
    admin_get(&s, &headers, |device| {
        let status = if device.config.unattended_boot {
            Switch::On
        } else {
            Switch::Off
        };
        UnattendedBootConfig { status }
    })
}

pub(super) async fn set_unattended_boot(Cx { s, headers }: Cx, body: Bytes) -> Answer {
    admin_put(&s, &headers, &body, |device, c: UnattendedBootConfig| {
        device.config.unattended_boot = c.status == Switch::On;
        Ok(())
    })
}

pub(super) async fn time(Cx { s, headers }: Cx) -> Answer {
    admin_get(&s, &headers, |device| TimeConfig {
        time: format_rfc3339(now_unix() + device.config.clock_offset),
    })
}

pub(super) async fn set_time(Cx { s, headers }: Cx, body: Bytes) -> Answer {
    admin_put(&s, &headers, &body, |device, request: TimeConfig| {
        device.config.clock_offset = clock_offset_for(&request.time)
            .ok_or_else(|| bad_request("Invalid time: RFC 3339 expected"))?;
        Ok(())
    })
}

pub(super) async fn ntp(Cx { s, headers }: Cx) -> Answer {
    admin_get(&s, &headers, |device| device.config.ntp.clone())
}

pub(super) async fn set_ntp(Cx { s, headers }: Cx, body: Bytes) -> Answer {
    admin_put(&s, &headers, &body, |device, request: NtpConfig| {
        if request
            .ntp_ip
            .as_deref()
            .is_some_and(|ip| ip.parse::<std::net::IpAddr>().is_err())
        {
            return Err(bad_request("Invalid NTP server address"));
        }
        device.config.ntp = request;
        Ok(())
    })
}

pub(super) async fn logging(Cx { s, headers }: Cx) -> Answer {
    admin_get(&s, &headers, |device| device.config.logging.clone())
}

pub(super) async fn set_logging(Cx { s, headers }: Cx, body: Bytes) -> Answer {
    admin_put(&s, &headers, &body, |device, request: LoggingConfig| {
        if request.ip_address.parse::<std::net::IpAddr>().is_err() {
            return Err(bad_request("Invalid IP address"));
        }
        device.config.logging = request;
        Ok(())
    })
}

pub(super) async fn network(Cx { s, headers }: Cx) -> Answer {
    admin_get(&s, &headers, |device| {
        let mut config = device.config.network.clone();
        // Answers always carry the gateway.
        let _ = config.gateway.get_or_insert_with(|| "0.0.0.0".into());
        config
    })
}

pub(super) async fn set_network(Cx { s, headers }: Cx, body: Bytes) -> Answer {
    admin_put(&s, &headers, &body, |device, request: NetworkConfig| {
        let v4 = |a: &str| a.parse::<std::net::Ipv4Addr>().is_ok();
        let ok = v4(&request.ip_address)
            && v4(&request.netmask)
            && request.gateway.as_deref().is_none_or(v4);
        if !ok {
            return Err(bad_request("Invalid network configuration"));
        }
        device.config.network = request;
        Ok(())
    })
}

/// The TLS key's public key, PEM.
fn tls_public(secret: Option<&SimSecret>) -> Option<String> {
    let data = crate::protocol::PublicKeyData {
        mechanisms: Vec::new(),
        key_type: secret?.key_type(),
        restrictions: crate::protocol::KeyRestrictions::default(),
        public: secret?.public(),
        operations: 0,
        label: None,
    };
    crate::protocol::key_types::public_key_of(&data)
        .ok()
        .flatten()
        .map(|pk| pk.to_pem())
}

pub(super) async fn tls_public_pem(Cx { s, headers }: Cx) -> Answer {
    admin(&s, &headers, |device| {
        tls_public(device.config.tls_key.as_ref())
            .map(pem)
            .ok_or_else(no_tls_key)
    })
}

fn no_tls_key() -> Response {
    error(StatusCode::INTERNAL_SERVER_ERROR, "no TLS key")
}

pub(super) async fn tls_cert(Cx { s, headers }: Cx) -> Answer {
    admin(&s, &headers, |device| {
        Ok(pem(device.config.tls_certificate.clone()))
    })
}

/// `PUT /config/tls/cert.pem`: a certificate for the current TLS key (400 otherwise).
pub(super) async fn set_tls_cert(Cx { s, headers }: Cx, body: Bytes) -> Answer {
    admin(&s, &headers, |device| {
        let not_pem = || bad_request("Certificate is not PEM");
        let text = std::str::from_utf8(&body).map_err(|_| not_pem())?;
        let public = tls_public(device.config.tls_key.as_ref()).ok_or_else(no_tls_key)?;
        let matches = x509::certificate_has_key(text, &public).ok_or_else(not_pem)?;
        if !matches {
            return Err(bad_request("Certificate does not match the TLS key"));
        }
        device.config.tls_certificate = text.to_owned();
        if let Some(key) = device.config.tls_key.as_ref() {
            let _ = s.serve_identity(key, text);
        }
        Ok(StatusCode::CREATED.into_response())
    })
}

pub(super) async fn tls_csr(Cx { s, headers }: Cx, body: Bytes) -> Answer {
    admin(&s, &headers, |device| {
        let request: DistinguishedName = json_body(&body)?;
        let key = device.config.tls_key.as_ref().ok_or_else(no_tls_key)?;
        Ok(crate::sim::csr::csr_pem(key, &request, &s.rng).map(pem)?)
    })
}

/// What `POST /config/tls/generate` makes for `request`, checked as the device checks it:
/// the key type to generate and the length to pass on (RSA only), or the device's 400.
///
/// The device's rule (Nitrokey's keyfender, public source: `handler_config.ml` class
/// `tls_generate` maps RSA, Curve25519, EC_P256/P384/P521 and BrainpoolP256/384/512 and
/// refuses every other type with 400 "Unsupported key type '"TYPE"' for TLS"; `hsm.ml`
/// `Key.generate_x509` takes an RSA length of 1024 to 8192 inclusive, else 400 "Length must be
/// between 1024 and 8192.", and ignores the length of every other type; a missing length is
/// 0 (`json.ml` `tls_generate_key_req`, `[@default 0]`).
fn tls_key_to_generate(
    request: &TlsKeyGenerateRequest,
) -> Result<(crate::protocol::KeyType, Option<u32>), Response> {
    use crate::protocol::KeyType as T;
    match request.key_type {
        T::Rsa => {
            let length = request.length.unwrap_or(0);
            if !(1024..=8192).contains(&length) {
                return Err(bad_request("Length must be between 1024 and 8192."));
            }
            Ok((T::Rsa, Some(length)))
        }
        t @ (T::Curve25519
        | T::EcP256
        | T::EcP384
        | T::EcP521
        | T::BrainpoolP256
        | T::BrainpoolP384
        | T::BrainpoolP512) => Ok((t, None)),
        other => {
            let name = serde_json::to_string(&other).unwrap_or_default();
            Err(bad_request(&format!(
                "Unsupported key type '{name}' for TLS"
            )))
        }
    }
}

/// `POST /config/tls/generate`: a new TLS key and a self-signed certificate for it.
///
/// The key is made on tokio's blocking threads, never on the workers that answer requests: an
/// RSA key of the sizes the device offers takes seconds (an 8191-bit one a quarter of a
/// minute), and other clients are answered meanwhile.
pub(super) async fn tls_generate(Cx { s, headers }: Cx, body: Bytes) -> Answer {
    authorize_root(&mut s.lock(), &headers, ADMIN)?;
    let request: TlsKeyGenerateRequest = json_body(&body)?;
    let (key_type, length) = tls_key_to_generate(&request)?;
    let rng = s.rng.clone();
    let made = tokio::task::spawn_blocking(move || {
        let key = SimSecret::generate(key_type, length, &rng)?;
        let cert = x509::self_signed_pem(&key, "NetHSM simulator", &rng)?;
        Ok::<_, crate::sim::crypto::SimError>((key, cert))
    })
    .await;
    match made {
        Ok(Ok((key, cert))) => {
            let _ = s.serve_identity(&key, &cert);
            let mut device = s.lock();
            device.config.tls_key = Some(key);
            device.config.tls_certificate = cert;
            Ok(no_content())
        }
        Ok(Err(e)) => Err(e.into()),
        Err(_) => Err(error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "generation failed",
        )),
    }
}

pub(super) async fn cluster_ca(Cx { s, headers }: Cx) -> Answer {
    admin(&s, &headers, |device| match &device.config.cluster_ca {
        Some(ca) => Ok(pem(ca.clone())),
        None => Err(error(
            StatusCode::NOT_FOUND,
            "Cluster CA has never been set",
        )),
    })
}

/// `PUT /config/tls/cluster-ca.pem`: a CA certificate that signed the TLS certificate (412
/// otherwise, like the device).
pub(super) async fn set_cluster_ca(Cx { s, headers }: Cx, body: Bytes) -> Answer {
    admin(&s, &headers, |device| {
        let malformed = || bad_request("Certificate malformed");
        let text = std::str::from_utf8(&body).map_err(|_| malformed())?;
        match x509::signed_by(&device.config.tls_certificate, text) {
            None => Err(malformed()),
            Some(false) => Err(error(
                StatusCode::PRECONDITION_FAILED,
                "The TLS certificate is not signed by this CA",
            )),
            Some(true) => {
                device.config.cluster_ca = Some(text.to_owned());
                Ok(StatusCode::CREATED.into_response())
            }
        }
    })
}
