//! `hsm::open` reaches every backend: each `+sim` URI opens its simulator, the backend declares
//! exactly what [`TRUTH`] says it supports, and the conformance suite passes through the
//! `Box<dyn Hsm>` the facade returns.
//!
//! The conformance suite checks what a store declares: every declared spec is generated and
//! signs with every declared algorithm that fits it, and every undeclared spec, algorithm and
//! import must fail with `Unsupported`. So once the declaration is pinned to the table below,
//! every key spec and algorithm on every backend is either checked or checked to be refused: a
//! backend that stopped declaring something it supports (or started declaring something it does
//! not) fails here instead of being skipped silently.
#![allow(missing_docs, clippy::panic, clippy::print_stderr)]

use std::collections::BTreeSet;

use hsm::conformance::{Config, run};
use hsm::{Capabilities, ErrorKind, KeySpec, SignAlgorithm};

/// What one backend supports, as its documentation states it (the root README's table and the
/// backend crate's README): the truth the declaration is held to.
struct Truth {
    uri: &'static str,
    /// Key specs `generate_key` makes, space-separated `KeySpec` names.
    specs: &'static str,
    /// Signature algorithms, space-separated `SignAlgorithm` names.
    algorithms: &'static str,
    import: bool,
    delete: bool,
}

const EC_CURVES: &str = "p256 p384 p521 secp256k1 brainpool256 brainpool384 brainpool512";
const ECDSA: &str = "ecdsa-sha256 ecdsa-sha384 ecdsa-sha512 ecdsa";
const RSA: &str = "rsa-pkcs1-sha256 rsa-pkcs1-sha384 rsa-pkcs1-sha512 rsa-pss-sha256 \
                   rsa-pss-sha384 rsa-pss-sha512";

/// NetHSM: RSA, every EC curve (brainpoolP512r1 too), Ed25519 and AES keys; every algorithm;
/// import (RSA, EC, Ed25519) and delete.
const NETHSM: Truth = Truth {
    uri: "nethsm+sim:",
    specs: "rsa2048 rsa3072 rsa4096 EC ed25519 aes128 aes256",
    algorithms: "ECDSA RSA ed25519",
    import: true,
    delete: true,
};

/// se.SAM N200: RSA, every EC curve and AES keys; no Ed25519 (not in its public API); import
/// (EC, `importecckey`) and delete.
#[cfg(feature = "n200")]
const N200: Truth = Truth {
    uri: "n200+sim:",
    specs: "rsa2048 rsa3072 rsa4096 EC aes128 aes256",
    algorithms: "ECDSA RSA",
    import: true,
    delete: true,
};

/// PKCS#11 on the simulator's SoftHSM2 token: RSA, the curves SoftHSM2 (on OpenSSL) generates,
/// Ed25519; import and delete.
#[cfg(feature = "pkcs11")]
const PKCS11: Truth = Truth {
    uri: "pkcs11+sim:",
    specs: "rsa2048 rsa3072 rsa4096 EC ed25519",
    algorithms: "ECDSA RSA ed25519",
    import: true,
    delete: true,
};

/// SmartCard-HSM: RSA and every EC curve; no Ed25519 (not in the card's command set); no plain
/// import (only DKEK-wrapped keys, outside `KeyStore`); delete.
#[cfg(feature = "sc")]
const SC_HSM: Truth = Truth {
    uri: "sc-hsm+sim:",
    specs: "rsa2048 rsa3072 rsa4096 EC",
    algorithms: "ECDSA RSA",
    import: false,
    delete: true,
};

fn names(list: &str) -> Vec<&str> {
    list.split_whitespace()
        .flat_map(|w| match w {
            "EC" => EC_CURVES.split_whitespace().collect::<Vec<_>>(),
            "ECDSA" => ECDSA.split_whitespace().collect(),
            "RSA" => RSA.split_whitespace().collect(),
            other => vec![other],
        })
        .collect()
}

impl Truth {
    fn specs(&self) -> BTreeSet<KeySpec> {
        names(self.specs)
            .into_iter()
            .map(|n| n.parse().unwrap_or_else(|e| panic!("{n}: {e}")))
            .collect()
    }

    fn algorithms(&self) -> Vec<SignAlgorithm> {
        names(self.algorithms)
            .into_iter()
            .map(|n| n.parse().unwrap_or_else(|e| panic!("{n}: {e}")))
            .collect()
    }

