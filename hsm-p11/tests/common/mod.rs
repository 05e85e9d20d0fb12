//! Shared test set-up: the built module, the simulator binaries started as separate processes on
//! loopback (the module contains no simulator), SoftHSM2 tokens, configuration files, and a
//! re-exec helper for suites that need the module's environment set before it loads.
#![allow(dead_code, unused_imports, unreachable_pub, clippy::print_stderr)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hsm_testkit::vpcd::SimulatorCard;

pub mod fixtures;

use fixtures::run_ok;

/// The operator passphrase of `nethsm-sim --state operational`.
pub const NETHSM_OPERATOR_PASS: &str = "operatorpassphrase";
/// Its admin passphrase.
pub const NETHSM_ADMIN_PASS: &str = "adminpassphrase";
/// The N200 simulator's password in these tests.
pub const N200_PASS: &str = "p11-test-n200-password";
/// The SoftHSM2 user PIN in these tests.
pub const SOFTHSM_PIN: &str = "123456";

/// `target/debug` (or the profile directory the tests run from).
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().to_owned()
}

/// The built module; refuses one older than the crate's sources (`cargo test` does not always
/// rebuild the cdylib: `cargo build -p hsm-p11` does, and scripts/ci.d/p11.sh runs it).
pub fn module_path() -> PathBuf {
    let p = target_dir().join("libhsm_p11.so");
    let built = std::fs::metadata(&p)
        .and_then(|m| m.modified())
        .unwrap_or_else(|_| panic!("{} is missing: cargo build -p hsm-p11", p.display()));
    let mut dirs = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                let changed = entry.metadata().unwrap().modified().unwrap();
                assert!(
                    changed <= built,
                    "{} is older than {}: cargo build -p hsm-p11",
                    p.display(),
                    path.display()
                );
            }
        }
    }
    p
}

/// A simulator binary of another crate, built by `scripts/ci.d/p11.sh` (or by hand); the debug
/// one when the running profile (a release bench) has none.
pub fn binary(name: &str, package: &str) -> PathBuf {
    let own = target_dir().join(name);
    let debug = target_dir().with_file_name("debug").join(name);
    let p = if own.exists() { own } else { debug };
    assert!(
        p.exists(),
        "{} is missing: build it first with `cargo build -p {package} --features sim --bin {name}` \
         (scripts/ci.d/p11.sh does)",
        p.display()
    );
    p
}

/// A simulator process, killed when dropped.
#[derive(Debug)]
pub struct Sim {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Its certificate (PEM), for `ca=`.
    pub ca: PathBuf,
}

impl Sim {
    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(mut cmd: Command, ca: PathBuf) -> Sim {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start simulator");
    let stdout = child.stdout.take().unwrap();
    // Its output is read on a thread of its own, to the end (so that it never blocks on a full
    // pipe); the port comes back over a channel, so a simulator that never says it listens fails
    // the test after a minute instead of hanging it.
    let (port_tx, port_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut port_tx = Some(port_tx);
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(addr) = line.strip_prefix("listening on https://")
                && let Some(tx) = port_tx.take()
            {
                let _ = tx.send(addr.rsplit(':').next().unwrap().trim().parse::<u16>());
            }
        }
    });
    // A `Sim` already, so that a panic below kills the process.
    let mut sim = Sim { child, port: 0, ca };
    sim.port = match port_rx.recv_timeout(Duration::from_secs(60)) {
        Ok(port) => port.expect("the simulator's port"),
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => panic!("simulator not ready in 60 s"),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => panic!("simulator exited"),
    };
    sim
}

/// `nethsm-sim` in the operational state (operator and admin users), with added latency.
pub fn nethsm_sim(dir: &Path, latency_ms: u64) -> Sim {
    let (mut cmd, ca) = simulator(dir, "nethsm", latency_ms);
    let _ = cmd.args(["--state", "operational"]);
    start(cmd, ca)
}

/// `n200-sim` with user `pkmaster` and [`N200_PASS`].
pub fn n200_sim(dir: &Path, latency_ms: u64) -> Sim {
    let (mut cmd, ca) = simulator(dir, "n200", latency_ms);
    let _ = cmd
        .args(["--password-env", "P11_TEST_N200_PASS"])
        .env("P11_TEST_N200_PASS", N200_PASS);
    start(cmd, ca)
}

/// The command of `DEVICE-sim` (of crate `hsm-DEVICE`) on a loopback port with `latency_ms` of
/// added latency, writing its CA certificate to a new file in `dir`; that file.
fn simulator(dir: &Path, device: &str, latency_ms: u64) -> (Command, PathBuf) {
    let ca = dir.join(format!("{device}-{}.pem", rand_suffix()));
    let mut cmd = Command::new(binary(&format!("{device}-sim"), &format!("hsm-{device}")));
    let _ = cmd
        .args(["--listen", "127.0.0.1:0", "--latency-ms"])
        .arg(latency_ms.to_string())
        .arg("--tls-cert-out")
        .arg(&ca);
    (cmd, ca)
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A SoftHSM2 configuration in `dir` with one token `label` (user PIN [`SOFTHSM_PIN`]).
pub fn softhsm_token(dir: &Path, label: &str) -> PathBuf {
    let tokens = dir.join("softhsm-tokens");
    std::fs::create_dir_all(&tokens).unwrap();
    let conf = dir.join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n",
            tokens.display()
        ),
    )
    .unwrap();
    let _ = run_ok(
        Command::new("softhsm2-util")
            .args([
                "--init-token",
                "--free",
                "--label",
                label,
                "--so-pin",
                "12345678",
                "--pin",
                SOFTHSM_PIN,
            ])
            .env("SOFTHSM2_CONF", &conf),
        "softhsm2-util (apt-get install softhsm2)",
    );
    conf
}

