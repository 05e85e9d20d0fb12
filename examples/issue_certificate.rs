//! A small CA whose key never leaves the HSM: a self-signed CA certificate and a leaf certificate,
//! both built with `x509-cert`'s `CertificateBuilder` and signed through `hsm-core`'s RustCrypto
//! key handles.
//!
//! The leaf's public key comes from a PKCS#10 request (`--csr`, whose signature is checked first:
//! a CA issues only to whoever holds the private key) or from a second key on the HSM
//! (`--leaf-key`). `--create` generates the keys first, which is what a `+sim:` URI needs (each
//! run starts an empty simulator).
//!
//! ```sh
//! cargo run --example issue_certificate -- --create --ca-key ca --leaf-key web \
//!     --dns-name www.example.org --ca-out ca.pem --out leaf.pem
//! openssl verify -CAfile ca.pem leaf.pem
//! ```
#![allow(clippy::print_stdout, missing_docs)]

mod common;

use std::path::PathBuf;
use std::process::ExitCode;
use std::str::FromStr as _;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::Parser;
use const_oid::db::rfc5912 as oids;
use der::asn1::Ia5String;
use der::{Decode as _, DecodePem as _, Encode as _, EncodePem as _};
use hsm::{Hsm, KeyId, KeySpec, KeyTemplate, PublicKey, SignAlgorithm, Signature};
use sha2::{Digest as _, Sha256};
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::builder::CertificateBuilder;
use x509_cert::builder::profile::cabf::Root;
use x509_cert::builder::profile::cabf::tls::{CertificateType, Subscriber};
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::name::Name;
use x509_cert::request::CertReq;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::Validity;

/// Issue a CA certificate and a leaf certificate with a CA key on an HSM.
#[derive(Parser)]
struct Args {
    #[command(flatten)]
    backend: common::BackendArg,
    /// The CA key on the HSM (`NAME` or `id:HEX`): P-256, P-384, RSA (SHA-256) or Ed25519.
    #[arg(long, default_value = "example-ca")]
    ca_key: KeyId,
    /// Generate the CA key (and `--leaf-key`) first, with these specs.
    #[arg(long)]
    create: bool,
    /// The CA key's spec when `--create` generates it.
    #[arg(long, default_value = "p256")]
    ca_spec: KeySpec,
    /// The leaf key's spec when `--create` generates it.
    #[arg(long, default_value = "p256")]
    leaf_spec: KeySpec,
    /// The CA's subject: C, O and CN are required (CA/Browser Forum root CA naming).
    #[arg(long, default_value = "CN=hsm-rs Example Root CA,O=hsm-rs,C=DE")]
    ca_subject: String,
    /// The leaf's public key and subject from this PKCS#10 request (PEM).
    #[arg(
        long,
        conflicts_with = "leaf_key",
        required_unless_present = "leaf_key"
    )]
    csr: Option<PathBuf>,
    /// The leaf's public key from this key on the HSM.
    #[arg(long)]
    leaf_key: Option<KeyId>,
    /// The leaf's DNS name (subjectAltName; also its CN when there is no CSR). Repeatable.
    #[arg(long = "dns-name", required = true)]
    dns_names: Vec<String>,
    /// Days the certificates are valid.
    #[arg(long, default_value_t = 90)]
    days: u64,
    /// Where to write the CA certificate (PEM).
    #[arg(long)]
    ca_out: PathBuf,
    /// Where to write the leaf certificate (PEM).
    #[arg(long)]
    out: PathBuf,
}

fn main() -> ExitCode {
    common::main(run)
}

