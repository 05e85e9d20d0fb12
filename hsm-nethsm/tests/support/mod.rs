//! Helpers shared by the integration tests (and the benches): simulators, clients and
//! credentials of their users, keys, a plain HTTPS client of the API, the process's threads.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use hsm_core::{AsyncKeyStore, Curve, KeyId, KeySpec, KeyStore, KeyTemplate};
use hsm_nethsm::client::model::{GenerateKeyRequest, KeyMechanism, KeyType};
use hsm_nethsm::sim::{ADMIN_PASSPHRASE, InitialState, OPERATOR_PASSPHRASE, SimConfig, Simulator};
use hsm_nethsm::{Credentials, NetHsmClient, NetHsmClientBuilder};
pub use hsm_testkit::process::thread_ids;
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

/// The default simulator's `admin`.
pub fn admin() -> Credentials {
    Credentials::new("admin", SecretString::from(ADMIN_PASSPHRASE))
}

/// The default simulator's `operator`.
pub fn operator() -> Credentials {
    Credentials::new("operator", SecretString::from(OPERATOR_PASSPHRASE))
}

/// A maker of clients of `sim`'s operator, each with pools of its own, pinning the simulator's
/// TLS certificate, with `timeout` for a call: what thread lanes take.
pub fn operator_clients(
    sim: &Simulator,
    timeout: Duration,
) -> impl Fn() -> hsm_core::Result<NetHsmClient> + Send + Sync + 'static {
    let (port, tls) = (sim.addr().port(), sim.tls_options());
    move || {
        NetHsmClient::builder("127.0.0.1", port)
            .credentials(operator())
            .tls(tls.clone())
            .timeout(timeout)
            .build()
    }
}

/// Generates the P-256 key `name` through `hsm`.
pub fn p256_key(hsm: &(impl KeyStore + ?Sized), name: &str) -> KeyId {
    let key: KeyId = name.parse().unwrap();
    let _ = hsm
        .generate_key(&KeyTemplate::new(key.clone(), KeySpec::Ec(Curve::P256)))
        .unwrap();
    key
}

/// Generates the P-256 key `name` through the async `hsm`.
pub async fn p256_key_async(hsm: &(impl AsyncKeyStore + ?Sized), name: &str) -> KeyId {
    let key: KeyId = name.parse().unwrap();
    let _ = hsm
        .generate_key(&KeyTemplate::new(key.clone(), KeySpec::Ec(Curve::P256)))
        .await
        .unwrap();
    key
}

/// The error of `result`, which must be an authentication failure (whatever the device said).
pub fn authentication_failure<T: std::fmt::Debug>(result: hsm_core::Result<T>) -> hsm_core::Error {
    let error = result.unwrap_err();
    let failed = matches!(
        error.kind(),
        hsm_core::ErrorKind::AuthenticationFailed { .. }
    );
    assert!(failed, "{error}");
    error
}

/// A service's runtime: two workers, like `#[tokio::main]` on this machine.
pub fn service_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Watches /proc/self/task every `period` and keeps every thread id it sees, so that a thread
/// started and joined between two looks at the total is still caught.
pub struct ThreadWatch {
    seen: Arc<Mutex<BTreeSet<u64>>>,
    looks: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl ThreadWatch {
    /// Starts watching; returns once the first look (which sees the watcher's own thread) is
    /// taken.
    pub fn start(period: Duration) -> Self {
        let seen = Arc::new(Mutex::new(BTreeSet::new()));
        let looks = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let handle = {
            let (seen, looks, stop) = (Arc::clone(&seen), Arc::clone(&looks), Arc::clone(&stop));
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    seen.lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .extend(thread_ids());
                    let _ = looks.fetch_add(1, Ordering::Relaxed);
                    std::thread::sleep(period);
                }
            })
        };
        while looks.load(Ordering::Relaxed) == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
        Self {
            seen,
            looks,
            stop,
            handle: Some(handle),
        }
    }

    /// The thread ids seen since the last call.
    pub fn take(&self) -> BTreeSet<u64> {
        std::mem::take(&mut *self.seen.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Stops watching: the thread ids seen since the last [`Self::take`], and how many looks
    /// were taken in all.
    pub fn finish(mut self) -> (BTreeSet<u64>, u64) {
        self.stop_watching();
        (self.take(), self.looks.load(Ordering::Relaxed))
    }

    fn stop_watching(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

impl Drop for ThreadWatch {
    fn drop(&mut self) {
        self.stop_watching();
    }
}

/// Generates an ECDSA P-256 key of each id in `ids` through `admin`, one after another.
pub async fn generate_p256_keys(admin: &NetHsmClient, ids: impl IntoIterator<Item = String>) {
    for id in ids {
        let request = key_request(&id, KeyType::EcP256, &[KeyMechanism::EcdsaSignature]);
        let _ = admin.generate_key(&request).await.unwrap();
    }
}

/// A request to generate the 2048-bit RSA key `id` for `mechanisms`.
pub fn rsa2048_request(id: &str, mechanisms: &[KeyMechanism]) -> GenerateKeyRequest {
    GenerateKeyRequest {
        length: Some(2048),
        ..key_request(id, KeyType::Rsa, mechanisms)
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

/// The default simulator's `admin`, for [`RawApi::request`].
pub const ADMIN: Option<(&str, &str)> = Some(("admin", ADMIN_PASSPHRASE));
/// The default simulator's `operator`, for [`RawApi::request`].
pub const OPERATOR: Option<(&str, &str)> = Some(("operator", OPERATOR_PASSPHRASE));

/// A plain HTTPS client of one simulator's API (`reqwest`, trusting exactly its certificate),
/// for requests the typed client would not send.
pub struct RawApi {
    /// The HTTP client (a 60 s timeout per request).
    pub http: reqwest::Client,
    /// `https://127.0.0.1:PORT/api/v1`.
    pub base: String,
}

impl RawApi {
    /// A client of `sim`.
    pub fn new(sim: &Simulator) -> Self {
        let tls = hsm_core::tls::client_config(&sim.tls_options()).unwrap();
        Self {
            http: reqwest::Client::builder()
                .tls_backend_preconfigured(tls)
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
            base: format!("https://127.0.0.1:{}/api/v1", sim.addr().port()),
        }
    }

    /// `method path` (under the API base) as `user`, with `body` (content type, bytes).
    pub fn request(
        &self,
        method: &str,
        path: &str,
        user: Option<(&str, &str)>,
        body: Option<(&str, Vec<u8>)>,
    ) -> reqwest::RequestBuilder {
        let mut request = self
            .http
            .request(method.parse().unwrap(), format!("{}{path}", self.base));
        if let Some((u, p)) = user {
            request = request.basic_auth(u, Some(p));
        }
        if let Some((content_type, bytes)) = body {
            request = request.header("content-type", content_type).body(bytes);
        }
        request
    }
}

/// A `multipart/form-data` body of `(name, content type, bytes)` parts, with its content type.
pub fn multipart_form(parts: &[(&str, &str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "hsm-nethsm-test-boundary-7f3a";
    let mut body = Vec::new();
    for (name, content_type, bytes) in parts {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\
                 Content-Type: {content_type}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}
