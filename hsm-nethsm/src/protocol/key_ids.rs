//! hsm-core key ids in NetHSM terms, the way Nitrokey's PKCS#11 module (nethsm-pkcs11 2.1 and
//! later) maps a `CKA_ID` to a NetHSM key id, so that a key made through that module (by Knot,
//! OpenDNSSEC, pkcs11-tool) is found here by `id:HEX` and a key made here by `id:HEX` shows the
//! same `CKA_ID` there:
//!
//! - a name is used as it is, and must be a NetHSM id (`[a-zA-Z0-9][a-zA-Z0-9_.-]*`, at most
//!   128 characters);
//! - `id:HEX` bytes that already form a NetHSM id are used as they are (`id:6b657931` is the
//!   key `key1`);
//! - any other bytes become [`ENCODED_PREFIX`] followed by their UPPERCASE hex (`test~key` is
//!   `0---746573747E6B6579`, `[0x00]` is `0---00`); the result must still be at most 128
//!   characters, so such an id has at most 62 bytes.
//!
//! Back from the device, an id is decoded into `id:HEX` bytes only when those bytes map to the
//! same id again (`0---00` is `id:00`, while `0---ab` and `0---` stay names). The one id this
//! cannot tell apart, as in the module, is a name that is itself an encoding: bytes spelling
//! `0---00` map to the device id `0---00`, which comes back as `id:00`.

use hsm_core::{Error, KeyId, Result};

use crate::protocol::ids::valid_id;

/// What nethsm-pkcs11 puts before the hex of a binary id that is not a NetHSM id.
pub(crate) const ENCODED_PREFIX: &str = "0---";
/// The longest NetHSM id.
const MAX_ID_LEN: usize = 128;
/// The most bytes an encoded id can hold: `(128 - 4) / 2`.
pub(crate) const MAX_ENCODED_BYTES: usize = (MAX_ID_LEN - ENCODED_PREFIX.len()) / 2;

/// The NetHSM id of id bytes: themselves when they form a valid id, else the encoding;
/// `None` when neither fits (empty, over 128 bytes, or over 62 bytes that need encoding).
pub(crate) fn id_of_bytes(bytes: &[u8]) -> Option<String> {
    // The module refuses an over-long id before it looks at the characters.
    if bytes.is_empty() || bytes.len() > MAX_ID_LEN {
        return None;
    }
    if let Ok(text) = std::str::from_utf8(bytes)
        && valid_id(text)
    {
        return Some(text.to_owned());
    }
    (bytes.len() <= MAX_ENCODED_BYTES)
        .then(|| format!("{ENCODED_PREFIX}{}", hex::encode_upper(bytes)))
}

/// The NetHSM id for `key`; `InvalidInput` (for `operation`) when it has none.
pub(crate) fn to_device(key: &KeyId, operation: &'static str) -> Result<String> {
    let id = match (key.as_name(), key.as_bytes()) {
        (Some(name), _) if valid_id(name) => Some(name.to_owned()),
        (None, Some(bytes)) => id_of_bytes(bytes),
        _ => None,
    };
    id.ok_or_else(|| {
        let rule = match key.as_bytes() {
            Some(_) => format!(
                "an id:HEX key is its bytes when they form a NetHSM id (at most {MAX_ID_LEN}), \
                 else `{ENCODED_PREFIX}` and their hex, which holds at most \
                 {MAX_ENCODED_BYTES} bytes"
            ),
            None => format!(
                "NetHSM key ids are 1 to {MAX_ID_LEN} characters of [a-zA-Z0-9_.-] starting \
                 with a letter or digit"
            ),
        };
        Error::invalid_input(operation, format!("{rule}; {key} is not"))
    })
}

