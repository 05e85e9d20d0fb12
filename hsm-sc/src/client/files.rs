//! Elementary files: ENUMERATE OBJECTS, READ BINARY, UPDATE BINARY (which creates), DELETE FILE.

use hsm_core::{DeviceStatus, Result};

use crate::apdu::Apdu;
use crate::card::Commands;
use crate::tlv;

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

/// Bytes of file data per UPDATE BINARY, keeping each command under 1000 bytes.
const WRITE_CHUNK: usize = 960;

impl Commands<'_> {
    /// ENUMERATE OBJECTS: every file id on the device.
    ///
    /// # Errors
    /// Transport failures and unexpected status words.
    pub fn list_files(&mut self) -> Result<Vec<u16>> {
        let d = self.send(
            &Apdu::new(0x80, 0x58, 0x00, 0x00).expect_all(),
            "sc-hsm.list_files",
        )?;
        Ok(parse_file_list(&d))
    }

    /// Reads a whole file.
    ///
    /// # Errors
    /// [`hsm_core::ErrorKind::NotFound`] if it does not exist,
    /// [`hsm_core::ErrorKind::PermissionDenied`] if it needs the user PIN (or is a key).
    pub fn read_file(&mut self, fid: u16) -> Result<Vec<u8>> {
        const OP: &str = "sc-hsm.read_file";
        let mut out = Vec::new();
        let [hi, lo] = fid.to_be_bytes();
        loop {
            let off = u16::try_from(out.len())
                .map_err(|_| hsm_core::Error::protocol(OP, "file larger than 65535 bytes"))?;
            let mut data = Vec::new();
            tlv::write(&mut data, 0x54, &off.to_be_bytes());
            let apdu = Apdu::new(0x00, 0xB1, hi, lo).with_data(data).expect_all();
            let r = self.transmit(&apdu, OP)?;
            match r.sw().0 {
                0x9000 if !r.data().is_empty() => out.extend_from_slice(r.data()),
                0x9000 => return Ok(out),
                0x6282 => {
                    out.extend_from_slice(r.data());
                    return Ok(out);
                }
                0x6B00 | 0x6A86 if !out.is_empty() => return Ok(out),
                _ => return r.success(OP).map(|_| out),
            }
        }
    }

    /// Writes `data` at `offset` (UPDATE BINARY); creates the file when it does not exist.
    ///
    /// # Errors
    /// [`hsm_core::ErrorKind::PermissionDenied`] if the user PIN is not verified.
    pub fn update_file(&mut self, fid: u16, offset: usize, data: &[u8]) -> Result<()> {
        const OP: &str = "sc-hsm.update_file";
        let [hi, lo] = fid.to_be_bytes();
        let mut off = offset;
        let mut chunks = data.chunks(WRITE_CHUNK).peekable();
        if chunks.peek().is_none() {
            let mut d = Vec::new();
            tlv::write(
                &mut d,
                0x54,
                &u16::try_from(off).unwrap_or(u16::MAX).to_be_bytes(),
            );
            tlv::write(&mut d, 0x53, &[]);
            return self
                .send(&Apdu::new(0x00, 0xD7, hi, lo).with_data(d), OP)
                .map(drop);
        }
        for chunk in chunks {
            let o = u16::try_from(off)
                .map_err(|_| hsm_core::Error::invalid_input(OP, "files are at most 65535 bytes"))?;
            let mut d = Vec::with_capacity(chunk.len() + 8);
            tlv::write(&mut d, 0x54, &o.to_be_bytes());
            tlv::write(&mut d, 0x53, chunk);
            let _ = self.send(&Apdu::new(0x00, 0xD7, hi, lo).with_data(d), OP)?;
            off += chunk.len();
        }
        Ok(())
    }

    /// Replaces the file's content with `data` (deletes it first, then writes).
    ///
    /// # Errors
    /// As [`Self::update_file`].
    pub fn write_file(&mut self, fid: u16, data: &[u8]) -> Result<()> {
        match self.delete_file(fid) {
            Ok(()) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e),
        }
        self.update_file(fid, 0, data)
    }

    /// DELETE FILE. Deleting a key (`CCxx`) does not delete its `C4xx`/`CExx` files.
    ///
    /// # Errors
    /// [`hsm_core::ErrorKind::NotFound`] if there is no such file.
    pub fn delete_file(&mut self, fid: u16) -> Result<()> {
        self.send(
            &Apdu::new(0x00, 0xE4, 0x02, 0x00).with_data(fid.to_be_bytes().to_vec()),
            "sc-hsm.delete_file",
        )
        .map(drop)
    }

    /// Whether a read failed because the file does not exist.
    pub(crate) fn is_missing(e: &hsm_core::Error) -> bool {
        matches!(e.status(), Some(DeviceStatus::StatusWord(0x6A82 | 0x6A88)))
    }
}
