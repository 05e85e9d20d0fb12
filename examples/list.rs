//! List the keys a backend shows.
//!
//! ```sh
//! cargo run --example list -- --uri 'pkcs11:token=signer?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-env=PIN'
//! ```
#![allow(clippy::print_stdout, missing_docs)]

mod common;

use std::process::ExitCode;

fn main() -> ExitCode {
    common::main_about("List the keys on an HSM.", run)
}

fn run(backend: common::BackendArg) -> common::Result {
    let hsm = backend.open()?;
    let keys = hsm.list_keys()?;
    println!("{} keys on {}", keys.len(), hsm.backend());
    for key in keys {
        let spec = key.spec.map_or_else(|| "?".to_owned(), |s| s.to_string());
        let label = key.label.as_deref().unwrap_or("");
        let algorithms: Vec<String> = key.algorithms.iter().map(ToString::to_string).collect();
        println!("{}\t{spec}\t{label}\t{}", key.id, algorithms.join(","));
    }
    Ok(())
}
