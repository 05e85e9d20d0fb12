//! An in-memory store with RustCrypto keys (P-256, P-384, Ed25519). Test code only: it exists so
//! the conformance suite can be shown to pass on a correct store and fail on broken ones.

use std::collections::BTreeMap;
use std::sync::Mutex;

use ecdsa::signature::hazmat::PrehashSigner as _;
use ed25519_dalek::Signer as _;
use hsm_core::store::{check_algorithm_fits, check_digest, check_message};
use hsm_core::{
    Capabilities, Curve, Error, ErrorKind, ImportRequest, KeyId, KeyInfo, KeySpec, KeyStore,
    KeyTemplate, PrivateKeyParts, PublicKey, Result, SignAlgorithm, Signature, Signer,
};
use spki::EncodePublicKey as _;

/// A deliberate defect, to prove that the suite notices it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Defect {
    None,
    /// Signs with a different key than the one asked for.
    WrongKeySigns,
    /// Accepts empty messages.
    AcceptsEmpty,
    /// Says P-384 is supported but makes P-256 keys.
    WrongCurve,
    /// Generating an existing id overwrites it.
    OverwritesDuplicates,
    /// Declares RSA-PSS without implementing it.
    DeclaresTooMuch,
    /// Unknown keys give a protocol error instead of not-found.
    WrongNotFoundKind,
}

enum Secret {
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
    Ed25519(ed25519_dalek::SigningKey),
}

struct Entry {
    spec: KeySpec,
    label: Option<String>,
    secret: Secret,
}

pub struct MemoryStore {
    keys: Mutex<BTreeMap<KeyId, Entry>>,
    defect: Defect,
    counter: Mutex<u8>,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("defect", &self.defect)
            .finish_non_exhaustive()
    }
}

impl MemoryStore {
    /// Stores a new key `id`; an existing one is refused unless `overwrite`.
    fn insert(
        &self,
        operation: &'static str,
        id: &KeyId,
        label: Option<String>,
        secret: Secret,
        overwrite: bool,
    ) -> Result<KeyInfo> {
        let mut keys = self.keys.lock().unwrap();
        if keys.contains_key(id) && !overwrite {
            return Err(Error::new(ErrorKind::AlreadyExists, operation));
        }
        let entry = Entry {
            spec: Self::spec_of(&secret),
            label,
            secret,
        };
        let info = Self::info(id, &entry);
        keys.insert(id.clone(), entry);
        Ok(info)
    }

    pub fn new(defect: Defect) -> Self {
        Self {
            keys: Mutex::new(BTreeMap::new()),
            defect,
            counter: Mutex::new(1),
        }
    }

    fn next_scalar(&self) -> [u8; 32] {
        let mut c = self.counter.lock().unwrap();
        *c = c.wrapping_add(1);
        let mut s = [0x11u8; 32];
        s[31] = *c;
        s[0] = 0x01;
        s
    }

    fn make(&self, spec: KeySpec) -> Result<Secret> {
        let s = self.next_scalar();
        let spec = if self.defect == Defect::WrongCurve && spec == KeySpec::Ec(Curve::P384) {
            KeySpec::Ec(Curve::P256)
        } else {
            spec
        };
        match spec {
            KeySpec::Ec(Curve::P256) => Ok(Secret::P256(
                p256::ecdsa::SigningKey::from_slice(&s).unwrap(),
            )),
            KeySpec::Ec(Curve::P384) => {
                let mut b = [0x22u8; 48];
                b[..32].copy_from_slice(&s);
                Ok(Secret::P384(
                    p384::ecdsa::SigningKey::from_slice(&b).unwrap(),
                ))
            }
            KeySpec::Ed25519 => Ok(Secret::Ed25519(ed25519_dalek::SigningKey::from_bytes(&s))),
            other => Err(Error::unsupported(
                "memory.generate",
                format!("{other} is not supported"),
            )),
        }
    }

    fn public(secret: &Secret) -> PublicKey {
        let der = match secret {
            Secret::P256(k) => k.verifying_key().to_public_key_der().unwrap(),
            Secret::P384(k) => k.verifying_key().to_public_key_der().unwrap(),
            Secret::Ed25519(k) => k.verifying_key().to_public_key_der().unwrap(),
        };
        PublicKey::from_der(der.as_bytes()).unwrap()
    }

    fn spec_of(secret: &Secret) -> KeySpec {
        match secret {
            Secret::P256(_) => KeySpec::Ec(Curve::P256),
            Secret::P384(_) => KeySpec::Ec(Curve::P384),
            Secret::Ed25519(_) => KeySpec::Ed25519,
        }
    }

    fn not_found(&self, key: &KeyId) -> Error {
        if self.defect == Defect::WrongNotFoundKind {
            Error::protocol("memory", "odd answer")
        } else {
            Error::not_found("memory", format!("no key {key}"))
        }
    }

    fn info(id: &KeyId, e: &Entry) -> KeyInfo {
        let mut info = KeyInfo::new(id.clone(), Some(e.spec));
        if let Some(l) = &e.label {
            info = info.with_label(l.clone());
        }
        info
    }

