//! Device identity: the serial number from the device certificate in EF 2F02.

use hsm_core::{Error, Result};

use crate::client::card::Commands;
use crate::protocol::cvc::CvCertificate;
use crate::protocol::files::EF_DEVICE_CERTS;

/// The device serial number: the device certificate's holder reference without its last five
/// characters (the key sequence number), as OpenSC computes it.
///
/// # Errors
/// EF 2F02 is missing or malformed.
pub fn read_serial(c: &mut Commands<'_>) -> Result<String> {
    let data = c.read_file(EF_DEVICE_CERTS)?;
    let (cert, _) = CvCertificate::parse_prefix(&data)?;
    serial_of_chr(&cert.chr)
}

/// The serial part of a device CHR.
///
/// # Errors
/// [`hsm_core::ErrorKind::Protocol`] when the CHR is shorter than 8 characters.
pub fn serial_of_chr(chr: &str) -> Result<String> {
    if chr.len() < 8 || !chr.is_ascii() {
        return Err(Error::protocol(
            "sc-hsm.serial",
            "the device certificate's holder reference is shorter than 8 characters",
        ));
    }
    Ok(chr.get(..chr.len() - 5).unwrap_or(chr).to_owned())
}
