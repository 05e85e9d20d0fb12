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

use hsm_core::{DeviceStatus, Error, ErrorKind};
use rustls::pki_types::ServerName;
use secrecy::ExposeSecret as _;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use url::Url;
use zeroize::Zeroizing;

use crate::answer::{Answer, Fault};
use crate::request::BasicAuth;

/// The largest answer head read (status line and headers).
const MAX_HEAD: usize = 64 * 1024;
/// The most headers an answer head may have.
const MAX_HEADERS: usize = 64;
/// The first read buffer; grown while a head or body needs more.
const READ_CHUNK: usize = 8 * 1024;

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

/// One connection and the bytes read past the last answer (none when it is idle).
struct Conn {
    io: Io,
    buf: Vec<u8>,
}

enum Io {
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
        let (answer, reusable) = read_answer(&mut conn, request).await?;
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

/// Why an answer could not be read whole.
enum Stop {
    /// The connection ended or failed (`None`: it ended).
    Broken(Option<io::Error>),
    /// The bytes are not what HTTP/1.1 allows here.
    Malformed(&'static str),
    /// The body is over the cap (`Some`: as its length announces).
    TooBig(Option<u64>),
}

/// The error of an answer that stopped short: `Timeout` when the socket timed out, else
/// `Unavailable`; with the status once the head was read.
fn unknown(
    operation: &str,
    status: Option<u16>,
    message: String,
    source: Option<io::Error>,
) -> Fault {
    let kind = if source
        .as_ref()
        .is_some_and(|e| e.kind() == io::ErrorKind::TimedOut)
    {
        ErrorKind::Timeout
    } else {
        ErrorKind::Unavailable
    };
    let mut error = Error::new(kind, operation.to_owned()).with_message(message);
    if let Some(status) = status {
        error = error.with_status(DeviceStatus::Http(status));
    }
    Fault::Unknown(match source {
        Some(e) => error.with_source(e),
        None => error,
    })
}

/// Reads an answer: its head (interim `1xx` heads skipped), then its body as the head
/// delimits it. Returns the answer and whether the connection can carry another request.
async fn read_answer(conn: &mut Conn, request: &Outgoing<'_>) -> Result<(Answer, bool), Fault> {
    let (operation, device, cap) = (request.operation, request.device, request.cap);
    let head = read_head(conn).await.map_err(|stop| match stop {
        Stop::Broken(source) => unknown(
            operation,
            None,
            format!("no answer from the {device}"),
            source,
        ),
        Stop::Malformed(reason) => unknown(
            operation,
            None,
            format!("the {device}'s answer is not HTTP/1.1 ({reason})"),
            None,
        ),
        Stop::TooBig(_) => unknown(
            operation,
            None,
            format!("the {device}'s answer head is too long"),
            None,
        ),
    })?;
    let status = head.status;
    let mut got = 0;
    let no_body = *request.method == reqwest::Method::HEAD
        || status == 204
        || status == 304
        || (100..200).contains(&status);
    let read = if no_body {
        Ok((Vec::new(), true))
    } else if head.chunked {
        read_chunked(conn, cap, &mut got).await.map(|b| (b, true))
    } else if let Some(len) = head.content_length {
        read_sized(conn, len, cap).await.map(|b| (b, true))
    } else {
        read_to_end(conn, cap).await.map(|b| (b, false))
    };
    let (body, delimited) = read.map_err(|stop| match stop {
        Stop::TooBig(announced) => {
            let message = match announced {
                Some(n) => format!(
                    "the answer announces {n} bytes, longer than the limit of {cap} bytes; not \
                     read"
                ),
                None => {
                    format!("the answer is longer than the limit of {cap} bytes; read no further")
                }
            };
            Fault::TooBig(
                Error::protocol(operation.to_owned(), message)
                    .with_status(DeviceStatus::Http(status)),
            )
        }
        Stop::Broken(source) => unknown(
            operation,
            Some(status),
            format!(
                "the answer broke off after {} bytes",
                got.max(conn.buf.len())
            ),
            source,
        ),
        Stop::Malformed(reason) => unknown(
            operation,
            Some(status),
            format!(
                "the answer broke off after {} bytes ({reason})",
                got.max(conn.buf.len())
            ),
            None,
        ),
    })?;
    let reusable = delimited && head.keep_alive && conn.buf.is_empty();
    Ok((
        Answer {
            status,
            content_type: head.content_type,
            body,
        },
        reusable,
    ))
}

/// Reads and takes an answer head off the buffer, skipping interim `1xx` heads.
async fn read_head(conn: &mut Conn) -> Result<Head, Stop> {
    loop {
        match parse_head(&conn.buf).map_err(Stop::Malformed)? {
            Some(head) => {
                let _ = conn.buf.drain(..head.len);
                if !(100..200).contains(&head.status) || head.status == 101 {
                    return Ok(head);
                }
            }
            None if conn.buf.len() > MAX_HEAD => return Err(Stop::Malformed("head too long")),
            None => more(conn).await?,
        }
    }
}

/// A body of `len` bytes.
async fn read_sized(conn: &mut Conn, len: u64, cap: usize) -> Result<Vec<u8>, Stop> {
    let len = usize::try_from(len)
        .ok()
        .filter(|n| *n <= cap)
        .ok_or(Stop::TooBig(Some(len)))?;
    while conn.buf.len() < len {
        more(conn).await?;
    }
    let rest = conn.buf.split_off(len);
    Ok(std::mem::replace(&mut conn.buf, rest))
}

/// A body delimited by the end of the connection.
async fn read_to_end(conn: &mut Conn, cap: usize) -> Result<Vec<u8>, Stop> {
    loop {
        if conn.buf.len() > cap {
            return Err(Stop::TooBig(None));
        }
        match more(conn).await {
            Ok(()) => {}
            Err(Stop::Broken(None)) => return Ok(std::mem::take(&mut conn.buf)),
            Err(stop) => return Err(stop),
        }
    }
}

/// A chunked body in one buffer, at most `cap` bytes (chunk extensions and trailers skipped);
/// `got` follows its length.
async fn read_chunked(conn: &mut Conn, cap: usize, got: &mut usize) -> Result<Vec<u8>, Stop> {
    let mut body = Vec::new();
    loop {
        let line = read_line(conn).await?;
        let size = std::str::from_utf8(&line)
            .ok()
            .and_then(|l| usize::from_str_radix(l.split(';').next().unwrap_or("").trim(), 16).ok())
            .ok_or(Stop::Malformed("bad chunk size"))?;
        if size == 0 {
            // Trailers, up to the empty line.
            while !read_line(conn).await?.is_empty() {}
            return Ok(body);
        }
        if body.len().saturating_add(size) > cap {
            return Err(Stop::TooBig(None));
        }
        while conn.buf.len() < size + 2 {
            more(conn).await?;
        }
        body.extend_from_slice(conn.buf.get(..size).unwrap_or_default());
        *got = body.len();
        if conn.buf.get(size..size + 2) != Some(b"\r\n".as_slice()) {
            return Err(Stop::Malformed("chunk not followed by CRLF"));
        }
        let _ = conn.buf.drain(..size + 2);
    }
}

/// One CRLF-terminated line (without it), taken off the buffer.
async fn read_line(conn: &mut Conn) -> Result<Vec<u8>, Stop> {
    loop {
        if let Some(end) = conn.buf.windows(2).position(|w| w == b"\r\n") {
            let line = conn.buf.drain(..end + 2).take(end).collect();
            return Ok(line);
        }
        if conn.buf.len() > MAX_HEAD {
            return Err(Stop::Malformed("line too long"));
        }
        more(conn).await?;
    }
}

/// Reads more bytes into the connection's buffer; [`Stop::Broken`] at its end or on an error.
async fn more(conn: &mut Conn) -> Result<(), Stop> {
    let len = conn.buf.len();
    let room = READ_CHUNK.max(conn.buf.capacity() - len);
    conn.buf.resize(len + room, 0);
    let read = conn
        .io
        .read(conn.buf.get_mut(len..).unwrap_or_default())
        .await;
    let n = *read.as_ref().unwrap_or(&0);
    conn.buf.truncate(len + n);
    match read {
        Ok(0) => Err(Stop::Broken(None)),
        Ok(_) => Ok(()),
        Err(e) => Err(Stop::Broken(Some(e))),
    }
}

/// What the connection needs from an answer's head.
#[derive(Debug, PartialEq, Eq)]
struct Head {
    /// Its length in bytes.
    len: usize,
    status: u16,
    content_type: Option<String>,
    content_length: Option<u64>,
    chunked: bool,
    keep_alive: bool,
}

/// Parses an answer head; `Ok(None)` while incomplete.
fn parse_head(buf: &[u8]) -> Result<Option<Head>, &'static str> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let len = match response.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(_) => return Err("malformed head"),
    };
    let status = response.code.ok_or("no status")?;
    let mut head = Head {
        len,
        status,
        content_type: None,
        content_length: None,
        chunked: false,
        // HTTP/1.1 keeps the connection unless told otherwise; 1.0 closes it.
        keep_alive: response.version == Some(1),
    };
    for header in response.headers.iter() {
        let value = || std::str::from_utf8(header.value).map(str::trim);
        if header.name.eq_ignore_ascii_case("content-length") {
            let n = value()
                .ok()
                .and_then(|v| v.parse::<u64>().ok())
                .ok_or("bad content-length")?;
            if head.content_length.is_some_and(|m| m != n) {
                return Err("conflicting content-length");
            }
            head.content_length = Some(n);
        } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
            let v = value().map_err(|_| "bad transfer-encoding")?;
            head.chunked = v
                .rsplit(',')
                .next()
                .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"));
            if !head.chunked {
                return Err("unsupported transfer-encoding");
            }
        } else if header.name.eq_ignore_ascii_case("connection") {
            let v = value().unwrap_or("");
            if v.split(',').any(|t| t.trim().eq_ignore_ascii_case("close")) {
                head.keep_alive = false;
            } else if v
                .split(',')
                .any(|t| t.trim().eq_ignore_ascii_case("keep-alive"))
            {
                head.keep_alive = true;
            }
        } else if header.name.eq_ignore_ascii_case("content-type") {
            head.content_type = value().ok().map(str::to_owned);
        }
    }
    if head.chunked {
        // Chunked wins over a length (RFC 9112 6.3); the connection is not reused after such
        // an answer.
        head.content_length = None;
        head.keep_alive = false;
    }
    Ok(Some(head))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_of_credentials() {
        assert_eq!(base64_encode(b""), "");
        assert_eq!(base64_encode(b"f"), "Zg==");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
        assert_eq!(base64_encode(b"foo"), "Zm9v");
        assert_eq!(
            base64_encode(b"operator:operatorpassphrase"),
            "b3BlcmF0b3I6b3BlcmF0b3JwYXNzcGhyYXNl"
        );
    }

    #[test]
    fn heads_say_how_the_body_is_delimited() {
        let head = parse_head(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\nbody",
        )
        .unwrap()
        .unwrap();
        assert_eq!(head.status, 200);
        assert_eq!(head.content_length, Some(12));
        assert_eq!(head.content_type.as_deref(), Some("application/json"));
        assert!(head.keep_alive && !head.chunked);
        assert_eq!(head.len, 71);
        assert_eq!(parse_head(b"HTTP/1.1 200 OK\r\nContent-Le").unwrap(), None);
        let chunked = parse_head(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            .unwrap()
            .unwrap();
        assert!(chunked.chunked && !chunked.keep_alive);
        let close = parse_head(b"HTTP/1.1 500 x\r\nConnection: close\r\ncontent-length: 0\r\n\r\n")
            .unwrap()
            .unwrap();
        assert!(!close.keep_alive);
        assert!(
            !parse_head(b"HTTP/1.0 200 OK\r\n\r\n")
                .unwrap()
                .unwrap()
                .keep_alive
        );
        assert!(
            parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n")
                .is_err()
        );
        assert!(parse_head(b"NOT HTTP\r\n\r\n").is_err());
        assert!(parse_head(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n").is_err());
    }

    fn pool(port: u16) -> Pool {
        Pool::new(PoolConfig {
            host_header: format!("127.0.0.1:{port}"),
            host: "127.0.0.1".into(),
            port,
            addrs: None,
            tls: None,
            connect_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(60),
            max_idle: 4,
        })
    }

    /// A server that answers each connection's requests with `answers` in turn (one per
    /// request), then closes it; what it read is returned through the channel.
    async fn server(
        answers: Vec<&'static [u8]>,
    ) -> (u16, tokio::sync::mpsc::UnboundedReceiver<Vec<u8>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            for answer in answers {
                let mut got = Vec::new();
                let mut buf = [0u8; 4096];
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    let n = socket.read(&mut buf).await.unwrap();
                    if n == 0 {
                        return;
                    }
                    got.extend_from_slice(&buf[..n]);
                }
                let _ = tx.send(got);
                socket.write_all(answer).await.unwrap();
            }
        });
        (port, rx)
    }

    #[tokio::test]
    async fn chunked_and_sized_answers_and_the_connection_kept_only_when_it_can_be() {
        let (port, mut seen) = server(vec![
            b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello",
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nTrailer: 1\r\n\r\n",
        ])
        .await;
        let pool = pool(port);
        let url = Url::parse(&format!("http://127.0.0.1:{port}/api/a%2Fb?q=1")).unwrap();
        let auth = BasicAuth::new("user", secrecy::SecretString::from("pw"));
        let get = Outgoing {
            operation: "t",
            device: "dev",
            cap: 1024,
            method: &reqwest::Method::GET,
            url: &url,
            auth: Some(&auth),
            body: None,
        };
        let first = pool.exchange(&get).await.unwrap();
        assert_eq!(
            (first.status, first.body.as_slice()),
            (200, b"hello".as_slice())
        );
        let request = String::from_utf8(seen.recv().await.unwrap()).unwrap();
        assert!(
            request.starts_with("GET /api/a%2Fb?q=1 HTTP/1.1\r\n"),
            "{request}"
        );
        assert!(
            request.contains("authorization: Basic dXNlcjpwdw==\r\n"),
            "{request}"
        );
        assert_eq!(pool.idle_count(), 1, "kept for the next request");
        let post = Outgoing {
            operation: "t",
            device: "dev",
            cap: 1024,
            method: &reqwest::Method::POST,
            url: &url,
            auth: None,
            body: Some(("application/json", b"{}")),
        };
        let second = pool.exchange(&post).await.unwrap();
        assert_eq!(
            (second.status, second.body.as_slice()),
            (201, b"abcde".as_slice())
        );
        let request = String::from_utf8(seen.recv().await.unwrap()).unwrap();
        assert!(request.contains("content-length: 2\r\n\r\n"), "{request}");
        assert_eq!(pool.idle_count(), 0, "not kept after a chunked answer");
    }

    #[tokio::test]
    async fn a_connection_the_server_closed_is_not_reused() {
        let (port, _seen) = server(vec![b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"]).await;
        let pool = pool(port);
        let url = Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
        let get = Outgoing {
            operation: "t",
            device: "dev",
            cap: 1024,
            method: &reqwest::Method::GET,
            url: &url,
            auth: None,
            body: None,
        };
        let _ = pool.exchange(&get).await.unwrap();
        assert_eq!(pool.idle_count(), 1);
        // The server task ends and closes the socket.
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            pool.checkout().await.is_none(),
            "a closed connection is dropped"
        );
    }

    #[tokio::test]
    async fn a_chunked_body_over_the_cap_is_too_big() {
        let (port, _seen) = server(vec![
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n",
        ])
        .await;
        let pool = pool(port);
        let url = Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
        let get = Outgoing {
            operation: "t",
            device: "dev",
            cap: 1024,
            method: &reqwest::Method::GET,
            url: &url,
            auth: None,
            body: None,
        };
        assert!(matches!(
            pool.exchange(&Outgoing { cap: 8, ..get }).await,
            Err(Fault::TooBig(_))
        ));
    }
}
