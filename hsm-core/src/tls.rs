//! TLS options shared by the REST backends (NetHSM, N200), and with feature `rustls` the client
//! configuration that enforces them.
//!
//! Verification is on by default. The ways to trust an appliance's own certificate:
//! - `ca`: trust only the certificates in a PEM file (an appliance's self-signed certificate, or
//!   the CA that issued it), with the usual hostname check;
//! - `server-name`: check the certificate against this name while connecting to another host or
//!   IP (the N200's certificate names `seSAM-nserie-101`, not its address);
//! - `pin-sha256`: accept exactly the end-entity certificate whose SHA-256 fingerprint is given
//!   (like `sha256_fingerprints` of Nitrokey's PKCS#11 module), whatever issued it;
//! - `insecure`: accept any certificate. Only on explicit request, and it logs a warning.

use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::uri::QueryParams;

/// How a REST backend checks the server's certificate.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TlsOptions {
    /// Trust only the certificates in this PEM file.
    pub ca_file: Option<PathBuf>,
    /// Check the certificate against this DNS name instead of the host connected to.
    pub server_name: Option<String>,
    /// Accept an end-entity certificate with one of these SHA-256 fingerprints.
    pub pin_sha256: Vec<[u8; 32]>,
    /// Accept any certificate (explicit opt-in only).
    pub insecure: bool,
}

impl TlsOptions {
    /// Reads `ca=`, `server-name=`, `pin-sha256=` (hex, `:` separators allowed, several by `,`)
    /// and `insecure=` from URI parameters.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for a malformed fingerprint or
    /// flag.
    pub fn from_query(query: &mut QueryParams) -> Result<Self> {
        let pin_sha256 = match query.take("pin-sha256")? {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(parse_fingerprint)
                .collect::<Result<Vec<_>>>()?,
        };
        Ok(Self {
            ca_file: query.take_path("ca")?,
            server_name: query.take("server-name")?,
            pin_sha256,
            insecure: query.take_bool("insecure")?.unwrap_or(false),
        })
    }

    /// Trusts the certificates in this PEM file.
    #[must_use]
    pub fn with_ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    /// Checks the certificate against `name`.
    #[must_use]
    pub fn with_server_name(mut self, name: impl Into<String>) -> Self {
        self.server_name = Some(name.into());
        self
    }

    /// Pins an end-entity certificate by its SHA-256 fingerprint.
    #[must_use]
    pub fn with_pin_sha256(mut self, fingerprint: [u8; 32]) -> Self {
        self.pin_sha256.push(fingerprint);
        self
    }

    /// Accepts any certificate. Use only for throwaway test set-ups.
    #[must_use]
    pub fn danger_accept_invalid_certs(mut self) -> Self {
        self.insecure = true;
        self
    }
}

/// Parses a SHA-256 fingerprint given as 64 hex digits, with or without `:` separators.
///
/// # Errors
/// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) unless it is 32 bytes of hex.
pub fn parse_fingerprint(text: &str) -> Result<[u8; 32]> {
    let cleaned: String = text.chars().filter(|c| *c != ':').collect();
    let bytes = hex::decode(cleaned.trim())
        .map_err(|e| Error::invalid_input("parse URI", format!("`pin-sha256` is not hex: {e}")))?;
    bytes.try_into().map_err(|b: Vec<u8>| {
        Error::invalid_input(
            "parse URI",
            format!("`pin-sha256` is 32 bytes (64 hex digits), got {}", b.len()),
        )
    })
}

#[cfg(feature = "rustls")]
pub use self::client::{client_config, crypto_provider};

#[cfg(feature = "rustls")]
mod client {
    use std::sync::{Arc, Once};

    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
    use rustls::{DigitallySignedStruct, SignatureScheme};
    use rustls_pki_types::pem::PemObject as _;
    use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
    use sha2::Digest as _;

    use super::TlsOptions;
    use crate::error::{Error, ErrorKind, Result};

    const OP: &str = "tls config";

    /// The crypto provider the workspace uses (ring).
    #[must_use]
    pub fn crypto_provider() -> Arc<CryptoProvider> {
        Arc::new(rustls::crypto::ring::default_provider())
    }

