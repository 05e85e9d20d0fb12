//! The bodies of `/keys`: key types and mechanisms, generation, import, the public part, labels, moves, CSRs.

use serde::{Deserialize, Serialize};
use serde_with::base64::Base64;
use serde_with::{serde_as, skip_serializing_none};
use zeroize::Zeroizing;

/// A key type (`KeyType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum KeyType {
    /// `RSA` on the wire.
    #[serde(rename = "RSA")]
    Rsa,
    /// `Curve25519` on the wire.
    Curve25519,
    /// `EC_P256` on the wire.
    #[serde(rename = "EC_P256")]
    EcP256,
    /// `EC_P384` on the wire.
    #[serde(rename = "EC_P384")]
    EcP384,
    /// `EC_P521` on the wire.
    #[serde(rename = "EC_P521")]
    EcP521,
    /// `EC_P256K1` on the wire.
    #[serde(rename = "EC_P256K1")]
    EcP256k1,
    /// `BrainpoolP256` on the wire.
    BrainpoolP256,
    /// `BrainpoolP384` on the wire.
    BrainpoolP384,
    /// `BrainpoolP512` on the wire.
    BrainpoolP512,
    /// `Generic` on the wire.
    Generic,
}

/// What a key may be used for (`KeyMechanism`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum KeyMechanism {
    /// `RSA_Decryption_RAW` on the wire.
    #[serde(rename = "RSA_Decryption_RAW")]
    RsaDecryptionRaw,
    /// `RSA_Decryption_PKCS1` on the wire.
    #[serde(rename = "RSA_Decryption_PKCS1")]
    RsaDecryptionPkcs1,
    /// `RSA_Decryption_OAEP_MD5` on the wire.
    #[serde(rename = "RSA_Decryption_OAEP_MD5")]
    RsaDecryptionOaepMd5,
    /// `RSA_Decryption_OAEP_SHA1` on the wire.
    #[serde(rename = "RSA_Decryption_OAEP_SHA1")]
    RsaDecryptionOaepSha1,
    /// `RSA_Decryption_OAEP_SHA224` on the wire.
    #[serde(rename = "RSA_Decryption_OAEP_SHA224")]
    RsaDecryptionOaepSha224,
    /// `RSA_Decryption_OAEP_SHA256` on the wire.
    #[serde(rename = "RSA_Decryption_OAEP_SHA256")]
    RsaDecryptionOaepSha256,
    /// `RSA_Decryption_OAEP_SHA384` on the wire.
    #[serde(rename = "RSA_Decryption_OAEP_SHA384")]
    RsaDecryptionOaepSha384,
    /// `RSA_Decryption_OAEP_SHA512` on the wire.
    #[serde(rename = "RSA_Decryption_OAEP_SHA512")]
    RsaDecryptionOaepSha512,
    /// `RSA_Signature_PKCS1` on the wire.
    #[serde(rename = "RSA_Signature_PKCS1")]
    RsaSignaturePkcs1,
    /// `RSA_Signature_PSS_MD5` on the wire.
    #[serde(rename = "RSA_Signature_PSS_MD5")]
    RsaSignaturePssMd5,
    /// `RSA_Signature_PSS_SHA1` on the wire.
    #[serde(rename = "RSA_Signature_PSS_SHA1")]
    RsaSignaturePssSha1,
    /// `RSA_Signature_PSS_SHA224` on the wire.
    #[serde(rename = "RSA_Signature_PSS_SHA224")]
    RsaSignaturePssSha224,
    /// `RSA_Signature_PSS_SHA256` on the wire.
    #[serde(rename = "RSA_Signature_PSS_SHA256")]
    RsaSignaturePssSha256,
    /// `RSA_Signature_PSS_SHA384` on the wire.
    #[serde(rename = "RSA_Signature_PSS_SHA384")]
    RsaSignaturePssSha384,
    /// `RSA_Signature_PSS_SHA512` on the wire.
    #[serde(rename = "RSA_Signature_PSS_SHA512")]
    RsaSignaturePssSha512,
    /// `EdDSA_Signature` on the wire.
    #[serde(rename = "EdDSA_Signature")]
    EdDsaSignature,
    /// `ECDSA_Signature` on the wire.
    #[serde(rename = "ECDSA_Signature")]
    EcdsaSignature,
    /// `BIP340_Signature` on the wire.
    #[serde(rename = "BIP340_Signature")]
    Bip340Signature,
    /// `AES_Encryption_CBC` on the wire.
    #[serde(rename = "AES_Encryption_CBC")]
    AesEncryptionCbc,
    /// `AES_Decryption_CBC` on the wire.
    #[serde(rename = "AES_Decryption_CBC")]
    AesDecryptionCbc,
}

