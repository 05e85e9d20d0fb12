//! Builds `tests/latency/module.c`: a PKCS#11 module that forwards every call to SoftHSM2 and
//! waits a fixed time in `C_Sign` before it signs, standing in for a module that talks to a
//! network HSM. Shared by the tests and the `pool_latency` bench.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the PKCS#11 header comes from (Debian's `libp11-kit-dev`).
const HEADER_DIR: &str = "/usr/include/p11-kit-1";

/// Whether the module can be built here: a C compiler and the PKCS#11 header.
pub(crate) fn available() -> Result<(), String> {
    if !Path::new(HEADER_DIR).join("p11-kit/pkcs11.h").exists() {
        return Err(format!(
            "no {HEADER_DIR}/p11-kit/pkcs11.h (apt-get install libp11-kit-dev)"
        ));
    }
    match Command::new("cc").arg("--version").output() {
        Ok(o) if o.status.success() => Ok(()),
        _ => Err("no C compiler `cc` (apt-get install build-essential)".to_owned()),
    }
}

/// Compiles the module wrapping `target` with a wait of `millis` ms per signature into `dir`;
/// returns the path of the shared object.
pub(crate) fn build(dir: &Path, target: &str, millis: u32) -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/latency/module.c");
    let out = dir.join(format!("liblatency-{millis}ms.so"));
    let status = Command::new("cc")
        .args(["-shared", "-fPIC", "-O2", "-Wall", "-Werror"])
        .arg(format!("-I{HEADER_DIR}"))
        .arg(format!("-DLATENCY_TARGET=\"{target}\""))
        .arg(format!("-DLATENCY_MS={millis}"))
        .arg("-o")
        .arg(&out)
        .arg(&source)
        .args(["-ldl", "-lpthread"])
        .status()
        .expect("cc runs");
    assert!(status.success(), "cc failed to build {}", source.display());
    out
}
