//! Elementary files: ENUMERATE OBJECTS, READ BINARY, UPDATE BINARY (which creates), DELETE FILE.

use hsm_core::{DeviceStatus, ErrorKind, Result};

use crate::client::card::Commands;
use crate::protocol::apdu::Apdu;
use crate::protocol::files::parse_file_list;
use crate::protocol::status::StatusWord;
use crate::protocol::tlv;

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
        matches!(e.status(), Some(DeviceStatus::StatusWord(sw)) if StatusWord(*sw).kind() == ErrorKind::NotFound)
    }
}
