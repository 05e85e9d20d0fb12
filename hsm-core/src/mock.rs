//! An in-memory backend for your own unit tests (feature `mock`): real keys in software, the
//! whole [`KeyStore`]/[`Signer`] pair and its async twin, and scripted failures.
//!
//! It checks inputs with the same pipeline as the device backends ([`SignRequest`]), so code that
//! passes against it sends what a device accepts; its signatures verify with any verifier. It is
//! no HSM: keys live in process memory. Never ship it; `hsm::open` does not know it.
//!
//! ```
//! use hsm_core::mock::MockHsm;
//! use hsm_core::{Curve, ErrorKind, KeySpec, KeyStore as _, KeyTemplate, SignAlgorithm, Signer as _};
//!
//! # fn main() -> hsm_core::Result<()> {
//! let hsm = MockHsm::new();
//! let key = "unit-test".parse()?;
//! hsm.generate_key(&KeyTemplate::new(key, KeySpec::Ec(Curve::P256)))?;
//! let key = "unit-test".parse()?;
//! let signature = hsm.sign(&key, SignAlgorithm::EcdsaSha256, b"hello")?;
//! hsm.public_key(&key)?.verify(b"hello", &signature)?;
//!
//! // How does my service behave when the HSM is unreachable?
//! hsm.fail_next(ErrorKind::Unavailable);
//! assert_eq!(hsm.sign(&key, SignAlgorithm::EcdsaSha256, b"hello").unwrap_err().kind(), ErrorKind::Unavailable);
//! # Ok(()) }
//! ```

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use ecdsa::signature::hazmat::PrehashSigner as _;
use ed25519_dalek::Signer as _;
use spki::EncodePublicKey as _;
use zeroize::Zeroizing;

use crate::algorithm::SignAlgorithm;
use crate::error::{Error, ErrorKind, Result};
use crate::key_id::KeyId;
use crate::key_info::{ImportRequest, KeyInfo, KeyTemplate};
use crate::key_spec::{Curve, KeySpec};
use crate::private_key::PrivateKeyParts;
use crate::public_key::PublicKey;
use crate::sign_request::{EcdsaEncoding, SignRequest};
use crate::signature::Signature;
use crate::store::{Capabilities, KeyStore, MAX_MESSAGE_LEN, Signer, check_random_len};

const BACKEND: &str = "mock";

/// The key specs the mock generates and imports.
pub const SPECS: [KeySpec; 7] = [
    KeySpec::Rsa2048,
    KeySpec::Rsa3072,
    KeySpec::Rsa4096,
    KeySpec::Ec(Curve::P256),
    KeySpec::Ec(Curve::P384),
    KeySpec::Ec(Curve::Secp256k1),
    KeySpec::Ed25519,
];

enum Secret {
    Rsa(Box<rsa::RsaPrivateKey>),
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
    Secp256k1(k256::ecdsa::SigningKey),
    Ed25519(ed25519_dalek::SigningKey),
}

struct Entry {
    spec: KeySpec,
    label: Option<String>,
    algorithms: Vec<SignAlgorithm>,
    secret: Secret,
    certificate: Option<Vec<u8>>,
}

#[derive(Default)]
struct State {
    keys: BTreeMap<KeyId, Entry>,
    faults: VecDeque<ErrorKind>,
    calls: u64,
}

impl State {
    /// The key `key`, for `operation`.
    fn entry(&self, operation: &'static str, key: &KeyId) -> Result<&Entry> {
        self.keys.get(key).ok_or_else(|| not_found(operation, key))
    }

    /// The key `key`, to change, for `operation`.
    fn entry_mut(&mut self, operation: &'static str, key: &KeyId) -> Result<&mut Entry> {
        self.keys
            .get_mut(key)
            .ok_or_else(|| not_found(operation, key))
    }
}

fn not_found(operation: &'static str, key: &KeyId) -> Error {
    Error::not_found(operation, format!("no key {key}"))
}

