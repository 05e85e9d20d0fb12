//! N200 key ids, PKCS#11 token labels and sematicon `pkcs11:` URIs (hsm-n200 `labels`), both
//! ways, and checked against hsm-pkcs11's RFC 7512 parser: the two parsers agree on every URI
//! the N200 crate writes.

use hsm_n200::protocol::labels::{KeyIdent, Pkcs11KeyUri};
use hsm_pkcs11::Pkcs11Uri;

/// The input is text: a key id, token label or URI; after a newline, a key's nice name.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (first, nice_name) = text.split_once('\n').unwrap_or((text, "key"));

    if let Ok(id) = first.parse::<KeyIdent>() {
        assert!(KeyIdent::looks_like(id.as_str()));
        assert_eq!(id.to_string().parse::<KeyIdent>().ok().as_ref(), Some(&id));
        if let Ok(label) = id.token_label() {
            assert_eq!(KeyIdent::from_token_label(&label).ok().as_ref(), Some(&id));
            let uri = id
                .pkcs11_uri(nice_name)
                .expect("a key with a token label has a URI");
            let parsed: Pkcs11KeyUri = uri.parse().expect("our URI parses");
            assert_eq!(parsed.key_id().ok().as_ref(), Some(&id));
            assert_eq!(parsed.object.as_deref(), Some(nice_name));
            agree(&parsed);
        }
    }
    if let Ok(id) = KeyIdent::from_token_label(first) {
        assert_eq!(id.token_label().ok().as_deref(), Some(first));
    }
    if let Ok(uri) = first.parse::<Pkcs11KeyUri>() {
        let again: Pkcs11KeyUri = uri.to_string().parse().expect("a written URI parses");
        assert_eq!(again, uri, "parse(display(uri)) == uri");
        agree(&uri);
    }
}

/// hsm-pkcs11 reads what hsm-n200 writes the same way.
fn agree(uri: &Pkcs11KeyUri) {
    let text = uri.to_string();
    let other = Pkcs11Uri::parse(&text).expect("hsm-pkcs11 parses hsm-n200's URI");
    assert_eq!(other.token.as_deref(), Some(uri.token.as_str()), "{text}");
    assert_eq!(other.object, uri.object, "{text}");
    assert_eq!(other.serial, uri.serial, "{text}");
    assert_eq!(other.id, uri.id, "{text}");
}
