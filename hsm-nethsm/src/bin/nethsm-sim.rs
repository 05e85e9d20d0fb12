//! Runs the NetHSM simulator as a server.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use hsm_nethsm::sim::{InitialState, SimConfig, Simulator};

#[derive(Clone, Copy, ValueEnum)]
enum State {
    Unprovisioned,
    Operational,
}

/// A NetHSM simulator over HTTPS.
#[derive(Parser)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8443")]
    listen: SocketAddr,
    /// Where to write the server's certificate (PEM), for clients' `ca=`.
    #[arg(long)]
    tls_cert_out: Option<PathBuf>,
    /// Starting state: unprovisioned like the real container, or operational with the
    /// default admin and operator users.
    #[arg(long, value_enum, default_value = "unprovisioned")]
    state: State,
    /// Milliseconds added to every response.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Up to this many milliseconds more, drawn for each response (a network's jitter).
    #[arg(long, default_value_t = 0)]
    jitter_ms: u64,
    /// The unlock passphrase of the `operational` state (default `unlockpassphrase`); read
    /// from the environment variable NETHSM_SIM_UNLOCK_PASSPHRASE when set.
    #[arg(long, env = "NETHSM_SIM_UNLOCK_PASSPHRASE", hide_env_values = true)]
    unlock_passphrase: Option<String>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let runtime = tokio::runtime::Runtime::new()?;
    let config = SimConfig {
        listen: args.listen,
        state: match args.state {
            State::Unprovisioned => InitialState::Unprovisioned,
            State::Operational => InitialState::Operational,
        },
        latency: Duration::from_millis(args.latency_ms),
        jitter: Duration::from_millis(args.jitter_ms),
        unlock_passphrase: secrecy::SecretString::from(
            args.unlock_passphrase
                .as_deref()
                .unwrap_or(hsm_nethsm::sim::UNLOCK_PASSPHRASE),
        ),
    };
    let simulator = Simulator::start(config, runtime.handle())?;
    if let Some(path) = &args.tls_cert_out {
        std::fs::write(path, simulator.certificate_pem())?;
    }
    println!("listening on https://{}", simulator.addr());
    runtime.block_on(async {
        let _ = tokio::signal::ctrl_c().await;
    });
    drop(simulator);
    Ok(())
}
