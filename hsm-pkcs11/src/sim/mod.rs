//! `pkcs11+sim:`: a throwaway SoftHSM2 token in a temporary directory.
//!
//! SoftHSM2 reads `SOFTHSM2_CONF` once per process; it must name a configuration whose token
//! directory is temporary (see [`write_config`]). Each `pkcs11+sim:` initialises a fresh token on
//! SoftHSM2's free slot with the label `hsm-rs-sim-<pid>-<n>`, SO PIN [`SO_PIN`] and user PIN
//! [`USER_PIN`], and opens it.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use cryptoki::context::Pkcs11;
use cryptoki::session::UserType;
use hsm_core::{Error, ErrorKind, Result};
use secrecy::SecretString;

use crate::protocol::return_codes::CkResultExt;

/// The SoftHSM2 module used for `pkcs11+sim:`.
pub const SOFTHSM2_MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
/// The simulated token's user PIN.
pub const USER_PIN: &str = "123456";
/// The simulated token's SO PIN.
pub const SO_PIN: &str = "12345678";

/// SoftHSM2 reads `SOFTHSM2_CONF` once, when the module is initialised. Setting an environment
/// variable needs `unsafe` code, which this crate forbids, so the process (or its test harness or
/// CI script) sets it to a configuration whose token directory is temporary.
fn check_conf() -> Result<()> {
    match std::env::var_os("SOFTHSM2_CONF") {
        Some(path) if Path::new(&path).is_file() => Ok(()),
        _ => Err(
            Error::new(ErrorKind::Unavailable, "pkcs11.sim").with_message(
                "`pkcs11+sim:` needs SOFTHSM2_CONF pointing at a softhsm2.conf whose \
             `directories.tokendir` is a temporary directory",
            ),
        ),
    }
}

/// Writes `softhsm2.conf` and a `tokens/` directory into `dir` and returns the config's path,
/// for `SOFTHSM2_CONF`.
///
/// # Errors
/// [`ErrorKind::Unavailable`] if the files cannot be written.
pub fn write_config(dir: &Path) -> Result<std::path::PathBuf> {
    let io = |e: std::io::Error| {
        Error::new(ErrorKind::Unavailable, "pkcs11.sim")
            .with_message("cannot write the SoftHSM2 configuration")
            .with_source(e)
    };
    let tokens = dir.join("tokens");
    std::fs::create_dir_all(&tokens).map_err(io)?;
    let conf = dir.join("softhsm2.conf");
    let text = format!(
        "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n",
        tokens.display()
    );
    std::fs::write(&conf, text).map_err(io)?;
    Ok(conf)
}

/// A simulated token; the directory outlives it (SoftHSM2 keeps files open while loaded).
#[derive(Debug)]
pub(crate) struct SimToken {
    label: String,
}

impl SimToken {
    /// Initialises a fresh token on SoftHSM2's free slot, on the module `load` returns for
    /// SoftHSM2's path (the process's one initialised instance of it).
    pub(crate) fn create(load: impl FnOnce(&Path) -> Result<Pkcs11>) -> Result<Self> {
        static LOCK: Mutex<()> = Mutex::new(());
        static N: AtomicUsize = AtomicUsize::new(0);
        if !Path::new(SOFTHSM2_MODULE).exists() {
            return Err(Error::new(ErrorKind::Unavailable, "pkcs11.sim")
                .with_message(format!("SoftHSM2 is not installed ({SOFTHSM2_MODULE})")));
        }
        check_conf()?;
        let _guard = LOCK
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let label = format!(
            "hsm-rs-sim-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let pkcs11 = load(Path::new(SOFTHSM2_MODULE))?;
        let free = pkcs11
            .get_all_slots()
            .ck("pkcs11.sim")?
            .into_iter()
            .find(|s| {
                pkcs11
                    .get_token_info(*s)
                    .is_ok_and(|t| !t.token_initialized())
            })
            .ok_or_else(|| {
                Error::new(ErrorKind::Unavailable, "pkcs11.sim")
                    .with_message("SoftHSM2 has no free slot")
            })?;
        let so = SecretString::from(SO_PIN);
        pkcs11
            .init_token(free, &so, &label)
            .ck("pkcs11.sim.init_token")?;
        // The token moves to a new slot after initialisation; find it by label.
        // Not `get_slots_with_initialized_token`: it fails as a whole when any one token in
        // the process is broken (deleted behind SoftHSM2's back, say).
        let slot = pkcs11
            .get_slots_with_token()
            .ck("pkcs11.sim")?
            .into_iter()
            .find(|s| pkcs11.get_token_info(*s).is_ok_and(|t| t.label() == label))
            .ok_or_else(|| {
                Error::new(ErrorKind::Unavailable, "pkcs11.sim")
                    .with_message("the new token vanished")
            })?;
        let session = pkcs11.open_rw_session(slot).ck("pkcs11.sim")?;
        session
            .login(UserType::So, Some(&so))
            .ck("pkcs11.sim.login")?;
        session
            .init_pin(&SecretString::from(USER_PIN))
            .ck("pkcs11.sim.init_pin")?;
        session.logout().ck("pkcs11.sim.logout")?;
        Ok(Self { label })
    }

    /// The URI of this token (without the PIN).
    pub(crate) fn uri(&self) -> String {
        format!("pkcs11:token={}?module-path={SOFTHSM2_MODULE}", self.label)
    }
}
