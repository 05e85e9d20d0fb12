//! WRAP KEY (`80 72`) and UNWRAP KEY (`80 74`): export and import keys encrypted under the DKEK.

use hsm_core::Result;

use crate::client::card::Commands;
use crate::protocol::apdu::Apdu;
use crate::protocol::files::EF_UNWRAP_STAGING;

/// Blobs larger than this are staged in [`EF_UNWRAP_STAGING`] instead of sent as command data.
const MAX_INLINE_BLOB: usize = 990;

impl Commands<'_> {
    /// Exports key `key_ref` encrypted under the DKEK (the blob format of `smartcard-hsm.md`
    /// §15: KCV, type, OIDs, AES-256-CBC ciphertext, CMAC).
    ///
    /// # Errors
    /// [`hsm_core::ErrorKind::NotFound`] when the device has no complete DKEK,
    /// [`hsm_core::ErrorKind::PermissionDenied`] when not logged in.
    pub fn wrap_key(&mut self, key_ref: u8) -> Result<Vec<u8>> {
        self.send(
            &Apdu::new(0x80, 0x72, key_ref, 0x92).expect_all(),
            "sc-hsm.wrap_key",
        )
    }

    /// Imports a wrapped key as key `key_ref` (which must be free). Long blobs go through EF
    /// 2F10 as OpenSC 0.24+ does; short ones as command data (accepted by all versions).
    ///
    /// # Errors
    /// [`hsm_core::ErrorKind::InvalidInput`] (`6A80`) when the blob does not match the DKEK.
    pub fn unwrap_key(&mut self, key_ref: u8, blob: &[u8]) -> Result<()> {
        const OP: &str = "sc-hsm.unwrap_key";
        if blob.len() > MAX_INLINE_BLOB {
            self.write_file(EF_UNWRAP_STAGING, blob)?;
            return self
                .send(&Apdu::new(0x80, 0x74, key_ref, 0x93), OP)
                .map(drop);
        }
        self.send(
            &Apdu::new(0x80, 0x74, key_ref, 0x93).with_data(blob.to_vec()),
            OP,
        )
        .map(drop)
    }
}
