//! The SmartCard-HSM's protocol as data, without I/O: APDUs and status words (with the one
//! table that maps a status word to an [`hsm_core::ErrorKind`]), BER-TLV, card-verifiable
//! certificates and the curves they name, the applet's file identifiers, the PKCS#15
//! descriptions OpenSC writes, the files of `sc-hsm-tool` (DKEK shares, wrapped keys), and what
//! a card emulated in software answers to ([`emulator::CardEmulator`]). The client, the
//! simulator and the fuzz targets all use these.

pub mod apdu;
pub mod curves;
pub mod cvc;
pub mod dkek;
pub mod emulator;
pub mod files;
pub mod pkcs15;
pub mod status;
pub mod tlv;
pub mod wrapped_key;
