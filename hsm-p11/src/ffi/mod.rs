//! The C ABI: `C_GetFunctionList` and the function list. This module and its children are the
//! only code with `unsafe`: each entry point reads its pointers (the `marshal` module), calls the
//! safe implementation in the `module` module inside a guard (a panic answers
//! `CKR_GENERAL_ERROR`), and writes the results back.
#![allow(unsafe_code)]
#![allow(non_snake_case, clippy::missing_safety_doc)]

mod guard;
mod marshal;

use std::os::raw::c_void;

use cryptoki_sys::*;
use secrecy::SecretString;
use zeroize::Zeroizing;

use crate::module::{self, Signed};
use guard::guard;
use marshal::{
    attribute_types, read_init_args, read_mechanism, read_template, slice, write, write_attributes,
    write_list,
};

/// Defines an entry point: `unsafe extern "C"`, its body a `CkResult<()>` run under [`guard`].
macro_rules! entry {
    ($(fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $body:block)*) => {$(
        unsafe extern "C" fn $name($($arg: $ty),*) -> CK_RV {
            guard(stringify!($name), || $body)
        }
    )*};
}

/// Defines entry points this module does not implement: `CKR_FUNCTION_NOT_SUPPORTED`.
macro_rules! unsupported {
    ($($name:ident($($ty:ty),*);)*) => {$(
        unsafe extern "C" fn $name($(_: $ty),*) -> CK_RV {
            CKR_FUNCTION_NOT_SUPPORTED
        }
    )*};
}

