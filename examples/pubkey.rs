//! Print a key's public key as PEM on stdout.
//!
//! ```sh
//! cargo run --example pubkey -- --key signer1 > signer1.pem
//! ```
#![allow(clippy::print_stdout, missing_docs)]

mod common;

use std::process::ExitCode;

use hsm::{Hsm, KeyId};

fn main() -> ExitCode {
    common::main_with_key("Print a public key as PEM.", run)
}

fn run(hsm: Box<dyn Hsm>, key: KeyId, _: common::NoOptions) -> common::Result {
    print!("{}", hsm.public_key(&key)?.to_pem());
    Ok(())
}
