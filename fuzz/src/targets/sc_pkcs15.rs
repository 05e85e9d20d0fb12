//! PKCS#15 descriptions as OpenSC writes them (hsm-sc `protocol::pkcs15`): private-key descriptions
//! (EF `C4xx`) and data-object descriptions (EF `C9xx`). Whatever decodes re-encodes to a
//! description that decodes to the same value.

use hsm_sc::protocol::pkcs15::{DataObjectDescription, PrivateKeyDescription};

/// The input is the content of a `C4xx` or `C9xx` file.
pub fn run(data: &[u8]) {
    if let Ok(prkd) = PrivateKeyDescription::decode(data) {
        let again = PrivateKeyDescription::decode(&prkd.encode())
            .expect("what PrivateKeyDescription::encode wrote decodes");
        assert_eq!(again, prkd, "decode(encode(prkd)) == prkd");
    }
    if let Ok(dcod) = DataObjectDescription::decode(data) {
        let again = DataObjectDescription::decode(&dcod.encode())
            .expect("what DataObjectDescription::encode wrote decodes");
        assert_eq!(again, dcod, "decode(encode(dcod)) == dcod");
    }
}
