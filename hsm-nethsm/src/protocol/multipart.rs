//! `multipart/form-data` bodies (RFC 7578) for PEM key import and restore: named parts, each
//! JSON or binary, under a boundary that occurs in none of them.

/// One part of a form.
pub(crate) struct Part<'a> {
    /// The form field name.
    pub(crate) name: &'static str,
    /// A file name, for file parts.
    pub(crate) file_name: Option<&'static str>,
    /// The part's content type.
    pub(crate) content_type: &'static str,
    /// The bytes.
    pub(crate) body: &'a [u8],
}

/// The `Content-Type` header value and the body of a form of a JSON `arguments` part and
/// `file`, for `operation`. The encoded arguments are zeroized once framed (a restore's carry
/// the backup passphrase).
pub(crate) fn with_arguments(
    operation: &'static str,
    arguments: &impl serde::Serialize,
    file: Part<'_>,
) -> hsm_core::Result<(String, Vec<u8>)> {
    let arguments = serde_json::to_vec(arguments).map_err(|e| {
        hsm_core::Error::invalid_input(operation, "cannot encode the request").with_source(e)
    })?;
    let arguments = zeroize::Zeroizing::new(arguments);
    let arguments = Part {
        name: "arguments",
        file_name: None,
        content_type: "application/json",
        body: &arguments,
    };
    Ok(encode(&[arguments, file]))
}

/// The `Content-Type` header value and the body of a form of `parts`.
pub(crate) fn encode(parts: &[Part<'_>]) -> (String, Vec<u8>) {
    let boundary = boundary_for(parts);
    let mut body = Vec::new();
    for part in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        let mut disposition = format!("Content-Disposition: form-data; name=\"{}\"", part.name);
        if let Some(file) = part.file_name {
            disposition.push_str(&format!("; filename=\"{file}\""));
        }
        body.extend_from_slice(disposition.as_bytes());
        body.extend_from_slice(
            format!("\r\nContent-Type: {}\r\n\r\n", part.content_type).as_bytes(),
        );
        body.extend_from_slice(part.body);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// A boundary found in no part (a counter makes it unique without randomness).
fn boundary_for(parts: &[Part<'_>]) -> String {
    let mut n = 0u64;
    loop {
        let candidate = format!("hsm-nethsm-form-boundary-{n:016x}");
        let needle = candidate.as_bytes();
        if !parts
            .iter()
            .any(|p| p.body.windows(needle.len()).any(|w| w == needle))
        {
            return candidate;
        }
        n += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_framed_and_the_boundary_avoids_their_content() {
        let clash = b"x hsm-nethsm-form-boundary-0000000000000000 y";
        let (content_type, body) = encode(&[
            Part {
                name: "arguments",
                file_name: None,
                content_type: "application/json",
                body: b"{}",
            },
            Part {
                name: "key_file",
                file_name: Some("key.pem"),
                content_type: "application/x-pem-file",
                body: clash,
            },
        ]);
        let boundary = content_type
            .strip_prefix("multipart/form-data; boundary=")
            .unwrap_or_default();
        assert_eq!(boundary, "hsm-nethsm-form-boundary-0000000000000001");
        let text = String::from_utf8_lossy(&body);
        assert!(text.starts_with(&format!("--{boundary}\r\n")));
        assert!(text.contains("name=\"key_file\"; filename=\"key.pem\""));
        assert!(text.ends_with(&format!("--{boundary}--\r\n")));
        assert_eq!(text.matches(&format!("--{boundary}")).count(), 3);
    }
}
