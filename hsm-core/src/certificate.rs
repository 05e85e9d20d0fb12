//! X.509 certificates stored with keys ([`KeyStore::certificate`](crate::KeyStore::certificate)):
//! the one check every backend applies before it stores one, and the elements of the
//! certificate a PKCS#11 certificate object repeats as attributes (`CKA_SERIAL_NUMBER`,
//! `CKA_ISSUER`, `CKA_SUBJECT`, `CKA_PUBLIC_KEY_INFO`).

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

/// The DER elements of a certificate's `tbsCertificate` that PKCS#11 repeats as attributes,
/// each the whole element (tag, length and contents) as it stands in the certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TbsElements<'a> {
    /// `serialNumber`, an `INTEGER`.
    pub serial: &'a [u8],
    /// `issuer`, a `Name` (`SEQUENCE`).
    pub issuer: &'a [u8],
    /// `subject`, a `Name` (`SEQUENCE`).
    pub subject: &'a [u8],
    /// `subjectPublicKeyInfo`, a `SEQUENCE`.
    pub public_key_info: &'a [u8],
}

/// Splits the elements of [`TbsElements`] out of one DER certificate:
///
/// ```text
/// Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signature }
/// TBSCertificate ::= SEQUENCE { [0] version OPTIONAL, serialNumber, signature, issuer,
///                               validity, subject, subjectPublicKeyInfo, ... }
/// ```
///
/// It reads only the structure down to `subjectPublicKeyInfo` (one-byte tags, definite lengths)
/// and checks each element's tag; [`check_certificate_der`] checks the whole certificate.
/// Any input, however cut or mangled, is answered, never a panic.
///
/// # Errors
/// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) naming `operation` and the
/// element that is missing or of the wrong type.
pub fn tbs_elements<'a>(der: &'a [u8], operation: &'static str) -> Result<TbsElements<'a>> {
    let bad =
        |what: &str| Error::invalid_input(operation, format!("not an X.509 certificate: {what}"));
    let sequence_contents = |input, what| match split_element(input) {
        Some((whole, contents, _)) if whole.first() == Some(&SEQUENCE) => Ok(contents),
        _ => Err(bad(what)),
    };
    let certificate = sequence_contents(der, "no outer SEQUENCE")?;
    let tbs = sequence_contents(certificate, "no tbsCertificate")?;
    let mut rest = tbs;
    let mut next = |what: &str, tag: Option<u8>| {
        let (element, _, after) = split_element(rest).ok_or_else(|| bad(what))?;
        if tag.is_some_and(|tag| element.first() != Some(&tag)) {
            return Err(bad(&format!("the {what} has the wrong type")));
        }
        rest = after;
        Ok(element)
    };
    let mut serial = next("serial number", None)?;
    if serial.first() == Some(&0xa0) {
        serial = next("serial number", None)?;
    }
    if serial.first() != Some(&INTEGER) {
        return Err(bad("the serial number has the wrong type"));
    }
    let _signature = next("signature algorithm", None)?;
    let issuer = next("issuer", Some(SEQUENCE))?;
    let _validity = next("validity", None)?;
    let subject = next("subject", Some(SEQUENCE))?;
    let public_key_info = next("subject public key info", Some(SEQUENCE))?;
    Ok(TbsElements {
        serial,
        issuer,
        subject,
        public_key_info,
    })
}

const INTEGER: u8 = 0x02;
const SEQUENCE: u8 = 0x30;

