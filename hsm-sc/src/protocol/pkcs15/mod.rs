//! PKCS#15 descriptions as OpenSC writes them on a SmartCard-HSM, so that keys and data objects
//! made here show in `pkcs15-tool` and `pkcs11-tool` with their label and id, and the other way.

mod dcod;
mod prkd;

pub use dcod::DataObjectDescription;
pub use prkd::{KeyKind, PrivateKeyDescription};
