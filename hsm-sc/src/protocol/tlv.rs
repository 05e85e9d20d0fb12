//! BER-TLV as the SmartCard-HSM uses it (ISO/IEC 7816-4 and BSI TR-03110): multi-byte tags, lengths
//! in short form or `81`/`82`/`83` long form. Parsing never trusts a length: every slice is checked.

use hsm_core::{Error, Result};

const OP: &str = "sc-hsm.tlv";

/// One parsed TLV: its tag (as the raw tag bytes packed big-endian, e.g. `0x7F49`) and value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// The tag, e.g. `0x30`, `0x5F20`, `0x7F21`.
    pub tag: u32,
    /// The value bytes.
    pub value: &'a [u8],
}

impl<'a> Tlv<'a> {
    /// Whether the tag marks a constructed encoding (bit 6 of its first byte).
    #[must_use]
    pub fn is_constructed(&self) -> bool {
        first_tag_byte(self.tag) & 0x20 != 0
    }

    /// Parses the value as a sequence of TLVs.
    ///
    /// # Errors
    /// [`hsm_core::ErrorKind::Protocol`] if the value is not well-formed BER-TLV.
    pub fn children(&self) -> Result<Vec<Tlv<'a>>> {
        parse_all(self.value)
    }

    /// The value of the first direct child with `tag`.
    ///
    /// # Errors
    /// [`hsm_core::ErrorKind::Protocol`] if the value is not well-formed BER-TLV.
    pub fn child(&self, tag: u32) -> Result<Option<&'a [u8]>> {
        find(self.value, tag)
    }

    /// The value of the first direct child with `tag`, or a protocol error naming `what`.
    ///
    /// # Errors
    /// [`hsm_core::ErrorKind::Protocol`] if the value is malformed or the child is absent.
    pub fn require(&self, tag: u32, what: &str) -> Result<&'a [u8]> {
        self.child(tag)?
            .ok_or_else(|| Error::protocol(OP, format!("{what} (tag {tag:X}) is missing")))
    }
}

fn first_tag_byte(tag: u32) -> u8 {
    let bytes = tag.to_be_bytes();
    bytes.into_iter().find(|b| *b != 0).unwrap_or(0)
}

/// Parses one TLV from the front of `input`; returns it, the whole encoded TLV, and the rest.
///
/// # Errors
/// [`hsm_core::ErrorKind::Protocol`] on a truncated tag, length or value.
pub fn parse_one(input: &[u8]) -> Result<(Tlv<'_>, &[u8], &[u8])> {
    let (&first, mut rest) = input
        .split_first()
        .ok_or_else(|| Error::protocol(OP, "empty input where a TLV was expected"))?;
    let mut tag = u32::from(first);
    if first & 0x1F == 0x1F {
        loop {
            let (&b, r) = rest
                .split_first()
                .ok_or_else(|| Error::protocol(OP, "truncated multi-byte tag"))?;
            rest = r;
            if tag > 0x00FF_FFFF {
                return Err(Error::protocol(OP, "tag longer than 4 bytes"));
            }
            tag = (tag << 8) | u32::from(b);
            if b & 0x80 == 0 {
                break;
            }
        }
    }
    let (&l0, r) = rest
        .split_first()
        .ok_or_else(|| Error::protocol(OP, format!("tag {tag:X} has no length")))?;
    rest = r;
    let len = match l0 {
        0..=0x7F => usize::from(l0),
        0x81..=0x83 => {
            let n = usize::from(l0 & 0x7F);
            let (lb, r) = rest
                .split_at_checked(n)
                .ok_or_else(|| Error::protocol(OP, format!("tag {tag:X}: truncated length")))?;
            rest = r;
            lb.iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b))
        }
        _ => {
            return Err(Error::protocol(
                OP,
                format!("tag {tag:X}: unsupported length byte {l0:02X}"),
            ));
        }
    };
    let (value, after) = rest.split_at_checked(len).ok_or_else(|| {
        Error::protocol(
            OP,
            format!("tag {tag:X}: length {len} but {} bytes left", rest.len()),
        )
    })?;
    let whole_len = input.len() - after.len();
    let whole = input.get(..whole_len).unwrap_or(input);
    Ok((Tlv { tag, value }, whole, after))
}

/// Parses a concatenation of TLVs. Padding bytes `00`/`FF` between them are not allowed.
///
/// # Errors
/// [`hsm_core::ErrorKind::Protocol`] if any element is malformed.
pub fn parse_all(mut input: &[u8]) -> Result<Vec<Tlv<'_>>> {
    let mut out = Vec::new();
    while !input.is_empty() {
        let (tlv, _, rest) = parse_one(input)?;
        out.push(tlv);
        input = rest;
    }
    Ok(out)
}

