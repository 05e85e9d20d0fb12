//! The N200's answers, parsed from bytes: the code the client runs on every answer, callable on
//! its own (fuzz targets, checks of answers recorded from a real device).
//!
//! [`answer`] is the first step of every call: status, body and content type to a JSON object or
//! an [`Error`] (device error texts mapped to kinds, the raw body kept as the error's
//! [`RawResponse`](crate::RawResponse) source). The others take a 200 answer's body and give
//! the typed value one command is for. None of them panics on any input.
//!
//! ```
//! let key = hsm_n200::protocol::parse::generated_key(
//!     br#"{"command":"genecckey","core":1,"clustersync":"n/a","nice_name":"JP.example",
//!          "publickey":"FACD","result":"hsm010123F13C56131E1EEE0000000000000025"}"#,
//! )?;
//! assert_eq!(key.key_id, "hsm010123F13C56131E1EEE0000000000000025");
//! assert!(hsm_n200::protocol::parse::answer(500, None, b"<html>").is_err());
//! # Ok::<(), hsm_core::Error>(())
//! ```

use hsm_core::{Curve, Error, Result, SignAlgorithm, Signature};
use serde_json::{Map, Value};

use crate::protocol::answer::{interpret_body, missing};
use crate::protocol::model::{
    self, DeviceTime, GeneratedKey, KeyEntry, KeyList, Object, RandomBytes,
};
use crate::protocol::sigformat;

const OP: &str = "n200.parse";

/// An answer as the client takes it: `status` (HTTP), `content_type` (as sent; the device's is
/// not public, so JSON is read whatever it says) and `body`, to the JSON object of a successful
/// answer.
///
/// # Errors
/// The kind the status or the device's error text means (401 authentication, 404 not found,
/// 409 exists, 5xx device or unavailable...); [`ErrorKind::Protocol`](hsm_core::ErrorKind::Protocol)
/// for a 2xx body that is not a JSON object.
pub fn answer(status: u16, content_type: Option<&str>, body: &[u8]) -> Result<Map<String, Value>> {
    interpret_body(OP, status, content_type, body, &[])
}

/// A 200 answer to `genecckey` (or `genrsakey`).
///
/// # Errors
/// As [`answer`]; [`ErrorKind::Protocol`](hsm_core::ErrorKind::Protocol) without a key id in
/// `result`.
pub fn generated_key(body: &[u8]) -> Result<GeneratedKey> {
    generated_key_of(OP, &ok(body)?)
}

/// A 200 answer to `importecckey`: the new key id.
///
/// # Errors
/// As [`generated_key`].
pub fn key_id(body: &[u8]) -> Result<String> {
    text_result_of(OP, &ok(body)?)
}

/// A 200 answer to `listkeys` or `getkeyattributes`.
///
/// # Errors
/// As [`answer`]; [`ErrorKind::Protocol`](hsm_core::ErrorKind::Protocol) when `result` is no
/// map of keys.
pub fn key_list(body: &[u8]) -> Result<KeyList> {
    key_list_of(OP, &ok(body)?)
}

/// A 200 answer to `getrandom` for `n` bytes.
///
/// # Errors
/// As [`answer`]; [`ErrorKind::Protocol`](hsm_core::ErrorKind::Protocol) unless `result` is
/// `n` bytes of hex.
pub fn random(body: &[u8], n: usize) -> Result<RandomBytes> {
    random_of(&ok(body)?, n)
}

/// A 200 answer to `timestamp`.
///
/// # Errors
/// As [`answer`]; [`ErrorKind::Protocol`](hsm_core::ErrorKind::Protocol) without a number.
pub fn timestamp(body: &[u8]) -> Result<DeviceTime> {
    time_of(&ok(body)?)
}

/// A 200 answer to `encrypt`/`decrypt`: the `result` text.
///
/// # Errors
/// As [`answer`]; [`ErrorKind::Protocol`](hsm_core::ErrorKind::Protocol) without `result`.
pub fn text_result(body: &[u8]) -> Result<String> {
    text_result_of(OP, &ok(body)?)
}

/// A 200 answer to the (**unconfirmed**) ECDSA signature command: hex or base64, DER or raw
/// `r‖s`, on `curve`.
///
/// # Errors
/// As [`answer`]; [`ErrorKind::Protocol`](hsm_core::ErrorKind::Protocol) if `result` is no
/// signature on `curve`.
pub fn ecdsa_signature(body: &[u8], algorithm: SignAlgorithm, curve: Curve) -> Result<Signature> {
    sigformat::ecdsa_signature(&text_result(body)?, algorithm, curve, OP)
}

