//! Kept-alive HTTP/1.1 connections of one endpoint, driven by the calling task itself.
//!
//! A request checks a connection out of the endpoint's pool (or opens one: TCP, then TLS),
//! writes its head and body in one buffer, reads the answer's head and its body up to the body
//! cap, and puts the connection back when the answer was read whole and the server keeps it
//! open. No task, channel or second thread is involved: the future that awaits the call owns
//! the connection while it runs, so a call costs its two system calls and its TLS records, and a
//! call that is dropped (its time is up) drops its connection with it, never handing a
//! half-read one to the next request.
//!
//! Only what a device's REST API needs is spoken: `Content-Length` and chunked answers, answers
//! delimited by the connection's end, `Connection: close`, interim `1xx` heads skipped. Nothing
//! here logs or keeps a URL, a header or a body; the request buffer (credentials and body) is
//! zeroized once sent.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::Poll;
use std::time::Duration;

use hsm_core::{Error, ErrorKind};
use rustls::pki_types::ServerName;
use secrecy::ExposeSecret as _;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt as _, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use url::Url;
use zeroize::Zeroizing;

use crate::answer::{Answer, Fault};
use crate::request::BasicAuth;

mod read;
#[cfg(test)]
mod tests;

#[cfg(any(test, feature = "fuzzing"))]
pub(crate) mod scripted;

use read::{Taken, read_answer};

/// Where and how an endpoint's connections are opened, and its idle ones.
pub(crate) struct Pool {
    /// `host:port` as the `Host` header names it.
    host_header: String,
    /// The name resolved to connect (unless `addrs` is set).
    host: String,
    port: u16,
    /// Fixed addresses (a server-name override maps the certificate's name to these).
    addrs: Option<Vec<SocketAddr>>,
    /// TLS: the connector and the name the certificate must carry; `None` for plain HTTP.
    tls: Option<(TlsConnector, ServerName<'static>)>,
    connect_timeout: Duration,
    idle_timeout: Duration,
    max_idle: usize,
    idle: Mutex<Vec<(Conn, Instant)>>,
}

/// What a pool is made from.
pub(crate) struct PoolConfig {
    pub(crate) host_header: String,
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) addrs: Option<Vec<SocketAddr>>,
    pub(crate) tls: Option<(Arc<rustls::ClientConfig>, ServerName<'static>)>,
    pub(crate) connect_timeout: Duration,
    pub(crate) idle_timeout: Duration,
    pub(crate) max_idle: usize,
}

/// One request as it goes on the wire, with what its errors name and the body cap.
pub(crate) struct Outgoing<'a> {
    /// The operation (`nethsm.sign`) and the device (`NetHSM`) errors name.
    pub(crate) operation: &'a str,
    pub(crate) device: &'a str,
    /// The most body bytes read.
    pub(crate) cap: usize,
    pub(crate) method: &'a reqwest::Method,
    pub(crate) url: &'a Url,
    pub(crate) auth: Option<&'a BasicAuth>,
    pub(crate) body: Option<(&'a str, &'a [u8])>,
}

/// One connection and the bytes read past the last answer (none when it is idle); `I` is a
/// socket (plain or TLS), or scripted bytes in the answer reader's tests and fuzz target.
pub(crate) struct Conn<I = Io> {
    io: I,
    buf: Vec<u8>,
}

