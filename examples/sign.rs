//! Sign a file.
//!
//! ```sh
//! cargo run --example sign -- --key signer1 --alg ecdsa-sha256 --in msg.txt --out msg.sig
//! openssl dgst -sha256 -verify signer1.pem -signature msg.sig msg.txt
//! ```
#![allow(clippy::print_stdout, missing_docs)]

mod common;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::ValueEnum;
use hsm::{Hsm, KeyId, SignAlgorithm};

/// How to write an ECDSA signature.
#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// DER `Ecdsa-Sig-Value` (what OpenSSL and X.509 use).
    Der,
    /// Fixed-size `r || s`.
    Raw,
}

/// What to sign, with which algorithm, and where the signature goes.
#[derive(clap::Args)]
struct Signing {
    /// ecdsa-sha256, ecdsa-sha384, ecdsa-sha512, rsa-pkcs1-sha256/384/512,
    /// rsa-pss-sha256/384/512, ed25519.
    #[arg(long)]
    alg: SignAlgorithm,
    /// The file to sign.
    #[arg(long = "in")]
    input: PathBuf,
    /// Where to write the signature.
    #[arg(long)]
    out: PathBuf,
    /// Encoding of ECDSA signatures (others have only one).
    #[arg(long, value_enum, default_value = "der")]
    format: Format,
}

fn main() -> ExitCode {
    common::main_with_key("Sign a file with a key on an HSM.", run)
}

fn run(hsm: Box<dyn Hsm>, key: KeyId, args: Signing) -> common::Result {
    let message = std::fs::read(&args.input)?;
    let signature = hsm.sign(&key, args.alg, &message)?;
    let bytes = match args.format {
        Format::Der => signature.to_der(),
        Format::Raw => signature.to_raw(),
    };
    std::fs::write(&args.out, &bytes)?;
    println!(
        "signed {} bytes with {} ({}): {} bytes to {}",
        message.len(),
        key,
        args.alg,
        bytes.len(),
        args.out.display()
    );
    Ok(())
}