/// SoftHSM2's module.
pub const SOFTHSM_MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

/// The slot URI for a NetHSM simulator: the operator's passphrase is the C_Login PIN; the admin
/// (for key generation and deletion) comes from `P11_TEST_NETHSM_ADMIN`.
pub fn nethsm_uri(sim: &Sim) -> String {
    format!(
        "nethsm://operator@127.0.0.1:{}?ca={}&admin=admin&admin-password-env=P11_TEST_NETHSM_ADMIN",
        sim.port,
        sim.ca.display()
    )
}

/// The slot URI for an N200 simulator (its password is the C_Login PIN).
pub fn n200_uri(sim: &Sim) -> String {
    format!(
        "n200://pkmaster@127.0.0.1:{}?ca={}&server-name=seSAM-nserie-101",
        sim.port,
        sim.ca.display()
    )
}

/// The slot URI for a SoftHSM2 token (its user PIN is the C_Login PIN).
pub fn softhsm_uri(label: &str) -> String {
    format!("pkcs11:token={label}?module-path={SOFTHSM_MODULE}")
}

/// Writes a module configuration with these (uri, label, serial) slots.
pub fn write_config(dir: &Path, slots: &[(String, &str, &str)]) -> PathBuf {
    let mut text = format!(
        "log-level = \"info\"\nlog-file = \"{}\"\n",
        dir.join("hsm-p11.log").display()
    );
    for (uri, label, serial) in slots {
        text.push_str(&format!(
            "\n[[slot]]\nuri = \"{uri}\"\nlabel = \"{label}\"\nserial = \"{serial}\"\n"
        ));
    }
    let path = dir.join("hsm-p11.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// The environment every process using the module gets.
pub fn module_env(config: &Path, softhsm_conf: Option<&Path>) -> Vec<(String, String)> {
    let mut env = vec![
        ("HSM_P11_CONF".to_owned(), config.display().to_string()),
        (
            "P11_TEST_NETHSM_ADMIN".to_owned(),
            NETHSM_ADMIN_PASS.to_owned(),
        ),
    ];
    if let Some(c) = softhsm_conf {
        env.push(("SOFTHSM2_CONF".to_owned(), c.display().to_string()));
    }
    env
}

/// For suites whose process must have the module's environment before the module loads: in the
/// parent, runs this same test binary again with `env` (and a marker) and reports its result;
/// returns `true` in the child, which then runs the checks.
pub fn in_child(env: &[(String, String)]) -> bool {
    if std::env::var_os("P11_TEST_CHILD").is_some() {
        return true;
    }
    let status = Command::new(std::env::current_exe().unwrap())
        .args(std::env::args().skip(1))
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("P11_TEST_CHILD", "1")
        .status()
        .expect("re-run the test binary");
    assert!(
        status.success(),
        "the checks failed in the child process: {status}"
    );
    false
}

/// Runs named checks, printing each result; exits non-zero when one fails.
pub fn run_checks(checks: &[(&str, &dyn Fn())]) {
    let mut failed = Vec::new();
    for (name, check) in checks {
        let started = Instant::now();
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(check)) {
            Ok(()) => eprintln!(
                "check {name} ... ok ({:.1} s)",
                started.elapsed().as_secs_f64()
            ),
            Err(_) => {
                eprintln!("check {name} ... FAILED");
                failed.push(*name);
            }
        }
    }
    if !failed.is_empty() {
        eprintln!("failed checks: {failed:?}");
        std::process::exit(1);
    }
}

/// Runs a command, asserting success; its stdout.
pub use hsm_testkit::cli::run;

/// The SmartCard-HSM simulator's user PIN (`sc-hsm-sim --initialized`).
pub const SC_HSM_USER_PIN: &str = "648219";

/// Whether pcscd with the vpcd readers is up. Outside CI a missing pcscd skips the caller, loudly;
/// in CI (or after scripts/ci.d/sc.sh said it is up) it fails.
pub use hsm_testkit::vpcd::pcscd_up as pcscd_with_vpcd;

/// A simulated SmartCard-HSM (`sc-hsm-sim --initialized`) in vpcd reader "Virtual PCD 00 0{slot}"
/// of the shared pcscd, held against every other process that uses the reader
/// (`hsm_testkit::vpcd::SlotLock`) until the card is dropped.
#[derive(Debug)]
pub struct ScCard {
    card: SimulatorCard,
}

impl ScCard {
    /// Takes the reader (waiting up to 10 minutes for another holder), inserts the card and waits
    /// until pcscd shows it.
    pub fn insert(slot: usize) -> Self {
        let card = SimulatorCard::insert(&binary("sc-hsm-sim", "hsm-sc"), slot, &["--initialized"]);
        Self { card }
    }

    /// The module's slot URI for this card (the user PIN is the C_Login PIN).
    pub fn uri(&self) -> String {
        format!("sc-hsm:?reader={}", self.card.reader.replace(' ', "%20"))
    }
}