    fn sign_prepared(
        &self,
        key: &KeyId,
        algorithm: SignAlgorithm,
        data: &[u8],
        is_digest: bool,
    ) -> Result<Signature> {
        let keys = self.keys.lock().unwrap();
        let entry = keys.get(key).ok_or_else(|| self.not_found(key))?;
        if !self.capabilities().has_algorithm(algorithm) {
            return Err(Error::unsupported("memory.sign", format!("{algorithm}")));
        }
        check_algorithm_fits(entry.spec, algorithm, "memory.sign")?;
        if algorithm == SignAlgorithm::RsaPssSha256 {
            return Err(Error::new(ErrorKind::Device, "memory.sign"));
        }
        let other;
        let secret = if self.defect == Defect::WrongKeySigns {
            other = self.make(entry.spec)?;
            &other
        } else {
            &entry.secret
        };
        let digest = if is_digest {
            data.to_vec()
        } else {
            algorithm.hash().map_or(data.to_vec(), |h| h.digest(data))
        };
        match secret {
            Secret::P256(k) => {
                let s: p256::ecdsa::Signature = k
                    .sign_prehash(&digest)
                    .map_err(|e| Error::new(ErrorKind::Device, "sign").with_source(e))?;
                Signature::ecdsa_from_raw(algorithm, Curve::P256, &s.to_bytes())
            }
            Secret::P384(k) => {
                let s: p384::ecdsa::Signature = k
                    .sign_prehash(&digest)
                    .map_err(|e| Error::new(ErrorKind::Device, "sign").with_source(e))?;
                Signature::ecdsa_from_raw(algorithm, Curve::P384, &s.to_bytes())
            }
            Secret::Ed25519(k) => Signature::from_bytes(algorithm, &k.sign(data).to_bytes()),
        }
    }
}

impl KeyStore for MemoryStore {
    fn backend(&self) -> &'static str {
        "memory"
    }

    fn capabilities(&self) -> Capabilities {
        let mut algorithms = vec![
            SignAlgorithm::EcdsaSha256,
            SignAlgorithm::EcdsaSha384,
            SignAlgorithm::EcdsaSha512,
            SignAlgorithm::EcdsaPrehashed,
            SignAlgorithm::Ed25519,
        ];
        let mut specs = vec![
            KeySpec::Ec(Curve::P256),
            KeySpec::Ec(Curve::P384),
            KeySpec::Ed25519,
        ];
        if self.defect == Defect::DeclaresTooMuch {
            algorithms.push(SignAlgorithm::RsaPssSha256);
            specs.push(KeySpec::Rsa2048);
        }
        Capabilities::new(specs, algorithms)
            .with_import(true)
            .with_delete(true)
            .with_max_message_len(4096)
    }

    fn list_keys(&self) -> Result<Vec<KeyInfo>> {
        Ok(self
            .keys
            .lock()
            .unwrap()
            .iter()
            .map(|(id, e)| Self::info(id, e))
            .collect())
    }

    fn key_info(&self, key: &KeyId) -> Result<KeyInfo> {
        let keys = self.keys.lock().unwrap();
        keys.get(key)
            .map(|e| Self::info(key, e))
            .ok_or_else(|| self.not_found(key))
    }

    fn generate_key(&self, template: &KeyTemplate) -> Result<KeyInfo> {
        if !self.capabilities().has_spec(template.spec) {
            return Err(Error::unsupported("memory.generate", "spec"));
        }
        let secret = self.make(template.spec)?;
        let overwrite = self.defect == Defect::OverwritesDuplicates;
        self.insert(
            "memory.generate",
            &template.id,
            template.label.clone(),
            secret,
            overwrite,
        )
    }

    fn import_key(&self, request: &ImportRequest) -> Result<KeyInfo> {
        let secret = match request.key.decode()? {
            PrivateKeyParts::Ec { curve, scalar } => match curve {
                Curve::P256 => p256::ecdsa::SigningKey::from_slice(&scalar).map(Secret::P256),
                Curve::P384 => p384::ecdsa::SigningKey::from_slice(&scalar).map(Secret::P384),
                other => return Err(Error::unsupported("import", format!("{other:?}"))),
            }
            .map_err(|_| Error::invalid_input("import", "scalar"))?,
            PrivateKeyParts::Ed25519 { seed } => {
                Secret::Ed25519(ed25519_dalek::SigningKey::from_bytes(
                    &<[u8; 32]>::try_from(seed.as_slice())
                        .map_err(|_| Error::invalid_input("import", "seed"))?,
                ))
            }
            other => return Err(Error::unsupported("import", format!("{other:?}"))),
        };
        self.insert(
            "memory.import",
            &request.id,
            request.label.clone(),
            secret,
            false,
        )
    }

    fn delete_key(&self, key: &KeyId) -> Result<()> {
        self.keys
            .lock()
            .unwrap()
            .remove(key)
            .map(|_| ())
            .ok_or_else(|| self.not_found(key))
    }

    fn public_key(&self, key: &KeyId) -> Result<PublicKey> {
        let keys = self.keys.lock().unwrap();
        keys.get(key)
            .map(|e| Self::public(&e.secret))
            .ok_or_else(|| self.not_found(key))
    }
}

impl Signer for MemoryStore {
    fn sign(&self, key: &KeyId, algorithm: SignAlgorithm, message: &[u8]) -> Result<Signature> {
        if self.defect != Defect::AcceptsEmpty || !message.is_empty() {
            check_message(message, self.capabilities().max_message_len, "memory.sign")?;
        }
        let is_digest = algorithm == SignAlgorithm::EcdsaPrehashed;
        if is_digest {
            check_digest(algorithm, message, "memory.sign")?;
        }
        self.sign_prepared(key, algorithm, message, is_digest)
    }

    fn sign_digest(
        &self,
        key: &KeyId,
        algorithm: SignAlgorithm,
        digest: &[u8],
    ) -> Result<Signature> {
        check_digest(algorithm, digest, "memory.sign_digest")?;
        self.sign_prepared(key, algorithm, digest, true)
    }
}
