//! Helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub)]

pub mod scripted;

use hsm_nethsm::sim::{ADMIN_PASSPHRASE, OPERATOR_PASSPHRASE, SimConfig, Simulator};
use hsm_nethsm::{Credentials, NetHsmClient, NetHsmClientBuilder};
use secrecy::SecretString;

/// The default simulator (Operational, with `admin` and `operator`) on a runtime of its own.
pub fn default_sim() -> (tokio::runtime::Runtime, Simulator) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sim = Simulator::start(SimConfig::default(), runtime.handle()).unwrap();
    (runtime, sim)
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
