//! Files in the simulated card: ENUMERATE, READ/UPDATE BINARY, DELETE.

use super::{Reply, SimCard, ok};
use crate::protocol::tlv;
use crate::sim::command::Command;
use crate::sim::keys::SimResult;

fn offset(data: &[u8]) -> SimResult<(usize, &[u8])> {
    let (t, _, rest) = tlv::parse_one(data).map_err(|_| 0x6A80u16)?;
    if t.tag != 0x54 || t.value.is_empty() || t.value.len() > 4 {
        return Err(0x6A80);
    }
    let off = t
        .value
        .iter()
        .fold(0usize, |a, b| (a << 8) | usize::from(*b));
    Ok((off, rest))
}

impl SimCard {
    pub(super) fn enumerate(&self) -> Vec<u8> {
        let mut fids: Vec<u16> = self
            .keys
            .keys()
            .map(|n| 0xCC00 | u16::from(*n))
            .chain(self.state.files.keys().copied())
            .collect();
        fids.sort_unstable();
        fids.iter().flat_map(|f| f.to_be_bytes()).collect()
    }

    fn target(&self, c: &Command<'_>) -> SimResult<u16> {
        match u16::from_be_bytes([c.p1, c.p2]) {
            0 => self.current_ef.ok_or(0x6986),
            f => Ok(f),
        }
    }

    pub(super) fn read_binary(&mut self, c: &Command<'_>) -> SimResult<Reply> {
        let (fid, off) = if c.ins == 0xB0 {
            (
                self.current_ef.ok_or(0x6986u16)?,
                usize::from(u16::from_be_bytes([c.p1 & 0x7F, c.p2])),
            )
        } else {
            (self.target(c)?, offset(c.data)?.0)
        };
        if fid >> 8 == 0xCC {
            return Err(0x6982);
        }
        if fid >> 8 == 0xCD {
            self.require_user()?;
        }
        let file = self.state.files.get(&fid).ok_or(0x6A82u16)?;
        self.current_ef = Some(fid);
        if off > file.len() {
            return Err(0x6B00);
        }
        let ne = if c.ne == 0 { 65_536 } else { c.ne };
        let rest = file.get(off..).unwrap_or(&[]);
        let n = rest.len().min(ne);
        let data = rest.get(..n).unwrap_or(&[]).to_vec();
        Ok((data, if n < ne { 0x6282 } else { 0x9000 }))
    }

    pub(super) fn update_binary(&mut self, c: &Command<'_>) -> SimResult<Reply> {
        let fid = self.target(c)?;
        let (off, rest) = offset(c.data)?;
        let (t, _, _) = tlv::parse_one(rest).map_err(|_| 0x6A80u16)?;
        if t.tag != 0x53 {
            return Err(0x6A80);
        }
        if fid >> 8 == 0xCC {
            return Err(0x6985);
        }
        self.require_user()?;
        let file = self.state.files.entry(fid).or_default();
        if file.len() < off + t.value.len() {
            file.resize(off + t.value.len(), 0);
        }
        if let Some(dst) = file.get_mut(off..off + t.value.len()) {
            dst.copy_from_slice(t.value);
        }
        self.current_ef = Some(fid);
        self.persist();
        ok(Vec::new())
    }

    pub(super) fn delete_file(&mut self, c: &Command<'_>) -> SimResult<Reply> {
        let fid = match c.data {
            [a, b] => u16::from_be_bytes([*a, *b]),
            _ => return Err(0x6A80),
        };
        self.require_user()?;
        if fid >> 8 == 0xCC {
            let n = (fid & 0xFF) as u8;
            if n == 0 {
                return Err(0x6982);
            }
            self.keys.remove(&n).ok_or(0x6A82u16)?;
        } else {
            self.state.files.remove(&fid).ok_or(0x6A82u16)?;
        }
        if self.current_ef == Some(fid) {
            self.current_ef = None;
        }
        self.persist();
        ok(Vec::new())
    }
}
