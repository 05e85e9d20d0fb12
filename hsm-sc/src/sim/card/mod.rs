//! The simulated card: state, power events and the command dispatcher.

mod auth;
mod crypto;
mod files;

use std::collections::BTreeMap;
use std::path::PathBuf;

use hsm_core::Curve;

use super::command::Command;
use super::cvc;
use super::keys::{SimKey, SimResult};
use super::rng;
use super::state::{self, SO_MAX_TRIES, State};
use crate::protocol::emulator::CardEmulator;
use crate::protocol::files::AID;
use crate::protocol::files::EF_DEVICE_CERTS;

/// The standard SmartCard-HSM ATR (OpenSC matches it without sending an APDU).
pub const ATR: [u8; 24] = [
    0x3B, 0xFE, 0x18, 0x00, 0x00, 0x81, 0x31, 0xFE, 0x45, 0x80, 0x31, 0x81, 0x54, 0x48, 0x53, 0x4D,
    0x31, 0x73, 0x80, 0x21, 0x40, 0x81, 0x07, 0xFA,
];

/// The factory SO-PIN as the card stores it: `3537363231383830` = ASCII "57621880".
pub(crate) const FACTORY_SO_PIN: [u8; 8] = *b"57621880";

/// The simulated applet version (shown by OpenSC as "SmartCard-HSM version 3.5").
const VERSION: (u8, u8) = (3, 5);

pub(crate) struct SimCard {
    pub(crate) state: State,
    pub(crate) keys: BTreeMap<u8, SimKey>,
    path: Option<PathBuf>,
    pub(crate) selected: bool,
    pub(crate) user_verified: bool,
    pub(crate) current_ef: Option<u16>,
}

type Reply = (Vec<u8>, u16);

fn ok(data: Vec<u8>) -> SimResult<Reply> {
    Ok((data, 0x9000))
}

impl SimCard {
    /// A factory-new card: device key and certificates, factory SO-PIN, no user PIN.
    pub(crate) fn factory(serial: &str) -> SimResult<Self> {
        let device = SimKey::generate_ec(Curve::P256)?;
        let dica = SimKey::generate_ec(Curve::P256)?;
        let root = SimKey::generate_ec(Curve::P256)?;
        let device_chr = format!("{serial}00001");
        let mut chain = cvc::certificate(&device, "DESIMCA00001", &device_chr, &dica)?;
        chain.extend(cvc::certificate(
            &dica,
            "UTSRCACC100001",
            "DESIMCA00001",
            &root,
        )?);
        let mut files = BTreeMap::new();
        let _ = files.insert(EF_DEVICE_CERTS, chain);
        let mut keys = BTreeMap::new();
        let _ = keys.insert(0, device);
        Ok(Self {
            state: State {
                so_pin: FACTORY_SO_PIN,
                so_tries: SO_MAX_TRIES,
                user_pin: None,
                user_tries: 0,
                user_max_tries: 3,
                options: 0,
                dkek_shares: None,
                dkek_imported: 0,
                dkek: [0; 32],
                files,
                keys: BTreeMap::new(),
                device_chr,
            },
            keys,
            path: None,
            selected: false,
            user_verified: false,
            current_ef: None,
        })
    }

    pub(crate) fn from_state(mut state: State, path: Option<PathBuf>) -> SimResult<Self> {
        let mut keys = BTreeMap::new();
        for (n, (stored, algorithms)) in std::mem::take(&mut state.keys) {
            let mut k = SimKey::from_stored(stored)?;
            k.algorithms = algorithms;
            let _ = keys.insert(n, k);
        }
        Ok(Self {
            state,
            keys,
            path,
            selected: false,
            user_verified: false,
            current_ef: None,
        })
    }

    pub(crate) fn set_path(&mut self, path: Option<PathBuf>) {
        self.path = path;
    }

    pub(crate) fn snapshot(&self) -> State {
        let mut s = self.state.clone();
        s.keys = self
            .keys
            .iter()
            .map(|(n, k)| (*n, (k.stored.clone(), k.algorithms.clone())))
            .collect();
        s
    }

    /// Writes the state file, if there is one.
    pub(crate) fn persist(&self) {
        if let Some(p) = &self.path
            && let Err(e) = state::save(p, &self.snapshot())
        {
            tracing::warn!(error = %e, "cannot write the simulator state file");
        }
    }

    pub(crate) fn dkek_complete(&self) -> bool {
        matches!(self.state.dkek_shares, Some(n) if self.state.dkek_imported >= n)
    }

