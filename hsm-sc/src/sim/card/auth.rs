//! PINs and INITIALIZE in the simulated card.

use super::{Reply, SimCard, ok};
use crate::protocol::files::EF_DEVICE_CERTS;
use crate::protocol::tlv;
use crate::sim::command::Command;
use crate::sim::keys::SimResult;
use crate::sim::rng;
use crate::sim::state::SO_MAX_TRIES;

fn tries_sw(left: u8) -> u16 {
    if left == 0 {
        0x6983
    } else {
        0x63C0 | u16::from(left.min(15))
    }
}

fn pin_ok(len: usize) -> bool {
    (6..=16).contains(&len)
}

impl SimCard {
    fn check_user_pin(&mut self, given: &[u8]) -> SimResult<()> {
        let stored = self.state.user_pin.clone().ok_or(0x6A88u16)?;
        if self.state.user_tries == 0 {
            return Err(0x6983);
        }
        if openssl::memcmp::eq(&stored, given) && stored.len() == given.len() {
            self.state.user_tries = self.state.user_max_tries;
            Ok(())
        } else {
            self.state.user_tries -= 1;
            self.user_verified = false;
            self.persist();
            Err(tries_sw(self.state.user_tries))
        }
    }

    pub(super) fn check_so_pin(&mut self, given: &[u8]) -> SimResult<()> {
        if self.state.so_tries == 0 {
            return Err(0x6983);
        }
        if given.len() == 8 && openssl::memcmp::eq(&self.state.so_pin, given) {
            self.state.so_tries = SO_MAX_TRIES;
            Ok(())
        } else {
            self.state.so_tries -= 1;
            self.persist();
            Err(tries_sw(self.state.so_tries))
        }
    }

    pub(super) fn verify(&mut self, c: &Command<'_>) -> SimResult<Reply> {
        match c.p2 {
            0x81 => {
                if self.state.user_pin.is_none() {
                    return Err(0x6A88);
                }
                if c.data.is_empty() {
                    return if self.state.user_tries == 0 {
                        Err(0x6983)
                    } else if self.user_verified {
                        ok(Vec::new())
                    } else {
                        Err(tries_sw(self.state.user_tries))
                    };
                }
                self.check_user_pin(c.data)?;
                self.user_verified = true;
                self.persist();
                ok(Vec::new())
            }
            0x88 => {
                if c.data.is_empty() {
                    return Err(tries_sw(self.state.so_tries));
                }
                self.check_so_pin(c.data)?;
                self.persist();
                ok(Vec::new())
            }
            0x85 | 0x86 => Err(0x6A88),
            _ => Err(0x6A86),
        }
    }

    pub(super) fn change_reference_data(&mut self, c: &Command<'_>) -> SimResult<Reply> {
        match c.p2 {
            0x81 => {
                let len = self.state.user_pin.as_ref().ok_or(0x6A88u16)?.len();
                let (old, new) = c.data.split_at_checked(len).ok_or(0x6700u16)?;
                if !pin_ok(new.len()) {
                    return Err(0x6A80);
                }
                self.check_user_pin(old)?;
                self.state.user_pin = Some(new.to_vec());
                self.user_verified = true;
                self.persist();
                ok(Vec::new())
            }
            0x88 => {
                let (old, new) = c.data.split_at_checked(8).ok_or(0x6700u16)?;
                if new.len() != 8 {
                    return Err(0x6700);
                }
                self.check_so_pin(old)?;
                self.state.so_pin.copy_from_slice(new);
                self.persist();
                ok(Vec::new())
            }
            _ => Err(0x6A86),
        }
    }

    pub(super) fn reset_retry_counter(&mut self, c: &Command<'_>) -> SimResult<Reply> {
        if c.p2 != 0x81 {
            return Err(0x6A86);
        }
        if self.state.options & 0x0001 == 0 {
            return Err(0x6986);
        }
        if self.state.user_pin.is_none() {
            return Err(0x6A88);
        }
        let (so, new) = c.data.split_at_checked(8).ok_or(0x6700u16)?;
        match c.p1 {
            0x00 if pin_ok(new.len()) => {
                self.check_so_pin(so)?;
                self.state.user_pin = Some(new.to_vec());
            }
            0x01 if new.is_empty() => self.check_so_pin(so)?,
            0x00 | 0x01 => return Err(0x6700),
            _ => return Err(0x6A86),
        }
        self.state.user_tries = self.state.user_max_tries;
        self.persist();
        ok(Vec::new())
    }

    pub(super) fn initialize(&mut self, c: &Command<'_>) -> SimResult<Reply> {
        if c.data.is_empty() {
            return Err(0x6A80);
        }
        let field = |tag| tlv::find(c.data, tag).map_err(|_| 0x6A80u16);
        let so = field(0x82)?.ok_or(0x6A80u16)?.to_vec();
        let user = field(0x81)?.map(<[u8]>::to_vec);
        let tries = field(0x91)?.and_then(|v| v.first().copied()).unwrap_or(3);
        let options = field(0x80)?
            .and_then(|v| <[u8; 2]>::try_from(v).ok())
            .map_or(0x0001, u16::from_be_bytes);
        let shares = field(0x92)?.and_then(|v| v.first().copied());
        if user.as_ref().is_some_and(|u| !pin_ok(u.len())) || !(1..=10).contains(&tries) {
            return Err(0x6A80);
        }
        self.check_so_pin(&so)?;
        // The device DKEK (0 shares) is drawn before anything changes: a failing generator
        // leaves the card as it was, never initialised with an all-zero DKEK.
        let mut dkek = zeroize::Zeroizing::new([0u8; 32]);
        if shares == Some(0) {
            rng::fill(dkek.as_mut())?;
        }
        // Wipe everything but the device key and certificates.
        self.keys.retain(|n, _| *n == 0);
        self.state.files.retain(|f, _| *f == EF_DEVICE_CERTS);
        self.state.user_pin = user;
        self.state.user_max_tries = tries;
        self.state.user_tries = tries;
        self.state.options = options;
        self.state.dkek_shares = shares;
        self.state.dkek_imported = 0;
        self.state.dkek = *dkek;
        self.user_verified = false;
        self.current_ef = None;
        self.persist();
        ok(Vec::new())
    }

    pub(super) fn dkek(&mut self, c: &Command<'_>) -> SimResult<Reply> {
        if c.p1 != 0 || c.p2 != 0 {
            return Err(0x6A86);
        }
        let total = self.state.dkek_shares.ok_or(0x6A88u16)?;
        if !c.data.is_empty() {
            if c.data.len() != 32 {
                return Err(0x6700);
            }
            if self.state.dkek_imported >= total {
                return Err(0x6985);
            }
            for (d, s) in self.state.dkek.iter_mut().zip(c.data) {
                *d ^= *s;
            }
            self.state.dkek_imported += 1;
            self.persist();
        }
        let mut out = vec![total, total.saturating_sub(self.state.dkek_imported)];
        out.extend(crate::protocol::dkek::kcv(&self.state.dkek));
        ok(out)
    }
}
