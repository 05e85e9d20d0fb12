//! The private-key description in EF `C4xx` (PKCS#15 `PrivateKeyChoice`).

use hsm_core::{Error, Result};

use crate::protocol::tlv;

const OP: &str = "sc-hsm.prkd";

/// Key type and size as the description records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// An RSA key (`privateRSAKey`) with this modulus length in bits.
    Rsa {
        /// Modulus length in bits.
        modulus_bits: u32,
    },
    /// An EC key (`privateECKey`, tag `A0`) with this field size in bits.
    Ec {
        /// Field size in bits.
        field_bits: u32,
    },
}

/// A PKCS#15 private-key description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrivateKeyDescription {
    /// Label (PKCS#11 `CKA_LABEL`).
    pub label: Option<String>,
    /// Identifier (PKCS#11 `CKA_ID`), any length.
    pub id: Vec<u8>,
    /// Key reference on the card (OpenSC ignores it and uses the file id's low byte).
    pub key_ref: u8,
    /// Type and size.
    pub kind: KeyKind,
}

/// A key size: a non-negative DER INTEGER that fits in 32 bits (at most 5 bytes, the first a
/// sign byte of zero when the top bit is set). Anything else is refused, not truncated.
fn key_size(int: &[u8]) -> Result<u32> {
    let refuse = || Error::protocol(OP, "the key size is not a non-negative 32-bit INTEGER");
    let magnitude = match int {
        [] => return Err(refuse()),
        [first, ..] if first & 0x80 != 0 => return Err(refuse()),
        [0, rest @ ..] if rest.len() == 4 => rest,
        _ if int.len() <= 4 => int,
        _ => return Err(refuse()),
    };
    Ok(magnitude
        .iter()
        .fold(0u32, |acc, b| (acc << 8) | u32::from(*b)))
}

fn integer(v: u32) -> Vec<u8> {
    tlv::der_unsigned(&v.to_be_bytes())
}

impl PrivateKeyDescription {
    /// Encodes the description byte for byte as OpenSC 0.23's sc-hsm emulator does.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut common = Vec::new();
        if let Some(label) = &self.label {
            tlv::write(&mut common, 0x0C, label.as_bytes());
        }
        tlv::write(&mut common, 0x03, &[0x06, 0xC0]); // private, modifiable
        tlv::write(&mut common, 0x04, &[0x01]); // authId: the user PIN
        let mut key = tlv::encode(0x04, &self.id);
        match self.kind {
            // sign, signRecover, derive
            KeyKind::Ec { .. } => tlv::write(&mut key, 0x03, &[0x07, 0x30, 0x80]),
            // decrypt, sign, signRecover
            KeyKind::Rsa { .. } => tlv::write(&mut key, 0x03, &[0x04, 0x70]),
        }
        tlv::write(&mut key, 0x02, &integer(u32::from(self.key_ref)));
        let size = match self.kind {
            KeyKind::Ec { field_bits } => field_bits,
            KeyKind::Rsa { modulus_bits } => modulus_bits,
        };
        let mut path = tlv::encode(0x30, &tlv::encode(0x04, &[]));
        tlv::write(&mut path, 0x02, &integer(size));
        let type_attrs = tlv::encode(0xA1, &tlv::encode(0x30, &path));
        let mut body = tlv::encode(0x30, &common);
        tlv::write(&mut body, 0x30, &key);
        body.extend(type_attrs);
        let tag = match self.kind {
            KeyKind::Ec { .. } => 0xA0,
            KeyKind::Rsa { .. } => 0x30,
        };
        tlv::encode(tag, &body)
    }

    /// Decodes a description written by OpenSC, the vendor tools, or [`Self::encode`].
    ///
    /// # Errors
    /// [`hsm_core::ErrorKind::Protocol`] if it is malformed or not an RSA/EC key.
    pub fn decode(data: &[u8]) -> Result<Self> {
        let (outer, _, _) = tlv::parse_one(data)?;
        let is_ec = match outer.tag {
            0x30 => false,
            0xA0 => true,
            t => {
                return Err(Error::protocol(
                    OP,
                    format!("unsupported private key type tag {t:X}"),
                ));
            }
        };
        let parts = outer.children()?;
        let mut seqs = parts.iter().filter(|t| t.tag == 0x30);
        let common = seqs
            .next()
            .ok_or_else(|| Error::protocol(OP, "no common object attributes"))?;
        let key = seqs
            .next()
            .ok_or_else(|| Error::protocol(OP, "no common key attributes"))?;
        let label = common
            .child(0x0C)?
            .map(|v| String::from_utf8_lossy(v).into_owned());
        let id = key.require(0x04, "the key id")?.to_vec();
        let key_ref = key
            .child(0x02)?
            .and_then(|v| v.last().copied())
            .unwrap_or(0);
        let mut size = 0u32;
        if let Some(type_attrs) = parts.iter().find(|t| t.tag == 0xA1) {
            let (seq, _, _) = tlv::parse_one(type_attrs.value)?;
            if let Some(int) = tlv::find(seq.value, 0x02)? {
                size = key_size(int)?;
            }
        }
        Ok(Self {
            label,
            id,
            key_ref,
            kind: if is_ec {
                KeyKind::Ec { field_bits: size }
            } else {
                KeyKind::Rsa { modulus_bits: size }
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_sizes_are_refused_not_truncated() {
        // Found by the sc_pkcs15 fuzz target: `02 04 D2020180` (negative) came back as 3523346816.
        let fuzzed = hex::decode(
            "a02c300f0c06656374657374030206c0040101300b0401010303073080020101a10c300a30020400\
             0204d2020180",
        )
        .unwrap();
        assert!(PrivateKeyDescription::decode(&fuzzed).is_err());
        assert_eq!(key_size(&[0x01, 0x00]).unwrap(), 256);
        assert_eq!(
            key_size(&[0x00, 0xD2, 0x02, 0x01, 0x80]).unwrap(),
            0xD202_0180
        );
        assert!(key_size(&[]).is_err());
        assert!(key_size(&[0x01, 0, 0, 0, 0]).is_err());
        assert_eq!(key_size(&integer(u32::MAX)).unwrap(), u32::MAX);
    }

    /// A description as OpenSC writes it: key reference and id the same one byte.
    fn described(label: &str, key_ref: u8, kind: KeyKind) -> PrivateKeyDescription {
        PrivateKeyDescription {
            label: Some(label.into()),
            id: vec![key_ref],
            key_ref,
            kind,
        }
    }

    #[test]
    fn byte_exact_with_opensc() {
        let ec = described("ectest", 1, KeyKind::Ec { field_bits: 256 });
        let rsa = described("rsatest", 2, KeyKind::Rsa { modulus_bits: 2048 });
        for (description, opensc) in [
            (
                &ec,
                "A02A300F0C06656374657374030206C0040101300B0401010303073080020101A10A3008300204000202 0100",
            ),
            (
                &rsa,
                "302A30100C0772736174657374030206C0040101300A04010203020470020102A10A300830020400020208 00",
            ),
        ] {
            assert_eq!(
                hex::encode_upper(description.encode()),
                opensc.replace(' ', "")
            );
            assert_eq!(
                &PrivateKeyDescription::decode(&description.encode()).unwrap(),
                description
            );
        }
        let p521 = PrivateKeyDescription {
            kind: KeyKind::Ec { field_bits: 521 },
            ..ec
        };
        assert_eq!(PrivateKeyDescription::decode(&p521.encode()).unwrap(), p521);
    }
}