    /// Builds a rustls client configuration that enforces `options`.
    ///
    /// With no `ca`, no pin and no `insecure`, the system's trust store is used
    /// (`SSL_CERT_FILE`, or `/etc/ssl/certs/ca-certificates.crt`).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] if the CA file cannot be read or holds no certificate.
    pub fn client_config(options: &TlsOptions) -> Result<rustls::ClientConfig> {
        let provider = crypto_provider();
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::new(ErrorKind::InvalidInput, OP).with_source(e))?;
        let config = if options.insecure {
            warn_insecure_once();
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(ProviderVerifier {
                    accept: Accept::Any,
                    provider,
                }))
                .with_no_client_auth()
        } else if !options.pin_sha256.is_empty() {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(ProviderVerifier {
                    accept: Accept::Pinned(options.pin_sha256.clone()),
                    provider,
                }))
                .with_no_client_auth()
        } else {
            let mut roots = rustls::RootCertStore::empty();
            let path = match &options.ca_file {
                Some(p) => p.clone(),
                None => std::env::var_os("SSL_CERT_FILE")
                    .map(Into::into)
                    .unwrap_or_else(|| "/etc/ssl/certs/ca-certificates.crt".into()),
            };
            let certs = CertificateDer::pem_file_iter(&path)
                .map_err(|e| {
                    Error::invalid_input(OP, format!("cannot read CA file {}", path.display()))
                        .with_source(e)
                })?
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| {
                    Error::invalid_input(OP, format!("bad PEM in {}", path.display()))
                        .with_source(e)
                })?;
            let (added, _ignored) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(Error::invalid_input(
                    OP,
                    format!("no usable certificate in {}", path.display()),
                ));
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        };
        Ok(config)
    }

    fn warn_insecure_once() {
        static ONCE: Once = Once::new();
        ONCE.call_once(|| {
            tracing::warn!(
                "TLS certificate verification is OFF (insecure=true): anyone on the path can \
                 impersonate the HSM"
            );
        });
    }

    /// Which end-entity certificates a [`ProviderVerifier`] accepts.
    #[derive(Debug)]
    enum Accept {
        /// Exactly those whose SHA-256 fingerprint is pinned.
        Pinned(Vec<[u8; 32]>),
        /// Any (insecure mode).
        Any,
    }

    /// A verifier that decides on the end-entity certificate by [`Accept`] and still checks the
    /// handshake signatures against it with the provider's algorithms.
    #[derive(Debug)]
    struct ProviderVerifier {
        accept: Accept,
        provider: Arc<CryptoProvider>,
    }

    impl ServerCertVerifier for ProviderVerifier {
        fn verify_server_cert(
            &self,
            end_entity: &CertificateDer<'_>,
            _intermediates: &[CertificateDer<'_>],
            _server_name: &ServerName<'_>,
            _ocsp_response: &[u8],
            _now: UnixTime,
        ) -> std::result::Result<ServerCertVerified, rustls::Error> {
            let pins = match &self.accept {
                Accept::Any => return Ok(ServerCertVerified::assertion()),
                Accept::Pinned(pins) => pins,
            };
            let fingerprint: [u8; 32] = sha2::Sha256::digest(end_entity.as_ref()).into();
            if pins.contains(&fingerprint) {
                Ok(ServerCertVerified::assertion())
            } else {
                Err(rustls::Error::General(format!(
                    "certificate SHA-256 {} matches no pin",
                    hex::encode(fingerprint)
                )))
            }
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
            verify_tls12_signature(
                message,
                cert,
                dss,
                &self.provider.signature_verification_algorithms,
            )
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
            verify_tls13_signature(
                message,
                cert,
                dss,
                &self.provider.signature_verification_algorithms,
            )
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.provider
                .signature_verification_algorithms
                .supported_schemes()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_from_query() {
        let fp = "AB".repeat(32);
        let colons: Vec<String> = (0..32).map(|_| "cd".to_owned()).collect();
        let mut q = QueryParams::from_pairs(vec![
            ("ca".into(), "/etc/hsm/ca.pem".into()),
            ("server-name".into(), "seSAM-nserie-101".into()),
            ("pin-sha256".into(), format!("{fp},{}", colons.join(":"))),
        ]);
        let o = TlsOptions::from_query(&mut q).expect("parses");
        assert_eq!(
            o.ca_file.as_deref(),
            Some(std::path::Path::new("/etc/hsm/ca.pem"))
        );
        assert_eq!(o.server_name.as_deref(), Some("seSAM-nserie-101"));
        assert_eq!(o.pin_sha256, vec![[0xAB; 32], [0xCD; 32]]);
        assert!(!o.insecure);
        assert!(q.is_empty());
        assert!(parse_fingerprint("abcd").is_err());
        let mut bad = QueryParams::from_pairs(vec![("insecure".into(), "maybe".into())]);
        assert!(TlsOptions::from_query(&mut bad).is_err());
    }
}