entry! {
    fn C_Initialize(init_args: *mut c_void) {
        // SAFETY: the caller passes null or a CK_C_INITIALIZE_ARGS (PKCS#11 C_Initialize).
        let args = unsafe { read_init_args(init_args) };
        module::initialize(args)
    }

    fn C_Finalize(reserved: *mut c_void) {
        if !reserved.is_null() {
            return Err(CKR_ARGUMENTS_BAD);
        }
        module::finalize()
    }

    fn C_GetInfo(info: *mut CK_INFO) {
        let value = module::info()?;
        // SAFETY: the caller passes null or a writable CK_INFO.
        unsafe { write(info, value) }
    }

    fn C_GetSlotList(_token_present: CK_BBOOL, list: *mut CK_SLOT_ID, count: *mut CK_ULONG) {
        let slots = module::slot_list()?;
        // SAFETY: count is null or a CK_ULONG; list is null or holds *count slot ids.
        unsafe { write_list(list, count, &slots) }
    }

    fn C_GetSlotInfo(slot: CK_SLOT_ID, info: *mut CK_SLOT_INFO) {
        let value = module::slot_info(slot)?;
        // SAFETY: the caller passes null or a writable CK_SLOT_INFO.
        unsafe { write(info, value) }
    }

    fn C_GetTokenInfo(slot: CK_SLOT_ID, info: *mut CK_TOKEN_INFO) {
        let value = module::token_info(slot)?;
        // SAFETY: the caller passes null or a writable CK_TOKEN_INFO.
        unsafe { write(info, value) }
    }

    fn C_GetMechanismList(slot: CK_SLOT_ID, list: *mut CK_MECHANISM_TYPE, count: *mut CK_ULONG) {
        let mechs = module::mechanism_list(slot)?;
        // SAFETY: count is null or a CK_ULONG; list is null or holds *count mechanism types.
        unsafe { write_list(list, count, &mechs) }
    }

    fn C_GetMechanismInfo(slot: CK_SLOT_ID, mech: CK_MECHANISM_TYPE, info: *mut CK_MECHANISM_INFO) {
        let value = module::mechanism_info(slot, mech)?;
        // SAFETY: the caller passes null or a writable CK_MECHANISM_INFO.
        unsafe { write(info, value) }
    }

    fn C_OpenSession(
        slot: CK_SLOT_ID,
        flags: CK_FLAGS,
        _application: *mut c_void,
        _notify: CK_NOTIFY,
        session: *mut CK_SESSION_HANDLE,
    ) {
        if session.is_null() {
            return Err(CKR_ARGUMENTS_BAD);
        }
        let handle = module::open_session(slot, flags)?;
        // SAFETY: session is non-null and, per PKCS#11, a writable CK_SESSION_HANDLE.
        unsafe { write(session, handle) }
    }

    fn C_CloseSession(session: CK_SESSION_HANDLE) {
        module::close_session(session)
    }

    fn C_CloseAllSessions(slot: CK_SLOT_ID) {
        module::close_all_sessions(slot)
    }

    fn C_GetSessionInfo(session: CK_SESSION_HANDLE, info: *mut CK_SESSION_INFO) {
        let value = module::session_info(session)?;
        // SAFETY: the caller passes null or a writable CK_SESSION_INFO.
        unsafe { write(info, value) }
    }

    fn C_Login(session: CK_SESSION_HANDLE, user: CK_USER_TYPE, pin: *mut CK_UTF8CHAR, pin_len: CK_ULONG) {
        // SAFETY: pin is null or holds pin_len bytes (PKCS#11 C_Login).
        let bytes = Zeroizing::new(unsafe { slice(pin.cast_const(), pin_len) }?.to_vec());
        if bytes.is_empty() {
            return Err(CKR_PIN_LEN_RANGE);
        }
        let text = std::str::from_utf8(&bytes).map_err(|_| CKR_PIN_INCORRECT)?;
        let pin = SecretString::from(text);
        module::login(session, user, &pin)
    }

    fn C_Logout(session: CK_SESSION_HANDLE) {
        module::logout(session)
    }

    fn C_CreateObject(
        session: CK_SESSION_HANDLE,
        template: *mut CK_ATTRIBUTE,
        count: CK_ULONG,
        object: *mut CK_OBJECT_HANDLE,
    ) {
        if object.is_null() {
            return Err(CKR_ARGUMENTS_BAD);
        }
        // SAFETY: template is null or holds count CK_ATTRIBUTEs with readable values.
        let template = unsafe { read_template(template.cast_const(), count) }?;
        let handle = crate::create::create_object(session, &template)?;
        // SAFETY: object is non-null and, per PKCS#11, a writable CK_OBJECT_HANDLE.
        unsafe { write(object, handle) }
    }

    fn C_DestroyObject(session: CK_SESSION_HANDLE, object: CK_OBJECT_HANDLE) {
        module::destroy_object(session, object)
    }

    fn C_GetAttributeValue(
        session: CK_SESSION_HANDLE,
        object: CK_OBJECT_HANDLE,
        template: *mut CK_ATTRIBUTE,
        count: CK_ULONG,
    ) {
        // SAFETY: template is null or holds count CK_ATTRIBUTEs (PKCS#11 C_GetAttributeValue).
        let types = unsafe { attribute_types(template.cast_const(), count) }?;
        let answers = module::attributes(session, object, &types)?;
        // SAFETY: as above, and each pValue is null or holds ulValueLen writable bytes.
        unsafe { write_attributes(template, &answers) }
    }

    fn C_FindObjectsInit(session: CK_SESSION_HANDLE, template: *mut CK_ATTRIBUTE, count: CK_ULONG) {
        // SAFETY: template is null or holds count CK_ATTRIBUTEs with readable values.
        let template = unsafe { read_template(template.cast_const(), count) }?;
        module::find_init(session, template)
    }

    fn C_FindObjects(
        session: CK_SESSION_HANDLE,
        objects: *mut CK_OBJECT_HANDLE,
        max: CK_ULONG,
        count: *mut CK_ULONG,
    ) {
        if objects.is_null() || count.is_null() {
            return Err(CKR_ARGUMENTS_BAD);
        }
        let found = module::find(session, usize::try_from(max).unwrap_or(usize::MAX))?;
        // SAFETY: objects holds max >= found.len() writable handles (PKCS#11 C_FindObjects).
        unsafe { std::ptr::copy_nonoverlapping(found.as_ptr(), objects, found.len()) };
        // SAFETY: count is non-null and writable.
        unsafe { write(count, found.len() as CK_ULONG) }
    }

    fn C_FindObjectsFinal(session: CK_SESSION_HANDLE) {
        module::find_final(session)
    }

    fn C_SignInit(session: CK_SESSION_HANDLE, mechanism: *mut CK_MECHANISM, key: CK_OBJECT_HANDLE) {
        // SAFETY: mechanism is null or a CK_MECHANISM with a readable parameter.
        let (mech, params) = unsafe { read_mechanism(mechanism.cast_const()) }?;
        module::sign_init(session, mech, params, key)
    }

    fn C_Sign(
        session: CK_SESSION_HANDLE,
        data: *mut CK_BYTE,
        data_len: CK_ULONG,
        signature: *mut CK_BYTE,
        signature_len: *mut CK_ULONG,
    ) {
        // SAFETY: data is null or holds data_len bytes (PKCS#11 C_Sign).
        let data = unsafe { slice(data.cast_const(), data_len) }?;
        // SAFETY: signature_len is a CK_ULONG; signature is null or holds *signature_len bytes.
        unsafe { sign_out(session, Some(data), signature, signature_len) }
    }

    fn C_SignUpdate(session: CK_SESSION_HANDLE, part: *mut CK_BYTE, part_len: CK_ULONG) {
        // SAFETY: part is null or holds part_len bytes.
        let part = unsafe { slice(part.cast_const(), part_len) }?;
        module::sign_update(session, part)
    }

    fn C_SignFinal(session: CK_SESSION_HANDLE, signature: *mut CK_BYTE, signature_len: *mut CK_ULONG) {
        // SAFETY: signature_len is a CK_ULONG; signature is null or holds *signature_len bytes.
        unsafe { sign_out(session, None, signature, signature_len) }
    }

    fn C_GenerateKeyPair(
        session: CK_SESSION_HANDLE,
        mechanism: *mut CK_MECHANISM,
        public_template: *mut CK_ATTRIBUTE,
        public_count: CK_ULONG,
        private_template: *mut CK_ATTRIBUTE,
        private_count: CK_ULONG,
        public_key: *mut CK_OBJECT_HANDLE,
        private_key: *mut CK_OBJECT_HANDLE,
    ) {
        if public_key.is_null() || private_key.is_null() {
            return Err(CKR_ARGUMENTS_BAD);
        }
        // SAFETY: mechanism is null or a CK_MECHANISM (PKCS#11 C_GenerateKeyPair).
        let (mech, _) = unsafe { read_mechanism(mechanism.cast_const()) }?;
        // SAFETY: each template is null or holds its count of readable CK_ATTRIBUTEs.
        let public = unsafe { read_template(public_template.cast_const(), public_count) }?;
        // SAFETY: as above.
        let private = unsafe { read_template(private_template.cast_const(), private_count) }?;
        let (pub_h, priv_h) = module::generate_key_pair(session, mech, &public, &private)?;
        // SAFETY: both out-pointers are non-null and writable.
        unsafe { write(public_key, pub_h) }?;
        // SAFETY: as above.
        unsafe { write(private_key, priv_h) }
    }

    fn C_GenerateRandom(session: CK_SESSION_HANDLE, random: *mut CK_BYTE, len: CK_ULONG) {
        module::check_session(session)?;
        if random.is_null() && len != 0 {
            return Err(CKR_ARGUMENTS_BAD);
        }
        let len = usize::try_from(len).map_err(|_| CKR_ARGUMENTS_BAD)?;
        let bytes = crate::random::generate_random(session, len)?;
        // SAFETY: random holds len = bytes.len() writable bytes (PKCS#11 C_GenerateRandom); a
        // raw copy, since the caller's buffer may be uninitialised.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), random, bytes.len()) };
        Ok(())
    }

    fn C_SeedRandom(session: CK_SESSION_HANDLE, _seed: *mut CK_BYTE, _len: CK_ULONG) {
        module::check_session(session)?;
        Err(CKR_RANDOM_SEED_NOT_SUPPORTED)
    }

    fn C_GetFunctionStatus(session: CK_SESSION_HANDLE) {
        module::check_session(session)?;
        Err(CKR_FUNCTION_NOT_PARALLEL)
    }

    fn C_CancelFunction(session: CK_SESSION_HANDLE) {
        module::check_session(session)?;
        Err(CKR_FUNCTION_NOT_PARALLEL)
    }
}

