//! Make a PKCS#10 certificate signing request signed by a key on an HSM, with `x509-cert`
//! through the RustCrypto key handles of `hsm-core`.
//!
//! ```sh
//! cargo run --example csr -- --key signer1 --subject "CN=signer.example,O=Example" --out signer1.csr
//! openssl req -verify -noout -in signer1.csr
//! ```
#![allow(clippy::print_stdout, missing_docs)]

mod common;

use std::path::PathBuf;
use std::process::ExitCode;
use std::str::FromStr as _;
use std::sync::Arc;

use der::EncodePem as _;
use hsm::{Hsm, KeyId};
use x509_cert::builder::RequestBuilder;
use x509_cert::name::Name;
use x509_cert::request::CertReq;

/// What the request says: its subject, and where it goes.
#[derive(clap::Args)]
struct Request {
    /// The subject, e.g. `CN=signer.example,O=Example,C=DE`.
    #[arg(long)]
    subject: String,
    /// Where to write the PEM request.
    #[arg(long)]
    out: PathBuf,
}

fn main() -> ExitCode {
    common::main_with_key(
        "Make a CSR with a key on an HSM: ECDSA on P-256/384/521, secp256k1 or \
         brainpoolP256r1/P384r1 (signs with the curve's hash), RSA (signs with SHA-256) or Ed25519.",
        run,
    )
}

fn run(hsm: Box<dyn Hsm>, key: KeyId, args: Request) -> common::Result {
    let hsm: Arc<dyn Hsm> = Arc::from(hsm);
    let subject = Name::from_str(&args.subject)?;
    let request: CertReq = common::x509::build_signed(RequestBuilder::new(subject)?, &hsm, &key)?;
    std::fs::write(&args.out, request.to_pem(der::pem::LineEnding::LF)?)?;
    println!("wrote {}", args.out.display());
    Ok(())
}
