//! PKCS#11 return codes (`CK_RV`): the checked table of the codes a module can return, their
//! `CKR_*` names and the [`ErrorKind`] each becomes, and the conversion of cryptoki's errors into
//! [`hsm_core::Error`].
//!
//! Every error from the module carries [`DeviceStatus::Pkcs11`] with the numeric `CK_RV` and its
//! `CKR_*` name from [`RETURN_CODES`], and a message naming the PKCS#11 function that returned it.
//! The kinds:
//!
//! | kind | return codes |
//! |---|---|
//! | `AuthenticationFailed` | `CKR_PIN_INCORRECT`, `CKR_PIN_INVALID`, `CKR_PIN_LEN_RANGE`, `CKR_USER_NOT_LOGGED_IN` |
//! | `Blocked` | `CKR_PIN_EXPIRED`, `CKR_PIN_LOCKED` |
//! | `NotFound` | `CKR_SLOT_ID_INVALID`, `CKR_KEY_HANDLE_INVALID`, `CKR_OBJECT_HANDLE_INVALID` |
//! | `Unsupported` | `CKR_FUNCTION_NOT_SUPPORTED`, `CKR_KEY_TYPE_INCONSISTENT`, `CKR_KEY_FUNCTION_NOT_PERMITTED`, `CKR_MECHANISM_INVALID`, `CKR_MECHANISM_PARAM_INVALID`, `CKR_CURVE_NOT_SUPPORTED` |
//! | `InvalidInput` | `CKR_ARGUMENTS_BAD`, `CKR_ATTRIBUTE_TYPE_INVALID`, `CKR_ATTRIBUTE_VALUE_INVALID`, `CKR_DATA_INVALID`, `CKR_DATA_LEN_RANGE`, `CKR_KEY_SIZE_RANGE`, `CKR_TEMPLATE_INCOMPLETE`, `CKR_TEMPLATE_INCONSISTENT`, `CKR_DOMAIN_PARAMS_INVALID` |
//! | `PermissionDenied` | `CKR_ATTRIBUTE_READ_ONLY`, `CKR_ATTRIBUTE_SENSITIVE`, `CKR_ACTION_PROHIBITED`, `CKR_TOKEN_WRITE_PROTECTED`, `CKR_USER_TYPE_INVALID` |
//! | `Unavailable` | `CKR_DEVICE_MEMORY`, `CKR_DEVICE_REMOVED`, `CKR_SESSION_COUNT`, `CKR_TOKEN_NOT_PRESENT`, `CKR_TOKEN_NOT_RECOGNIZED` |
//! | `InvalidState` | `CKR_OPERATION_ACTIVE`, `CKR_OPERATION_NOT_INITIALIZED`, `CKR_SESSION_CLOSED`, `CKR_SESSION_HANDLE_INVALID`, `CKR_USER_ANOTHER_ALREADY_LOGGED_IN`, `CKR_CRYPTOKI_NOT_INITIALIZED` |
//! | `Device` | every other code in the table |
//!
//! A vendor-defined code (`CKR_VENDOR_DEFINED` and above) keeps its number, is named
//! `CKR_VENDOR_DEFINED` and is a `Device` error; so is a code PKCS#11 does not assign, named
//! `CKR_UNKNOWN_ERROR_CODE`. A module that cannot be loaded is
//! `Unavailable`; anything else cryptoki refuses in the module's answers (a malformed string,
//! an out-of-range number) is `Protocol`.

use std::borrow::Cow;

use cryptoki::error::{Error as CkError, RvError};
use hsm_core::{DeviceStatus, Error, ErrorKind};

/// One row of [`RETURN_CODES`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct ReturnCode {
    /// The numeric `CK_RV`.
    pub(crate) code: u64,
    /// Its `CKR_*` name.
    pub(crate) name: &'static str,
    /// cryptoki's variant for it.
    pub(crate) rv: RvError,
    /// The kind of error it becomes.
    pub(crate) kind: ErrorKind,
}

