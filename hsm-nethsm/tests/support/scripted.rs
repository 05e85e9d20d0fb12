//! A tiny HTTPS server that answers each request with the next step of a script: exact status
//! codes, broken connections, truncated, slow, oversized and mistyped bodies. It records the
//! request lines it saw.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hsm_core::tls::TlsOptions;
use hsm_nethsm::{Credentials, NetHsmClient, NetHsmClientBuilder};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use secrecy::SecretString;
use sha2::Digest as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// One scripted answer.
#[derive(Clone, Debug)]
pub enum Step {
    /// This status with a JSON body.
    Json(u16, &'static str),
    /// 200 with this content type and body.
    Typed(&'static str, &'static str),
    /// Reset the connection (RST) instead of answering.
    Reset,
    /// Announce 100 bytes of JSON, send 10, close.
    Truncated,
    /// Send a 200 JSON body of this many bytes, one byte per 100 ms.
    Slow(usize),
    /// Announce (Content-Length) this many bytes and stream them.
    Oversized(usize),
    /// Stream this many bytes with no Content-Length, then close.
    OversizedUnannounced(usize),
    /// Accept the request and never answer.
    Hang,
}

#[derive(Default)]
struct State {
    script: VecDeque<Step>,
    seen: Vec<String>,
    bodies: Vec<Vec<u8>>,
}

pub struct ScriptedServer {
    pub port: u16,
    pub pin: [u8; 32],
    state: Arc<Mutex<State>>,
}

impl ScriptedServer {
    pub fn start(runtime: &tokio::runtime::Runtime) -> Self {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let der = cert.der().to_vec();
        let pin: [u8; 32] = sha2::Sha256::digest(&der).into();
        let config = rustls::ServerConfig::builder_with_provider(hsm_core::tls::crypto_provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from(der)],
                PrivateKeyDer::try_from(key.serialize_der()).unwrap(),
            )
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State::default()));
        let shared = Arc::clone(&state);
        runtime.spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                let state = Arc::clone(&shared);
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    serve(tls, state).await;
                });
            }
        });
        Self { port, pin, state }
    }

    pub fn script(&self, steps: impl IntoIterator<Item = Step>) {
        let mut state = self.state.lock().unwrap();
        state.script = steps.into_iter().collect();
        state.seen.clear();
        state.bodies.clear();
    }

    /// "METHOD /path" of every request since the last `script`.
    pub fn seen(&self) -> Vec<String> {
        self.state.lock().unwrap().seen.clone()
    }

    /// The request bodies since the last `script`.
    pub fn bodies(&self) -> Vec<Vec<u8>> {
        self.state.lock().unwrap().bodies.clone()
    }

    pub fn tls(&self) -> TlsOptions {
        TlsOptions::default().with_pin_sha256(self.pin)
    }

    /// A client builder for `user` of this server, pinning its TLS certificate.
    pub fn client_builder(&self, user: &str, pass: &str) -> NetHsmClientBuilder {
        NetHsmClient::builder("127.0.0.1", self.port)
            .credentials(Credentials::new(user, SecretString::from(pass)))
            .tls(self.tls())
    }
}

/// Reads one request (head and Content-Length body); `None` at EOF.
async fn read_request<S: tokio::io::AsyncRead + Unpin>(
    stream: &mut S,
) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await.ok()? == 0 {
            return None;
        }
        buf.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&buf).to_string();
    let length = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).await.ok()?;
    let line = head.lines().next().unwrap_or_default();
    let mut parts = line.split(' ');
    Some((
        format!(
            "{} {}",
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default()
        ),
        body,
    ))
}

async fn serve(
    mut tls: tokio_rustls::server::TlsStream<tokio::net::TcpStream>,
    state: Arc<Mutex<State>>,
) {
    let Some((request, body)) = read_request(&mut tls).await else {
        return;
    };
    let step = {
        let mut state = state.lock().unwrap();
        state.seen.push(request);
        state.bodies.push(body);
        state.script.pop_front().unwrap_or(Step::Json(599, "{}"))
    };
    let head = |status: u16, ctype: &str, length: Option<usize>| {
        let mut h =
            format!("HTTP/1.1 {status} X\r\ncontent-type: {ctype}\r\nconnection: close\r\n");
        if let Some(n) = length {
            h.push_str(&format!("content-length: {n}\r\n"));
        }
        h.push_str("\r\n");
        h.into_bytes()
    };
    match step {
        Step::Json(status, body) => {
            let _ = tls
                .write_all(&head(status, "application/json", Some(body.len())))
                .await;
            let _ = tls.write_all(body.as_bytes()).await;
        }
        Step::Typed(ctype, body) => {
            let _ = tls.write_all(&head(200, ctype, Some(body.len()))).await;
            let _ = tls.write_all(body.as_bytes()).await;
        }
        Step::Reset => {
            let (tcp, _) = tls.get_ref();
            let _ = tcp.set_zero_linger();
            drop(tls);
            return;
        }
        Step::Truncated => {
            let _ = tls
                .write_all(&head(200, "application/json", Some(100)))
                .await;
            let _ = tls.write_all(br#"{"state":"#).await;
        }
        Step::Slow(n) => {
            let _ = tls.write_all(&head(200, "application/json", Some(n))).await;
            let _ = tls.flush().await;
            for _ in 0..n {
                tokio::time::sleep(Duration::from_millis(100)).await;
                if tls.write_all(b" ").await.is_err() || tls.flush().await.is_err() {
                    return;
                }
            }
        }
        Step::Oversized(n) => {
            let _ = tls.write_all(&head(200, "application/json", Some(n))).await;
            stream_zeros(&mut tls, n).await;
        }
        Step::OversizedUnannounced(n) => {
            let _ = tls.write_all(&head(200, "application/json", None)).await;
            stream_zeros(&mut tls, n).await;
        }
        Step::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
    }
    let _ = tls.shutdown().await;
}

async fn stream_zeros<S: tokio::io::AsyncWrite + Unpin>(stream: &mut S, mut n: usize) {
    let chunk = vec![b'0'; 64 * 1024];
    while n > 0 {
        let k = n.min(chunk.len());
        if stream.write_all(&chunk[..k]).await.is_err() {
            return;
        }
        n -= k;
    }
}
