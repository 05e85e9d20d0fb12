//! The answer reader over scripted bytes: heads, the three body framings, what is refused, and
//! the same outcome however the bytes are split.

use super::*;
use crate::conn::scripted::{Outcome, read_scripted};

/// A `GET` answer from `bytes` in one piece, then a clean end.
fn read(bytes: &[u8], cap: usize) -> Result<Outcome, Fault> {
    read_scripted([bytes], false, cap, false)
}

/// Every way of splitting `bytes`: a byte per read, and two pieces at each boundary.
fn splits(bytes: &[u8]) -> Vec<Vec<&[u8]>> {
    let mut all = vec![bytes.chunks(1).collect::<Vec<_>>()];
    all.extend((1..bytes.len()).map(|i| vec![&bytes[..i], &bytes[i..]]));
    all
}

/// An answer's status, body and framing.
type Expected<'a> = (u16, &'a [u8], Framing);

/// The answer `bytes` reads to `expected` (status, body, framing) however it is split, and
/// every prefix of the answer's own bytes is an error: an answer that broke off is never
/// taken for a shorter one.
fn reads_whole(bytes: &[u8], head: bool, expected: Expected<'_>) {
    let whole = read_scripted([bytes], head, 1024, false).unwrap();
    assert_eq!(
        (whole.status, whole.body.as_slice(), whole.framing),
        expected,
        "{}",
        String::from_utf8_lossy(bytes)
    );
    for pieces in splits(bytes) {
        let split = read_scripted(&pieces, head, 1024, false).unwrap();
        assert_eq!(
            (split.status, &split.body, split.framing, split.consumed),
            (whole.status, &whole.body, whole.framing, whole.consumed),
            "{pieces:?}"
        );
    }
    if expected.2 != Framing::Close {
        for end in 0..whole.consumed {
            for reset in [false, true] {
                assert!(
                    read_scripted([&bytes[..end]], head, 1024, reset).is_err(),
                    "{:?} broke off after {end} bytes and was taken",
                    String::from_utf8_lossy(bytes)
                );
            }
        }
    }
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
    let http10 = parse_head(b"HTTP/1.0 200 OK\r\n\r\n").unwrap().unwrap();
    assert!(!http10.keep_alive);
    let same_twice = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\n";
    assert_eq!(
        parse_head(same_twice).unwrap().unwrap().content_length,
        Some(2)
    );
}

