//! Request and response bodies of the NetHSM REST API, with the spec's wire names.

use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize, Serializer};
use serde_with::base64::Base64;
use serde_with::serde_as;

/// Serializes a secret for a request body; the value never reaches a log or `Debug`.
fn expose<S: Serializer>(secret: &SecretString, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(secret.expose_secret())
}

/// The device's state (`SystemState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum SystemState {
    /// Factory state: only provisioning is possible.
    Unprovisioned,
    /// Provisioned, waiting for the unlock passphrase.
    Locked,
    /// Normal operation.
    Operational,
    /// Lost its cluster quorum (v4+).
    Failed,
}

/// `GET /health/state`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthState {
    /// The state.
    pub state: SystemState,
}

/// `GET /info`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[non_exhaustive]
pub struct InfoData {
    /// The vendor (`Nitrokey GmbH`).
    pub vendor: String,
    /// The product (`NetHSM`).
    pub product: String,
}

/// `POST /provision`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProvisionRequest {
    /// Passphrase that unlocks the device after a boot.
    #[serde(serialize_with = "expose")]
    pub unlock_passphrase: SecretString,
    /// Passphrase of the `admin` user created by provisioning.
    #[serde(serialize_with = "expose")]
    pub admin_passphrase: SecretString,
    /// The device time, RFC 3339 (`2026-01-01T00:00:00Z`).
    pub system_time: String,
}

impl std::fmt::Debug for ProvisionRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProvisionRequest")
            .field("system_time", &self.system_time)
            .finish_non_exhaustive()
    }
}

/// A user's role (`UserRole`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum UserRole {
    /// Manages users, keys and the device.
    Administrator,
    /// Uses keys.
    Operator,
    /// Reads metrics.
    Metrics,
    /// Makes backups.
    Backup,
}

/// `PUT /users/{UserID}` / `POST /users`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserPostData {
    /// A display name.
    pub real_name: String,
    /// The role.
    pub role: UserRole,
    /// The passphrase (10 to 200 characters).
    #[serde(serialize_with = "expose")]
    pub passphrase: SecretString,
}

impl std::fmt::Debug for UserPostData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserPostData")
            .field("real_name", &self.real_name)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// `GET /users/{UserID}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserData {
    /// The display name.
    pub real_name: String,
    /// The role.
    pub role: UserRole,
}

/// A key type (`KeyType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
#[allow(non_camel_case_types, missing_docs)]
pub enum KeyType {
    RSA,
    Curve25519,
    EC_P256,
    EC_P384,
    EC_P521,
    EC_P256K1,
    BrainpoolP256,
    BrainpoolP384,
    BrainpoolP512,
    Generic,
}

/// What a key may be used for (`KeyMechanism`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
#[allow(non_camel_case_types, missing_docs)]
pub enum KeyMechanism {
    RSA_Decryption_RAW,
    RSA_Decryption_PKCS1,
    RSA_Decryption_OAEP_MD5,
    RSA_Decryption_OAEP_SHA1,
    RSA_Decryption_OAEP_SHA224,
    RSA_Decryption_OAEP_SHA256,
    RSA_Decryption_OAEP_SHA384,
    RSA_Decryption_OAEP_SHA512,
    RSA_Signature_PKCS1,
    RSA_Signature_PSS_MD5,
    RSA_Signature_PSS_SHA1,
    RSA_Signature_PSS_SHA224,
    RSA_Signature_PSS_SHA256,
    RSA_Signature_PSS_SHA384,
    RSA_Signature_PSS_SHA512,
    EdDSA_Signature,
    ECDSA_Signature,
    BIP340_Signature,
    AES_Encryption_CBC,
    AES_Decryption_CBC,
}

/// `POST /keys/generate`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerateKeyRequest {
    /// Allowed mechanisms (non-empty, matching the type).
    pub mechanisms: Vec<KeyMechanism>,
    /// The key type.
    #[serde(rename = "type")]
    pub key_type: KeyType,
    /// Modulus bits (RSA) or key bits (Generic).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub length: Option<u32>,
    /// The key id; the device picks one when absent.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub id: Option<String>,
}

/// An entry of `GET /users`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserItem {
    /// The user id (`ns~id` in a namespace).
    pub user: String,
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
#[serde_as]
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyPublicData {
    /// RSA modulus, big-endian.
    #[serde_as(as = "Option<Base64>")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modulus: Option<Vec<u8>>,
    /// RSA public exponent, big-endian.
    #[serde_as(as = "Option<Base64>")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_exponent: Option<Vec<u8>>,
    /// EC point `04||X||Y`, or the 32 Ed25519 bytes.
    #[serde_as(as = "Option<Base64>")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Vec<u8>>,
}

/// `GET /keys/{KeyID}`.
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
    #[serde(default)]
    pub public: Option<KeyPublicData>,
    /// Number of operations done with the key.
    #[serde(default)]
    pub operations: u64,
}

/// A signing mode (`SignMode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
#[allow(non_camel_case_types, missing_docs)]
pub enum SignMode {
    PKCS1,
    PSS_MD5,
    PSS_SHA1,
    PSS_SHA224,
    PSS_SHA256,
    PSS_SHA384,
    PSS_SHA512,
    EdDSA,
    ECDSA,
    BIP340,
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

/// The error body the device sends.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The explanation.
    pub message: String,
}
