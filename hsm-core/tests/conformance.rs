//! The conformance suite passes on a correct store and fails, naming the defect, on broken ones.
#![allow(clippy::panic)]

mod support;

use hsm_core::conformance::{Config, run};
use support::memory::{Defect, MemoryStore};

#[test]
fn a_correct_store_passes() {
    let store = MemoryStore::new(Defect::None);
    let report = run(&store, &Config::new("conf")).unwrap_or_else(|f| panic!("{f}"));
    assert!(report.passed.len() > 40, "{report}");
    // Everything generated was deleted again.
    assert!(hsm_core::KeyStore::list_keys(&store).unwrap().is_empty());
}

fn failures_of(defect: Defect) -> Vec<String> {
    let store = MemoryStore::new(defect);
    match run(&store, &Config::new("conf")) {
        Ok(report) => panic!("{defect:?} was not noticed:\n{report}"),
        Err(f) => f
            .failed
            .into_iter()
            .map(|(check, detail)| format!("{check}: {detail}"))
            .collect(),
    }
}

fn assert_some_failure(defect: Defect, needle: &str) {
    let failures = failures_of(defect);
    assert!(
        failures.iter().any(|f| f.contains(needle)),
        "{defect:?}: no failure mentions {needle:?}:\n{}",
        failures.join("\n")
    );
}

/// One test per defect: the suite must report a failure that mentions the needle.
macro_rules! defect_tests {
    ($($test:ident: $defect:ident => $needle:literal;)*) => {$(
        #[test]
        fn $test() {
            assert_some_failure(Defect::$defect, $needle);
        }
    )*};
}

defect_tests! {
    a_store_signing_with_the_wrong_key_fails: WrongKeySigns => "sign verifies";
    a_store_accepting_empty_messages_fails: AcceptsEmpty => "empty message is invalid input";
    a_store_making_the_wrong_curve_fails: WrongCurve => "p384: generate_key reports the spec";
    a_store_overwriting_duplicates_fails: OverwritesDuplicates => "duplicate id is already exists";
    a_store_declaring_too_much_fails: DeclaresTooMuch => "rsa2048";
    a_store_with_the_wrong_not_found_kind_fails:
        WrongNotFoundKind => "unknown key: sign is not found";
}
