//! The set-up the NetHSM signing benches share: the in-process simulator (no added latency) on
//! a runtime of its own, clients of its operator, and a P-256 key its administrator generated.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::sync::Arc;

use hsm_core::{KeyId, SignAlgorithm};
use hsm_nethsm::client::DEFAULT_TIMEOUT;
use hsm_nethsm::sim::{SimConfig, Simulator};
use hsm_nethsm::{NetHsm, NetHsmClient};
use hsm_testkit::bench;

/// The integration tests' fixtures (clients of the simulator's users, keys).
#[path = "../../tests/support/mod.rs"]
mod fixtures;

/// What the benches sign with.
pub const ALGORITHM: SignAlgorithm = SignAlgorithm::EcdsaSha256;

/// A running simulator and the bench's key on it.
pub struct SimBench {
    /// The simulator's runtime (two workers named `sim`), kept for as long as the bench runs.
    _server: tokio::runtime::Runtime,
    sim: Simulator,
    /// The P-256 key to sign with.
    pub key: KeyId,
}

impl SimBench {
    /// Starts the simulator and generates the P-256 key `key` as its administrator.
    pub fn start(key: &str) -> Self {
        let server = bench::runtime("sim");
        let sim = Simulator::start(SimConfig::default(), server.handle()).unwrap();
        let admin = NetHsm::new(fixtures::operator_clients(&sim, DEFAULT_TIMEOUT)().unwrap())
            .unwrap()
            .with_admin(fixtures::admin());
        let key = fixtures::p256_key(&admin, key);
        Self {
            _server: server,
            sim,
            key,
        }
    }

    /// A new client of the operator, with pools of its own.
    pub fn client(&self) -> NetHsmClient {
        self.clients()().unwrap()
    }

    /// A maker of operator clients that holds no borrow of `self` (for thread lanes).
    pub fn clients(&self) -> impl Fn() -> hsm_core::Result<NetHsmClient> + Send + Sync + 'static {
        fixtures::operator_clients(&self.sim, DEFAULT_TIMEOUT)
    }

    /// A blocking backend of the operator over a new client.
    pub fn blocking(&self) -> Arc<NetHsm> {
        Arc::new(NetHsm::new(self.client()).unwrap())
    }
}
