//! The simulator's HTTPS: a certificate generated at start, and the accept loop.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use hsm_core::{Error, ErrorKind, Result};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
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
        let key = rcgen::KeyPair::generate().map_err(tls_error)?;
        let mut params =
            rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
                .map_err(tls_error)?;
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "NetHSM simulator");
        let cert = params.self_signed(&key).map_err(tls_error)?;
        let der = cert.der().to_vec();
        Ok(Self {
            pem: cert.pem(),
            sha256: sha2::Sha256::digest(&der).into(),
            der,
            key_der: zeroize::Zeroizing::new(key.serialize_der()),
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
        let der = super::x509::certificate_der(pem)
            .map_err(|m| Error::new(ErrorKind::Unavailable, "nethsm-sim.tls").with_message(m))?;
        Ok(Self {
            pem: pem.to_owned(),
            sha256: sha2::Sha256::digest(&der).into(),
            der,
            key_der,
        })
    }

    pub(super) fn acceptor(&self) -> Result<tokio_rustls::TlsAcceptor> {
        let key = PrivateKeyDer::try_from(self.key_der.to_vec()).map_err(tls_error)?;
        let config = rustls::ServerConfig::builder_with_provider(hsm_core::tls::crypto_provider())
            .with_safe_default_protocol_versions()
            .map_err(tls_error)?
            .with_no_client_auth()
            .with_single_cert(vec![CertificateDer::from(self.der.clone())], key)
            .map_err(tls_error)?;
        Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
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

/// Accepts connections until `stop`'s sender is dropped; each connection is served with
/// HTTP/1.1 keep-alive until then, and dropped at that moment.
pub(super) async fn serve(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    shared: Arc<Shared>,
    stop: tokio::sync::watch::Receiver<()>,
) {
    let mut stopped = stop.clone();
    let mut halted = shared.halted.subscribe();
    loop {
        let accepted = tokio::select! {
            _ = stopped.changed() => return,
            _ = halted.wait_for(|h| *h) => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((tcp, _peer)) = accepted else { continue };
        let _ = shared.connections.fetch_add(1, Ordering::Relaxed);
        // The identity in force now: a TLS key or certificate change applies to new
        // connections, like on the device.
        let acceptor = shared.served().1;
        let app = app.clone();
        let mut stopped = stop.clone();
        let mut halted = shared.halted.subscribe();
        let _task = tokio::spawn(async move {
            let connection = async {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = hyper_util::service::TowerToHyperService::new(app);
                let _ = hyper::server::conn::http1::Builder::new()
                    .keep_alive(true)
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                    .await;
            };
            tokio::select! {
                _ = stopped.changed() => {}
                _ = halted.wait_for(|h| *h) => {}
                () = connection => {}
            }
        });
    }
}