#[test]
fn each_framing_reads_the_same_however_the_bytes_are_split() {
    let cases: [(&[u8], bool, Expected<'_>); 5] = [
        (
            b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello",
            false,
            (200, b"hello", Framing::Sized),
        ),
        (
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 201 Created\r\n\
              Transfer-Encoding: chunked\r\n\r\n3 ;x=y\r\nabc\r\n2\r\nde\r\n0\r\nTrailer: 1\r\n\r\n",
            false,
            (201, b"abcde", Framing::Chunked),
        ),
        (
            b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nto the end",
            false,
            (200, b"to the end", Framing::Close),
        ),
        (
            b"HTTP/1.1 204 No Content\r\ncontent-length: 10\r\n\r\n",
            false,
            (204, b"", Framing::Empty),
        ),
        (
            b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n",
            true,
            (200, b"", Framing::Empty),
        ),
    ];
    for (bytes, head, expected) in cases {
        reads_whole(bytes, head, expected);
    }
}

#[test]
fn a_connection_is_reused_only_after_an_answer_that_ended_where_its_length_said() {
    let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok".as_slice();
    assert!(read(answer, 1024).unwrap().reusable);
    // More bytes than the length: the answer is read, the connection is not reused.
    let longer = read(&[answer, b"HTTP/1.1 200 OK\r\n\r\n"].concat(), 1024).unwrap();
    assert_eq!(
        (longer.body.as_slice(), longer.reusable),
        (b"ok".as_slice(), false)
    );
    assert_eq!(longer.consumed, answer.len());
    for framing in [
        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok".as_slice(),
        b"HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n\r\nok",
    ] {
        assert!(!read(framing, 1024).unwrap().reusable, "{framing:?}");
    }
    let kept = read(
        b"HTTP/1.0 200 OK\r\ncontent-length: 2\r\nconnection: keep-alive\r\n\r\nok",
        1024,
    );
    assert!(kept.unwrap().reusable);
}

const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";
const EMPTY_200: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
/// The end of a head with no body.
const EMPTY: &[u8] = b"content-length: 0\r\n\r\n";
/// A chunked head and the start of a one-byte chunk's size line.
const CHUNKED_1: &[u8] = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n1;";

/// `before`, `filler` `times` over, then `after`.
fn around(before: &[u8], filler: &[u8], times: usize, after: &[u8]) -> Vec<u8> {
    [before, &filler.repeat(times), after].concat()
}

/// Answers that are not well-delimited HTTP/1.1: each is an error, whole or split.
#[test]
fn malformed_answers_are_errors_never_answers() {
    let head_too_long = around(b"HTTP/1.1 200 OK\r\nx: ", b"a", MAX_HEAD, b"\r\n\r\n");
    let many_headers = around(b"HTTP/1.1 200 OK\r\n", b"a: b\r\n", MAX_HEADERS + 1, EMPTY);
    let long_chunk_line = around(CHUNKED_1, b"x", MAX_LINE, b"\r\na\r\n0\r\n\r\n");
    let long_trailers = around(
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n0\r\n",
        b"x: 1234567890\r\n",
        MAX_TRAILERS / 15 + 1,
        b"\r\n",
    );
    let flood = around(b"", CONTINUE, MAX_INTERIM + 1, EMPTY_200);
    let cases: [(&str, &[u8]); 30] = [
        ("not HTTP", b"NOT HTTP\r\n\r\n"),
        // Found by the fuzz target http_answers: httparse skips empty lines before the head.
        ("empty line first", b"\r\n\r\nHTTP/1.1 201 Created\r\n\r\n"),
        ("LF first", b"\nHTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"),
        ("status 099", b"HTTP/1.1 099 x\r\ncontent-length: 0\r\n\r\n"),
        ("status 600", b"HTTP/1.1 600 x\r\ncontent-length: 0\r\n\r\n"),
        ("unasked 101", b"HTTP/1.1 101 Switching\r\nupgrade: x\r\n\r\n"),
        ("interim flood", &flood),
        ("head too long", &head_too_long),
        ("too many headers", &many_headers),
        ("length +5", b"HTTP/1.1 200 OK\r\ncontent-length: +5\r\n\r\nhello"),
        ("length -1", b"HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n"),
        ("length x", b"HTTP/1.1 200 OK\r\ncontent-length: x\r\n\r\n"),
        ("length list", b"HTTP/1.1 200 OK\r\ncontent-length: 5, 5\r\n\r\nhello"),
        ("empty length", b"HTTP/1.1 200 OK\r\ncontent-length:\r\n\r\n"),
        (
            "length overflow",
            b"HTTP/1.1 200 OK\r\ncontent-length: 99999999999999999999999\r\n\r\n",
        ),
        ("conflicting lengths", b"HTTP/1.1 200 OK\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\nab"),
        (
            "length and chunked",
            b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n",
        ),
        ("gzip", b"HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\n\r\n"),
        (
            "gzip then chunked",
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, chunked\r\n\r\n1\r\na\r\n0\r\n\r\n",
        ),
        (
            "chunked twice",
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ntransfer-encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n",
        ),
        ("empty coding", b"HTTP/1.1 200 OK\r\ntransfer-encoding: \r\n\r\nab"),
        (
            "chunked in 1.0",
            b"HTTP/1.0 200 OK\r\ntransfer-encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n",
        ),
        ("chunk size +1", b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n+1\r\na\r\n0\r\n\r\n"),
        ("chunk size blank first", b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n 1\r\na\r\n0\r\n\r\n"),
        ("chunk size empty", b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n\r\na\r\n0\r\n\r\n"),
        ("last chunk with bare LF", b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n1\r\na\r\n0\n\r\n"),
        ("size line with bare LF", b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n1\na\r\n0\r\n\r\n"),
        ("chunk without CRLF", b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n1\r\nab\r\n0\r\n\r\n"),
        ("chunk line too long", &long_chunk_line),
        ("trailers too long", &long_trailers),
    ];
    for (name, bytes) in cases {
        let whole = read(bytes, usize::MAX);
        assert!(matches!(whole, Err(Fault::Unknown(_))), "{name}: {whole:?}");
        if bytes.len() < 1024 {
            for pieces in splits(bytes) {
                assert!(
                    read_scripted(&pieces, false, usize::MAX, false).is_err(),
                    "{name}"
                );
            }
        }
    }
    // At the limits: as many interim heads and headers as allowed are read.
    let most_interim = around(b"", CONTINUE, MAX_INTERIM, EMPTY_200);
    assert_eq!(read(&most_interim, 16).unwrap().status, 200);
    let most_headers = around(b"HTTP/1.1 200 OK\r\n", b"a: b\r\n", MAX_HEADERS - 1, EMPTY);
    assert_eq!(read(&most_headers, 16).unwrap().status, 200);
}

#[test]
fn lengths_over_the_cap_or_the_machine_are_too_big_and_not_read() {
    for (bytes, cap) in [
        (
            b"HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\n".as_slice(),
            8,
        ),
        (
            b"HTTP/1.1 200 OK\r\ncontent-length: 18446744073709551615\r\n\r\n",
            8,
        ),
        (
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n9\r\n",
            8,
        ),
        (
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nabcde\r\n4\r\n",
            8,
        ),
        (b"HTTP/1.1 200 OK\r\n\r\n123456789", 8),
        // A chunk as long as the address space, under a cap that allows anything.
        (
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nffffffffffffffff\r\n",
            usize::MAX,
        ),
        (
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n1\r\na\r\nffffffffffffffff\r\n",
            usize::MAX,
        ),
    ] {
        let got = read(bytes, cap);
        assert!(matches!(got, Err(Fault::TooBig(_))), "{got:?}");
    }
    let overflow = read(
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n10000000000000000\r\n",
        usize::MAX,
    );
    assert!(matches!(overflow, Err(Fault::Unknown(_))), "{overflow:?}");
}

#[test]
fn an_answer_that_breaks_off_is_an_unknown_outcome() {
    for bytes in [
        b"".as_slice(),
        b"HTTP/1.1 200 OK\r\ncontent-",
        b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhel",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n0\r\nx: 1\r\n",
    ] {
        for reset in [false, true] {
            let got = read_scripted([bytes], false, 1024, reset);
            let Err(Fault::Unknown(e)) = got else {
                panic!("{bytes:?}: {got:?}");
            };
            assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
        }
    }
    // Only a clean end delimits a body by the connection's end; a reset is an unknown outcome.
    assert!(read_scripted([b"HTTP/1.1 200 OK\r\n\r\nab"], false, 1024, true).is_err());
}
