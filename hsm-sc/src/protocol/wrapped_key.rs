//! The key backup files of `sc-hsm-tool --wrap-key` / `--unwrap-key`:
//! `SEQUENCE { OCTET STRING blob, [PRKD], [certificate] }`, each optional element copied whole.

use hsm_core::{Error, Result};

use crate::protocol::tlv;

const OP: &str = "sc-hsm.wrap_file";

/// A wrapped key with its PKCS#15 description and certificate, as sc-hsm-tool stores it.
#[derive(Clone, PartialEq, Eq)]
pub struct WrappedKeyFile {
    /// The WRAP KEY answer (encrypted under the DKEK; no plain key material).
    pub blob: Vec<u8>,
    /// The whole content of EF `C4xx`, if any.
    pub prkd: Option<Vec<u8>>,
    /// The whole content of EF `CExx` (X.509 certificate or CV request), if any.
    pub certificate: Option<Vec<u8>>,
}

impl std::fmt::Debug for WrappedKeyFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WrappedKeyFile")
            .field("blob_len", &self.blob.len())
            .field("prkd", &self.prkd.is_some())
            .field("certificate", &self.certificate.is_some())
            .finish()
    }
}

impl WrappedKeyFile {
    /// Encodes the file.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut body = tlv::encode(0x04, &self.blob);
        if let Some(p) = &self.prkd {
            body.extend_from_slice(p);
        }
        if let Some(c) = &self.certificate {
            body.extend_from_slice(c);
        }
        tlv::encode(0x30, &body)
    }

    /// Decodes a file written by sc-hsm-tool or [`Self::encode`].
    ///
    /// # Errors
    /// [`hsm_core::ErrorKind::InvalidInput`] if it is not such a file.
    pub fn decode(data: &[u8]) -> Result<Self> {
        let bad =
            |e: Error| Error::invalid_input(OP, format!("not a sc-hsm-tool wrapped key file: {e}"));
        let (outer, _, _) = tlv::parse_one(data).map_err(bad)?;
        if outer.tag != 0x30 {
            return Err(Error::invalid_input(
                OP,
                "not a sc-hsm-tool wrapped key file",
            ));
        }
        let (blob, _, mut rest) = tlv::parse_one(outer.value).map_err(bad)?;
        if blob.tag != 0x04 {
            return Err(Error::invalid_input(
                OP,
                "the file does not start with the key blob",
            ));
        }
        let mut prkd = None;
        let mut certificate = None;
        while !rest.is_empty() {
            let (t, whole, r) = tlv::parse_one(rest).map_err(bad)?;
            rest = r;
            match t.tag {
                0xA0 if prkd.is_none() && certificate.is_none() => prkd = Some(whole.to_vec()),
                0x30 if prkd.is_none() && certificate.is_none() && is_prkd(t.value) => {
                    prkd = Some(whole.to_vec());
                }
                _ if certificate.is_none() => certificate = Some(whole.to_vec()),
                _ => {}
            }
        }
        Ok(Self {
            blob: blob.value.to_vec(),
            prkd,
            certificate,
        })
    }
}

/// An RSA PRKD is a SEQUENCE whose first element is a SEQUENCE (common object attributes);
/// an X.509 certificate's first element is also a SEQUENCE (tbsCertificate) but holds an
/// INTEGER or [0] first.
fn is_prkd(value: &[u8]) -> bool {
    match tlv::parse_one(value) {
        Ok((first, _, _)) if first.tag == 0x30 => match tlv::parse_one(first.value) {
            Ok((inner, _, _)) => inner.tag == 0x0C || inner.tag == 0x03,
            Err(_) => false,
        },
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::pkcs15::{KeyKind, PrivateKeyDescription};

    #[test]
    fn round_trip() {
        for kind in [
            KeyKind::Ec { field_bits: 256 },
            KeyKind::Rsa { modulus_bits: 2048 },
        ] {
            let prkd = PrivateKeyDescription {
                label: Some("k".into()),
                id: vec![1],
                key_ref: 1,
                kind,
            }
            .encode();
            let f = WrappedKeyFile {
                blob: vec![9; 400],
                prkd: Some(prkd),
                certificate: Some(tlv::encode(0x67, &[1, 2, 3])),
            };
            assert_eq!(WrappedKeyFile::decode(&f.encode()).unwrap(), f);
        }
        let bare = WrappedKeyFile {
            blob: vec![1],
            prkd: None,
            certificate: None,
        };
        assert_eq!(WrappedKeyFile::decode(&bare.encode()).unwrap(), bare);
        assert!(WrappedKeyFile::decode(&[0x04, 0x01, 0x00]).is_err());
    }
}
