//! Card-side parsing of command APDUs (short and extended, cases 1 to 4).

/// A parsed command APDU.
#[derive(Debug)]
pub(crate) struct Command<'a> {
    pub(crate) cla: u8,
    pub(crate) ins: u8,
    pub(crate) p1: u8,
    pub(crate) p2: u8,
    pub(crate) data: &'a [u8],
    /// Ne (0 = none; 256 or 65536 for `00`/`0000`).
    pub(crate) ne: usize,
}

impl<'a> Command<'a> {
    pub(crate) fn parse(raw: &'a [u8]) -> Option<Self> {
        let (header, body) = raw.split_at_checked(4)?;
        let [cla, ins, p1, p2] = <[u8; 4]>::try_from(header).ok()?;
        let (data, ne): (&[u8], usize) = match body {
            [] => (&[], 0),
            [le] => (&[], if *le == 0 { 256 } else { usize::from(*le) }),
            [0, rest @ ..] if rest.len() >= 2 => {
                let (lb, after) = rest.split_at_checked(2)?;
                let n = usize::from(u16::from_be_bytes(<[u8; 2]>::try_from(lb).ok()?));
                if after.is_empty() {
                    // case 2 extended
                    (&[], if n == 0 { 65_536 } else { n })
                } else {
                    let (data, le) = after.split_at_checked(n)?;
                    let ne = match le {
                        [] => 0,
                        [a, b] => {
                            let n = usize::from(u16::from_be_bytes([*a, *b]));
                            if n == 0 { 65_536 } else { n }
                        }
                        _ => return None,
                    };
                    (data, ne)
                }
            }
            [lc, rest @ ..] => {
                let (data, le) = rest.split_at_checked(usize::from(*lc))?;
                let ne = match le {
                    [] => 0,
                    [0] => 256,
                    [n] => usize::from(*n),
                    _ => return None,
                };
                (data, ne)
            }
        };
        Some(Self {
            cla,
            ins,
            p1,
            p2,
            data,
            ne,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::apdu::Apdu;

    #[test]
    fn parses_what_the_client_builds() {
        for (data, ne) in [
            (0usize, 0usize),
            (0, 8),
            (0, 256),
            (3, 0),
            (3, 256),
            (300, 0),
            (3, 512),
            (0, 65_536),
            (300, 65_536),
        ] {
            let a = Apdu::new(0x80, 0x68, 1, 2)
                .with_data(vec![7; data])
                .expect(ne);
            let enc = a.encode();
            let c = Command::parse(&enc).unwrap();
            assert_eq!((c.cla, c.ins, c.p1, c.p2), (0x80, 0x68, 1, 2));
            assert_eq!(c.data.len(), data);
            assert_eq!(c.ne, ne, "{data} {ne}");
        }
        assert!(Command::parse(&[0, 1, 2]).is_none());
        assert!(Command::parse(&[0, 1, 2, 3, 5, 1]).is_none());
    }
}
