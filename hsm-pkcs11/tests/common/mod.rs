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

/// Whether SoftHSM2 (and, with `tool`, pkcs11-tool, openssl and softhsm2-util) can run here. Missing: fail under `CI`,
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
    if tool && !Path::new("/usr/bin/softhsm2-util").exists() {
        missing.push("softhsm2-util (apt-get install softhsm2)");
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

/// Runs the tests of a binary one at a time. SoftHSM2 can lose a token for the rest of the
/// process when this process reads it while another one (pkcs11-tool, softhsm2-util) writes
/// it; sibling tests scan every slot when they make their tokens, so tests that start those
/// programs hold this lock.
pub(crate) fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The `pkcs11:` URI of `hsm`'s token (by label and serial) through the module file `module`,
/// with `query` (e.g. `pin-value=1234`) after its `module-path`.
pub(crate) fn token_uri(
    hsm: &hsm_pkcs11::Pkcs11Hsm,
    module: impl std::fmt::Display,
    query: &str,
) -> String {
    let t = hsm.token_info().unwrap();
    let (label, serial) = (t.label, t.serial);
    let query = if query.is_empty() {
        String::new()
    } else {
        format!("&{query}")
    };
    format!("pkcs11:token={label};serial={serial}?module-path={module}{query}")
}

/// [`sim`] where SoftHSM2 can run (see [`ready`]), else `None`.
pub(crate) fn sim_if_ready() -> Option<hsm_pkcs11::Pkcs11Hsm> {
    ready(false).then(sim)
}

/// A fresh token through `pkcs11+sim:`.
pub(crate) fn sim() -> hsm_pkcs11::Pkcs11Hsm {
    hsm_pkcs11::Pkcs11Hsm::open("pkcs11+sim:").unwrap()
}

pub(crate) fn scratch() -> tempfile::TempDir {
    tempfile::tempdir_in(dir().path()).unwrap()
}

/// The directory SoftHSM2 keeps this run's tokens in.
pub(crate) fn token_dir() -> std::path::PathBuf {
    dir().path().join("tokens")
}

/// Runs `pkcs11-tool` logged in to the token `label` with the sim's user PIN; panics with its
/// output if it fails.
pub(crate) fn pkcs11_tool(label: &str, args: &[&str]) -> String {
    run_ok(
        std::process::Command::new("pkcs11-tool")
            .args([
                "--module",
                MODULE,
                "--token-label",
                label,
                "--login",
                "--pin",
                hsm_pkcs11::sim::USER_PIN,
            ])
            .args(args),
    )
}

/// The directory SoftHSM2 keeps the token with this serial number in: its name is a UUID whose
/// last 16 hex digits are the serial.
pub(crate) fn token_path(serial: &str) -> std::path::PathBuf {
    std::fs::read_dir(token_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .replace('-', "")
                .ends_with(serial)
        })
        .unwrap()
}

/// Raw PKCS#11 calls the safe `cryptoki` API does not offer, made on the module this process
/// already loaded (so they reach the same SoftHSM2 state as the backend).
pub(crate) mod raw {
    use std::os::raw::c_ulong;

    #[repr(C)]
    #[derive(Default)]
    struct SessionInfo {
        slot_id: c_ulong,
        state: c_ulong,
        flags: c_ulong,
        device_error: c_ulong,
    }

    fn module() -> libloading::Library {
        // SAFETY: loading SoftHSM2 runs no code beyond its constructors, which cryptoki's own
        // load of the same file already ran.
        unsafe { libloading::Library::new(super::MODULE).unwrap() }
    }

    /// `C_CloseAllSessions(slot)`: every session this process has on the token is gone, and
    /// with them the login.
    pub(crate) fn close_all_sessions(slot: u64) {
        let lib = module();
        // SAFETY: the PKCS#11 signature of C_CloseAllSessions; the module is initialised.
        let rv = unsafe {
            let f = lib
                .get::<unsafe extern "C" fn(c_ulong) -> c_ulong>(b"C_CloseAllSessions")
                .unwrap();
            f(slot)
        };
        assert_eq!(rv, 0, "C_CloseAllSessions returned {rv:#x}");
    }

    /// How many sessions this process has open on `slot`, by asking `C_GetSessionInfo` about
    /// every handle up to `max_handle` (SoftHSM2 hands out handles from one counter and never
    /// reuses them).
    pub(crate) fn count_sessions(slot: u64, max_handle: u64) -> usize {
        let lib = module();
        // SAFETY: the PKCS#11 signature of C_GetSessionInfo; `info` is a CK_SESSION_INFO.
        unsafe {
            let f = lib
                .get::<unsafe extern "C" fn(c_ulong, *mut SessionInfo) -> c_ulong>(
                    b"C_GetSessionInfo",
                )
                .unwrap();
            (1..=max_handle)
                .filter(|h| {
                    let mut info = SessionInfo::default();
                    f(c_ulong::try_from(*h).unwrap(), &mut info) == 0 && info.slot_id == slot
                })
                .count()
        }
    }

