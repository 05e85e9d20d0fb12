//! `sc-hsm-tool --create-dkek-share` files: `Salted__ || salt(8) || AES-256-CBC(share(32) ||
//! PKCS#7 block)`, key and IV from OpenSSL's `EVP_BytesToKey(MD5, salt, password, 10 000 000)`.

use std::fmt;

use aes::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit, block_padding::Pkcs7};
use hsm_core::{Error, ErrorKind, Result};
use md5::{Digest, Md5};
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

/// The iteration count sc-hsm-tool uses (it has no option to change it).
pub const KDF_ITERATIONS: u32 = 10_000_000;

const MAGIC: &[u8; 8] = b"Salted__";
const FILE_LEN: usize = 64;

type Enc = cbc::Encryptor<aes::Aes256>;
type Dec = cbc::Decryptor<aes::Aes256>;

/// A DKEK share file's content (64 bytes). Holds no secret in plain text.
#[derive(Clone, PartialEq, Eq)]
pub struct ShareFile(Vec<u8>);

impl fmt::Debug for ShareFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ShareFile(..)")
    }
}

/// OpenSSL's `EVP_BytesToKey` with MD5 for a 32-byte key and a 16-byte IV.
fn bytes_to_key(password: &[u8], salt: &[u8; 8], count: u32) -> Zeroizing<[u8; 48]> {
    let mut out = Zeroizing::new([0u8; 48]);
    let mut prev: Zeroizing<Vec<u8>> = Zeroizing::new(Vec::new());
    for block in out.chunks_mut(16) {
        let mut h = Md5::new();
        h.update(&*prev);
        h.update(password);
        h.update(salt);
        let mut d = h.finalize();
        for _ in 1..count {
            d = Md5::digest(d);
        }
        block.copy_from_slice(&d);
        prev = Zeroizing::new(d.to_vec());
    }
    out
}

fn key_iv(kiv: &[u8; 48]) -> (&[u8], &[u8]) {
    kiv.split_at(32)
}

impl ShareFile {
    /// Wraps the bytes of a share file.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] if it is not 64 bytes starting with `Salted__`.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        Self::from_bytes(bytes.to_vec())
    }

    /// As [`Self::parse`], taking ownership.
    ///
    /// # Errors
    /// As [`Self::parse`].
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self> {
        if bytes.len() != FILE_LEN || bytes.get(..8) != Some(&MAGIC[..]) {
            return Err(Error::invalid_input(
                "sc-hsm.dkek_share",
                "not a DKEK share file (64 bytes starting with `Salted__`)",
            ));
        }
        Ok(Self(bytes))
    }

    /// The file content.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Encrypts `share` under `password` with a random `salt` (sc-hsm-tool takes both share and
    /// salt from the card's generator). Takes seconds: 30 million MD5 computations.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] for an empty password.
    pub fn encrypt(share: &[u8; 32], password: &SecretString, salt: [u8; 8]) -> Result<Self> {
        Self::encrypt_with_iterations(share, password, salt, KDF_ITERATIONS)
    }

    pub(crate) fn encrypt_with_iterations(
        share: &[u8; 32],
        password: &SecretString,
        salt: [u8; 8],
        iterations: u32,
    ) -> Result<Self> {
        if password.expose_secret().is_empty() {
            return Err(Error::invalid_input(
                "sc-hsm.dkek_share",
                "the password is empty",
            ));
        }
        let kiv = bytes_to_key(password.expose_secret().as_bytes(), &salt, iterations);
        let (key, iv) = key_iv(&kiv);
        let enc = Enc::new_from_slices(key, iv)
            .map_err(|_| Error::new(ErrorKind::Device, "sc-hsm.dkek_share"))?;
        let ct = enc.encrypt_padded_vec::<Pkcs7>(share);
        let mut out = Vec::with_capacity(FILE_LEN);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&salt);
        out.extend_from_slice(&ct);
        Self::from_bytes(out)
    }

    /// Decrypts the share with `password`. Takes seconds.
    ///
    /// # Errors
    /// [`ErrorKind::AuthenticationFailed`] when the password is wrong (the padding check fails).
    pub fn decrypt(&self, password: &SecretString) -> Result<Zeroizing<[u8; 32]>> {
        self.decrypt_with_iterations(password, KDF_ITERATIONS)
    }

    pub(crate) fn decrypt_with_iterations(
        &self,
        password: &SecretString,
        iterations: u32,
    ) -> Result<Zeroizing<[u8; 32]>> {
        const OP: &str = "sc-hsm.dkek_share";
        let mut salt = [0u8; 8];
        salt.copy_from_slice(self.0.get(8..16).unwrap_or(&[0; 8]));
        let kiv = bytes_to_key(password.expose_secret().as_bytes(), &salt, iterations);
        let (key, iv) = key_iv(&kiv);
        let dec = Dec::new_from_slices(key, iv).map_err(|_| Error::new(ErrorKind::Device, OP))?;
        let plain = Zeroizing::new(
            dec.decrypt_padded_vec::<Pkcs7>(self.0.get(16..).unwrap_or(&[]))
                .map_err(|_| {
                    Error::new(ErrorKind::AuthenticationFailed { retries_left: None }, OP)
                        .with_message("cannot decrypt the DKEK share: wrong password?")
                })?,
        );
        if plain.len() != 32 {
            return Err(Error::protocol(
                OP,
                "the share file does not hold a 32-byte share",
            ));
        }
        let mut share = Zeroizing::new([0u8; 32]);
        share.copy_from_slice(&plain);
        Ok(share)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // smartcard-hsm.md §17, vector 2: a file written by OpenSC 0.23 sc-hsm-tool.
    const OPENSC_FILE: &str = "53616c7465645f5f60eda0a8ef2d8d876c401e6de50aa96032bc7c381e2957cef1c0bd574a59edd68ee3e8f3346e5ea5639dfb52651ba9ce96977017a2472261";

    #[test]
    fn bytes_to_key_with_few_iterations_matches_openssl_shape() {
        // The expensive real-count vectors run in tests/dkek_files.rs; here: determinism,
        // and a round trip with a small count.
        let pw = SecretString::from("testpassword");
        let share = [7u8; 32];
        let f = ShareFile::encrypt_with_iterations(&share, &pw, [1; 8], 3).unwrap();
        assert_eq!(f.as_bytes().len(), 64);
        assert_eq!(&f.as_bytes()[..8], b"Salted__");
        assert_eq!(*f.decrypt_with_iterations(&pw, 3).unwrap(), share);
        let wrong = f.decrypt_with_iterations(&SecretString::from("nope!!"), 3);
        assert!(wrong.is_err() || *wrong.unwrap() != share);
        assert!(ShareFile::from_bytes(hex::decode(OPENSC_FILE).unwrap()).is_ok());
        assert!(ShareFile::from_bytes(vec![0; 64]).is_err());
        assert_eq!(format!("{f:?}"), "ShareFile(..)");
    }
}
