//! A signing service over HTTP, for any backend `--uri` names: the shape of a service a service
//! author copies.
//!
//! | route | what |
//! |---|---|
//! | `POST /sign` | JSON `{"key", "algorithm", "message": base64, "encoding"?: "der" or "raw"}` → `{"key", "algorithm", "signature": base64}` |
//! | `GET /keys/{key}/public` | the key's public key, PEM (SubjectPublicKeyInfo) |
//! | `GET /health` | 200 when the backend answers `health()`, else 503 |
//! | `GET /metrics` | HSM calls by operation and outcome and a latency histogram, Prometheus text format |
//!
//! Errors are JSON `{"error": "<the error's Display text>", "kind": "<kind>"}` with an HTTP status
//! chosen by the error's kind (not found → 404, invalid input → 400, the HSM unreachable → 503,
//! ...). No credential is ever in an answer or a log line: the URI is not printed, and the
//! library's errors carry none. SIGTERM or Ctrl-C stops taking connections, lets requests in
//! flight finish, and exits 0.
//!
//! ```sh
//! # a P-256 key on the built-in NetHSM simulator, on loopback port 8080
//! cargo run --example signing_service -- --uri nethsm+sim: --generate-key signer=p256
//! curl -s localhost:8080/keys/signer/public
//! curl -s localhost:8080/sign -H 'content-type: application/json' \
//!     -d '{"key":"signer","algorithm":"ecdsa-sha256","message":"aGVsbG8="}'
//! # the bundled load client: 200 signatures over 8 connections, each verified
//! cargo run --example signing_service -- --load-test 200 --target 127.0.0.1:8080 --key signer
//! ```
#![allow(clippy::print_stdout, clippy::print_stderr, missing_docs)]

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use clap::Parser;
use hsm::observe::{CallRecord, Observed, Observer};
use hsm::{AsyncHsm, Error, ErrorKind, KeyId, KeySpec, KeyTemplate, SignAlgorithm};
use serde::{Deserialize, Serialize};

/// A signing service on an HSM, or (`--load-test`) a load client for one.
#[derive(Parser)]
struct Args {
    #[command(flatten)]
    backend: common::BackendArg,
    /// Address to listen on (loopback unless you put a TLS proxy in front).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Generate a key at start, `NAME=SPEC` (e.g. `signer=p256`): for the `+sim:` backends,
    /// which start empty. Repeatable.
    #[arg(long = "generate-key", value_name = "NAME=SPEC")]
    generate_keys: Vec<String>,
    /// Instead of serving: send this many signing requests to `--target` and verify each answer.
    #[arg(long, value_name = "N")]
    load_test: Option<usize>,
    #[command(flatten)]
    load: load_test::Options,
}

fn main() -> ExitCode {
    common::main(run)
}

fn run(args: Args) -> common::Result {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    if let Some(requests) = args.load_test {
        return runtime.block_on(load_test::run(requests, args.load));
    }

    let metrics = Arc::new(Metrics::default());
    // The one place the service gets its backend: native async for NetHSM (one request per
    // signature on this runtime), a bounded blocking pool for the others.
    let uri = args.backend.uri();
    runtime.block_on(async {
        let backend = hsm::open_async(&uri).await?;
        let backend: Arc<dyn AsyncHsm> = Arc::new(Observed::new(backend, metrics.clone()));
        serve(backend, metrics, args.listen, &args.generate_keys).await
    })
}

async fn serve(
    backend: Arc<dyn AsyncHsm>,
    metrics: Arc<Metrics>,
    listen: SocketAddr,
    generate_keys: &[String],
) -> common::Result {
    for entry in generate_keys {
        let (name, spec) = entry
            .split_once('=')
            .ok_or_else(|| format!("--generate-key {entry:?}: expected NAME=SPEC"))?;
        let template = KeyTemplate::new(name.parse()?, spec.parse::<KeySpec>()?);
        backend.generate_key(&template).await?;
    }
    let state = AppState {
        hsm: backend,
        metrics,
    };
    let app = Router::new()
        .route("/sign", post(sign))
        .route("/keys/{key}/public", get(public_key))
        .route("/health", get(health))
        .route("/metrics", get(metrics_text))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind(listen).await?;
    // The ready line scripts wait for, with the port the system chose for `:0`.
    println!(
        "listening on http://{} (backend {})",
        listener.local_addr()?,
        state.hsm.backend()
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    eprintln!("shut down cleanly");
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C (SIGINT).
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(e) => {
                eprintln!("cannot listen for SIGTERM ({e}); stopping on Ctrl-C only");
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    eprintln!("shutting down: finishing requests in flight");
}

#[derive(Clone)]
struct AppState {
    hsm: Arc<dyn AsyncHsm>,
    metrics: Arc<Metrics>,
}

// ---- Requests and answers ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignRequest {
    key: String,
    algorithm: String,
    /// The message, base64 (for `ecdsa-prehashed`, the digest).
    message: String,
    /// `der` (default: what X.509 and `openssl dgst -verify` take) or `raw` (r || s) for ECDSA.
    #[serde(default)]
    encoding: Encoding,
}

#[derive(Deserialize, Default, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum Encoding {
    #[default]
    Der,
    Raw,
}

