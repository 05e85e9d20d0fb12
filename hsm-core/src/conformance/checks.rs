//! The checks of the conformance suite.

use sha2::Digest as _;
use zeroize::Zeroizing;

use super::Config;
use super::openssl;
use super::outcome::{Failures, Outcome, Report};
use crate::algorithm::SignAlgorithm;
use crate::error::{ErrorKind, Result};
use crate::key_id::KeyId;
use crate::key_info::{ImportRequest, KeyTemplate};
use crate::key_spec::{Curve, KeySpec};
use crate::private_key::PrivateKeyDer;
use crate::public_key::PublicKey;
use crate::signature::Signature;
use crate::store::{Capabilities, Hsm};

/// A key the suite generated and can sign with.
struct TestKey {
    spec: KeySpec,
    name: String,
    id: KeyId,
    public_key: Option<PublicKey>,
}

/// Runs the whole suite against `store`. See the [module docs](super).
///
/// # Errors
/// [`Failures`] listing every check that failed.
pub fn run(store: &dyn Hsm, config: &Config) -> std::result::Result<Report, Failures> {
    let caps = store.capabilities();
    let mut out = Outcome::default();
    let backend = store.backend();
    tracing::info!(backend, ?caps, "conformance run");

    let mut keys = Vec::new();
    for spec in caps.key_specs.iter().copied() {
        if config.skip_specs.contains(&spec) {
            out.not_applicable(format!("{spec}: skipped by the test's configuration"));
            continue;
        }
        if let Some(key) = generate_and_inspect(store, &caps, config, spec, &mut out) {
            keys.push(key);
        }
    }
    for key in &keys {
        if key.spec.is_asymmetric() {
            sign_checks(store, &caps, config, key, &mut out);
        }
    }
    listing(store, &keys, &mut out);
    error_kinds(store, &caps, config, &keys, &mut out);
    undeclared_specs(store, &caps, config, &mut out);
    import_checks(store, &caps, config, &mut out);
    certificate_checks(store, &caps, &keys, &mut out);
    random_checks(store, &caps, &mut out);
    delete_checks(store, &caps, &keys, &mut out);
    out.finish()
}

/// `Ok` if `result` failed with `expected`, otherwise a description of what happened.
fn expect_kind<T>(result: Result<T>, expected: ErrorKind) -> std::result::Result<(), String> {
    match result {
        Err(e) if e.kind() == expected => Ok(()),
        Err(e) => Err(format!("expected {expected}, got {} ({e})", e.kind())),
        Ok(_) => Err(format!("expected {expected}, but it succeeded")),
    }
}

fn same_key(info_id: &KeyId, info_label: Option<&str>, key: &TestKey) -> bool {
    *info_id == key.id || info_label == Some(key.name.as_str())
}