impl ReturnCode {
    const fn new(code: u64, name: &'static str, rv: RvError, kind: ErrorKind) -> Self {
        Self {
            code,
            name,
            rv,
            kind,
        }
    }
}

const AUTH: ErrorKind = ErrorKind::AuthenticationFailed { retries_left: None };

/// Every `CK_RV` error code cryptoki knows (PKCS#11 3.0), by number. The unit test checks each
/// number and name against cryptoki's own decoding, so the table cannot drift from it.
#[rustfmt::skip]
pub(crate) const RETURN_CODES: [ReturnCode; 93] = {
    use ErrorKind as K;
    use RvError as R;
    [
    ReturnCode::new(0x001, "CKR_CANCEL", R::Cancel, K::Device),
    ReturnCode::new(0x002, "CKR_HOST_MEMORY", R::HostMemory, K::Device),
    ReturnCode::new(0x003, "CKR_SLOT_ID_INVALID", R::SlotIdInvalid, K::NotFound),
    ReturnCode::new(0x005, "CKR_GENERAL_ERROR", R::GeneralError, K::Device),
    ReturnCode::new(0x006, "CKR_FUNCTION_FAILED", R::FunctionFailed, K::Device),
    ReturnCode::new(0x007, "CKR_ARGUMENTS_BAD", R::ArgumentsBad, K::InvalidInput),
    ReturnCode::new(0x008, "CKR_NO_EVENT", R::NoEvent, K::Device),
    ReturnCode::new(0x009, "CKR_NEED_TO_CREATE_THREADS", R::NeedToCreateThreads, K::Device),
    ReturnCode::new(0x00A, "CKR_CANT_LOCK", R::CantLock, K::Device),
    ReturnCode::new(0x010, "CKR_ATTRIBUTE_READ_ONLY", R::AttributeReadOnly, K::PermissionDenied),
    ReturnCode::new(0x011, "CKR_ATTRIBUTE_SENSITIVE", R::AttributeSensitive, K::PermissionDenied),
    ReturnCode::new(0x012, "CKR_ATTRIBUTE_TYPE_INVALID", R::AttributeTypeInvalid, K::InvalidInput),
    ReturnCode::new(0x013, "CKR_ATTRIBUTE_VALUE_INVALID", R::AttributeValueInvalid, K::InvalidInput),
    ReturnCode::new(0x01B, "CKR_ACTION_PROHIBITED", R::ActionProhibited, K::PermissionDenied),
    ReturnCode::new(0x020, "CKR_DATA_INVALID", R::DataInvalid, K::InvalidInput),
    ReturnCode::new(0x021, "CKR_DATA_LEN_RANGE", R::DataLenRange, K::InvalidInput),
    ReturnCode::new(0x030, "CKR_DEVICE_ERROR", R::DeviceError, K::Device),
    ReturnCode::new(0x031, "CKR_DEVICE_MEMORY", R::DeviceMemory, K::Unavailable),
    ReturnCode::new(0x032, "CKR_DEVICE_REMOVED", R::DeviceRemoved, K::Unavailable),
    ReturnCode::new(0x040, "CKR_ENCRYPTED_DATA_INVALID", R::EncryptedDataInvalid, K::Device),
    ReturnCode::new(0x041, "CKR_ENCRYPTED_DATA_LEN_RANGE", R::EncryptedDataLenRange, K::Device),
    ReturnCode::new(0x050, "CKR_FUNCTION_CANCELED", R::FunctionCanceled, K::Device),
    ReturnCode::new(0x051, "CKR_FUNCTION_NOT_PARALLEL", R::FunctionNotParallel, K::Device),
    ReturnCode::new(0x054, "CKR_FUNCTION_NOT_SUPPORTED", R::FunctionNotSupported, K::Unsupported),
    ReturnCode::new(0x060, "CKR_KEY_HANDLE_INVALID", R::KeyHandleInvalid, K::NotFound),
    ReturnCode::new(0x062, "CKR_KEY_SIZE_RANGE", R::KeySizeRange, K::InvalidInput),
    ReturnCode::new(0x063, "CKR_KEY_TYPE_INCONSISTENT", R::KeyTypeInconsistent, K::Unsupported),
    ReturnCode::new(0x064, "CKR_KEY_NOT_NEEDED", R::KeyNotNeeded, K::Device),
    ReturnCode::new(0x065, "CKR_KEY_CHANGED", R::KeyChanged, K::Device),
    ReturnCode::new(0x066, "CKR_KEY_NEEDED", R::KeyNeeded, K::Device),
    ReturnCode::new(0x067, "CKR_KEY_INDIGESTIBLE", R::KeyIndigestible, K::Device),
    ReturnCode::new(0x068, "CKR_KEY_FUNCTION_NOT_PERMITTED", R::KeyFunctionNotPermitted, K::Unsupported),
    ReturnCode::new(0x069, "CKR_KEY_NOT_WRAPPABLE", R::KeyNotWrappable, K::Device),
    ReturnCode::new(0x06A, "CKR_KEY_UNEXTRACTABLE", R::KeyUnextractable, K::Device),
    ReturnCode::new(0x070, "CKR_MECHANISM_INVALID", R::MechanismInvalid, K::Unsupported),
    ReturnCode::new(0x071, "CKR_MECHANISM_PARAM_INVALID", R::MechanismParamInvalid, K::Unsupported),
    ReturnCode::new(0x082, "CKR_OBJECT_HANDLE_INVALID", R::ObjectHandleInvalid, K::NotFound),
    ReturnCode::new(0x090, "CKR_OPERATION_ACTIVE", R::OperationActive, K::InvalidState),
    ReturnCode::new(0x091, "CKR_OPERATION_NOT_INITIALIZED", R::OperationNotInitialized, K::InvalidState),
    ReturnCode::new(0x0A0, "CKR_PIN_INCORRECT", R::PinIncorrect, AUTH),
    ReturnCode::new(0x0A1, "CKR_PIN_INVALID", R::PinInvalid, AUTH),
    ReturnCode::new(0x0A2, "CKR_PIN_LEN_RANGE", R::PinLenRange, AUTH),
    ReturnCode::new(0x0A3, "CKR_PIN_EXPIRED", R::PinExpired, K::Blocked),
    ReturnCode::new(0x0A4, "CKR_PIN_LOCKED", R::PinLocked, K::Blocked),
    ReturnCode::new(0x0B0, "CKR_SESSION_CLOSED", R::SessionClosed, K::InvalidState),
    ReturnCode::new(0x0B1, "CKR_SESSION_COUNT", R::SessionCount, K::Unavailable),
    ReturnCode::new(0x0B3, "CKR_SESSION_HANDLE_INVALID", R::SessionHandleInvalid, K::InvalidState),
    ReturnCode::new(0x0B4, "CKR_SESSION_PARALLEL_NOT_SUPPORTED", R::SessionParallelNotSupported, K::Device),
    ReturnCode::new(0x0B5, "CKR_SESSION_READ_ONLY", R::SessionReadOnly, K::Device),
    ReturnCode::new(0x0B6, "CKR_SESSION_EXISTS", R::SessionExists, K::Device),
    ReturnCode::new(0x0B7, "CKR_SESSION_READ_ONLY_EXISTS", R::SessionReadOnlyExists, K::Device),
    ReturnCode::new(0x0B8, "CKR_SESSION_READ_WRITE_SO_EXISTS", R::SessionReadWriteSoExists, K::Device),
    ReturnCode::new(0x0C0, "CKR_SIGNATURE_INVALID", R::SignatureInvalid, K::Device),
    ReturnCode::new(0x0C1, "CKR_SIGNATURE_LEN_RANGE", R::SignatureLenRange, K::Device),
    ReturnCode::new(0x0D0, "CKR_TEMPLATE_INCOMPLETE", R::TemplateIncomplete, K::InvalidInput),
    ReturnCode::new(0x0D1, "CKR_TEMPLATE_INCONSISTENT", R::TemplateInconsistent, K::InvalidInput),
    ReturnCode::new(0x0E0, "CKR_TOKEN_NOT_PRESENT", R::TokenNotPresent, K::Unavailable),
    ReturnCode::new(0x0E1, "CKR_TOKEN_NOT_RECOGNIZED", R::TokenNotRecognized, K::Unavailable),
    ReturnCode::new(0x0E2, "CKR_TOKEN_WRITE_PROTECTED", R::TokenWriteProtected, K::PermissionDenied),
    ReturnCode::new(0x0F0, "CKR_UNWRAPPING_KEY_HANDLE_INVALID", R::UnwrappingKeyHandleInvalid, K::Device),
    ReturnCode::new(0x0F1, "CKR_UNWRAPPING_KEY_SIZE_RANGE", R::UnwrappingKeySizeRange, K::Device),
    ReturnCode::new(0x0F2, "CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT", R::UnwrappingKeyTypeInconsistent, K::Device),
    ReturnCode::new(0x100, "CKR_USER_ALREADY_LOGGED_IN", R::UserAlreadyLoggedIn, K::Device),
    ReturnCode::new(0x101, "CKR_USER_NOT_LOGGED_IN", R::UserNotLoggedIn, AUTH),
    ReturnCode::new(0x102, "CKR_USER_PIN_NOT_INITIALIZED", R::UserPinNotInitialized, K::Device),
    ReturnCode::new(0x103, "CKR_USER_TYPE_INVALID", R::UserTypeInvalid, K::PermissionDenied),
    ReturnCode::new(0x104, "CKR_USER_ANOTHER_ALREADY_LOGGED_IN", R::UserAnotherAlreadyLoggedIn, K::InvalidState),
    ReturnCode::new(0x105, "CKR_USER_TOO_MANY_TYPES", R::UserTooManyTypes, K::Device),
    ReturnCode::new(0x110, "CKR_WRAPPED_KEY_INVALID", R::WrappedKeyInvalid, K::Device),
    ReturnCode::new(0x112, "CKR_WRAPPED_KEY_LEN_RANGE", R::WrappedKeyLenRange, K::Device),
    ReturnCode::new(0x113, "CKR_WRAPPING_KEY_HANDLE_INVALID", R::WrappingKeyHandleInvalid, K::Device),
    ReturnCode::new(0x114, "CKR_WRAPPING_KEY_SIZE_RANGE", R::WrappingKeySizeRange, K::Device),
    ReturnCode::new(0x115, "CKR_WRAPPING_KEY_TYPE_INCONSISTENT", R::WrappingKeyTypeInconsistent, K::Device),
    ReturnCode::new(0x120, "CKR_RANDOM_SEED_NOT_SUPPORTED", R::RandomSeedNotSupported, K::Device),
    ReturnCode::new(0x121, "CKR_RANDOM_NO_RNG", R::RandomNoRng, K::Device),
    ReturnCode::new(0x130, "CKR_DOMAIN_PARAMS_INVALID", R::DomainParamsInvalid, K::InvalidInput),
    ReturnCode::new(0x140, "CKR_CURVE_NOT_SUPPORTED", R::CurveNotSupported, K::Unsupported),
    ReturnCode::new(0x150, "CKR_BUFFER_TOO_SMALL", R::BufferTooSmall, K::Device),
    ReturnCode::new(0x160, "CKR_SAVED_STATE_INVALID", R::SavedStateInvalid, K::Device),
    ReturnCode::new(0x170, "CKR_INFORMATION_SENSITIVE", R::InformationSensitive, K::Device),
    ReturnCode::new(0x180, "CKR_STATE_UNSAVEABLE", R::StateUnsaveable, K::Device),
    ReturnCode::new(0x190, "CKR_CRYPTOKI_NOT_INITIALIZED", R::CryptokiNotInitialized, K::InvalidState),
    ReturnCode::new(0x191, "CKR_CRYPTOKI_ALREADY_INITIALIZED", R::CryptokiAlreadyInitialized, K::Device),
    ReturnCode::new(0x1A0, "CKR_MUTEX_BAD", R::MutexBad, K::Device),
    ReturnCode::new(0x1A1, "CKR_MUTEX_NOT_LOCKED", R::MutexNotLocked, K::Device),
    ReturnCode::new(0x1B0, "CKR_NEW_PIN_MODE", R::NewPinMode, K::Device),
    ReturnCode::new(0x1B1, "CKR_NEXT_OTP", R::NextOtp, K::Device),
    ReturnCode::new(0x1B5, "CKR_EXCEEDED_MAX_ITERATIONS", R::ExceededMaxIterations, K::Device),
    ReturnCode::new(0x1B6, "CKR_FIPS_SELF_TEST_FAILED", R::FipsSelfTestFailed, K::Device),
    ReturnCode::new(0x1B7, "CKR_LIBRARY_LOAD_FAILED", R::LibraryLoadFailed, K::Device),
    ReturnCode::new(0x1B8, "CKR_PIN_TOO_WEAK", R::PinTooWeak, K::Device),
    ReturnCode::new(0x1B9, "CKR_PUBLIC_KEY_INVALID", R::PublicKeyInvalid, K::Device),
    ReturnCode::new(0x200, "CKR_FUNCTION_REJECTED", R::FunctionRejected, K::Device),
    ]
};

