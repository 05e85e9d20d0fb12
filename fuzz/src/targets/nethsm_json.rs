//! The NetHSM REST answers (hsm-nethsm `client::model`): every response type the client reads
//! is deserialized from the input; what deserializes serializes to JSON that deserializes to
//! the same JSON again. Public keys go on to the hsm-core constructors the backend uses.

use hsm_core::{Curve, PublicKey};
use hsm_nethsm::client::model::{
    DecryptResponse, EncryptResponse, ErrorBody, HealthState, InfoData, KeyItem, KeyType,
    LoggingConfig, NamespaceItem, PublicKeyData, RandomResponse, SignResponse, SystemInfo,
    TimeConfig, UnattendedBootConfig, UserData, UserItem,
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

/// The hsm-core constructors the backend feeds the public part of a key to.
fn public_key(key: &PublicKeyData) {
    let Some(public) = &key.public else {
        return;
    };
    let curve = match key.key_type {
        KeyType::RSA => {
            if let (Some(n), Some(e)) = (&public.modulus, &public.public_exponent) {
                check(PublicKey::from_rsa_components(n, e));
            }
            return;
        }
        KeyType::Curve25519 => {
            if let Some(d) = &public.data {
                check(PublicKey::from_ed25519(d));
            }
            return;
        }
        KeyType::EC_P256 => Curve::P256,
        KeyType::EC_P384 => Curve::P384,
        KeyType::EC_P521 => Curve::P521,
        KeyType::EC_P256K1 => Curve::Secp256k1,
        KeyType::BrainpoolP256 => Curve::BrainpoolP256r1,
        KeyType::BrainpoolP384 => Curve::BrainpoolP384r1,
        KeyType::BrainpoolP512 => Curve::BrainpoolP512r1,
        _ => return,
    };
    if let Some(d) = &public.data {
        check(PublicKey::from_ec_point(curve, d));
    }
}

fn check(built: hsm_core::Result<PublicKey>) {
    if let Ok(pk) = built {
        assert_eq!(PublicKey::from_der(pk.as_der()).ok().as_ref(), Some(&pk));
    }
}
