//! `n200-sim`: the simulated se.SAM N200 as a standalone HTTPS server.
//!
//! ```text
//! N200_PASS=secret n200-sim --listen 127.0.0.1:8444 --tls-cert-out cert.pem \
//!     --server-name seSAM-nserie-101 --user pkmaster --password-env N200_PASS [--cores 2] [--latency-ms 20] \
//!     [--allow-anonymous] [--demo-keys]
//! ```
//! Prints `listening on https://ADDR` once it accepts connections, then serves until killed.

#![forbid(unsafe_code)]
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use hsm_n200::sim::{SimConfig, Simulator};

/// A simulated sematicon se.SAM N200 (both REST APIs, real cryptography).
#[derive(Debug, Parser)]
#[command(name = "n200-sim", version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8444")]
    listen: SocketAddr,
    /// Write the server certificate (PEM) here: the clients' `tlscert` / `ca=`.
    #[arg(long)]
    tls_cert_out: Option<PathBuf>,
    /// The only name the certificate is issued to.
    #[arg(long, default_value = "seSAM-nserie-101")]
    server_name: String,
    /// Basic-auth user.
    #[arg(long, default_value = "pkmaster")]
    user: String,
    /// Environment variable holding the user's password.
    #[arg(long)]
    password_env: String,
    /// Number of crypto cores (separate key spaces), numbered from 1.
    #[arg(long, default_value_t = 2)]
    cores: u8,
    /// Latency added to every answer, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Up to this many milliseconds more, drawn for each answer (a network's jitter).
    #[arg(long, default_value_t = 0)]
    jitter_ms: u64,
    /// Serve requests that carry no credentials, as the record shows the device doing (by
    /// default every request needs basic auth).
    #[arg(long)]
    allow_anonymous: bool,
    /// Create the record's symmetric key `k01` (PIN 12345678) on core 1.
    #[arg(long)]
    demo_keys: bool,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let password = hsm_core::secret::secret_from_env(&args.password_env)?;
    let mut config = SimConfig::new().credentials(args.user, password);
    config.listen = args.listen;
    config.server_name = args.server_name;
    config.cores = args.cores;
    config.latency = Duration::from_millis(args.latency_ms);
    config.jitter = Duration::from_millis(args.jitter_ms);
    config.allow_anonymous = args.allow_anonymous;
    config.demo_keys = args.demo_keys;
    let sim = Simulator::start(config)?;
    if let Some(path) = &args.tls_cert_out {
        std::fs::write(path, sim.cert_pem())?;
    }
    println!("listening on https://{}", sim.addr());
    std::io::stdout().flush()?;
    loop {
        std::thread::park();
    }
}
