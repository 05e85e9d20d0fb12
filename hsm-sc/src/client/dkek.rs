//! IMPORT DKEK SHARE (`80 52`): status, key check value, share import.

use hsm_core::{DeviceStatus, Error, Result};
use zeroize::Zeroizing;

use crate::client::card::Commands;
use crate::protocol::apdu::Apdu;

/// The DKEK state of the device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DkekStatus {
    /// Number of shares configured at initialisation.
    pub shares: u8,
    /// Shares still to import (0 = the DKEK is complete and usable).
    pub outstanding: u8,
    /// Key check value of the DKEK built so far (first 8 bytes of SHA-256).
    pub kcv: [u8; 8],
}

impl DkekStatus {
    /// Parses the answer to IMPORT DKEK SHARE / the DKEK status query: shares, outstanding
    /// shares, KCV (8 bytes).
    ///
    /// # Errors
    /// [`hsm_core::ErrorKind::Protocol`] when it is shorter than 10 bytes.
    pub fn from_bytes(d: &[u8]) -> Result<Self> {
        Self::parse(d, "sc-hsm.dkek_status")
    }

    fn parse(d: &[u8], op: &'static str) -> Result<Self> {
        match d {
            [shares, outstanding, kcv @ ..] if kcv.len() >= 8 => {
                let mut k = [0u8; 8];
                k.copy_from_slice(kcv.get(..8).unwrap_or(&[0; 8]));
                Ok(Self {
                    shares: *shares,
                    outstanding: *outstanding,
                    kcv: k,
                })
            }
            _ => Err(Error::protocol(
                op,
                format!("DKEK status of {} bytes, expected at least 10", d.len()),
            )),
        }
    }

    /// The KCV as sc-hsm-tool prints it (16 upper-case hex digits).
    #[must_use]
    pub fn kcv_hex(&self) -> String {
        hex::encode_upper(self.kcv)
    }
}

impl Commands<'_> {
    /// The DKEK status, or `None` if the device was initialised without DKEK shares.
    ///
    /// # Errors
    /// Transport failures and unexpected status words.
    pub fn dkek_status(&mut self) -> Result<Option<DkekStatus>> {
        const OP: &str = "sc-hsm.dkek_status";
        match self.send(&Apdu::new(0x80, 0x52, 0x00, 0x00).expect(256), OP) {
            Ok(d) => DkekStatus::parse(&d, OP).map(Some),
            Err(e) if e.status() == Some(&DeviceStatus::StatusWord(0x6A88)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Imports one plain 32-byte DKEK share (decrypt share files with
    /// [`crate::protocol::dkek::ShareFile`]).
    ///
    /// # Errors
    /// [`hsm_core::ErrorKind::InvalidState`] when all shares are already imported.
    pub fn import_dkek_share(&mut self, share: &Zeroizing<[u8; 32]>) -> Result<DkekStatus> {
        const OP: &str = "sc-hsm.import_dkek_share";
        let apdu = Apdu::new(0x80, 0x52, 0x00, 0x00)
            .with_secret_data(Zeroizing::new(share.to_vec()))
            .expect(256);
        let d = self.send(&apdu, OP)?;
        DkekStatus::parse(&d, OP)
    }
}
