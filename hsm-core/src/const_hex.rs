//! Compile-time hex: fixed byte arrays (curve orders, domain parameters, test vectors) written
//! as the hex strings their standards print, decoded while the crate builds.

/// Decodes `hex`, lowercase hex digits and exactly `2 * N` of them, into `N` bytes.
///
/// Meant for `const` items, where a wrong length or a character that is not a lowercase hex
/// digit fails the build:
///
/// ```
/// const ORDER_P256: [u8; 32] = hsm_core::const_hex::decode(
///     "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551",
/// );
/// assert_eq!(ORDER_P256[..4], [0xff, 0xff, 0xff, 0xff]);
/// assert_eq!(ORDER_P256[31], 0x51);
/// ```
///
/// ```compile_fail
/// const SHORT: [u8; 2] = hsm_core::const_hex::decode("abc");
/// ```
///
/// # Panics
/// On a wrong length or a character outside `0-9a-f` (a build error in a `const` item). Never
/// call it at run time on data from outside: it is for literals in the source.
// Only ever meant for `const` items: an index out of range or a panic is a compile error.
#[allow(clippy::indexing_slicing, clippy::panic)]
#[must_use]
pub const fn decode<const N: usize>(hex: &str) -> [u8; N] {
    const fn nibble(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => panic!("not a lowercase hex digit"),
        }
    }
    let digits = hex.as_bytes();
    assert!(digits.len() == 2 * N, "hex string of the wrong length");
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        out[i] = (nibble(digits[2 * i]) << 4) | nibble(digits[2 * i + 1]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::decode;

    #[test]
    fn decodes_every_digit_at_run_time_too() {
        let bytes: [u8; 8] = decode("0123456789abcdef");
        assert_eq!(bytes, [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef]);
    }

    #[test]
    #[should_panic(expected = "not a lowercase hex digit")]
    fn refuses_uppercase() {
        let _: [u8; 1] = decode("AB");
    }

    #[test]
    #[should_panic(expected = "wrong length")]
    fn refuses_a_wrong_length() {
        let _: [u8; 2] = decode("abcdef");
    }
}
