//! Keys in the simulated card: generation, SIGN, DECIPHER/ECDH, WRAP/UNWRAP.

use openssl::hash::{MessageDigest, hash};

use super::{Reply, SimCard};
use crate::protocol::files::{EF_UNWRAP_STAGING, fid, prefix};
use crate::protocol::{curves, tlv};
use crate::sim::command::Command;
use crate::sim::keys::{SimKey, SimResult, md_for_len, parse_digest_info};
use crate::sim::{blob, cvc, rng};

fn md_by_index(i: u8) -> Option<MessageDigest> {
    Some(match i {
        1 => MessageDigest::sha1(),
        2 => MessageDigest::sha224(),
        3 => MessageDigest::sha256(),
        4 => MessageDigest::sha384(),
        5 => MessageDigest::sha512(),
        _ => return None,
    })
}

fn digest(md: MessageDigest, data: &[u8]) -> SimResult<Vec<u8>> {
    hash(md, data).map(|d| d.to_vec()).map_err(|_| 0x6F00)
}

fn digest_info(md: MessageDigest, h: &[u8]) -> SimResult<Vec<u8>> {
    let prefix: &[u8] = match md.size() {
        20 => &[
            0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2B, 0x0E, 0x03, 0x02, 0x1A, 0x05, 0x00, 0x04,
            0x14,
        ],
        28 => &[
            0x30, 0x2D, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x04, 0x05, 0x00, 0x04, 0x1C,
        ],
        32 => hsm_core::HashAlgorithm::Sha256.digest_info_prefix(),
        48 => hsm_core::HashAlgorithm::Sha384.digest_info_prefix(),
        64 => hsm_core::HashAlgorithm::Sha512.digest_info_prefix(),
        _ => return Err(0x6A80),
    };
    let mut v = prefix.to_vec();
    v.extend_from_slice(h);
    Ok(v)
}

impl SimCard {
    fn key(&self, n: u8) -> SimResult<&SimKey> {
        self.keys.get(&n).ok_or(0x6A88)
    }

    pub(super) fn generate_key_pair(&mut self, c: &Command<'_>) -> SimResult<Reply> {
        self.require_user()?;
        if c.p1 == 0 {
            return Err(0x6A86);
        }
        let bad = |_| 0x6A80u16;
        let car = tlv::find(c.data, 0x42)
            .map_err(bad)?
            .unwrap_or(b"UTCA00001")
            .to_vec();
        let chr = tlv::find(c.data, 0x5F20)
            .map_err(bad)?
            .ok_or(0x6A80u16)?
            .to_vec();
        let template = tlv::find(c.data, 0x7F49).map_err(bad)?.ok_or(0x6A80u16)?;
        let algorithms = tlv::find(c.data, 0x91).map_err(bad)?.map(<[u8]>::to_vec);
        let oid = tlv::find(template, 0x06).map_err(bad)?.ok_or(0x6A80u16)?;
        let mut key = if oid.get(8) == Some(&0x02) {
            let p = tlv::find(template, 0x81).map_err(bad)?.ok_or(0x6A80u16)?;
            let a = tlv::find(template, 0x82).map_err(bad)?.unwrap_or(&[]);
            let curve = curves::identify(p, a).ok_or(0x6A80u16)?.curve;
            SimKey::generate_ec(curve)?
        } else {
            let bits = tlv::find(template, 0x02)
                .map_err(bad)?
                .map_or(2048u32, |b| {
                    b.iter().fold(0u32, |a, x| (a << 8) | u32::from(*x))
                });
            if !(1024..=4096).contains(&bits) || bits % 256 != 0 {
                return Err(0x6A80);
            }
            SimKey::generate_rsa(bits)?
        };
        key.algorithms = algorithms;
        let device = self.key(0)?;
        let answer = cvc::authenticated_request(&key, &car, &chr, device, &self.state.device_chr)?;
        let _ = self.keys.insert(c.p1, key);
        let _ = self
            .state
            .files
            .insert(fid(prefix::CERT, c.p1), answer.clone());
        self.persist();
        Ok((answer, 0x9000))
    }

    pub(super) fn sign(&mut self, c: &Command<'_>) -> SimResult<Vec<u8>> {
        self.require_user()?;
        let key = self.key(c.p1)?;
        if key.algorithms.as_ref().is_some_and(|a| !a.contains(&c.p2)) {
            return Err(0x6A81);
        }
        let (family, index) = (c.p2 & 0xF0, c.p2 & 0x0F);
        match (family, key.is_rsa()) {
            (0x20, true) if index == 0 => key.rsa_raw(c.data),
            (0x30, true) => {
                let di = match index {
                    0 => c.data.to_vec(),
                    i => {
                        let md = md_by_index(i).ok_or(0x6A81u16)?;
                        digest_info(md, &digest(md, c.data)?)?
                    }
                };
                key.rsa_pkcs1(&di)
            }
            (0x40, true) => {
                let (md, h) = match index {
                    0 => match parse_digest_info(c.data) {
                        Some((md, h)) => (md, h.to_vec()),
                        None => (md_for_len(c.data.len()).ok_or(0x6A80u16)?, c.data.to_vec()),
                    },
                    i => {
                        let md = md_by_index(i).ok_or(0x6A81u16)?;
                        (md, digest(md, c.data)?)
                    }
                };
                key.rsa_pss(md, &h)
            }
            (0x70, false) => match index {
                0 => key.ecdsa(c.data),
                i => key.ecdsa(&digest(md_by_index(i).ok_or(0x6A81u16)?, c.data)?),
            },
            _ => Err(0x6A81),
        }
    }

    pub(super) fn decipher(&mut self, c: &Command<'_>) -> SimResult<Vec<u8>> {
        self.require_user()?;
        let key = self.key(c.p1)?;
        match (c.p2, key.is_rsa()) {
            (0x21, true) => key.rsa_raw(c.data),
            (0x80, false) => key.ecdh(c.data).map(|s| s.to_vec()),
            _ => Err(0x6A81),
        }
    }

    pub(super) fn wrap_key(&mut self, c: &Command<'_>) -> SimResult<Vec<u8>> {
        self.require_user()?;
        if c.p2 != 0x92 {
            return Err(0x6A86);
        }
        if c.p1 == 0 {
            return Err(0x6982);
        }
        if !self.dkek_complete() {
            return Err(0x6A88);
        }
        let key = self.key(c.p1)?;
        let mut rnd = [0u8; 8];
        rng::fill(&mut rnd)?;
        blob::wrap(key, &self.state.dkek, &rnd)
    }

    pub(super) fn unwrap_key(&mut self, c: &Command<'_>) -> SimResult<Vec<u8>> {
        self.require_user()?;
        if c.p2 != 0x93 || c.p1 == 0 {
            return Err(0x6A86);
        }
        if !self.dkek_complete() {
            return Err(0x6A88);
        }
        if self.keys.contains_key(&c.p1) {
            return Err(0x6A89);
        }
        let staged = c.data.is_empty();
        let data = if staged {
            self.state
                .files
                .get(&EF_UNWRAP_STAGING)
                .cloned()
                .ok_or(0x6A88u16)?
        } else {
            c.data.to_vec()
        };
        let key = blob::unwrap(&data, &self.state.dkek)?;
        let _ = self.keys.insert(c.p1, key);
        if staged {
            let _ = self.state.files.remove(&EF_UNWRAP_STAGING);
        }
        self.persist();
        Ok(Vec::new())
    }
}
