//! Certificate and data objects next to keys (seed 002 writes an S/MIME certificate with its
//! key's id).

use cryptoki::object::{Attribute, AttributeType, CertificateType};
use cryptoki::session::Session;
use hsm_core::{Error, KeyId};

use crate::client::keys::find_one;
use crate::protocol::attributes::{ObjectKind, id_and_label, selector};
use crate::transport::session_pool::OpResult;

/// Writes an object with `CKA_ID` and `CKA_LABEL` from `key` (as for keys: `id:HEX` or a name).
pub(crate) fn write(
    session: &Session,
    kind: ObjectKind,
    key: &KeyId,
    value: &[u8],
) -> OpResult<()> {
    let (id, label) = id_and_label(key, None);
    let mut tmpl = vec![
        Attribute::Class(kind.class()),
        Attribute::Token(true),
        Attribute::Label(label),
        Attribute::Value(value.to_vec()),
    ];
    match kind {
        ObjectKind::Certificate => {
            tmpl.push(Attribute::CertificateType(CertificateType::X_509));
            // CKA_SUBJECT is required for X.509 certificates; the caller's DER is not parsed.
            tmpl.push(Attribute::Subject(Vec::new()));
            tmpl.push(Attribute::Id(id));
            tmpl.push(Attribute::Private(false));
        }
        ObjectKind::Data => tmpl.push(Attribute::Private(true)),
    }
    session.create_object(&tmpl)?;
    Ok(())
}

/// Reads the value of the object `key` names.
pub(crate) fn read(session: &Session, kind: ObjectKind, key: &KeyId) -> OpResult<Vec<u8>> {
    let handle = find_one(session, key, kind.class(), "pkcs11.read_object")?.ok_or_else(|| {
        Error::not_found("pkcs11.read_object", format!("no {kind:?} object {key}"))
    })?;
    let value = session
        .get_attributes(handle, &[AttributeType::Value])?
        .into_iter()
        .find_map(|a| match a {
            Attribute::Value(v) => Some(v),
            _ => None,
        })
        .ok_or_else(|| Error::protocol("pkcs11.read_object", "the object has no readable value"))?;
    Ok(value)
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
