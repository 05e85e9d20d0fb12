//! `hsm::open` reaches every backend: each `+sim` URI opens its simulator, and the conformance
//! suite passes through the `Box<dyn Hsm>` the facade returns.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use hsm::conformance::{Config, run};
use hsm::{ErrorKind, KeySpec};

fn conformance_through_open(uri: &str, prefix: &str) {
    let hsm = hsm::open(uri).unwrap_or_else(|e| panic!("open {uri}: {e}"));
    let config = Config::new(prefix)
        .skip_spec(KeySpec::Rsa3072)
        .skip_spec(KeySpec::Rsa4096);
    let report = run(hsm.as_ref(), &config).unwrap_or_else(|f| panic!("{uri}:\n{f}"));
    assert!(!report.passed.is_empty());
}

#[cfg(feature = "nethsm")]
#[test]
fn nethsm_sim_through_open() {
    conformance_through_open("nethsm+sim:", "facade");
}

#[cfg(feature = "n200")]
#[test]
fn n200_sim_through_open() {
    conformance_through_open("n200+sim:", "facade");
}

#[cfg(feature = "pkcs11")]
#[test]
fn pkcs11_sim_through_open() {
    conformance_through_open("pkcs11+sim:", "facade");
}

#[cfg(feature = "sc")]
#[test]
fn sc_hsm_sim_through_open() {
    conformance_through_open("sc-hsm+sim:", "facade");
}

#[test]
fn unknown_parameters_are_named() {
    for uri in [
        "nethsm+sim:?colour=blue",
        "n200+sim:?colour=blue",
        "pkcs11+sim:?colour=blue",
        "sc-hsm+sim:?colour=blue",
    ] {
        let err = hsm::open(uri)
            .err()
            .unwrap_or_else(|| panic!("{uri} opened"));
        assert!(
            matches!(err.kind(), ErrorKind::InvalidInput | ErrorKind::Unsupported),
            "{uri}: {err}"
        );
        if err.kind() == ErrorKind::InvalidInput {
            // `pkcs11+sim:` takes no attributes at all and says so; the others name the one.
            let named =
                err.to_string().contains("colour") || err.to_string().contains("attributes");
            assert!(named, "{uri}: {err}");
        }
    }
}
