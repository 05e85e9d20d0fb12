//! Encryption and decryption through [`AsyncNetHsm`] and [`NetHsm`], beside the signing traits:
//! AES-CBC with AES keys, and RSA decryption (raw, PKCS#1 v1.5, OAEP). hsm-core's traits only
//! sign, so these are methods of the backend: async, and blocking over the same futures.

use hsm_core::{KeyId, Result};
use zeroize::Zeroizing;

use crate::backend::trace::traced;
use crate::protocol::key_ids;
use crate::protocol::{DecryptMode, DecryptRequest, EncryptMode, EncryptRequest};
use crate::{AsyncNetHsm, NetHsm, NetHsmClient};

/// An AES-CBC ciphertext and the IV it was made with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sealed {
    /// The ciphertext (no padding: as long as the plaintext).
    pub ciphertext: Vec<u8>,
    /// The 16-byte IV.
    pub iv: Vec<u8>,
}

impl AsyncNetHsm {
    /// Encrypts with an AES key in CBC mode, without padding (`plaintext` must be a multiple
    /// of 16 bytes); the device picks a random IV unless one is given.
    ///
    /// # Errors
    /// `InvalidInput` for a length that is not a multiple of 16, a key that is not an AES key
    /// with `AES_Encryption_CBC`, or a bad key id; `NotFound`, `PermissionDenied`.
    pub async fn encrypt_aes_cbc(
        &self,
        key: &KeyId,
        plaintext: &[u8],
        iv: Option<&[u8]>,
    ) -> Result<Sealed> {
        let request = EncryptRequest {
            mode: EncryptMode::AesCbc,
            message: plaintext.to_vec(),
            iv: iv.map(<[u8]>::to_vec),
        };
        let encrypt = async |client: &NetHsmClient, id: &str| client.encrypt(id, &request).await;
        let answer = self.with_key("nethsm.encrypt", key, encrypt).await?;
        Ok(Sealed {
            ciphertext: answer.encrypted,
            iv: answer.iv,
        })
    }

    /// Decrypts: `AES_CBC` with an AES key (the IV is required), or `RAW`, `PKCS1`, `OAEP_*`
    /// with an RSA key. The plaintext is zeroized when dropped.
    ///
    /// # Errors
    /// `InvalidInput` for a mode the key does not allow, bad padding or a missing IV;
    /// `NotFound`, `PermissionDenied`.
    pub async fn decrypt(
        &self,
        key: &KeyId,
        mode: DecryptMode,
        ciphertext: &[u8],
        iv: Option<&[u8]>,
    ) -> Result<Zeroizing<Vec<u8>>> {
        let request = DecryptRequest {
            mode,
            encrypted: ciphertext.to_vec(),
            iv: iv.map(<[u8]>::to_vec),
        };
        let decrypt = async |client: &NetHsmClient, id: &str| client.decrypt(id, &request).await;
        let answer = self.with_key("nethsm.decrypt", key, decrypt).await?;
        Ok(Zeroizing::new(answer.decrypted.clone()))
    }

    /// `call` with the client and `key`'s device id, traced as `operation` without its
    /// `nethsm.` prefix.
    async fn with_key<T>(
        &self,
        operation: &'static str,
        key: &KeyId,
        call: impl AsyncFnOnce(&NetHsmClient, &str) -> Result<T>,
    ) -> Result<T> {
        let id = key_ids::to_device(key, operation)?;
        let name = operation.trim_start_matches("nethsm.");
        traced(name, Some(key), None, call(self.client(), &id)).await
    }
}

impl NetHsm {
    /// Encrypts with an AES key in CBC mode; see [`AsyncNetHsm::encrypt_aes_cbc`].
    ///
    /// # Errors
    /// As [`AsyncNetHsm::encrypt_aes_cbc`].
    pub fn encrypt_aes_cbc(
        &self,
        key: &KeyId,
        plaintext: &[u8],
        iv: Option<&[u8]>,
    ) -> Result<Sealed> {
        self.block_on(self.to_async_ref().encrypt_aes_cbc(key, plaintext, iv))
    }

    /// Decrypts; see [`AsyncNetHsm::decrypt`].
    ///
    /// # Errors
    /// As [`AsyncNetHsm::decrypt`].
    pub fn decrypt(
        &self,
        key: &KeyId,
        mode: DecryptMode,
        ciphertext: &[u8],
        iv: Option<&[u8]>,
    ) -> Result<Zeroizing<Vec<u8>>> {
        self.block_on(self.to_async_ref().decrypt(key, mode, ciphertext, iv))
    }
}