/// The end of `C_Sign` / `C_SignFinal`: sizes-only calls, short buffers, the signature.
///
/// # Safety
/// `len` is null or a readable, writable `CK_ULONG`; `out` is null or holds `*len` bytes.
unsafe fn sign_out(
    session: CK_SESSION_HANDLE,
    data: Option<&[u8]>,
    out: *mut CK_BYTE,
    len: *mut CK_ULONG,
) -> crate::error::CkResult<()> {
    if len.is_null() {
        return Err(CKR_ARGUMENTS_BAD);
    }
    let capacity = if out.is_null() {
        None
    } else {
        // SAFETY: len is non-null and readable per the contract.
        Some(usize::try_from(unsafe { len.read() }).unwrap_or(usize::MAX))
    };
    match module::sign(session, data, capacity)? {
        Signed::Length(n) => {
            // SAFETY: len is non-null and writable.
            unsafe { len.write(n as CK_ULONG) };
            if capacity.is_some() {
                Err(CKR_BUFFER_TOO_SMALL)
            } else {
                Ok(())
            }
        }
        Signed::Done(signature) => {
            // SAFETY: out holds *len >= signature.len() bytes (checked by module::sign).
            unsafe { std::ptr::copy_nonoverlapping(signature.as_ptr(), out, signature.len()) };
            // SAFETY: len is non-null and writable.
            unsafe { len.write(signature.len() as CK_ULONG) };
            Ok(())
        }
    }
}