fn run(args: Args) -> common::Result {
    let hsm: Arc<dyn Hsm> = Arc::from(args.backend.open()?);
    if args.create {
        hsm.generate_key(&KeyTemplate::new(args.ca_key.clone(), args.ca_spec))?;
        if let Some(leaf) = &args.leaf_key {
            hsm.generate_key(&KeyTemplate::new(leaf.clone(), args.leaf_spec))?;
        }
    }
    let validity = Validity::from_now(Duration::from_secs(args.days * 86_400))?;

    // The CA certificate: self-signed by the CA key.
    let ca_public = hsm.public_key(&args.ca_key)?;
    let ca_subject = Name::from_str(&args.ca_subject)?;
    let ca_builder = CertificateBuilder::new(
        Root::new(false, ca_subject.clone())?,
        serial_number(&ca_subject, ca_public.as_der())?,
        validity,
        SubjectPublicKeyInfoOwned::from_der(ca_public.as_der())?,
    )?;
    let ca_cert = common::x509::build_signed(ca_builder, &hsm, &args.ca_key)?;

    // The leaf: its public key from the CSR (after checking the CSR's signature) or the HSM.
    let names = args
        .dns_names
        .iter()
        .map(|n| Ok(GeneralName::DnsName(Ia5String::new(n)?)))
        .collect::<common::Result<Vec<_>>>()?;
    let (leaf_subject, leaf_spki) = match (&args.csr, &args.leaf_key) {
        (Some(path), _) => {
            let request = CertReq::from_pem(std::fs::read(path)?)?;
            check_request(&request)?;
            (request.info.subject, request.info.public_key)
        }
        (None, Some(key)) => {
            let first = args.dns_names.first().ok_or("--dns-name is required")?;
            let public = hsm.public_key(key)?;
            (
                Name::from_str(&format!("CN={first}"))?,
                SubjectPublicKeyInfoOwned::from_der(public.as_der())?,
            )
        }
        (None, None) => return Err("give --csr or --leaf-key".into()),
    };
    let profile = Subscriber {
        certificate_type: CertificateType::domain_validated(leaf_subject.clone(), names.clone())?,
        issuer: ca_subject,
        client_auth: false,
    };
    let mut leaf_builder = CertificateBuilder::new(
        profile,
        serial_number(&leaf_subject, &leaf_spki.to_der()?)?,
        validity,
        leaf_spki,
    )?;
    // The CA/B profile leaves the subjectAltName to the issuer.
    leaf_builder.add_extension(&SubjectAltName(names))?;
    let leaf_cert = common::x509::build_signed(leaf_builder, &hsm, &args.ca_key)?;

    std::fs::write(&args.ca_out, ca_cert.to_pem(der::pem::LineEnding::LF)?)?;
    std::fs::write(&args.out, leaf_cert.to_pem(der::pem::LineEnding::LF)?)?;
    println!(
        "CA certificate {} ({}, {} key {} on {}), leaf certificate {} for {}",
        args.ca_out.display(),
        ca_cert.tbs_certificate().subject(),
        spec_name(&ca_public),
        args.ca_key,
        hsm.backend(),
        args.out.display(),
        args.dns_names.join(", ")
    );
    Ok(())
}

/// Checks a request's self-signature (proof of possession of the private key).
fn check_request(request: &CertReq) -> common::Result {
    let public = PublicKey::from_der(&request.info.public_key.to_der()?)?;
    let oid = request.algorithm.oid;
    let algorithm = [
        (oids::ECDSA_WITH_SHA_256, SignAlgorithm::EcdsaSha256),
        (oids::ECDSA_WITH_SHA_384, SignAlgorithm::EcdsaSha384),
        (oids::ECDSA_WITH_SHA_512, SignAlgorithm::EcdsaSha512),
        (
            oids::SHA_256_WITH_RSA_ENCRYPTION,
            SignAlgorithm::RsaPkcs1Sha256,
        ),
        (
            oids::SHA_384_WITH_RSA_ENCRYPTION,
            SignAlgorithm::RsaPkcs1Sha384,
        ),
        (
            oids::SHA_512_WITH_RSA_ENCRYPTION,
            SignAlgorithm::RsaPkcs1Sha512,
        ),
        (const_oid::db::rfc8410::ID_ED_25519, SignAlgorithm::Ed25519),
    ]
    .into_iter()
    .find_map(|(known, algorithm)| (known == oid).then_some(algorithm))
    .ok_or_else(|| format!("the request is signed with {oid}, which this CA does not check"))?;
    let bytes = request
        .signature
        .as_bytes()
        .ok_or("the request's signature is not a whole number of bytes")?;
    let signature = match public.curve() {
        Some(curve) if algorithm.is_ecdsa() => Signature::ecdsa_from_der(algorithm, curve, bytes)?,
        _ => Signature::from_bytes(algorithm, bytes)?,
    };
    public
        .verify(&request.info.to_der()?, &signature)
        .map_err(|e| format!("the request's signature does not verify: {e}"))?;
    Ok(())
}

/// A positive 128-bit serial number, unique per subject, key and moment of issue.
fn serial_number(subject: &Name, spki_der: &[u8]) -> common::Result<SerialNumber> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos();
    let mut hash = Sha256::new();
    hash.update(subject.to_der()?);
    hash.update(spki_der);
    hash.update(now.to_be_bytes());
    hash.update(std::process::id().to_be_bytes());
    let mut bytes = [0_u8; 16];
    for (byte, hashed) in bytes.iter_mut().zip(hash.finalize()) {
        *byte = hashed;
    }
    bytes[0] = (bytes[0] & 0x7f) | 0x01; // positive, and no leading zero byte
    Ok(SerialNumber::new(&bytes)?)
}

fn spec_name(public: &PublicKey) -> String {
    public
        .spec()
        .map_or_else(|| format!("{:?}", public.key_type()), |s| s.to_string())
}
