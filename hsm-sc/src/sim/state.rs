//! The simulated card's persistent state, and its JSON state file.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::keys::StoredKey;

/// Everything that survives a power cycle.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct State {
    pub(crate) so_pin: [u8; 8],
    pub(crate) so_tries: u8,
    pub(crate) user_pin: Option<Vec<u8>>,
    pub(crate) user_tries: u8,
    pub(crate) user_max_tries: u8,
    pub(crate) options: u16,
    pub(crate) dkek_shares: Option<u8>,
    pub(crate) dkek_imported: u8,
    pub(crate) dkek: [u8; 32],
    pub(crate) files: BTreeMap<u16, Vec<u8>>,
    pub(crate) keys: BTreeMap<u8, (StoredKey, Option<Vec<u8>>)>,
    pub(crate) device_chr: String,
}

pub(crate) const SO_MAX_TRIES: u8 = 15;

pub(crate) fn load(path: &Path) -> std::io::Result<Option<State>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

pub(crate) fn save(path: &Path, state: &State) -> std::io::Result<()> {
    let json = serde_json::to_vec(state).map_err(std::io::Error::other)?;
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, json)?;
    std::fs::rename(&tmp, path)
}