unsupported! {
    C_InitToken(CK_SLOT_ID, *mut CK_UTF8CHAR, CK_ULONG, *mut CK_UTF8CHAR);
    C_InitPIN(CK_SESSION_HANDLE, *mut CK_UTF8CHAR, CK_ULONG);
    C_SetPIN(CK_SESSION_HANDLE, *mut CK_UTF8CHAR, CK_ULONG, *mut CK_UTF8CHAR, CK_ULONG);
    C_GetOperationState(CK_SESSION_HANDLE, *mut CK_BYTE, *mut CK_ULONG);
    C_SetOperationState(CK_SESSION_HANDLE, *mut CK_BYTE, CK_ULONG, CK_OBJECT_HANDLE, CK_OBJECT_HANDLE);
    C_CopyObject(CK_SESSION_HANDLE, CK_OBJECT_HANDLE, *mut CK_ATTRIBUTE, CK_ULONG, *mut CK_OBJECT_HANDLE);
    C_GetObjectSize(CK_SESSION_HANDLE, CK_OBJECT_HANDLE, *mut CK_ULONG);
    C_SetAttributeValue(CK_SESSION_HANDLE, CK_OBJECT_HANDLE, *mut CK_ATTRIBUTE, CK_ULONG);
    C_EncryptInit(CK_SESSION_HANDLE, *mut CK_MECHANISM, CK_OBJECT_HANDLE);
    C_Encrypt(CK_SESSION_HANDLE, *mut CK_BYTE, CK_ULONG, *mut CK_BYTE, *mut CK_ULONG);
    C_EncryptUpdate(CK_SESSION_HANDLE, *mut CK_BYTE, CK_ULONG, *mut CK_BYTE, *mut CK_ULONG);
    C_EncryptFinal(CK_SESSION_HANDLE, *mut CK_BYTE, *mut CK_ULONG);
    C_DecryptInit(CK_SESSION_HANDLE, *mut CK_MECHANISM, CK_OBJECT_HANDLE);
    C_Decrypt(CK_SESSION_HANDLE, *mut CK_BYTE, CK_ULONG, *mut CK_BYTE, *mut CK_ULONG);
    C_DecryptUpdate(CK_SESSION_HANDLE, *mut CK_BYTE, CK_ULONG, *mut CK_BYTE, *mut CK_ULONG);
    C_DecryptFinal(CK_SESSION_HANDLE, *mut CK_BYTE, *mut CK_ULONG);
    C_DigestInit(CK_SESSION_HANDLE, *mut CK_MECHANISM);
    C_Digest(CK_SESSION_HANDLE, *mut CK_BYTE, CK_ULONG, *mut CK_BYTE, *mut CK_ULONG);
    C_DigestUpdate(CK_SESSION_HANDLE, *mut CK_BYTE, CK_ULONG);
    C_DigestKey(CK_SESSION_HANDLE, CK_OBJECT_HANDLE);
    C_DigestFinal(CK_SESSION_HANDLE, *mut CK_BYTE, *mut CK_ULONG);
    C_SignRecoverInit(CK_SESSION_HANDLE, *mut CK_MECHANISM, CK_OBJECT_HANDLE);
    C_SignRecover(CK_SESSION_HANDLE, *mut CK_BYTE, CK_ULONG, *mut CK_BYTE, *mut CK_ULONG);
    C_VerifyInit(CK_SESSION_HANDLE, *mut CK_MECHANISM, CK_OBJECT_HANDLE);
    C_Verify(CK_SESSION_HANDLE, *mut CK_BYTE, CK_ULONG, *mut CK_BYTE, CK_ULONG);
    C_VerifyUpdate(CK_SESSION_HANDLE, *mut CK_BYTE, CK_ULONG);
    C_VerifyFinal(CK_SESSION_HANDLE, *mut CK_BYTE, CK_ULONG);
    C_VerifyRecoverInit(CK_SESSION_HANDLE, *mut CK_MECHANISM, CK_OBJECT_HANDLE);
    C_VerifyRecover(CK_SESSION_HANDLE, *mut CK_BYTE, CK_ULONG, *mut CK_BYTE, *mut CK_ULONG);
    C_DigestEncryptUpdate(CK_SESSION_HANDLE, *mut CK_BYTE, CK_ULONG, *mut CK_BYTE, *mut CK_ULONG);
    C_DecryptDigestUpdate(CK_SESSION_HANDLE, *mut CK_BYTE, CK_ULONG, *mut CK_BYTE, *mut CK_ULONG);
    C_SignEncryptUpdate(CK_SESSION_HANDLE, *mut CK_BYTE, CK_ULONG, *mut CK_BYTE, *mut CK_ULONG);
    C_DecryptVerifyUpdate(CK_SESSION_HANDLE, *mut CK_BYTE, CK_ULONG, *mut CK_BYTE, *mut CK_ULONG);
    C_GenerateKey(CK_SESSION_HANDLE, *mut CK_MECHANISM, *mut CK_ATTRIBUTE, CK_ULONG, *mut CK_OBJECT_HANDLE);
    C_WrapKey(CK_SESSION_HANDLE, *mut CK_MECHANISM, CK_OBJECT_HANDLE, CK_OBJECT_HANDLE, *mut CK_BYTE, *mut CK_ULONG);
    C_UnwrapKey(CK_SESSION_HANDLE, *mut CK_MECHANISM, CK_OBJECT_HANDLE, *mut CK_BYTE, CK_ULONG, *mut CK_ATTRIBUTE, CK_ULONG, *mut CK_OBJECT_HANDLE);
    C_DeriveKey(CK_SESSION_HANDLE, *mut CK_MECHANISM, CK_OBJECT_HANDLE, *mut CK_ATTRIBUTE, CK_ULONG, *mut CK_OBJECT_HANDLE);
    C_WaitForSlotEvent(CK_FLAGS, *mut CK_SLOT_ID, *mut c_void);
}

