//! Generate a key pair.
//!
//! ```sh
//! cargo run --example keygen -- --id signer1 --spec p256
//! ```
#![allow(clippy::print_stdout, missing_docs)]

mod common;

use std::process::ExitCode;

use clap::Parser;
use hsm::{KeyId, KeySpec, KeyTemplate};

/// Generate a key on an HSM.
#[derive(Parser)]
struct Args {
    #[command(flatten)]
    backend: common::BackendArg,
    /// The new key's id (`NAME` or `id:HEX`).
    #[arg(long)]
    id: KeyId,
    /// p256, p384, p521, secp256k1, brainpool256, brainpool384, brainpool512, ed25519,
    /// rsa2048, rsa3072, rsa4096, aes128, aes256.
    #[arg(long)]
    spec: KeySpec,
    /// A label, where the device keeps one apart from the id.
    #[arg(long)]
    label: Option<String>,
}

fn main() -> ExitCode {
    common::main(run)
}

fn run(args: Args) -> common::Result {
    let hsm = args.backend.open()?;
    let mut template = KeyTemplate::new(args.id, args.spec);
    if let Some(label) = args.label {
        template = template.with_label(label);
    }
    let info = hsm.generate_key(&template)?;
    println!("generated {} ({})", info.id, args.spec);
    Ok(())
}
