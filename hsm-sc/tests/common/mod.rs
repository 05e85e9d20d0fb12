//! Test harness for the PC/SC tests: pcscd with vpcd (started by scripts/ci.d/sc.sh), the
//! `sc-hsm-sim` binary as the card, and the OpenSC tools as the independent peer.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// OpenSC's PKCS#11 module: `HSM_SC_OPENSC_MODULE` if set, else where Debian and others put it.
pub fn pkcs11_module() -> String {
    if let Some(p) = std::env::var_os("HSM_SC_OPENSC_MODULE") {
        return p.to_string_lossy().into_owned();
    }
    let arch = format!("/usr/lib/{}-linux-gnu", std::env::consts::ARCH);
    let candidates = [
        format!("{arch}/opensc-pkcs11.so"),
        format!("{arch}/pkcs11/opensc-pkcs11.so"),
        "/usr/lib/opensc-pkcs11.so".to_owned(),
        "/usr/lib/pkcs11/opensc-pkcs11.so".to_owned(),
        "/usr/lib64/opensc-pkcs11.so".to_owned(),
        "/usr/lib64/pkcs11/opensc-pkcs11.so".to_owned(),
        "/usr/local/lib/opensc-pkcs11.so".to_owned(),
    ];
    candidates
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("opensc-pkcs11.so not found (install opensc-pkcs11 or set HSM_SC_OPENSC_MODULE)")
}
pub const USER_PIN: &str = "648219";
pub const SO_PIN: &str = "3537363231383830";

/// One card per vpcd slot at a time, within this process...
static SLOTS: [Mutex<()>; 2] = [Mutex::new(()), Mutex::new(())];

/// ...and across processes (test binaries, benches and examples may run at the same time on a
/// developer machine): an abstract UNIX socket bound per slot, released when the holder exits.
pub struct SlotLock(#[allow(dead_code)] std::os::unix::net::UnixListener);

impl SlotLock {
    pub fn acquire(slot: usize) -> Self {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("hsm-sc-vpcd-slot-{slot}");
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            match std::os::unix::net::UnixListener::bind_addr(&addr) {
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

/// Whether pcscd with the vpcd reader is there; `false` means "skip" (outside CI only).
pub fn pcscd_available() -> bool {
    let ok = Command::new("opensc-tool")
        .arg("--list-readers")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("Virtual PCD 00 00"))
        .unwrap_or(false);
    if !ok {
        if std::env::var_os("CI").is_some() {
            panic!("pcscd with the vpcd reader is not running (scripts/ci.d/sc.sh starts it)");
        }
        eprintln!("SKIPPED: pcscd with the vpcd reader is not running (source scripts/ci.d/sc.sh)");
    }
    ok
}

/// A simulated card in vpcd slot `slot` (0 or 1), killed on drop.
pub struct Card {
    child: Child,
    pub slot: usize,
    pub reader: String,
    _lock: SlotLock,
    _guard: MutexGuard<'static, ()>,
}

impl Card {
    pub fn insert(slot: usize, args: &[&str]) -> Self {
        let guard = SLOTS[slot].lock().unwrap_or_else(|e| e.into_inner());
        let lock = SlotLock::acquire(slot);
        let port = 35963 + slot;
        let mut child = Command::new(env!("CARGO_BIN_EXE_sc-hsm-sim"))
            .arg("--vpcd")
            .arg(format!("127.0.0.1:{port}"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start sc-hsm-sim");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "card inserted");
        let reader = format!("Virtual PCD 00 0{slot}");
        // pcscd polls the reader every 400 ms
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let out = Command::new("opensc-tool")
                .arg("--list-readers")
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            if text
                .lines()
                .any(|l| l.contains("Yes") && l.contains(&reader))
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "pcscd never saw the card in {reader}: {text}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Self {
            child,
            slot,
            reader,
            _lock: lock,
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

impl Drop for Card {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // wait until pcscd notices the removal, so the next card is a fresh insertion
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            let out = Command::new("opensc-tool").arg("--list-readers").output();
            let gone = out
                .map(|o| {
                    !String::from_utf8_lossy(&o.stdout)
                        .lines()
                        .any(|l| l.contains("Yes") && l.contains(&self.reader))
                })
                .unwrap_or(true);
            if gone {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

pub fn output(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
}

/// Runs a tool, fails the test with its output when it fails, returns stdout + stderr.
pub fn run(program: &str, args: &[&str]) -> String {
    let out = output(program, args);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{program} {args:?} failed:\n{text}");
    text
}

pub fn openssl_verify(pubkey_pem: &Path, msg: &Path, sig: &Path, extra: &[&str]) {
    let mut args = vec!["dgst", "-sha256", "-verify", pubkey_pem.to_str().unwrap()];
    args.extend_from_slice(extra);
    args.extend(["-signature", sig.to_str().unwrap(), msg.to_str().unwrap()]);
    let text = run("openssl", &args);
    assert!(text.contains("Verified OK"), "{text}");
}