fn generate_and_inspect(
    store: &dyn Hsm,
    caps: &Capabilities,
    config: &Config,
    spec: KeySpec,
    out: &mut Outcome,
) -> Option<TestKey> {
    let name = config.key_name(spec, "");
    let id = match KeyId::name(name.clone()) {
        Ok(id) => id,
        Err(e) => {
            out.fail(format!("{spec}: key id {name:?}"), e.to_string());
            return None;
        }
    };
    if caps.delete {
        // Leftovers of an earlier run.
        match store.delete_key(&id) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => out.fail(format!("{spec}: delete leftover"), e.to_string()),
        }
    }
    let template = KeyTemplate::new(id.clone(), spec).with_label(name.clone());
    let info = match store.generate_key(&template) {
        Ok(info) => info,
        Err(e) if e.kind() == ErrorKind::AlreadyExists && !caps.delete => {
            out.not_applicable(format!("{spec}: reusing the key left by an earlier run"));
            match store.key_info(&id) {
                Ok(info) => info,
                Err(e) => {
                    out.fail(format!("{spec}: key_info of reused key"), e.to_string());
                    return None;
                }
            }
        }
        Err(e) => {
            out.fail(format!("{spec}: generate_key"), e.to_string());
            return None;
        }
    };
    let key = TestKey {
        spec,
        name,
        id,
        public_key: None,
    };
    out.check(
        format!("{spec}: generate_key names the key"),
        if same_key(&info.id, info.label.as_deref(), &key) {
            Ok(())
        } else {
            Err(format!("asked for {}, got {:?}", key.id, info))
        },
    );
    out.check(
        format!("{spec}: generate_key reports the spec"),
        match info.spec {
            Some(s) if s == spec => Ok(()),
            other => Err(format!("reported {other:?}")),
        },
    );
    out.check(
        format!("{spec}: key_info"),
        match store.key_info(&key.id) {
            Ok(i) if i.spec == Some(spec) && same_key(&i.id, i.label.as_deref(), &key) => Ok(()),
            Ok(i) => Err(format!("unexpected info {i:?}")),
            Err(e) => Err(e.to_string()),
        },
    );
    let public_key = if spec.is_asymmetric() {
        match store.public_key(&key.id) {
            Ok(pk) => {
                out.check(
                    format!("{spec}: public_key has the spec"),
                    if pk.spec() == Some(spec) {
                        Ok(())
                    } else {
                        Err(format!("public key is {:?}", pk.spec()))
                    },
                );
                Some(pk)
            }
            Err(e) => {
                out.fail(format!("{spec}: public_key"), e.to_string());
                None
            }
        }
    } else {
        out.check(
            format!("{spec}: a secret key has no public key"),
            match store.public_key(&key.id) {
                Err(e) if matches!(e.kind(), ErrorKind::InvalidInput | ErrorKind::Unsupported) => {
                    Ok(())
                }
                Err(e) => Err(format!("expected invalid input or unsupported, got {e}")),
                Ok(_) => Err("returned a public key for a secret key".into()),
            },
        );
        None
    };
    Some(TestKey { public_key, ..key })
}

/// The data a signature check signs: the message, or for `EcdsaPrehashed` the digest of the
/// message with the curve's hash.
fn signing_input(algorithm: SignAlgorithm, curve: Option<Curve>, message: &[u8]) -> Vec<u8> {
    match (algorithm, curve) {
        (SignAlgorithm::EcdsaPrehashed, Some(c)) => c.matching_hash().digest(message),
        _ => message.to_vec(),
    }
}

/// The digest a `sign_digest` check signs.
fn digest_input(algorithm: SignAlgorithm, curve: Option<Curve>, message: &[u8]) -> Vec<u8> {
    match algorithm.hash() {
        Some(h) => h.digest(message),
        None => signing_input(algorithm, curve, message),
    }
}

/// Verifies with an implementation that is not the backend's: RustCrypto, or `openssl` for
/// brainpoolP512r1. `is_digest` says whether `data` is a digest (true for `sign_digest` and
/// for `EcdsaPrehashed`).
fn verify_independently(
    public_key: &PublicKey,
    data: &[u8],
    is_digest: bool,
    signature: &Signature,
) -> std::result::Result<(), String> {
    if public_key.curve() == Some(Curve::BrainpoolP512r1) {
        let digest = match (is_digest, signature.algorithm().hash()) {
            (false, Some(h)) => h.digest(data),
            _ => data.to_vec(),
        };
        return openssl::verify_ecdsa_digest(public_key, &digest, signature);
    }
    let result = if is_digest {
        public_key.verify_digest(data, signature)
    } else {
        public_key.verify(data, signature)
    };
    result.map_err(|e| e.to_string())
}

fn check_signature(
    key: &TestKey,
    algorithm: SignAlgorithm,
    data: &[u8],
    is_digest: bool,
    result: Result<Signature>,
) -> std::result::Result<(), String> {
    let signature = result.map_err(|e| e.to_string())?;
    if signature.algorithm() != algorithm {
        return Err(format!(
            "tagged {} instead of {algorithm}",
            signature.algorithm()
        ));
    }
    let public_key = key
        .public_key
        .as_ref()
        .ok_or_else(|| "no public key to verify with".to_owned())?;
    if let Some(curve) = key.spec.curve() {
        let round_trip = Signature::ecdsa_from_der(algorithm, curve, &signature.to_der())
            .map_err(|e| format!("DER form does not parse back: {e}"))?;
        if round_trip != signature {
            return Err("DER and raw forms disagree".into());
        }
    }
    verify_independently(public_key, data, is_digest, &signature)
}

