//! The command builder: short and extended length encodings, chosen automatically.

use std::fmt;

use zeroize::Zeroizing;

/// The largest Ne a short APDU can ask for (`Le = 00`).
pub const MAX_SHORT_NE: usize = 256;

/// The largest Ne an extended APDU can ask for (`Le = 0000`).
const MAX_EXTENDED_NE: usize = 65_536;

/// A command APDU. The data field is kept in a zeroizing buffer, and it is hidden from `Debug`
/// when the command carries a secret (PINs, DKEK shares).
#[derive(Clone)]
pub struct Apdu {
    /// Class byte (`00` ISO, `80` proprietary).
    pub cla: u8,
    /// Instruction byte.
    pub ins: u8,
    /// Parameter 1.
    pub p1: u8,
    /// Parameter 2.
    pub p2: u8,
    data: Zeroizing<Vec<u8>>,
    ne: usize,
    extended: bool,
    sensitive: bool,
}

impl Apdu {
    /// A command without data that expects no response data (case 1).
    #[must_use]
    pub fn new(cla: u8, ins: u8, p1: u8, p2: u8) -> Self {
        Self {
            cla,
            ins,
            p1,
            p2,
            data: Zeroizing::new(Vec::new()),
            ne: 0,
            extended: false,
            sensitive: false,
        }
    }

    /// Sets the data field.
    #[must_use]
    pub fn with_data(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.data = Zeroizing::new(data.into());
        self
    }

    /// Sets the data field and marks the command as carrying a secret (masked in logs).
    #[must_use]
    pub fn with_secret_data(mut self, data: Zeroizing<Vec<u8>>) -> Self {
        self.data = data;
        self.sensitive = true;
        self
    }

    /// Sets Ne, the maximum number of response bytes expected (1..=65536; 0 = none).
    #[must_use]
    pub fn expect(mut self, ne: usize) -> Self {
        self.ne = ne.min(MAX_EXTENDED_NE);
        self
    }

    /// Asks for as much response data as the card has (extended `Le = 0000`).
    #[must_use]
    pub fn expect_all(self) -> Self {
        self.expect(MAX_EXTENDED_NE).force_extended()
    }

    /// Uses the extended length encoding even if the short one would do.
    #[must_use]
    pub fn force_extended(mut self) -> Self {
        self.extended = true;
        self
    }

    /// The data field.
    #[must_use]
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// Ne.
    #[must_use]
    pub fn ne(&self) -> usize {
        self.ne
    }

    /// Whether the data field is a secret.
    #[must_use]
    pub fn is_sensitive(&self) -> bool {
        self.sensitive
    }

    /// Whether the encoding is extended (data over 255 bytes, Ne over 256, or forced).
    #[must_use]
    pub fn is_extended(&self) -> bool {
        self.extended || self.data.len() > 255 || self.ne > MAX_SHORT_NE
    }

    /// Encodes the command (ISO/IEC 7816-4 §5.1). Data longer than 65535 bytes is truncated to the
    /// encodable maximum; callers split long data (UPDATE BINARY) long before that.
    #[must_use]
    pub fn encode(&self) -> Zeroizing<Vec<u8>> {
        let data = self.data.get(..self.data.len().min(65_535)).unwrap_or(&[]);
        let mut out = Zeroizing::new(Vec::with_capacity(data.len() + 9));
        out.extend([self.cla, self.ins, self.p1, self.p2]);
        let ext = self.is_extended();
        if !data.is_empty() {
            if ext {
                out.extend([0x00, (data.len() >> 8) as u8, data.len() as u8]);
            } else {
                out.push(data.len() as u8);
            }
            out.extend_from_slice(data);
        }
        if self.ne > 0 {
            let le = if self.ne >= MAX_EXTENDED_NE || (!ext && self.ne == MAX_SHORT_NE) {
                0
            } else {
                self.ne
            };
            if ext {
                if data.is_empty() {
                    out.push(0x00);
                }
                out.extend([(le >> 8) as u8, le as u8]);
            } else {
                out.push(le as u8);
            }
        }
        out
    }

