//! X.509 certificates stored with keys ([`KeyStore::certificate`](crate::KeyStore::certificate)):
//! the one check every backend applies before it stores one.

use der::Decode as _;

use crate::error::{Error, Result};

/// Checks that `der` is exactly one DER-encoded X.509 certificate (nothing before or after it).
///
/// # Errors
/// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) naming what is wrong.
pub fn check_certificate_der(der: &[u8], operation: &'static str) -> Result<()> {
    x509_cert::Certificate::from_der(der)
        .map(drop)
        .map_err(|e| {
            Error::invalid_input(operation, "not one DER-encoded X.509 certificate").with_source(e)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn a_certificate_passes_and_anything_else_is_refused() {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["cert.test".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let der = cert.der().to_vec();
        check_certificate_der(&der, "t").unwrap();
        let mut trailing = der.clone();
        trailing.push(0);
        for bad in [&b""[..], b"\x30\x00", &der[..der.len() - 1], &trailing] {
            let e = check_certificate_der(bad, "t.store").unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
            assert_eq!(e.operation(), "t.store");
        }
    }
}
