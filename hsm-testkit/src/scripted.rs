//! A hostile HTTPS server for fault tests: on loopback, it answers each request with the next
//! [`Step`] of a script (exact statuses, resets, truncated, slow, oversized and mistyped bodies,
//! silence) and records every request it read. One request per connection
//! (`connection: close`), so every step meets a fresh connection.
//!
//! ```no_run
//! use hsm_testkit::scripted::{ScriptedServer, Step};
//!
//! let server = ScriptedServer::start_on_own_runtime();
//! server.script([Step::Json(503, "{}"), Step::Reset, Step::Json(200, r#"{"state":"Operational"}"#)]);
//! // ... point a client at 127.0.0.1:server.port, pinning server.pin ...
//! assert_eq!(server.seen().len(), 3);
//! ```

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use hsm_core::tls::TlsOptions;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};

use crate::tls::TestCertificate;

/// The names the server's certificate is issued for.
pub const SERVER_NAMES: [&str; 2] = ["localhost", "127.0.0.1"];

/// The status every request gets once the script is used up (with [`ScriptedServer::exhausted`]
/// unset): a status no real server sends, so a test that asked for more answers than it
/// scripted fails clearly.
pub const EXHAUSTED_STATUS: u16 = 599;

/// One scripted answer.
#[derive(Clone, Debug)]
pub enum Step {
    /// This status with this JSON body.
    Json(u16, &'static str),
    /// This status with this body of this content type (bodies made at run time).
    Body {
        /// The HTTP status.
        status: u16,
        /// The `content-type` header.
        content_type: &'static str,
        /// The body.
        body: String,
    },
    /// 200 with this content type and body.
    Typed(&'static str, &'static str),
    /// Reset the connection (RST) instead of answering.
    Reset,
    /// Announce 100 bytes of JSON, send 10, close.
    Truncated,
    /// Announce a 200 JSON body of this many bytes and send one byte (a space) every 100 ms.
    Slow(usize),
    /// Announce (Content-Length) this many bytes and stream them (spaces).
    Oversized(usize),
    /// Stream this many bytes (spaces) with no Content-Length, then close.
    OversizedUnannounced(usize),
    /// Read the request and never answer.
    Hang,
}

/// One request the server read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// The method (`GET`, `POST`, ...).
    pub method: String,
    /// The request target as sent (path and query).
    pub path: String,
    /// The body (as long as its Content-Length said).
    pub body: Vec<u8>,
}

impl Request {
    /// `METHOD /path`.
    #[must_use]
    pub fn line(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

#[derive(Default)]
struct State {
    script: VecDeque<Step>,
    exhausted: Option<Step>,
    requests: Vec<Request>,
}

/// The server: it runs until its runtime stops (the caller's, or its own one, which stops when
/// the server is dropped).
#[derive(Debug)]
pub struct ScriptedServer {
    /// The loopback port it listens on.
    pub port: u16,
    /// The SHA-256 pin of its certificate.
    pub pin: [u8; 32],
    state: Arc<Mutex<State>>,
    _runtime: Option<tokio::runtime::Runtime>,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("script", &self.script)
            .field("requests", &self.requests.len())
            .finish_non_exhaustive()
    }
}

impl ScriptedServer {
    /// Starts a server on `runtime` with a fresh certificate for [`SERVER_NAMES`].
    #[must_use]
    pub fn start(runtime: &tokio::runtime::Runtime) -> Self {
        let (port, pin, state) = listen(runtime);
        Self {
            port,
            pin,
            state,
            _runtime: None,
        }
    }

    /// Starts a server on a runtime of its own (one worker thread), stopped when the server is
    /// dropped.
    #[must_use]
    pub fn start_on_own_runtime() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("scripted server: starting its tokio runtime");
        let (port, pin, state) = listen(&runtime);
        Self {
            port,
            pin,
            state,
            _runtime: Some(runtime),
        }
    }

    /// Replaces the script and forgets the requests seen so far.
    pub fn script(&self, steps: impl IntoIterator<Item = Step>) {
        let mut state = self.lock();
        state.script = steps.into_iter().collect();
        state.requests.clear();
    }

    /// The answer to every request once the script is used up (by default
    /// [`EXHAUSTED_STATUS`] with `{}`).
    pub fn exhausted(&self, step: Step) {
        self.lock().exhausted = Some(step);
    }

    /// Every request since the last [`script`](Self::script).
    #[must_use]
    pub fn requests(&self) -> Vec<Request> {
        self.lock().requests.clone()
    }

    /// `METHOD /path` of every request since the last [`script`](Self::script).
    #[must_use]
    pub fn seen(&self) -> Vec<String> {
        self.lock().requests.iter().map(Request::line).collect()
    }

    /// The request bodies since the last [`script`](Self::script).
    #[must_use]
    pub fn bodies(&self) -> Vec<Vec<u8>> {
        self.lock()
            .requests
            .iter()
            .map(|r| r.body.clone())
            .collect()
    }

