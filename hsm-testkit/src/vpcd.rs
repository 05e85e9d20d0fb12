//! The PC/SC test bed: the shared pcscd with vpcd's virtual readers ("Virtual PCD 00 00" and
//! "Virtual PCD 00 01", started by `scripts/ci.d/sc.sh`), a simulated card inserted into one of
//! them as a separate process, the lock that gives one process a reader at a time, and OpenSC's
//! PKCS#11 module. Reader presence is read through `opensc-tool --list-readers`, the same view
//! OpenSC's tools get.

use std::io::{BufRead as _, BufReader};
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The loopback port of vpcd slot 0; slot `n` listens on `PORT_BASE + n`.
pub const PORT_BASE: u16 = 35963;

/// The address vpcd slot `slot` listens on for a card.
#[must_use]
pub fn addr(slot: usize) -> String {
    let slot = u16::try_from(slot).unwrap_or_else(|_| panic!("vpcd slot {slot} does not exist"));
    format!("127.0.0.1:{}", PORT_BASE + slot)
}

/// The name pcscd gives vpcd slot `slot`'s reader.
#[must_use]
pub fn reader(slot: usize) -> String {
    format!("Virtual PCD 00 0{slot}")
}

/// Whether pcscd with the vpcd readers is up. Missing outside CI: prints `SKIPPED` and returns
/// `false` (the caller skips); missing under `CI` (or after `scripts/ci.d/sc.sh` said it is up,
/// `HSM_SC_PCSCD`): fails.
pub fn pcscd_up() -> bool {
    let up = Command::new("opensc-tool")
        .arg("--list-readers")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains(&reader(0)))
        .unwrap_or(false);
    if !up {
        assert!(
            std::env::var_os("CI").is_none() && std::env::var_os("HSM_SC_PCSCD").is_none(),
            "pcscd with the vpcd reader is not running (scripts/ci.d/sc.sh starts it)"
        );
        #[allow(clippy::print_stderr)]
        {
            eprintln!(
                "SKIPPED: pcscd with the vpcd reader is not running (source scripts/ci.d/sc.sh)"
            );
        }
    }
    up
}

/// OpenSC's PKCS#11 module: `HSM_SC_OPENSC_MODULE` if set, else the first of the places
/// distributions put it that exists.
#[must_use]
pub fn opensc_module() -> Option<String> {
    if let Some(p) = std::env::var_os("HSM_SC_OPENSC_MODULE") {
        return Some(p.to_string_lossy().into_owned());
    }
    let multiarch = format!("/usr/lib/{}-linux-gnu", std::env::consts::ARCH);
    [
        format!("{multiarch}/opensc-pkcs11.so"),
        format!("{multiarch}/pkcs11/opensc-pkcs11.so"),
        "/usr/lib/opensc-pkcs11.so".to_owned(),
        "/usr/lib/pkcs11/opensc-pkcs11.so".to_owned(),
        "/usr/lib64/opensc-pkcs11.so".to_owned(),
        "/usr/lib64/pkcs11/opensc-pkcs11.so".to_owned(),
        "/usr/local/lib/opensc-pkcs11.so".to_owned(),
    ]
    .into_iter()
    .find(|p| Path::new(p).exists())
}

/// Holds vpcd slot `slot` against every other process that uses it (test binaries, benches and
/// examples of any crate): an abstract UNIX socket `hsm-sc-vpcd-slot-{slot}` bound while held,
/// released when dropped or when the holder exits.
#[derive(Debug)]
pub struct SlotLock(#[allow(dead_code)] UnixListener);

impl SlotLock {
    /// Takes the slot, waiting up to 10 minutes for its holder to let it go.
    #[must_use]
    pub fn acquire(slot: usize) -> Self {
        use std::os::linux::net::SocketAddrExt as _;
        let name = format!("hsm-sc-vpcd-slot-{slot}");
        let socket = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())
            .unwrap_or_else(|e| panic!("vpcd slot lock {name}: {e}"));
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            match UnixListener::bind_addr(&socket) {
                Ok(l) => return Self(l),
                Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                    assert!(
                        Instant::now() < deadline,
                        "vpcd slot {slot} stayed busy for 10 minutes"
                    );
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(e) => panic!("cannot lock vpcd slot {slot}: {e}"),
            }
        }
    }
}

/// Whether `opensc-tool --list-readers` shows a card in `reader`, and its listing.
#[must_use]
pub fn card_shown(reader: &str) -> (bool, String) {
    let text = Command::new("opensc-tool")
        .arg("--list-readers")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let shown = text
        .lines()
        .any(|l| l.contains("Yes") && l.contains(reader));
    (shown, text)
}

/// Waits up to `limit` until pcscd shows a card in `reader` (or none, with `present == false`);
/// whether it did.
pub fn wait_card_shown(reader: &str, present: bool, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if card_shown(reader).0 == present {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A simulated card: a process (`sc-hsm-sim --vpcd ADDR ...`) connected to a vpcd slot, which it
/// holds ([`SlotLock`]). Dropping it ends the process and waits until pcscd shows the reader
/// empty, so the next holder gets a fresh insertion.
#[derive(Debug)]
pub struct SimulatorCard {
    child: Child,
    /// The vpcd slot.
    pub slot: usize,
    /// The reader's name.
    pub reader: String,
    _lock: SlotLock,
}

impl SimulatorCard {
    /// Takes slot `slot`, starts `simulator --vpcd ADDR ARGS...`, waits for its `card inserted`
    /// line and until pcscd shows the card (pcscd polls every 400 ms; up to 10 s).
    #[must_use]
    pub fn insert(simulator: &Path, slot: usize, args: &[&str]) -> Self {
        let lock = SlotLock::acquire(slot);
        let mut child = Command::new(simulator)
            .arg("--vpcd")
            .arg(addr(slot))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", simulator.display()));
        let mut line = String::new();
        let stdout = child.stdout.take().expect("the simulator's piped stdout");
        BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap_or_else(|e| panic!("{}: reading its first line: {e}", simulator.display()));
        assert_eq!(
            line.trim(),
            "card inserted",
            "{} did not insert its card",
            simulator.display()
        );
        let reader = reader(slot);
        let card = Self {
            child,
            slot,
            reader,
            _lock: lock,
        };
        if !wait_card_shown(&card.reader, true, Duration::from_secs(10)) {
            panic!(
                "pcscd never showed the card in {}: {}",
                card.reader,
                card_shown(&card.reader).1
            );
        }
        card
    }
}

impl Drop for SimulatorCard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = wait_card_shown(&self.reader, false, Duration::from_secs(5));
    }
}
