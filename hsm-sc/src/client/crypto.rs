//! SIGN (`80 68`), DECIPHER (`80 62`) and ECDH with a key on the card.

use hsm_core::{Error, Result};
use zeroize::Zeroizing;

use crate::client::card::Commands;
use crate::protocol::apdu::Apdu;

/// Algorithm bytes of SIGN and DECIPHER.
pub mod algo {
    /// RSA without padding: the input is a full modulus-size block.
    pub const RSA_RAW: u8 = 0x20;
    /// RSA raw decryption.
    pub const RSA_DECRYPT_RAW: u8 = 0x21;
    /// RSA PKCS#1 v1.5: the input is a DigestInfo; the card pads.
    pub const RSA_PKCS1: u8 = 0x30;
    /// RSA-PSS: the input is a hash (or a DigestInfo); MGF1 and salt length follow the hash.
    pub const RSA_PSS: u8 = 0x40;
    /// ECDSA over a hash computed by the host.
    pub const ECDSA: u8 = 0x70;
    /// ECDSA with SHA-256 computed by the card (short messages only).
    pub const ECDSA_SHA256: u8 = 0x73;
    /// ECDH.
    pub const ECDH: u8 = 0x80;
}

impl Commands<'_> {
    /// SIGN with key `key_ref` and algorithm byte `algorithm` (see [`algo`]). One APDU. ECDSA
    /// answers are DER `SEQUENCE { r, s }`; RSA answers are modulus-sized.
    ///
    /// # Errors
    /// [`hsm_core::ErrorKind::PermissionDenied`] when not logged in,
    /// [`hsm_core::ErrorKind::NotFound`] for an unknown key,
    /// [`hsm_core::ErrorKind::Unsupported`] when the key does not allow the algorithm.
    pub fn sign(&mut self, key_ref: u8, algorithm: u8, input: &[u8]) -> Result<Vec<u8>> {
        let apdu = Apdu::new(0x80, 0x68, key_ref, algorithm)
            .with_data(input.to_vec())
            .expect(512)
            .force_extended();
        self.send(&apdu, "sc-hsm.sign")
    }

    /// RSA raw decryption of `cryptogram` (modulus-sized); the host removes the padding.
    ///
    /// # Errors
    /// As [`Self::sign`].
    pub fn decipher(&mut self, key_ref: u8, cryptogram: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let apdu = Apdu::new(0x80, 0x62, key_ref, algo::RSA_DECRYPT_RAW)
            .with_data(cryptogram.to_vec())
            .expect(512)
            .force_extended();
        self.send(&apdu, "sc-hsm.decipher").map(Zeroizing::new)
    }

    /// ECDH with the peer's uncompressed public point (`04 || x || y`); returns the shared
    /// secret (the x coordinate).
    ///
    /// # Errors
    /// As [`Self::sign`]; [`hsm_core::ErrorKind::Protocol`] on a malformed answer.
    pub fn ecdh(&mut self, key_ref: u8, peer_point: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        const OP: &str = "sc-hsm.ecdh";
        if peer_point.first() != Some(&0x04) {
            return Err(Error::invalid_input(
                OP,
                "the peer point must be uncompressed (04 || x || y)",
            ));
        }
        let apdu = Apdu::new(0x80, 0x62, key_ref, algo::ECDH)
            .with_data(peer_point.to_vec())
            .expect(512)
            .force_extended();
        let d = Zeroizing::new(self.send(&apdu, OP)?);
        // The card answers 04 || x; strip the 04 as OpenSC does.
        match d.split_first() {
            Some((0x04, x)) if !x.is_empty() => Ok(Zeroizing::new(x.to_vec())),
            _ => Err(Error::protocol(
                OP,
                "the ECDH answer does not start with 04",
            )),
        }
    }
}