    pub(crate) fn require_user(&self) -> SimResult<()> {
        if self.user_verified {
            Ok(())
        } else {
            Err(0x6982)
        }
    }

    fn dispatch(&mut self, c: &Command<'_>) -> SimResult<Reply> {
        if c.ins == 0xA4 {
            return self.select(c);
        }
        if !self.selected {
            return Err(0x6D00);
        }
        match (c.cla, c.ins) {
            (0x00, 0x20) => self.verify(c),
            (0x00, 0x24) => self.change_reference_data(c),
            (0x00, 0x2C) => self.reset_retry_counter(c),
            (0x80, 0x50) => self.initialize(c),
            (0x80, 0x52) => self.dkek(c),
            (0x80, 0x58) => ok(self.enumerate()),
            (0x00, 0xB0 | 0xB1) => self.read_binary(c),
            (0x00, 0xD6 | 0xD7) => self.update_binary(c),
            (0x00, 0xE4) => self.delete_file(c),
            (0x00, 0x46) => self.generate_key_pair(c),
            (0x80, 0x68) => self.sign(c).map(|d| (d, 0x9000)),
            (0x80, 0x62) => self.decipher(c).map(|d| (d, 0x9000)),
            (0x80, 0x72) => self.wrap_key(c).map(|d| (d, 0x9000)),
            (0x80, 0x74) => self.unwrap_key(c).map(|d| (d, 0x9000)),
            (0x00, 0x84) => self.get_challenge(c),
            (0x00 | 0x80, _) => Err(0x6D00),
            _ => Err(0x6E00),
        }
    }

    fn select(&mut self, c: &Command<'_>) -> SimResult<Reply> {
        match c.p1 {
            0x04 => {
                if c.data != AID {
                    return Err(0x6A82);
                }
                self.selected = true;
                self.user_verified = false;
                self.current_ef = None;
                // 62: 82 file descriptor, 84 AID, 85 proprietary (options, type, version)
                let mut fcp = crate::protocol::tlv::encode(0x82, &[0x38]);
                crate::protocol::tlv::write(&mut fcp, 0x84, &AID);
                let [_, opt_lo] = self.state.options.to_be_bytes();
                crate::protocol::tlv::write(
                    &mut fcp,
                    0x85,
                    &[0x00, opt_lo, 0xFF, VERSION.0, VERSION.1],
                );
                ok(crate::protocol::tlv::encode(0x62, &fcp))
            }
            0x00..=0x02 | 0x08 | 0x09 if self.selected => {
                let fid = match c.data {
                    [a, b] => u16::from_be_bytes([*a, *b]),
                    [] => 0x3F00,
                    _ => return Err(0x6A80),
                };
                let size = if fid == 0x3F00 {
                    0
                } else if let Some(f) = self.state.files.get(&fid) {
                    f.len()
                } else if fid >> 8 == 0xCC && self.keys.contains_key(&((fid & 0xFF) as u8)) {
                    0
                } else {
                    return Err(0x6A82);
                };
                if fid != 0x3F00 {
                    self.current_ef = Some(fid);
                }
                let mut fcp = crate::protocol::tlv::encode(0x80, &(size as u16).to_be_bytes());
                crate::protocol::tlv::write(
                    &mut fcp,
                    0x82,
                    &[if fid == 0x3F00 { 0x38 } else { 0x01 }],
                );
                crate::protocol::tlv::write(&mut fcp, 0x83, &fid.to_be_bytes());
                ok(crate::protocol::tlv::encode(0x62, &fcp))
            }
            _ => Err(0x6A82),
        }
    }

    fn get_challenge(&mut self, c: &Command<'_>) -> SimResult<Reply> {
        if c.ne == 0 {
            return Err(0x6700);
        }
        let mut buf = vec![0u8; c.ne.min(1024)];
        rng::fill(&mut buf)?;
        ok(buf)
    }
}

impl CardEmulator for SimCard {
    fn process(&mut self, command: &[u8]) -> Vec<u8> {
        let (mut data, sw) = match Command::parse(command) {
            None => (Vec::new(), 0x6700),
            Some(c) => match self.dispatch(&c) {
                Ok(r) => r,
                Err(sw) => (Vec::new(), sw),
            },
        };
        data.extend(sw.to_be_bytes());
        data
    }

    fn reset(&mut self) {
        self.selected = false;
        self.user_verified = false;
        self.current_ef = None;
    }

    fn atr(&self) -> Vec<u8> {
        ATR.to_vec()
    }
}
