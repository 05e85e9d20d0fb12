//! The HTTPS front of a REST simulator: a listener bound on a runtime, a self-signed
//! certificate, a rustls acceptor, and the accept loop serving an axum router with HTTP/1.1
//! keep-alive on each connection.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::sync::Notify;
use tokio_rustls::TlsAcceptor;

/// Binds `addr` and registers the listener with `runtime`, without `block_on`, so a simulator
/// also starts from inside a caller's runtime.
///
/// # Errors
/// The address cannot be bound (in use, not local, no permission).
pub fn bind(
    addr: SocketAddr,
    runtime: &tokio::runtime::Handle,
) -> std::io::Result<tokio::net::TcpListener> {
    let listener = std::net::TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    let _entered = runtime.enter();
    tokio::net::TcpListener::from_std(listener)
}

/// A self-signed certificate and its key, made when a simulator starts (`Debug` elides the
/// key).
#[derive(Debug)]
pub struct SelfSigned {
    /// The certificate, DER.
    pub cert_der: Vec<u8>,
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The private key (P-256), PKCS#8 DER.
    pub key_der: PrivatePkcs8KeyDer<'static>,
}

impl SelfSigned {
    /// A certificate for `names` (DNS names or IP addresses as text), with `common_name` as its
    /// subject's CN when given, on a fresh P-256 key.
    ///
    /// # Errors
    /// A name rcgen cannot put in a certificate, or a failure of its key generation.
    pub fn generate(names: &[&str], common_name: Option<&str>) -> Result<Self, rcgen::Error> {
        let key = rcgen::KeyPair::generate()?;
        let mut params = rcgen::CertificateParams::new(
            names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>(),
        )?;
        if let Some(cn) = common_name {
            params
                .distinguished_name
                .push(rcgen::DnType::CommonName, cn);
        }
        let cert = params.self_signed(&key)?;
        Ok(Self {
            cert_der: cert.der().to_vec(),
            cert_pem: cert.pem(),
            key_der: PrivatePkcs8KeyDer::from(key.serialize_der()),
        })
    }
}

/// A TLS acceptor serving `cert_der` with `key_der` (PKCS#8, PKCS#1 or SEC1 DER), with
/// hsm-core's crypto provider and rustls' safe default protocol versions.
///
/// # Errors
/// A key rustls cannot use, or one that does not match the certificate.
pub fn tls_acceptor(cert_der: &[u8], key_der: &[u8]) -> Result<TlsAcceptor, rustls::Error> {
    let key = PrivateKeyDer::try_from(key_der.to_vec())
        .map_err(|e| rustls::Error::General(e.to_owned()))?;
    let config = rustls::ServerConfig::builder_with_provider(hsm_core::tls::crypto_provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(vec![CertificateDer::from(cert_der.to_vec())], key)?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Ends the one connection it was made for, from inside a handler (a device that breaks off
/// an answer): the accept loop gives each connection its own.
#[derive(Clone, Debug, Default)]
pub struct ConnectionKill(Arc<Notify>);

impl ConnectionKill {
    /// Closes the connection without answering what is in progress on it.
    pub fn kill(&self) {
        self.0.notify_one();
    }
}

/// Accepts connections on `listener` until `stop()` completes. For each connection it asks
/// `accept` for the acceptor (the TLS identity in force now; the place to count
/// connections), turns off Nagle's algorithm, completes the handshake and serves HTTP/1.1
/// keep-alive with the router `router` makes for the connection's [`ConnectionKill`], until
/// the client closes it, a handler kills it, or `stop()` completes (a fresh `stop()` future
/// is made for the loop and for every connection).
pub async fn serve<A, R, S, F>(listener: tokio::net::TcpListener, mut accept: A, router: R, stop: S)
where
    A: FnMut() -> TlsAcceptor,
    R: Fn(&ConnectionKill) -> axum::Router,
    S: Fn() -> F,
    F: Future<Output = ()> + Send + 'static,
{
    let stopped = stop();
    tokio::pin!(stopped);
    loop {
        let accepted = tokio::select! {
            () = &mut stopped => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((tcp, _peer)) = accepted else { continue };
        let acceptor = accept();
        let kill = ConnectionKill::default();
        let service = hyper_util::service::TowerToHyperService::new(router(&kill));
        let stopped = stop();
        drop(tokio::spawn(async move {
            let _ = tcp.set_nodelay(true);
            let connection = async {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let _ = hyper::server::conn::http1::Builder::new()
                    .keep_alive(true)
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                    .await;
            };
            tokio::select! {
                () = stopped => {}
                () = kill.0.notified() => {}
                () = connection => {}
            }
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_self_signed_certificate_serves_tls_and_hides_its_key() {
        let made = SelfSigned::generate(&["localhost", "127.0.0.1"], Some("test")).unwrap();
        assert!(made.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        let shown = format!("{made:?}");
        assert!(shown.contains("elided"), "{shown}");
        assert!(tls_acceptor(&made.cert_der, made.key_der.secret_pkcs8_der()).is_ok());
        let other = SelfSigned::generate(&["localhost"], None).unwrap();
        assert!(tls_acceptor(&made.cert_der, other.key_der.secret_pkcs8_der()).is_err());
    }
}
