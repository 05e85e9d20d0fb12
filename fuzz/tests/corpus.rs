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

/// A bug fuzzing found (fuzz/README.md, "Bugs found"): the input as the README gives it, and the
/// seed-corpus file that keeps it fixed.
struct FoundBug {
    target: &'static str,
    /// The file in `corpus/TARGET/`, or `None` for an input that must not be a seed (it exhausts
    /// memory when the bug is back): that one runs in a child process under a memory limit.
    file: Option<&'static str>,
    input_hex: &'static str,
}

/// The five bugs of fuzz/README.md, in its order.
const FOUND_BUGS: [FoundBug; 5] = [
    FoundBug {
        target: "pkcs11_uri",
        file: Some("percent-plus-escape"),
        input_hex: "706b637331313a746f6b656e3d252b37",
    },
    FoundBug {
        target: "sc_pkcs15",
        file: Some("prkd-size-top-bit"),
        input_hex: "a02c300f0c06656374657374030206c0040101300b0401010303073080020101a10c300a300204000204d2020180",
    },
    FoundBug {
        target: "n200_signature",
        file: Some("secp256k1-s-above-order"),
        // 03 + ASCII "01" x 32 + ASCII "FF" x 32, the form fuzz/README.md gives.
        input_hex: "033031303130313031303130313031303130313031303130313031303130313031303130313031303130313031303130313031303130313031303130313031303146464646464646464646464646464646464646464646464646464646464646464646464646464646464646464646464646464646464646464646464646464646",
    },
    FoundBug {
        target: "http_answers",
        file: Some("leading-empty-lines"),
        // Flags 00, cap 0x0065, split 0x0d, then "\r\n\r\nHTTP/1.1 201 Creatr1\r\n\r\n".
        input_hex: "000000650d0a0d0a485454502f312e312032303120437265617472310d0a0d0a",
    },
    FoundBug {
        target: "backend_uri",
        file: None,
        input_hex: "73632d68736d3a3f70696e2d736f757263653d2f6465762f7a65726f",
    },
];

fn decode_hex(text: &str) -> Vec<u8> {
    assert!(text.len() % 2 == 0, "odd hex {text}");
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

fn bug_input(bug: &FoundBug) -> Vec<u8> {
    decode_hex(bug.input_hex)
}

fn target(name: &str) -> fn(&[u8]) {
    TARGETS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, run)| *run)
        .unwrap_or_else(|| panic!("{name} is not a target"))
}

/// The bugs fuzzing found stay fixed: each input is still in the seed corpus, byte for byte as
/// fuzz/README.md gives it (a missing folder or file, or a changed one, fails), and its target
/// runs over it without a panic. The one input that is not a seed (`pin-source=/dev/zero`) runs
/// in a child process limited to 1 GiB of address space, so that the bug coming back fails this
/// test instead of exhausting the machine's memory.
#[test]
fn known_bugs() {
    let mut failed = Vec::new();
    for bug in &FOUND_BUGS {
        let input = bug_input(bug);
        let Some(file) = bug.file else {
            continue;
        };
        let path = root().join("corpus").join(bug.target).join(file);
        let kept = fs::read(&path)
            .unwrap_or_else(|e| panic!("{}: the found bug's input is gone: {e}", path.display()));
        assert_eq!(
            kept,
            input,
            "{} is not the input fuzz/README.md lists for the {} bug",
            path.display(),
            bug.target
        );
        let run = target(bug.target);
        if panic::catch_unwind(|| run(&input)).is_err() {
            failed.push(path.display().to_string());
        }
    }
    assert!(failed.is_empty(), "found bugs are back: {failed:#?}");

    let exe = std::env::current_exe().expect("the test binary");
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(r#"ulimit -v 1048576 && exec "$0" --exact pin_source_dev_zero_child --ignored --nocapture"#)
        .arg(&exe)
        .output()
        .expect("run sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "backend_uri over `sc-hsm:?pin-source=/dev/zero` under a 1 GiB limit: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The `pin-source=/dev/zero` bug's input through its target; `known_bugs` runs it in a child
/// process under a memory limit.
#[test]
#[ignore = "run by known_bugs in a child process under a memory limit"]
fn pin_source_dev_zero_child() {
    let bug = FOUND_BUGS
        .iter()
        .find(|b| b.file.is_none())
        .expect("the bug kept out of the corpus");
    let input = bug_input(bug);
    assert_eq!(input, b"sc-hsm:?pin-source=/dev/zero");
    target(bug.target)(&input);
}

/// Crashes found by fuzzing whose fix belongs to another crate wait in `regressions/TARGET/`
/// (fuzz/README.md); `scripts/fuzz.sh --regressions` runs them and fails while any still
/// crashes. No `regressions/` folder means no open bug.
#[test]
#[ignore = "open bugs in other crates: scripts/fuzz.sh --regressions"]
fn known_bugs_in_regressions() {
    let dir = root().join("regressions");
    if !dir.exists() {
        eprintln!("no {}: no open bug", dir.display());
        return;
    }
    let mut failed = Vec::new();
    let mut n = 0;
    for (name, run) in TARGETS {
        let target_dir = dir.join(name);
        n += inputs(&target_dir).len();
        failed.extend(failures(&target_dir, *run));
    }
    eprintln!("{n} open regression inputs, {} still failing", failed.len());
    assert!(failed.is_empty(), "still failing: {failed:#?}");
}