/// The hsm-core key id of a NetHSM id: `id:HEX` when the id is an encoding that maps back to
/// itself, else the id as a name.
pub(crate) fn from_device(id: &str) -> Result<KeyId> {
    let decoded = id
        .strip_prefix(ENCODED_PREFIX)
        .and_then(|h| hex::decode(h).ok())
        .filter(|bytes| id_of_bytes(bytes).as_deref() == Some(id));
    match decoded {
        Some(bytes) => KeyId::from_bytes(bytes),
        None => KeyId::name(id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(key: &str) -> KeyId {
        KeyId::from_bytes(key.as_bytes()).unwrap()
    }

    #[test]
    fn nitrokeys_published_vectors() {
        for (raw, expected) in [
            (&b"test~key"[..], "0---746573747E6B6579"),
            (&[0x00][..], "0---00"),
            (&b".key"[..], "0---2E6B6579"),
            (&b"-key"[..], "0---2D6B6579"),
        ] {
            let key = KeyId::from_bytes(raw).unwrap();
            assert_eq!(to_device(&key, "t").unwrap(), expected, "{key}");
            assert_eq!(from_device(expected).unwrap(), key, "{expected}");
        }
    }

    #[test]
    fn bytes_that_are_valid_ids_pass_through_unchanged() {
        for id in ["key1", "a.b_c-d", "0", "Z9", "0---", &"x".repeat(128)] {
            assert_eq!(to_device(&bytes(id), "t").unwrap(), id);
            assert_eq!(to_device(&KeyId::name(id).unwrap(), "t").unwrap(), id);
            // Coming back they are names: nothing decodes.
            assert_eq!(from_device(id).unwrap(), KeyId::name(id).unwrap());
        }
    }

    #[test]
    fn lengths_follow_the_module() {
        // Valid characters: up to 128 as they are; 129 is refused, not encoded.
        assert!(to_device(&bytes(&"x".repeat(129)), "t").is_err());
        // Bytes to encode: 62 fit in 128 characters, 63 do not.
        let encoded = to_device(&KeyId::from_bytes(vec![0xff; 62]).unwrap(), "t").unwrap();
        assert_eq!(encoded.len(), 128);
        assert!(to_device(&KeyId::from_bytes(vec![0xff; 63]).unwrap(), "t").is_err());
        // Names are never encoded.
        let e = to_device(&KeyId::name("has space").unwrap(), "nethsm.sign").unwrap_err();
        assert_eq!(e.kind(), hsm_core::ErrorKind::InvalidInput);
        assert_eq!(e.operation(), "nethsm.sign");
        assert!(to_device(&KeyId::name("-leading").unwrap(), "t").is_err());
    }

    #[test]
    fn ids_decode_only_when_they_map_to_themselves() {
        // Lowercase hex, odd length, non-hex, nothing after the prefix: names.
        for id in ["0---ab", "0---0", "0---XY", "0---"] {
            assert_eq!(from_device(id).unwrap(), KeyId::name(id).unwrap(), "{id}");
        }
        // Uppercase hex of bytes that are themselves a valid id encode differently ("AB" hex
        // of "key1" is used as "key1"): a name.
        assert_eq!(
            from_device("0---6B657931").unwrap(),
            KeyId::name("0---6B657931").unwrap()
        );
        // The one ambiguity the rule has, as in the module: bytes spelling an encoding.
        assert_eq!(to_device(&bytes("0---00"), "t").unwrap(), "0---00");
        assert_eq!(
            from_device("0---00").unwrap(),
            KeyId::from_bytes([0]).unwrap()
        );
    }

    /// A small deterministic generator (xorshift64*), so the loop covers many byte strings and
    /// a failure names one that can be replayed.
    struct Bytes(u64);

    impl Bytes {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        /// 1 to 140 bytes: any byte values, the id alphabet with a few characters outside
        /// it, or the id alphabet alone (first characters included, so some start with `-`).
        fn string(&mut self) -> Vec<u8> {
            const MIXED: &[u8] = b"abcXYZ019_.-~ /0---ABCDEF";
            const ID: &[u8] = b"abcXYZ019_.-0---ABCDEF";
            let len = 1 + (self.next() % 140) as usize;
            let alphabet = match self.next() % 3 {
                0 => None,
                1 => Some(MIXED),
                _ => Some(ID),
            };
            (0..len)
                .map(|_| {
                    let r = self.next();
                    alphabet.map_or(r as u8, |a| a[(r % a.len() as u64) as usize])
                })
                .collect()
        }
    }

    #[test]
    fn every_mappable_byte_string_round_trips() {
        let mut generator = Bytes(0x9e37_79b9_7f4a_7c15);
        let (mut mapped, mut encoded, mut refused) = (0, 0, 0);
        for _ in 0..20_000 {
            let raw = generator.string();
            let key = KeyId::from_bytes(raw.clone()).unwrap();
            let Ok(id) = to_device(&key, "t") else {
                refused += 1;
                assert!(raw.len() > MAX_ENCODED_BYTES, "{key} was refused");
                continue;
            };
            assert!(valid_id(&id), "{key} -> {id:?} is no NetHSM id");
            let back = from_device(&id).unwrap();
            if id.as_bytes() == raw.as_slice() {
                mapped += 1;
                // A valid id comes back as a name, unless it spells an encoding (above).
                if back.as_bytes().is_some() {
                    assert!(id.starts_with(ENCODED_PREFIX), "{id}");
                } else {
                    assert_eq!(back, KeyId::name(id.clone()).unwrap());
                }
            } else {
                encoded += 1;
                assert_eq!(id, format!("0---{}", hex::encode_upper(&raw)));
                assert_eq!(back, key, "{key} -> {id} -> {back}");
            }
            // Whatever came back maps to the same device id.
            assert_eq!(to_device(&back, "t").unwrap(), id);
        }
        assert!(
            mapped > 1000 && encoded > 1000 && refused > 1000,
            "{mapped} {encoded} {refused}"
        );
    }
}
