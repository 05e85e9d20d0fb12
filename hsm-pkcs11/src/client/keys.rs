//! Key objects: finding them by `CKA_ID` or `CKA_LABEL`, reading their spec and public key,
//! generating, importing and deleting them.

use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use hsm_core::{Curve, Error, ErrorKind, KeyId, KeyInfo, KeySpec, PrivateKeyParts, PublicKey};
use zeroize::Zeroizing;

use crate::mechanisms::CANDIDATE_CURVES;
use crate::pool::OpError;

type OpResult<T> = Result<T, OpError>;

/// The attributes that select `key`: `CKA_ID` for `id:HEX`, `CKA_LABEL` for a name.
pub(crate) fn selector(key: &KeyId) -> Attribute {
    match key.as_bytes() {
        Some(b) => Attribute::Id(b.to_vec()),
        None => Attribute::Label(key.to_string().into_bytes()),
    }
}

/// The one object of `class` that `key` names.
pub(crate) fn find_one(
    session: &Session,
    key: &KeyId,
    class: ObjectClass,
    operation: &'static str,
) -> OpResult<Option<ObjectHandle>> {
    let found = session.find_objects(&[Attribute::Class(class), selector(key)])?;
    match found.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(*one)),
        _ => Err(Error::new(ErrorKind::InvalidState, operation)
            .with_message(format!("{} objects match {key}; use id:HEX", found.len()))
            .into()),
    }
}

/// The private key `key` names, or [`ErrorKind::NotFound`].
pub(crate) fn find_private(
    session: &Session,
    key: &KeyId,
    operation: &'static str,
) -> OpResult<ObjectHandle> {
    find_one(session, key, ObjectClass::PRIVATE_KEY, operation)?
        .ok_or_else(|| OpError::Hsm(Error::not_found(operation, format!("no private key {key}"))))
}

fn curve_of(params: &[u8]) -> Option<Curve> {
    CANDIDATE_CURVES.into_iter().find(|c| c.oid_der() == params)
}

