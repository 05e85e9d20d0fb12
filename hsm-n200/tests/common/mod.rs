//! Fixtures the N200 tests share: a hostile scripted server ([`hostile`]), `n200://` URIs of a
//! simulator, a runtime for async calls, a P-256 key.
// Each test file uses some of these; a fixture that fails panics, as a test does.
#![allow(dead_code, clippy::unwrap_used)]

pub(crate) mod hostile;

use hsm_core::secret::ExposeSecret as _;
use hsm_core::{Curve, KeyId, KeySpec, KeyStore, KeyTemplate};
use hsm_n200::sim::Simulator;

/// An `n200://` URI of `sim`: its address, server name and TLS pin, with its user when `user`
/// and its key PIN when `key_pin`; the password comes from the options.
pub(crate) fn device_uri(sim: &Simulator, user: bool, key_pin: bool) -> String {
    let user = if user {
        format!("{}@", sim.user())
    } else {
        String::new()
    };
    let mut uri = format!(
        "n200://{user}{}?server-name={}&pin-sha256={}",
        sim.addr(),
        sim.server_name(),
        hex::encode(sim.cert_sha256()),
    );
    if key_pin {
        uri.push_str(&format!("&pin-value={}", sim.key_pin().expose_secret()));
    }
    uri
}

/// A current-thread runtime for the async calls of a test.
pub(crate) fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Generates the P-256 key `name` on `hsm`.
pub(crate) fn p256_key(hsm: &impl KeyStore, name: &str) -> KeyId {
    let key = KeyId::name(name).unwrap();
    let _ = hsm
        .generate_key(&KeyTemplate::new(key.clone(), KeySpec::Ec(Curve::P256)))
        .unwrap();
    key
}
