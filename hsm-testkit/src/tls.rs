//! TLS test certificates: a fresh self-signed certificate for a few names, its SHA-256 pin, and
//! the rustls server configuration that presents it.

use std::sync::Arc;

use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use sha2::Digest as _;

/// A fresh self-signed certificate (ECDSA P-256) with its private key.
#[derive(Debug, Clone)]
pub struct TestCertificate {
    der: Vec<u8>,
    pem: String,
    key_der: Vec<u8>,
}

impl TestCertificate {
    /// A certificate for `names` (DNS names; a name that parses as an IP address becomes an IP
    /// address entry), valid now.
    #[must_use]
    pub fn self_signed(names: &[&str]) -> Self {
        let key = rcgen::KeyPair::generate().expect("test TLS certificate: generating its key");
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let cert = rcgen::CertificateParams::new(names.clone())
            .unwrap_or_else(|e| panic!("test TLS certificate: the names {names:?}: {e}"))
            .self_signed(&key)
            .unwrap_or_else(|e| panic!("test TLS certificate for {names:?}: self-signing: {e}"));
        Self {
            der: cert.der().to_vec(),
            pem: cert.pem(),
            key_der: key.serialize_der(),
        }
    }

    /// The certificate, DER.
    #[must_use]
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The certificate, PEM (what a CA file holds).
    #[must_use]
    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// The SHA-256 of the DER certificate: what `TlsOptions::with_pin_sha256` pins.
    #[must_use]
    pub fn pin_sha256(&self) -> [u8; 32] {
        sha2::Sha256::digest(&self.der).into()
    }

    /// A rustls server configuration (the workspace's crypto provider, safe default protocol
    /// versions, no client authentication) that presents this certificate.
    #[must_use]
    pub fn server_config(&self) -> Arc<rustls::ServerConfig> {
        let key = PrivateKeyDer::try_from(self.key_der.clone())
            .unwrap_or_else(|e| panic!("test TLS certificate: its PKCS#8 key: {e}"));
        let config = rustls::ServerConfig::builder_with_provider(hsm_core::tls::crypto_provider())
            .with_safe_default_protocol_versions()
            .expect("test TLS server configuration: protocol versions")
            .with_no_client_auth()
            .with_single_cert(vec![CertificateDer::from(self.der.clone())], key)
            .expect("test TLS server configuration: the certificate and its key");
        Arc::new(config)
    }
}