    /// The differences between the backend's declaration and this table, one line each.
    fn differences(&self, caps: &Capabilities) -> Vec<String> {
        let mut out = Vec::new();
        let declared: BTreeSet<KeySpec> = caps.key_specs.iter().copied().collect();
        for spec in self.specs().difference(&declared) {
            out.push(format!("does not declare {spec}, which it supports"));
        }
        for spec in declared.difference(&self.specs()) {
            out.push(format!("declares {spec}, which it does not support"));
        }
        let supported = self.algorithms();
        for alg in supported.iter().filter(|a| !caps.algorithms.contains(a)) {
            out.push(format!("does not declare {alg}, which it supports"));
        }
        for alg in caps.algorithms.iter().filter(|a| !supported.contains(a)) {
            out.push(format!("declares {alg}, which it does not support"));
        }
        if caps.import != self.import {
            out.push(format!(
                "declares import {}, expected {}",
                caps.import, self.import
            ));
        }
        if caps.delete != self.delete {
            out.push(format!(
                "declares delete {}, expected {}",
                caps.delete, self.delete
            ));
        }
        out
    }
}

/// Opens `truth.uri`, holds its declaration to the table, then runs the whole conformance suite
/// with nothing skipped, and checks that every spec the table lists was exercised.
fn conformance_through_open(truth: &Truth) {
    let uri = truth.uri;
    let hsm = hsm::open(uri).unwrap_or_else(|e| panic!("open {uri}: {e}"));
    let differences = truth.differences(&hsm.capabilities());
    assert!(
        differences.is_empty(),
        "{uri} ({}) declares other than its table says:\n  {}",
        hsm.backend(),
        differences.join("\n  ")
    );
    let report =
        run(hsm.as_ref(), &Config::new("facade")).unwrap_or_else(|f| panic!("{uri}:\n{f}"));
    assert!(
        report.not_applicable.is_empty(),
        "{uri}: checks left out:\n{report}"
    );
    for spec in truth.specs() {
        let generated = format!("{spec}: generate_key names the key");
        assert!(
            report.passed.contains(&generated),
            "{uri}: {spec} was not exercised"
        );
    }
    for spec in KeySpec::ALL
        .into_iter()
        .filter(|s| !truth.specs().contains(s))
    {
        let refused = format!("{spec}: undeclared spec is unsupported");
        assert!(
            report.passed.contains(&refused),
            "{uri}: {spec} was not checked to be refused"
        );
    }
    eprintln!("{uri}: {} checks passed", report.passed.len());
}

#[cfg(feature = "nethsm")]
#[test]
fn nethsm_sim_through_open() {
    conformance_through_open(&NETHSM);
}

#[cfg(feature = "n200")]
#[test]
fn n200_sim_through_open() {
    conformance_through_open(&N200);
}

#[cfg(feature = "pkcs11")]
#[test]
fn pkcs11_sim_through_open() {
    conformance_through_open(&PKCS11);
}

#[cfg(feature = "sc")]
#[test]
fn sc_hsm_sim_through_open() {
    conformance_through_open(&SC_HSM);
}

/// An unknown URI parameter is refused with `InvalidInput` naming it; `pkcs11+sim:` takes no
/// parameters at all and says that instead. A backend this build leaves out refuses its scheme
/// with `Unsupported`, naming the feature, before reading any parameter.
#[test]
fn unknown_parameters_are_named() {
    for (uri, named) in [
        ("nethsm+sim:?colour=blue", "colour"),
        ("n200+sim:?colour=blue", "colour"),
        ("pkcs11+sim:?colour=blue", "attributes"),
        ("sc-hsm+sim:?colour=blue", "colour"),
    ] {
        let err = hsm::open(uri)
            .err()
            .unwrap_or_else(|| panic!("{uri} opened"));
        let base = uri.split('+').next().unwrap_or_default();
        if hsm::schemes().contains(&base) {
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{uri}: {err}");
            assert!(err.to_string().contains(named), "{uri}: {err}");
        } else {
            assert_eq!(err.kind(), ErrorKind::Unsupported, "{uri}: {err}");
            assert!(err.to_string().contains("feature"), "{uri}: {err}");
        }
    }
}
