//! Typed answers of the N200, read leniently.
//!
//! The shapes follow the only public record (seed 000). Numbers may come as JSON numbers or
//! strings (`"numbers": "5"` next to `"core": 1`), unknown fields are kept in `extra`, and a
//! missing field is `None` rather than an error, except the one field each command is for.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// A JSON object answer.
pub(crate) type Object = Map<String, Value>;

/// A string field, also when the device sends a number.
pub(crate) fn text(object: &Object, name: &str) -> Option<String> {
    match object.get(name)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A number field, also when the device sends a string.
pub(crate) fn number(object: &Object, name: &str) -> Option<u64> {
    match object.get(name)? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The answer to `genecckey` (and the assumed `genrsakey`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct GeneratedKey {
    /// The new key's id (`result`), e.g. `hsm010123F13C56131E1EEE0000000000000025`.
    pub key_id: String,
    /// The nice name echoed back.
    pub nice_name: Option<String>,
    /// The public key as sent (`publickey`): hex `X‖Y` without the `04` prefix for EC keys.
    pub public_key: Option<String>,
    /// The core.
    pub core: Option<u8>,
    /// The cluster synchronisation state (`clustersync`, `n/a` on a single device).
    pub cluster_sync: Option<String>,
}

impl GeneratedKey {
    pub(crate) fn from_object(object: &Object) -> Option<Self> {
        Some(Self {
            key_id: text(object, "result")?,
            nice_name: text(object, "nice_name"),
            public_key: text(object, "publickey").or_else(|| text(object, "public_key")),
            core: number(object, "core").and_then(|c| u8::try_from(c).ok()),
            cluster_sync: text(object, "clustersync"),
        })
    }
}

impl GeneratedKey {
    /// The key as a listing shows it (after a creation whose answer was lost).
    pub(crate) fn from_entry(entry: KeyEntry, core: u8) -> Self {
        Self {
            key_id: entry.key_id,
            nice_name: entry.nice_name,
            public_key: entry.public_key,
            core: Some(core),
            cluster_sync: None,
        }
    }
}

/// One key of a `listkeys` or `getkeyattributes` answer. Every field but `key_id` is optional:
/// `getkeyattributes` sends fewer than `listkeys`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct KeyEntry {
    /// The key id (the map key, or `key_id`).
    pub key_id: String,
    /// The PKCS#11 slot / token label (`slot`).
    pub slot: Option<String>,
    /// The PKCS#11 `CKA_ID` in hex (`id`).
    pub id: Option<String>,
    /// `NIST`, `SECP`, `Brainpool`, `RSA`, `SYM`.
    pub key_type: Option<String>,
    /// Bits.
    pub key_len: Option<u32>,
    /// The ACL bitmask (`FFFF`).
    pub key_acl: Option<String>,
    /// The key's name.
    pub nice_name: Option<String>,
    /// `2022/10/01 20:15`.
    pub date_of_creation: Option<String>,
    /// `2022/10/01 20:32`.
    pub date_of_last_use: Option<String>,
    /// Planned end of life (often `null`).
    pub date_planned_lifetime_until: Option<String>,
    /// The PKCS#11 token label (`token_name`).
    pub token_name: Option<String>,
    /// The user that owns the key.
    pub key_owner: Option<String>,
    /// The public key as sent: hex `X‖Y` for EC keys.
    pub public_key: Option<String>,
    /// Fields this crate does not know, kept as sent.
    pub extra: BTreeMap<String, Value>,
}

const KNOWN: [&str; 13] = [
    "key_id",
    "slot",
    "id",
    "key_type",
    "key_len",
    "key_acl",
    "nice_name",
    "date_of_creation",
    "date_of_last_use",
    "date_planned_lifetime_until",
    "token_name",
    "key_owner",
    "public_key",
];

impl KeyEntry {
    fn from_object(map_key: &str, object: &Object) -> Self {
        Self {
            key_id: text(object, "key_id").unwrap_or_else(|| map_key.to_owned()),
            slot: text(object, "slot"),
            id: text(object, "id"),
            key_type: text(object, "key_type"),
            key_len: number(object, "key_len").and_then(|n| u32::try_from(n).ok()),
            key_acl: text(object, "key_acl"),
            nice_name: text(object, "nice_name"),
            date_of_creation: text(object, "date_of_creation"),
            date_of_last_use: text(object, "date_of_last_use"),
            date_planned_lifetime_until: text(object, "date_planned_lifetime_until"),
            token_name: text(object, "token_name"),
            key_owner: text(object, "key_owner"),
            public_key: text(object, "public_key").or_else(|| text(object, "publickey")),
            extra: object
                .iter()
                .filter(|(k, _)| !KNOWN.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }
}

/// The answer to `listkeys` or `getkeyattributes`: `result` is a map keyed by key id.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct KeyList {
    /// The core the answer names (`0` in the record's GET `listkeys`).
    pub core: Option<u8>,
    /// The keys, in the device's order.
    pub keys: Vec<KeyEntry>,
}

impl KeyList {
    /// `None` unless `result` is a map (an empty map is an empty list).
    pub(crate) fn from_object(object: &Object) -> Option<Self> {
        let result = match object.get("result")? {
            Value::Object(map) => map,
            // Some firmware may answer an empty listing with an empty array or null.
            Value::Array(a) if a.is_empty() => return Some(Self::default()),
            Value::Null => return Some(Self::default()),
            _ => return None,
        };
        Some(Self {
            core: number(object, "core").and_then(|c| u8::try_from(c).ok()),
            keys: result
                .iter()
                .filter_map(|(k, v)| v.as_object().map(|o| KeyEntry::from_object(k, o)))
                .collect(),
        })
    }
}

/// The most bytes one `getrandom` request asks for. The device's own limit is not public (the
/// record asks for 5); the client splits larger requests into requests of this size and the
/// simulator refuses more.
pub const MAX_RANDOM_PER_REQUEST: usize = 1024;

/// The answer to `getrandom`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RandomBytes {
    /// The bytes (from the hex `result`).
    pub bytes: Vec<u8>,
    /// The core that made them.
    pub core: Option<u8>,
}

/// The answer to `timestamp`: the device clock in seconds since 1970.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeviceTime {
    /// Seconds since the Unix epoch.
    pub unix_seconds: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(json: &str) -> Object {
        serde_json::from_str(json).expect("test JSON")
    }

    #[test]
    fn seed_listkeys_answer() {
        let o = object(
            r#"{"command":"listkeys","core":0,"result":{"hsm010123F13C56131E1EEE0000000000000025":{
            "slot":"hsm010123F13C56131E1EEE00000025","key_id":"hsm010123F13C56131E1EEE0000000000000025",
            "id":"AAAB68606BE2","key_type":"NIST","key_len":256,"key_acl":"FFFF","nice_name":"JP.example",
            "date_of_creation":"2022/10/01 20:15","date_of_last_use":"2022/10/01 20:32",
            "date_planned_lifetime_until":null,"token_name":"hsm010123F13C56131E1EEE00000025",
            "key_owner":"pkmaster","public_key":"FACD","firmware_extra":1}}}"#,
        );
        let list = KeyList::from_object(&o).expect("a list");
        assert_eq!(list.core, Some(0));
        let k = list.keys.first().expect("one key");
        assert_eq!(k.key_id, "hsm010123F13C56131E1EEE0000000000000025");
        assert_eq!(k.key_len, Some(256));
        assert_eq!(k.date_planned_lifetime_until, None);
        assert_eq!(k.nice_name.as_deref(), Some("JP.example"));
        assert!(k.extra.contains_key("firmware_extra"));
    }

    #[test]
    fn lenient_numbers_and_genkey() {
        let o = object(
            r#"{"command":"genecckey","core":"1","clustersync":"n/a","nice_name":"JP.example","publickey":"AB","result":"hsm1"}"#,
        );
        let g = GeneratedKey::from_object(&o).expect("parses");
        assert_eq!(g.core, Some(1));
        assert_eq!(g.key_id, "hsm1");
        assert!(GeneratedKey::from_object(&object(r#"{"command":"genecckey"}"#)).is_none());
        assert!(KeyList::from_object(&object(r#"{"result":"nope"}"#)).is_none());
        assert_eq!(
            KeyList::from_object(&object(r#"{"result":{}}"#)).map(|l| l.keys.len()),
            Some(0)
        );
    }
}
