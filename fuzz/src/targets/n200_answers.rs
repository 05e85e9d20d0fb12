//! The N200's JSON answers (hsm-n200 `parse`, the code the client runs on every answer): the
//! status/content-type/body step, and the typed answers of `genecckey`, `importecckey`,
//! `listkeys`/`getkeyattributes`, `getrandom`, `timestamp`, `encrypt`/`decrypt`, signatures and
//! verification. Errors stay bounded in size whatever the device sends.

use hsm_core::{Curve, Error, SignAlgorithm};
use hsm_n200::RawResponse;
use hsm_n200::protocol::parse;

const STATUSES: [u16; 8] = [200, 201, 400, 401, 404, 409, 500, 503];
const CONTENT_TYPES: [Option<&str>; 3] = [Some("application/json"), None, Some("text/html")];

/// The longest error text accepted: the crate keeps at most 4 KiB of a body.
const MAX_ERROR_TEXT: usize = 16 * 1024;

/// Three selector bytes (status and content type, a byte count, a curve), then the body.
pub fn run(data: &[u8]) {
    let Some((&[s, n, c], body)) = data.split_first_chunk::<3>() else {
        return;
    };
    let status = STATUSES[usize::from(s) % STATUSES.len()];
    let content_type = CONTENT_TYPES[usize::from(s >> 4) % CONTENT_TYPES.len()];
    match parse::answer(status, content_type, body) {
        Ok(_) => assert!(
            (200..300).contains(&status),
            "a {status} answer is an error"
        ),
        Err(e) => bounded(&e),
    }

    check(parse::generated_key(body).map(drop));
    check(parse::key_id(body).map(drop));
    check(parse::text_result(body).map(drop));
    check(parse::timestamp(body).map(drop));
    check(parse::verification(body).map(drop));
    check(parse::key_list(body).map(drop));
    let n = usize::from(n);
    match parse::random(body, n) {
        Ok(r) => assert_eq!(r.bytes.len(), n, "getrandom for {n} bytes"),
        Err(e) => bounded(&e),
    }
    let curve = Curve::ALL[usize::from(c) % Curve::ALL.len()];
    match parse::ecdsa_signature(body, SignAlgorithm::EcdsaSha256, curve) {
        Ok(sig) => assert_eq!(sig.to_raw().len(), 2 * curve.field_len()),
        Err(e) => bounded(&e),
    }
    let modulus_len = n * 2 + 1;
    match parse::rsa_signature(body, SignAlgorithm::RsaPkcs1Sha256, modulus_len) {
        Ok(sig) => assert_eq!(sig.as_raw().len(), modulus_len),
        Err(e) => bounded(&e),
    }
}

fn check(r: hsm_core::Result<()>) {
    if let Err(e) = r {
        bounded(&e);
    }
}

/// The error, its Debug form and the raw answer kept in it are bounded.
fn bounded(e: &Error) {
    let text = e.to_string();
    assert!(
        text.len() <= MAX_ERROR_TEXT,
        "error text of {} bytes",
        text.len()
    );
    assert!(format!("{e:?}").len() <= 2 * MAX_ERROR_TEXT);
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(raw) = s.downcast_ref::<RawResponse>() {
            assert!(
                raw.body().len() <= 4096 + 3,
                "kept body of {} bytes",
                raw.body().len()
            );
        }
        source = s.source();
    }
}
