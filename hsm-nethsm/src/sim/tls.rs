//! The simulator's HTTPS: a certificate generated at start, and the accept loop.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use hsm_core::{Error, ErrorKind, Result};
use sha2::Digest as _;

use super::Shared;

/// The certificate and key the simulator serves: at start a self-signed certificate for
/// `localhost` and `127.0.0.1`; later whatever `/config/tls/*` installs.
#[derive(Clone)]
pub(super) struct Certificate {
    pub(super) pem: String,
    pub(super) sha256: [u8; 32],
    der: Vec<u8>,
    key_der: zeroize::Zeroizing<Vec<u8>>,
}

fn tls_error(e: impl Into<hsm_core::error::BoxError>) -> Error {
    Error::new(ErrorKind::Unavailable, "nethsm-sim.tls").with_source(e)
}

impl Certificate {
    pub(super) fn generate() -> Result<Self> {
        let made = hsm_simkit::https::SelfSigned::generate(
            &["localhost", "127.0.0.1"],
            Some("NetHSM simulator"),
        )
        .map_err(tls_error)?;
        Ok(Self {
            sha256: sha2::Sha256::digest(&made.cert_der).into(),
            pem: made.cert_pem,
            der: made.cert_der,
            key_der: zeroize::Zeroizing::new(made.key_der.secret_pkcs8_der().to_vec()),
        })
    }

    /// The certificate's key, as the device's TLS key (`/config/tls/*`).
    pub(super) fn secret(&self) -> Result<super::crypto::SimSecret> {
        use p256::pkcs8::DecodePrivateKey as _;
        p256::ecdsa::SigningKey::from_pkcs8_der(&self.key_der)
            .map(super::crypto::SimSecret::P256)
            .map_err(tls_error)
    }

    /// A certificate (PEM) and its key (PKCS#8 DER).
    pub(super) fn from_parts(pem: &str, key_der: zeroize::Zeroizing<Vec<u8>>) -> Result<Self> {
        let der = super::x509::certificate_der(pem).map_err(|m| {
            Error::new(ErrorKind::Unavailable, "nethsm-sim.tls").with_message(m.to_string())
        })?;
        Ok(Self {
            pem: pem.to_owned(),
            sha256: sha2::Sha256::digest(&der).into(),
            der,
            key_der,
        })
    }

    pub(super) fn acceptor(&self) -> Result<tokio_rustls::TlsAcceptor> {
        hsm_simkit::https::tls_acceptor(&self.der, &self.key_der).map_err(tls_error)
    }
}

/// What the simulator serves: the certificate and an acceptor for it.
pub(super) struct Served {
    pub(super) certificate: Certificate,
    pub(super) acceptor: tokio_rustls::TlsAcceptor,
}

impl Served {
    pub(super) fn new(certificate: Certificate) -> Result<Self> {
        let acceptor = certificate.acceptor()?;
        Ok(Self {
            certificate,
            acceptor,
        })
    }
}

/// Accepts connections until `stop`'s sender is dropped or `POST /system/shutdown` halts the
/// device; each connection is served with HTTP/1.1 keep-alive until then, and dropped at that
/// moment. A new connection gets the TLS identity in force when it arrives: a TLS key or
/// certificate change applies to new connections, like on the device.
pub(super) async fn serve(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    shared: Arc<Shared>,
    stop: tokio::sync::watch::Receiver<()>,
) {
    let device = Arc::clone(&shared);
    let stopped = move || {
        let mut stop = stop.clone();
        let mut halted = device.halted.subscribe();
        async move {
            tokio::select! {
                _ = stop.changed() => {}
                _ = halted.wait_for(|h| *h) => {}
            }
        }
    };
    let accept = || {
        let _ = shared.connections.fetch_add(1, Ordering::Relaxed);
        shared.served().1
    };
    hsm_simkit::https::serve(listener, accept, |_| app.clone(), stopped).await;
}