/// One DER element off the front of `input` (one-byte tag, definite length in at most 4
/// bytes): the whole element, its contents and what follows it; `None` if `input` does not
/// hold a whole one.
fn split_element(input: &[u8]) -> Option<(&[u8], &[u8], &[u8])> {
    let first = *input.get(1)?;
    let (header, len) = if first < 0x80 {
        (2, usize::from(first))
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let len = input
            .get(2..2 + n)?
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (2 + n, len)
    };
    let end = header.checked_add(len)?;
    Some((
        input.get(..end)?,
        input.get(header..end)?,
        input.get(end..)?,
    ))
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
    /// A self-signed Ed25519 certificate made by the `openssl` CLI (CN=tbs elements, serial
    /// 0x1234), its DER as openssl writes it to standard output.
    fn openssl_certificate() -> Vec<u8> {
        let key = tempfile::NamedTempFile::new().unwrap();
        let out = std::process::Command::new("openssl")
            .args(["req", "-x509", "-newkey", "ed25519", "-nodes", "-days", "1"])
            .args([
                "-subj",
                "/CN=tbs elements",
                "-set_serial",
                "0x1234",
                "-outform",
                "DER",
            ])
            .arg("-keyout")
            .arg(key.path())
            .output()
            .expect("the openssl CLI runs");
        assert!(out.status.success(), "{out:?}");
        out.stdout
    }

    #[test]
    fn tbs_elements_of_an_openssl_certificate() {
        let der = openssl_certificate();
        check_certificate_der(&der, "t").unwrap();
        let tbs = tbs_elements(&der, "t").unwrap();
        assert_eq!(tbs.serial, [0x02, 0x02, 0x12, 0x34]);
        // Self-signed: issuer and subject are the same name, holding the common name.
        assert_eq!(tbs.issuer, tbs.subject);
        assert_eq!(tbs.subject.first(), Some(&0x30));
        assert!(tbs.subject.windows(12).any(|w| w == b"tbs elements"));
        // The elements are the ones x509-cert decodes from the same certificate.
        let cert = x509_cert::Certificate::from_der(&der).unwrap();
        use der::Encode as _;
        let tbs_cert = cert.tbs_certificate();
        assert_eq!(tbs.issuer, tbs_cert.issuer().to_der().unwrap());
        assert_eq!(tbs.serial, tbs_cert.serial_number().to_der().unwrap());
        let spki = tbs_cert.subject_public_key_info().to_der().unwrap();
        assert_eq!(tbs.public_key_info, spki);
    }

    #[test]
    fn truncations_and_garbage_are_refused_without_panic() {
        let der = openssl_certificate();
        // Every cut that loses part of the elements up to the public key.
        let tbs = tbs_elements(&der, "t").unwrap();
        let needed = tbs.public_key_info.as_ptr() as usize - der.as_ptr() as usize
            + tbs.public_key_info.len();
        for n in 0..needed {
            let e = tbs_elements(&der[..n], "t.cut").unwrap_err();
            assert_eq!(
                (e.kind(), e.operation()),
                (ErrorKind::InvalidInput, "t.cut"),
                "{n}"
            );
        }
        // Every single byte changed to each of a few values: an answer, never a panic.
        for i in 0..der.len() {
            for value in [0x00, 0x30, 0x7f, 0x80, 0x84, 0x85, 0xff] {
                let mut mangled = der.clone();
                mangled[i] = value;
                let _ = tbs_elements(&mangled, "t");
            }
        }
        // Each refused for what it lacks.
        let cases: [(&[u8], &str); 8] = [
            (b"", "no outer SEQUENCE"),
            (b"\x30", "no outer SEQUENCE"),
            (b"\x30\x80", "no outer SEQUENCE"),
            (b"\x30\x85\xff\xff\xff\xff\xff", "no outer SEQUENCE"),
            (b"\x30\x84\xff\xff\xff\xff", "no outer SEQUENCE"),
            (b"\x02\x01\x00", "no outer SEQUENCE"),
            (b"-----BEGIN CERTIFICATE-----", "no outer SEQUENCE"),
            (b"\x30\x00", "no tbsCertificate"),
        ];
        for (bad, reason) in cases {
            let e = tbs_elements(bad, "t.op").unwrap_err();
            assert_eq!((e.kind(), e.operation()), (ErrorKind::InvalidInput, "t.op"));
            assert!(e.to_string().contains(reason), "{bad:?}: {e}");
        }
        // A serial number of the wrong type is named.
        let serial_at = tbs.serial.as_ptr() as usize - der.as_ptr() as usize;
        let mut wrong = der.clone();
        wrong[serial_at] = 0x04;
        let e = tbs_elements(&wrong, "t").unwrap_err();
        assert!(e.to_string().contains("serial number"), "{e}");
    }

    #[test]
    fn split_element_never_reads_past_its_input() {
        assert_eq!(split_element(&[0x30, 0x82, 0x01]), None);
        assert_eq!(split_element(&[0x30, 0x85, 1, 1, 1, 1, 1]), None);
        assert_eq!(split_element(&[0x30, 0x80, 0, 0]), None);
        assert_eq!(
            split_element(&[0x02, 0x01, 0x05, 0xff]),
            Some((&[0x02, 0x01, 0x05][..], &[0x05][..], &[0xff][..]))
        );
    }
}
