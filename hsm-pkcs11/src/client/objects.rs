//! Certificate and data objects next to keys (seed 002 writes an S/MIME certificate with its
//! key's id), and the certificate stored with a key: the `CKO_CERTIFICATE` object (`CKC_X_509`)
//! with the key's `CKA_ID`, as `pkcs11-tool --write-object cert.der --type cert --id ID` makes it.

use cryptoki::object::{Attribute, AttributeType, CertificateType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use hsm_core::{Error, KeyId};

use crate::client::keys::{find_one, find_private};
use crate::protocol::attributes::{ObjectKind, id_and_label, selector};
use crate::protocol::certificate::CertificateFields;
use crate::transport::session_pool::OpResult;

/// The template of an X.509 certificate token object with these `CKA_ID` and `CKA_LABEL`; its
/// subject, issuer and serial number come from the DER (a value that is no certificate is
/// refused, naming `operation`).
fn certificate_template(
    id: Vec<u8>,
    label: Vec<u8>,
    der: &[u8],
    operation: &'static str,
) -> OpResult<Vec<Attribute>> {
    let fields = CertificateFields::parse(der, operation)?;
    Ok(vec![
        Attribute::Class(ObjectClass::CERTIFICATE),
        Attribute::CertificateType(CertificateType::X_509),
        Attribute::Token(true),
        Attribute::Private(false),
        Attribute::Id(id),
        Attribute::Label(label),
        Attribute::Subject(fields.subject),
        Attribute::Issuer(fields.issuer),
        Attribute::SerialNumber(fields.serial),
        Attribute::Value(der.to_vec()),
    ])
}

/// Writes an object with `CKA_ID` and `CKA_LABEL` from `key` (as for keys: `id:HEX` or a name).
pub(crate) fn write(
    session: &Session,
    kind: ObjectKind,
    key: &KeyId,
    value: &[u8],
) -> OpResult<()> {
    let (id, label) = id_and_label(key, None);
    let tmpl = match kind {
        ObjectKind::Certificate => certificate_template(id, label, value, "pkcs11.write_object")?,
        ObjectKind::Data => vec![
            Attribute::Class(kind.class()),
            Attribute::Token(true),
            Attribute::Label(label),
            Attribute::Value(value.to_vec()),
            Attribute::Private(true),
        ],
    };
    session.create_object(&tmpl)?;
    Ok(())
}

/// The `CKA_VALUE` of an object.
fn value_of(session: &Session, handle: ObjectHandle, operation: &'static str) -> OpResult<Vec<u8>> {
    session
        .get_attributes(handle, &[AttributeType::Value])?
        .into_iter()
        .find_map(|a| match a {
            Attribute::Value(v) => Some(v),
            _ => None,
        })
        .ok_or_else(|| Error::protocol(operation, "the object has no readable value").into())
}

/// Reads the value of the object `key` names.
pub(crate) fn read(session: &Session, kind: ObjectKind, key: &KeyId) -> OpResult<Vec<u8>> {
    const OP: &str = "pkcs11.read_object";
    let handle = find_one(session, key, kind.class(), OP)?
        .ok_or_else(|| Error::not_found(OP, format!("no {kind:?} object {key}")))?;
    value_of(session, handle, OP)
}

/// Deletes every object of `kind` that `key` names; `NotFound` if none.
pub(crate) fn delete(session: &Session, kind: ObjectKind, key: &KeyId) -> OpResult<()> {
    let found = session.find_objects(&[Attribute::Class(kind.class()), selector(key)])?;
    if found.is_empty() {
        return Err(
            Error::not_found("pkcs11.delete_object", format!("no {kind:?} object {key}")).into(),
        );
    }
    for h in found {
        session.destroy_object(h)?;
    }
    Ok(())
}

/// The `CKA_ID` and `CKA_LABEL` of the private key `key` names (`NotFound` without one).
fn key_id_and_label(
    session: &Session,
    key: &KeyId,
    operation: &'static str,
) -> OpResult<(Vec<u8>, Vec<u8>)> {
    let handle = find_private(session, key, operation)?;
    let mut id = None;
    let mut label = Vec::new();
    for a in session.get_attributes(handle, &[AttributeType::Id, AttributeType::Label])? {
        match a {
            Attribute::Id(v) => id = Some(v),
            Attribute::Label(v) => label = v,
            _ => {}
        }
    }
    let id = id.filter(|id| !id.is_empty()).ok_or_else(|| {
        Error::unsupported(
            operation,
            format!("key {key} has no CKA_ID, so no certificate can be tied to it"),
        )
    })?;
    Ok((id, label))
}

/// The X.509 certificate objects with `CKA_ID` `id`.
fn certificates_with_id(session: &Session, id: &[u8]) -> OpResult<Vec<ObjectHandle>> {
    Ok(session.find_objects(&[
        Attribute::Class(ObjectClass::CERTIFICATE),
        Attribute::CertificateType(CertificateType::X_509),
        Attribute::Id(id.to_vec()),
    ])?)
}

/// The certificate stored with the private key `key` names; `None` when it has none.
pub(crate) fn key_certificate(
    session: &Session,
    key: &KeyId,
    operation: &'static str,
) -> OpResult<Option<Vec<u8>>> {
    let (id, _) = key_id_and_label(session, key, operation)?;
    match certificates_with_id(session, &id)?.first() {
        Some(h) => value_of(session, *h, operation).map(Some),
        None => Ok(None),
    }
}

/// Stores `der` as the certificate of the private key `key` names, with the key's `CKA_ID` and
/// `CKA_LABEL`. The new object is made first and the old ones (same `CKA_ID`) destroyed after,
/// so a failure leaves the previous certificate in place.
pub(crate) fn store_key_certificate(
    session: &Session,
    key: &KeyId,
    der: &[u8],
    operation: &'static str,
) -> OpResult<()> {
    let (id, label) = key_id_and_label(session, key, operation)?;
    let old = certificates_with_id(session, &id)?;
    let new = session.create_object(&certificate_template(id, label, der, operation)?)?;
    for h in old.into_iter().filter(|h| *h != new) {
        session.destroy_object(h)?;
    }
    Ok(())
}

/// Destroys the certificates stored with the private key `key` names; `NotFound` if none.
pub(crate) fn delete_key_certificate(
    session: &Session,
    key: &KeyId,
    operation: &'static str,
) -> OpResult<()> {
    let (id, _) = key_id_and_label(session, key, operation)?;
    let found = certificates_with_id(session, &id)?;
    if found.is_empty() {
        return Err(Error::not_found(operation, format!("key {key} has no certificate")).into());
    }
    for h in found {
        session.destroy_object(h)?;
    }
    Ok(())
}
