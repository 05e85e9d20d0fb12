//! The simulated appliance: crypto cores with separate key spaces, and the commands of the
//! client's table. Answers have the JSON shapes of seed 000; for the commands the record does
//! not show (sign, verify, RSA and AES key generation, delete) and for errors, the shapes are
//! this crate's assumptions (`{"command", "core", "result": "ERROR", "error": "..."}` with an HTTP status).

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use hsm_core::{Curve, HashAlgorithm};
use serde_json::{Map, Value, json};

use super::keys::{Material, SimResult, bad};
use super::rng::Rng;
use crate::protocol::commands::{Command, CommandTable, Field};
use crate::protocol::keytypes::spec_of;
use crate::protocol::model::MAX_RANDOM_PER_REQUEST;

struct Key {
    key_id: String,
    cka_id: String,
    nice_name: String,
    acl: String,
    owner: String,
    pin: zeroize::Zeroizing<String>,
    created: String,
    last_use: String,
    /// Shared, so that an operation takes it out of the core's lock: the core's other
    /// requests (and the runtime's threads) never wait for a signature.
    material: std::sync::Arc<Material>,
}

/// The appliance state.
pub(crate) struct Device {
    table: CommandTable,
    prefix: String,
    counter: AtomicU64,
    cores: Vec<Mutex<Vec<Key>>>,
    owner: String,
}

/// One request: the command and its fields by wire name.
pub(crate) struct Request<'a> {
    pub(crate) command: &'a str,
    pub(crate) fields: &'a HashMap<String, String>,
    /// The core named by the request (`core=`), if any.
    pub(crate) core: Option<u8>,
    /// A GET request: `listkeys` without a core lists every core and answers `"core": 0`.
    pub(crate) via_get: bool,
    /// Where the request's random numbers come from (keys, key ids, IVs, `getrandom`).
    pub(crate) rng: &'a Rng,
}

impl Device {
    /// A device with `cores` empty cores answering to the names of `table`, its serial (the key-id prefix) drawn from `rng`.
    pub(crate) fn new(cores: u8, owner: &str, table: CommandTable, rng: &Rng) -> SimResult<Self> {
        let mut serial = [0u8; 7];
        rng.fill(&mut serial)?;
        Ok(Self {
            table,
            prefix: format!("hsm010123{}", hex::encode_upper(serial)),
            counter: AtomicU64::new(0x10),
            cores: (0..cores.max(1)).map(|_| Mutex::new(Vec::new())).collect(),
            owner: owner.to_owned(),
        })
    }

    /// Whether the command `name` takes a while (key generation and import: RSA-4096
    /// generation takes seconds), so that the server runs it off its I/O threads.
    pub(crate) fn is_slow(&self, name: &str) -> bool {
        matches!(
            self.command_of(name),
            Some(
                Command::GenEccKey
                    | Command::GenRsaKey
                    | Command::GenSymKey
                    | Command::ImportEccKey
            )
        )
    }

    fn command_of(&self, name: &str) -> Option<Command> {
        Command::ALL
            .into_iter()
            .find(|c| self.table.name(*c) == name)
    }

