//! Shared set-up for the SoftHSM2 tests: one temporary token directory per test run.
#![allow(
    dead_code,
    unsafe_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr
)]

use std::path::Path;
use std::sync::OnceLock;

pub(crate) const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

/// The directory holding this run's softhsm2.conf and tokens (kept for the process's life).
fn dir() -> &'static tempfile::TempDir {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let conf = hsm_pkcs11::sim::write_config(dir.path()).unwrap();
        // SAFETY: runs once, before any test loads SoftHSM2 or reads the environment.
        unsafe { std::env::set_var("SOFTHSM2_CONF", &conf) };
        dir
    })
}

/// Whether SoftHSM2 (and, with `tool`, pkcs11-tool) can run here. Missing: fail under `CI`,
/// otherwise print SKIPPED and return false.
pub(crate) fn ready(tool: bool) -> bool {
    let mut missing = Vec::new();
    if !Path::new(MODULE).exists() {
        missing.push("SoftHSM2 (apt-get install softhsm2)");
    }
    if tool && !Path::new("/usr/bin/pkcs11-tool").exists() {
        missing.push("pkcs11-tool (apt-get install opensc)");
    }
    if tool && !Path::new("/usr/bin/openssl").exists() {
        missing.push("openssl");
    }
    if missing.is_empty() {
        dir();
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "missing under CI: {missing:?}"
    );
    eprintln!("SKIPPED: missing {missing:?}");
    false
}

/// A fresh token through `pkcs11+sim:`.
pub(crate) fn sim() -> hsm_pkcs11::Pkcs11Hsm {
    hsm_pkcs11::Pkcs11Hsm::open("pkcs11+sim:").unwrap()
}

pub(crate) fn scratch() -> tempfile::TempDir {
    tempfile::tempdir_in(dir().path()).unwrap()
}
