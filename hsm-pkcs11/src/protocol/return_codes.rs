//! Maps cryptoki errors onto [`hsm_core::Error`] with the `CKR_*` name and code.

use std::borrow::Cow;
use std::sync::OnceLock;

use cryptoki::error::{Error as CkError, Rv, RvError};
use hsm_core::{DeviceStatus, Error, ErrorKind};

/// The `CKR_*` name of a return value, from its variant name (`UserAlreadyLoggedIn` ->
/// `CKR_USER_ALREADY_LOGGED_IN`).
pub(crate) fn ckr_name(rv: RvError) -> String {
    if let RvError::VendorDefined(_) = rv {
        return "CKR_VENDOR_DEFINED".to_owned();
    }
    let variant = format!("{rv:?}");
    let mut name = String::from("CKR");
    for c in variant.chars() {
        if c.is_ascii_uppercase() {
            name.push('_');
        }
        name.push(c.to_ascii_uppercase());
    }
    name
}

/// The numeric `CK_RV` of a return value, found once by decoding every standard code.
pub(crate) fn ckr_code(rv: RvError) -> u64 {
    static TABLE: OnceLock<Vec<(RvError, u64)>> = OnceLock::new();
    TABLE
        .get_or_init(|| {
            (1u64..0x300)
                .filter_map(|code| match Rv::from(code) {
                    Rv::Error(e) if !matches!(e, RvError::VendorDefined(_)) => Some((e, code)),
                    _ => None,
                })
                .collect()
        })
        .iter()
        .find(|(e, _)| *e == rv)
        .map_or_else(
            || match rv {
                RvError::VendorDefined(v) => v,
                _ => 0,
            },
            |(_, code)| *code,
        )
}

fn kind_of(rv: RvError) -> ErrorKind {
    use RvError as R;
    match rv {
        R::PinIncorrect | R::PinLenRange | R::PinInvalid | R::UserNotLoggedIn => {
            ErrorKind::AuthenticationFailed { retries_left: None }
        }
        R::PinLocked | R::PinExpired => ErrorKind::Blocked,
        R::KeyHandleInvalid | R::ObjectHandleInvalid | R::SlotIdInvalid => ErrorKind::NotFound,
        R::MechanismInvalid
        | R::MechanismParamInvalid
        | R::KeyTypeInconsistent
        | R::FunctionNotSupported
        | R::KeyFunctionNotPermitted
        | R::CurveNotSupported => ErrorKind::Unsupported,
        R::DataInvalid
        | R::DataLenRange
        | R::ArgumentsBad
        | R::AttributeValueInvalid
        | R::TemplateIncomplete
        | R::TemplateInconsistent
        | R::AttributeTypeInvalid
        | R::KeySizeRange
        | R::DomainParamsInvalid => ErrorKind::InvalidInput,
        R::TokenWriteProtected
        | R::ActionProhibited
        | R::AttributeReadOnly
        | R::AttributeSensitive
        | R::UserTypeInvalid => ErrorKind::PermissionDenied,
        R::DeviceRemoved
        | R::TokenNotPresent
        | R::SessionCount
        | R::DeviceMemory
        | R::TokenNotRecognized => ErrorKind::Unavailable,
        R::CryptokiNotInitialized
        | R::SessionHandleInvalid
        | R::SessionClosed
        | R::OperationActive
        | R::OperationNotInitialized
        | R::UserAnotherAlreadyLoggedIn => ErrorKind::InvalidState,
        _ => ErrorKind::Device,
    }
}

/// Converts a cryptoki error raised by `operation`.
pub(crate) fn map(operation: &'static str, e: CkError) -> Error {
    match e {
        CkError::Pkcs11(rv, function) => {
            let name = ckr_name(rv);
            Error::new(kind_of(rv), operation)
                .with_message(format!("{function:?} returned {name}"))
                .with_status(DeviceStatus::Pkcs11 {
                    code: ckr_code(rv),
                    name: Cow::Owned(name),
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

/// Gives an error from a shared helper (hsm-core's key decoders, PIN readers, public-key
/// parsers), which carries the helper's own operation name, the name of this crate's public
/// `operation`: every error the backend returns is named `pkcs11.<operation>`. Errors already
/// named by this crate keep their more precise name (`pkcs11.login`, `pkcs11.pool`, ...).
pub(crate) fn named(operation: &'static str) -> impl FnOnce(Error) -> Error {
    move |e| {
        if e.operation().starts_with("pkcs11.") {
            e
        } else {
            e.with_operation(operation)
        }
    }
}

/// The return value inside a cryptoki error, if it is one.
pub(crate) fn rv_of(e: &CkError) -> Option<RvError> {
    match e {
        CkError::Pkcs11(rv, _) => Some(*rv),
        _ => None,
    }
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
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names_and_codes() {
        assert_eq!(
            ckr_name(RvError::UserAlreadyLoggedIn),
            "CKR_USER_ALREADY_LOGGED_IN"
        );
        assert_eq!(ckr_code(RvError::UserAlreadyLoggedIn), 0x100);
        assert_eq!(ckr_name(RvError::PinIncorrect), "CKR_PIN_INCORRECT");
        assert_eq!(ckr_code(RvError::PinIncorrect), 0xA0);
        assert_eq!(ckr_code(RvError::MechanismInvalid), 0x70);
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
    }
}
