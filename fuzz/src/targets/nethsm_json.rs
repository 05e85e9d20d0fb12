//! The NetHSM REST answers (hsm-nethsm `protocol`): every response type the client reads
//! is deserialized from the input; what deserializes serializes to JSON that deserializes to
//! the same JSON again. Public keys go through the backend's own `protocol::key_types::public_key_of`.

use hsm_core::PublicKey;
use hsm_nethsm::protocol::key_types::public_key_of;
use hsm_nethsm::protocol::{
    DecryptResponse, EncryptResponse, ErrorBody, HealthState, InfoData, KeyItem, LoggingConfig,
    NamespaceItem, PublicKeyData, RandomResponse, SignResponse, SystemInfo, TimeConfig,
    UnattendedBootConfig, UserData, UserItem,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The input is an answer body.
pub fn run(data: &[u8]) {
    round_trip::<HealthState>(data);
    round_trip::<InfoData>(data);
    round_trip::<UserData>(data);
    round_trip::<Vec<UserItem>>(data);
    round_trip::<Vec<KeyItem>>(data);
    round_trip::<KeyItem>(data);
    round_trip::<SignResponse>(data);
    round_trip::<ErrorBody>(data);
    round_trip::<EncryptResponse>(data);
    round_trip::<RandomResponse>(data);
    round_trip::<SystemInfo>(data);
    round_trip::<TimeConfig>(data);
    round_trip::<UnattendedBootConfig>(data);
    round_trip::<LoggingConfig>(data);
    round_trip::<Vec<NamespaceItem>>(data);
    if let Ok(d) = serde_json::from_slice::<DecryptResponse>(data) {
        // The plaintext never shows in Debug output.
        assert_eq!(
            format!("{d:?}"),
            format!(
                "DecryptResponse {{ decrypted: [{} bytes] }}",
                d.decrypted.len()
            )
        );
    }
    if let Some(key) = round_trip::<PublicKeyData>(data) {
        public_key(&key);
    }
}

/// Deserializes `T`; if that works, checks `de(ser(x))` serializes to the same JSON as `x`.
fn round_trip<T: DeserializeOwned + Serialize>(data: &[u8]) -> Option<T> {
    let value: T = serde_json::from_slice(data).ok()?;
    let json = serde_json::to_value(&value).expect("a deserialized answer serializes");
    let again: T = serde_json::from_value(json.clone()).expect("what we serialized deserializes");
    assert_eq!(
        serde_json::to_value(&again).expect("serializes"),
        json,
        "{}: de(ser(x)) == x",
        std::any::type_name::<T>()
    );
    Some(value)
}

/// The public key the backend makes of a key's data: what it builds must survive a DER round
/// trip.
fn public_key(key: &PublicKeyData) {
    check(public_key_of(key));
}

fn check(built: hsm_core::Result<Option<PublicKey>>) {
    if let Ok(Some(pk)) = built {
        assert_eq!(PublicKey::from_der(pk.as_der()).ok().as_ref(), Some(&pk));
    }
}
