//! Helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use hsm_nethsm::client::model::{GenerateKeyRequest, KeyMechanism, KeyType};
use hsm_nethsm::sim::{ADMIN_PASSPHRASE, InitialState, OPERATOR_PASSPHRASE, SimConfig, Simulator};
use hsm_nethsm::{Credentials, NetHsmClient, NetHsmClientBuilder};
use hsm_testkit::scripted::ScriptedServer;
use secrecy::SecretString;

/// The default simulator (Operational, with `admin` and `operator`) on a runtime of its own.
pub fn default_sim() -> (tokio::runtime::Runtime, Simulator) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sim = Simulator::start(SimConfig::default(), runtime.handle()).unwrap();
    (runtime, sim)
}

/// A fresh (Unprovisioned) simulator on `runtime`.
pub fn unprovisioned_sim(runtime: &tokio::runtime::Runtime) -> Simulator {
    let config = SimConfig {
        state: InitialState::Unprovisioned,
        ..SimConfig::default()
    };
    Simulator::start(config, runtime.handle()).unwrap()
}

/// A request to generate key `id` of `key_type` for `mechanisms`: the type's default length,
/// no tags, no label.
pub fn key_request(id: &str, key_type: KeyType, mechanisms: &[KeyMechanism]) -> GenerateKeyRequest {
    GenerateKeyRequest {
        mechanisms: mechanisms.to_vec(),
        key_type,
        length: None,
        id: Some(id.into()),
        restrictions: None,
        label: None,
    }
}

/// A client builder for `user` of `sim`, pinning the simulator's TLS certificate.
pub fn sim_client_builder(sim: &Simulator, user: &str, pass: &str) -> NetHsmClientBuilder {
    NetHsmClient::builder("127.0.0.1", sim.addr().port())
        .credentials(Credentials::new(user, SecretString::from(pass)))
        .tls(sim.tls_options())
}

/// A client for `user` of `sim`, with the default retry policy and timeouts.
pub fn sim_client(sim: &Simulator, user: &str, pass: &str) -> NetHsmClient {
    sim_client_builder(sim, user, pass).build().unwrap()
}

/// Clients for the default simulator's `admin` and `operator`.
pub fn admin_and_operator(sim: &Simulator) -> (NetHsmClient, NetHsmClient) {
    (
        sim_client(sim, "admin", ADMIN_PASSPHRASE),
        sim_client(sim, "operator", OPERATOR_PASSPHRASE),
    )
}

/// NetHSM clients of a scripted server (`hsm_testkit::scripted`).
pub trait ScriptedClient {
    /// A client builder for `user` of this server, pinning its TLS certificate.
    fn client_builder(&self, user: &str, pass: &str) -> NetHsmClientBuilder;
}

impl ScriptedClient for ScriptedServer {
    fn client_builder(&self, user: &str, pass: &str) -> NetHsmClientBuilder {
        NetHsmClient::builder("127.0.0.1", self.port)
            .credentials(Credentials::new(user, SecretString::from(pass)))
            .tls(self.tls())
    }
}