    fn field<'f>(
        &self,
        request: &'f Request<'_>,
        command: Command,
        field: Field,
    ) -> Option<&'f str> {
        request
            .fields
            .get(self.table.field(command, field))
            .map(String::as_str)
    }

    fn required<'f>(
        &self,
        request: &'f Request<'_>,
        command: Command,
        field: Field,
    ) -> SimResult<&'f str> {
        self.field(request, command, field).ok_or_else(|| {
            bad(format!(
                "missing field {}",
                self.table.field(command, field)
            ))
        })
    }

    fn core_index(&self, core: u8) -> SimResult<&Mutex<Vec<Key>>> {
        core.checked_sub(1)
            .and_then(|i| self.cores.get(usize::from(i)))
            .ok_or_else(|| bad(format!("no core {core}")))
    }

    /// Handles one request: `(HTTP status, JSON answer)`.
    pub(crate) fn handle(&self, request: &Request<'_>) -> (u16, Value) {
        let Some(command) = self.command_of(request.command) else {
            return error(
                request.command,
                request.core,
                (400, "unknown command".into()),
            );
        };
        let core = request.core.unwrap_or(1);
        match self.dispatch(command, core, request) {
            Ok(answer) => (200, answer),
            Err(e) => error(request.command, Some(core), e),
        }
    }

    fn dispatch(&self, command: Command, core: u8, r: &Request<'_>) -> SimResult<Value> {
        let name = self.table.name(command).to_owned();
        match command {
            Command::Timestamp => {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                Ok(json!({"command": name, "result": now.to_string()}))
            }
            Command::GetRandom => {
                let n_text = self.required(r, command, Field::Numbers)?;
                let n: usize = n_text.parse().map_err(|_| bad("numbers is not a number"))?;
                if n == 0 || n > MAX_RANDOM_PER_REQUEST {
                    return Err(bad(format!(
                        "numbers must be 1 to {MAX_RANDOM_PER_REQUEST}"
                    )));
                }
                let mut bytes = vec![0u8; n];
                r.rng.fill(&mut bytes)?;
                Ok(
                    json!({"command": name, "numbers": n_text, "core": core, "result": hex::encode_upper(bytes)}),
                )
            }
            Command::GenEccKey
            | Command::GenRsaKey
            | Command::GenSymKey
            | Command::ImportEccKey => self.create(command, core, r),
            Command::ListKeys => {
                let wanted = self
                    .required(r, command, Field::KeyType)?
                    .to_ascii_uppercase();
                let cores: Vec<u8> = if r.via_get && r.core.is_none() {
                    (1..=u8::try_from(self.cores.len()).unwrap_or(1)).collect()
                } else {
                    vec![core]
                };
                let mut result = Map::new();
                for c in &cores {
                    let keys = lock(self.core_index(*c)?);
                    for k in keys
                        .iter()
                        .filter(|k| k.material.type_and_len().0.eq_ignore_ascii_case(&wanted))
                    {
                        let _ = result.insert(k.key_id.clone(), self.listing(k)?);
                    }
                }
                let shown_core = if cores.len() > 1 { 0 } else { core };
                Ok(json!({"command": name, "core": shown_core, "result": result}))
            }
            Command::GetKeyAttributes => {
                let nice = self.required(r, command, Field::NiceName)?;
                let keys = lock(self.core_index(core)?);
                let k = find(&keys, nice)?;
                let (key_type, key_len) = k.material.type_and_len();
                let mut result = Map::new();
                let _ = result.insert(
                    k.key_id.clone(),
                    json!({"key_id": k.key_id, "key_type": key_type, "key_len": key_len,
                           "key_acl": k.acl, "key_owner": k.owner, "nice_name": k.nice_name}),
                );
                Ok(json!({"command": name, "result": result}))
            }
            Command::Encrypt | Command::Decrypt => {
                let nice = self.required(r, command, Field::NiceName)?;
                let data = self.required(r, command, Field::Data)?;
                let mode = self.required(r, command, Field::Mode)?;
                if !mode.eq_ignore_ascii_case("CBC") {
                    return Err(bad("only CBC is simulated"));
                }
                let mut keys = lock(self.core_index(core)?);
                let k = find_mut(&mut keys, nice)?;
                check_pin(k, self.field(r, command, Field::Pin))?;
                k.last_use = now_text();
                let result = if command == Command::Encrypt {
                    k.material.encrypt(data.as_bytes(), r.rng)?
                } else {
                    String::from_utf8_lossy(&k.material.decrypt(data)?).into_owned()
                };
                Ok(json!({"command": name, "core": core, "result": result}))
            }
            Command::SignEcc | Command::SignRsa => {
                let nice = self.required(r, command, Field::NiceName)?;
                let digest = hex::decode(self.required(r, command, Field::Hash)?)
                    .map_err(|_| bad("hash is not hex"))?;
                if digest.is_empty() || digest.len() > 64 {
                    return Err(bad("hash must be 1 to 64 bytes"));
                }
                let hash = hash_of(self.field(r, command, Field::HashAlgorithm))?;
                let material = {
                    let mut keys = lock(self.core_index(core)?);
                    let k = find_mut(&mut keys, nice)?;
                    check_pin(k, self.field(r, command, Field::Pin))?;
                    k.last_use = now_text();
                    std::sync::Arc::clone(&k.material)
                };
                let sig = if command == Command::SignEcc {
                    if let Some(h) = hash
                        && digest.len() != h.output_len()
                    {
                        return Err(bad("hash length does not match hash_algorithm"));
                    }
                    material.sign_ecdsa(&digest)?
                } else {
                    let pss = match self.field(r, command, Field::Padding).unwrap_or("PKCS1") {
                        p if p.eq_ignore_ascii_case("PSS") => true,
                        p if p.eq_ignore_ascii_case("PKCS1") => false,
                        _ => return Err(bad("padding must be PKCS1 or PSS")),
                    };
                    let h = hash.ok_or_else(|| bad("RSA needs a hash_algorithm"))?;
                    material.sign_rsa(h, pss, &digest)?
                };
                Ok(json!({"command": name, "core": core, "result": hex::encode_upper(sig)}))
            }
            Command::VerifyEcc => {
                let nice = self.required(r, command, Field::NiceName)?;
                let digest = hex::decode(self.required(r, command, Field::Hash)?)
                    .map_err(|_| bad("hash is not hex"))?;
                let sig = hex::decode(self.required(r, command, Field::Signature)?)
                    .map_err(|_| bad("signature is not hex"))?;
                let keys = lock(self.core_index(core)?);
                let ok = find(&keys, nice)?.material.verify_ecdsa(&digest, &sig)?;
                Ok(
                    json!({"command": name, "core": core, "result": if ok { "true" } else { "false" }}),
                )
            }
            Command::DeleteKey => {
                let nice = self.required(r, command, Field::NiceName)?;
                let mut keys = lock(self.core_index(core)?);
                let at = keys
                    .iter()
                    .position(|k| k.nice_name == nice || k.key_id == nice)
                    .ok_or_else(|| (404, "key not found".to_owned()))?;
                if let Some(k) = keys.get(at) {
                    check_pin(k, self.field(r, command, Field::Pin))?;
                }
                let k = keys.remove(at);
                Ok(json!({"command": name, "core": core, "result": k.key_id}))
            }
        }
    }

    fn create(&self, command: Command, core: u8, r: &Request<'_>) -> SimResult<Value> {
        let name = self.table.name(command).to_owned();
        let nice = self.required(r, command, Field::NiceName)?.to_owned();
        if nice.is_empty() || nice.len() > 64 {
            return Err(bad("nice_name must be 1 to 64 characters"));
        }
        let pin = self.field(r, command, Field::Pin).unwrap_or_default();
        let acl = self
            .field(r, command, Field::Acl)
            .unwrap_or("FFFF")
            .to_owned();
        let slot = self.core_index(core)?;
        if lock(slot).iter().any(|k| k.nice_name == nice) {
            return Err((409, format!("a key named {nice} already exists")));
        }
        let keysize = || -> SimResult<u32> {
            self.required(r, command, Field::KeySize)?
                .parse()
                .map_err(|_| bad("keysize is not a number"))
        };
        let curve = || -> SimResult<Curve> {
            let family = self.required(r, command, Field::Curve)?;
            let bits: u32 = match command {
                Command::ImportEccKey => {
                    let hex_len = self.required(r, command, Field::KeyToImport)?.len();
                    match (family.to_ascii_uppercase().as_str(), hex_len) {
                        ("NIST", 132) => 521,
                        (_, n) => u32::try_from(n * 4).unwrap_or(0),
                    }
                }
                _ => keysize()?,
            };
            spec_of(family, bits)
                .and_then(hsm_core::KeySpec::curve)
                .ok_or_else(|| bad(format!("curve {family} with {bits} bits is not supported")))
        };
        let material = match command {
            Command::GenEccKey => Material::generate_ec(curve()?)?,
            Command::GenSymKey => Material::generate_sym(keysize()?, r.rng)?,
            Command::ImportEccKey => {
                let scalar = zeroize::Zeroizing::new(
                    hex::decode(self.required(r, command, Field::KeyToImport)?)
                        .map_err(|_| bad("key_to_import is not hex"))?,
                );
                Material::import_ec(curve()?, &scalar)?
            }
            _ => Material::generate_rsa(keysize()?)?,
        };
        let key = self.new_key(nice.clone(), pin, acl, material, r.rng)?;
        let key_id = key.key_id.clone();
        let public = key.material.public_hex()?;
        let mut keys = lock(slot);
        if keys.iter().any(|k| k.nice_name == nice) {
            return Err((409, format!("a key named {nice} already exists")));
        }
        keys.push(key);
        Ok(if command == Command::ImportEccKey {
            json!({"command": name, "core": core, "result": key_id})
        } else if command == Command::GenSymKey {
            json!({"command": name, "core": core, "clustersync": "n/a", "nice_name": nice,
                   "result": key_id})
        } else {
            json!({"command": name, "core": core, "clustersync": "n/a", "nice_name": nice,
                   "publickey": public, "result": key_id})
        })
    }

    fn new_key(
        &self,
        nice_name: String,
        pin: &str,
        acl: String,
        material: Material,
        rng: &Rng,
    ) -> SimResult<Key> {
        let mut cka = [0u8; 6];
        rng.fill(&mut cka)?;
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        Ok(Key {
            key_id: format!("{}{n:016}", self.prefix),
            cka_id: hex::encode_upper(cka),
            nice_name,
            acl,
            owner: self.owner.clone(),
            pin: zeroize::Zeroizing::new(pin.to_owned()),
            created: now_text(),
            last_use: now_text(),
            material: std::sync::Arc::new(material),
        })
    }

    /// Adds a key directly (the demo keys of the record: the symmetric `k01`, AES-256).
    pub(crate) fn add_sym_key(
        &self,
        core: u8,
        nice_name: &str,
        pin: &str,
        rng: &Rng,
    ) -> SimResult<()> {
        let key = self.new_key(
            nice_name.to_owned(),
            pin,
            "FFFF".into(),
            Material::generate_sym(256, rng)?,
            rng,
        )?;
        lock(self.core_index(core)?).push(key);
        Ok(())
    }

    fn listing(&self, k: &Key) -> SimResult<Value> {
        let (key_type, key_len) = k.material.type_and_len();
        let label = format!(
            "{}{}",
            self.prefix,
            k.key_id
                .get(k.key_id.len().saturating_sub(8)..)
                .unwrap_or_default()
        );
        Ok(json!({
            "slot": label, "key_id": k.key_id, "id": k.cka_id, "key_type": key_type,
            "key_len": key_len, "key_acl": k.acl, "nice_name": k.nice_name,
            "date_of_creation": k.created, "date_of_last_use": k.last_use,
            "date_planned_lifetime_until": null, "token_name": label, "key_owner": k.owner,
            "public_key": k.material.public_hex()?,
        }))
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn find<'k>(keys: &'k [Key], nice: &str) -> SimResult<&'k Key> {
    keys.iter()
        .find(|k| k.nice_name == nice || k.key_id == nice)
        .ok_or_else(|| (404, "key not found".to_owned()))
}

