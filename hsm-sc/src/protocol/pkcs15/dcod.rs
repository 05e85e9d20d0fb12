//! The data-object description in EF `C9xx` (PKCS#15 `DataType`/opaqueDO).

use hsm_core::{Error, Result};

use crate::protocol::tlv;

const OP: &str = "sc-hsm.dcod";

/// A PKCS#15 data-object description pointing at the file holding the data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataObjectDescription {
    /// Label.
    pub label: String,
    /// Application name (OpenSC sets it to the label when none is given).
    pub application: Option<String>,
    /// The file holding the data (`CFxx` public, `CDxx` private).
    pub fid: u16,
    /// Whether reading needs the user PIN.
    pub private: bool,
}

impl DataObjectDescription {
    /// Encodes as OpenSC does.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut common = tlv::encode(0x0C, self.label.as_bytes());
        if self.private {
            tlv::write(&mut common, 0x03, &[0x06, 0xC0]);
            tlv::write(&mut common, 0x04, &[0x01]);
        } else {
            tlv::write(&mut common, 0x03, &[0x06, 0x40]);
        }
        let mut data_attrs = Vec::new();
        if let Some(app) = &self.application {
            tlv::write(&mut data_attrs, 0x0C, app.as_bytes());
        }
        let path = tlv::encode(0x30, &tlv::encode(0x04, &self.fid.to_be_bytes()));
        let mut body = tlv::encode(0x30, &common);
        tlv::write(&mut body, 0x30, &data_attrs);
        tlv::write(&mut body, 0xA1, &path);
        tlv::encode(0x30, &body)
    }

    /// Decodes a description.
    ///
    /// # Errors
    /// [`hsm_core::ErrorKind::Protocol`] if it is malformed.
    pub fn decode(data: &[u8]) -> Result<Self> {
        let (outer, _, _) = tlv::parse_one(data)?;
        let parts = outer.children()?;
        let mut seqs = parts.iter().filter(|t| t.tag == 0x30);
        let common = seqs
            .next()
            .ok_or_else(|| Error::protocol(OP, "no common object attributes"))?;
        let data_attrs = seqs.next();
        let label = common
            .child(0x0C)?
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .unwrap_or_default();
        let private = common.child(0x04)?.is_some();
        let application = match data_attrs {
            Some(d) => d
                .child(0x0C)?
                .map(|v| String::from_utf8_lossy(v).into_owned()),
            None => None,
        };
        let type_attrs = parts
            .iter()
            .find(|t| t.tag == 0xA1)
            .ok_or_else(|| Error::protocol(OP, "no path"))?;
        let (path, _, _) = tlv::parse_one(type_attrs.value)?;
        let fid_bytes =
            tlv::find(path.value, 0x04)?.ok_or_else(|| Error::protocol(OP, "no path"))?;
        let fid = match fid_bytes {
            [.., a, b] => u16::from_be_bytes([*a, *b]),
            _ => return Err(Error::protocol(OP, "the path is shorter than a file id")),
        };
        Ok(Self {
            label,
            application,
            fid,
            private,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_exact_with_opensc() {
        let d = DataObjectDescription {
            label: "mydata".into(),
            application: Some("mydata".into()),
            fid: 0xCF00,
            private: false,
        };
        assert_eq!(
            hex::encode_upper(d.encode()),
            "3020300C0C066D7964617461030206403008 0C066D7964617461A106300404 02CF00"
                .replace(' ', "")
        );
        assert_eq!(DataObjectDescription::decode(&d.encode()).unwrap(), d);
    }
}
