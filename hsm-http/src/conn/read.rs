//! Reading an answer off a connection: the head (interim `1xx` heads skipped), then the body
//! as the head delimits it (`Content-Length`, chunked, or the connection's end), never past the
//! body cap; and whether the connection can carry the next request.

use std::io;

use hsm_core::{DeviceStatus, Error, ErrorKind};
use tokio::io::AsyncReadExt as _;

use super::{Conn, Outgoing};
use crate::answer::{Answer, Fault};

/// The largest answer head read (status line and headers).
const MAX_HEAD: usize = 64 * 1024;
/// The most headers an answer head may have.
const MAX_HEADERS: usize = 64;
/// The first read buffer; grown while a head or body needs more.
const READ_CHUNK: usize = 8 * 1024;

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
pub(super) async fn read_answer(
    conn: &mut Conn,
    request: &Outgoing<'_>,
) -> Result<(Answer, bool), Fault> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
