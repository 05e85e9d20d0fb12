//! Signatures per second against one NetHSM simulator, side by side in one run: this crate (one
//! caller on a kept connection, and `sign_many`), Nitrokey's Python `nethsm` client (one caller,
//! its own kept connection), and `curl` started once per signature (a new process, TCP
//! connection and TLS handshake each time). Prints a Markdown table.
//!
//! ```sh
//! source scripts/ci.d/nethsm.sh   # the Python venv (HSM_NETHSM_VENV)
//! cargo run --release --example nethsm_compare -- --count 500 --latency-ms 2
//! ```
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use clap::Parser;
use hsm::nethsm::sim::{
    ADMIN_PASSPHRASE, ADMIN_USER, OPERATOR_PASSPHRASE, OPERATOR_USER, SimConfig, Simulator,
};
use hsm::nethsm::{Credentials, NetHsm, NetHsmClient};
use hsm::secret::SecretString;
use hsm::{
    Curve, HashAlgorithm, KeyId, KeySpec, KeyStore as _, KeyTemplate, SignAlgorithm, Signer as _,
};

#[derive(Parser)]
struct Args {
    /// Signatures per client.
    #[arg(long, default_value_t = 200)]
    count: usize,
    /// Milliseconds the simulator adds to every answer (a network).
    #[arg(long, default_value_t = 2)]
    latency_ms: u64,
    /// The venv with Nitrokey's `nethsm` package (default: $HSM_NETHSM_VENV, else
    /// /var/cache/hsm-rs/venv-nethsm).
    #[arg(long)]
    venv: Option<PathBuf>,
}

type BoxResult<T> = Result<T, Box<dyn std::error::Error>>;

struct Row {
    client: &'static str,
    how: &'static str,
    count: usize,
    took: Duration,
}

fn main() -> BoxResult<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Runtime::new()?;
    let sim = Simulator::start(
        SimConfig {
            latency: Duration::from_millis(args.latency_ms),
            ..SimConfig::default()
        },
        runtime.handle(),
    )?;
    let dir = std::env::temp_dir().join(format!("nethsm-compare-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, sim.certificate_pem())?;
    let port = sim.addr().port();

    let client = NetHsmClient::builder("127.0.0.1", port)
        .credentials(Credentials::new(
            OPERATOR_USER,
            SecretString::from(OPERATOR_PASSPHRASE),
        ))
        .tls(sim.tls_options())
        .build()?;
    let hsm = NetHsm::new(client)?.with_admin(Credentials::new(
        ADMIN_USER,
        SecretString::from(ADMIN_PASSPHRASE),
    ));
    let key: KeyId = "compare256".parse()?;
    hsm.generate_key(&KeyTemplate::new(key.clone(), KeySpec::Ec(Curve::P256)))?;
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
    let host = format!("localhost:{port}");
    if venv.join("bin/python").exists() {
        let out = Command::new(venv.join("bin/python"))
            .arg(&script)
            .arg(&host)
            .arg(&ca)
            .args([
                "bench-sign",
                OPERATOR_USER,
                OPERATOR_PASSPHRASE,
                "compare256",
                "ECDSA",
            ])
            .arg(b64(&digest))
            .arg(args.count.to_string())
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

    // curl, a new process and connection per signature.
    let body = format!(r#"{{"mode":"ECDSA","message":"{}"}}"#, b64(&digest));
    let url = format!("https://{host}/api/v1/keys/compare256/sign");
    let auth = format!("{OPERATOR_USER}:{OPERATOR_PASSPHRASE}");
    let started = Instant::now();
    for _ in 0..args.count {
        let out = Command::new("curl")
            .args(["-sS", "--fail", "--cacert"])
            .arg(&ca)
            .args([
                "-u",
                &auth,
                "-H",
                "content-type: application/json",
                "-d",
                &body,
                &url,
            ])
            .output()?;
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
    println!(
        "P-256 ECDSA against the simulator with {} ms latency per answer, {} signatures each:\n",
        args.latency_ms, args.count
    );
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
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
