//! The files of `sc-hsm-tool`: wrapped-key backups (`--wrap-key`, hsm-sc `WrappedKeyFile`) with
//! the description and certificate inside them, and DKEK share files (`ShareFile`).

use hsm_sc::protocol::cvc;
use hsm_sc::protocol::pkcs15::PrivateKeyDescription;
use hsm_sc::{ShareFile, WrappedKeyFile};

/// The input is a file as a user hands it to `unwrap_key` or `import_dkek_share`.
pub fn run(data: &[u8]) {
    if let Ok(file) = WrappedKeyFile::decode(data) {
        let again = WrappedKeyFile::decode(&file.encode())
            .expect("what WrappedKeyFile::encode wrote decodes");
        assert_eq!(again, file, "decode(encode(file)) == file");
        let _ = format!("{file:?}");
        if let Some(prkd) = &file.prkd {
            let _ = PrivateKeyDescription::decode(prkd);
        }
        if let Some(cert) = &file.certificate {
            let _ = cvc::public_key_of_cert_file(cert);
        }
    }
    // Decrypting a share costs 30 million MD5 rounds (the fixed sc-hsm-tool count), too slow
    // to fuzz: only the container check runs here.
    assert_eq!(
        ShareFile::parse(data).ok(),
        ShareFile::from_bytes(data.to_vec()).ok()
    );
    match ShareFile::from_bytes(data.to_vec()) {
        Ok(share) => {
            assert_eq!(share.as_bytes(), data);
            assert!(data.len() == 64 && data.starts_with(b"Salted__"));
            assert_eq!(format!("{share:?}"), "ShareFile(..)");
        }
        Err(_) => assert!(data.len() != 64 || !data.starts_with(b"Salted__")),
    }
}
