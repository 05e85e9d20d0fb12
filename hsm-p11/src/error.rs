//! PKCS#11 return values: the module's result type, and how hsm-rs errors become `CKR_*` codes.

use cryptoki_sys::*;
use hsm_core::{Error, ErrorKind};

/// A PKCS#11 return value other than `CKR_OK`.
pub(crate) type CkResult<T> = Result<T, CK_RV>;

/// What the caller was doing when a backend error happened: the same error kind means different
/// things to `C_Login` and to `C_Sign`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Doing {
    /// `C_Login`.
    Login,
    /// `C_Sign*`.
    Sign,
    /// `C_GenerateKeyPair`.
    Generate,
    /// Listing keys, reading public keys and certificates, deleting.
    Objects,
    /// `C_CreateObject` (storing a certificate).
    Create,
    /// `C_GenerateRandom`.
    Random,
}

/// Maps a backend error to a `CKR_*` code, logging it (errors never hold secrets).
pub(crate) fn from_hsm(doing: Doing, e: &Error) -> CK_RV {
    let rv = match (e.kind(), doing) {
        (ErrorKind::AuthenticationFailed { .. }, Doing::Login) => CKR_PIN_INCORRECT,
        (ErrorKind::AuthenticationFailed { .. }, _) => CKR_USER_NOT_LOGGED_IN,
        (ErrorKind::Blocked, _) => CKR_PIN_LOCKED,
        (ErrorKind::PermissionDenied, Doing::Sign) => CKR_KEY_FUNCTION_NOT_PERMITTED,
        (ErrorKind::PermissionDenied, _) => CKR_USER_NOT_LOGGED_IN,
        (ErrorKind::NotFound, Doing::Sign) => CKR_KEY_HANDLE_INVALID,
        // The key named by the template's CKA_ID went away meanwhile.
        (ErrorKind::NotFound, Doing::Create) => CKR_TEMPLATE_INCONSISTENT,
        (ErrorKind::NotFound, _) => CKR_OBJECT_HANDLE_INVALID,
        (ErrorKind::AlreadyExists, _) => CKR_TEMPLATE_INCONSISTENT,
        (ErrorKind::Unsupported, Doing::Generate) => CKR_TEMPLATE_INCONSISTENT,
        (ErrorKind::Unsupported, Doing::Sign) => CKR_MECHANISM_INVALID,
        (ErrorKind::Unsupported, Doing::Random) => CKR_RANDOM_NO_RNG,
        (ErrorKind::Unsupported, _) => CKR_FUNCTION_NOT_SUPPORTED,
        (ErrorKind::InvalidInput, Doing::Sign) => CKR_DATA_LEN_RANGE,
        (ErrorKind::InvalidInput, Doing::Generate) => CKR_TEMPLATE_INCONSISTENT,
        (ErrorKind::InvalidInput, Doing::Create) => CKR_ATTRIBUTE_VALUE_INVALID,
        (ErrorKind::InvalidInput, _) => CKR_ARGUMENTS_BAD,
        (ErrorKind::InvalidState, _) => CKR_DEVICE_ERROR,
        (ErrorKind::Unavailable | ErrorKind::Timeout, _) => CKR_DEVICE_ERROR,
        (ErrorKind::Protocol | ErrorKind::Device | ErrorKind::VerificationFailed, _) => {
            CKR_DEVICE_ERROR
        }
        _ => CKR_GENERAL_ERROR,
    };
    tracing::warn!(error = %e, rv = rv_name(rv), "backend error");
    rv
}

