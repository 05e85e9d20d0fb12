//! The conformance suite: one entry point that every backend's tests call with a live store.
//!
//! [`run`] reads the store's [`Capabilities`](crate::Capabilities) and checks that the store does exactly what it
//! declares:
//!
//! - every declared key spec is generated, listed, inspected and its public key read;
//! - every declared algorithm that fits a key signs a message, a digest and a batch, and every
//!   signature is verified by an independent implementation (RustCrypto, or the `openssl` CLI
//!   for brainpoolP512r1, which has no Rust implementation);
//! - what is not declared fails with [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported): other key specs, other
//!   algorithms, import and delete when off;
//! - the error kinds: unknown key ([`ErrorKind::NotFound`](crate::ErrorKind::NotFound)), an algorithm that does not fit the
//!   key, empty and oversized input, a wrong digest length ([`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput)), and a
//!   duplicate id ([`ErrorKind::AlreadyExists`](crate::ErrorKind::AlreadyExists));
//! - import (when declared) of a key whose public half is known, and delete (when declared).
//!
//! Keys are named `{prefix}{spec}` (e.g. `confp256`), alphanumeric when the prefix is, so one
//! naming serves every backend. Leftovers of an earlier run are deleted first when the store can
//! delete.
//!
//! ```no_run
//! # fn store() -> Box<dyn hsm_core::Hsm> { unimplemented!() }
//! use hsm_core::conformance::{Config, run};
//! use hsm_core::KeySpec;
//!
//! let store = store();
//! let report = run(store.as_ref(), &Config::new("conf").skip_spec(KeySpec::Rsa4096))
//!     .unwrap_or_else(|failures| panic!("{failures}"));
//! println!("{report}");
//! ```

mod checks;
mod openssl;
mod outcome;

pub use self::checks::run;
pub use self::outcome::{Failures, Report};

use crate::key_spec::KeySpec;

/// How to run the suite.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    /// Prefix of every key id the suite creates.
    pub key_prefix: String,
    /// Declared specs the suite leaves out (e.g. RSA-4096, slow to generate on some devices).
    pub skip_specs: Vec<KeySpec>,
    /// The message signed in every check.
    pub message: Vec<u8>,
}

impl Config {
    /// A configuration whose keys are named `{key_prefix}{spec}`.
    #[must_use]
    pub fn new(key_prefix: impl Into<String>) -> Self {
        Self {
            key_prefix: key_prefix.into(),
            skip_specs: Vec::new(),
            message: b"hsm-rs conformance: the quick brown fox jumps over the lazy dog".to_vec(),
        }
    }

    /// Leaves `spec` out.
    #[must_use]
    pub fn skip_spec(mut self, spec: KeySpec) -> Self {
        self.skip_specs.push(spec);
        self
    }

    /// The key id for `spec` (and a `tag` to tell several keys of a spec apart).
    #[must_use]
    pub fn key_name(&self, spec: KeySpec, tag: &str) -> String {
        format!("{}{}{}", self.key_prefix, spec.name(), tag)
    }
}
