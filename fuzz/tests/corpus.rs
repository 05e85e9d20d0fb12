//! The CI smoke run: every target function over every input of its seed corpus
//! (`corpus/TARGET/`), without libFuzzer. `scripts/fuzz.sh --smoke` runs it.
//!
//! `known_bugs` (ignored) runs the inputs of `regressions/TARGET/`: crashes found by fuzzing
//! whose fix belongs to another crate. When one passes, its input moves to the seed corpus.

use std::fs;
use std::panic;
use std::path::{Path, PathBuf};

use hsm_fuzz::TARGETS;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn inputs(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.is_file());
    files.sort();
    files
}

/// Runs `run` over every file in `dir`; returns the files it panicked on.
fn failures(dir: &Path, run: fn(&[u8])) -> Vec<String> {
    inputs(dir)
        .into_iter()
        .filter(|file| {
            let data = fs::read(file).expect("read a corpus file");
            panic::catch_unwind(|| run(&data)).is_err()
        })
        .map(|f| f.display().to_string())
        .collect()
}

#[test]
fn every_target_passes_its_seed_corpus() {
    let mut failed = Vec::new();
    for (name, run) in TARGETS {
        let dir = root().join("corpus").join(name);
        let n = inputs(&dir).len();
        assert!(n > 0, "{name}: no seed inputs in {}", dir.display());
        let f = failures(&dir, *run);
        eprintln!("{name}: {n} seed inputs, {} failed", f.len());
        failed.extend(f);
    }
    assert!(failed.is_empty(), "targets panicked on: {failed:#?}");
}

#[test]
fn every_binary_is_a_listed_target() {
    let manifest = fs::read_to_string(root().join("Cargo.toml")).expect("read Cargo.toml");
    let mut bins = Vec::new();
    let mut in_bin = false;
    for line in manifest.lines() {
        if line.starts_with('[') {
            in_bin = line == "[[bin]]";
        } else if let Some(name) = line
            .strip_prefix("name = \"")
            .and_then(|l| l.strip_suffix('"'))
            && in_bin
        {
            bins.push(name);
        }
    }
    let listed: Vec<&str> = TARGETS.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        bins, listed,
        "Cargo.toml [[bin]]s and hsm_fuzz::TARGETS, in order"
    );
    for name in listed {
        let bin = root().join("fuzz_targets").join(format!("{name}.rs"));
        let text = fs::read_to_string(&bin).expect("each target has its binary");
        assert!(
            text.contains(&format!("hsm_fuzz::targets::{name}::run")),
            "{}",
            bin.display()
        );
    }
}

#[test]
#[ignore = "known bugs in other crates: scripts/fuzz.sh --regressions"]
fn known_bugs() {
    let mut failed = Vec::new();
    for (name, run) in TARGETS {
        let f = failures(&root().join("regressions").join(name), *run);
        failed.extend(f);
    }
    assert!(failed.is_empty(), "still failing: {failed:#?}");
}
