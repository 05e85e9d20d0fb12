//! hsm-http's answer reader (the crate's own HTTP/1.1 client: head, `Content-Length`, chunked
//! and close-delimited bodies, interim heads), over arbitrary bytes split at arbitrary points.
//!
//! Properties: no panic; a body never longer than the cap; the outcome does not depend on how
//! the bytes are split; an answer is taken only when its bytes delimit it (its body where its
//! head says, a chunked body ended by its last chunk and trailers) and no prefix of a delimited
//! answer is ever taken (a server that closes mid-answer gives an error, not a shorter answer);
//! a connection is reusable only after a delimited answer that left nothing unread.

use hsm_http::Fault;
use hsm_http::fuzzing::{Framing, Outcome, read_scripted};

/// Four selector bytes (flags, the cap in two bytes, the split), then the server's bytes.
///
/// Flags: bit 0 a `HEAD` request, bit 1 a reset instead of a clean end. The split byte `k`:
/// `0` a byte per read, else pieces of 1 to `k` bytes from a generator seeded by `k`.
pub fn run(data: &[u8]) {
    let Some((&[flags, cap_hi, cap_lo, split], bytes)) = data.split_first_chunk::<4>() else {
        return;
    };
    let head = flags & 1 != 0;
    let reset = flags & 2 != 0;
    let cap = usize::from(u16::from_be_bytes([cap_hi, cap_lo]));
    let whole = read_scripted([bytes], head, cap, reset);
    let pieces = pieces(bytes, split);
    let split_read = read_scripted(&pieces, head, cap, reset);
    match (&whole, &split_read) {
        (Ok(a), Ok(b)) => assert_eq!(
            (a.status, &a.body, a.framing, a.consumed),
            (b.status, &b.body, b.framing, b.consumed),
            "the same answer whole and split"
        ),
        (Err(a), Err(b)) => assert_eq!(
            matches!(a, Fault::TooBig(_)),
            matches!(b, Fault::TooBig(_)),
            "too big whole and split: {a:?} / {b:?}"
        ),
        (a, b) => panic!("whole: {a:?}, split: {b:?}"),
    }
    let Ok(answer) = whole else {
        return;
    };
    well_delimited(bytes, &answer, cap, head);
    if answer.framing != Framing::Close {
        let end = usize::from(split) % answer.consumed.max(1);
        if end < answer.consumed {
            let cut = read_scripted([bytes.get(..end).unwrap_or_default()], head, cap, reset);
            assert!(
                cut.is_err(),
                "{end} of {} bytes taken: {cut:?}",
                answer.consumed
            );
        }
    }
    if let Ok(b) = split_read {
        assert!(!b.reusable || b.framing != Framing::Close);
    }
}

/// What an answer that was taken must be, checked against the bytes themselves.
fn well_delimited(bytes: &[u8], answer: &Outcome, cap: usize, head: bool) {
    assert!(
        answer.body.len() <= cap,
        "{} bytes over a cap of {cap}",
        answer.body.len()
    );
    assert!(
        (200..600).contains(&answer.status),
        "final status {}",
        answer.status
    );
    assert!(bytes.starts_with(b"HTTP/1."), "an answer from {bytes:?}");
    assert!(answer.consumed <= bytes.len());
    let taken = bytes.get(..answer.consumed).unwrap_or_default();
    let body_start = answer.consumed.saturating_sub(answer.body.len());
    match answer.framing {
        Framing::Empty => {
            assert!(answer.body.is_empty());
            assert!(head || answer.status == 204 || answer.status == 304);
            assert!(taken.ends_with(b"\n"), "a head ends with an empty line");
        }
        Framing::Sized => {
            assert_eq!(taken.get(body_start..), Some(answer.body.as_slice()));
            assert!(
                taken.get(..body_start).is_some_and(|h| h.ends_with(b"\n")),
                "the body follows the head"
            );
        }
        Framing::Chunked => {
            assert!(!answer.reusable, "no reuse after a chunked answer");
            assert!(
                taken.ends_with(b"\r\n\r\n"),
                "ends with its last chunk and trailers"
            );
        }
        Framing::Close => {
            assert!(!answer.reusable, "a connection that ended is not reused");
            assert_eq!(answer.consumed, bytes.len());
            assert!(bytes.ends_with(&answer.body));
        }
    }
    if answer.reusable {
        assert_eq!(answer.consumed, bytes.len(), "nothing left unread");
    }
}

/// `bytes` in pieces: a byte each for `split == 0`, else 1 to `split` bytes each, from a small
/// generator seeded by `split`.
fn pieces(bytes: &[u8], split: u8) -> Vec<&[u8]> {
    if split == 0 {
        return bytes.chunks(1).collect();
    }
    let mut state = u32::from(split) | 0x9e37_0000;
    let mut rest = bytes;
    let mut out = Vec::new();
    while !rest.is_empty() {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let n = 1 + (state as usize) % usize::from(split);
        let (piece, tail) = rest.split_at(n.min(rest.len()));
        out.push(piece);
        rest = tail;
    }
    out
}
