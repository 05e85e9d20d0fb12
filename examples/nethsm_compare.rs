//! Signatures per second against one NetHSM, side by side in one run: this crate (one caller on
//! a kept connection, and `sign_many`), Nitrokey's Python `nethsm` client (one caller, its own
//! kept connection), and `curl` started once per signature (a new process, TCP connection and
//! TLS handshake each time). Prints a Markdown table.
//!
//! It is NetHSM-only by nature: the other two clients speak the NetHSM REST API. `--uri`
//! (default: `HSM_URI`, else `nethsm+sim:`) selects the NetHSM: the built-in simulator, with
//! `--latency-ms` added to every answer, or a real one, e.g.
//! `nethsm://operator@10.1.2.3:8443?password-env=NETHSM_PASS&ca=nethsm.pem` with `--key` naming
//! an existing P-256 key (without `--key` a key is generated, which needs `admin=` and
//! `admin-password-env=` in the URI, and deleted at the end). The Python and curl clients get the
//! same host, user and CA file (`ca=` is needed for them; they know no `server-name=` or
//! `pin-sha256=`), and the passphrase through the environment and stdin, never on a command line.
//!
//! ```sh
//! source scripts/ci.d/nethsm.sh   # the Python venv (HSM_NETHSM_VENV)
//! cargo run --release --example nethsm_compare -- --count 500 --latency-ms 2
//! ```
#![allow(clippy::print_stdout, clippy::print_stderr, missing_docs)]

mod common;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Parser;
use hsm::nethsm::NetHsm;
use hsm::nethsm::sim::{OPERATOR_PASSPHRASE, OPERATOR_USER};
use hsm::secret::{ExposeSecret as _, SecretString};
use hsm::uri::BackendUri;
use hsm::{
    Curve, HashAlgorithm, KeyId, KeySpec, KeyStore as _, KeyTemplate, SignAlgorithm, Signer as _,
};

/// Compare signatures per second: hsm-nethsm, Nitrokey's Python client, curl.
#[derive(Parser)]
struct Args {
    /// A `nethsm://` or `nethsm+sim:` URI (default: `HSM_URI`, else the simulator).
    #[arg(long)]
    uri: Option<String>,
    /// Signatures per client.
    #[arg(long, default_value_t = 200)]
    count: usize,
    /// Milliseconds the simulator adds to every answer (a network); simulator only.
    #[arg(long, default_value_t = 2)]
    latency_ms: u64,
    /// An existing P-256 key to sign with (default: a new key, deleted at the end).
    #[arg(long)]
    key: Option<KeyId>,
    /// The venv with Nitrokey's `nethsm` package (default: $HSM_NETHSM_VENV, else
    /// /var/cache/hsm-rs/venv-nethsm).
    #[arg(long)]
    venv: Option<PathBuf>,
}

struct Row {
    client: &'static str,
    how: &'static str,
    count: usize,
    took: Duration,
}

/// Where the Python and curl clients connect, and as whom.
struct Peer {
    /// `HOST:PORT`, as both take it.
    host: String,
    ca: PathBuf,
    user: String,
    passphrase: SecretString,
}

impl Peer {
    /// The simulator's address, certificate (written to `dir`) and operator.
    fn simulator(hsm: &NetHsm, dir: &std::path::Path) -> common::Result<Self> {
        let sim = hsm.simulator().ok_or("nethsm+sim: started no simulator")?;
        let ca = dir.join("ca.pem");
        std::fs::write(&ca, sim.certificate_pem())?;
        Ok(Self {
            host: format!("localhost:{}", sim.addr().port()),
            ca,
            user: OPERATOR_USER.to_owned(),
            passphrase: SecretString::from(OPERATOR_PASSPHRASE),
        })
    }

