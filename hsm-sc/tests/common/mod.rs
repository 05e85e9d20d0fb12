//! Test harness for the PC/SC tests: pcscd with vpcd (started by scripts/ci.d/sc.sh), the
//! `sc-hsm-sim` binary as the card, and the OpenSC tools as the independent peer.

#![allow(
    dead_code,
    unused_imports,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

use std::path::Path;
use std::process::{Child, Command, Output};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use hsm_testkit::cli;
use hsm_testkit::vpcd::SimulatorCard;

/// OpenSC's PKCS#11 module: `HSM_SC_OPENSC_MODULE` if set, else where Debian and others put it.
pub fn pkcs11_module() -> String {
    hsm_testkit::vpcd::opensc_module()
        .expect("opensc-pkcs11.so not found (install opensc-pkcs11 or set HSM_SC_OPENSC_MODULE)")
}
pub const USER_PIN: &str = "648219";
pub const SO_PIN: &str = "3537363231383830";

/// Holds vpcd slot `slot` of the shared pcscd for this process (see also [`SlotLock`]).
pub fn slot_guard(slot: usize) -> MutexGuard<'static, ()> {
    SLOTS[slot].lock().unwrap_or_else(|e| e.into_inner())
}

/// One card per vpcd slot at a time, within this process...
static SLOTS: [Mutex<()>; 2] = [Mutex::new(()), Mutex::new(())];

/// ...and across processes (test binaries, benches and examples may run at the same time on a
/// developer machine).
pub use hsm_testkit::vpcd::SlotLock;

/// Whether pcscd with the vpcd reader is there; `false` means "skip" (outside CI only).
pub use hsm_testkit::vpcd::pcscd_up as pcscd_available;

/// A simulated card in vpcd slot `slot` (0 or 1), killed on drop.
pub struct Card {
    card: SimulatorCard,
    pub slot: usize,
    pub reader: String,
    _guard: MutexGuard<'static, ()>,
}

impl Card {
    pub fn insert(slot: usize, args: &[&str]) -> Self {
        let guard = slot_guard(slot);
        let card = SimulatorCard::insert(Path::new(env!("CARGO_BIN_EXE_sc-hsm-sim")), slot, args);
        Self {
            slot,
            reader: card.reader.clone(),
            card,
            _guard: guard,
        }
    }

    /// `sc-hsm:` URI for this card.
    pub fn uri(&self) -> String {
        format!(
            "sc-hsm:?reader={}&pin-value={USER_PIN}",
            self.reader.replace(' ', "%20")
        )
    }

    pub fn sc_hsm_tool(&self, args: &[&str]) -> String {
        let mut all = vec!["--reader", if self.slot == 0 { "0" } else { "1" }];
        all.extend_from_slice(args);
        run("sc-hsm-tool", &all)
    }

    pub fn pkcs11_tool(&self, args: &[&str]) -> String {
        let module = pkcs11_module();
        let mut all = vec![
            "--module",
            module.as_str(),
            "--slot-description",
            &self.reader,
        ];
        all.extend_from_slice(args);
        run("pkcs11-tool", &all)
    }

    pub fn pkcs15_tool(&self, args: &[&str]) -> String {
        let mut all = vec!["--reader", if self.slot == 0 { "0" } else { "1" }];
        all.extend_from_slice(args);
        run("pkcs15-tool", &all)
    }
}

/// Runs a tool and returns its output, whatever its exit status.
pub fn output(program: &str, args: &[&str]) -> Output {
    cli::output(Command::new(program).args(args))
}

/// Runs a tool, fails the test with its output when it fails, returns stdout + stderr.
pub fn run(program: &str, args: &[&str]) -> String {
    cli::run_with_stderr(Command::new(program).args(args))
}

pub use hsm_testkit::cli::{PSS_SIGOPTS, sigopts};

/// `openssl dgst -sha256 -verify` of `sig` over `msg`; panics unless it says `Verified OK`.
pub fn openssl_verify(pubkey_pem: &Path, msg: &Path, sig: &Path, extra: &[&str]) {
    cli::openssl_dgst_verify(pubkey_pem, "-sha256", msg, sig, extra);
}

/// The vpcd port of slot `slot` of the shared pcscd ("Virtual PCD 00 0{slot}").
pub use hsm_testkit::vpcd::addr as vpcd_addr;

/// Waits until pcscd (the one this process talks to) shows a card in `reader`, or not.
#[cfg(feature = "pcsc")]
pub fn wait_card(reader: &str, present: bool) {
    assert!(
        wait_card_within(reader, present, Duration::from_secs(10)),
        "the card in {reader} never became present={present}"
    );
}

/// Whether pcscd shows a card in `reader` (or none, with `present == false`) within `limit`.
#[cfg(feature = "pcsc")]
pub fn wait_card_within(reader: &str, present: bool, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    let mut monitor = hsm_sc::transport::ReaderMonitor::new(reader).unwrap();
    let mut now = false;
    loop {
        match monitor.wait(Duration::from_millis(200)).unwrap() {
            Some(hsm_sc::transport::CardEvent::Inserted { .. }) => now = true,
            Some(hsm_sc::transport::CardEvent::Removed { .. }) => now = false,
            Some(_) => {}
            None if now == present => return true,
            None => {}
        }
        if Instant::now() >= deadline {
            return false;
        }
    }
}

