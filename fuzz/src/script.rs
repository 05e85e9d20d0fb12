//! Scripted answers for the device-facing targets: a fuzz input is a sequence of records, each
//! a big-endian `u16` length and that many bytes (the last record may be cut short). The seed
//! generator (`seedgen/`) records real answers of the simulators in the same form.

/// Splits `data` into records.
#[must_use]
pub fn split(mut data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while let Some((len, rest)) = data.split_first_chunk::<2>() {
        let len = usize::from(u16::from_be_bytes(*len)).min(rest.len());
        let (record, after) = rest.split_at(len);
        out.push(record);
        data = after;
    }
    out
}

/// Joins records (each at most 65535 bytes) into one input.
///
/// # Panics
/// If a record is longer than 65535 bytes.
#[must_use]
pub fn join<R: AsRef<[u8]>>(records: &[R]) -> Vec<u8> {
    let mut out = Vec::new();
    for r in records {
        let r = r.as_ref();
        let len = u16::try_from(r.len()).expect("a record fits in 64 KiB");
        out.extend(len.to_be_bytes());
        out.extend_from_slice(r);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_then_split() {
        let records: [&[u8]; 3] = [b"\x90\x00", b"", b"abc\x6a\x82"];
        assert_eq!(split(&join(&records)), records);
        assert_eq!(split(&[0, 5, 1, 2]), [&[1u8, 2][..]]);
        assert!(split(&[7]).is_empty());
    }
}
