//! hsm-sc's APDU layer: response parsing and the status-word mapping (every `SW1 SW2` gives an
//! error with that status, `63Cx` with x tries left), and the command encoder checked by an
//! independent ISO/IEC 7816-4 decoder (short and extended cases 1 to 4).

use hsm_core::DeviceStatus;
use hsm_sc::PinStatus;
use hsm_sc::protocol::apdu::{Apdu, Response};
use hsm_sc::protocol::status::{StatusWord, error_for_status};

/// The input is a raw response `data || SW1 SW2`; its first 8 bytes also make a command.
pub fn run(data: &[u8]) {
    response(data);
    command(data);
}

fn response(data: &[u8]) {
    let r = match Response::parse(data.to_vec(), "fuzz") {
        Ok(r) => r,
        Err(_) => {
            assert!(data.len() < 2, "any two bytes are a status word");
            return;
        }
    };
    assert_eq!(r.to_bytes(), data);
    let sw = r.sw();
    assert_eq!(
        StatusWord(u16::from_be_bytes([
            data[data.len() - 2],
            data[data.len() - 1]
        ])),
        sw
    );
    let _ = (sw.to_string(), format!("{r:?}"));
    // The PIN status a VERIFY without data reports agrees with the error mapping.
    match PinStatus::from_status_word(sw) {
        Some(PinStatus::TriesLeft(n)) => assert_eq!(
            error_for_status(sw.0, "fuzz").retries_left(),
            Some(u32::from(n))
        ),
        Some(PinStatus::Verified) => assert!(sw.is_success()),
        Some(_) => assert!(!sw.is_success()),
        None => assert!(!sw.is_success() && sw.tries_left().is_none()),
    }
    match r.clone().success("fuzz") {
        Ok(payload) => {
            assert!(sw.is_success());
            assert_eq!(payload, r.data());
        }
        Err(e) => {
            assert!(!sw.is_success());
            assert_eq!(e.status(), Some(&DeviceStatus::StatusWord(sw.0)));
            if let Some(n) = sw.tries_left() {
                assert_eq!(e.retries_left(), Some(u32::from(n)));
            }
            let _ = (e.to_string(), format!("{e:?}"));
        }
    }
}

/// `CLA INS P1 P2 | Ne (3 bytes) | flags | data`.
fn command(data: &[u8]) {
    let Some((head, body)) = data.split_first_chunk::<8>() else {
        return;
    };
    let [cla, ins, p1, p2, n0, n1, n2, flags] = *head;
    let ne = usize::from(n0) << 16 | usize::from(n1) << 8 | usize::from(n2);
    let mut apdu = Apdu::new(cla, ins, p1, p2)
        .with_data(body.to_vec())
        .expect(ne);
    if flags & 1 != 0 {
        apdu = apdu.force_extended();
    }
    let encoded = apdu.encode();
    let decoded = decode(&encoded).expect("the encoder writes a valid ISO 7816-4 APDU");
    assert_eq!(decoded.header, [cla, ins, p1, p2]);
    assert_eq!(decoded.data, body, "Lc and the data field");
    assert_eq!(decoded.ne, apdu.ne(), "Le");
    assert_eq!(
        decoded.extended,
        apdu.is_extended() && (!body.is_empty() || ne > 0)
    );
}

struct Decoded<'a> {
    header: [u8; 4],
    data: &'a [u8],
    ne: usize,
    extended: bool,
}

/// ISO/IEC 7816-4 §5.1, written from the standard, not from the encoder.
fn decode(apdu: &[u8]) -> Option<Decoded<'_>> {
    let (header, body) = apdu.split_first_chunk::<4>()?;
    let short_le = |b: u8| if b == 0 { 256 } else { usize::from(b) };
    let ext_le = |h: u8, l: u8| match usize::from(h) << 8 | usize::from(l) {
        0 => 65_536,
        n => n,
    };
    let d = |data, ne, extended| Decoded {
        header: *header,
        data,
        ne,
        extended,
    };
    match body {
        [] => Some(d(&[], 0, false)),
        [le] => Some(d(&[], short_le(*le), false)),
        [0, h, l] => Some(d(&[], ext_le(*h, *l), true)),
        [0, h, l, rest @ ..] => {
            let lc = usize::from(*h) << 8 | usize::from(*l);
            if lc == 0 {
                return None;
            }
            match rest.len().checked_sub(lc)? {
                0 => Some(d(rest, 0, true)),
                2 => Some(d(&rest[..lc], ext_le(rest[lc], rest[lc + 1]), true)),
                _ => None,
            }
        }
        [lc, rest @ ..] => {
            let lc = usize::from(*lc);
            match rest.len().checked_sub(lc)? {
                0 => Some(d(rest, 0, false)),
                1 => Some(d(&rest[..lc], short_le(rest[lc]), false)),
                _ => None,
            }
        }
    }
}
