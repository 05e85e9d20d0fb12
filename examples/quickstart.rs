//! Generate a P-256 key on an HSM, sign a message, verify the signature, print the public key
//! and the signature.
//!
//! With no configuration it starts the built-in NetHSM simulator on loopback (real HTTPS);
//! with `--uri` (or `HSM_URI`) it does the same on that backend:
//!
//! ```sh
//! cargo run --example quickstart
//! cargo run --example quickstart -- --uri pkcs11+sim:
//! HSM_URI='nethsm://operator@nethsm.example:8443?password-env=NETHSM_PASS&admin=admin&admin-password-env=NETHSM_ADMIN_PASS&ca=nethsm.pem' \
//!     cargo run --example quickstart
//! ```
#![allow(clippy::print_stdout, missing_docs)]

mod common;

use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use hsm::{Curve, KeyId, KeySpec, KeyTemplate, SignAlgorithm};

fn main() -> ExitCode {
    common::main_about(
        "Generate a P-256 key, sign, verify, print the public key and the signature.",
        run,
    )
}

fn run(backend: common::BackendArg) -> common::Result {
    let hsm = backend.open()?;
    println!("backend: {}", hsm.backend());

    // A fresh id, so that a real device's existing keys are never touched.
    let stamp = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let key: KeyId = format!("quickstart{stamp}").parse()?;
    let info = hsm.generate_key(&KeyTemplate::new(key.clone(), KeySpec::Ec(Curve::P256)))?;
    println!("generated key {} ({})", info.id, KeySpec::Ec(Curve::P256));

    let message = b"hello from hsm-rs";
    let signature = hsm.sign(&key, SignAlgorithm::EcdsaSha256, message)?;
    let public_key = hsm.public_key(&key)?;
    public_key.verify(message, &signature)?;
    println!("signature verified with the public key");

    print!("{}", public_key.to_pem());
    println!(
        "signature (ECDSA P-256 SHA-256, DER, hex): {}",
        hex::encode(signature.to_der())
    );

    if hsm.capabilities().delete {
        hsm.delete_key(&key)?;
        println!("deleted key {key}");
    }
    Ok(())
}