/// A 200 answer to the (**unconfirmed**) RSA signature command for a modulus of `modulus_len`
/// bytes.
///
/// # Errors
/// As [`ecdsa_signature`].
pub fn rsa_signature(
    body: &[u8],
    algorithm: SignAlgorithm,
    modulus_len: usize,
) -> Result<Signature> {
    sigformat::rsa_signature(&text_result(body)?, algorithm, modulus_len, OP)
}

/// A 200 answer to the (**unconfirmed**) verification command: valid or not.
///
/// # Errors
/// As [`answer`]; [`ErrorKind::Protocol`](hsm_core::ErrorKind::Protocol) if `result` is no yes
/// or no.
pub fn verification(body: &[u8]) -> Result<bool> {
    verification_of(OP, &ok(body)?)
}

fn ok(body: &[u8]) -> Result<Object> {
    answer(200, Some("application/json"), body)
}

pub(crate) fn generated_key_of(op: &str, answer: &Object) -> Result<GeneratedKey> {
    GeneratedKey::from_object(answer).ok_or_else(|| missing(op, "result", answer, &[]))
}

pub(crate) fn key_list_of(op: &str, answer: &Object) -> Result<KeyList> {
    KeyList::from_object(answer).ok_or_else(|| missing(op, "result", answer, &[]))
}

/// The first key of a `getkeyattributes` answer for `nice_name`.
pub(crate) fn key_attributes_of(answer: &Object, nice_name: &str) -> Result<KeyEntry> {
    const OP: &str = "n200.get_key_attributes";
    key_list_of(OP, answer)?
        .keys
        .into_iter()
        .next()
        .ok_or_else(|| Error::not_found(OP, format!("no key named {nice_name:?}")))
}

pub(crate) fn text_result_of(op: &str, answer: &Object) -> Result<String> {
    model::text(answer, "result").ok_or_else(|| missing(op, "result", answer, &[]))
}

pub(crate) fn random_of(answer: &Object, n: usize) -> Result<RandomBytes> {
    let bytes = model::text(answer, "result")
        .and_then(|r| hex::decode(r.trim()).ok())
        .filter(|b| b.len() == n)
        .ok_or_else(|| missing("n200.get_random", "result", answer, &[]))?;
    Ok(RandomBytes {
        bytes,
        core: model::number(answer, "core").and_then(|c| u8::try_from(c).ok()),
    })
}

pub(crate) fn time_of(answer: &Object) -> Result<DeviceTime> {
    model::number(answer, "result")
        .map(|unix_seconds| DeviceTime { unix_seconds })
        .ok_or_else(|| missing("n200.timestamp", "result", answer, &[]))
}

pub(crate) fn verification_of(op: &str, answer: &Object) -> Result<bool> {
    match model::text(answer, "result")
        .map(|r| r.to_ascii_lowercase())
        .as_deref()
    {
        Some("true" | "valid" | "ok" | "1" | "verified") => Ok(true),
        Some("false" | "invalid" | "0" | "failed") => Ok(false),
        _ => Err(missing(op, "result", answer, &[])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_point_survives_garbage() {
        let inputs: [&[u8]; 8] = [
            b"",
            b"\xff\xfe",
            b"null",
            b"[]",
            br#"{"result":null}"#,
            br#"{"result":{"a":1,"b":{"key_len":-1}}}"#,
            br#"{"result":"ERROR","error":{"x":[1]}}"#,
            br#"{"result":"30060201010201"}"#,
        ];
        for body in inputs {
            for status in [200, 401, 500, 999] {
                let _ = answer(status, Some("text/html"), body);
            }
            let _ = generated_key(body);
            let _ = key_id(body);
            let _ = key_list(body);
            let _ = random(body, 5);
            let _ = timestamp(body);
            let _ = text_result(body);
            let _ = ecdsa_signature(body, SignAlgorithm::EcdsaSha256, Curve::P256);
            let _ = rsa_signature(body, SignAlgorithm::RsaPkcs1Sha256, 256);
            let _ = verification(body);
        }
        assert_eq!(
            key_list(br#"{"result":{"a":1,"b":{"key_len":-1}}}"#)
                .map(|l| l.keys.len())
                .ok(),
            Some(1)
        );
        assert_eq!(
            timestamp(br#"{"result":"1664657599"}"#)
                .ok()
                .map(|t| t.unix_seconds),
            Some(1_664_657_599)
        );
    }
}
