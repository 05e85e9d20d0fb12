//! hsm-sc's BER-TLV reader (`tlv::parse_one`, `parse_all`, `find`, `Tlv::children`) against its
//! writer (`tlv::write`): what parses re-encodes to TLVs that parse to the same tags and values.

use hsm_sc::protocol::tlv::{self, Tlv};

/// Nesting followed into constructed values.
const MAX_DEPTH: usize = 8;

/// The input is a concatenation of TLVs.
pub fn run(data: &[u8]) {
    if let Ok((first, whole, rest)) = tlv::parse_one(data) {
        assert_eq!(whole.len() + rest.len(), data.len());
        assert!(data.starts_with(whole) && data.ends_with(rest));
        assert!(whole.ends_with(first.value));
        assert_eq!(
            tlv::find(data, first.tag).expect("the first TLV parsed"),
            Some(first.value)
        );
    }
    if let Ok(all) = tlv::parse_all(data) {
        round_trip(&all, 0);
    }
}

fn round_trip(all: &[Tlv<'_>], depth: usize) {
    let mut again = Vec::new();
    for t in all {
        tlv::write(&mut again, t.tag, t.value);
    }
    let reparsed = tlv::parse_all(&again).expect("what tlv::write produced parses");
    assert_eq!(reparsed, all, "parse(write(parse(x))) == parse(x)");
    if depth < MAX_DEPTH {
        for t in all.iter().filter(|t| t.is_constructed()) {
            if let Ok(children) = t.children() {
                round_trip(&children, depth + 1);
            }
        }
    }
}
