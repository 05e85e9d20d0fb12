//! The bodies of `/keys/{KeyID}/sign`, `/decrypt` and `/encrypt`: the modes and the bodies of the operations with a key.

use serde::{Deserialize, Serialize};
use serde_with::base64::Base64;
use serde_with::serde_as;

/// A signing mode (`SignMode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum SignMode {
    /// `PKCS1` on the wire.
    #[serde(rename = "PKCS1")]
    Pkcs1,
    /// `PSS_MD5` on the wire.
    #[serde(rename = "PSS_MD5")]
    PssMd5,
    /// `PSS_SHA1` on the wire.
    #[serde(rename = "PSS_SHA1")]
    PssSha1,
    /// `PSS_SHA224` on the wire.
    #[serde(rename = "PSS_SHA224")]
    PssSha224,
    /// `PSS_SHA256` on the wire.
    #[serde(rename = "PSS_SHA256")]
    PssSha256,
    /// `PSS_SHA384` on the wire.
    #[serde(rename = "PSS_SHA384")]
    PssSha384,
    /// `PSS_SHA512` on the wire.
    #[serde(rename = "PSS_SHA512")]
    PssSha512,
    /// `EdDSA` on the wire.
    #[serde(rename = "EdDSA")]
    EdDsa,
    /// `ECDSA` on the wire.
    #[serde(rename = "ECDSA")]
    Ecdsa,
    /// `BIP340` on the wire.
    #[serde(rename = "BIP340")]
    Bip340,
}

/// `POST /keys/{KeyID}/sign`.
#[serde_as]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignRequest {
    /// The mode.
    pub mode: SignMode,
    /// What to sign (see the mode).
    #[serde_as(as = "Base64")]
    pub message: Vec<u8>,
}

/// The answer to a sign request.
#[serde_as]
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SignResponse {
    /// The signature: DER for ECDSA, raw otherwise.
    #[serde_as(as = "Base64")]
    pub signature: Vec<u8>,
}

/// A decryption mode (`DecryptMode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum DecryptMode {
    /// `RAW` on the wire.
    #[serde(rename = "RAW")]
    Raw,
    /// `PKCS1` on the wire.
    #[serde(rename = "PKCS1")]
    Pkcs1,
    /// `OAEP_MD5` on the wire.
    #[serde(rename = "OAEP_MD5")]
    OaepMd5,
    /// `OAEP_SHA1` on the wire.
    #[serde(rename = "OAEP_SHA1")]
    OaepSha1,
    /// `OAEP_SHA224` on the wire.
    #[serde(rename = "OAEP_SHA224")]
    OaepSha224,
    /// `OAEP_SHA256` on the wire.
    #[serde(rename = "OAEP_SHA256")]
    OaepSha256,
    /// `OAEP_SHA384` on the wire.
    #[serde(rename = "OAEP_SHA384")]
    OaepSha384,
    /// `OAEP_SHA512` on the wire.
    #[serde(rename = "OAEP_SHA512")]
    OaepSha512,
    /// `AES_CBC` on the wire.
    #[serde(rename = "AES_CBC")]
    AesCbc,
}

/// An encryption mode (`EncryptMode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum EncryptMode {
    /// `AES_CBC` on the wire.
    #[serde(rename = "AES_CBC")]
    AesCbc,
}

/// `POST /keys/{KeyID}/decrypt`.
#[serde_as]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecryptRequest {
    /// The mode.
    pub mode: DecryptMode,
    /// The ciphertext.
    #[serde_as(as = "Base64")]
    pub encrypted: Vec<u8>,
    /// The IV (AES-CBC).
    #[serde_as(as = "Option<Base64>")]
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub iv: Option<Vec<u8>>,
}

/// The answer of `POST /keys/{KeyID}/decrypt`. The plaintext is zeroized when dropped.
#[serde_as]
#[derive(Clone, Deserialize)]
pub struct DecryptResponse {
    /// The plaintext.
    #[serde_as(as = "Base64")]
    pub decrypted: Vec<u8>,
}

impl Drop for DecryptResponse {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.decrypted);
    }
}

impl std::fmt::Debug for DecryptResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecryptResponse")
            .field(
                "decrypted",
                &format_args!("[{} bytes]", self.decrypted.len()),
            )
            .finish()
    }
}

/// `POST /keys/{KeyID}/encrypt`.
#[serde_as]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EncryptRequest {
    /// The mode.
    pub mode: EncryptMode,
    /// The plaintext.
    #[serde_as(as = "Base64")]
    pub message: Vec<u8>,
    /// The IV; the device picks one when absent.
    #[serde_as(as = "Option<Base64>")]
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub iv: Option<Vec<u8>>,
}

/// The answer of `POST /keys/{KeyID}/encrypt`.
#[serde_as]
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EncryptResponse {
    /// The ciphertext.
    #[serde_as(as = "Base64")]
    pub encrypted: Vec<u8>,
    /// The IV used.
    #[serde_as(as = "Base64")]
    pub iv: Vec<u8>,
}