fn sign_checks(
    store: &dyn Hsm,
    caps: &Capabilities,
    config: &Config,
    key: &TestKey,
    out: &mut Outcome,
) {
    let spec = key.spec;
    let curve = spec.curve();
    for algorithm in spec.algorithms() {
        let label = format!("{spec}/{algorithm}");
        let message = config.message.as_slice();
        if !caps.has_algorithm(algorithm) {
            out.check(
                format!("{label}: undeclared algorithm is unsupported"),
                expect_kind(
                    store.sign(
                        &key.id,
                        algorithm,
                        &signing_input(algorithm, curve, message),
                    ),
                    ErrorKind::Unsupported,
                ),
            );
            continue;
        }
        let prehashed = algorithm == SignAlgorithm::EcdsaPrehashed;
        let input = signing_input(algorithm, curve, message);
        out.check(
            format!("{label}: sign verifies"),
            check_signature(
                key,
                algorithm,
                &input,
                prehashed,
                store.sign(&key.id, algorithm, &input),
            ),
        );
        if algorithm.accepts_digest() {
            let digest = digest_input(algorithm, curve, message);
            out.check(
                format!("{label}: sign_digest verifies"),
                check_signature(
                    key,
                    algorithm,
                    &digest,
                    true,
                    store.sign_digest(&key.id, algorithm, &digest),
                ),
            );
            if let Some(hash) = algorithm.hash() {
                let short = digest.get(..hash.output_len() - 1).unwrap_or_default();
                out.check(
                    format!("{label}: wrong digest length is invalid input"),
                    expect_kind(
                        store.sign_digest(&key.id, algorithm, short),
                        ErrorKind::InvalidInput,
                    ),
                );
            }
        } else {
            let digest = sha2::Sha512::digest(message);
            out.check(
                format!("{label}: sign_digest is unsupported"),
                expect_kind(
                    store.sign_digest(&key.id, algorithm, &digest),
                    ErrorKind::Unsupported,
                ),
            );
        }
        let batch: Vec<Vec<u8>> = (0..3u8)
            .map(|i| {
                let mut m = message.to_vec();
                m.push(i);
                signing_input(algorithm, curve, &m)
            })
            .collect();
        let refs: Vec<&[u8]> = batch.iter().map(Vec::as_slice).collect();
        let results = store.sign_many(&key.id, algorithm, &refs);
        out.check(
            format!("{label}: sign_many verifies every signature in order"),
            if results.len() == batch.len() {
                batch
                    .iter()
                    .zip(results)
                    .try_for_each(|(m, r)| check_signature(key, algorithm, m, prehashed, r))
            } else {
                Err(format!(
                    "{} results for {} messages",
                    results.len(),
                    batch.len()
                ))
            },
        );
    }
}

fn listing(store: &dyn Hsm, keys: &[TestKey], out: &mut Outcome) {
    out.check(
        "list_keys shows every generated key",
        match store.list_keys() {
            Ok(list) => keys
                .iter()
                .find(|k| !list.iter().any(|i| same_key(&i.id, i.label.as_deref(), k)))
                .map_or(Ok(()), |k| Err(format!("{} is missing", k.id))),
            Err(e) => Err(e.to_string()),
        },
    );
}