    /// The encoding for logs: secrets replaced by `**`.
    #[must_use]
    pub fn masked_hex(&self) -> String {
        if self.sensitive {
            format!(
                "{:02X}{:02X}{:02X}{:02X} <{} secret bytes>",
                self.cla,
                self.ins,
                self.p1,
                self.p2,
                self.data.len()
            )
        } else {
            hex::encode_upper(self.encode().as_slice())
        }
    }
}

impl fmt::Debug for Apdu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Apdu");
        let _ = d
            .field("cla", &format_args!("{:02X}", self.cla))
            .field("ins", &format_args!("{:02X}", self.ins))
            .field("p1", &format_args!("{:02X}", self.p1))
            .field("p2", &format_args!("{:02X}", self.p2));
        if self.sensitive {
            let _ = d.field("data", &format_args!("<{} secret bytes>", self.data.len()));
        } else {
            let _ = d.field("data", &hex::encode_upper(self.data.as_slice()));
        }
        d.field("ne", &self.ne).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_four_short_cases() {
        assert_eq!(
            Apdu::new(0x00, 0x20, 0x00, 0x81).encode().as_slice(),
            [0x00, 0x20, 0x00, 0x81]
        );
        assert_eq!(
            Apdu::new(0x00, 0x84, 0, 0).expect(8).encode().as_slice(),
            [0x00, 0x84, 0, 0, 8]
        );
        assert_eq!(
            Apdu::new(0x80, 0x52, 0, 0).expect(256).encode().as_slice(),
            [0x80, 0x52, 0, 0, 0]
        );
        assert_eq!(
            Apdu::new(0, 0xE4, 2, 0)
                .with_data([0xCC, 1])
                .encode()
                .as_slice(),
            [0, 0xE4, 2, 0, 2, 0xCC, 1]
        );
        assert_eq!(
            Apdu::new(0, 0xA4, 4, 0)
                .with_data([1, 2])
                .expect(256)
                .encode()
                .as_slice(),
            [0, 0xA4, 4, 0, 2, 1, 2, 0]
        );
    }

    #[test]
    fn extended_cases_match_what_opensc_sends() {
        // ENUMERATE OBJECTS: 80 58 00 00 00 00 00
        assert_eq!(
            Apdu::new(0x80, 0x58, 0, 0).expect_all().encode().as_slice(),
            [0x80, 0x58, 0, 0, 0, 0, 0]
        );
        // SIGN with Le = 512: ... 00 00 20 <32> 02 00
        let sign = Apdu::new(0x80, 0x68, 1, 0x70)
            .with_data(vec![0xAA; 32])
            .expect(512)
            .encode();
        assert_eq!(&sign[..7], &[0x80, 0x68, 1, 0x70, 0, 0, 0x20]);
        assert_eq!(&sign[sign.len() - 2..], &[0x02, 0x00]);
        assert_eq!(sign.len(), 7 + 32 + 2);
        // 300 data bytes, no Le
        let long = Apdu::new(0, 0xD7, 0, 0).with_data(vec![0; 300]).encode();
        assert_eq!(&long[4..7], &[0, 0x01, 0x2C]);
        assert_eq!(long.len(), 7 + 300);
        // Le = 65536 with data -> 00 00 at the end
        let all = Apdu::new(0, 0x46, 1, 0)
            .with_data([1])
            .expect_all()
            .encode();
        assert_eq!(all.as_slice(), [0, 0x46, 1, 0, 0, 0, 1, 1, 0, 0]);
    }

    #[test]
    fn secrets_are_masked() {
        let a = Apdu::new(0, 0x20, 0, 0x81).with_secret_data(Zeroizing::new(b"648219".to_vec()));
        let dbg = format!("{a:?}");
        assert!(!dbg.contains("363438") && !dbg.contains("648219"), "{dbg}");
        assert!(!a.masked_hex().contains("363438"));
    }
}
