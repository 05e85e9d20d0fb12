//! The RFC 7512 parser behind [`Pkcs11Uri::parse`].

use std::path::PathBuf;

use hsm_core::{Error, Result};
use secrecy::SecretString;
use zeroize::Zeroizing;

use crate::protocol::uri::{ObjectType, PinSource, Pkcs11Uri};

const OP: &str = "pkcs11.uri";

fn bad(part: &str, why: impl std::fmt::Display) -> Error {
    Error::invalid_input(OP, format!("`{part}`: {why}"))
}

/// Parses a `pkcs11:` URI. See [`Pkcs11Uri`](super::Pkcs11Uri) for the grammar.
///
/// # Errors
/// [`ErrorKind::InvalidInput`](hsm_core::ErrorKind::InvalidInput) naming the offending part.
pub fn parse(uri: &str) -> Result<Pkcs11Uri> {
    let rest = uri
        .get(..7)
        .filter(|s| s.eq_ignore_ascii_case("pkcs11:"))
        .and_then(|_| uri.get(7..))
        .ok_or_else(|| Error::invalid_input(OP, "a PKCS#11 URI starts with `pkcs11:`"))?;
    if let Some(c) = rest.chars().find(|c| !c.is_ascii_graphic()) {
        return Err(Error::invalid_input(
            OP,
            format!("character {c:?} must be percent-encoded"),
        ));
    }
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let mut out = Pkcs11Uri::default();
    for part in path.split(';').filter(|p| !p.is_empty()) {
        let (name, value) = split_attr(part)?;
        path_attr(&mut out, part, name, value)?;
    }
    for part in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = split_attr(part)?;
        query_attr(&mut out, part, name, value)?;
    }
    Ok(out)
}

fn split_attr(part: &str) -> Result<(&str, &str)> {
    let (name, value) = part
        .split_once('=')
        .ok_or_else(|| bad(part, "expected `name=value`"))?;
    if name.is_empty() {
        return Err(bad(part, "empty attribute name"));
    }
    Ok((name, value))
}

/// Percent-decodes `value` into bytes, refusing a malformed escape.
fn decode_bytes(part: &str, value: &str) -> Result<Vec<u8>> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            // Two hex digits exactly: `u8::from_str_radix` alone would also take `+7`.
            let hex = bytes
                .get(i + 1..i + 3)
                .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| bad(part, "malformed percent escape"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    Ok(out)
}

fn decode_text(part: &str, value: &str) -> Result<String> {
    String::from_utf8(decode_bytes(part, value)?).map_err(|_| bad(part, "not UTF-8 after decoding"))
}

fn set<T>(slot: &mut Option<T>, part: &str, value: T) -> Result<()> {
    if slot.is_some() {
        return Err(bad(part, "attribute given twice"));
    }
    *slot = Some(value);
    Ok(())
}

fn path_attr(out: &mut Pkcs11Uri, part: &str, name: &str, value: &str) -> Result<()> {
    match name {
        "token" => set(&mut out.token, part, decode_text(part, value)?),
        "manufacturer" => set(&mut out.manufacturer, part, decode_text(part, value)?),
        "serial" => set(&mut out.serial, part, decode_text(part, value)?),
        "model" => set(&mut out.model, part, decode_text(part, value)?),
        "library-manufacturer" => set(
            &mut out.library_manufacturer,
            part,
            decode_text(part, value)?,
        ),
        "library-description" => set(
            &mut out.library_description,
            part,
            decode_text(part, value)?,
        ),
        "library-version" => {
            let text = decode_text(part, value)?;
            let (major, minor) = text.split_once('.').unwrap_or((&text, "0"));
            let version = major
                .parse()
                .ok()
                .zip(minor.parse().ok())
                .ok_or_else(|| bad(part, "expected `M` or `M.m`"))?;
            set(&mut out.library_version, part, version)
        }
        "slot-description" => set(&mut out.slot_description, part, decode_text(part, value)?),
        "slot-manufacturer" => set(&mut out.slot_manufacturer, part, decode_text(part, value)?),
        "slot-id" => {
            let id = decode_text(part, value)?
                .parse()
                .map_err(|_| bad(part, "slot-id is a decimal number"))?;
            set(&mut out.slot_id, part, id)
        }
        "object" => set(&mut out.object, part, decode_text(part, value)?),
        "id" => set(&mut out.id, part, decode_bytes(part, value)?),
        "type" => {
            let ty = match decode_text(part, value)?.as_str() {
                "public" => ObjectType::Public,
                "private" => ObjectType::Private,
                "cert" => ObjectType::Cert,
                "secret-key" => ObjectType::SecretKey,
                "data" => ObjectType::Data,
                _ => {
                    return Err(bad(
                        part,
                        "type is public, private, cert, secret-key or data",
                    ));
                }
            };
            set(&mut out.object_type, part, ty)
        }
        n if n.starts_with("x-") => {
            out.vendor.push((n.to_owned(), decode_text(part, value)?));
            Ok(())
        }
        _ => Err(bad(part, "unknown path attribute")),
    }
}