fn error_kinds(
    store: &dyn Hsm,
    caps: &Capabilities,
    config: &Config,
    keys: &[TestKey],
    out: &mut Outcome,
) {
    let Some(key) = keys.iter().find(|k| {
        k.public_key.is_some() && k.spec.algorithms().iter().any(|a| caps.has_algorithm(*a))
    }) else {
        out.not_applicable("error kinds: no key that can sign");
        return;
    };
    let Some(algorithm) = key
        .spec
        .algorithms()
        .into_iter()
        .find(|a| caps.has_algorithm(*a) && *a != SignAlgorithm::EcdsaPrehashed)
    else {
        out.not_applicable("error kinds: no hashing algorithm declared");
        return;
    };
    let message = config.message.as_slice();

    match KeyId::name(format!("{}missing", config.key_prefix)) {
        Ok(missing) => {
            out.check(
                "unknown key: sign is not found",
                expect_kind(
                    store.sign(&missing, algorithm, message),
                    ErrorKind::NotFound,
                ),
            );
            out.check(
                "unknown key: public_key is not found",
                expect_kind(store.public_key(&missing), ErrorKind::NotFound),
            );
            out.check(
                "unknown key: key_info is not found",
                expect_kind(store.key_info(&missing), ErrorKind::NotFound),
            );
            if caps.delete {
                out.check(
                    "unknown key: delete_key is not found",
                    expect_kind(store.delete_key(&missing), ErrorKind::NotFound),
                );
            }
        }
        Err(e) => out.fail("unknown key id", e.to_string()),
    }

    match caps
        .algorithms
        .iter()
        .copied()
        .find(|a| !key.spec.supports(*a))
    {
        Some(wrong) => {
            let _ = out.check(
                format!("{}: {wrong} does not fit and is invalid input", key.spec),
                expect_kind(
                    store.sign(
                        &key.id,
                        wrong,
                        &signing_input(wrong, Some(Curve::P256), message),
                    ),
                    ErrorKind::InvalidInput,
                ),
            );
        }
        None => out.not_applicable("algorithm not fitting the key: one key type only"),
    }

    out.check(
        "empty message is invalid input",
        expect_kind(store.sign(&key.id, algorithm, b""), ErrorKind::InvalidInput),
    );
    let oversized = vec![0x5a; caps.max_message_len.saturating_add(1)];
    out.check(
        format!(
            "oversized message ({} bytes) is invalid input",
            oversized.len()
        ),
        expect_kind(
            store.sign(&key.id, algorithm, &oversized),
            ErrorKind::InvalidInput,
        ),
    );
    let template = KeyTemplate::new(key.id.clone(), key.spec).with_label(key.name.clone());
    out.check(
        "duplicate id is already exists",
        expect_kind(store.generate_key(&template), ErrorKind::AlreadyExists),
    );
}

fn undeclared_specs(store: &dyn Hsm, caps: &Capabilities, config: &Config, out: &mut Outcome) {
    for spec in KeySpec::ALL {
        if caps.has_spec(spec) {
            continue;
        }
        let Ok(id) = KeyId::name(config.key_name(spec, "x")) else {
            continue;
        };
        let result = store.generate_key(&KeyTemplate::new(id.clone(), spec));
        if result.is_ok() && caps.delete {
            let _ = store.delete_key(&id);
        }
        out.check(
            format!("{spec}: undeclared spec is unsupported"),
            expect_kind(result, ErrorKind::Unsupported),
        );
    }
}

/// Import checks: every spec the store declares it imports gets a key made by `openssl
/// genpkey`, which must come back with the same public key and sign verifiably; undeclared
/// import must be refused.
fn import_checks(store: &dyn Hsm, caps: &Capabilities, config: &Config, out: &mut Outcome) {
    if !caps.import {
        let request = caps
            .key_specs
            .iter()
            .copied()
            .find(|s| s.is_asymmetric())
            .and_then(|spec| {
                let (der, _) = openssl::generate_pkcs8(spec).ok()?;
                let id = KeyId::name(config.key_name(spec, "imp")).ok()?;
                Some(ImportRequest::new(
                    id,
                    PrivateKeyDer::new(Zeroizing::new(der)),
                ))
            });
        match request {
            Some(request) => {
                out.check(
                    "undeclared import is unsupported",
                    expect_kind(store.import_key(&request), ErrorKind::Unsupported),
                );
            }
            None => out.not_applicable("import: undeclared, and no key to offer"),
        }
        return;
    }
    let specs: Vec<KeySpec> = caps
        .import_specs()
        .into_iter()
        .filter(|s| s.is_asymmetric() && !config.skip_specs.contains(s))
        .collect();
    if specs.is_empty() {
        out.not_applicable("import: no declared asymmetric spec");
    }
    for spec in specs {
        import_one(store, caps, config, spec, out);
    }
}

