//! Request and response bodies of the NetHSM REST API, with the spec's wire names.
//!
//! The configuration, cluster, diagnosis and restore bodies are in their own file and
//! re-exported here.

mod device;

pub use self::device::*;

use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize, Serializer};
use serde_with::base64::Base64;
use serde_with::serde_as;
use zeroize::Zeroizing;

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
    /// Tag restrictions.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub restrictions: Option<KeyRestrictions>,
    /// A label (v5).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub label: Option<String>,
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public: Option<KeyPublicData>,
    /// Number of operations done with the key.
    #[serde(default)]
    pub operations: u64,
    /// The label (v5; absent when empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
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

/// Subject of a certificate signing request (`DistinguishedName`). Empty fields are left out.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DistinguishedName {
    /// `C`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub country_name: Option<String>,
    /// `ST`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub state_or_province_name: Option<String>,
    /// `L`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub locality_name: Option<String>,
    /// `O`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub organization_name: Option<String>,
    /// `OU`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub organizational_unit_name: Option<String>,
    /// `CN` (required).
    pub common_name: String,
    /// `emailAddress`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub email_address: Option<String>,
    /// Subject alternative names: DNS names, or `IP:addr`. `None` means "the common name";
    /// an empty list means no SAN extension.
    #[serde(skip_serializing_if = "Option::is_none", default)]
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

/// A decryption mode (`DecryptMode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
#[allow(non_camel_case_types, missing_docs)]
pub enum DecryptMode {
    RAW,
    PKCS1,
    OAEP_MD5,
    OAEP_SHA1,
    OAEP_SHA224,
    OAEP_SHA256,
    OAEP_SHA384,
    OAEP_SHA512,
    AES_CBC,
}

/// An encryption mode (`EncryptMode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
#[allow(non_camel_case_types, missing_docs)]
pub enum EncryptMode {
    AES_CBC,
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

/// `POST /random`.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RandomRequest {
    /// Bytes wanted, 1 to 1024.
    pub length: u32,
}

/// The answer of `POST /random`.
#[serde_as]
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RandomResponse {
    /// The bytes.
    #[serde_as(as = "Base64")]
    pub random: Vec<u8>,
}

/// A request body holding just a passphrase (`UnlockRequestData`, `UserPassphrasePostData`).
#[derive(Serialize)]
#[serde(deny_unknown_fields)]
pub struct PassphraseRequest {
    /// The passphrase.
    #[serde(serialize_with = "expose")]
    pub passphrase: SecretString,
}

impl std::fmt::Debug for PassphraseRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PassphraseRequest").finish_non_exhaustive()
    }
}

/// `PUT /config/unlock-passphrase` and `PUT /config/backup-passphrase`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChangePassphraseRequest {
    /// The new passphrase.
    #[serde(serialize_with = "expose")]
    pub new_passphrase: SecretString,
    /// The current one.
    #[serde(serialize_with = "expose")]
    pub current_passphrase: SecretString,
}

impl std::fmt::Debug for ChangePassphraseRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangePassphraseRequest")
            .finish_non_exhaustive()
    }
}

/// `GET /system/info`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SystemInfo {
    /// Software version.
    pub software_version: String,
    /// Software build.
    pub software_build: String,
    /// Firmware version.
    pub firmware_version: String,
    /// Hardware version.
    pub hardware_version: String,
    /// Device id.
    pub device_id: String,
    /// The TPM attestation keys, by curve.
    #[serde(default)]
    pub ak_pub: serde_json::Map<String, serde_json::Value>,
    /// TPM PCR values.
    #[serde(default)]
    pub pcr: serde_json::Map<String, serde_json::Value>,
}

/// `GET/PUT /config/time`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeConfig {
    /// RFC 3339.
    pub time: String,
}

/// On or off (`Switch`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum Switch {
    #[serde(rename = "on")]
    On,
    #[serde(rename = "off")]
    Off,
}

/// `GET/PUT /config/unattended-boot`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnattendedBootConfig {
    /// Whether the device unlocks itself at boot.
    pub status: Switch,
}

/// `GET/PUT /config/logging`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoggingConfig {
    /// Syslog server address (`0.0.0.0`: no remote logging).
    pub ip_address: String,
    /// Syslog server port.
    pub port: u16,
    /// The lowest level logged.
    pub log_level: LogLevel,
}

/// A log level (`LogLevel`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum LogLevel {
    Debug,
    Info,
    Warning,
    Error,
}

/// `POST /config/tls/generate`.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsKeyGenerateRequest {
    /// The key type (the key types minus secp256k1 and Generic).
    #[serde(rename = "type")]
    pub key_type: KeyType,
    /// RSA modulus bits.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub length: Option<u32>,
}

/// An entry of `GET /namespaces`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamespaceItem {
    /// The namespace id.
    pub id: String,
}

/// The answer of `POST /system/update`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SystemUpdateData {
    /// The release notes of the uploaded image.
    pub release_notes: String,
}

/// The private part of an imported key (`KeyPrivateData`): `primeP`, `primeQ` and
/// `publicExponent` for RSA, `data` (the scalar or Ed25519 seed) otherwise. Zeroized on drop;
/// `Debug` shows no key material.
#[serde_as]
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeyPrivateData {
    /// RSA prime p.
    #[serde_as(as = "Option<Base64>")]
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub prime_p: Option<Zeroizing<Vec<u8>>>,
    /// RSA prime q.
    #[serde_as(as = "Option<Base64>")]
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub prime_q: Option<Zeroizing<Vec<u8>>>,
    /// RSA public exponent.
    #[serde_as(as = "Option<Base64>")]
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub public_exponent: Option<Vec<u8>>,
    /// EC scalar, Ed25519 seed or Generic key bytes.
    #[serde_as(as = "Option<Base64>")]
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub data: Option<Zeroizing<Vec<u8>>>,
}

impl std::fmt::Debug for KeyPrivateData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyPrivateData([REDACTED])")
    }
}

/// `PUT /keys/{KeyID}` and `POST /keys` (`PrivateKey`).
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
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub restrictions: Option<KeyRestrictions>,
    /// A label (v5).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub label: Option<String>,
}