/// The function list `C_GetFunctionList` hands out (PKCS#11 v2.40).
static FUNCTION_LIST: CK_FUNCTION_LIST = CK_FUNCTION_LIST {
    version: CK_VERSION {
        major: 2,
        minor: 40,
    },
    C_Initialize: Some(C_Initialize),
    C_Finalize: Some(C_Finalize),
    C_GetInfo: Some(C_GetInfo),
    C_GetFunctionList: Some(C_GetFunctionList),
    C_GetSlotList: Some(C_GetSlotList),
    C_GetSlotInfo: Some(C_GetSlotInfo),
    C_GetTokenInfo: Some(C_GetTokenInfo),
    C_GetMechanismList: Some(C_GetMechanismList),
    C_GetMechanismInfo: Some(C_GetMechanismInfo),
    C_InitToken: Some(C_InitToken),
    C_InitPIN: Some(C_InitPIN),
    C_SetPIN: Some(C_SetPIN),
    C_OpenSession: Some(C_OpenSession),
    C_CloseSession: Some(C_CloseSession),
    C_CloseAllSessions: Some(C_CloseAllSessions),
    C_GetSessionInfo: Some(C_GetSessionInfo),
    C_GetOperationState: Some(C_GetOperationState),
    C_SetOperationState: Some(C_SetOperationState),
    C_Login: Some(C_Login),
    C_Logout: Some(C_Logout),
    C_CreateObject: Some(C_CreateObject),
    C_CopyObject: Some(C_CopyObject),
    C_DestroyObject: Some(C_DestroyObject),
    C_GetObjectSize: Some(C_GetObjectSize),
    C_GetAttributeValue: Some(C_GetAttributeValue),
    C_SetAttributeValue: Some(C_SetAttributeValue),
    C_FindObjectsInit: Some(C_FindObjectsInit),
    C_FindObjects: Some(C_FindObjects),
    C_FindObjectsFinal: Some(C_FindObjectsFinal),
    C_EncryptInit: Some(C_EncryptInit),
    C_Encrypt: Some(C_Encrypt),
    C_EncryptUpdate: Some(C_EncryptUpdate),
    C_EncryptFinal: Some(C_EncryptFinal),
    C_DecryptInit: Some(C_DecryptInit),
    C_Decrypt: Some(C_Decrypt),
    C_DecryptUpdate: Some(C_DecryptUpdate),
    C_DecryptFinal: Some(C_DecryptFinal),
    C_DigestInit: Some(C_DigestInit),
    C_Digest: Some(C_Digest),
    C_DigestUpdate: Some(C_DigestUpdate),
    C_DigestKey: Some(C_DigestKey),
    C_DigestFinal: Some(C_DigestFinal),
    C_SignInit: Some(C_SignInit),
    C_Sign: Some(C_Sign),
    C_SignUpdate: Some(C_SignUpdate),
    C_SignFinal: Some(C_SignFinal),
    C_SignRecoverInit: Some(C_SignRecoverInit),
    C_SignRecover: Some(C_SignRecover),
    C_VerifyInit: Some(C_VerifyInit),
    C_Verify: Some(C_Verify),
    C_VerifyUpdate: Some(C_VerifyUpdate),
    C_VerifyFinal: Some(C_VerifyFinal),
    C_VerifyRecoverInit: Some(C_VerifyRecoverInit),
    C_VerifyRecover: Some(C_VerifyRecover),
    C_DigestEncryptUpdate: Some(C_DigestEncryptUpdate),
    C_DecryptDigestUpdate: Some(C_DecryptDigestUpdate),
    C_SignEncryptUpdate: Some(C_SignEncryptUpdate),
    C_DecryptVerifyUpdate: Some(C_DecryptVerifyUpdate),
    C_GenerateKey: Some(C_GenerateKey),
    C_GenerateKeyPair: Some(C_GenerateKeyPair),
    C_WrapKey: Some(C_WrapKey),
    C_UnwrapKey: Some(C_UnwrapKey),
    C_DeriveKey: Some(C_DeriveKey),
    C_SeedRandom: Some(C_SeedRandom),
    C_GenerateRandom: Some(C_GenerateRandom),
    C_GetFunctionStatus: Some(C_GetFunctionStatus),
    C_CancelFunction: Some(C_CancelFunction),
    C_WaitForSlotEvent: Some(C_WaitForSlotEvent),
};

/// The module's one exported symbol: hands out the function list.
///
/// # Safety
/// `list` is null or points to writable memory for a pointer (PKCS#11 `C_GetFunctionList`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_GetFunctionList(list: *mut *mut CK_FUNCTION_LIST) -> CK_RV {
    guard("C_GetFunctionList", || {
        // The list is never written through: PKCS#11 declares the pointer mutable, callers only
        // read it.
        let p = std::ptr::addr_of!(FUNCTION_LIST).cast_mut();
        // SAFETY: list is null or writable per this function's contract.
        unsafe { write(list, p) }
    })
}
