//! Reading an answer off a connection: the head (interim `1xx` heads skipped), then the body
//! as the head delimits it (`Content-Length`, chunked, or the connection's end), never past the
//! body cap; and whether the connection can carry the next request.
//!
//! What is accepted is strict: a status from 100 to 599, one `Content-Length` value of digits
//! (repeated only with the same value), `Transfer-Encoding` exactly `chunked` on HTTP/1.1 and
//! never with a `Content-Length`, chunk-size lines of hex digits ended by CRLF. Anything else is
//! an error, never an answer; heads, lines, trailers and interim heads are bounded in size and
//! number, so that no server can make a read loop without end or grow memory past the cap.

use std::io;

use hsm_core::{DeviceStatus, Error, ErrorKind};
use tokio::io::{AsyncRead, AsyncReadExt as _};

use super::{Conn, Outgoing};
use crate::answer::{Answer, Fault};

/// The largest answer head read (status line and headers).
const MAX_HEAD: usize = 64 * 1024;
/// The most headers an answer head may have.
const MAX_HEADERS: usize = 64;
/// The most interim (`1xx`) heads skipped before the final one.
const MAX_INTERIM: usize = 8;
/// The longest chunk-size line (with its extensions) or trailer line, without its CRLF.
const MAX_LINE: usize = 4 * 1024;
/// The most bytes of trailer lines after a chunked body.
const MAX_TRAILERS: usize = MAX_HEAD;
/// The room made in the buffer before each read.
const READ_CHUNK: usize = 8 * 1024;

/// How an answer's body was delimited.
#[cfg_attr(not(feature = "fuzzing"), allow(unreachable_pub))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// No body: the answer to a `HEAD` request, or a `204` / `304`.
    Empty,
    /// By `Content-Length`.
    Sized,
    /// By `Transfer-Encoding: chunked`.
    Chunked,
    /// By the end of the connection.
    Close,
}

