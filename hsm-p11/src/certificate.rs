//! Certificate objects: the X.509 certificate a backend keeps with a key
//! (`KeyStore::certificate`), shown as a `CKO_CERTIFICATE` / `CKC_X_509` object that shares the
//! key's `CKA_ID` and `CKA_LABEL`, with `CKA_SUBJECT`, `CKA_ISSUER` and `CKA_SERIAL_NUMBER` read
//! from the certificate itself.

use cryptoki_sys::*;
use hsm_core::certificate::{check_certificate_der, tbs_elements};

use crate::attribute::{AttrValue, bool_, ulong};

/// A certificate as the token shows it: its DER and the DER of the fields PKCS#11 exposes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CertRecord {
    /// `CKA_VALUE`: the whole certificate, DER.
    pub der: Vec<u8>,
    /// `CKA_SUBJECT`: the subject `Name`, DER.
    pub subject: Vec<u8>,
    /// `CKA_ISSUER`: the issuer `Name`, DER.
    pub issuer: Vec<u8>,
    /// `CKA_SERIAL_NUMBER`: the serial number, a DER `INTEGER`.
    pub serial: Vec<u8>,
    /// `CKA_PUBLIC_KEY_INFO`: the subject's `SubjectPublicKeyInfo`, DER.
    pub public_key_info: Vec<u8>,
}

impl CertRecord {
    /// Reads one DER-encoded X.509 certificate (`KeyStore::certificate` returns DER); `None` for
    /// anything else.
    pub(crate) fn parse(der: &[u8]) -> Option<Self> {
        check_certificate_der(der, "hsm-p11.certificate").ok()?;
        let tbs = tbs_elements(der, "hsm-p11.certificate").ok()?;
        Some(Self {
            der: der.to_vec(),
            subject: tbs.subject.to_vec(),
            issuer: tbs.issuer.to_vec(),
            serial: tbs.serial.to_vec(),
            public_key_info: tbs.public_key_info.to_vec(),
        })
    }
}

/// The value of `attr` on the certificate object of the key with `label` and `cka_id`.
pub(crate) fn attribute(
    label: &str,
    cka_id: &[u8],
    cert: &CertRecord,
    attr: CK_ATTRIBUTE_TYPE,
) -> AttrValue {
    use AttrValue::{Invalid, Value};
    match attr {
        CKA_CLASS => Value(ulong(CKO_CERTIFICATE)),
        CKA_TOKEN | CKA_DESTROYABLE => Value(bool_(true)),
        CKA_PRIVATE | CKA_MODIFIABLE | CKA_COPYABLE | CKA_TRUSTED => Value(bool_(false)),
        CKA_LABEL => Value(label.as_bytes().to_vec()),
        CKA_ID => Value(cka_id.to_vec()),
        CKA_CERTIFICATE_TYPE => Value(ulong(CKC_X_509)),
        // The key the certificate belongs to is on this token.
        CKA_CERTIFICATE_CATEGORY => Value(ulong(CK_CERTIFICATE_CATEGORY_TOKEN_USER)),
        CKA_JAVA_MIDP_SECURITY_DOMAIN => Value(ulong(CK_SECURITY_DOMAIN_UNSPECIFIED)),
        CKA_START_DATE
        | CKA_END_DATE
        | CKA_URL
        | CKA_HASH_OF_SUBJECT_PUBLIC_KEY
        | CKA_HASH_OF_ISSUER_PUBLIC_KEY => Value(Vec::new()),
        CKA_VALUE => Value(cert.der.clone()),
        CKA_SUBJECT => Value(cert.subject.clone()),
        CKA_ISSUER => Value(cert.issuer.clone()),
        CKA_SERIAL_NUMBER => Value(cert.serial.clone()),
        CKA_PUBLIC_KEY_INFO => Value(cert.public_key_info.clone()),
        _ => Invalid,
    }
}

/// The test support shared with the integration tests (certificates from the `openssl` CLI).
#[cfg(test)]
#[path = "../tests/common/fixtures.rs"]
mod fixtures;

#[cfg(test)]
mod tests {
    use super::*;

    /// A self-signed certificate made by the `openssl` CLI (CN=hsm-p11 unit, serial 0x1234).
    fn openssl_certificate() -> (tempfile::TempDir, std::path::PathBuf, Vec<u8>) {
        let dir = tempfile::tempdir().unwrap();
        let serial = ["-set_serial", "0x1234"];
        let bytes = fixtures::self_signed_certificate(dir.path(), "c", "/CN=hsm-p11 unit", &serial);
        let der = dir.path().join("c.der");
        (dir, der, bytes)
    }

    #[test]
    fn fields_come_from_the_certificate() {
        let (_dir, path, der) = openssl_certificate();
        let record = CertRecord::parse(&der).unwrap();
        assert_eq!(record.der, der);
        // INTEGER 0x1234
        assert_eq!(record.serial, [0x02, 0x02, 0x12, 0x34]);
        // Self-signed: issuer = subject, and the subject holds the common name.
        assert_eq!(record.subject, record.issuer);
        assert!(
            record
                .subject
                .windows(b"hsm-p11 unit".len())
                .any(|w| w == b"hsm-p11 unit")
        );
        assert_eq!(record.public_key_info.first(), Some(&0x30));
        // The subject public key is the one openssl reads from the certificate.
        let from_cert = run_openssl(
            &["x509", "-inform", "DER", "-noout", "-pubkey", "-in"],
            &path,
        );
        let spki = path.with_extension("spki");
        std::fs::write(&spki, &record.public_key_info).unwrap();
        let ours = run_openssl(&["pkey", "-pubin", "-inform", "DER", "-in"], &spki);
        assert_eq!(ours, from_cert);
    }

    fn run_openssl(args: &[&str], file: &std::path::Path) -> String {
        let mut openssl = std::process::Command::new("openssl");
        let _ = openssl.args(args).arg(file);
        String::from_utf8(fixtures::run_ok(&mut openssl, "openssl")).unwrap()
    }

    #[test]
    fn anything_else_is_not_a_certificate() {
        let (_dir, _, der) = openssl_certificate();
        let mut trailing = der.clone();
        trailing.push(0);
        for bad in [
            &b""[..],
            b"\x30\x00",
            &der[..der.len() - 1],
            &trailing,
            b"-----BEGIN x",
        ] {
            assert_eq!(CertRecord::parse(bad), None);
        }
    }
}
