//! Objects: every backend key is a private-key object and a public-key object, and, when the
//! backend keeps a certificate with it, a certificate object (see [`crate::certificate`]); stable
//! handles for the module's life; their attributes; template matching; `CKA_ID` mapping.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use cryptoki_sys::*;
use hsm_core::{Curve, KeyId, KeyInfo, KeySpec, KeyType, PublicKey};

pub(crate) use crate::attribute::{AttrValue, bool_, ulong};
use crate::certificate::{self, CertRecord};
use crate::config::Scheme;

/// The DER OID of Ed25519 (1.3.101.112), as `CKA_EC_PARAMS` holds it.
pub(crate) const ED25519_OID_DER: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x70];
/// `CKA_EC_PARAMS` as a PrintableString `edwards25519`, which some tools send instead.
pub(crate) const ED25519_NAME_DER: &[u8] = b"\x13\x0cedwards25519";

/// One backend key, shared by its two objects.
#[derive(Debug)]
pub(crate) struct KeyRecord {
    /// The slot the key lives in.
    pub slot: CK_SLOT_ID,
    /// The id the backend knows it by.
    pub id: KeyId,
    /// `CKA_LABEL`.
    pub label: String,
    /// `CKA_ID`.
    pub cka_id: Vec<u8>,
    /// The key's type and size.
    pub spec: KeySpec,
    /// The public key, read once when an attribute needs it.
    pub public: OnceLock<PublicKey>,
}

impl KeyRecord {
    /// The record for a key the backend reported; `None` for keys that are not signing key pairs.
    pub(crate) fn from_info(slot: CK_SLOT_ID, scheme: Scheme, info: &KeyInfo) -> Option<Self> {
        let spec = info.spec.filter(|s| s.is_asymmetric())?;
        let cka_id = cka_id_of(scheme, info);
        let label = info
            .label
            .clone()
            .filter(|l| !l.is_empty())
            .or_else(|| info.id.as_name().map(str::to_owned))
            .unwrap_or_else(|| match scheme {
                // The device's own name for the key, as Nitrokey's module shows it.
                Scheme::NetHsm | Scheme::N200 => encode_name(&cka_id),
                Scheme::Pkcs11 | Scheme::ScHsm => info.id.to_string(),
            });
        Some(Self {
            slot,
            id: info.id.clone(),
            label,
            cka_id,
            spec,
            public: OnceLock::new(),
        })
    }

    /// The length of a signature by this key.
    pub(crate) fn signature_len(&self) -> usize {
        match self.spec {
            KeySpec::Ec(curve) => 2 * curve.field_len(),
            KeySpec::Ed25519 => 64,
            other => other.rsa_bits().map_or(0, |b| b.div_ceil(8)),
        }
    }
}

/// What an object of a key is: one of its two sides, or its certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Class {
    /// `CKO_PRIVATE_KEY`
    Private,
    /// `CKO_PUBLIC_KEY`
    Public,
    /// `CKO_CERTIFICATE`
    Certificate,
}

impl Class {
    pub(crate) fn ck(self) -> CK_OBJECT_CLASS {
        match self {
            Self::Private => CKO_PRIVATE_KEY,
            Self::Public => CKO_PUBLIC_KEY,
            Self::Certificate => CKO_CERTIFICATE,
        }
    }
}

/// An object: one side of a key, or the certificate stored with it.
#[derive(Clone, Debug)]
pub(crate) struct Object {
    /// Which side, or the certificate.
    pub class: Class,
    /// The key.
    pub key: Arc<KeyRecord>,
    /// The certificate, for [`Class::Certificate`] (as last read from the backend).
    pub cert: Option<Arc<CertRecord>>,
}

/// Handles for every key seen, across slots: a key keeps its handles until it is destroyed or
/// the module is finalised.
#[derive(Debug, Default)]
pub(crate) struct ObjectTable {
    next: CK_OBJECT_HANDLE,
    by_handle: HashMap<CK_OBJECT_HANDLE, Object>,
    by_key: HashMap<(CK_SLOT_ID, Vec<u8>, Class), CK_OBJECT_HANDLE>,
}

