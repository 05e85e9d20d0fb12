//! Print a key's public key as PEM on stdout.
//!
//! ```sh
//! cargo run --example pubkey -- --key signer1 > signer1.pem
//! ```
#![allow(clippy::print_stdout, missing_docs)]

mod common;

use clap::Parser;
use hsm::KeyId;

/// Print a public key as PEM.
#[derive(Parser)]
struct Args {
    /// Backend URI (default: `HSM_URI`, else the built-in NetHSM simulator).
    #[arg(long)]
    uri: Option<String>,
    /// The key (`NAME` or `id:HEX`).
    #[arg(long)]
    key: KeyId,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    common::init_tracing();
    let args = Args::parse();
    let hsm = hsm::open(&common::backend_uri(args.uri, common::DEFAULT_URI))?;
    print!("{}", hsm.public_key(&args.key)?.to_pem());
    Ok(())
}
