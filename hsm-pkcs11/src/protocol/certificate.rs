//! The attributes of a certificate object taken from its DER: `CKA_SUBJECT`, `CKA_ISSUER` and
//! `CKA_SERIAL_NUMBER` must hold the certificate's own subject, issuer and serial number
//! (PKCS#11 2.40 §4.6.3), which tools such as `pkcs11-tool -O` show and search by.

use hsm_core::Result;
use hsm_core::certificate::tbs_elements;

/// The parts of an X.509 certificate its PKCS#11 object repeats as attributes, each the whole
/// DER element (tag, length and contents).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateFields {
    /// The serial number (`INTEGER`).
    pub serial: Vec<u8>,
    /// The issuer's name (`SEQUENCE`).
    pub issuer: Vec<u8>,
    /// The subject's name (`SEQUENCE`).
    pub subject: Vec<u8>,
}

impl CertificateFields {
    /// Reads the fields of one DER certificate (with hsm-core's [`tbs_elements`]).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](hsm_core::ErrorKind::InvalidInput) for bytes without that
    /// shape, naming `operation`.
    pub fn parse(der: &[u8], operation: &'static str) -> Result<Self> {
        let tbs = tbs_elements(der, operation)?;
        Ok(Self {
            serial: tbs.serial.to_vec(),
            issuer: tbs.issuer.to_vec(),
            subject: tbs.subject.to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A certificate made by `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256
    /// -subj /CN=fields -set_serial 4660 -days 1 -outform DER`.
    fn openssl_certificate() -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let out = std::process::Command::new("openssl")
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
            .args(["ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=fields"])
            .args(["-set_serial", "4660", "-days", "1", "-outform", "DER"])
            .arg("-keyout")
            .arg(dir.path().join("k.pem"))
            .arg("-out")
            .arg(dir.path().join("c.der"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        std::fs::read(dir.path().join("c.der")).unwrap()
    }

    #[test]
    fn fields_of_an_openssl_certificate() {
        let der = openssl_certificate();
        let f = CertificateFields::parse(&der, "t").unwrap();
        assert_eq!(f.serial, [0x02, 0x02, 0x12, 0x34]);
        // Self-signed: issuer and subject are the same name, and it holds "fields".
        assert_eq!(f.issuer, f.subject);
        assert!(f.subject.windows(6).any(|w| w == b"fields"));
    }

    #[test]
    fn every_truncation_and_garbage_is_refused_without_panic() {
        let der = openssl_certificate();
        for n in 0..der.len().min(200) {
            assert!(CertificateFields::parse(&der[..n], "t").is_err(), "{n}");
        }
        for bad in [
            &b""[..],
            b"\x30",
            b"\x30\x80",
            b"\x30\x85\xff\xff\xff\xff\xff",
            b"\x02\x01\x00",
        ] {
            let e = CertificateFields::parse(bad, "t.op").unwrap_err();
            assert_eq!(e.operation(), "t.op");
        }
    }
}