/// What identifies a key pair within a slot: its `CKA_ID` (the PKCS#11 convention: a pair shares
/// it, distinct keys do not), else the backend's id. Backends may name one key differently in
/// different answers (id bytes after generation, a label in a listing); `CKA_ID` stays.
fn identity(record: &KeyRecord) -> Vec<u8> {
    if record.cka_id.is_empty() {
        let mut v = vec![0xff];
        v.extend_from_slice(record.id.to_string().as_bytes());
        v
    } else {
        record.cka_id.clone()
    }
}

impl ObjectTable {
    /// The handles of a key's two objects, registering it when new (a key seen again keeps its
    /// handles; its record is refreshed when the backend describes it differently).
    pub(crate) fn register(&mut self, record: KeyRecord) -> [(CK_OBJECT_HANDLE, Object); 2] {
        let record = Arc::new(record);
        [Class::Private, Class::Public].map(|class| {
            let key = (record.slot, identity(&record), class);
            if let Some(&h) = self.by_key.get(&key)
                && let Some(existing) = self.by_handle.get_mut(&h)
            {
                {
                    if existing.key.spec != record.spec
                        || existing.key.id != record.id
                        || existing.key.label != record.label
                    {
                        existing.key = Arc::clone(&record);
                    }
                    return (h, existing.clone());
                }
            }
            self.next += 1;
            let h = self.next;
            let object = Object {
                class,
                key: Arc::clone(&record),
                cert: None,
            };
            let _ = self.by_handle.insert(h, object.clone());
            let _ = self.by_key.insert(key, h);
            (h, object)
        })
    }

    /// The handle of a key's certificate object, registering it when new; a certificate seen
    /// again keeps its handle and takes the latest contents (a stored certificate may have been
    /// replaced).
    pub(crate) fn register_certificate(
        &mut self,
        key: Arc<KeyRecord>,
        cert: CertRecord,
    ) -> (CK_OBJECT_HANDLE, Object) {
        let object = Object {
            class: Class::Certificate,
            cert: Some(Arc::new(cert)),
            key,
        };
        let id = (object.key.slot, identity(&object.key), Class::Certificate);
        let h = match self.by_key.get(&id) {
            Some(&h) => h,
            None => {
                self.next += 1;
                let _ = self.by_key.insert(id, self.next);
                self.next
            }
        };
        let _ = self.by_handle.insert(h, object.clone());
        (h, object)
    }

    /// Forgets a key's certificate object (the key has none any more).
    pub(crate) fn remove_certificate(&mut self, record: &KeyRecord) {
        if let Some(h) = self
            .by_key
            .remove(&(record.slot, identity(record), Class::Certificate))
        {
            let _ = self.by_handle.remove(&h);
        }
    }

    /// The object behind a handle.
    pub(crate) fn get(&self, handle: CK_OBJECT_HANDLE) -> Option<Object> {
        self.by_handle.get(&handle).cloned()
    }

    /// Forgets a key's objects (its two sides and its certificate).
    pub(crate) fn remove_key(&mut self, record: &KeyRecord) {
        for class in [Class::Private, Class::Public, Class::Certificate] {
            if let Some(h) = self.by_key.remove(&(record.slot, identity(record), class)) {
                let _ = self.by_handle.remove(&h);
            }
        }
    }
}

/// `CKA_ID` of a key: its id bytes where the backend has them (PKCS#11 `CKA_ID`, PKCS#15 id);
/// for named keys (NetHSM, N200) the name decoded the way Nitrokey's NetHSM module does:
/// `0---` + uppercase hex stands for those bytes, any other name for its own UTF-8 bytes.
pub(crate) fn cka_id_of(scheme: Scheme, info: &KeyInfo) -> Vec<u8> {
    if let Some(bytes) = info.id.as_bytes() {
        return bytes.to_vec();
    }
    let extra = match scheme {
        Scheme::Pkcs11 => info.extras.get("cka_id"),
        Scheme::ScHsm => info.extras.get("id"),
        Scheme::NetHsm | Scheme::N200 => None,
    };
    if let Some(bytes) = extra.and_then(|h| hex::decode(h).ok()) {
        return bytes;
    }
    info.id.as_name().map_or_else(Vec::new, decode_name)
}

