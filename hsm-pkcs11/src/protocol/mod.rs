//! The PKCS#11 side of the backend without any I/O: the RFC 7512 URI, the mechanisms the backend
//! uses and what they give, the attribute templates and decoders for key and data objects, the
//! attributes a certificate object repeats from its DER, and the table of return codes (`CKR_*`)
//! with the error kind each becomes.

pub mod attributes;
pub mod certificate;
pub mod mechanisms;
pub(crate) mod return_codes;
pub mod uri;
