//! The set-up the NetHSM signing benches share: the in-process simulator (no added latency) on
//! a runtime of its own, clients of its operator, and a P-256 key its administrator generated.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::sync::Arc;

use hsm_core::{Curve, KeyId, KeySpec, KeyStore as _, KeyTemplate, SignAlgorithm};
use hsm_nethsm::sim::{ADMIN_PASSPHRASE, OPERATOR_PASSPHRASE, SimConfig, Simulator};
use hsm_nethsm::{Credentials, NetHsm, NetHsmClient};
use hsm_testkit::bench;
use secrecy::SecretString;

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
        let key: KeyId = key.parse().unwrap();
        let admin = NetHsm::new(operator_clients(&sim)().unwrap())
            .unwrap()
            .with_admin(Credentials::new(
                "admin",
                SecretString::from(ADMIN_PASSPHRASE),
            ));
        let _ = admin
            .generate_key(&KeyTemplate::new(key.clone(), KeySpec::Ec(Curve::P256)))
            .unwrap();
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
        operator_clients(&self.sim)
    }

    /// A blocking backend of the operator over a new client.
    pub fn blocking(&self) -> Arc<NetHsm> {
        Arc::new(NetHsm::new(self.client()).unwrap())
    }
}

/// A maker of clients of `sim`'s operator, pinning its TLS certificate.
fn operator_clients(
    sim: &Simulator,
) -> impl Fn() -> hsm_core::Result<NetHsmClient> + Send + Sync + 'static {
    let (port, tls) = (sim.addr().port(), sim.tls_options());
    move || {
        NetHsmClient::builder("127.0.0.1", port)
            .credentials(Credentials::new(
                "operator",
                SecretString::from(OPERATOR_PASSPHRASE),
            ))
            .tls(tls.clone())
            .build()
    }
}