/// An in-memory HSM for tests. Cheap to clone: clones share the keys.
#[derive(Clone, Default)]
pub struct MockHsm {
    state: Arc<Mutex<State>>,
}

impl fmt::Debug for MockHsm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys = self.lock().map(|s| s.keys.len()).unwrap_or_default();
        f.debug_struct("MockHsm").field("keys", &keys).finish()
    }
}

fn random_bytes<const N: usize>(operation: &'static str) -> Result<Zeroizing<[u8; N]>> {
    let mut bytes = Zeroizing::new([0u8; N]);
    getrandom::fill(bytes.as_mut()).map_err(|e| {
        Error::new(ErrorKind::Device, operation)
            .with_message("the operating system's random generator failed")
            .with_source(e)
    })?;
    Ok(bytes)
}

fn device_error(
    operation: &'static str,
    e: impl std::error::Error + Send + Sync + 'static,
) -> Error {
    Error::new(ErrorKind::Device, operation).with_source(e)
}

impl Secret {
    fn generate(spec: KeySpec) -> Result<Self> {
        const OP: &str = "mock.generate_key";
        // A random scalar is below the order with overwhelming probability; retry otherwise.
        for _ in 0..8 {
            let seed = random_bytes::<48>(OP)?;
            let (b32, b48) = (seed.get(..32).unwrap_or_default(), seed.as_slice());
            let made = match spec {
                KeySpec::Ec(Curve::P256) => p256::ecdsa::SigningKey::from_slice(b32)
                    .ok()
                    .map(Self::P256),
                KeySpec::Ec(Curve::P384) => p384::ecdsa::SigningKey::from_slice(b48)
                    .ok()
                    .map(Self::P384),
                KeySpec::Ec(Curve::Secp256k1) => k256::ecdsa::SigningKey::from_slice(b32)
                    .ok()
                    .map(Self::Secp256k1),
                KeySpec::Ed25519 => {
                    let mut s = [0u8; 32];
                    s.copy_from_slice(b32);
                    let key = ed25519_dalek::SigningKey::from_bytes(&s);
                    zeroize::Zeroize::zeroize(&mut s);
                    Some(Self::Ed25519(key))
                }
                KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096 => {
                    let bits = spec.rsa_bits().unwrap_or(2048);
                    let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
                    let key =
                        rsa::RsaPrivateKey::new(&mut rng, bits).map_err(|e| device_error(OP, e))?;
                    Some(Self::Rsa(Box::new(key)))
                }
                other => {
                    return Err(Error::unsupported(
                        OP,
                        format!("the mock has no {other} keys"),
                    ));
                }
            };
            if let Some(secret) = made {
                return Ok(secret);
            }
        }
        Err(Error::new(ErrorKind::Device, OP).with_message("no valid scalar in 8 tries"))
    }

    fn import(parts: PrivateKeyParts, der: &[u8]) -> Result<(KeySpec, Self)> {
        const OP: &str = "mock.import_key";
        let bad = |what: &'static str| Error::invalid_input(OP, what);
        Ok(match parts {
            PrivateKeyParts::Rsa { spec, .. } => {
                use rsa::pkcs8::DecodePrivateKey as _;
                let key = rsa::RsaPrivateKey::from_pkcs8_der(der)
                    .map_err(|_| bad("not a valid RSA key"))?;
                (spec, Self::Rsa(Box::new(key)))
            }
            PrivateKeyParts::Ec { curve, scalar } => {
                let secret = match curve {
                    Curve::P256 => p256::ecdsa::SigningKey::from_slice(&scalar).map(Self::P256),
                    Curve::P384 => p384::ecdsa::SigningKey::from_slice(&scalar).map(Self::P384),
                    Curve::Secp256k1 => {
                        k256::ecdsa::SigningKey::from_slice(&scalar).map(Self::Secp256k1)
                    }
                    other => {
                        return Err(Error::unsupported(
                            OP,
                            format!("the mock has no {other} keys"),
                        ));
                    }
                }
                .map_err(|_| bad("the scalar is not a valid private key"))?;
                (KeySpec::Ec(curve), secret)
            }
            PrivateKeyParts::Ed25519 { seed } => {
                let seed: [u8; 32] = seed
                    .as_slice()
                    .try_into()
                    .map_err(|_| bad("an Ed25519 seed is 32 bytes"))?;
                (
                    KeySpec::Ed25519,
                    Self::Ed25519(ed25519_dalek::SigningKey::from_bytes(&seed)),
                )
            }
        })
    }

