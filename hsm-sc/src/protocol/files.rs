//! Where things are on a SmartCard-HSM: the applet identifier, the file identifiers and their
//! prefixes, and the file list that ENUMERATE OBJECTS answers.

/// The applet identifier `E8 2B 06 01 04 01 81 C3 1F 02 01`.
pub const AID: [u8; 11] = [
    0xE8, 0x2B, 0x06, 0x01, 0x04, 0x01, 0x81, 0xC3, 0x1F, 0x02, 0x01,
];

/// File identifier prefixes.
pub mod prefix {
    /// Private or secret key (`CCxx`; CC00 is the device key).
    pub const KEY: u8 = 0xCC;
    /// PKCS#15 private-key description (`C4xx`).
    pub const PRKD: u8 = 0xC4;
    /// Certificate (or CV request) of key xx (`CExx`).
    pub const CERT: u8 = 0xCE;
    /// CA certificate (`CAxx`).
    pub const CA_CERT: u8 = 0xCA;
    /// PKCS#15 certificate description for `CAxx` (`C8xx`).
    pub const CD: u8 = 0xC8;
    /// PKCS#15 data-object description (`C9xx`).
    pub const DCOD: u8 = 0xC9;
    /// Public data object (`CFxx`).
    pub const PUBLIC_DATA: u8 = 0xCF;
    /// PIN-protected data object (`CDxx`).
    pub const PRIVATE_DATA: u8 = 0xCD;
}

/// EF.C_DevAut: the device certificate followed by the device issuer CA certificate.
pub const EF_DEVICE_CERTS: u16 = 0x2F02;
/// EF.TokenInfo.
pub const EF_TOKEN_INFO: u16 = 0x2F03;

/// The file id `prefix || n`.
#[must_use]
pub fn fid(prefix: u8, n: u8) -> u16 {
    u16::from_be_bytes([prefix, n])
}

/// Parses the answer to ENUMERATE OBJECTS: big-endian file ids, two bytes each (an odd last
/// byte and id 0000 are ignored).
#[must_use]
pub fn parse_file_list(d: &[u8]) -> Vec<u16> {
    d.chunks_exact(2)
        .map(|c| {
            u16::from_be_bytes([
                c.first().copied().unwrap_or(0),
                c.get(1).copied().unwrap_or(0),
            ])
        })
        .filter(|f| *f != 0)
        .collect()
}

/// EF that OpenSC 0.24+ stages a wrapped key in before UNWRAP KEY.
pub const EF_UNWRAP_STAGING: u16 = 0x2F10;