#[derive(Serialize, Deserialize)]
struct SignResponse {
    key: String,
    algorithm: String,
    signature: String,
}

#[derive(Serialize, Deserialize)]
struct ErrorBody {
    error: String,
    kind: String,
}

/// An error answer: the status for the error's kind and its `Display` text.
struct ApiError {
    status: StatusCode,
    body: ErrorBody,
}

impl ApiError {
    fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            body: ErrorBody {
                error: message.into(),
                kind: ErrorKind::InvalidInput.as_str().to_owned(),
            },
        }
    }
}

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        let kind = error.kind();
        let status = match kind {
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::InvalidInput => StatusCode::BAD_REQUEST,
            ErrorKind::Unsupported => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorKind::PermissionDenied => StatusCode::FORBIDDEN,
            ErrorKind::AlreadyExists => StatusCode::CONFLICT,
            // The service's own login to the HSM, or the HSM's state: not the caller's fault.
            ErrorKind::AuthenticationFailed { .. }
            | ErrorKind::Blocked
            | ErrorKind::InvalidState
            | ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::Timeout => StatusCode::GATEWAY_TIMEOUT,
            ErrorKind::Protocol | ErrorKind::Device => StatusCode::BAD_GATEWAY,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status.is_server_error() {
            // The whole chain for the operator; the caller gets the top error's Display text.
            let mut chain = error.to_string();
            let mut source = std::error::Error::source(&error);
            while let Some(cause) = source {
                chain.push_str(": ");
                chain.push_str(&cause.to_string());
                source = cause.source();
            }
            tracing::warn!(error = %chain, "request failed");
        }
        Self {
            status,
            body: ErrorBody {
                error: error.to_string(),
                kind: kind.as_str().to_owned(),
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(self.body)).into_response()
    }
}

fn parse_key(key: &str) -> Result<KeyId, ApiError> {
    key.parse().map_err(ApiError::from)
}

// ---- Handlers ----

async fn sign(State(state): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let request: SignRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!("the request is not the JSON /sign takes: {e}"))
    })?;
    let key = parse_key(&request.key)?;
    let algorithm: SignAlgorithm = request.algorithm.parse()?;
    let message = BASE64
        .decode(request.message.as_bytes())
        .map_err(|e| ApiError::bad_request(format!("`message` is not base64: {e}")))?;
    let signature = state.hsm.sign(&key, algorithm, &message).await?;
    let bytes = match request.encoding {
        Encoding::Der => signature.to_der(),
        Encoding::Raw => signature.to_raw(),
    };
    Ok(axum::Json(SignResponse {
        key: key.to_string(),
        algorithm: algorithm.name().to_owned(),
        signature: BASE64.encode(bytes),
    })
    .into_response())
}

async fn public_key(
    State(state): State<AppState>,
    Path(key): Path<String>,
) -> Result<Response, ApiError> {
    let key = parse_key(&key)?;
    let public_key = state.hsm.public_key(&key).await?;
    Ok((
        [(header::CONTENT_TYPE, "application/x-pem-file")],
        public_key.to_pem(),
    )
        .into_response())
}

async fn health(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    state.hsm.health().await.map_err(|e| {
        let mut error = ApiError::from(e);
        error.status = StatusCode::SERVICE_UNAVAILABLE;
        error
    })?;
    Ok("ok\n")
}

