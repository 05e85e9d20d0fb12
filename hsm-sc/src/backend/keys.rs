//! The key table (read from ENUMERATE OBJECTS, `C4xx` and `CExx`) and the `KeyStore` impl.

use hsm_core::{
    Capabilities, Error, ErrorKind, KeyId, KeyInfo, KeySpec, KeyStore, KeyTemplate, PublicKey,
    Result, SignAlgorithm,
};

use super::{BACKEND, Inner, ScHsm};
use crate::client::card::Commands;
use crate::client::keys::KeyGenRequest;
use crate::protocol::files::{fid, prefix};
use crate::protocol::pkcs15::{KeyKind, PrivateKeyDescription};
use crate::protocol::{curves, cvc};

/// One key on the card as this backend sees it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct KeyEntry {
    /// Key reference (`CCxx`).
    pub key_ref: u8,
    /// PKCS#15 label.
    pub label: Option<String>,
    /// PKCS#15 id (PKCS#11 `CKA_ID`).
    pub id: Vec<u8>,
    /// Type and size, from the public key (or the description).
    pub spec: Option<KeySpec>,
    /// The public key, from `CExx`.
    pub public_key: Option<PublicKey>,
}

impl KeyEntry {
    /// The id under which [`KeyStore::list_keys`] reports the key: its label, else its id bytes.
    #[must_use]
    pub fn key_id(&self) -> Option<KeyId> {
        match &self.label {
            Some(l) => KeyId::name(l.clone()).ok(),
            None => KeyId::from_bytes(self.id.clone()).ok(),
        }
    }

    fn matches(&self, key: &KeyId) -> bool {
        match (key.as_name(), key.as_bytes()) {
            (Some(n), _) => self.label.as_deref() == Some(n),
            (_, Some(b)) => self.id == b,
            _ => false,
        }
    }

    fn info(&self) -> Option<KeyInfo> {
        let mut info = KeyInfo::new(self.key_id()?, self.spec)
            .with_extra("key_ref", self.key_ref.to_string())
            .with_extra("id", hex::encode(&self.id));
        if let Some(l) = &self.label {
            info = info.with_label(l.clone());
        }
        Some(info)
    }
}

