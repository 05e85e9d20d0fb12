//! A hostile N200 for fault tests: an HTTPS server on loopback that answers each request with
//! the next step of a script (exact statuses, resets, truncated, slow, oversized and mistyped
//! bodies, silence) and records which command each request carried. One request per
//! connection (`connection: close`), so every step meets a fresh connection.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hsm_core::secret::SecretString;
use hsm_core::tls::TlsOptions;
use hsm_n200::{N200Client, N200ClientBuilder};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// One scripted answer.
#[derive(Clone, Debug)]
pub(crate) enum Step {
    /// This status with this JSON body.
    Json(u16, String),
    /// 200 with this content type and body.
    Typed(&'static str, &'static str),
    /// Reset the connection (RST) instead of answering.
    Reset,
    /// Announce 100 bytes of JSON, send 10, close.
    Truncated,
    /// Announce 100 bytes, send one every 100 ms.
    SlowBody,
    /// Announce (Content-Length) this many bytes and stream them.
    Announced(usize),
    /// Stream this many bytes without a Content-Length, then close.
    Unannounced(usize),
    /// Read the request, never answer.
    Stall,
}

impl Step {
    /// 200 with this JSON body.
    pub(crate) fn ok(body: impl Into<String>) -> Self {
        Self::Json(200, body.into())
    }

    /// This status with an N200-style error body.
    pub(crate) fn status(status: u16) -> Self {
        Self::Json(
            status,
            format!(r#"{{"result":"ERROR","error":"scripted {status}"}}"#),
        )
    }
}

#[derive(Default)]
struct State {
    script: VecDeque<Step>,
    seen: Vec<String>,
}

/// The server; stops with its runtime when dropped.
pub(crate) struct Hostile {
    port: u16,
    pin: [u8; 32],
    state: Arc<Mutex<State>>,
    _runtime: tokio::runtime::Runtime,
}

impl Hostile {
    pub(crate) fn start() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let certified = rcgen::generate_simple_self_signed(vec!["hostile".into()]).unwrap();
        let der = certified.cert.der().to_vec();
        let pin = openssl::sha::sha256(&der);
        let config = rustls::ServerConfig::builder_with_provider(hsm_core::tls::crypto_provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from(der)],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
                    certified.signing_key.serialize_der(),
                )),
            )
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let port = listener.local_addr().unwrap().port();
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
        Self {
            port,
            pin,
            state,
            _runtime: runtime,
        }
    }

    /// Replaces the script and forgets the requests seen so far.
    pub(crate) fn script(&self, steps: impl IntoIterator<Item = Step>) {
        let mut state = self.state.lock().unwrap();
        state.script = steps.into_iter().collect();
        state.seen.clear();
    }

    /// The command of every request since the last `script` (`genecckey`, `timestamp`...).
    pub(crate) fn seen(&self) -> Vec<String> {
        self.state.lock().unwrap().seen.clone()
    }

    /// A client of this server (pinned certificate) with `timeout` as the call budget.
    pub(crate) fn client(&self, password: &str, timeout: Duration) -> N200Client {
        self.builder(password).timeout(timeout).build().unwrap()
    }

    pub(crate) fn builder(&self, password: &str) -> N200ClientBuilder {
        N200Client::builder(
            "127.0.0.1",
            self.port,
            "pkmaster",
            SecretString::from(password),
        )
        .tls(
            TlsOptions::default()
                .with_pin_sha256(self.pin)
                .with_server_name("hostile"),
        )
    }
}

/// Reads one request; returns its command (the POST form's `command`, or the GET path's first
/// segment under `/n200/`).
async fn read_request<S: tokio::io::AsyncRead + Unpin>(stream: &mut S) -> Option<String> {
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
    let path = head.split(' ').nth(1).unwrap_or_default();
    if let Some(rest) = path.strip_prefix("/n200/")
        && !rest.starts_with("web/")
    {
        return Some(rest.split('/').next().unwrap_or_default().to_owned());
    }
    Some(
        url::form_urlencoded::parse(&body)
            .find(|(k, _)| k == "command")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default(),
    )
}

fn head(status: u16, content_type: &str, length: Option<usize>) -> Vec<u8> {
    let mut h =
        format!("HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\nconnection: close\r\n");
    if let Some(n) = length {
        h.push_str(&format!("content-length: {n}\r\n"));
    }
    h.push_str("\r\n");
    h.into_bytes()
}

async fn serve(
    mut tls: tokio_rustls::server::TlsStream<tokio::net::TcpStream>,
    state: Arc<Mutex<State>>,
) {
    let Some(command) = read_request(&mut tls).await else {
        return;
    };
    let step = {
        let mut state = state.lock().unwrap();
        state.seen.push(command);
        state
            .script
            .pop_front()
            .unwrap_or_else(|| Step::status(599))
    };
    match step {
        Step::Json(status, body) => {
            let _ = tls
                .write_all(&head(status, "application/json", Some(body.len())))
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
            let _ = tls.write_all(br#"{"command""#).await;
        }
        Step::SlowBody => {
            let _ = tls
                .write_all(&head(200, "application/json", Some(100)))
                .await;
            for _ in 0..100 {
                let _ = tls.flush().await;
                tokio::time::sleep(Duration::from_millis(100)).await;
                if tls.write_all(b" ").await.is_err() {
                    return;
                }
            }
        }
        Step::Announced(n) => {
            let _ = tls.write_all(&head(200, "application/json", Some(n))).await;
            stream(&mut tls, n).await;
        }
        Step::Unannounced(n) => {
            let _ = tls.write_all(&head(200, "application/json", None)).await;
            stream(&mut tls, n).await;
        }
        Step::Stall => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
    }
    let _ = tls.shutdown().await;
}

async fn stream<S: tokio::io::AsyncWrite + Unpin>(s: &mut S, mut n: usize) {
    let chunk = vec![b' '; 64 * 1024];
    while n > 0 {
        let k = n.min(chunk.len());
        if s.write_all(&chunk[..k]).await.is_err() {
            return;
        }
        n -= k;
    }
}