fn find_mut<'k>(keys: &'k mut [Key], nice: &str) -> SimResult<&'k mut Key> {
    keys.iter_mut()
        .find(|k| k.nice_name == nice || k.key_id == nice)
        .ok_or_else(|| (404, "key not found".to_owned()))
}

fn check_pin(key: &Key, given: Option<&str>) -> SimResult<()> {
    if key.pin.is_empty() || given == Some(key.pin.as_str()) {
        Ok(())
    } else {
        Err((403, "wrong key PIN".to_owned()))
    }
}

fn hash_of(name: Option<&str>) -> SimResult<Option<HashAlgorithm>> {
    match name.map(str::to_ascii_uppercase).as_deref() {
        None | Some("NONE") => Ok(None),
        Some("SHA256") => Ok(Some(HashAlgorithm::Sha256)),
        Some("SHA384") => Ok(Some(HashAlgorithm::Sha384)),
        Some("SHA512") => Ok(Some(HashAlgorithm::Sha512)),
        Some(_) => Err(bad("hash_algorithm must be SHA256, SHA384, SHA512 or NONE")),
    }
}

fn error(command: &str, core: Option<u8>, (status, message): (u16, String)) -> (u16, Value) {
    (
        status,
        json!({"command": command, "core": core, "result": "ERROR", "error": message}),
    )
}

/// `2022/10/01 20:15`, UTC.
fn now_text() -> String {
    let now = hsm_simkit::clock::CivilTime::now();
    format!(
        "{:04}/{:02}/{:02} {:02}:{:02}",
        now.year, now.month, now.day, now.hour, now.minute
    )
}