async fn metrics_text(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

// ---- Metrics ----

/// Upper bounds of the latency histogram's buckets, in seconds.
const BUCKETS: [f64; 14] = [
    0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// HSM calls as the [`Observed`] wrapper reports them: counts by backend, operation and outcome,
/// and a latency histogram by backend and operation.
#[derive(Debug, Default)]
struct Metrics {
    inner: Mutex<MetricsInner>,
}

#[derive(Debug, Default)]
struct MetricsInner {
    calls: BTreeMap<(&'static str, &'static str, String), u64>,
    latency: BTreeMap<(&'static str, &'static str), Histogram>,
}

#[derive(Debug, Default)]
struct Histogram {
    /// Calls at or below each bound of [`BUCKETS`] (not cumulative; summed when rendered).
    buckets: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

impl Observer for Metrics {
    fn on_call(&self, record: &CallRecord<'_>) {
        // `ok` or the error kind as a label value: `not_found`, `invalid_input`, ...
        let outcome = match record.outcome {
            Ok(()) => "ok".to_owned(),
            Err(kind) => kind.as_str().replace(' ', "_"),
        };
        let seconds = record.latency.as_secs_f64();
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        *inner
            .calls
            .entry((record.backend, record.operation, outcome))
            .or_default() += 1;
        let histogram = inner
            .latency
            .entry((record.backend, record.operation))
            .or_default();
        if let Some(slot) = BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .and_then(|i| histogram.buckets.get_mut(i))
        {
            *slot += 1;
        }
        histogram.sum += seconds;
        histogram.count += 1;
    }
}

impl Metrics {
    /// The Prometheus text exposition format (version 0.0.4).
    fn render(&self) -> String {
        use std::fmt::Write as _;
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out = String::new();
        out.push_str("# HELP hsm_calls_total HSM calls by backend, operation and outcome.\n");
        out.push_str("# TYPE hsm_calls_total counter\n");
        for ((backend, operation, outcome), count) in &inner.calls {
            let _ = writeln!(
                out,
                "hsm_calls_total{{backend=\"{backend}\",operation=\"{operation}\",outcome=\"{outcome}\"}} {count}"
            );
        }
        out.push_str(
            "# HELP hsm_call_duration_seconds HSM call latency by backend and operation.\n",
        );
        out.push_str("# TYPE hsm_call_duration_seconds histogram\n");
        for ((backend, operation), histogram) in &inner.latency {
            let labels = format!("backend=\"{backend}\",operation=\"{operation}\"");
            let mut cumulative = 0;
            for (bound, count) in BUCKETS.iter().zip(histogram.buckets) {
                cumulative += count;
                let _ = writeln!(
                    out,
                    "hsm_call_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "hsm_call_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                histogram.count
            );
            let _ = writeln!(
                out,
                "hsm_call_duration_seconds_sum{{{labels}}} {}",
                histogram.sum
            );
            let _ = writeln!(
                out,
                "hsm_call_duration_seconds_count{{{labels}}} {}",
                histogram.count
            );
        }
        out
    }
}

// ---- The load client ----

/// A bounded load test against a running service, on loopback only: N signing requests over a
/// few kept-alive connections, every answer verified with the key's public key, a sample written
/// for `openssl` to check.
mod load_test {
    use super::*;
    use hsm::{PublicKey, Signature};
    use hyper::client::conn::http1;
    use hyper_util::rt::TokioIo;

    #[derive(clap::Args)]
    pub(super) struct Options {
        /// The service to load (loopback addresses only).
        #[arg(long, default_value = "127.0.0.1:8080")]
        target: SocketAddr,
        /// The key to sign with.
        #[arg(long, default_value = "signer")]
        key: String,
        /// The algorithm to sign with.
        #[arg(long, default_value = "ecdsa-sha256")]
        algorithm: String,
        /// Connections (each sends its share of the requests one after another).
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        /// Give up (and fail) after this many seconds.
        #[arg(long, default_value_t = 60)]
        max_seconds: u64,
        /// Write the public key and this many messages and signatures here, for `openssl`.
        #[arg(long)]
        samples_dir: Option<PathBuf>,
        /// How many samples to write.
        #[arg(long, default_value_t = 5)]
        samples: usize,
    }

    /// One HTTP/1.1 connection to the service.
    struct Connection {
        sender: http1::SendRequest<Body>,
    }

    impl Connection {
        async fn open(target: SocketAddr) -> common::Result<Self> {
            let stream = tokio::net::TcpStream::connect(target).await?;
            let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    eprintln!("load test: connection ended: {e}");
                }
            });
            Ok(Self { sender })
        }

        async fn send(
            &mut self,
            method: &str,
            path: &str,
            body: Option<String>,
        ) -> common::Result<(StatusCode, Bytes)> {
            self.sender.ready().await?;
            let mut request = axum::http::Request::builder()
                .method(method)
                .uri(path)
                .header(header::HOST, "localhost");
            if body.is_some() {
                request = request.header(header::CONTENT_TYPE, "application/json");
            }
            let request = request.body(body.map_or_else(Body::empty, Body::from))?;
            let response = self.sender.send_request(request).await?;
            let status = response.status();
            let bytes = axum::body::to_bytes(Body::new(response.into_body()), 1 << 20).await?;
            Ok((status, bytes))
        }
    }

    pub(super) async fn run(requests: usize, options: Options) -> common::Result {
        if !options.target.ip().is_loopback() {
            return Err(format!(
                "--target {}: the load test sends only to loopback addresses",
                options.target
            )
            .into());
        }
        let algorithm: SignAlgorithm = options.algorithm.parse()?;
        let mut first = Connection::open(options.target).await?;
        let (status, pem) = first
            .send("GET", &format!("/keys/{}/public", options.key), None)
            .await?;
        if status != StatusCode::OK {
            return Err(format!(
                "GET public key: HTTP {status}: {}",
                String::from_utf8_lossy(&pem)
            )
            .into());
        }
        let public_key = Arc::new(PublicKey::from_pem(std::str::from_utf8(&pem)?)?);

        let deadline = Instant::now() + Duration::from_secs(options.max_seconds);
        let connections = options.concurrency.clamp(1, requests.max(1));
        let started = Instant::now();
        let mut tasks = Vec::new();
        for worker in 0..connections {
            let mut connection = if worker == 0 {
                std::mem::replace(&mut first, Connection::open(options.target).await?)
            } else {
                Connection::open(options.target).await?
            };
            let key = options.key.clone();
            let public_key = Arc::clone(&public_key);
            tasks.push(tokio::spawn(async move {
                let mut done = Vec::new();
                for i in (worker..requests).step_by(connections) {
                    if Instant::now() > deadline {
                        return Err::<_, String>(format!(
                            "the deadline passed before request {i} was sent"
                        ));
                    }
                    let message = format!("hsm-rs load test message {i}").into_bytes();
                    let sent = Instant::now();
                    let signature = sign_once(&mut connection, &key, algorithm, &message)
                        .await
                        .map_err(|e| format!("request {i}: {e}"))?;
                    let latency = sent.elapsed();
                    check(&public_key, algorithm, &message, &signature)
                        .map_err(|e| format!("request {i}: {e}"))?;
                    done.push((i, latency, message, signature));
                }
                Ok(done)
            }));
        }
        let mut results = Vec::with_capacity(requests);
        for task in tasks {
            results.extend(task.await??);
        }
        let elapsed = started.elapsed();
        drop(first);

        if let Some(dir) = &options.samples_dir {
            std::fs::create_dir_all(dir)?;
            std::fs::write(dir.join("public.pem"), public_key.to_pem())?;
            results.sort_by_key(|(i, ..)| *i);
            for (i, _, message, signature) in results.iter().take(options.samples) {
                std::fs::write(dir.join(format!("sample-{i}.msg")), message)?;
                std::fs::write(dir.join(format!("sample-{i}.sig")), signature)?;
            }
        }
        let mut latencies: Vec<Duration> = results.iter().map(|(_, l, ..)| *l).collect();
        latencies.sort();
        let percentile = |p: usize| {
            latencies
                .get((latencies.len() * p / 100).min(latencies.len().saturating_sub(1)))
                .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
        };
        println!(
            "load test: {} signatures ({algorithm}, {connections} connections) in {:.2} s: {:.1}/s, \
             p50 {:.2} ms, p99 {:.2} ms; every signature verified",
            results.len(),
            elapsed.as_secs_f64(),
            results.len() as f64 / elapsed.as_secs_f64(),
            percentile(50),
            percentile(99),
        );
        Ok(())
    }

    async fn sign_once(
        connection: &mut Connection,
        key: &str,
        algorithm: SignAlgorithm,
        message: &[u8],
    ) -> common::Result<Vec<u8>> {
        let body = serde_json::json!({
            "key": key,
            "algorithm": algorithm.name(),
            "message": BASE64.encode(message),
        });
        let (status, bytes) = connection
            .send("POST", "/sign", Some(body.to_string()))
            .await?;
        if status != StatusCode::OK {
            let error: ErrorBody = serde_json::from_slice(&bytes)?;
            return Err(format!("HTTP {status}: {} ({})", error.error, error.kind).into());
        }
        let answer: SignResponse = serde_json::from_slice(&bytes)?;
        Ok(BASE64.decode(answer.signature)?)
    }

    /// Verifies a DER (ECDSA) or plain (RSA, Ed25519) signature from the service.
    fn check(
        public_key: &PublicKey,
        algorithm: SignAlgorithm,
        message: &[u8],
        signature: &[u8],
    ) -> hsm::Result<()> {
        let signature = match public_key.curve() {
            Some(curve) if algorithm.is_ecdsa() => {
                Signature::ecdsa_from_der(algorithm, curve, signature)?
            }
            _ => Signature::from_bytes(algorithm, signature)?,
        };
        public_key.verify(message, &signature)
    }
}