/// A NetHSM-style key name back to `CKA_ID` bytes.
pub(crate) fn decode_name(name: &str) -> Vec<u8> {
    if let Some(hex_part) = name.strip_prefix("0---")
        && let Ok(bytes) = hex::decode(hex_part)
        && encode_name(&bytes) == name
    {
        return bytes;
    }
    name.as_bytes().to_vec()
}

/// `CKA_ID` bytes to a NetHSM-style key name: the bytes themselves when they are a valid NetHSM
/// id (`[a-zA-Z0-9][a-zA-Z0-9_.-]*`, at most 128), else `0---` + their uppercase hex.
pub(crate) fn encode_name(bytes: &[u8]) -> String {
    let valid = !bytes.is_empty()
        && bytes.len() <= 128
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if valid {
        String::from_utf8_lossy(bytes).into_owned()
    } else {
        format!("0---{}", hex::encode_upper(bytes))
    }
}

fn key_type(spec: KeySpec) -> CK_KEY_TYPE {
    match spec.key_type() {
        KeyType::Rsa => CKK_RSA,
        KeyType::Ec => CKK_EC,
        KeyType::Ed25519 => CKK_EC_EDWARDS,
        _ => CKK_GENERIC_SECRET,
    }
}

/// `CKA_EC_PARAMS` for a spec.
pub(crate) fn ec_params(spec: KeySpec) -> Option<Vec<u8>> {
    match spec {
        KeySpec::Ec(curve) => Some(curve.oid_der()),
        KeySpec::Ed25519 => Some(ED25519_OID_DER.to_vec()),
        _ => None,
    }
}

/// The curve or Ed25519 a `CKA_EC_PARAMS` value names.
pub(crate) fn spec_from_ec_params(der: &[u8]) -> Option<KeySpec> {
    if der == ED25519_OID_DER || der == ED25519_NAME_DER {
        return Some(KeySpec::Ed25519);
    }
    Curve::ALL
        .into_iter()
        .find(|c| c.oid_der() == der)
        .map(KeySpec::Ec)
}

/// A DER OCTET STRING around `bytes` (`CKA_EC_POINT`).
fn octet_string(bytes: &[u8]) -> Vec<u8> {
    let mut out = vec![0x04];
    let len = bytes.len();
    if len < 0x80 {
        out.push(len as u8);
    } else if len < 0x100 {
        out.extend([0x81, len as u8]);
    } else {
        out.extend([0x82, (len >> 8) as u8, len as u8]);
    }
    out.extend_from_slice(bytes);
    out
}

/// Whether an attribute of an object of `class` needs the key's public key (a backend call the
/// first time); a certificate object holds everything it shows.
pub(crate) fn needs_public_key(class: Class, attr: CK_ATTRIBUTE_TYPE) -> bool {
    class != Class::Certificate
        && matches!(
            attr,
            CKA_MODULUS | CKA_PUBLIC_EXPONENT | CKA_EC_POINT | CKA_PUBLIC_KEY_INFO | CKA_VALUE
        )
}

