//! The one table from what the N200 answers to [`hsm_core::ErrorKind`].
//!
//! Every failed answer gets its kind here, from the HTTP status and the device's error text (an
//! `error` field, or a `result` starting with `error`/`fail`):
//!
//! | status | device text | kind |
//! |---|---|---|
//! | 400, 422 | none or undocumented | `InvalidInput` |
//! | 401 | any | `AuthenticationFailed` |
//! | 403 | any | `PermissionDenied` |
//! | 404 | any | `NotFound` |
//! | 409 | any | `AlreadyExists` |
//! | 408, 504 | any | `Timeout` |
//! | 429, 502, 503 | any | `Unavailable` |
//! | 400, 500 | a documented text | the text's kind |
//! | 200 | a documented text | the text's kind |
//! | 200 | any other text | `Device` |
//! | any other | none or undocumented | `Device` |
//!
//! Documented texts ([`DOCUMENTED_TEXTS`]): `access denied` → `PermissionDenied`.
//!
//! A 2xx answer that is not a JSON object, or lacks the field its command is for, is
//! `Protocol` ([`parse::answer`](crate::protocol::parse::answer)). The error's operation is
//! always `n200.<operation>` (for a device call the command's config name: `n200.gen_ecc_key`),
//! its status the HTTP status, and its source the [`RawResponse`](crate::RawResponse) with
//! secrets masked.

use hsm_core::ErrorKind;

/// The kind of a failed answer: a generic status (400, 500) or a 2xx with a documented device
/// text takes the text's kind; any other error status keeps its own ([`status_kind`]); a 2xx
/// with an undocumented text is [`ErrorKind::Device`].
pub fn answer_kind(status: u16, device_text: Option<&str>) -> ErrorKind {
    let documented = device_text
        .map(text_kind)
        .filter(|k| *k != ErrorKind::Device);
    match (status, documented) {
        (400 | 500, Some(kind)) => kind,
        (200..=299, text) => text.unwrap_or(ErrorKind::Device),
        _ => status_kind(status),
    }
}

/// Maps an HTTP status to a kind. The N200's error statuses are not public; these are the usual
/// meanings.
pub fn status_kind(status: u16) -> ErrorKind {
    match status {
        400 | 422 => ErrorKind::InvalidInput,
        401 => ErrorKind::AuthenticationFailed { retries_left: None },
        403 => ErrorKind::PermissionDenied,
        404 => ErrorKind::NotFound,
        409 => ErrorKind::AlreadyExists,
        408 | 504 => ErrorKind::Timeout,
        429 | 502 | 503 => ErrorKind::Unavailable,
        _ => ErrorKind::Device,
    }
}

/// Device error texts whose meaning is public, each with its kind. Only whole texts count
/// (compared without case, surrounding blanks and a final full stop): a text that merely
/// contains a word such as "exist" or "pin" says nothing reliable ("key does not exist",
/// "mapping"), so it is left to the HTTP status, or is [`ErrorKind::Device`] with the text kept.
///
/// - `access denied`: what the appliance answered a user without an access rule (seed 000,
///   the jpmens.net review).
///
/// The N200's error format is not public (`reference/n200.md`, section 2): add a phrase here
/// only with its public source.
pub const DOCUMENTED_TEXTS: &[(&str, ErrorKind)] =
    &[("access denied", ErrorKind::PermissionDenied)];

/// The kind a device error text means: a [`DOCUMENTED_TEXTS`] phrase, or
/// [`ErrorKind::Device`] for any other text.
pub fn text_kind(text: &str) -> ErrorKind {
    let text = text.trim();
    let text = text.strip_suffix('.').unwrap_or(text).trim_end();
    DOCUMENTED_TEXTS
        .iter()
        .find(|(phrase, _)| text.eq_ignore_ascii_case(phrase))
        .map_or(ErrorKind::Device, |(_, kind)| *kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every row of the module's table.
    #[test]
    fn the_documented_table_holds() {
        let auth = ErrorKind::AuthenticationFailed { retries_left: None };
        let rows: &[(u16, Option<&str>, ErrorKind)] = &[
            (400, None, ErrorKind::InvalidInput),
            (422, Some("bad"), ErrorKind::InvalidInput),
            (401, Some("access denied"), auth),
            (403, None, ErrorKind::PermissionDenied),
            (404, Some("access denied"), ErrorKind::NotFound),
            (409, None, ErrorKind::AlreadyExists),
            (408, None, ErrorKind::Timeout),
            (504, None, ErrorKind::Timeout),
            (429, None, ErrorKind::Unavailable),
            (502, None, ErrorKind::Unavailable),
            (503, Some("access denied"), ErrorKind::Unavailable),
            (400, Some("Access denied."), ErrorKind::PermissionDenied),
            (500, Some("access denied"), ErrorKind::PermissionDenied),
            (500, Some("key not found"), ErrorKind::Device),
            (200, Some("access denied"), ErrorKind::PermissionDenied),
            (200, Some("error: something"), ErrorKind::Device),
            (418, None, ErrorKind::Device),
            (301, None, ErrorKind::Device),
        ];
        for (status, text, kind) in rows {
            assert_eq!(answer_kind(*status, *text), *kind, "{status} {text:?}");
        }
    }
}
