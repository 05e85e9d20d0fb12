//! RFC 7512 `pkcs11:` URIs (hsm-pkcs11 `Pkcs11Uri::parse`). The crate has no writer, so this
//! target carries one (every value percent-encoded except RFC 3986 unreserved characters): what
//! parses, written out, parses to the same URI. Also: the values of an accepted URI have only
//! well-formed percent escapes (`%` and two hex digits), as the RFC's grammar and the module's
//! docs require.

use std::fmt::Write as _;

use hsm_pkcs11::{ObjectType, PinSource, Pkcs11Uri};
use secrecy::ExposeSecret as _;

/// The input is the URI text.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(uri) = Pkcs11Uri::parse(text) else {
        return;
    };
    assert!(
        escapes_well_formed(text),
        "accepted a malformed percent escape: {text:?}"
    );
    // Vendor attribute names are kept raw; a name with a delimiter in it cannot move between
    // path and query, so the writer below cannot reproduce it.
    if uri.vendor.iter().any(|(name, _)| {
        !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.~".contains(&b))
    }) {
        return;
    }
    let written = write(&uri);
    let again = Pkcs11Uri::parse(&written).expect("a written URI parses");
    assert_eq!(
        summary(&again),
        summary(&uri),
        "parse(write(uri)) == uri for {written}"
    );
}

/// Every `%` in an attribute value starts `%` + two hex digits (RFC 3986 `pct-encoded`).
/// Attribute names are not checked: the parser keeps vendor names raw.
fn escapes_well_formed(text: &str) -> bool {
    let rest = text.get(7..).unwrap_or_default();
    rest.split([';', '?', '&'])
        .filter_map(|part| part.split_once('=').map(|(_, value)| value.as_bytes()))
        .all(|v| {
            v.iter()
                .enumerate()
                .filter(|(_, c)| **c == b'%')
                .all(|(i, _)| {
                    v.get(i + 1..i + 3)
                        .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
                })
        })
}

fn enc(out: &mut String, value: &[u8]) {
    for &b in value {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

fn write(u: &Pkcs11Uri) -> String {
    let mut path: Vec<(String, Vec<u8>)> = Vec::new();
    let mut text = |name: &str, v: &Option<String>| {
        if let Some(v) = v {
            path.push((name.to_owned(), v.as_bytes().to_vec()));
        }
    };
    text("token", &u.token);
    text("manufacturer", &u.manufacturer);
    text("serial", &u.serial);
    text("model", &u.model);
    text("library-manufacturer", &u.library_manufacturer);
    text("library-description", &u.library_description);
    text("slot-description", &u.slot_description);
    text("slot-manufacturer", &u.slot_manufacturer);
    text("object", &u.object);
    if let Some((major, minor)) = u.library_version {
        path.push((
            "library-version".into(),
            format!("{major}.{minor}").into_bytes(),
        ));
    }
    if let Some(slot) = u.slot_id {
        path.push(("slot-id".into(), slot.to_string().into_bytes()));
    }
    if let Some(id) = &u.id {
        path.push(("id".into(), id.clone()));
    }
    if let Some(t) = u.object_type {
        let t = match t {
            ObjectType::Public => "public",
            ObjectType::Private => "private",
            ObjectType::Cert => "cert",
            ObjectType::SecretKey => "secret-key",
            ObjectType::Data => "data",
        };
        path.push(("type".into(), t.as_bytes().to_vec()));
    }
    for (name, value) in &u.vendor {
        path.push((name.clone(), value.as_bytes().to_vec()));
    }
    let mut query: Vec<(&str, Vec<u8>)> = Vec::new();
    if let Some(p) = &u.module_path {
        query.push(("module-path", p.to_string_lossy().as_bytes().to_vec()));
    }
    if let Some(n) = &u.module_name {
        query.push(("module-name", n.as_bytes().to_vec()));
    }
    match &u.pin {
        Some(PinSource::Value(v)) => {
            query.push(("pin-value", v.expose_secret().as_bytes().to_vec()))
        }
        Some(PinSource::File(p)) => {
            let mut v = b"file:".to_vec();
            v.extend_from_slice(p.to_string_lossy().as_bytes());
            query.push(("pin-source", v));
        }
        Some(PinSource::Env(e)) => query.push(("pin-env", e.as_bytes().to_vec())),
        None => {}
    }
    let mut out = String::from("pkcs11:");
    for (i, (name, value)) in path.iter().enumerate() {
        if i > 0 {
            out.push(';');
        }
        out.push_str(name);
        out.push('=');
        enc(&mut out, value);
    }
    for (i, (name, value)) in query.iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        out.push_str(name);
        out.push('=');
        enc(&mut out, value);
    }
    out
}

/// Every field, comparable (the PIN included: this is a test of the parser).
fn summary(u: &Pkcs11Uri) -> String {
    let pin = match &u.pin {
        Some(PinSource::Value(v)) => format!("value {:?}", v.expose_secret()),
        other => format!("{other:?}"),
    };
    format!(
        "{:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {pin} {:?}",
        u.token,
        u.manufacturer,
        u.serial,
        u.model,
        u.library_manufacturer,
        u.library_description,
        u.library_version,
        u.slot_description,
        u.slot_manufacturer,
        u.slot_id,
        u.object,
        u.id,
        u.object_type,
        u.module_path,
        u.module_name,
        u.vendor,
    )
}