    /// TLS options that trust exactly this server (its certificate pinned).
    #[must_use]
    pub fn tls(&self) -> TlsOptions {
        TlsOptions::default().with_pin_sha256(self.pin)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Binds a loopback listener and serves it on `runtime`; its port, certificate pin and state.
fn listen(runtime: &tokio::runtime::Runtime) -> (u16, [u8; 32], Arc<Mutex<State>>) {
    let certificate = TestCertificate::self_signed(&SERVER_NAMES);
    let acceptor = tokio_rustls::TlsAcceptor::from(certificate.server_config());
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("scripted server: binding a loopback port");
    let port = listener
        .local_addr()
        .expect("scripted server: its listening address")
        .port();
    let state = Arc::new(Mutex::new(State::default()));
    let shared = Arc::clone(&state);
    drop(runtime.spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let (acceptor, state) = (acceptor.clone(), Arc::clone(&shared));
            drop(tokio::spawn(async move {
                if let Ok(tls) = acceptor.accept(tcp).await {
                    serve(tls, state).await;
                }
            }));
        }
    }));
    (port, certificate.pin_sha256(), state)
}

/// Reads one request (head, and a body as long as its Content-Length); `None` at EOF.
async fn read_request<S: AsyncRead + Unpin>(stream: &mut S) -> Option<Request> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await.ok()? == 0 {
            return None;
        }
        head.extend_from_slice(&byte);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).await.ok()?;
    let mut line = head.lines().next().unwrap_or_default().split(' ');
    Some(Request {
        method: line.next().unwrap_or_default().to_owned(),
        path: line.next().unwrap_or_default().to_owned(),
        body,
    })
}

/// A response head; with no `length`, the body runs until the connection closes.
fn head(status: u16, content_type: &str, length: Option<usize>) -> Vec<u8> {
    let mut h =
        format!("HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\nconnection: close\r\n");
    if let Some(n) = length {
        h.push_str(&format!("content-length: {n}\r\n"));
    }
    h.push_str("\r\n");
    h.into_bytes()
}

/// Answers one request with the script's next step.
async fn serve(
    mut tls: tokio_rustls::server::TlsStream<tokio::net::TcpStream>,
    state: Arc<Mutex<State>>,
) {
    let Some(request) = read_request(&mut tls).await else {
        return;
    };
    let step = {
        let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
        state.requests.push(request);
        match state.script.pop_front() {
            Some(step) => step,
            None => state
                .exhausted
                .clone()
                .unwrap_or(Step::Json(EXHAUSTED_STATUS, "{}")),
        }
    };
    match step {
        Step::Json(status, body) => {
            let _ = tls
                .write_all(&head(status, "application/json", Some(body.len())))
                .await;
            let _ = tls.write_all(body.as_bytes()).await;
        }
        Step::Body {
            status,
            content_type,
            body,
        } => {
            let _ = tls
                .write_all(&head(status, content_type, Some(body.len())))
                .await;
            let _ = tls.write_all(body.as_bytes()).await;
        }
        Step::Typed(content_type, body) => {
            let _ = tls
                .write_all(&head(200, content_type, Some(body.len())))
                .await;
            let _ = tls.write_all(body.as_bytes()).await;
        }
        Step::Reset => {
            // Zero linger: closing sends RST instead of FIN.
            let _ = tls.get_ref().0.set_zero_linger();
            return;
        }
        Step::Truncated => {
            let _ = tls
                .write_all(&head(200, "application/json", Some(100)))
                .await;
            let _ = tls.write_all(br#"{"result":"#).await;
        }
        Step::Slow(n) => {
            let _ = tls.write_all(&head(200, "application/json", Some(n))).await;
            for _ in 0..n {
                let _ = tls.flush().await;
                tokio::time::sleep(Duration::from_millis(100)).await;
                if tls.write_all(b" ").await.is_err() {
                    return;
                }
            }
        }
        Step::Oversized(n) => {
            let _ = tls.write_all(&head(200, "application/json", Some(n))).await;
            stream_spaces(&mut tls, n).await;
        }
        Step::OversizedUnannounced(n) => {
            let _ = tls.write_all(&head(200, "application/json", None)).await;
            stream_spaces(&mut tls, n).await;
        }
        Step::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
    }
    let _ = tls.shutdown().await;
}

/// Writes `n` spaces (valid JSON padding: only a size limit can refuse them).
async fn stream_spaces<S: AsyncWrite + Unpin>(stream: &mut S, mut n: usize) {
    let chunk = vec![b' '; 64 * 1024];
    while n > 0 {
        let k = n.min(chunk.len());
        if stream
            .write_all(chunk.get(..k).unwrap_or_default())
            .await
            .is_err()
        {
            return;
        }
        n -= k;
    }
}
