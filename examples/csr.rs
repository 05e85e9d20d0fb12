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

use clap::Parser;
use der::EncodePem as _;
use hsm::rustcrypto::{EcdsaP256Key, EcdsaP384Key, Ed25519Key, RsaPkcs1Sha256Key};
use hsm::{Curve, Hsm, KeyId, KeyType};
use x509_cert::builder::{Builder as _, RequestBuilder};
use x509_cert::name::Name;
use x509_cert::request::CertReq;

/// Make a CSR with a key on an HSM.
#[derive(Parser)]
struct Args {
    #[command(flatten)]
    backend: common::BackendArg,
    /// The key (`NAME` or `id:HEX`): P-256, P-384, RSA (signs with SHA-256) or Ed25519.
    #[arg(long)]
    key: KeyId,
    /// The subject, e.g. `CN=signer.example,O=Example,C=DE`.
    #[arg(long)]
    subject: String,
    /// Where to write the PEM request.
    #[arg(long)]
    out: PathBuf,
}

fn build(hsm: Arc<dyn Hsm>, key: KeyId, subject: Name) -> common::Result<CertReq> {
    let public_key = hsm.public_key(&key)?;
    let builder = RequestBuilder::new(subject)?;
    let request = match (public_key.key_type(), public_key.curve()) {
        (KeyType::Ec, Some(Curve::P256)) => {
            builder.build::<_, p256::ecdsa::DerSignature>(&EcdsaP256Key::new(hsm, key)?)?
        }
        (KeyType::Ec, Some(Curve::P384)) => {
            builder.build::<_, p384::ecdsa::DerSignature>(&EcdsaP384Key::new(hsm, key)?)?
        }
        (KeyType::Rsa, _) => {
            builder.build::<_, rsa::pkcs1v15::Signature>(&RsaPkcs1Sha256Key::new(hsm, key)?)?
        }
        (KeyType::Ed25519, _) => {
            builder.build::<_, ed25519_dalek::Signature>(&Ed25519Key::new(hsm, key)?)?
        }
        _ => return Err(format!("no CSR support for a {:?} key", public_key.spec()).into()),
    };
    Ok(request)
}

fn main() -> ExitCode {
    common::exit(run())
}

fn run() -> common::Result {
    common::init_tracing();
    let args = Args::parse();
    let hsm: Arc<dyn Hsm> = Arc::from(args.backend.open()?);
    let subject = Name::from_str(&args.subject)?;
    let request = build(hsm, args.key, subject)?;
    std::fs::write(&args.out, request.to_pem(der::pem::LineEnding::LF)?)?;
    println!("wrote {}", args.out.display());
    Ok(())
}