/// `POST /keys/generate`.
#[skip_serializing_none]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerateKeyRequest {
    /// Allowed mechanisms (non-empty, matching the type).
    pub mechanisms: Vec<KeyMechanism>,
    /// The key type.
    #[serde(rename = "type")]
    pub key_type: KeyType,
    /// Modulus bits (RSA) or key bits (Generic).
    pub length: Option<u32>,
    /// The key id; the device picks one when absent.
    pub id: Option<String>,
    /// Tag restrictions.
    pub restrictions: Option<KeyRestrictions>,
    /// A label (v5).
    pub label: Option<String>,
}

/// `{"id": ...}`: created resources and list items.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyItem {
    /// The id.
    pub id: String,
}

/// Tag restrictions of a key.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct KeyRestrictions {
    /// Operators must share one of these tags.
    #[serde(default)]
    pub tags: Option<Vec<String>>,
}

/// The public part of a key.
#[skip_serializing_none]
#[serde_as]
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyPublicData {
    /// RSA modulus, big-endian.
    #[serde_as(as = "Option<Base64>")]
    pub modulus: Option<Vec<u8>>,
    /// RSA public exponent, big-endian.
    #[serde_as(as = "Option<Base64>")]
    pub public_exponent: Option<Vec<u8>>,
    /// EC point `04||X||Y`, or the 32 Ed25519 bytes.
    #[serde_as(as = "Option<Base64>")]
    pub data: Option<Vec<u8>>,
}

/// `GET /keys/{KeyID}`.
#[skip_serializing_none]
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PublicKeyData {
    /// Allowed mechanisms.
    pub mechanisms: Vec<KeyMechanism>,
    /// The key type.
    #[serde(rename = "type")]
    pub key_type: KeyType,
    /// Tag restrictions.
    #[serde(default)]
    pub restrictions: KeyRestrictions,
    /// The public part (absent for Generic keys).
    pub public: Option<KeyPublicData>,
    /// Number of operations done with the key.
    #[serde(default)]
    pub operations: u64,
    /// The label (v5; absent when empty).
    pub label: Option<String>,
}

/// Subject of a certificate signing request (`DistinguishedName`). Empty fields are left out.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DistinguishedName {
    /// `C`.
    pub country_name: Option<String>,
    /// `ST`.
    pub state_or_province_name: Option<String>,
    /// `L`.
    pub locality_name: Option<String>,
    /// `O`.
    pub organization_name: Option<String>,
    /// `OU`.
    pub organizational_unit_name: Option<String>,
    /// `CN` (required).
    pub common_name: String,
    /// `emailAddress`.
    pub email_address: Option<String>,
    /// Subject alternative names: DNS names, or `IP:addr`. `None` means "the common name";
    /// an empty list means no SAN extension.
    pub subject_alt_names: Option<Vec<String>>,
}

/// `POST /keys/{KeyID}/move`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MoveKeyRequest {
    /// The new id.
    pub new_id: String,
}

/// `PUT /keys/{KeyID}/label`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySetLabel {
    /// The label (UTF-8, at most 32 bytes for PKCS#11).
    pub label: String,
}

/// The private part of an imported key (`KeyPrivateData`): `primeP`, `primeQ` and
/// `publicExponent` for RSA, `data` (the scalar or Ed25519 seed) otherwise. Zeroized on drop;
/// `Debug` shows no key material.
#[skip_serializing_none]
#[serde_as]
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeyPrivateData {
    /// RSA prime p.
    #[serde_as(as = "Option<Base64>")]
    pub prime_p: Option<Zeroizing<Vec<u8>>>,
    /// RSA prime q.
    #[serde_as(as = "Option<Base64>")]
    pub prime_q: Option<Zeroizing<Vec<u8>>>,
    /// RSA public exponent.
    #[serde_as(as = "Option<Base64>")]
    pub public_exponent: Option<Vec<u8>>,
    /// EC scalar, Ed25519 seed or Generic key bytes.
    #[serde_as(as = "Option<Base64>")]
    pub data: Option<Zeroizing<Vec<u8>>>,
}

impl std::fmt::Debug for KeyPrivateData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyPrivateData([REDACTED])")
    }
}

/// `PUT /keys/{KeyID}` and `POST /keys` (`PrivateKey`).
#[skip_serializing_none]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportKeyRequest {
    /// Allowed mechanisms.
    pub mechanisms: Vec<KeyMechanism>,
    /// The key type.
    #[serde(rename = "type")]
    pub key_type: KeyType,
    /// The private key.
    pub private: KeyPrivateData,
    /// Tag restrictions.
    pub restrictions: Option<KeyRestrictions>,
    /// A label (v5).
    pub label: Option<String>,
}

/// The `arguments` part of a PEM key import (`PrivateKeyPem`, multipart).
#[skip_serializing_none]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PemKeyArguments {
    /// Allowed mechanisms.
    pub mechanisms: Vec<KeyMechanism>,
    /// Tag restrictions.
    pub restrictions: Option<KeyRestrictions>,
    /// A label (v5).
    pub label: Option<String>,
}