fn import_one(
    store: &dyn Hsm,
    caps: &Capabilities,
    config: &Config,
    spec: KeySpec,
    out: &mut Outcome,
) {
    let made = openssl::generate_pkcs8(spec).and_then(|(der, spki)| {
        PublicKey::from_der(&spki)
            .map(|pk| (der, pk))
            .map_err(|e| e.to_string())
    });
    let (der, expected) = match made {
        Ok(made) => made,
        Err(e) => {
            out.fail(format!("{spec}: a software key to import"), e);
            return;
        }
    };
    let name = config.key_name(spec, "imp");
    let Ok(id) = KeyId::name(name.clone()) else {
        out.fail(format!("{spec}: import key name"), name);
        return;
    };
    let request = ImportRequest::new(id.clone(), PrivateKeyDer::new(Zeroizing::new(der)))
        .with_label(name.clone());
    if caps.delete {
        let _ = store.delete_key(&id);
    }
    match store.import_key(&request) {
        Ok(info) if info.spec.is_none_or(|s| s == spec) => out.pass(format!("{spec}: import_key")),
        Ok(info) => {
            out.fail(
                format!("{spec}: import_key"),
                format!("reported as {:?}", info.spec),
            );
            return;
        }
        Err(e) => {
            out.fail(format!("{spec}: import_key"), e.to_string());
            return;
        }
    }
    out.check(
        format!("{spec}: imported key has the expected public key"),
        match store.public_key(&id) {
            Ok(pk) if pk.as_der() == expected.as_der() => Ok(()),
            Ok(_) => Err("the public key differs from the imported key's".into()),
            Err(e) => Err(e.to_string()),
        },
    );
    let key = TestKey {
        spec,
        name,
        id: id.clone(),
        public_key: Some(expected),
    };
    for algorithm in spec
        .algorithms()
        .into_iter()
        .filter(|a| caps.has_algorithm(*a) && *a != SignAlgorithm::EcdsaPrehashed)
    {
        out.check(
            format!("{spec}: imported key signs {algorithm}, verified with the software key"),
            check_signature(
                &key,
                algorithm,
                &config.message,
                false,
                store.sign(&id, algorithm, &config.message),
            ),
        );
    }
    if caps.delete {
        out.check(
            format!("{spec}: delete imported key"),
            store.delete_key(&id).map_err(|e| e.to_string()),
        );
    }
}