    fn public_key(&self) -> Result<PublicKey> {
        const OP: &str = "mock.public_key";
        let der = match self {
            Self::Rsa(k) => k.to_public_key().to_public_key_der(),
            Self::P256(k) => k.verifying_key().to_public_key_der(),
            Self::P384(k) => k.verifying_key().to_public_key_der(),
            Self::Secp256k1(k) => k.verifying_key().to_public_key_der(),
            Self::Ed25519(k) => k.verifying_key().to_public_key_der(),
        }
        .map_err(|e| device_error(OP, e))?;
        PublicKey::from_der(der.as_bytes())
    }

    fn sign(&self, spec: KeySpec, request: &SignRequest) -> Result<Signature> {
        const OP: &str = "mock.sign";
        let digest = request.digest_bytes().unwrap_or_default();
        let raw = match self {
            Self::P256(k) => k
                .sign_prehash(digest)
                .map(|s: p256::ecdsa::Signature| s.to_bytes().to_vec()),
            Self::P384(k) => k
                .sign_prehash(digest)
                .map(|s: p384::ecdsa::Signature| s.to_bytes().to_vec()),
            Self::Secp256k1(k) => k
                .sign_prehash(digest)
                .map(|s: k256::ecdsa::Signature| s.to_bytes().to_vec()),
            Self::Ed25519(k) => Ok(k
                .sign(request.message_bytes().unwrap_or_default())
                .to_bytes()
                .to_vec()),
            Self::Rsa(k) => {
                let algorithm = request.algorithm();
                let signed = if algorithm.is_rsa_pkcs1() {
                    k.sign(rsa::Pkcs1v15Sign::new_unprefixed(), &request.digest_info()?)
                } else {
                    let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
                    match algorithm {
                        SignAlgorithm::RsaPssSha256 => {
                            k.sign_with_rng(&mut rng, rsa::Pss::<sha2::Sha256>::new(), digest)
                        }
                        SignAlgorithm::RsaPssSha384 => {
                            k.sign_with_rng(&mut rng, rsa::Pss::<sha2::Sha384>::new(), digest)
                        }
                        _ => k.sign_with_rng(&mut rng, rsa::Pss::<sha2::Sha512>::new(), digest),
                    }
                };
                return signed
                    .map_err(|e| device_error(OP, e))
                    .and_then(|sig| request.signature(spec, EcdsaEncoding::Raw, None, &sig));
            }
        }
        .map_err(|e| device_error(OP, e))?;
        request.signature(spec, EcdsaEncoding::Raw, None, &raw)
    }
}

impl MockHsm {
    /// An empty mock.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The next call fails with an error of `kind` (calls queue up: one fault per call, in
    /// order). For testing how your code handles an unreachable or refusing HSM.
    pub fn fail_next(&self, kind: ErrorKind) {
        if let Ok(mut state) = self.lock() {
            state.faults.push_back(kind);
        }
    }

    /// The async face of this mock, sharing its keys: for code written against
    /// [`AsyncHsm`](crate::AsyncHsm).
    #[must_use]
    pub fn to_async(&self) -> AsyncMockHsm {
        AsyncMockHsm(self.clone())
    }

    /// How many calls the mock has answered (failed ones included).
    #[must_use]
    pub fn calls(&self) -> u64 {
        self.lock().map(|s| s.calls).unwrap_or_default()
    }