/// Inserts `sim` into the vpcd reader at `addr` (named `reader`) and waits until pcscd shows it.
///
/// pcscd (1.9.9 here, with vpcd) sometimes keeps a reader EMPTY after a card left it in the
/// middle of a host's transaction, although vpcd answers its presence polls with the new card's
/// ATR; a second insertion clears it. That is a test-bed quirk, not the host library's behaviour
/// under test, so it is retried here, loudly, at most twice.
#[cfg(feature = "pcsc")]
pub fn insert_card(
    sim: &hsm_sc::sim::SimulatedCard,
    addr: impl std::net::ToSocketAddrs + Clone,
    reader: &str,
) -> hsm_sc::sim::vpcd::InsertedCard {
    for attempt in 1..=3 {
        let card = hsm_sc::sim::vpcd::InsertedCard::insert(sim, addr.clone()).unwrap();
        if wait_card_within(reader, true, Duration::from_secs(4)) {
            return card;
        }
        eprintln!(
            "!!! TEST BED: pcscd did not show the card inserted in {reader} within 4 s \
             (attempt {attempt} of 3); pulling it out and inserting it again"
        );
        drop(card);
        wait_card(reader, false);
    }
    panic!("pcscd never showed the card in {reader} after 3 insertions");
}

/// A pcscd of this test's own, in a private mount namespace (`unshare -m`, needs root), with a
/// vpcd reader "HSMRS Private PCD 00 00" on a free loopback port. A client process reaches it
/// through `PCSCLITE_CSOCK_NAME` (read once per process by libpcsclite), so tests that use it
/// run their body in a child process.
pub struct PrivatePcscd {
    pub dir: std::path::PathBuf,
    pub port: u16,
    child: Option<Child>,
    _tmp: Option<tempfile::TempDir>,
}

pub const PRIVATE_READER: &str = "HSMRS Private PCD 00 00";

impl PrivatePcscd {
    /// Configures it in a new temporary directory (not started yet).
    pub fn configure() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_owned();
        std::fs::create_dir_all(dir.join("conf")).unwrap();
        std::fs::create_dir_all(dir.join("run")).unwrap();
        // vpcd listens on PORT and PORT+1 (two slots): find two free ones
        let port = loop {
            let l = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
            let p = l.local_addr().unwrap().port();
            if p < 65000 && std::net::TcpListener::bind(("0.0.0.0", p + 1)).is_ok() {
                break p;
            }
        };
        std::fs::write(
            dir.join("conf/vpcd"),
            format!(
                "FRIENDLYNAME \"HSMRS Private PCD\"\nDEVICENAME /dev/null:{port}\n\
                 LIBPATH /usr/lib/pcsc/drivers/serial/libifdvpcd.so\nCHANNELID {port}\n"
            ),
        )
        .unwrap();
        std::fs::write(dir.join("port"), port.to_string()).unwrap();
        Self {
            dir,
            port,
            child: None,
            _tmp: Some(tmp),
        }
    }

    /// The one configured in `dir` by another process (the parent of a child test).
    pub fn reuse(dir: std::path::PathBuf) -> Self {
        let port = std::fs::read_to_string(dir.join("port"))
            .unwrap()
            .parse()
            .unwrap();
        Self {
            dir,
            port,
            child: None,
            _tmp: None,
        }
    }

    /// The socket path for `PCSCLITE_CSOCK_NAME`.
    pub fn socket(&self) -> std::path::PathBuf {
        self.dir.join("run/pcscd.comm")
    }

    /// Starts pcscd and waits for its socket.
    pub fn start(&mut self) {
        let _ = std::fs::remove_file(self.socket());
        let script = format!(
            "mount --bind {run} /run/pcscd && exec pcscd -f -c {conf}",
            run = self.dir.join("run").display(),
            conf = self.dir.join("conf").display()
        );
        let log = std::fs::File::create(self.dir.join("pcscd.log")).unwrap();
        let child = Command::new("unshare")
            .args(["-m", "sh", "-c", &script])
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("unshare");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.socket().exists()
            || std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err()
        {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                let log = std::fs::read_to_string(self.dir.join("pcscd.log")).unwrap_or_default();
                panic!("private pcscd exited ({status}): {log} (needs root for unshare -m)");
            }
            assert!(Instant::now() < deadline, "private pcscd did not come up");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills pcscd (the reader disappears with it).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for PrivatePcscd {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs the calling test's body in a child process (same test binary, only this test) with
/// `envs` set, and fails when the child fails. Returns `false` in the child, where the caller
/// then runs the body.
pub fn in_child(test: &str, envs: &[(&str, &std::ffi::OsStr)]) -> bool {
    if std::env::var_os("HSM_SC_TEST_CHILD").is_some() {
        return false;
    }
    let out = cli::output(
        Command::new(std::env::current_exe().unwrap())
            .args([test, "--exact", "--nocapture", "--test-threads=1"])
            .env("HSM_SC_TEST_CHILD", "1")
            .envs(envs.iter().map(|(k, v)| (*k, *v))),
    );
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{text}");
    assert!(out.status.success(), "the child running {test} failed");
    assert!(text.contains("1 passed"), "the child ran no test: {text}");
    true
}
