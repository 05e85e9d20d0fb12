//! Certificates stored with keys (`/keys/{id}/cert`) behind hsm-core's `KeyStore`: read as DER
//! (the device keeps whatever was uploaded, PEM included), stored after hsm-core's one DER
//! check, replaced as the device allows (delete, then store: it answers 409 while one exists).

use hsm_core::certificate::check_certificate_der;
use hsm_core::{Error, ErrorKind, KeyId, Result};

use super::AsyncNetHsm;
use super::trace::traced;
use crate::protocol::key_ids;

impl AsyncNetHsm {
    /// The certificate stored with `key`, as DER (a PEM upload, e.g. by another client, is
    /// decoded); `None` when the key has none. Reading needs the Operator or Administrator
    /// role: it runs as the main user.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] when there is no such key (the device answers 404 both for a
    /// missing key and for a key without a certificate: a second request tells them apart);
    /// [`ErrorKind::Protocol`] when what the key holds is no X.509 certificate;
    /// [`ErrorKind::Unsupported`] without an administrator (see [`Self::capabilities`]).
    pub async fn certificate(&self, key: &KeyId) -> Result<Option<Vec<u8>>> {
        const OP: &str = "nethsm.certificate";
        traced("certificate", Some(key), None, async {
            self.require_certificates(OP)?;
            let id = key_ids::to_device(key, OP)?;
            let _slot = self.slot(OP).await?;
            let stored = match self.inner.client.key_certificate(&id).await {
                Ok(stored) => stored,
                Err(e) if e.is_not_found() => {
                    return match self.inner.client.get_key(&id).await {
                        Ok(_) => Ok(None),
                        Err(missing) if missing.is_not_found() => {
                            Err(Error::not_found(OP, format!("there is no key {key}"))
                                .with_source(missing))
                        }
                        Err(other) => Err(other),
                    };
                }
                Err(e) => return Err(e),
            };
            stored_as_der(&stored, OP).map(Some)
        })
        .await
    }

    /// Stores `der` (one DER X.509 certificate) with `key`, replacing any: the device refuses
    /// a second one (409), so an existing certificate is deleted first. Sent as the
    /// administrator.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] when `der` is not one DER certificate (nothing is sent);
    /// [`ErrorKind::NotFound`] for a missing key; [`ErrorKind::Unsupported`] without an
    /// administrator.
    pub async fn store_certificate(&self, key: &KeyId, der: &[u8]) -> Result<()> {
        const OP: &str = "nethsm.store_certificate";
        traced("store_certificate", Some(key), None, async {
            self.require_certificates(OP)?;
            check_certificate_der(der, OP)?;
            let id = key_ids::to_device(key, OP)?;
            let _slot = self.slot(OP).await?;
            let admin = self.manager();
            match admin.put_key_certificate(&id, der).await {
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                    match admin.delete_key_certificate(&id).await {
                        // Deleted meanwhile by someone else: nothing to replace.
                        Ok(()) => {}
                        Err(gone) if gone.is_not_found() => {}
                        Err(other) => return Err(other),
                    }
                    admin.put_key_certificate(&id, der).await
                }
                other => other,
            }
        })
        .await
    }

    /// Deletes the certificate stored with `key`, as the administrator.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] when there is no such key or it has no certificate;
    /// [`ErrorKind::Unsupported`] without an administrator.
    pub async fn delete_certificate(&self, key: &KeyId) -> Result<()> {
        const OP: &str = "nethsm.delete_certificate";
        traced("delete_certificate", Some(key), None, async {
            self.require_certificates(OP)?;
            let id = key_ids::to_device(key, OP)?;
            let _slot = self.slot(OP).await?;
            self.manager().delete_key_certificate(&id).await
        })
        .await
    }

    /// Certificates are declared, and served, when the handle has an administrator: storing
    /// and deleting need that role, and hsm-core's contract is that a backend does all of a
    /// capability or none of it.
    fn require_certificates(&self, operation: &'static str) -> Result<()> {
        if self.inner.has_admin {
            Ok(())
        } else {
            Err(Error::unsupported(
                operation,
                "certificates stored with keys need an Administrator: open the NetHSM with admin= (or with_admin)",
            ))
        }
    }
}

/// What the device returned for a key's certificate, as DER: the bytes themselves when they
/// are one DER certificate, else a PEM `CERTIFICATE` decoded.
fn stored_as_der(stored: &[u8], operation: &'static str) -> Result<Vec<u8>> {
    if check_certificate_der(stored, operation).is_ok() {
        return Ok(stored.to_vec());
    }
    let not_a_certificate = || {
        Error::protocol(
            operation,
            "the key holds something that is not an X.509 certificate (DER or PEM)",
        )
    };
    let (label, der) =
        der::pem::decode_vec(stored).map_err(|e| not_a_certificate().with_source(e))?;
    if label != "CERTIFICATE" {
        return Err(not_a_certificate());
    }
    check_certificate_der(&der, operation).map_err(|e| not_a_certificate().with_source(e))?;
    Ok(der)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A self-signed P-256 certificate made once by `openssl req -x509`.
    const CERT_PEM: &str = include_str!("../../tests/data/cert.pem");

    #[test]
    fn der_and_pem_come_back_as_der_anything_else_is_a_protocol_error() {
        let (_, der) = der::pem::decode_vec(CERT_PEM.as_bytes()).unwrap();
        assert_eq!(stored_as_der(&der, "t").unwrap(), der);
        assert_eq!(stored_as_der(CERT_PEM.as_bytes(), "t").unwrap(), der);
        let public = CERT_PEM.replace("CERTIFICATE", "PUBLIC KEY");
        for bad in [
            &b"certificate bytes"[..],
            public.as_bytes(),
            &der[..der.len() - 1],
            b"",
        ] {
            let e = stored_as_der(bad, "t").unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Protocol, "{e}");
        }
    }
}