/// The value of the first TLV with `tag` among the top-level TLVs of `input`.
///
/// # Errors
/// [`hsm_core::ErrorKind::Protocol`] if `input` is malformed before the tag is found.
pub fn find(mut input: &[u8], tag: u32) -> Result<Option<&[u8]>> {
    while !input.is_empty() {
        let (tlv, _, rest) = parse_one(input)?;
        if tlv.tag == tag {
            return Ok(Some(tlv.value));
        }
        input = rest;
    }
    Ok(None)
}

/// Appends the tag bytes of `tag` (without leading zero bytes).
pub fn write_tag(out: &mut Vec<u8>, tag: u32) {
    let bytes = tag.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count().min(3);
    out.extend(bytes.iter().skip(skip));
}

/// Appends a BER length.
pub fn write_len(out: &mut Vec<u8>, len: usize) {
    match len {
        0..=0x7F => out.push(len as u8),
        0x80..=0xFF => out.extend([0x81, len as u8]),
        0x100..=0xFFFF => out.extend([0x82, (len >> 8) as u8, len as u8]),
        0x1_0000..=0xFF_FFFF => out.extend([0x83, (len >> 16) as u8, (len >> 8) as u8, len as u8]),
        _ => {
            // Longer than any card object (and than `parse_one` accepts), but written correctly.
            let bytes = len.to_be_bytes();
            let skip = bytes.iter().take_while(|b| **b == 0).count();
            out.push(0x80 | (bytes.len() - skip) as u8);
            out.extend(bytes.iter().skip(skip));
        }
    }
}

/// Appends one TLV.
pub fn write(out: &mut Vec<u8>, tag: u32, value: &[u8]) {
    write_tag(out, tag);
    write_len(out, value.len());
    out.extend_from_slice(value);
}

/// Encodes one TLV.
#[must_use]
pub fn encode(tag: u32, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 6);
    write(&mut out, tag, value);
    out
}

/// Strips leading zero bytes of an unsigned big-endian integer (keeping at least one byte).
#[must_use]
pub fn trim_unsigned(bytes: &[u8]) -> &[u8] {
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    let skip = skip.min(bytes.len().saturating_sub(1));
    bytes.get(skip..).unwrap_or(bytes)
}

/// DER INTEGER content for an unsigned big-endian value (adds a `00` when the top bit is set).
#[must_use]
pub fn der_unsigned(bytes: &[u8]) -> Vec<u8> {
    let t = trim_unsigned(bytes);
    let mut v = Vec::with_capacity(t.len() + 1);
    if t.first().is_some_and(|b| b & 0x80 != 0) {
        v.push(0);
    }
    v.extend_from_slice(t);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_multibyte_tags_and_long_lengths() {
        let value = vec![0xAB; 300];
        let enc = encode(0x7F49, &value);
        assert_eq!(&enc[..5], &[0x7F, 0x49, 0x82, 0x01, 0x2C]);
        let mut big = Vec::new();
        write_len(&mut big, 0x0100_0000);
        assert_eq!(big, [0x84, 0x01, 0, 0, 0]);
        big.clear();
        write_len(&mut big, 0xFF_FFFF);
        assert_eq!(big, [0x83, 0xFF, 0xFF, 0xFF]);
        let (tlv, whole, rest) = parse_one(&enc).unwrap();
        assert_eq!(tlv.tag, 0x7F49);
        assert!(tlv.is_constructed());
        assert_eq!(tlv.value, &value[..]);
        assert_eq!(whole.len(), enc.len());
        assert!(rest.is_empty());
        let short = encode(0x5F20, b"DESIM");
        assert_eq!(short, [0x5F, 0x20, 5, b'D', b'E', b'S', b'I', b'M']);
        let mid = encode(0x04, &[1; 200]);
        assert_eq!(&mid[..3], &[0x04, 0x81, 200]);
    }

    #[test]
    fn truncated_and_bogus_input_is_an_error_not_a_panic() {
        assert!(parse_one(&[]).is_err());
        for bad in [
            &[0x7F][..],
            &[0x7F, 0x49][..],
            &[0x30, 0x05, 1, 2][..],
            &[0x30, 0x82, 0x01][..],
            &[0x30, 0x84, 0, 0, 0, 1, 0][..],
            &[0x5F, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0x00][..],
        ] {
            assert!(parse_all(bad).is_err(), "{bad:02X?}");
        }
    }

    #[test]
    fn find_and_children() {
        let mut inner = encode(0x81, &[1, 2]);
        inner.extend(encode(0x86, &[4, 5, 6]));
        let outer = encode(0x7F49, &inner);
        let (tlv, _, _) = parse_one(&outer).unwrap();
        assert_eq!(tlv.child(0x86).unwrap(), Some(&[4u8, 5, 6][..]));
        assert_eq!(tlv.child(0x82).unwrap(), None);
        assert!(tlv.require(0x82, "exponent").is_err());
        assert_eq!(tlv.children().unwrap().len(), 2);
        assert_eq!(der_unsigned(&[0, 0, 0x80]), vec![0, 0x80]);
        assert_eq!(trim_unsigned(&[0, 0]), &[0]);
    }
}