fn query_attr(out: &mut Pkcs11Uri, part: &str, name: &str, value: &str) -> Result<()> {
    match name {
        "module-path" => {
            if out.module_name.is_some() {
                return Err(bad(part, "give module-path or module-name, not both"));
            }
            set(
                &mut out.module_path,
                part,
                PathBuf::from(decode_text(part, value)?),
            )
        }
        "module-name" => {
            if out.module_path.is_some() {
                return Err(bad(part, "give module-path or module-name, not both"));
            }
            set(&mut out.module_name, part, decode_text(part, value)?)
        }
        // The part is not echoed for PIN values: it would put the PIN in the error.
        "pin-value" => {
            let pin = Zeroizing::new(decode_bytes("pin-value", value)?);
            let text = std::str::from_utf8(&pin)
                .map_err(|_| bad("pin-value", "not UTF-8 after decoding"))?;
            set_pin(out, "pin-value", PinSource::Value(SecretString::from(text)))
        }
        "pin-source" => {
            let text = decode_text(part, value)?;
            let path = text.strip_prefix("file:").unwrap_or(&text);
            if path.is_empty() || text.contains("://") && !text.starts_with("file:") {
                return Err(bad(part, "pin-source is `file:/path` or a path"));
            }
            set_pin(out, part, PinSource::File(PathBuf::from(path)))
        }
        "pin-env" => set_pin(out, part, PinSource::Env(decode_text(part, value)?)),
        "max-sessions" => {
            let n = decode_text(part, value)?
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| bad(part, "max-sessions is a decimal number of at least 1"))?;
            set(&mut out.max_sessions, part, n)
        }
        n if n.starts_with("x-") => {
            out.vendor.push((n.to_owned(), decode_text(part, value)?));
            Ok(())
        }
        _ => Err(bad(part, "unknown query attribute")),
    }
}

