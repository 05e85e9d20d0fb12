//! The answer reader over scripted bytes instead of a socket, for its tests and its fuzz target
//! (feature `fuzzing`): the bytes arrive in the given pieces, one piece per read, then the
//! connection ends (cleanly, or with a reset).
#![cfg_attr(not(feature = "fuzzing"), allow(unreachable_pub))]

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use tokio::io::{AsyncRead, ReadBuf};
use url::Url;

pub use super::read::Framing;
use super::read::{Taken, read_answer};
use super::{Conn, Outgoing};
use crate::answer::Fault;

/// Bytes that arrive in pieces, then an end.
struct Script {
    pieces: VecDeque<Vec<u8>>,
    reset: bool,
    delivered: usize,
}

impl AsyncRead for Script {
    fn poll_read(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let Some(mut piece) = this.pieces.pop_front() else {
            return Poll::Ready(if this.reset {
                Err(io::ErrorKind::ConnectionReset.into())
            } else {
                Ok(())
            });
        };
        let n = piece.len().min(buf.remaining());
        let rest = piece.split_off(n);
        buf.put_slice(&piece);
        this.delivered += n;
        if !rest.is_empty() {
            this.pieces.push_front(rest);
        }
        Poll::Ready(Ok(()))
    }
}

/// What the reader made of a scripted answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The final status.
    pub status: u16,
    /// The body.
    pub body: Vec<u8>,
    /// How the body was delimited.
    pub framing: Framing,
    /// Whether the connection would go back to the pool.
    pub reusable: bool,
    /// How many bytes of the script the answer took (those read but left over are not counted).
    pub consumed: usize,
}

/// Reads one answer to a `GET` (`HEAD` when `head`) with body cap `cap` from `pieces` (each
/// arrives by one read; empty ones are skipped), then the connection's end (a reset when
/// `reset`).
///
/// # Errors
/// The [`Fault`] the reader gives: `Unknown` for an answer that is malformed or broke off,
/// `TooBig` over the cap.
pub fn read_scripted<P: AsRef<[u8]>>(
    pieces: impl IntoIterator<Item = P>,
    head: bool,
    cap: usize,
    reset: bool,
) -> Result<Outcome, Fault> {
    let pieces = pieces
        .into_iter()
        .map(|p| p.as_ref().to_vec())
        .filter(|p| !p.is_empty())
        .collect();
    let mut conn = Conn {
        io: Script {
            pieces,
            reset,
            delivered: 0,
        },
        buf: Vec::new(),
    };
    let url = Url::parse("http://device.invalid/").map_err(|e| scripted_fault(&e.to_string()))?;
    let method = if head {
        reqwest::Method::HEAD
    } else {
        reqwest::Method::GET
    };
    let request = Outgoing {
        operation: "scripted.read",
        device: "script",
        cap,
        method: &method,
        url: &url,
        auth: None,
        body: None,
    };
    // The script never waits, so one poll finishes the read.
    let polled = {
        let read = std::pin::pin!(read_answer(&mut conn, &request));
        read.poll(&mut Context::from_waker(Waker::noop()))
    };
    let Poll::Ready(taken) = polled else {
        return Err(scripted_fault("the scripted read waited"));
    };
    let Taken {
        answer,
        framing,
        reusable,
    } = taken?;
    Ok(Outcome {
        status: answer.status,
        body: answer.body,
        framing,
        reusable,
        consumed: conn.io.delivered.saturating_sub(conn.buf.len()),
    })
}

fn scripted_fault(message: &str) -> Fault {
    Fault::Unknown(
        hsm_core::Error::new(hsm_core::ErrorKind::Unavailable, "scripted.read")
            .with_message(message.to_owned()),
    )
}
