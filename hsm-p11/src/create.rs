//! `C_CreateObject`: the one object this module creates is an X.509 certificate for a key that is
//! on the token (same `CKA_ID`), stored with the key by the backend
//! (`KeyStore::store_certificate`) where it declares `Capabilities::certificates`.

use std::sync::Arc;

use cryptoki_sys::*;

use crate::certificate::CertRecord;
use crate::error::{CkResult, Doing, from_hsm};
use crate::module::{Template, candidate_keys, module, template_bytes, template_ulong};
use crate::object::KeyRecord;
use crate::session::locked;

/// `C_CreateObject`: the new certificate object's handle (a key whose certificate is replaced
/// keeps its certificate handle).
///
/// # Errors
/// `CKR_TEMPLATE_INCOMPLETE` without `CKA_CLASS`, `CKA_CERTIFICATE_TYPE`, `CKA_VALUE` or
/// `CKA_ID`; `CKR_ATTRIBUTE_VALUE_INVALID` for another class or certificate type, or a value
/// that is not one DER certificate; `CKR_TEMPLATE_INCONSISTENT` for a session object, a
/// private certificate, `CKA_SUBJECT`/`CKA_ISSUER`/`CKA_SERIAL_NUMBER` that differ from the
/// certificate's, or a `CKA_ID` no key on the token has; `CKR_FUNCTION_NOT_SUPPORTED` when the
/// backend stores no certificates; `CKR_SESSION_READ_ONLY`, `CKR_USER_NOT_LOGGED_IN`.
pub(crate) fn create_object(
    handle: CK_SESSION_HANDLE,
    template: &Template,
) -> CkResult<CK_OBJECT_HANDLE> {
    let m = module()?;
    let (session, slot) = m.session(handle)?;
    let class = template_ulong(template, CKA_CLASS)?.ok_or(CKR_TEMPLATE_INCOMPLETE)?;
    if class != CKO_CERTIFICATE {
        // Keys are generated on the device (C_GenerateKeyPair); nothing else is stored.
        return Err(CKR_ATTRIBUTE_VALUE_INVALID);
    }
    let is_false = |attr| template_bytes(template, attr).is_some_and(|v| v == [CK_FALSE]);
    let is_true = |attr| template_bytes(template, attr).is_some_and(|v| v != [CK_FALSE]);
    if is_false(CKA_TOKEN) || is_true(CKA_PRIVATE) {
        // The device keeps certificates with keys, readable by anyone who can list the keys.
        return Err(CKR_TEMPLATE_INCONSISTENT);
    }
    if !locked(&session).rw {
        return Err(CKR_SESSION_READ_ONLY);
    }
    if !slot.logged_in() {
        return Err(CKR_USER_NOT_LOGGED_IN);
    }
    let cert = certificate_of(template)?;
    let id = template_bytes(template, CKA_ID)
        .filter(|id| !id.is_empty())
        .ok_or(CKR_TEMPLATE_INCOMPLETE)?;
    let hsm = slot.backend()?;
    if !hsm.capabilities().certificates {
        return Err(CKR_FUNCTION_NOT_SUPPORTED);
    }
    let lookup = vec![(CKA_ID, id.to_vec())];
    let record = candidate_keys(slot, &lookup)?
        .iter()
        .filter_map(|info| KeyRecord::from_info(slot.id, slot.scheme, info))
        .find(|r| r.cka_id == id)
        .ok_or(CKR_TEMPLATE_INCONSISTENT)?;
    hsm.store_certificate(&record.id, &cert.der)
        .map_err(|e| from_hsm(Doing::Create, &e))?;
    let [(_, private), _] = m.objects().register(record);
    let key = Arc::clone(&private.key);
    tracing::info!(slot = slot.id, key = %key.id, "certificate stored");
    let (h, _) = m.objects().register_certificate(key, cert);
    Ok(h)
}

/// The certificate a template describes: `CKC_X_509`, its `CKA_VALUE` one DER certificate, and
/// the fields the template repeats equal to the certificate's own.
fn certificate_of(template: &Template) -> CkResult<CertRecord> {
    match template_ulong(template, CKA_CERTIFICATE_TYPE)? {
        None => return Err(CKR_TEMPLATE_INCOMPLETE),
        Some(CKC_X_509) => {}
        Some(_) => return Err(CKR_ATTRIBUTE_VALUE_INVALID),
    }
    let value = template_bytes(template, CKA_VALUE).ok_or(CKR_TEMPLATE_INCOMPLETE)?;
    let cert = CertRecord::parse(value)
        .filter(|c| c.der == value)
        .ok_or(CKR_ATTRIBUTE_VALUE_INVALID)?;
    for (attr, mine) in [
        (CKA_SUBJECT, &cert.subject),
        (CKA_ISSUER, &cert.issuer),
        (CKA_SERIAL_NUMBER, &cert.serial),
    ] {
        if template_bytes(template, attr).is_some_and(|v| v != mine.as_slice()) {
            return Err(CKR_TEMPLATE_INCONSISTENT);
        }
    }
    Ok(cert)
}
