//! Print a key's public key as PEM on stdout.
//!
//! ```sh
//! cargo run --example pubkey -- --key signer1 > signer1.pem
//! ```
#![allow(clippy::print_stdout, missing_docs)]

mod common;

use std::process::ExitCode;

use clap::Parser;
use hsm::KeyId;

/// Print a public key as PEM.
#[derive(Parser)]
struct Args {
    #[command(flatten)]
    backend: common::BackendArg,
    /// The key (`NAME` or `id:HEX`).
    #[arg(long)]
    key: KeyId,
}

fn main() -> ExitCode {
    common::main(run)
}

fn run(args: Args) -> common::Result {
    let hsm = args.backend.open()?;
    print!("{}", hsm.public_key(&args.key)?.to_pem());
    Ok(())
}