/// The table's row for `rv`; `None` for a vendor-defined code.
pub(crate) fn lookup(rv: RvError) -> Option<&'static ReturnCode> {
    RETURN_CODES.iter().find(|row| row.rv == rv)
}

/// The `CKR_*` name, numeric `CK_RV` and error kind of a return value.
fn describe(rv: RvError) -> (&'static str, u64, ErrorKind) {
    match (lookup(rv), rv) {
        (Some(row), _) => (row.name, row.code, row.kind),
        (None, RvError::VendorDefined(code)) => ("CKR_VENDOR_DEFINED", code, ErrorKind::Device),
        (None, RvError::UnknownErrorCode(code)) => {
            ("CKR_UNKNOWN_ERROR_CODE", code, ErrorKind::Device)
        }
        // Every other variant is a row of the table (the unit test checks it); a variant a
        // later cryptoki adds lands here until the table has it.
        (None, _) => ("CKR_UNKNOWN_ERROR_CODE", 0, ErrorKind::Device),
    }
}

/// Converts a cryptoki error raised by `operation`.
pub(crate) fn map(operation: &'static str, e: CkError) -> Error {
    match e {
        CkError::Pkcs11(rv, function) => {
            let (name, code, kind) = describe(rv);
            Error::new(kind, operation)
                .with_message(format!("{function:?} returned {name}"))
                .with_status(DeviceStatus::Pkcs11 {
                    code,
                    name: Cow::Borrowed(name),
                })
        }
        CkError::LibraryLoading(source) => Error::new(ErrorKind::Unavailable, operation)
            .with_message("cannot load the PKCS#11 module")
            .with_source(source),
        other => Error::new(ErrorKind::Protocol, operation)
            .with_message("unexpected data from the PKCS#11 module")
            .with_source(other),
    }
}

