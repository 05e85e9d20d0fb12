//! Reading C arguments into Rust values and writing results back, with PKCS#11's rules: null
//! pointers are `CKR_ARGUMENTS_BAD` (or a sizes-only call where the standard says so), and a
//! buffer that is too small gets the needed length and `CKR_BUFFER_TOO_SMALL`.
#![allow(unsafe_code)]

use std::os::raw::c_void;

use cryptoki_sys::*;

use crate::error::CkResult;
use crate::mechanism::MechParams;
use crate::module::Template;
use crate::object::AttrValue;

/// The largest `ulValueLen` / count accepted from a caller (a guard against garbage lengths).
const MAX_LEN: CK_ULONG = 1 << 28;

fn len(n: CK_ULONG) -> CkResult<usize> {
    if n > MAX_LEN {
        return Err(CKR_ARGUMENTS_BAD);
    }
    usize::try_from(n).map_err(|_| CKR_ARGUMENTS_BAD)
}

/// A caller's array as a slice (empty when `n` is 0).
///
/// # Safety
/// `p` is null or points to `n` readable, initialised `T`s that outlive `'a`.
pub(crate) unsafe fn slice<'a, T>(p: *const T, n: CK_ULONG) -> CkResult<&'a [T]> {
    let n = len(n)?;
    if n == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(CKR_ARGUMENTS_BAD);
    }
    // SAFETY: p is non-null and, per this function's contract, points to n initialised Ts.
    Ok(unsafe { std::slice::from_raw_parts(p, n) })
}

/// Writes one value through an out-pointer.
///
/// # Safety
/// `p` is null or points to writable memory for a `T`.
pub(crate) unsafe fn write<T>(p: *mut T, value: T) -> CkResult<()> {
    if p.is_null() {
        return Err(CKR_ARGUMENTS_BAD);
    }
    // SAFETY: p is non-null and writable per the contract; write does not read the old value.
    unsafe { p.write(value) };
    Ok(())
}

/// The PKCS#11 list convention: a null `out` asks for the count; a short buffer gets the count
/// and `CKR_BUFFER_TOO_SMALL`; otherwise the items are copied.
///
/// # Safety
/// `count` is null or points to a readable and writable `CK_ULONG`; when `out` is not null it
/// points to `*count` writable `T`s.
pub(crate) unsafe fn write_list<T: Copy>(
    out: *mut T,
    count: *mut CK_ULONG,
    items: &[T],
) -> CkResult<()> {
    if count.is_null() {
        return Err(CKR_ARGUMENTS_BAD);
    }
    let n = items.len() as CK_ULONG;
    // SAFETY: count is non-null and readable per the contract.
    let room = unsafe { count.read() };
    // SAFETY: count is non-null and writable per the contract.
    unsafe { count.write(n) };
    if out.is_null() {
        return Ok(());
    }
    if room < n {
        return Err(CKR_BUFFER_TOO_SMALL);
    }
    // SAFETY: out holds room >= n writable Ts; items and out do not overlap (ours vs caller's).
    unsafe { std::ptr::copy_nonoverlapping(items.as_ptr(), out, items.len()) };
    Ok(())
}

/// Copies a template's attributes (type and value bytes).
///
/// # Safety
/// `p` is null or points to `n` `CK_ATTRIBUTE`s whose `pValue` is null or points to
/// `ulValueLen` readable bytes.
pub(crate) unsafe fn read_template(p: *const CK_ATTRIBUTE, n: CK_ULONG) -> CkResult<Template> {
    // SAFETY: forwarded contract.
    let attrs = unsafe { slice(p, n) }?;
    attrs
        .iter()
        .map(|a| {
            // SAFETY: forwarded contract: pValue points to ulValueLen bytes.
            let value = unsafe { slice(a.pValue.cast::<u8>().cast_const(), a.ulValueLen) }?;
            Ok((a.type_, value.to_vec()))
        })
        .collect()
}

/// The attribute types a `C_GetAttributeValue` template asks for.
///
/// # Safety
/// As [`slice`] for `n` `CK_ATTRIBUTE`s.
pub(crate) unsafe fn attribute_types(
    p: *const CK_ATTRIBUTE,
    n: CK_ULONG,
) -> CkResult<Vec<CK_ATTRIBUTE_TYPE>> {
    // SAFETY: forwarded contract.
    Ok(unsafe { slice(p, n) }?.iter().map(|a| a.type_).collect())
}

