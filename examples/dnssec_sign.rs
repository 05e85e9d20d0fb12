//! DNSSEC-scale signing against the simulated N200: N records with one P-256 key, three ways.
//!
//! (a) a new client (new TLS connection) per signature, as the vendor PKCS#11 module does;
//! (b) one kept connection, one signature at a time; (c) `sign_many` with many in flight.
//!
//! ```text
//! cargo run --release --example dnssec_sign -- [RECORDS (default 1000)] [LATENCY_MS (default 20)]
//! ```
//! CI runs it with small values: `cargo run --example dnssec_sign -- 20 1`.
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use hsm_core::{Curve, KeyId, KeySpec, KeyStore as _, KeyTemplate, SignAlgorithm, Signer as _};
use hsm_n200::N200;
use hsm_n200::sim::{SimConfig, Simulator};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let records: usize = args.next().map_or(Ok(1000), |a| a.parse())?;
    let latency_ms: u64 = args.next().map_or(Ok(20), |a| a.parse())?;
    let mut config = SimConfig::random_credentials();
    config.latency = Duration::from_millis(latency_ms);
    let sim = Simulator::start(config)?;
    let n200 = N200::new(sim.client_builder()?.build()?, sim.key_pin(), "FFFF")?;
    let key = KeyId::name("jpexample")?;
    let _ = n200.generate_key(&KeyTemplate::new(key.clone(), KeySpec::Ec(Curve::P256)))?;
    let public_key = n200.public_key(&key)?;
    let rrsets: Vec<Vec<u8>> = (0..records)
        .map(|i| format!("host{i}.jp.example. 3600 IN A 192.0.2.{}", i % 256).into_bytes())
        .collect();
    let alg = SignAlgorithm::EcdsaSha256;

    // (a) A new connection per signature (fewer records: it is slow by design).
    let a_n = records.min(100);
    let conns = sim.connections();
    let start = Instant::now();
    for m in rrsets.iter().take(a_n) {
        let fresh = N200::new(sim.client_builder()?.build()?, sim.key_pin(), "FFFF")?;
        public_key.verify(m, &fresh.sign(&key, alg, m)?)?;
    }
    let a = a_n as f64 / start.elapsed().as_secs_f64();
    let a_conns = sim.connections() - conns;

    // (b) One kept connection, one at a time.
    let _ = n200.sign(&key, alg, b"warm-up")?;
    let conns = sim.connections();
    let start = Instant::now();
    for m in &rrsets {
        public_key.verify(m, &n200.sign(&key, alg, m)?)?;
    }
    let b = records as f64 / start.elapsed().as_secs_f64();
    let b_conns = sim.connections() - conns;

    // (c) sign_many, up to 16 in flight.
    let refs: Vec<&[u8]> = rrsets.iter().map(Vec::as_slice).collect();
    let conns = sim.connections();
    let start = Instant::now();
    let results = n200.sign_many(&key, alg, &refs);
    let c = records as f64 / start.elapsed().as_secs_f64();
    for (m, r) in refs.iter().zip(results) {
        public_key.verify(m, &r?)?;
    }
    let c_conns = sim.connections() - conns;

    println!("records: {records}, simulator latency: {latency_ms} ms");
    println!("| mode | signatures/s | new connections | vs (a) | vs seed 0.942/s |");
    println!("|---|---|---|---|---|");
    for (name, rate, n, c) in [
        ("(a) new TLS connection per signature", a, a_n, a_conns),
        ("(b) kept connection, one at a time", b, records, b_conns),
        ("(c) sign_many, 16 in flight", c, records, c_conns),
    ] {
        println!(
            "| {name} ({n} signatures) | {rate:.1} | {c} | {:.1}x | {:.0}x |",
            rate / a,
            rate / 0.942
        );
    }
    Ok(())
}