    fn lock(&self) -> Result<MutexGuard<'_, State>> {
        self.state.lock().map_err(|_| {
            Error::new(ErrorKind::Device, "mock")
                .with_message("a test thread panicked holding the mock")
        })
    }

    /// Locks the state for one call: counts it and fails it if a fault is queued.
    fn call(&self, operation: &'static str) -> Result<MutexGuard<'_, State>> {
        let mut state = self.lock()?;
        state.calls += 1;
        match state.faults.pop_front() {
            Some(kind) => {
                Err(Error::new(kind, operation).with_message("injected by MockHsm::fail_next"))
            }
            None => Ok(state),
        }
    }

    fn info(id: &KeyId, entry: &Entry) -> KeyInfo {
        let mut info = KeyInfo::new(id.clone(), Some(entry.spec));
        info.algorithms.clone_from(&entry.algorithms);
        if let Some(label) = &entry.label {
            info = info.with_label(label.clone());
        }
        info
    }

    fn insert(
        &self,
        operation: &'static str,
        id: &KeyId,
        label: Option<String>,
        algorithms: Option<&[SignAlgorithm]>,
        make: impl FnOnce() -> Result<(KeySpec, Secret)>,
    ) -> Result<KeyInfo> {
        if self.call(operation)?.keys.contains_key(id) {
            return Err(
                Error::new(ErrorKind::AlreadyExists, operation).with_message(format!("key {id}"))
            );
        }
        // Key generation (RSA especially) runs without the lock.
        let (spec, secret) = make()?;
        let algorithms = algorithms.map_or_else(|| spec.algorithms(), <[SignAlgorithm]>::to_vec);
        let entry = Entry {
            spec,
            label,
            algorithms,
            secret,
            certificate: None,
        };
        let mut state = self.lock()?;
        if state.keys.contains_key(id) {
            return Err(
                Error::new(ErrorKind::AlreadyExists, operation).with_message(format!("key {id}"))
            );
        }
        let info = Self::info(id, &entry);
        state.keys.insert(id.clone(), entry);
        Ok(info)
    }

    fn sign_request(&self, key: &KeyId, request: &SignRequest) -> Result<Signature> {
        let op = request.operation();
        let state = self.call(op)?;
        let entry = state.entry(op, key)?;
        request.check_key(entry.spec)?;
        if !entry.algorithms.contains(&request.algorithm()) {
            return Err(Error::new(ErrorKind::PermissionDenied, op)
                .with_message(format!("key {key} does not allow {}", request.algorithm())));
        }
        entry.secret.sign(entry.spec, request)
    }
}

impl KeyStore for MockHsm {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    fn capabilities(&self) -> Capabilities {
        let algorithms = SignAlgorithm::ALL
            .into_iter()
            .filter(|a| SPECS.iter().any(|s| s.supports(*a)))
            .collect();
        Capabilities::new(SPECS.to_vec(), algorithms)
            .with_import(true)
            .with_delete(true)
            .with_certificates(true)
            .with_random(true)
    }

    fn list_keys(&self) -> Result<Vec<KeyInfo>> {
        let state = self.call("mock.list_keys")?;
        Ok(state.keys.iter().map(|(id, e)| Self::info(id, e)).collect())
    }

    fn key_info(&self, key: &KeyId) -> Result<KeyInfo> {
        const OP: &str = "mock.key_info";
        let state = self.call(OP)?;
        state.entry(OP, key).map(|e| Self::info(key, e))
    }

    fn generate_key(&self, template: &KeyTemplate) -> Result<KeyInfo> {
        const OP: &str = "mock.generate_key";
        if !SPECS.contains(&template.spec) {
            return Err(Error::unsupported(
                OP,
                format!("the mock has no {} keys", template.spec),
            ));
        }
        let algorithms = template.effective_algorithms();
        if algorithms.is_empty() {
            return Err(Error::invalid_input(OP, "no algorithm fits the key spec"));
        }
        let spec = template.spec;
        self.insert(
            OP,
            &template.id,
            template.label.clone(),
            Some(&algorithms),
            || Secret::generate(spec).map(|s| (spec, s)),
        )
    }