/// Writes `C_GetAttributeValue` answers into the caller's template, with the standard's
/// per-attribute rules; the first problem met is the call's return value.
///
/// # Safety
/// `p` points to `answers.len()` writable `CK_ATTRIBUTE`s, each `pValue` null or pointing to
/// `ulValueLen` writable bytes.
pub(crate) unsafe fn write_attributes(p: *mut CK_ATTRIBUTE, answers: &[AttrValue]) -> CkResult<()> {
    let mut rv = CKR_OK;
    for (i, answer) in answers.iter().enumerate() {
        // SAFETY: i < answers.len(), the template's length per the contract.
        let attr = unsafe { &mut *p.add(i) };
        let problem = match answer {
            AttrValue::Value(v) if attr.pValue.is_null() => {
                attr.ulValueLen = v.len() as CK_ULONG;
                CKR_OK
            }
            AttrValue::Value(v) if (attr.ulValueLen as usize) < v.len() => {
                attr.ulValueLen = CK_UNAVAILABLE_INFORMATION;
                CKR_BUFFER_TOO_SMALL
            }
            AttrValue::Value(v) => {
                // SAFETY: pValue holds ulValueLen >= v.len() writable bytes per the contract.
                unsafe {
                    std::ptr::copy_nonoverlapping(v.as_ptr(), attr.pValue.cast::<u8>(), v.len());
                }
                attr.ulValueLen = v.len() as CK_ULONG;
                CKR_OK
            }
            AttrValue::Sensitive => {
                attr.ulValueLen = CK_UNAVAILABLE_INFORMATION;
                CKR_ATTRIBUTE_SENSITIVE
            }
            AttrValue::Invalid => {
                attr.ulValueLen = CK_UNAVAILABLE_INFORMATION;
                CKR_ATTRIBUTE_TYPE_INVALID
            }
        };
        if rv == CKR_OK {
            rv = problem;
        }
    }
    if rv == CKR_OK { Ok(()) } else { Err(rv) }
}

/// A mechanism and the parameters this module reads.
///
/// # Safety
/// `p` is null or points to a `CK_MECHANISM` whose `pParameter` is null or points to
/// `ulParameterLen` readable bytes.
pub(crate) unsafe fn read_mechanism(
    p: *const CK_MECHANISM,
) -> CkResult<(CK_MECHANISM_TYPE, MechParams)> {
    if p.is_null() {
        return Err(CKR_ARGUMENTS_BAD);
    }
    // SAFETY: p is non-null and readable per the contract.
    let m = unsafe { &*p };
    let params = if m.pParameter.is_null() || m.ulParameterLen == 0 {
        MechParams::None
    } else if m.ulParameterLen as usize == size_of::<CK_RSA_PKCS_PSS_PARAMS>()
        && is_pss(m.mechanism)
    {
        // SAFETY: pParameter holds a CK_RSA_PKCS_PSS_PARAMS (length checked); read_unaligned
        // does not assume the caller aligned it.
        let pss = unsafe {
            m.pParameter
                .cast::<CK_RSA_PKCS_PSS_PARAMS>()
                .read_unaligned()
        };
        MechParams::Pss(pss.hashAlg, pss.mgf, pss.sLen)
    } else if m.ulParameterLen as usize == size_of::<CK_EDDSA_PARAMS>() && m.mechanism == CKM_EDDSA
    {
        // SAFETY: pParameter holds a CK_EDDSA_PARAMS (length checked).
        let e = unsafe { m.pParameter.cast::<CK_EDDSA_PARAMS>().read_unaligned() };
        MechParams::Eddsa(e.phFlag != CK_FALSE, e.ulContextDataLen)
    } else {
        MechParams::Other
    };
    Ok((m.mechanism, params))
}

fn is_pss(m: CK_MECHANISM_TYPE) -> bool {
    matches!(
        m,
        CKM_RSA_PKCS_PSS
            | CKM_SHA256_RSA_PKCS_PSS
            | CKM_SHA384_RSA_PKCS_PSS
            | CKM_SHA512_RSA_PKCS_PSS
    )
}

/// `C_Initialize`'s argument, if any.
///
/// # Safety
/// `p` is null or points to a `CK_C_INITIALIZE_ARGS`.
pub(crate) unsafe fn read_init_args(p: *mut c_void) -> Option<crate::module::InitArgs> {
    if p.is_null() {
        return None;
    }
    // SAFETY: non-null, and per the contract a CK_C_INITIALIZE_ARGS.
    let a = unsafe { p.cast::<CK_C_INITIALIZE_ARGS>().read_unaligned() };
    let mutex_functions = [
        a.CreateMutex.is_some(),
        a.DestroyMutex.is_some(),
        a.LockMutex.is_some(),
        a.UnlockMutex.is_some(),
    ]
    .into_iter()
    .filter(|b| *b)
    .count();
    Some(crate::module::InitArgs {
        flags: a.flags,
        mutex_functions,
        reserved: !a.pReserved.is_null(),
    })
}
