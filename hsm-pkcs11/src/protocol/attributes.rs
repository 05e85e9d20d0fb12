//! Object attributes: how a [`KeyId`] selects objects (`CKA_ID`/`CKA_LABEL`), the templates of
//! new key pairs and objects, and the decoding of the attributes a token returns into a
//! [`KeySpec`] and a [`PublicKey`].

use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass};
use hsm_core::{Curve, Error, KeyId, KeySpec, PublicKey, Result};

use crate::protocol::mechanisms::CANDIDATE_CURVES;

/// `CKA_EC_PARAMS` of an Ed25519 key: the OID id-Ed25519 (1.3.101.112), as PKCS#11 3.0 and
/// SoftHSM2 accept.
pub(crate) const ED25519_PARAMS: [u8; 5] = [0x06, 0x03, 0x2B, 0x65, 0x70];

/// The attributes that decide a key's spec ([`KeyAttributes::spec`]).
pub(crate) const SPEC_ATTRIBUTES: [AttributeType; 3] = [
    AttributeType::KeyType,
    AttributeType::Modulus,
    AttributeType::EcParams,
];

/// The attributes that hold a public key ([`KeyAttributes::public_key`]).
pub(crate) const PUBLIC_ATTRIBUTES: [AttributeType; 3] = [
    AttributeType::Modulus,
    AttributeType::PublicExponent,
    AttributeType::EcPoint,
];

/// Which kind of non-key object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectKind {
    /// An X.509 certificate (`CKO_CERTIFICATE`, `CKC_X_509`), value = DER.
    Certificate,
    /// A data object (`CKO_DATA`), value = opaque bytes.
    Data,
}

impl ObjectKind {
    /// The `CKA_CLASS` of objects of this kind.
    pub(crate) fn class(self) -> ObjectClass {
        match self {
            Self::Certificate => ObjectClass::CERTIFICATE,
            Self::Data => ObjectClass::DATA,
        }
    }
}

/// The attribute that selects `key`: `CKA_ID` for `id:HEX`, `CKA_LABEL` for a name.
pub(crate) fn selector(key: &KeyId) -> Attribute {
    match key.as_bytes() {
        Some(b) => Attribute::Id(b.to_vec()),
        None => Attribute::Label(key.to_string().into_bytes()),
    }
}

/// The `CKA_ID` and `CKA_LABEL` for a new key: `id:HEX` is the id (label from the template or
/// the hex); a name is the label, and its UTF-8 bytes are the id.
pub(crate) fn id_and_label(key: &KeyId, label: Option<&str>) -> (Vec<u8>, Vec<u8>) {
    match key.as_bytes() {
        Some(b) => (
            b.to_vec(),
            label
                .map_or_else(|| hex::encode(b), str::to_owned)
                .into_bytes(),
        ),
        None => {
            let name = key.to_string();
            (name.clone().into_bytes(), name.into_bytes())
        }
    }
}

/// The attributes every private key the backend creates has: a sensitive, non-extractable
/// token object that signs.
pub(crate) fn private_key_template(id: &[u8], label: &[u8]) -> Vec<Attribute> {
    vec![
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Sign(true),
        Attribute::Id(id.to_vec()),
        Attribute::Label(label.to_vec()),
    ]
}

/// The attributes every public key the backend creates has: a public token object that
/// verifies.
pub(crate) fn public_key_template(id: &[u8], label: &[u8]) -> Vec<Attribute> {
    vec![
        Attribute::Token(true),
        Attribute::Private(false),
        Attribute::Verify(true),
        Attribute::Id(id.to_vec()),
        Attribute::Label(label.to_vec()),
    ]
}

/// A DER OCTET STRING around `body`, as `CKA_EC_POINT` holds a point.
pub(crate) fn der_octet_string(body: &[u8]) -> Vec<u8> {
    let mut out = vec![0x04];
    match u8::try_from(body.len()) {
        Ok(l) if l < 0x80 => out.push(l),
        Ok(l) => out.extend([0x81, l]),
        Err(_) => out.extend([0x82, (body.len() >> 8) as u8, body.len() as u8]),
    }
    out.extend_from_slice(body);
    out
}

/// The SEC1 point (or Ed25519 key) inside a `CKA_EC_POINT`: SoftHSM2 and most modules wrap it
/// in a DER OCTET STRING; a bare value of the expected length is taken as it is.
pub(crate) fn unwrap_ec_point(value: &[u8], bare_len: usize) -> &[u8] {
    if value.len() == bare_len {
        return value;
    }
    match value {
        [0x04, 0x81, len, body @ ..] | [0x04, len, body @ ..]
            if usize::from(*len) == body.len() =>
        {
            body
        }
        _ => value,
    }
}

/// The curve whose OID is the DER `CKA_EC_PARAMS`.
fn curve_of(params: &[u8]) -> Option<Curve> {
    CANDIDATE_CURVES.into_iter().find(|c| c.oid_der() == params)
}

/// The key attributes a token returned, by name.
#[derive(Debug, Default)]
pub(crate) struct KeyAttributes {
    key_type: Option<KeyType>,
    modulus: Option<Vec<u8>>,
    public_exponent: Option<Vec<u8>>,
    ec_params: Option<Vec<u8>>,
    ec_point: Option<Vec<u8>>,
}

impl KeyAttributes {
    /// Sorts the attributes a `C_GetAttributeValue` returned; others are ignored.
    pub(crate) fn from_attributes(attributes: Vec<Attribute>) -> Self {
        let mut out = Self::default();
        for a in attributes {
            match a {
                Attribute::KeyType(t) => out.key_type = Some(t),
                Attribute::Modulus(m) => out.modulus = Some(m),
                Attribute::PublicExponent(e) => out.public_exponent = Some(e),
                Attribute::EcParams(p) => out.ec_params = Some(p),
                Attribute::EcPoint(p) => out.ec_point = Some(p),
                _ => {}
            }
        }
        out
    }

    /// The spec from `CKA_KEY_TYPE`, the modulus length and the EC parameters; `None` for a key
    /// this library does not model.
    pub(crate) fn spec(&self) -> Option<KeySpec> {
        match self.key_type {
            Some(KeyType::RSA) => self
                .modulus
                .as_deref()
                .map(|m| m.iter().skip_while(|b| **b == 0).count() * 8)
                .and_then(KeySpec::rsa),
            Some(KeyType::EC) => self
                .ec_params
                .as_deref()
                .and_then(curve_of)
                .map(KeySpec::Ec),
            Some(KeyType::EC_EDWARDS) => Some(KeySpec::Ed25519),
            _ => None,
        }
    }

    /// The public key of a key of `spec` from its modulus and exponent or its EC point;
    /// `missing()` when the token gave none.
    pub(crate) fn public_key(
        &self,
        spec: KeySpec,
        missing: impl Fn() -> Error,
    ) -> Result<PublicKey> {
        let point = || self.ec_point.as_deref().ok_or_else(&missing);
        match spec {
            KeySpec::Ec(curve) => PublicKey::from_ec_point(
                curve,
                unwrap_ec_point(point()?, 1 + 2 * curve.field_len()),
            ),
            KeySpec::Ed25519 => PublicKey::from_ed25519(unwrap_ec_point(point()?, 32)),
            _ => PublicKey::from_rsa_components(
                self.modulus.as_deref().ok_or_else(&missing)?,
                self.public_exponent.as_deref().ok_or_else(&missing)?,
            ),
        }
    }
}
