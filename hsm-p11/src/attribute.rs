//! How the module answers an attribute: its value's bytes, or why there is none.

use cryptoki_sys::*;

/// An attribute's value, or why there is none.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum AttrValue {
    /// The value's bytes.
    Value(Vec<u8>),
    /// `CKR_ATTRIBUTE_SENSITIVE`.
    Sensitive,
    /// `CKR_ATTRIBUTE_TYPE_INVALID`.
    Invalid,
}

/// A `CK_ULONG` attribute value, in the host's byte order.
pub(crate) fn ulong(v: CK_ULONG) -> Vec<u8> {
    v.to_ne_bytes().to_vec()
}

/// A `CK_BBOOL` attribute value.
pub(crate) fn bool_(v: bool) -> Vec<u8> {
    vec![if v { CK_TRUE } else { CK_FALSE }]
}
