//! DNSSEC-scale signing: N records with one P-256 key, three ways, by default against the
//! simulated N200 (the device of the seed's DNSSEC complaint), or against any backend `--uri`
//! names.
//!
//! (a) a new client (new TLS connection) per signature, as the vendor PKCS#11 module does;
//! (b) one kept connection, one signature at a time; (c) `sign_many` with many in flight.
//!
//! ```text
//! cargo run --release --example dnssec_sign -- [--uri URI] [RECORDS (default 1000)] [LATENCY_MS (default 20)]
//! ```
//! The URI defaults to `HSM_URI`, else `n200+sim:`. `LATENCY_MS` is what the N200 simulator adds
//! to every answer (a `latency-ms=` in an `n200+sim:` URI wins); on the N200 simulator the
//! table also counts the TLS connections each way opened. Mode (a) opens the URI again for every
//! signature, so it runs on the N200 simulator and on real devices, not on other simulators
//! (each opening would start a new, empty one). CI runs it with small values:
//! `cargo run --example dnssec_sign -- 20 1` and `-- --uri nethsm+sim: 20 1`.
#![allow(clippy::print_stdout, missing_docs)]

mod common;

use std::process::ExitCode;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use clap::Parser;
use hsm::n200::N200;
use hsm::n200::sim::Simulator;
use hsm::uri::BackendUri;
use hsm::{Curve, Hsm, KeyId, KeySpec, KeyTemplate, SignAlgorithm};

/// Sign N DNS records with one P-256 key, three ways, and print signatures per second.
#[derive(Parser)]
struct Args {
    /// Backend URI (default: `HSM_URI`, else `n200+sim:`, the built-in N200 simulator).
    #[arg(long)]
    uri: Option<String>,
    /// Records to sign.
    #[arg(default_value_t = 1000)]
    records: usize,
    /// Milliseconds the N200 simulator adds to every answer.
    #[arg(default_value_t = 20)]
    latency_ms: u64,
}

/// The backend: the N200 simulator (whose connections can be counted and which a fresh client
/// can reach again), or whatever `hsm::open` made of the URI.
enum Backend {
    N200Sim(Box<N200>),
    Other(Box<dyn Hsm>),
}

impl Backend {
    fn open(uri: &str) -> common::Result<Self> {
        if uri.to_ascii_lowercase().starts_with("n200+sim:") {
            Ok(Self::N200Sim(Box::new(N200::open(BackendUri::parse(
                uri,
            )?)?)))
        } else {
            Ok(Self::Other(hsm::open(uri)?))
        }
    }

    fn hsm(&self) -> &dyn Hsm {
        match self {
            Self::N200Sim(n200) => n200.as_ref(),
            Self::Other(hsm) => hsm.as_ref(),
        }
    }

    fn simulator(&self) -> Option<&Simulator> {
        match self {
            Self::N200Sim(n200) => n200.simulator(),
            Self::Other(_) => None,
        }
    }

    fn connections(&self) -> Option<u64> {
        self.simulator().map(Simulator::connections)
    }

    /// Whether [`Backend::fresh`] reaches the same keys: not for a simulator other than the
    /// N200's, where opening the URI again starts another, empty one.
    fn can_reopen(&self, uri: &str) -> bool {
        matches!(self, Self::N200Sim(_)) || !is_simulator(uri)
    }

    /// A new client with its own connection to the same device.
    fn fresh(&self, uri: &str) -> common::Result<Box<dyn Hsm>> {
        match self {
            Self::N200Sim(_) => {
                let sim = self.simulator().ok_or("the N200 simulator is gone")?;
                let client = sim.client_builder()?.build()?;
                Ok(Box::new(N200::new(client, sim.key_pin(), "FFFF")?))
            }
            Self::Other(_) => Ok(hsm::open(uri)?),
        }
    }
}

/// Whether `uri` names a built-in simulator (`SCHEME+sim:`).
fn is_simulator(uri: &str) -> bool {
    uri.split_once(':')
        .is_some_and(|(scheme, _)| scheme.to_ascii_lowercase().ends_with("+sim"))
}

struct Row {
    name: &'static str,
    signatures: usize,
    rate: f64,
    connections: Option<u64>,
}

/// A mode being measured: when it started, and the connections the simulator had counted then.
struct Timer {
    start: Instant,
    connections: Option<u64>,
}