    /// How many sessions this process has open on `slot` now.
    pub(crate) fn open_sessions(slot: u64) -> usize {
        count_sessions(slot, handle_watermark(slot))
    }

    /// A handle above every session handle given out so far: a fresh session's, then closed.
    pub(crate) fn handle_watermark(slot: u64) -> u64 {
        let p = cryptoki::context::Pkcs11::new(super::MODULE).unwrap();
        let _ = p.initialize(cryptoki::context::CInitializeArgs::new(
            cryptoki::context::CInitializeFlags::OS_LOCKING_OK,
        ));
        let s = p.open_ro_session(slot.try_into().unwrap()).unwrap();
        s.handle()
    }
}

/// Generates a P-256 key named `name` and returns it with its public key.
pub(crate) fn p256(
    hsm: &hsm_pkcs11::Pkcs11Hsm,
    name: &str,
) -> (hsm_core::KeyId, hsm_core::PublicKey) {
    generate(hsm, name, hsm_core::KeySpec::Ec(hsm_core::Curve::P256))
}

/// A key `name` of `spec` made by the backend, and its public key.
pub(crate) fn generate(
    hsm: &hsm_pkcs11::Pkcs11Hsm,
    name: &str,
    spec: hsm_core::KeySpec,
) -> (hsm_core::KeyId, hsm_core::PublicKey) {
    use hsm_core::{KeyStore as _, KeyTemplate};
    let key = hsm_core::KeyId::name(name).unwrap();
    hsm.generate_key(&KeyTemplate::new(key.clone(), spec))
        .unwrap();
    let public = hsm.public_key(&key).unwrap();
    (key, public)
}

/// A fresh `pkcs11+sim:` token with a P-256 key `name` that has signed once (`before`, verified
/// in software); `None` where SoftHSM2 (and, with `tool`, the command-line tools) cannot run.
pub(crate) fn token_with_p256(
    tool: bool,
    name: &str,
) -> Option<(hsm_pkcs11::Pkcs11Hsm, hsm_core::KeyId, hsm_core::PublicKey)> {
    let hsm = ready(tool).then(sim)?;
    let (key, public) = p256(&hsm, name);
    sign_and_verify(&hsm, &key, &public, b"before");
    Some((hsm, key, public))
}

/// A self-signed certificate (DER) made by `openssl req -x509` with a throwaway P-256 key.
pub(crate) fn openssl_certificate(subject: &str) -> Vec<u8> {
    let dir = scratch();
    run_ok(
        std::process::Command::new("openssl")
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
            .args(["ec_paramgen_curve:P-256", "-nodes", "-subj", subject])
            .args(["-days", "1", "-outform", "DER", "-keyout", "k.pem"])
            .args(["-out", "c.der"])
            .current_dir(dir.path()),
    );
    std::fs::read(dir.path().join("c.der")).unwrap()
}

/// Signs `message` with ECDSA-SHA256 and verifies the signature in software.
pub(crate) fn sign_and_verify(
    hsm: &hsm_pkcs11::Pkcs11Hsm,
    key: &hsm_core::KeyId,
    public: &hsm_core::PublicKey,
    message: &[u8],
) {
    signs_with(
        hsm,
        key,
        public,
        hsm_core::SignAlgorithm::EcdsaSha256,
        message,
    );
}

/// Signs `message` with `algorithm` and verifies the signature in software.
pub(crate) fn signs_with(
    hsm: &hsm_pkcs11::Pkcs11Hsm,
    key: &hsm_core::KeyId,
    public: &hsm_core::PublicKey,
    algorithm: hsm_core::SignAlgorithm,
    message: &[u8],
) {
    use hsm_core::Signer as _;
    let sig = hsm.sign(key, algorithm, message).unwrap();
    public.verify(message, &sig).unwrap();
}

/// Runs a command; panics with its output if it fails; returns its standard output.
pub(crate) use hsm_testkit::cli::run as run_ok;

/// `openssl dgst DIGEST -verify pub.pem` of `sig` over `msg` in `dir` (which holds `pub.pem`),
/// with `extra` options (PSS padding); panics with openssl's output unless it verifies.
pub(crate) fn openssl_verify(dir: &Path, digest: &str, msg: &[u8], sig: &[u8], extra: &[&str]) {
    let (msg_path, sig_path) = (dir.join("msg"), dir.join("sig"));
    std::fs::write(&msg_path, msg).unwrap();
    std::fs::write(&sig_path, sig).unwrap();
    hsm_testkit::cli::openssl_dgst_verify(
        &dir.join("pub.pem"),
        digest,
        &msg_path,
        &sig_path,
        extra,
    );
}

pub(crate) mod latency;