pub(crate) fn read_optional(c: &mut Commands<'_>, f: u16) -> Result<Option<Vec<u8>>> {
    match c.read_file(f) {
        Ok(d) => Ok(Some(d)),
        Err(e) if Commands::is_missing(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

pub(crate) fn read_entry(c: &mut Commands<'_>, key_ref: u8) -> Result<KeyEntry> {
    let prkd = match read_optional(c, fid(prefix::PRKD, key_ref))? {
        Some(d) => PrivateKeyDescription::decode(&d).ok(),
        None => None,
    };
    let public_key = match read_optional(c, fid(prefix::CERT, key_ref))? {
        Some(d) => cvc::public_key_of_cert_file(&d).ok(),
        None => None,
    };
    let spec =
        public_key
            .as_ref()
            .and_then(PublicKey::spec)
            .or(match prkd.as_ref().map(|p| p.kind) {
                Some(KeyKind::Rsa { modulus_bits }) => {
                    usize::try_from(modulus_bits).ok().and_then(KeySpec::rsa)
                }
                _ => None,
            });
    Ok(KeyEntry {
        key_ref,
        label: prkd.as_ref().and_then(|p| p.label.clone()),
        id: prkd.map_or_else(|| vec![key_ref], |p| p.id),
        spec,
        public_key,
    })
}

pub(crate) fn read_all(c: &mut Commands<'_>) -> Result<Vec<KeyEntry>> {
    let files = c.list_files()?;
    let mut out = Vec::new();
    for f in files {
        let [p, n] = f.to_be_bytes();
        if p == prefix::KEY && n != 0 {
            out.push(read_entry(c, n)?);
        }
    }
    Ok(out)
}

impl Inner {
    pub(crate) fn keys(&mut self) -> Result<&[KeyEntry]> {
        if self.keys.is_none() {
            let all = self.plain(read_all)?;
            self.keys = Some(all);
        }
        Ok(self.keys.as_deref().unwrap_or(&[]))
    }

    pub(crate) fn find(&mut self, key: &KeyId, operation: &'static str) -> Result<KeyEntry> {
        let cached = self.keys()?.iter().find(|e| e.matches(key)).cloned();
        if let Some(e) = cached {
            return Ok(e);
        }
        // Another program may have added it since: read the card again once.
        self.keys = None;
        self.keys()?
            .iter()
            .find(|e| e.matches(key))
            .cloned()
            .ok_or_else(|| Error::not_found(operation, format!("no key {key} on the card")))
    }

    pub(crate) fn free_key_ref(&mut self, operation: &'static str) -> Result<u8> {
        let used = self.plain(|c| c.list_files())?;
        (1..=255u8)
            .find(|n| !used.contains(&fid(prefix::KEY, *n)))
            .ok_or_else(|| {
                Error::new(ErrorKind::Device, operation).with_message("all 255 key slots are used")
            })
    }
}

pub(crate) fn capabilities() -> Capabilities {
    // RSA in the sizes the card generates, EC on every curve it has domain parameters for;
    // every ECDSA and RSA algorithm, no EdDSA.
    let mut specs = vec![KeySpec::Rsa2048, KeySpec::Rsa3072, KeySpec::Rsa4096];
    specs.extend(curves::ALL.iter().map(|c| KeySpec::Ec(c.curve)));
    let algorithms = SignAlgorithm::ALL
        .into_iter()
        .filter(|a| *a != SignAlgorithm::Ed25519);
    Capabilities::new(specs, algorithms.collect())
        .with_delete(true)
        .with_certificates(true)
        .with_random(true)
}

impl KeyStore for ScHsm {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    fn capabilities(&self) -> Capabilities {
        capabilities()
    }

    fn list_keys(&self) -> Result<Vec<KeyInfo>> {
        let _span = tracing::debug_span!("sc-hsm.list_keys").entered();
        let mut inner = self.lock()?;
        inner.keys = None;
        Ok(inner.keys()?.iter().filter_map(KeyEntry::info).collect())
    }

    fn key_info(&self, key: &KeyId) -> Result<KeyInfo> {
        let _span = tracing::debug_span!("sc-hsm.key_info").entered();
        let e = self.lock()?.find(key, "sc-hsm.key_info")?;
        e.info()
            .ok_or_else(|| Error::protocol("sc-hsm.key_info", "the key has an unusable label"))
    }

    fn generate_key(&self, template: &KeyTemplate) -> Result<KeyInfo> {
        const OP: &str = "sc-hsm.generate_key";
        let _span = tracing::debug_span!("sc-hsm.generate_key").entered();
        let caps = capabilities();
        if !caps.has_spec(template.spec) {
            return Err(Error::unsupported(
                OP,
                format!("the SmartCard-HSM cannot generate {} keys", template.spec),
            ));
        }
        let mut inner = self.lock()?;
        match inner.find(&template.id, OP) {
            Ok(_) => {
                return Err(Error::new(ErrorKind::AlreadyExists, OP)
                    .with_message(format!("a key {} exists already", template.id)));
            }
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e),
        }
        let key_ref = inner.free_key_ref(OP)?;
        let serial = inner
            .serial
            .clone()
            .unwrap_or_else(|| "UTNOSERIAL".to_owned());
        let request = KeyGenRequest {
            key_ref,
            spec: template.spec,
            car: "UTCA00001".to_owned(),
            chr: format!("{serial}00001"),
            algorithms: None,
        };
        let label = template
            .label
            .clone()
            .or_else(|| template.id.as_name().map(str::to_owned));
        let id = template
            .id
            .as_bytes()
            .map_or_else(|| vec![key_ref], <[u8]>::to_vec);
        let kind = match template.spec {
            KeySpec::Ec(c) => KeyKind::Ec {
                field_bits: u32::try_from(c.order_bits()).unwrap_or(0),
            },
            s => KeyKind::Rsa {
                modulus_bits: s
                    .rsa_bits()
                    .and_then(|b| u32::try_from(b).ok())
                    .unwrap_or(0),
            },
        };
        let prkd = PrivateKeyDescription {
            label: label.clone(),
            id: id.clone(),
            key_ref,
            kind,
        };
        inner.keys = None;
        let (_, cert) = inner.logged_in(OP, |c| {
            let r = c.generate_key_pair(&request)?;
            c.write_file(fid(prefix::PRKD, key_ref), &prkd.encode())?;
            Ok(r)
        })?;
        let entry = KeyEntry {
            key_ref,
            label,
            id,
            spec: Some(template.spec),
            public_key: cert.public_key().ok(),
        };
        entry
            .info()
            .map(|i| i.with_algorithms(template.effective_algorithms()))
            .ok_or_else(|| Error::protocol(OP, "the new key has an unusable label"))
    }

    fn delete_key(&self, key: &KeyId) -> Result<()> {
        const OP: &str = "sc-hsm.delete_key";
        let _span = tracing::debug_span!("sc-hsm.delete_key").entered();
        let mut inner = self.lock()?;
        let e = inner.find(key, OP)?;
        inner.keys = None;
        inner.logged_in(OP, |c| {
            c.delete_file(fid(prefix::KEY, e.key_ref))?;
            for f in [fid(prefix::PRKD, e.key_ref), fid(prefix::CERT, e.key_ref)] {
                match c.delete_file(f) {
                    Err(err) if !err.is_not_found() => return Err(err),
                    _ => {}
                }
            }
            Ok(())
        })
    }

    /// SELECT (when needed) and the PIN status, without sending a PIN: the card answers, the
    /// PIN is verified or can be (a PIN is configured and was not rejected, the PIN is not
    /// blocked). No card: `Unavailable`; no PIN given: `PermissionDenied`.
    fn health(&self) -> Result<()> {
        let _span = tracing::debug_span!("sc-hsm.health").entered();
        self.check_health()
    }

    fn certificate(&self, key: &KeyId) -> Result<Option<Vec<u8>>> {
        let _span = tracing::debug_span!("sc-hsm.certificate").entered();
        self.key_certificate(key)
    }

    /// Stores the certificate in the key's `CExx` (as OpenSC does); a certificate for another
    /// public key is refused ([`ErrorKind::InvalidInput`]): see `backend/certificates.rs`.
    fn store_certificate(&self, key: &KeyId, der: &[u8]) -> Result<()> {
        let _span = tracing::debug_span!("sc-hsm.store_certificate").entered();
        self.store_key_certificate(key, der)
    }

    /// Puts a CV request for the key's public key, signed by the key, back in `CExx`.
    fn delete_certificate(&self, key: &KeyId) -> Result<()> {
        let _span = tracing::debug_span!("sc-hsm.delete_certificate").entered();
        self.delete_key_certificate(key)
    }

    /// GET CHALLENGE, at most 1024 bytes per APDU.
    fn random(&self, len: usize) -> Result<Vec<u8>> {
        let _span = tracing::debug_span!("sc-hsm.random").entered();
        self.card_random(len)
    }

    fn public_key(&self, key: &KeyId) -> Result<PublicKey> {
        const OP: &str = "sc-hsm.public_key";
        let _span = tracing::debug_span!("sc-hsm.public_key").entered();
        self.lock()?.find(key, OP)?.public_key.ok_or_else(|| {
            Error::not_found(
                OP,
                format!("key {key} has no public key on the card (no CExx file)"),
            )
        })
    }
}
