#![allow(clippy::unwrap_used)]
//! TLS fails closed: a wrong CA, a wrong name and a wrong pin each refuse the connection; the
//! right CA, a server-name override and the right pin are accepted. Real handshakes over loopback.

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;

use hsm_core::tls::{TlsOptions, client_config};
use hsm_testkit::tls::TestCertificate;
use rustls_pki_types::ServerName;
use sha2::Digest as _;

struct Server {
    addr: std::net::SocketAddr,
    cert_pem: String,
    cert_der: Vec<u8>,
}

/// A TLS server with a fresh certificate for `name`, answering one byte per connection.
fn server(name: &str) -> Server {
    let cert = TestCertificate::self_signed(&[name]);
    let config = cert.server_config();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut tcp) = stream else { return };
            let config = config.clone();
            std::thread::spawn(move || {
                let mut conn = rustls::ServerConnection::new(config).unwrap();
                let mut tls = rustls::Stream::new(&mut conn, &mut tcp);
                let mut b = [0u8; 1];
                if tls.read_exact(&mut b).is_ok() {
                    let _ = tls.write_all(&b);
                    let _ = tls.flush();
                }
            });
        }
    });
    Server {
        addr,
        cert_pem: cert.pem().to_owned(),
        cert_der: cert.der().to_vec(),
    }
}

/// Connects with `options`, verifying against `name`; `Ok` if a byte went round trip.
fn connect(server: &Server, name: &str, options: &TlsOptions) -> Result<(), String> {
    let config = Arc::new(client_config(options).map_err(|e| e.to_string())?);
    let name = ServerName::try_from(name.to_owned()).unwrap();
    let mut conn = rustls::ClientConnection::new(config, name).map_err(|e| e.to_string())?;
    let mut tcp = TcpStream::connect(server.addr).unwrap();
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let mut tls = rustls::Stream::new(&mut conn, &mut tcp);
    tls.write_all(b"x").map_err(|e| e.to_string())?;
    let mut b = [0u8; 1];
    tls.read_exact(&mut b).map_err(|e| e.to_string())?;
    Ok(())
}

fn ca_file(pem: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(pem.as_bytes()).unwrap();
    f
}

#[test]
fn the_right_ca_and_name_are_accepted() {
    let s = server("seSAM-nserie-101");
    let ca = ca_file(&s.cert_pem);
    let options = TlsOptions::default().with_ca_file(ca.path());
    connect(&s, "seSAM-nserie-101", &options).unwrap();
}

#[test]
fn a_wrong_ca_is_refused() {
    let s = server("seSAM-nserie-101");
    let other = server("seSAM-nserie-101");
    assert_certificate_refused(&s, "seSAM-nserie-101", &ca_file(&other.cert_pem));
}

#[test]
fn a_wrong_name_is_refused() {
    let s = server("seSAM-nserie-101");
    assert_certificate_refused(&s, "other.example", &ca_file(&s.cert_pem));
}

/// Connecting to `name` with `ca` as the only CA fails on the server's certificate.
fn assert_certificate_refused(s: &Server, name: &str, ca: &tempfile::NamedTempFile) {
    let err = connect(s, name, &TlsOptions::default().with_ca_file(ca.path())).unwrap_err();
    assert!(err.to_lowercase().contains("certificate"), "{err}");
}

#[test]
fn pins_accept_exactly_the_pinned_certificate() {
    let s = server("seSAM-nserie-101");
    let right: [u8; 32] = sha2::Sha256::digest(&s.cert_der).into();
    // A pin stands for the CA and the name: any name is accepted for the pinned certificate.
    connect(
        &s,
        "10.0.0.1.example",
        &TlsOptions::default().with_pin_sha256(right),
    )
    .unwrap();
    let mut wrong = right;
    wrong[0] ^= 1;
    let err = connect(
        &s,
        "seSAM-nserie-101",
        &TlsOptions::default().with_pin_sha256(wrong),
    )
    .unwrap_err();
    assert!(err.contains("matches no pin"), "{err}");
}

#[test]
fn default_trust_store_refuses_a_self_signed_appliance() {
    let s = server("seSAM-nserie-101");
    if !std::path::Path::new("/etc/ssl/certs/ca-certificates.crt").exists()
        && std::env::var_os("SSL_CERT_FILE").is_none()
    {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have a system trust store"
        );
        eprintln!("SKIPPED: no system trust store on this machine");
        return;
    }
    assert!(connect(&s, "seSAM-nserie-101", &TlsOptions::default()).is_err());
}

#[test]
fn insecure_is_accepted_only_when_asked() {
    let s = server("seSAM-nserie-101");
    connect(
        &s,
        "anything.example",
        &TlsOptions::default().danger_accept_invalid_certs(),
    )
    .unwrap();
}