/// The return value inside a cryptoki error, if it is one.
pub(crate) fn rv_of(e: &CkError) -> Option<RvError> {
    match e {
        CkError::Pkcs11(rv, _) => Some(*rv),
        _ => None,
    }
}

/// Whether `e` carries the return code `name` (a `CKR_*` name from [`RETURN_CODES`]).
pub(crate) fn has_return_code(e: &Error, name: &str) -> bool {
    matches!(e.status(), Some(DeviceStatus::Pkcs11 { name: n, .. }) if n == name)
}

/// The extension trait that turns `cryptoki::error::Result` into `hsm_core::Result`.
pub(crate) trait CkResultExt<T> {
    /// Maps the error with [`map`].
    fn ck(self, operation: &'static str) -> hsm_core::Result<T>;
}

impl<T> CkResultExt<T> for cryptoki::error::Result<T> {
    fn ck(self, operation: &'static str) -> hsm_core::Result<T> {
        self.map_err(|e| map(operation, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cryptoki::error::Rv;

    /// The `CKR_*` spelling of cryptoki's variant name (`UserAlreadyLoggedIn` ->
    /// `CKR_USER_ALREADY_LOGGED_IN`): a second, independent source for the names.
    fn spelled(rv: RvError) -> String {
        let mut name = String::from("CKR");
        for c in format!("{rv:?}").chars() {
            if c.is_ascii_uppercase() {
                name.push('_');
            }
            name.push(c.to_ascii_uppercase());
        }
        name
    }

    #[test]
    fn every_row_matches_cryptokis_own_decoding() {
        for row in &RETURN_CODES {
            assert_eq!(Rv::from(row.code), Rv::Error(row.rv), "{}", row.name);
            assert_eq!(row.name, spelled(row.rv), "0x{:X}", row.code);
        }
        // Numbers and names are unique, and in order.
        for pair in RETURN_CODES.windows(2) {
            assert!(
                pair[0].code < pair[1].code,
                "{} / {}",
                pair[0].name,
                pair[1].name
            );
        }
    }

    #[test]
    fn every_code_cryptoki_decodes_is_in_the_table() {
        for code in 1u64..0x1000 {
            if let Rv::Error(rv) = Rv::from(code) {
                if matches!(rv, RvError::VendorDefined(_) | RvError::UnknownErrorCode(_)) {
                    continue;
                }
                let row = lookup(rv).unwrap_or_else(|| panic!("0x{code:X} ({rv:?}) missing"));
                assert_eq!(row.code, code);
            }
        }
    }

    #[test]
    fn names_and_codes() {
        let name_code = |rv| {
            let (name, code, _) = describe(rv);
            (name, code)
        };
        assert_eq!(
            name_code(RvError::UserAlreadyLoggedIn),
            ("CKR_USER_ALREADY_LOGGED_IN", 0x100)
        );
        assert_eq!(
            name_code(RvError::PinIncorrect),
            ("CKR_PIN_INCORRECT", 0xA0)
        );
        assert_eq!(name_code(RvError::MechanismInvalid).1, 0x70);
        assert_eq!(
            name_code(RvError::VendorDefined(0x8000_0001)),
            ("CKR_VENDOR_DEFINED", 0x8000_0001)
        );
        // A code outside PKCS#11 3.0 (0x4 is unassigned) keeps its number.
        assert_eq!(
            name_code(RvError::UnknownErrorCode(4)),
            ("CKR_UNKNOWN_ERROR_CODE", 4)
        );
        let e = map(
            "t",
            CkError::Pkcs11(RvError::PinIncorrect, cryptoki::context::Function::Login),
        );
        assert!(e.is_auth());
        assert_eq!(
            e.status(),
            Some(&DeviceStatus::Pkcs11 {
                code: 0xA0,
                name: "CKR_PIN_INCORRECT".into()
            })
        );
        assert!(has_return_code(&e, "CKR_PIN_INCORRECT"));
    }

    #[test]
    fn kinds_follow_the_documented_mapping() {
        let kind = |rv| describe(rv).2;
        assert_eq!(kind(RvError::PinIncorrect), AUTH);
        assert_eq!(kind(RvError::PinLocked), ErrorKind::Blocked);
        assert_eq!(kind(RvError::ObjectHandleInvalid), ErrorKind::NotFound);
        assert_eq!(kind(RvError::MechanismInvalid), ErrorKind::Unsupported);
        assert_eq!(kind(RvError::DataLenRange), ErrorKind::InvalidInput);
        assert_eq!(
            kind(RvError::TokenWriteProtected),
            ErrorKind::PermissionDenied
        );
        assert_eq!(kind(RvError::DeviceRemoved), ErrorKind::Unavailable);
        assert_eq!(kind(RvError::SessionHandleInvalid), ErrorKind::InvalidState);
        assert_eq!(kind(RvError::GeneralError), ErrorKind::Device);
        assert_eq!(kind(RvError::VendorDefined(0x8000_0000)), ErrorKind::Device);
    }
}