/// A TCP or TLS socket.
pub(crate) enum Io {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Io {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Io {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_flush(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

impl Pool {
    pub(crate) fn new(config: PoolConfig) -> Self {
        Self {
            host_header: config.host_header,
            host: config.host,
            port: config.port,
            addrs: config.addrs,
            tls: config
                .tls
                .map(|(tls, name)| (TlsConnector::from(tls), name)),
            connect_timeout: config.connect_timeout,
            idle_timeout: config.idle_timeout,
            max_idle: config.max_idle,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// How many idle connections the pool keeps now.
    #[cfg(test)]
    fn idle_count(&self) -> usize {
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Sends one request and reads its answer (at most its `cap` bytes of body).
    ///
    /// # Errors
    /// [`Fault::NotSent`] when no connection could be opened (nothing was sent),
    /// [`Fault::Refused`] when TLS refused the server, [`Fault::Unknown`] when the request went
    /// out and no complete answer came, [`Fault::TooBig`] over the cap.
    pub(crate) async fn exchange(&self, request: &Outgoing<'_>) -> Result<Answer, Fault> {
        let (operation, device) = (request.operation, request.device);
        let wire = self.encode(request);
        let mut conn = match self.checkout().await {
            Some(conn) => conn,
            None => self.connect(operation, device).await?,
        };
        let sent = async {
            conn.io.write_all(&wire).await?;
            conn.io.flush().await
        }
        .await;
        drop(wire);
        if let Err(e) = sent {
            return Err(Fault::Unknown(
                Error::new(ErrorKind::Unavailable, operation.to_owned())
                    .with_message(format!("no answer from the {device}"))
                    .with_source(e),
            ));
        }
        let Taken {
            answer, reusable, ..
        } = read_answer(&mut conn, request).await?;
        if reusable {
            self.checkin(conn);
        }
        Ok(answer)
    }

    /// The request's bytes: head (with the credentials) and body, in one buffer.
    fn encode(&self, request: &Outgoing<'_>) -> Zeroizing<Vec<u8>> {
        use std::io::Write as _;
        let body_len = request.body.map_or(0, |(_, b)| b.len());
        let mut out = Zeroizing::new(Vec::with_capacity(256 + body_len));
        let path = request.url.path();
        let _ = write!(out, "{} {path}", request.method.as_str());
        if let Some(query) = request.url.query() {
            let _ = write!(out, "?{query}");
        }
        let _ = write!(
            out,
            " HTTP/1.1\r\nhost: {}\r\naccept: */*\r\n",
            self.host_header
        );
        if let Some(auth) = request.auth {
            let credentials =
                Zeroizing::new(format!("{}:{}", auth.user, auth.password.expose_secret()));
            let encoded = Zeroizing::new(base64_encode(credentials.as_bytes()));
            out.extend_from_slice(b"authorization: Basic ");
            out.extend_from_slice(encoded.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        match request.body {
            Some((content_type, body)) => {
                let _ = write!(
                    out,
                    "content-type: {content_type}\r\ncontent-length: {}\r\n\r\n",
                    body.len()
                );
                out.extend_from_slice(body);
            }
            None => {
                if matches!(
                    *request.method,
                    reqwest::Method::POST | reqwest::Method::PUT | reqwest::Method::PATCH
                ) {
                    out.extend_from_slice(b"content-length: 0\r\n");
                }
                out.extend_from_slice(b"\r\n");
            }
        }
        out
    }

    /// An idle connection that is still open: the most recently used first; those idle too
    /// long, closed by the server, or holding unexpected bytes are dropped.
    async fn checkout(&self) -> Option<Conn> {
        loop {
            let (mut conn, since) = self
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop()?;
            if since.elapsed() < self.idle_timeout && still_open(&mut conn).await {
                return Some(conn);
            }
        }
    }

    fn checkin(&self, conn: Conn) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < self.max_idle {
            idle.push((conn, Instant::now()));
        }
    }

    /// A new connection within the connect timeout: TCP (each address in turn), then TLS.
    async fn connect(&self, operation: &str, device: &str) -> Result<Conn, Fault> {
        let not_sent = |kind: ErrorKind, e: Option<io::Error>| {
            let error = Error::new(kind, operation.to_owned())
                .with_message(format!("cannot connect to the {device}"));
            Fault::NotSent(match e {
                Some(e) => error.with_source(e),
                None => error,
            })
        };
        let opened = tokio::time::timeout(self.connect_timeout, async {
            let stream = self.tcp().await.map_err(|e| (e, false))?;
            stream.set_nodelay(true).map_err(|e| (e, false))?;
            match &self.tls {
                None => Ok(Io::Plain(stream)),
                Some((connector, name)) => connector
                    .connect(name.clone(), stream)
                    .await
                    .map(|s| Io::Tls(Box::new(s)))
                    .map_err(|e| (e, true)),
            }
        })
        .await;
        match opened {
            Ok(Ok(io)) => Ok(Conn {
                io,
                buf: Vec::new(),
            }),
            Ok(Err((e, during_tls))) => {
                if during_tls && crate::fault::is_tls_refusal(&e) {
                    Err(Fault::Refused(
                        Error::new(ErrorKind::Unavailable, operation.to_owned())
                            .with_message(format!(
                                "the TLS connection to the {device} was refused (certificate, \
                                 name or pin)"
                            ))
                            .with_source(e),
                    ))
                } else {
                    Err(not_sent(ErrorKind::Unavailable, Some(e)))
                }
            }
            Err(_elapsed) => Err(not_sent(ErrorKind::Timeout, None)),
        }
    }

    async fn tcp(&self) -> io::Result<TcpStream> {
        match &self.addrs {
            Some(addrs) => TcpStream::connect(addrs.as_slice()).await,
            None => TcpStream::connect((self.host.as_str(), self.port)).await,
        }
    }
}

/// Whether an idle connection is still open: nothing to read yet (a closed connection reads
/// its end, a close alert or an error at once).
async fn still_open(conn: &mut Conn) -> bool {
    if !conn.buf.is_empty() {
        return false;
    }
    let mut probe = [0u8; 1];
    std::future::poll_fn(|cx| {
        let mut buf = ReadBuf::new(&mut probe);
        Poll::Ready(Pin::new(&mut conn.io).poll_read(cx, &mut buf).is_pending())
    })
    .await
}

/// Standard base64 with padding (for the `Authorization` header).
fn base64_encode(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let sextet = |shift: u32| {
            char::from(
                ALPHABET
                    .get(((n >> shift) & 63) as usize)
                    .copied()
                    .unwrap_or(b'='),
            )
        };
        out.push(sextet(18));
        out.push(sextet(12));
        out.push(if chunk.len() > 1 { sextet(6) } else { '=' });
        out.push(if chunk.len() > 2 { sextet(0) } else { '=' });
    }
    out
}