/// The value of `attr` on `object`; `public` is the key's public key when the caller fetched it
/// (see [`needs_public_key`]).
pub(crate) fn attribute(object: &Object, attr: CK_ATTRIBUTE_TYPE) -> AttrValue {
    use AttrValue::{Invalid, Sensitive, Value};
    let key = &object.key;
    if object.class == Class::Certificate {
        return object.cert.as_ref().map_or(Invalid, |cert| {
            certificate::attribute(&key.label, &key.cka_id, cert, attr)
        });
    }
    let private = object.class == Class::Private;
    let spec = key.spec;
    let public = key.public.get();
    match attr {
        CKA_CLASS => Value(ulong(object.class.ck())),
        CKA_TOKEN | CKA_LOCAL => Value(bool_(true)),
        CKA_PRIVATE => Value(bool_(private)),
        CKA_MODIFIABLE | CKA_COPYABLE | CKA_DESTROYABLE => Value(bool_(attr == CKA_DESTROYABLE)),
        CKA_LABEL => Value(key.label.as_bytes().to_vec()),
        CKA_ID => Value(key.cka_id.clone()),
        CKA_KEY_TYPE => Value(ulong(key_type(spec))),
        CKA_START_DATE | CKA_END_DATE => Value(Vec::new()),
        CKA_DERIVE => Value(bool_(false)),
        CKA_KEY_GEN_MECHANISM => Value(ulong(CK_UNAVAILABLE_INFORMATION)),
        CKA_SUBJECT => Value(Vec::new()),
        // The private side
        CKA_SIGN if private => Value(bool_(true)),
        CKA_DECRYPT | CKA_UNWRAP | CKA_SIGN_RECOVER if private => Value(bool_(false)),
        CKA_SENSITIVE | CKA_ALWAYS_SENSITIVE | CKA_NEVER_EXTRACTABLE if private => {
            Value(bool_(true))
        }
        CKA_EXTRACTABLE | CKA_ALWAYS_AUTHENTICATE | CKA_WRAP_WITH_TRUSTED if private => {
            Value(bool_(false))
        }
        CKA_PRIVATE_EXPONENT | CKA_PRIME_1 | CKA_PRIME_2 | CKA_EXPONENT_1 | CKA_EXPONENT_2
        | CKA_COEFFICIENT | CKA_VALUE
            if private =>
        {
            Sensitive
        }
        // The public side
        CKA_VERIFY if !private => Value(bool_(true)),
        CKA_ENCRYPT | CKA_WRAP | CKA_VERIFY_RECOVER if !private => Value(bool_(false)),
        CKA_TRUSTED if !private => Value(bool_(false)),
        CKA_EC_POINT if !private && spec.key_type() != KeyType::Rsa => match public {
            Some(p) => match (p.ec_point(), p.ed25519_bytes()) {
                (Some(point), _) | (None, Some(point)) => Value(octet_string(point)),
                _ => Invalid,
            },
            None => Invalid,
        },
        CKA_PUBLIC_KEY_INFO => public.map_or(Invalid, |p| Value(p.to_der())),
        // Both sides
        CKA_EC_PARAMS => ec_params(spec).map_or(Invalid, Value),
        CKA_MODULUS | CKA_PUBLIC_EXPONENT if spec.key_type() == KeyType::Rsa => {
            match public.and_then(PublicKey::rsa_components) {
                Some((n, e)) => Value(if attr == CKA_MODULUS { n } else { e }),
                None => Invalid,
            }
        }
        CKA_MODULUS_BITS if spec.key_type() == KeyType::Rsa && !private => {
            Value(ulong(spec.rsa_bits().unwrap_or(0) as CK_ULONG))
        }
        _ => Invalid,
    }
}

/// Whether `object` matches every attribute of a `C_FindObjectsInit` template.
pub(crate) fn matches(object: &Object, template: &[(CK_ATTRIBUTE_TYPE, Vec<u8>)]) -> bool {
    template.iter().all(|(t, v)| match attribute(object, *t) {
        AttrValue::Value(mine) => &mine == v,
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_map_like_nitrokeys_module() {
        // Nitrokey's test vectors (nethsm-pkcs11 NetHSMId).
        assert_eq!(encode_name(b"test~key"), "0---746573747E6B6579");
        assert_eq!(encode_name(b"-key"), "0---2D6B6579");
        assert_eq!(encode_name(b".key"), "0---2E6B6579");
        assert_eq!(encode_name(&[0]), "0---00");
        assert_eq!(encode_name(b"signer1"), "signer1");
        for bytes in [&b"test~key"[..], b"-key", &[0], &[1, 2, 0xff], b"signer1"] {
            assert_eq!(decode_name(&encode_name(bytes)), bytes);
        }
        // Lowercase hex after 0--- is not an encoding: the name's own bytes.
        assert_eq!(decode_name("0---2d"), b"0---2d");
    }

    #[test]
    fn ec_params_round_trip() {
        for spec in [
            KeySpec::Ec(Curve::P256),
            KeySpec::Ec(Curve::P384),
            KeySpec::Ed25519,
        ] {
            assert_eq!(spec_from_ec_params(&ec_params(spec).unwrap()), Some(spec));
        }
        assert_eq!(
            spec_from_ec_params(ED25519_NAME_DER),
            Some(KeySpec::Ed25519)
        );
        assert_eq!(spec_from_ec_params(&[0x06, 0x01, 0x00]), None);
    }

    #[test]
    fn octet_strings_have_der_lengths() {
        assert_eq!(octet_string(&[1; 65])[..2], [0x04, 65]);
        assert_eq!(octet_string(&[1; 133])[..3], [0x04, 0x81, 133]);
    }
}
