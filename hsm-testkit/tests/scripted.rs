//! The scripted server answers each request with its script's next step, over real TLS that
//! only a client pinning its certificate accepts, and records what it was sent.
#![allow(clippy::unwrap_used)]

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use hsm_core::tls::{TlsOptions, client_config};
use hsm_testkit::scripted::{EXHAUSTED_STATUS, ScriptedServer, Step};
use rustls_pki_types::ServerName;

/// Sends one request (`POST` with `body`) trusting `options`; what came back, or the error.
fn exchange(server: &ScriptedServer, options: &TlsOptions, body: &str) -> std::io::Result<Vec<u8>> {
    let config = Arc::new(client_config(options).unwrap());
    let name = ServerName::try_from("localhost").unwrap();
    let conn = rustls::ClientConnection::new(config, name).unwrap();
    let tcp = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_millis(1500)))
        .unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let request = format!(
        "POST /api/x?y=1 HTTP/1.1\r\nhost: localhost\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    tls.write_all(request.as_bytes())?;
    let mut answer = Vec::new();
    match tls.read_to_end(&mut answer) {
        Ok(_) => Ok(answer),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !answer.is_empty() => Ok(answer),
        Err(e) => Err(e),
    }
}

fn text(answer: &[u8]) -> String {
    String::from_utf8_lossy(answer).into_owned()
}

#[test]
fn each_request_gets_the_next_step_and_is_recorded() {
    let server = ScriptedServer::start_on_own_runtime();
    let tls = server.tls();
    server.script([
        Step::Json(418, r#"{"a":1}"#),
        Step::Body {
            status: 201,
            content_type: "text/plain",
            body: "made".to_owned(),
        },
        Step::Typed("text/html", "<html>"),
        Step::Truncated,
        Step::Oversized(200_000),
        Step::OversizedUnannounced(70_000),
    ]);
    let answer = text(&exchange(&server, &tls, "one").unwrap());
    assert!(answer.starts_with("HTTP/1.1 418 "), "{answer}");
    assert!(
        answer.contains("content-type: application/json\r\n"),
        "{answer}"
    );
    assert!(answer.ends_with("\r\n\r\n{\"a\":1}"), "{answer}");

    let answer = text(&exchange(&server, &tls, "").unwrap());
    assert!(answer.starts_with("HTTP/1.1 201 "), "{answer}");
    assert!(answer.contains("content-type: text/plain\r\n"), "{answer}");
    assert!(answer.ends_with("\r\n\r\nmade"), "{answer}");

    let answer = text(&exchange(&server, &tls, "").unwrap());
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
    assert!(answer.ends_with("\r\n\r\n<html>"), "{answer}");

    let answer = text(&exchange(&server, &tls, "").unwrap());
    assert!(answer.contains("content-length: 100\r\n"), "{answer}");
    let body = answer.split("\r\n\r\n").nth(1).unwrap();
    assert_eq!(body.len(), 10, "{answer}");

    let answer = exchange(&server, &tls, "").unwrap();
    let head = text(&answer[..answer.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4]);
    assert!(head.contains("content-length: 200000\r\n"), "{head}");
    assert_eq!(answer.len() - head.len(), 200_000);

    let answer = exchange(&server, &tls, "").unwrap();
    let head = text(&answer[..answer.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4]);
    assert!(!head.contains("content-length"), "{head}");
    assert_eq!(answer.len() - head.len(), 70_000);

    assert_eq!(server.seen(), ["POST /api/x?y=1"; 6]);
    assert_eq!(server.bodies()[0], b"one");
    assert_eq!(server.requests()[0].method, "POST");
    assert_eq!(server.requests()[0].path, "/api/x?y=1");

    let answer = text(&exchange(&server, &tls, "").unwrap());
    assert!(
        answer.starts_with(&format!("HTTP/1.1 {EXHAUSTED_STATUS} ")),
        "past the script: {answer}"
    );
    server.exhausted(Step::Json(503, "{}"));
    let answer = text(&exchange(&server, &tls, "").unwrap());
    assert!(answer.starts_with("HTTP/1.1 503 "), "{answer}");
}

#[test]
fn reset_hang_and_slow_steps_break_or_stall_the_exchange() {
    let server = ScriptedServer::start_on_own_runtime();
    let tls = server.tls();
    server.script([Step::Reset]);
    let reset = exchange(&server, &tls, "").unwrap_err();
    assert_eq!(reset.kind(), std::io::ErrorKind::ConnectionReset, "{reset}");

    server.script([Step::Hang]);
    let hung = exchange(&server, &tls, "").unwrap_err();
    assert!(
        matches!(
            hung.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
        "{hung}"
    );

    // One byte every 100 ms: 15 bytes take at least 1.5 s, though no read waits long.
    server.script([Step::Slow(15)]);
    let started = std::time::Instant::now();
    let answer = text(&exchange(&server, &tls, "").unwrap());
    assert!(
        started.elapsed() >= Duration::from_millis(1400),
        "{:?}",
        started.elapsed()
    );
    assert!(answer.contains("content-length: 15\r\n"), "{answer}");
    assert!(
        answer.ends_with(&format!("\r\n\r\n{}", " ".repeat(15))),
        "{answer}"
    );
    assert_eq!(
        server.seen().len(),
        1,
        "each script counts its own requests"
    );
}

#[test]
fn only_a_client_pinning_its_certificate_connects() {
    let server = ScriptedServer::start_on_own_runtime();
    server.script([Step::Json(200, "{}")]);
    let other = hsm_testkit::tls::TestCertificate::self_signed(&["localhost"]);
    let wrong = TlsOptions::default().with_pin_sha256(other.pin_sha256());
    assert!(exchange(&server, &wrong, "").is_err());
    assert!(exchange(&server, &server.tls(), "").is_ok());
}