/// An answer read whole.
pub(crate) struct Taken {
    pub(crate) answer: Answer,
    /// How the body was delimited (what the scripted reader's tests and fuzz target check).
    #[cfg_attr(not(any(test, feature = "fuzzing")), allow(dead_code))]
    pub(crate) framing: Framing,
    /// Whether the connection can carry another request: the body had its own delimiter, the
    /// server keeps the connection, and nothing was read past the answer.
    pub(crate) reusable: bool,
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

impl Stop {
    /// The I/O error that broke the connection, if that is why.
    fn into_source(self) -> Option<io::Error> {
        match self {
            Self::Broken(source) => source,
            Self::Malformed(_) | Self::TooBig(_) => None,
        }
    }
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
/// delimits it.
pub(super) async fn read_answer<I: AsyncRead + Unpin>(
    conn: &mut Conn<I>,
    request: &Outgoing<'_>,
) -> Result<Taken, Fault> {
    let (operation, device, cap) = (request.operation, request.device, request.cap);
    let head = read_head(conn).await.map_err(|stop| {
        let message = match &stop {
            Stop::Broken(_) => format!("no answer from the {device}"),
            Stop::Malformed(reason) => format!("the {device}'s answer is not HTTP/1.1 ({reason})"),
            Stop::TooBig(_) => format!("the {device}'s answer head is too long"),
        };
        unknown(operation, None, message, stop.into_source())
    })?;
    let status = head.status;
    let mut got = 0;
    let (framing, read) =
        if *request.method == reqwest::Method::HEAD || status == 204 || status == 304 {
            (Framing::Empty, Ok(Vec::new()))
        } else if head.chunked {
            (Framing::Chunked, read_chunked(conn, cap, &mut got).await)
        } else if let Some(len) = head.content_length {
            (Framing::Sized, read_sized(conn, len, cap).await)
        } else {
            (Framing::Close, read_to_end(conn, cap).await)
        };
    let body = read.map_err(|stop| match stop {
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
        stop => {
            let reason = match &stop {
                Stop::Malformed(reason) => format!(" ({reason})"),
                _ => String::new(),
            };
            let n = got.max(conn.buf.len());
            let message = format!("the answer broke off after {n} bytes{reason}");
            unknown(operation, Some(status), message, stop.into_source())
        }
    })?;
    let reusable = framing != Framing::Close && head.keep_alive && conn.buf.is_empty();
    Ok(Taken {
        answer: Answer {
            status,
            content_type: head.content_type,
            body,
        },
        framing,
        reusable,
    })
}

/// Reads and takes an answer head off the buffer, skipping at most [`MAX_INTERIM`] interim
/// `1xx` heads.
async fn read_head<I: AsyncRead + Unpin>(conn: &mut Conn<I>) -> Result<Head, Stop> {
    let mut interim = 0;
    // How much of the buffer was parsed as an incomplete head: a head can only end with a new
    // line, so it is parsed again once one came (parsing the first bytes at once refuses what
    // is not HTTP without waiting for more).
    let mut parsed: Option<usize> = None;
    loop {
        let worth_parsing = parsed.is_none_or(|n| {
            conn.buf
                .get(n..)
                .is_some_and(|fresh| fresh.contains(&b'\n'))
        });
        if worth_parsing {
            match parse_head(&conn.buf).map_err(Stop::Malformed)? {
                Some(head) if (100..200).contains(&head.status) => {
                    if head.status == 101 {
                        return Err(Stop::Malformed("protocol switch that was not asked for"));
                    }
                    interim += 1;
                    if interim > MAX_INTERIM {
                        return Err(Stop::Malformed("too many interim answers"));
                    }
                    let _ = conn.buf.drain(..head.len);
                    parsed = None;
                    continue;
                }
                Some(head) => {
                    let _ = conn.buf.drain(..head.len);
                    return Ok(head);
                }
                None => parsed = Some(conn.buf.len()),
            }
        }
        if conn.buf.len() > MAX_HEAD {
            return Err(Stop::Malformed("head too long"));
        }
        more(conn).await?;
    }
}

/// A body of `len` bytes.
async fn read_sized<I: AsyncRead + Unpin>(
    conn: &mut Conn<I>,
    len: u64,
    cap: usize,
) -> Result<Vec<u8>, Stop> {
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
async fn read_to_end<I: AsyncRead + Unpin>(
    conn: &mut Conn<I>,
    cap: usize,
) -> Result<Vec<u8>, Stop> {
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

/// A chunked body in one buffer, at most `cap` bytes (chunk extensions and at most
/// [`MAX_TRAILERS`] bytes of trailers skipped); `got` follows its length.
async fn read_chunked<I: AsyncRead + Unpin>(
    conn: &mut Conn<I>,
    cap: usize,
    got: &mut usize,
) -> Result<Vec<u8>, Stop> {
    let mut body = Vec::new();
    loop {
        let line = read_line(conn).await?;
        let size = chunk_size(&line).ok_or(Stop::Malformed("bad chunk size"))?;
        if size == 0 {
            break;
        }
        if body.len().checked_add(size).is_none_or(|n| n > cap) {
            return Err(Stop::TooBig(None));
        }
        let framed = size.checked_add(2).ok_or(Stop::TooBig(None))?;
        while conn.buf.len() < framed {
            more(conn).await?;
        }
        if conn.buf.get(size..framed) != Some(b"\r\n".as_slice()) {
            return Err(Stop::Malformed("chunk not followed by CRLF"));
        }
        body.extend_from_slice(conn.buf.get(..size).unwrap_or_default());
        *got = body.len();
        let _ = conn.buf.drain(..framed);
    }
    let mut trailers = 0usize;
    loop {
        let line = read_line(conn).await?;
        if line.is_empty() {
            return Ok(body);
        }
        trailers = trailers.saturating_add(line.len() + 2);
        if trailers > MAX_TRAILERS {
            return Err(Stop::Malformed("trailers too long"));
        }
    }
}

/// The size of a chunk-size line: hex digits (no sign, nothing before them), then optional
/// blanks and `;` extensions.
fn chunk_size(line: &[u8]) -> Option<usize> {
    let digits = line.split(|b| *b == b';').next().unwrap_or_default();
    let end = digits
        .iter()
        .rposition(|b| *b != b' ' && *b != b'\t')
        .map_or(0, |i| i + 1);
    let digits = digits.get(..end).unwrap_or_default();
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    usize::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
}

/// `bytes` without leading and trailing spaces and tabs.
fn trim_blanks(bytes: &[u8]) -> &[u8] {
    let blank = |b: &u8| *b == b' ' || *b == b'\t';
    let start = bytes.iter().position(|b| !blank(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !blank(b))
        .map_or(start, |i| i + 1);
    bytes.get(start..end).unwrap_or_default()
}

/// One CRLF-terminated line of at most [`MAX_LINE`] bytes (without its CRLF, and with no other
/// CR or LF in it), taken off the buffer.
async fn read_line<I: AsyncRead + Unpin>(conn: &mut Conn<I>) -> Result<Vec<u8>, Stop> {
    // Where to look for the CRLF: the buffer before it was searched already.
    let mut from = 0;
    loop {
        let found = conn
            .buf
            .get(from..)
            .and_then(|b| b.windows(2).position(|w| w == b"\r\n"));
        if let Some(end) = found.map(|i| i + from) {
            if end > MAX_LINE {
                return Err(Stop::Malformed("line too long"));
            }
            let line: Vec<u8> = conn.buf.drain(..end + 2).take(end).collect();
            if line.iter().any(|b| *b == b'\r' || *b == b'\n') {
                return Err(Stop::Malformed("bare CR or LF in a line"));
            }
            return Ok(line);
        }
        if conn.buf.len() > MAX_LINE + 1 {
            return Err(Stop::Malformed("line too long"));
        }
        from = conn.buf.len().saturating_sub(1);
        more(conn).await?;
    }
}

/// Reads more bytes into the connection's buffer (into its spare room: nothing is zeroed
/// first); [`Stop::Broken`] at its end or on an error.
async fn more<I: AsyncRead + Unpin>(conn: &mut Conn<I>) -> Result<(), Stop> {
    conn.buf.reserve(READ_CHUNK);
    match conn.io.read_buf(&mut conn.buf).await {
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
    // httparse skips empty lines before a status line; here they are bytes no answer starts
    // with (what a previous answer left over, or a server out of step).
    if buf.first().is_some_and(|b| *b == b'\r' || *b == b'\n') {
        return Err("bytes before the status line");
    }
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let len = match response.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(_) => return Err("malformed head"),
    };
    if len > MAX_HEAD {
        return Err("head too long");
    }
    let status = response.code.ok_or("no status")?;
    if !(100..600).contains(&status) {
        return Err("status out of range");
    }
    let http10 = response.version == Some(0);
    let mut head = Head {
        len,
        status,
        content_type: None,
        content_length: None,
        chunked: false,
        // HTTP/1.1 keeps the connection unless told otherwise; 1.0 closes it.
        keep_alive: !http10,
    };
    let mut transfer_encoding = false;
    for header in response.headers.iter() {
        let value = || std::str::from_utf8(trim_blanks(header.value));
        if header.name.eq_ignore_ascii_case("content-length") {
            // Digits only: `+5`, `-1`, `5, 5` and overflowing values are refused.
            let n = value()
                .ok()
                .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|v| v.parse::<u64>().ok())
                .ok_or("bad content-length")?;
            if head.content_length.is_some_and(|m| m != n) {
                return Err("conflicting content-length");
            }
            head.content_length = Some(n);
        } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
            transfer_encoding = true;
            let v = value().map_err(|_| "bad transfer-encoding")?;
            // Only `chunked`, once: another coding would hand its encoded bytes on as the body.
            for coding in v.split(',').map(str::trim).filter(|c| !c.is_empty()) {
                if head.chunked || !coding.eq_ignore_ascii_case("chunked") {
                    return Err("unsupported transfer-encoding");
                }
                head.chunked = true;
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
    if transfer_encoding {
        // Both lengths (or chunked in HTTP/1.0) is how answers are smuggled (RFC 9112 6.1,
        // 6.3): an error, not a guess.
        if !head.chunked {
            return Err("unsupported transfer-encoding");
        }
        if head.content_length.is_some() {
            return Err("content-length with transfer-encoding");
        }
        if http10 {
            return Err("transfer-encoding in HTTP/1.0");
        }
        // The connection is not reused after a chunked answer.
        head.keep_alive = false;
    }
    Ok(Some(head))
}

#[cfg(test)]
mod tests;
