//! From what the N200 answers to [`hsm_core::ErrorKind`].
//!
//! Every failed answer gets its kind here, from the HTTP status and the device's error text (an
//! `error` field, or a `result` starting with `error`/`fail`):
//!
//! - the HTTP status goes through hsm-core's one table of the REST backends,
//!   [`ErrorKind::from_http_status`] (401 `AuthenticationFailed`, 403 `PermissionDenied`, 404
//!   `NotFound`, 409 `AlreadyExists`, 400/413/414/422 `InvalidInput`, 408/504 `Timeout`,
//!   429/502/503 `Unavailable`, 500 `Device`, ...): the N200's statuses are not public, so it
//!   gets the meanings every REST backend uses;
//! - the device's texts have their own table here, [`DOCUMENTED_TEXTS`]: whole phrases the
//!   public record shows. Such a text refines a generic status (400, 500) and decides in a 2xx
//!   answer; any other text in a 2xx answer is `Device`, and a specific status is never
//!   overridden by a text.
//!
//! | status | device text | kind |
//! |---|---|---|
//! | 400, 500 | a documented text | the text's kind |
//! | 2xx | a documented text | the text's kind |
//! | 2xx | any other text | `Device` |
//! | any other error status, or 400/500 without a documented text | any | [`ErrorKind::from_http_status`] |
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
/// text takes the text's kind; any other error status keeps its own
/// ([`ErrorKind::from_http_status`]); a 2xx with an undocumented text is [`ErrorKind::Device`].
pub fn answer_kind(status: u16, device_text: Option<&str>) -> ErrorKind {
    let documented = device_text
        .map(text_kind)
        .filter(|k| *k != ErrorKind::Device);
    match (status, documented) {
        (400 | 500, Some(kind)) => kind,
        (200..=299, text) => text.unwrap_or(ErrorKind::Device),
        _ => ErrorKind::from_http_status(status),
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
        // The status rows follow hsm-core's table; a few spot checks of it here, the texts'
        // rows in full.
        let rows: &[(u16, Option<&str>, ErrorKind)] = &[
            (400, None, ErrorKind::InvalidInput),
            (413, None, ErrorKind::InvalidInput),
            (405, Some("access denied"), ErrorKind::Unsupported),
            (423, None, ErrorKind::InvalidState),
            (500, None, ErrorKind::Device),
            (507, None, ErrorKind::Unavailable),
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
        // Without a documented text every error status is hsm-core's kind.
        for status in 300..=599 {
            if status != 400 && status != 500 {
                assert_eq!(
                    answer_kind(status, Some("access denied")),
                    ErrorKind::from_http_status(status),
                    "{status}"
                );
            }
            assert_eq!(
                answer_kind(status, Some("key mapping failed")),
                ErrorKind::from_http_status(status),
                "{status}"
            );
        }
    }
}
