//! Building CV certificates in the simulator: the device chain (EF 2F02) and the authenticated
//! requests GENERATE ASYMMETRIC KEY PAIR returns.

use openssl::hash::{MessageDigest, hash};

use super::keys::{SimKey, SimResult, StoredKey};
use crate::protocol::cvc;
use crate::protocol::{curves, tlv};

fn sha256(data: &[u8]) -> SimResult<Vec<u8>> {
    hash(MessageDigest::sha256(), data)
        .map(|d| d.to_vec())
        .map_err(|_| 0x6F00)
}

/// The public-key template `7F49` of `key`, with domain parameters for EC keys.
pub(crate) fn public_key_template(key: &SimKey) -> SimResult<Vec<u8>> {
    let mut v = Vec::new();
    match &key.stored {
        StoredKey::Rsa { n, e, .. } => {
            v = cvc::rsa_public_key(tlv::trim_unsigned(n), tlv::trim_unsigned(e));
        }
        StoredKey::Ec { .. } => {
            let c = key.curve().and_then(curves::params).ok_or(0x6F00u16)?;
            let point = key.ec_point()?;
            cvc::write_ec_public_key(&mut v, c, Some(&point));
        }
    }
    Ok(tlv::encode(0x7F49, &v))
}

/// Signs `data` the TR-03110 way with `key`: ECDSA-SHA-256 in plain form, or RSA v1.5 SHA-256.
pub(crate) fn cv_sign(key: &SimKey, data: &[u8]) -> SimResult<Vec<u8>> {
    let h = sha256(data)?;
    if key.is_rsa() {
        let mut di = hsm_core::HashAlgorithm::Sha256
            .digest_info_prefix()
            .to_vec();
        di.extend_from_slice(&h);
        key.rsa_pkcs1(&di)
    } else {
        key.ecdsa_plain(&h)
    }
}

/// A CV body `7F4E` with the given references and extra trailing elements.
fn body(car: &[u8], key_template: &[u8], chr: &[u8], extra: &[u8]) -> Vec<u8> {
    let mut b = tlv::encode(0x5F29, &[0x00]);
    tlv::write(&mut b, 0x42, car);
    b.extend_from_slice(key_template);
    tlv::write(&mut b, 0x5F20, chr);
    b.extend_from_slice(extra);
    tlv::encode(0x7F4E, &b)
}

/// A CV certificate for `subject`'s public key, issued by `issuer`.
pub(crate) fn certificate(
    subject: &SimKey,
    car: &str,
    chr: &str,
    issuer: &SimKey,
) -> SimResult<Vec<u8>> {
    let mut extra = Vec::new();
    // CHAT: CardContact device role, and validity dates (YYMMDD digits).
    let mut chat = tlv::encode(
        0x06,
        &[
            0x2B, 0x06, 0x01, 0x04, 0x01, 0x81, 0xC3, 0x1F, 0x03, 0x01, 0x01,
        ],
    );
    tlv::write(&mut chat, 0x53, &[0x00]);
    tlv::write(&mut extra, 0x7F4C, &chat);
    tlv::write(&mut extra, 0x5F25, &[2, 6, 0, 1, 0, 1]);
    tlv::write(&mut extra, 0x5F24, &[4, 5, 1, 2, 3, 1]);
    let b = body(
        car.as_bytes(),
        &public_key_template(subject)?,
        chr.as_bytes(),
        &extra,
    );
    let sig = cv_sign(issuer, &b)?;
    let mut c = b;
    tlv::write(&mut c, 0x5F37, &sig);
    Ok(tlv::encode(0x7F21, &c))
}

/// The authenticated request GENERATE ASYMMETRIC KEY PAIR answers: inner signature by the new
/// key, outer signature by the device key.
pub(crate) fn authenticated_request(
    new_key: &SimKey,
    car: &[u8],
    chr: &[u8],
    device_key: &SimKey,
    device_chr: &str,
) -> SimResult<Vec<u8>> {
    let b = body(car, &public_key_template(new_key)?, chr, &[]);
    let inner_sig = cv_sign(new_key, &b)?;
    let mut cert = b;
    tlv::write(&mut cert, 0x5F37, &inner_sig);
    let signed = cvc::outer_signed_data(&tlv::encode(0x7F21, &cert), device_chr);
    let outer_sig = cv_sign(device_key, &signed)?;
    Ok(cvc::authenticated_request(&signed, &outer_sig))
}
