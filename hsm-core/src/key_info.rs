//! What a store reports about a key, and the requests to generate or import one.

use std::collections::BTreeMap;

use crate::algorithm::SignAlgorithm;
use crate::key_id::KeyId;
use crate::key_spec::KeySpec;
use crate::private_key::PrivateKeyDer;

/// What a store reports about one key.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyInfo {
    /// The identifier to pass back to the store for this key.
    pub id: KeyId,
    /// A human-readable label, where the device keeps one apart from the id.
    pub label: Option<String>,
    /// The key's type and size; `None` when the device reports a kind this library does not model.
    pub spec: Option<KeySpec>,
    /// The signature algorithms the device allows with this key (its mechanisms or usages).
    pub algorithms: Vec<SignAlgorithm>,
    /// Backend-specific facts (NetHSM tags and operations, PKCS#11 `CKA_ID`, N200 slot...), by name.
    pub extras: BTreeMap<String, String>,
}

impl KeyInfo {
    /// A key with an id and a spec; algorithms default to every one the spec fits.
    #[must_use]
    pub fn new(id: KeyId, spec: Option<KeySpec>) -> Self {
        Self {
            id,
            label: None,
            algorithms: spec.map(KeySpec::algorithms).unwrap_or_default(),
            spec,
            extras: BTreeMap::new(),
        }
    }

    /// Sets the allowed algorithms.
    #[must_use]
    pub fn with_algorithms(mut self, algorithms: Vec<SignAlgorithm>) -> Self {
        self.algorithms = algorithms;
        self
    }

    /// Adds a backend-specific fact.
    #[must_use]
    pub fn with_extra(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let _ = self.extras.insert(name.into(), value.into());
        self
    }
}

/// What to generate: [`KeyStore::generate_key`](crate::KeyStore::generate_key)'s request.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyTemplate {
    /// The new key's identifier.
    pub id: KeyId,
    /// Type and size.
    pub spec: KeySpec,
    /// A label, where the device keeps one apart from the id (defaults to the id's name).
    pub label: Option<String>,
    /// The algorithms to allow; `None` allows every algorithm the spec fits and the device has.
    pub algorithms: Option<Vec<SignAlgorithm>>,
}

impl KeyTemplate {
    /// A template for a key `id` of `spec`.
    #[must_use]
    pub fn new(id: KeyId, spec: KeySpec) -> Self {
        Self {
            id,
            spec,
            label: None,
            algorithms: None,
        }
    }

    /// Restricts the allowed algorithms.
    #[must_use]
    pub fn with_algorithms(mut self, algorithms: Vec<SignAlgorithm>) -> Self {
        self.algorithms = Some(algorithms);
        self
    }

    /// The algorithms to allow: the template's list, or every one `spec` fits.
    #[must_use]
    pub fn effective_algorithms(&self) -> Vec<SignAlgorithm> {
        self.algorithms
            .clone()
            .unwrap_or_else(|| self.spec.algorithms())
    }
}

/// What to import: [`KeyStore::import_key`](crate::KeyStore::import_key)'s request.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ImportRequest {
    /// The identifier the key gets on the device.
    pub id: KeyId,
    /// The key.
    pub key: PrivateKeyDer,
    /// A label, where the device keeps one apart from the id.
    pub label: Option<String>,
    /// The algorithms to allow; `None` allows every algorithm the key fits.
    pub algorithms: Option<Vec<SignAlgorithm>>,
}

impl ImportRequest {
    /// Import `key` as `id`.
    #[must_use]
    pub fn new(id: KeyId, key: PrivateKeyDer) -> Self {
        Self {
            id,
            key,
            label: None,
            algorithms: None,
        }
    }
}

/// `with_label`, the same builder on each type that carries a label.
macro_rules! with_label {
    ($($type:ty),*) => {$(
        impl $type {
            /// Sets the label.
            #[must_use]
            pub fn with_label(mut self, label: impl Into<String>) -> Self {
                self.label = Some(label.into());
                self
            }
        }
    )*};
}

with_label!(KeyInfo, KeyTemplate, ImportRequest);