fn certificate_checks(store: &dyn Hsm, caps: &Capabilities, keys: &[TestKey], out: &mut Outcome) {
    let Some(key) = keys.iter().find(|k| k.spec.is_asymmetric()) else {
        out.not_applicable("certificates: no key to try");
        return;
    };
    if !caps.certificates {
        out.check(
            "undeclared certificate storage is unsupported",
            expect_kind(store.certificate(&key.id), ErrorKind::Unsupported),
        );
        return;
    }
    let cert = match store
        .public_key(&key.id)
        .map_err(|e| e.to_string())
        .and_then(|public_key| openssl::certificate_for(&public_key))
    {
        Ok(cert) => cert,
        Err(e) => {
            out.check("certificates: openssl makes a certificate", Err(e));
            return;
        }
    };
    let id = &key.id;
    let read = |what: &str, expected: Option<&[u8]>| match store.certificate(id) {
        Ok(got) if got.as_deref() == expected => Ok(()),
        Ok(got) => Err(format!(
            "{what}: {} bytes read back, {} expected",
            got.map_or(0, |g| g.len()),
            expected.map_or(0, <[u8]>::len)
        )),
        Err(e) => Err(e.to_string()),
    };
    out.check("a new key has no certificate", read("fresh key", None));
    out.check(
        "store_certificate",
        store
            .store_certificate(id, &cert)
            .map_err(|e| e.to_string()),
    );
    out.check(
        "certificate reads back what was stored",
        read("stored", Some(&cert)),
    );
    out.check(
        "a stored certificate is replaced",
        store
            .store_certificate(id, &cert)
            .map_err(|e| e.to_string())
            .and_then(|()| read("replaced", Some(&cert))),
    );
    out.check(
        "store_certificate refuses bytes that are not a certificate",
        expect_kind(
            store.store_certificate(id, b"not a certificate"),
            ErrorKind::InvalidInput,
        ),
    );
    let missing = KeyId::name("conformance-no-such-key").ok();
    if let Some(missing) = missing {
        out.check(
            "certificate of an unknown key is not found",
            expect_kind(store.certificate(&missing), ErrorKind::NotFound),
        );
    }
    out.check(
        "delete_certificate",
        store
            .delete_certificate(id)
            .map_err(|e| e.to_string())
            .and_then(|()| read("deleted", None)),
    );
    out.check(
        "deleting a missing certificate is not found",
        expect_kind(store.delete_certificate(id), ErrorKind::NotFound),
    );
}

fn random_checks(store: &dyn Hsm, caps: &Capabilities, out: &mut Outcome) {
    if !caps.random {
        out.check(
            "undeclared random is unsupported",
            expect_kind(store.random(16), ErrorKind::Unsupported),
        );
        return;
    }
    for len in [0, 1, 32, 1000, crate::store::MAX_RANDOM_LEN] {
        out.check(
            format!("random({len}) gives {len} bytes"),
            match store.random(len) {
                Ok(bytes) if bytes.len() == len => Ok(()),
                Ok(bytes) => Err(format!("{} bytes", bytes.len())),
                Err(e) => Err(e.to_string()),
            },
        );
    }
    out.check(
        "two random(32) calls differ",
        match (store.random(32), store.random(32)) {
            (Ok(a), Ok(b)) if a != b => Ok(()),
            (Ok(_), Ok(_)) => Err("the same 32 bytes twice".into()),
            (Err(e), _) | (_, Err(e)) => Err(e.to_string()),
        },
    );
    out.check(
        "random over MAX_RANDOM_LEN is invalid input",
        expect_kind(
            store.random(crate::store::MAX_RANDOM_LEN + 1),
            ErrorKind::InvalidInput,
        ),
    );
}

fn delete_checks(store: &dyn Hsm, caps: &Capabilities, keys: &[TestKey], out: &mut Outcome) {
    if !caps.delete {
        match keys.first() {
            Some(key) => {
                let _ = out.check(
                    "undeclared delete is unsupported",
                    expect_kind(store.delete_key(&key.id), ErrorKind::Unsupported),
                );
            }
            None => out.not_applicable("delete: no key to try"),
        }
        return;
    }
    for key in keys {
        let spec = key.spec;
        if !out.check(
            format!("{spec}: delete_key"),
            store.delete_key(&key.id).map_err(|e| e.to_string()),
        ) {
            continue;
        }
        out.check(
            format!("{spec}: deleted key is not found"),
            expect_kind(store.key_info(&key.id), ErrorKind::NotFound),
        );
        if spec.is_asymmetric() {
            out.check(
                format!("{spec}: deleted key has no public key"),
                expect_kind(store.public_key(&key.id), ErrorKind::NotFound),
            );
        }
        out.check(
            format!("{spec}: deleting twice is not found"),
            expect_kind(store.delete_key(&key.id), ErrorKind::NotFound),
        );
    }
    out.check(
        "list_keys no longer shows deleted keys",
        match store.list_keys() {
            Ok(list) => keys
                .iter()
                .find(|k| list.iter().any(|i| same_key(&i.id, i.label.as_deref(), k)))
                .map_or(Ok(()), |k| Err(format!("{} is still listed", k.id))),
            Err(e) => Err(e.to_string()),
        },
    );
}