fn set_pin(out: &mut Pkcs11Uri, part: &str, pin: PinSource) -> Result<()> {
    if out.pin.is_some() {
        return Err(bad(part, "give one of pin-value, pin-source, pin-env"));
    }
    out.pin = Some(pin);
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use hsm_core::ErrorKind;
    use secrecy::ExposeSecret;

    const SEED_PRIVATE: &str = "pkcs11:model=N200%20core;manufacturer=sematiconAG;serial=201044558;token=hsm0101231A9FC2EA1393EE00000004;id=%F9%0F%B8%E7%9E%60;object=735952479;type=private";

    #[test]
    fn seed_001_uris_parse() {
        let u = parse(SEED_PRIVATE).unwrap();
        assert_eq!(u.model.as_deref(), Some("N200 core"));
        assert_eq!(u.manufacturer.as_deref(), Some("sematiconAG"));
        assert_eq!(u.serial.as_deref(), Some("201044558"));
        assert_eq!(u.token.as_deref(), Some("hsm0101231A9FC2EA1393EE00000004"));
        assert_eq!(
            u.id.as_deref(),
            Some(&[0xF9, 0x0F, 0xB8, 0xE7, 0x9E, 0x60][..])
        );
        assert_eq!(u.object.as_deref(), Some("735952479"));
        assert_eq!(u.object_type, Some(ObjectType::Private));
        let public = SEED_PRIVATE.replace("type=private", "type=public");
        assert_eq!(
            parse(&public).unwrap().object_type,
            Some(ObjectType::Public)
        );
        let short =
            parse("pkcs11:serial=201044558;token=hsm0101231A9FC2EA1393EE00000004;object=735952479")
                .unwrap();
        assert_eq!(short.object.as_deref(), Some("735952479"));
        assert!(short.id.is_none());
        let token_only = parse("pkcs11:model=N200%20core;manufacturer=sematiconAG;serial=201044558;token=hsm0101231A9FC2EA1393EE00000004").unwrap();
        assert!(token_only.object.is_none());
    }

    #[test]
    fn query_attributes() {
        let u = parse("pkcs11:token=my%20token;slot-id=7?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-value=12%2534").unwrap();
        assert_eq!(u.token.as_deref(), Some("my token"));
        assert_eq!(u.slot_id, Some(7));
        assert_eq!(
            u.module_path,
            Some(PathBuf::from("/usr/lib/softhsm/libsofthsm2.so"))
        );
        match u.pin {
            Some(PinSource::Value(p)) => assert_eq!(p.expose_secret(), "12%34"),
            other => panic!("{other:?}"),
        }
        let u = parse("pkcs11:?module-name=softhsm2&pin-source=file:/run/pin").unwrap();
        assert_eq!(u.module_name.as_deref(), Some("softhsm2"));
        assert!(matches!(u.pin, Some(PinSource::File(ref p)) if p == &PathBuf::from("/run/pin")));
        let u = parse("pkcs11:library-version=2.6;x-vendor=a?pin-env=PIN&x-q=b").unwrap();
        assert_eq!(u.library_version, Some((2, 6)));
        assert_eq!(u.vendor.len(), 2);
        assert!(matches!(u.pin, Some(PinSource::Env(ref v)) if v == "PIN"));
        assert!(parse("pkcs11:").unwrap().token.is_none());
        let u = parse("pkcs11:token=t?module-name=softhsm2&max-sessions=24").unwrap();
        assert_eq!(u.max_sessions, Some(24));
        assert!(parse("pkcs11:token=t").unwrap().max_sessions.is_none());
    }

    #[test]
    fn malformed_parts_are_named() {
        for (uri, part) in [
            ("pkcs11:tokn=x", "tokn=x"),
            ("pkcs11:id=%zz", "id=%zz"),
            ("pkcs11:id=%0", "id=%0"),
            ("pkcs11:id=%+7", "id=%+7"),
            // fuzz/regressions/pkcs11_uri/percent-plus-escape
            ("pkcs11:token=%+7", "token=%+7"),
            ("pkcs11:token=a%-1", "token=a%-1"),
            ("pkcs11:token=a;token=b", "token=b"),
            ("pkcs11:slot-id=one", "slot-id=one"),
            ("pkcs11:type=key", "type=key"),
            ("pkcs11:token", "token"),
            ("pkcs11:?bogus=1", "bogus=1"),
            ("pkcs11:?module-path=/a&module-name=b", "module-name=b"),
            ("pkcs11:?pin-env=A&pin-source=/f", "pin-source=/f"),
            ("pkcs11:?max-sessions=0", "max-sessions=0"),
            ("pkcs11:?max-sessions=-2", "max-sessions=-2"),
            ("pkcs11:?max-sessions=lots", "max-sessions=lots"),
            ("pkcs11:?max-sessions=4&max-sessions=8", "max-sessions=8"),
        ] {
            let e = parse(uri).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{uri}");
            assert!(e.to_string().contains(part), "{uri}: {e}");
        }
        assert!(parse("pkcs11:token=a b").is_err());
        assert!(parse("nethsm://x").is_err());
    }

    /// Every prefix of the seed URIs, and every one with one byte replaced by a character that
    /// matters to the grammar (or a non-ASCII one), parses or gives `InvalidInput`: no panic.
    #[test]
    fn malformed_uris_are_errors_never_panics() {
        let seeds = [
            SEED_PRIVATE,
            "pkcs11:token=my%20token;slot-id=7;library-version=2.6?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-value=12%2534&x-a=b",
            "pkcs11:?module-name=softhsm2&pin-source=file:/run/pin",
        ];
        let specials = [
            '%',
            ';',
            '?',
            '&',
            '=',
            ':',
            '.',
            '\u{e9}',
            '\u{1F512}',
            ' ',
            '\0',
        ];
        let mut tried = 0;
        for seed in seeds {
            let chars: Vec<char> = seed.chars().collect();
            for cut in 0..=chars.len() {
                let prefix: String = chars[..cut].iter().collect();
                let variants = std::iter::once(prefix.clone()).chain((0..cut).flat_map(|at| {
                    let chars = &chars;
                    specials.iter().map(move |c| {
                        let mut v = chars[..cut].to_vec();
                        v[at] = *c;
                        v.into_iter().collect::<String>()
                    })
                }));
                for uri in variants {
                    tried += 1;
                    if let Err(e) = parse(&uri) {
                        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{uri}: {e}");
                    }
                }
            }
        }
        assert!(tried > 10_000, "{tried}");
    }

    #[test]
    fn pin_never_in_errors_or_debug() {
        let e = parse("pkcs11:?pin-value=S3cr3t&pin-value=S3cr3t").unwrap_err();
        assert!(!e.to_string().contains("S3cr3t"), "{e}");
        let e = parse("pkcs11:?pin-value=S3cr3t%zz").unwrap_err();
        assert!(!e.to_string().contains("S3cr3t"), "{e}");
        let u = parse("pkcs11:?pin-value=S3cr3t").unwrap();
        assert!(!format!("{u:?}").contains("S3cr3t"));
    }
}