/// The spec of a key object from its `CKA_KEY_TYPE`, modulus and EC parameters.
pub(crate) fn spec_of(session: &Session, handle: ObjectHandle) -> OpResult<Option<KeySpec>> {
    let attrs = session.get_attributes(
        handle,
        &[
            AttributeType::KeyType,
            AttributeType::Modulus,
            AttributeType::EcParams,
        ],
    )?;
    let mut key_type = None;
    let mut modulus_bits = None;
    let mut params = None;
    for a in attrs {
        match a {
            Attribute::KeyType(t) => key_type = Some(t),
            Attribute::Modulus(m) => {
                let m: Vec<u8> = m.into_iter().skip_while(|b| *b == 0).collect();
                modulus_bits = Some(m.len() * 8);
            }
            Attribute::EcParams(p) => params = Some(p),
            _ => {}
        }
    }
    Ok(match key_type {
        Some(KeyType::RSA) => modulus_bits.and_then(KeySpec::rsa),
        Some(KeyType::EC) => params.as_deref().and_then(curve_of).map(KeySpec::Ec),
        Some(KeyType::EC_EDWARDS) => Some(KeySpec::Ed25519),
        _ => None,
    })
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

/// The public key of the key pair `key` names: from its public object, or from the private
/// object's public attributes when there is no public object.
pub(crate) fn public_key(
    session: &Session,
    key: &KeyId,
    operation: &'static str,
) -> OpResult<PublicKey> {
    let handle = match find_one(session, key, ObjectClass::PUBLIC_KEY, operation)? {
        Some(h) => h,
        None => find_private(session, key, operation)?,
    };
    let spec = spec_of(session, handle)?.ok_or_else(|| {
        Error::unsupported(
            operation,
            format!("{key} has a key type this library does not model"),
        )
    })?;
    let attrs = session.get_attributes(
        handle,
        &[
            AttributeType::Modulus,
            AttributeType::PublicExponent,
            AttributeType::EcPoint,
        ],
    )?;
    let mut modulus = None;
    let mut exponent = None;
    let mut point = None;
    for a in attrs {
        match a {
            Attribute::Modulus(m) => modulus = Some(m),
            Attribute::PublicExponent(e) => exponent = Some(e),
            Attribute::EcPoint(p) => point = Some(p),
            _ => {}
        }
    }
    let missing = || Error::protocol(operation, format!("the token gave no public key for {key}"));
    let public = match spec {
        KeySpec::Ec(curve) => PublicKey::from_ec_point(
            curve,
            unwrap_ec_point(&point.ok_or_else(missing)?, 1 + 2 * curve.field_len()),
        )?,
        KeySpec::Ed25519 => {
            PublicKey::from_ed25519(unwrap_ec_point(&point.ok_or_else(missing)?, 32))?
        }
        _ => PublicKey::from_rsa_components(
            &modulus.ok_or_else(missing)?,
            &exponent.ok_or_else(missing)?,
        )?,
    };
    Ok(public)
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

/// Fails with [`ErrorKind::AlreadyExists`] if any key object already uses the id or label.
pub(crate) fn ensure_free(
    session: &Session,
    key: &KeyId,
    id: &[u8],
    label: &[u8],
    operation: &'static str,
) -> OpResult<()> {
    for attr in [Attribute::Id(id.to_vec()), Attribute::Label(label.to_vec())] {
        for class in [ObjectClass::PRIVATE_KEY, ObjectClass::PUBLIC_KEY] {
            if !session
                .find_objects(&[Attribute::Class(class), attr.clone()])?
                .is_empty()
            {
                return Err(Error::new(ErrorKind::AlreadyExists, operation)
                    .with_message(format!("a key {key} already exists"))
                    .into());
            }
        }
    }
    Ok(())
}

/// Generates a key pair of `spec` with `id` and `label` on the token.
pub(crate) fn generate(
    session: &Session,
    spec: KeySpec,
    id: &[u8],
    label: &[u8],
) -> OpResult<ObjectHandle> {
    let common_pub = [
        Attribute::Token(true),
        Attribute::Private(false),
        Attribute::Verify(true),
        Attribute::Id(id.to_vec()),
        Attribute::Label(label.to_vec()),
    ];
    let private = vec![
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Sign(true),
        Attribute::Id(id.to_vec()),
        Attribute::Label(label.to_vec()),
    ];
    let mut public = common_pub.to_vec();
    let mechanism = match spec {
        KeySpec::Ec(curve) => {
            public.push(Attribute::EcParams(curve.oid_der()));
            Mechanism::EccKeyPairGen
        }
        KeySpec::Ed25519 => {
            // id-Ed25519 (1.3.101.112), as PKCS#11 3.0 and SoftHSM2 accept.
            public.push(Attribute::EcParams(vec![0x06, 0x03, 0x2B, 0x65, 0x70]));
            Mechanism::EccEdwardsKeyPairGen
        }
        _ => {
            let bits = spec
                .rsa_bits()
                .ok_or_else(|| Error::unsupported("pkcs11.generate_key", format!("{spec} keys")))?;
            public.push(Attribute::ModulusBits((bits as u64).into()));
            public.push(Attribute::PublicExponent(vec![0x01, 0x00, 0x01]));
            Mechanism::RsaPkcsKeyPairGen
        }
    };
    let (_, private_handle) = session.generate_key_pair(&mechanism, &public, &private)?;
    Ok(private_handle)
}

/// Creates a private key object (and its public key object) from decoded PKCS#8 parts.
pub(crate) fn import(
    session: &Session,
    parts: &PrivateKeyParts,
    public: &PublicKey,
    id: &[u8],
    label: &[u8],
) -> OpResult<ObjectHandle> {
    let mut private = vec![
        Attribute::Class(ObjectClass::PRIVATE_KEY),
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Sign(true),
        Attribute::Id(id.to_vec()),
        Attribute::Label(label.to_vec()),
    ];
    let mut pub_tmpl = vec![
        Attribute::Class(ObjectClass::PUBLIC_KEY),
        Attribute::Token(true),
        Attribute::Private(false),
        Attribute::Verify(true),
        Attribute::Id(id.to_vec()),
        Attribute::Label(label.to_vec()),
    ];
    // Key material goes through the template; these copies are wiped when dropped.
    let mut secrets: Vec<Zeroizing<Vec<u8>>> = Vec::new();
    match parts {
        PrivateKeyParts::Rsa {
            modulus,
            public_exponent,
            private_exponent,
            prime_p,
            prime_q,
            ..
        } => {
            private.push(Attribute::KeyType(KeyType::RSA));
            private.push(Attribute::Modulus(modulus.clone()));
            private.push(Attribute::PublicExponent(public_exponent.clone()));
            private.push(Attribute::PrivateExponent(private_exponent.to_vec()));
            private.push(Attribute::Prime1(prime_p.to_vec()));
            private.push(Attribute::Prime2(prime_q.to_vec()));
            pub_tmpl.push(Attribute::KeyType(KeyType::RSA));
            pub_tmpl.push(Attribute::Modulus(modulus.clone()));
            pub_tmpl.push(Attribute::PublicExponent(public_exponent.clone()));
        }
        PrivateKeyParts::Ec { curve, scalar } => {
            private.push(Attribute::KeyType(KeyType::EC));
            private.push(Attribute::EcParams(curve.oid_der()));
            private.push(Attribute::Value(scalar.to_vec()));
            pub_tmpl.push(Attribute::KeyType(KeyType::EC));
            pub_tmpl.push(Attribute::EcParams(curve.oid_der()));
            pub_tmpl.push(Attribute::EcPoint(der_octet_string(
                public.ec_point().unwrap_or_default(),
            )));
        }
        PrivateKeyParts::Ed25519 { seed } => {
            let ed = vec![0x06, 0x03, 0x2B, 0x65, 0x70];
            private.push(Attribute::KeyType(KeyType::EC_EDWARDS));
            private.push(Attribute::EcParams(ed.clone()));
            private.push(Attribute::Value(seed.to_vec()));
            pub_tmpl.push(Attribute::KeyType(KeyType::EC_EDWARDS));
            pub_tmpl.push(Attribute::EcParams(ed));
            pub_tmpl.push(Attribute::EcPoint(der_octet_string(
                public.ed25519_bytes().unwrap_or_default(),
            )));
        }
        _ => return Err(Error::unsupported("pkcs11.import_key", "this key type").into()),
    }
    let handle = session.create_object(&private);
    for attr in &mut private {
        if let Attribute::PrivateExponent(v)
        | Attribute::Prime1(v)
        | Attribute::Prime2(v)
        | Attribute::Value(v) = attr
        {
            secrets.push(Zeroizing::new(std::mem::take(v)));
        }
    }
    drop(secrets);
    let handle = handle?;
    if let Err(e) = session.create_object(&pub_tmpl) {
        let _ = session.destroy_object(handle);
        return Err(e.into());
    }
    Ok(handle)
}

fn der_octet_string(body: &[u8]) -> Vec<u8> {
    let mut out = vec![0x04];
    match u8::try_from(body.len()) {
        Ok(l) if l < 0x80 => out.push(l),
        Ok(l) => out.extend([0x81, l]),
        Err(_) => out.extend([0x82, (body.len() >> 8) as u8, body.len() as u8]),
    }
    out.extend_from_slice(body);
    out
}

/// Destroys every key object (private and public) that `key` names; `NotFound` if none.
pub(crate) fn delete(session: &Session, key: &KeyId) -> OpResult<()> {
    let mut any = false;
    for class in [ObjectClass::PRIVATE_KEY, ObjectClass::PUBLIC_KEY] {
        for handle in session.find_objects(&[Attribute::Class(class), selector(key)])? {
            session.destroy_object(handle)?;
            any = true;
        }
    }
    if any {
        Ok(())
    } else {
        Err(Error::not_found("pkcs11.delete_key", format!("no key {key}")).into())
    }
}

/// A [`KeyInfo`] for a private key object. The id is its label when the label is a valid,
/// unique name, otherwise `id:HEX`.
pub(crate) fn info(session: &Session, handle: ObjectHandle) -> OpResult<KeyInfo> {
    let attrs = session.get_attributes(handle, &[AttributeType::Id, AttributeType::Label])?;
    let mut id = Vec::new();
    let mut label = None;
    for a in attrs {
        match a {
            Attribute::Id(i) => id = i,
            Attribute::Label(l) => label = String::from_utf8(l).ok().filter(|l| !l.is_empty()),
            _ => {}
        }
    }
    let spec = spec_of(session, handle)?;
    let by_label = label
        .as_deref()
        .and_then(|l| KeyId::name(l).ok())
        .filter(|k| {
            session
                .find_objects(&[Attribute::Class(ObjectClass::PRIVATE_KEY), selector(k)])
                .is_ok_and(|v| v.len() == 1)
        });
    let key_id = match by_label {
        Some(k) => k,
        None => KeyId::from_bytes(id.clone())?,
    };
    let mut info = KeyInfo::new(key_id, spec).with_extra("cka_id", hex::encode(&id));
    if let Some(l) = label {
        info = info.with_label(l);
    }
    Ok(info)
}