/// The name of a `CKR_*` code, for logs and test messages.
#[must_use]
pub fn rv_name(rv: CK_RV) -> &'static str {
    match rv {
        CKR_OK => "CKR_OK",
        CKR_GENERAL_ERROR => "CKR_GENERAL_ERROR",
        CKR_HOST_MEMORY => "CKR_HOST_MEMORY",
        CKR_SLOT_ID_INVALID => "CKR_SLOT_ID_INVALID",
        CKR_ARGUMENTS_BAD => "CKR_ARGUMENTS_BAD",
        CKR_CANT_LOCK => "CKR_CANT_LOCK",
        CKR_NEED_TO_CREATE_THREADS => "CKR_NEED_TO_CREATE_THREADS",
        CKR_ATTRIBUTE_SENSITIVE => "CKR_ATTRIBUTE_SENSITIVE",
        CKR_ATTRIBUTE_TYPE_INVALID => "CKR_ATTRIBUTE_TYPE_INVALID",
        CKR_ATTRIBUTE_VALUE_INVALID => "CKR_ATTRIBUTE_VALUE_INVALID",
        CKR_DATA_INVALID => "CKR_DATA_INVALID",
        CKR_DATA_LEN_RANGE => "CKR_DATA_LEN_RANGE",
        CKR_DEVICE_ERROR => "CKR_DEVICE_ERROR",
        CKR_FUNCTION_NOT_SUPPORTED => "CKR_FUNCTION_NOT_SUPPORTED",
        CKR_KEY_HANDLE_INVALID => "CKR_KEY_HANDLE_INVALID",
        CKR_KEY_TYPE_INCONSISTENT => "CKR_KEY_TYPE_INCONSISTENT",
        CKR_KEY_FUNCTION_NOT_PERMITTED => "CKR_KEY_FUNCTION_NOT_PERMITTED",
        CKR_MECHANISM_INVALID => "CKR_MECHANISM_INVALID",
        CKR_MECHANISM_PARAM_INVALID => "CKR_MECHANISM_PARAM_INVALID",
        CKR_OBJECT_HANDLE_INVALID => "CKR_OBJECT_HANDLE_INVALID",
        CKR_OPERATION_ACTIVE => "CKR_OPERATION_ACTIVE",
        CKR_OPERATION_NOT_INITIALIZED => "CKR_OPERATION_NOT_INITIALIZED",
        CKR_PIN_INCORRECT => "CKR_PIN_INCORRECT",
        CKR_PIN_LEN_RANGE => "CKR_PIN_LEN_RANGE",
        CKR_PIN_LOCKED => "CKR_PIN_LOCKED",
        CKR_SESSION_HANDLE_INVALID => "CKR_SESSION_HANDLE_INVALID",
        CKR_SESSION_PARALLEL_NOT_SUPPORTED => "CKR_SESSION_PARALLEL_NOT_SUPPORTED",
        CKR_SESSION_READ_ONLY => "CKR_SESSION_READ_ONLY",
        CKR_TEMPLATE_INCOMPLETE => "CKR_TEMPLATE_INCOMPLETE",
        CKR_TEMPLATE_INCONSISTENT => "CKR_TEMPLATE_INCONSISTENT",
        CKR_TOKEN_NOT_PRESENT => "CKR_TOKEN_NOT_PRESENT",
        CKR_USER_ALREADY_LOGGED_IN => "CKR_USER_ALREADY_LOGGED_IN",
        CKR_USER_NOT_LOGGED_IN => "CKR_USER_NOT_LOGGED_IN",
        CKR_USER_TYPE_INVALID => "CKR_USER_TYPE_INVALID",
        CKR_BUFFER_TOO_SMALL => "CKR_BUFFER_TOO_SMALL",
        CKR_RANDOM_NO_RNG => "CKR_RANDOM_NO_RNG",
        CKR_RANDOM_SEED_NOT_SUPPORTED => "CKR_RANDOM_SEED_NOT_SUPPORTED",
        CKR_CRYPTOKI_NOT_INITIALIZED => "CKR_CRYPTOKI_NOT_INITIALIZED",
        CKR_CRYPTOKI_ALREADY_INITIALIZED => "CKR_CRYPTOKI_ALREADY_INITIALIZED",
        _ => "CKR_(other)",
    }
}
