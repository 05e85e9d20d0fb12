//! Key objects: finding them by `CKA_ID` or `CKA_LABEL`, reading their spec and public key,
//! generating, importing and deleting them.

use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use hsm_core::{Error, ErrorKind, KeyId, KeyInfo, KeySpec, PrivateKeyParts, PublicKey};
use zeroize::Zeroizing;

use crate::protocol::attributes::{
    ED25519_PARAMS, KeyAttributes, PUBLIC_ATTRIBUTES, SPEC_ATTRIBUTES, der_octet_string,
    private_key_template, public_key_template, selector,
};
use crate::transport::session_pool::{OpError, OpResult};

/// The attributes of `types` of the object `handle`, sorted by name.
fn key_attributes(
    session: &Session,
    handle: ObjectHandle,
    types: &[AttributeType],
) -> OpResult<KeyAttributes> {
    Ok(KeyAttributes::from_attributes(
        session.get_attributes(handle, types)?,
    ))
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

/// The spec of a key object from its `CKA_KEY_TYPE`, modulus and EC parameters.
pub(crate) fn spec_of(session: &Session, handle: ObjectHandle) -> OpResult<Option<KeySpec>> {
    Ok(key_attributes(session, handle, &SPEC_ATTRIBUTES)?.spec())
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
    let missing = || Error::protocol(operation, format!("the token gave no public key for {key}"));
    Ok(key_attributes(session, handle, &PUBLIC_ATTRIBUTES)?.public_key(spec, missing)?)
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
    let private = private_key_template(id, label);
    let mut public = public_key_template(id, label);
    let mechanism = match spec {
        KeySpec::Ec(curve) => {
            public.push(Attribute::EcParams(curve.oid_der()));
            Mechanism::EccKeyPairGen
        }
        KeySpec::Ed25519 => {
            public.push(Attribute::EcParams(ED25519_PARAMS.to_vec()));
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
    let mut private = vec![Attribute::Class(ObjectClass::PRIVATE_KEY)];
    private.extend(private_key_template(id, label));
    let mut pub_tmpl = vec![Attribute::Class(ObjectClass::PUBLIC_KEY)];
    pub_tmpl.extend(public_key_template(id, label));
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
            let ed = ED25519_PARAMS.to_vec();
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