impl Timer {
    fn start(backend: &Backend) -> Self {
        let connections = backend.connections();
        Self {
            start: Instant::now(),
            connections,
        }
    }

    /// The row for `signatures` made since [`Timer::start`], with the connections opened since.
    fn row(self, backend: &Backend, name: &'static str, signatures: usize) -> Row {
        Row {
            name,
            signatures,
            rate: signatures as f64 / self.start.elapsed().as_secs_f64(),
            connections: backend
                .connections()
                .zip(self.connections)
                .map(|(n, b)| n - b),
        }
    }
}

fn main() -> ExitCode {
    common::main(run)
}

fn run(args: Args) -> common::Result {
    let mut uri = common::backend_uri(args.uri, "n200+sim:");
    let n200_sim = uri.to_ascii_lowercase().starts_with("n200+sim:");
    let mut latency_ms = None;
    if n200_sim {
        latency_ms = BackendUri::parse(&uri)?
            .query
            .take_parsed::<u64>("latency-ms")?;
        if latency_ms.is_none() {
            let separator = if uri.contains('?') { '&' } else { '?' };
            uri = format!("{uri}{separator}latency-ms={}", args.latency_ms);
            latency_ms = Some(args.latency_ms);
        }
    }
    let backend = Backend::open(&uri)?;
    let hsm = backend.hsm();
    let simulated = is_simulator(&uri);

    // A fresh id on a real device, so that its existing keys are never touched.
    let key: KeyId = if simulated {
        "jpexample".parse()?
    } else {
        let stamp = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
        format!("dnssec{stamp}").parse()?
    };
    hsm.generate_key(&KeyTemplate::new(key.clone(), KeySpec::Ec(Curve::P256)))?;
    let public_key = hsm.public_key(&key)?;
    let records = args.records;
    let rrsets: Vec<Vec<u8>> = (0..records)
        .map(|i| format!("host{i}.jp.example. 3600 IN A 192.0.2.{}", i % 256).into_bytes())
        .collect();
    let alg = SignAlgorithm::EcdsaSha256;
    let mut rows = Vec::new();

    // (a) A new connection per signature (fewer records: it is slow by design).
    let a_n = records.min(100);
    if backend.can_reopen(&uri) {
        let timer = Timer::start(&backend);
        for m in rrsets.iter().take(a_n) {
            let fresh = backend.fresh(&uri)?;
            public_key.verify(m, &fresh.sign(&key, alg, m)?)?;
        }
        rows.push(timer.row(&backend, "(a) new client and connection per signature", a_n));
    } else {
        println!("(a) left out: opening {uri} again would start another simulator");
    }

    // (b) One kept connection, one at a time.
    let _ = hsm.sign(&key, alg, b"warm-up")?;
    let timer = Timer::start(&backend);
    for m in &rrsets {
        public_key.verify(m, &hsm.sign(&key, alg, m)?)?;
    }
    rows.push(timer.row(&backend, "(b) kept connection, one at a time", records));

    // (c) sign_many, many in flight.
    let refs: Vec<&[u8]> = rrsets.iter().map(Vec::as_slice).collect();
    let timer = Timer::start(&backend);
    let results = hsm.sign_many(&key, alg, &refs);
    // the rate of the signatures alone: they are verified after the clock stops
    let row = timer.row(&backend, "(c) sign_many, many in flight", records);
    for (m, r) in refs.iter().zip(results) {
        public_key.verify(m, &r?)?;
    }
    rows.push(row);

    if !simulated && hsm.capabilities().delete {
        hsm.delete_key(&key)?;
    }

    let latency = latency_ms.map_or_else(String::new, |ms| format!(", simulator latency: {ms} ms"));
    println!("backend: {}, records: {records}{latency}", hsm.backend());
    println!("| mode | signatures/s | new connections | vs (a) | vs seed 0.942/s |");
    println!("|---|---|---|---|---|");
    let a_rate = rows
        .iter()
        .find(|r| r.name.starts_with("(a)"))
        .map(|r| r.rate);
    for row in &rows {
        let connections = row
            .connections
            .map_or_else(|| "n/a".to_owned(), |n| n.to_string());
        let vs_a = a_rate.map_or_else(|| "n/a".to_owned(), |a| format!("{:.1}x", row.rate / a));
        println!(
            "| {} ({} signatures) | {:.1} | {connections} | {vs_a} | {:.0}x |",
            row.name,
            row.signatures,
            row.rate,
            row.rate / 0.942
        );
    }
    Ok(())
}