    /// The host, user, passphrase and `ca=` of a `nethsm://` URI.
    fn device(uri: &str) -> common::Result<Self> {
        let mut uri = BackendUri::parse(uri)?;
        let host = uri.require_host()?.to_owned();
        let port = uri.port.unwrap_or(443);
        let user = uri.require_user()?.to_owned();
        let passphrase = uri.take_password()?.ok_or("the URI gives no password")?;
        let ca = uri
            .query
            .take_path("ca")?
            .ok_or("the Python and curl clients need the device's CA: add ca=FILE to the URI")?;
        Ok(Self {
            host: format!("{host}:{port}"),
            ca,
            user,
            passphrase,
        })
    }
}

fn main() -> ExitCode {
    common::main(run)
}

fn run(args: Args) -> common::Result {
    let mut uri = common::backend_uri(args.uri, common::DEFAULT_URI);
    let parsed = BackendUri::parse(&uri)?;
    common::require_nethsm(&parsed, "nethsm_compare compares NetHSM clients")?;
    let simulated = parsed.simulated;
    if simulated && !uri.contains("latency-ms=") {
        let separator = if uri.contains('?') { '&' } else { '?' };
        uri = format!("{uri}{separator}latency-ms={}", args.latency_ms);
    }
    let hsm = NetHsm::open(BackendUri::parse(&uri)?)?;
    let dir = std::env::temp_dir().join(format!("nethsm-compare-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let peer = if simulated {
        Peer::simulator(&hsm, &dir)?
    } else {
        Peer::device(&uri)?
    };

    let (key, generated) = match args.key {
        Some(key) => (key, false),
        None => {
            let stamp = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
            let key: KeyId = format!("compare{stamp}").parse()?;
            hsm.generate_key(&KeyTemplate::new(key.clone(), KeySpec::Ec(Curve::P256)))?;
            (key, true)
        }
    };
    let public = hsm.public_key(&key)?;
    let message = b"a DNS RRset to sign";
    let digest = HashAlgorithm::Sha256.digest(message);
    let mut rows = Vec::new();

    // This crate, one caller.
    for _ in 0..5 {
        hsm.sign(&key, SignAlgorithm::EcdsaSha256, message)?;
    }
    let started = Instant::now();
    for _ in 0..args.count {
        let signature = hsm.sign(&key, SignAlgorithm::EcdsaSha256, message)?;
        public.verify(message, &signature)?;
    }
    rows.push(Row {
        client: "hsm-nethsm",
        how: "`sign`, one caller, kept connection",
        count: args.count,
        took: started.elapsed(),
    });

    // This crate, many in flight.
    let messages: Vec<&[u8]> = vec![message.as_slice(); args.count];
    let started = Instant::now();
    for result in hsm.sign_many(&key, SignAlgorithm::EcdsaSha256, &messages) {
        public.verify(message, &result?)?;
    }
    rows.push(Row {
        client: "hsm-nethsm",
        how: "`sign_many`, 16 in flight",
        count: args.count,
        took: started.elapsed(),
    });

    // Nitrokey's Python client.
    let venv = args.venv.clone().unwrap_or_else(|| {
        std::env::var_os("HSM_NETHSM_VENV")
            .unwrap_or_else(|| "/var/cache/hsm-rs/venv-nethsm".into())
            .into()
    });
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("hsm-nethsm/tests/python/peer.py");
    let b64 = |bytes: &[u8]| {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(bytes)
    };
    if venv.join("bin/python").exists() {
        // The passphrase goes through the environment: peer.py takes it as an argument, which
        // this wrapper fills in inside the Python process, so it is on no command line.
        let out = Command::new(venv.join("bin/python"))
            .args(["-c", PYTHON_WRAPPER])
            .arg(&script)
            .arg(&peer.host)
            .arg(&peer.ca)
            .args([
                "bench-sign",
                &peer.user,
                "@PASSPHRASE",
                &key.to_string(),
                "ECDSA",
            ])
            .arg(b64(&digest))
            .arg(args.count.to_string())
            .env(PASSPHRASE_VAR, peer.passphrase.expose_secret())
            .output()?;
        if !out.status.success() {
            return Err(format!("python: {}", String::from_utf8_lossy(&out.stderr)).into());
        }
        let json: serde_json::Value = serde_json::from_slice(&out.stdout)?;
        let seconds = json
            .get("seconds")
            .and_then(serde_json::Value::as_f64)
            .ok_or("python gave no time")?;
        rows.push(Row {
            client: "Python `nethsm` 3.0",
            how: "`NetHSM.sign`, one caller, kept connection",
            count: args.count,
            took: Duration::from_secs_f64(seconds),
        });
    } else if std::env::var_os("CI").is_some() {
        return Err(format!("no Python venv at {} (CI)", venv.display()).into());
    } else {
        eprintln!("SKIPPED: Python row, no venv at {}", venv.display());
    }

    // curl, a new process and connection per signature; the credentials on its stdin.
    let body = format!(r#"{{"mode":"ECDSA","message":"{}"}}"#, b64(&digest));
    let url = format!("https://{}/api/v1/keys/{key}/sign", peer.host);
    let config = curl_user_config(&peer.user, &peer.passphrase);
    let started = Instant::now();
    for _ in 0..args.count {
        let mut curl = Command::new("curl")
            .args(["-sS", "--fail", "-K", "-", "--cacert"])
            .arg(&peer.ca)
            .args(["-H", "content-type: application/json", "-d", &body, &url])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        curl.stdin
            .take()
            .ok_or("curl has no stdin")?
            .write_all(config.expose_secret().as_bytes())?;
        let out = curl.wait_with_output()?;
        if !out.status.success() || !out.stdout.starts_with(b"{\"signature\"") {
            return Err(format!("curl: {}", String::from_utf8_lossy(&out.stderr)).into());
        }
    }
    rows.push(Row {
        client: "curl",
        how: "one process and TLS connection per signature",
        count: args.count,
        took: started.elapsed(),
    });

    let ours = rows
        .first()
        .map(|r| r.count as f64 / r.took.as_secs_f64())
        .unwrap_or(1.0);
    if simulated {
        println!(
            "P-256 ECDSA against the simulator with {} ms latency per answer, {} signatures each:\n",
            args.latency_ms, args.count
        );
    } else {
        println!(
            "P-256 ECDSA against the NetHSM at {}, {} signatures each:\n",
            peer.host, args.count
        );
    }
    println!("| client | how | signatures/s | ms/signature | vs hsm-nethsm `sign` |");
    println!("|---|---|---:|---:|---:|");
    for row in &rows {
        let rate = row.count as f64 / row.took.as_secs_f64();
        println!(
            "| {} | {} | {:.0} | {:.2} | {:.2}x |",
            row.client,
            row.how,
            rate,
            row.took.as_secs_f64() * 1000.0 / row.count as f64,
            rate / ours
        );
    }
    if generated && !simulated {
        hsm.delete_key(&key)?;
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// The environment variable that carries the passphrase to the Python client.
const PASSPHRASE_VAR: &str = "HSM_COMPARE_PASSPHRASE";

/// Runs peer.py (the first argument) with the remaining arguments, `@PASSPHRASE` replaced by
/// the value of [`PASSPHRASE_VAR`].
const PYTHON_WRAPPER: &str = "import os, runpy, sys
script = sys.argv[1]
secret = os.environ.pop('HSM_COMPARE_PASSPHRASE')
sys.argv = [script] + [secret if a == '@PASSPHRASE' else a for a in sys.argv[2:]]
runpy.run_path(script, run_name='__main__')";

/// The curl config line `user = "USER:PASSPHRASE"`, quoted, built in one buffer that is
/// zeroized when dropped.
fn curl_user_config(user: &str, passphrase: &SecretString) -> SecretString {
    let passphrase = passphrase.expose_secret();
    let mut config = String::with_capacity(16 + 2 * (user.len() + passphrase.len()));
    config.push_str("user = \"");
    for c in user.chars().chain([':']).chain(passphrase.chars()) {
        if c == '\\' || c == '"' {
            config.push('\\');
        }
        config.push(c);
    }
    config.push_str("\"\n");
    SecretString::from(config)
}