    fn import_key(&self, request: &ImportRequest) -> Result<KeyInfo> {
        const OP: &str = "mock.import_key";
        let parts = request.key.decode()?;
        let der = request.key.as_der();
        self.insert(
            OP,
            &request.id,
            request.label.clone(),
            request.algorithms.as_deref(),
            || Secret::import(parts, der),
        )
    }

    fn delete_key(&self, key: &KeyId) -> Result<()> {
        const OP: &str = "mock.delete_key";
        let mut state = self.call(OP)?;
        state
            .keys
            .remove(key)
            .map(drop)
            .ok_or_else(|| not_found(OP, key))
    }

    fn public_key(&self, key: &KeyId) -> Result<PublicKey> {
        const OP: &str = "mock.public_key";
        let state = self.call(OP)?;
        state.entry(OP, key)?.secret.public_key()
    }

    fn certificate(&self, key: &KeyId) -> Result<Option<Vec<u8>>> {
        const OP: &str = "mock.certificate";
        let state = self.call(OP)?;
        Ok(state.entry(OP, key)?.certificate.clone())
    }

    fn store_certificate(&self, key: &KeyId, der: &[u8]) -> Result<()> {
        const OP: &str = "mock.store_certificate";
        crate::certificate::check_certificate_der(der, OP)?;
        let mut state = self.call(OP)?;
        state.entry_mut(OP, key)?.certificate = Some(der.to_vec());
        Ok(())
    }

    fn delete_certificate(&self, key: &KeyId) -> Result<()> {
        const OP: &str = "mock.delete_certificate";
        let mut state = self.call(OP)?;
        state
            .entry_mut(OP, key)?
            .certificate
            .take()
            .map(drop)
            .ok_or_else(|| Error::not_found(OP, format!("key {key} has no certificate")))
    }

    fn random(&self, len: usize) -> Result<Vec<u8>> {
        const OP: &str = "mock.random";
        check_random_len(len, OP)?;
        drop(self.call(OP)?);
        let mut bytes = vec![0u8; len];
        getrandom::fill(&mut bytes).map_err(|e| {
            Error::new(ErrorKind::Device, OP)
                .with_message("the operating system's random generator failed")
                .with_source(e)
        })?;
        Ok(bytes)
    }
}

crate::sign_pipeline! {
    impl Signer for MockHsm {
        fn sign;
        fn sign_digest;
        operations: "mock",
        max_message_len: |hsm| MAX_MESSAGE_LEN,
        sign_request: |hsm, key, algorithm, request, operation| hsm.sign_request(key, &request?),
    }
}

/// The async face of a [`MockHsm`], sharing its keys and scripted failures: from
/// [`MockHsm::to_async`]. A separate type, so that a call never has two `sign` methods to choose
/// from. The mock answers at once, so each future simply answers the blocking call.
#[derive(Clone, Debug)]
pub struct AsyncMockHsm(MockHsm);

/// The body macro of [`AsyncMockHsm`]'s impls (see [`crate::forward`]): each future answers the
/// blocking call at once.
macro_rules! answered_at_once {
    ([] $this:tt, plain $trait:ident :: $method:ident()) => {
        $this.0.$method()
    };
    ([] $this:tt, $kind:ident $trait:ident :: $method:ident($($mode:tt $arg:ident),*)) => {
        Box::pin(async move { $this.0.$method($($arg),*) })
    };
}

crate::impl_async_traits! {
    impl[] AsyncKeyStore for AsyncMockHsm;
    impl[] AsyncSigner for AsyncMockHsm;
    with [answered_at_once] []
}
