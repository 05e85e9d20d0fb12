//! A DNSSEC zone signer whose key lives on an HSM: reads a zone file, signs it with NLnet Labs'
//! `domain` crate (NSEC chain, RRSIG for every authoritative RRset, the DNSKEY RRset) through an
//! adapter from the HSM key to `domain`'s signing trait (`SignRaw`), and writes the signed zone.
//!
//! Algorithms: ECDSA P-256/SHA-256 (13, the default), ECDSA P-384/SHA-384 (14), RSA/SHA-256 (8)
//! and Ed25519 (15), whichever the backend and key can do. One combined signing key (flags 257,
//! a "CSK") signs everything. A progress bar counts signatures when stderr is a terminal.
//!
//! ```sh
//! cargo run --example dnssec_zone -- --uri n200+sim: --create --origin example.org. \
//!     --zone examples/data/example.org.zone --out example.org.signed
//! ldns-verify-zone example.org.signed
//! ```
#![allow(clippy::print_stdout, missing_docs)]

mod common;

use std::fmt::Write as _;
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use clap::{Parser, ValueEnum};
use domain::base::iana::{Class, SecurityAlgorithm};
use domain::base::name::FlattenInto as _;
use domain::base::zonefile_fmt::{DisplayKind, ZonefileFmt as _};
use domain::base::{Name, Record, Rtype};
use domain::crypto::sign::{SignError, SignRaw, Signature as DnsSignature};
use domain::dnssec::sign::SigningConfig;
use domain::dnssec::sign::keys::SigningKey;
use domain::dnssec::sign::records::{Rrset, SortedRecords};
use domain::dnssec::sign::signatures::rrsigs::sign_rrset;
use domain::dnssec::sign::traits::SignableZoneInPlace as _;
use domain::rdata::dnssec::Timestamp;
use domain::rdata::{Dnskey, ZoneRecordData};
use domain::zonefile::inplace::{Entry, Zonefile};
use hsm::{Curve, Hsm, KeyId, KeySpec, KeyTemplate, SignAlgorithm};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

type StoredName = Name<Bytes>;
type StoredData = ZoneRecordData<Bytes, StoredName>;
type StoredRecord = Record<StoredName, StoredData>;
type Zone = SortedRecords<StoredName, StoredData>;

/// DNSKEY flags of a key that signs the zone and is its secure entry point (ZONE | SEP).
const CSK_FLAGS: u16 = 257;

/// Sign a DNS zone with a key on an HSM.
#[derive(Parser)]
struct Args {
    #[command(flatten)]
    backend: common::BackendArg,
    /// The unsigned zone file (master file format, RFC 1035).
    #[arg(long)]
    zone: PathBuf,
    /// The zone's origin, for a file without `$ORIGIN` (e.g. `example.org.`).
    #[arg(long)]
    origin: Option<String>,
    /// The signing key on the HSM (`NAME` or `id:HEX`).
    #[arg(long, default_value = "dnssec-csk")]
    key: KeyId,
    /// Generate the key first (what a `+sim:` URI, which starts empty, needs).
    #[arg(long)]
    create: bool,
    /// The DNSSEC algorithm.
    #[arg(long, value_enum, default_value_t = Algorithm::Ecdsap256sha256)]
    algorithm: Algorithm,
    /// Days the signatures are valid (they start one hour in the past, for clock skew).
    #[arg(long, default_value_t = 14)]
    days: u32,
    /// Where to write the signed zone.
    #[arg(long)]
    out: PathBuf,
}

/// The DNSSEC algorithms (RFC 8624 numbers) this signer offers, and their HSM counterparts.
#[derive(Clone, Copy, ValueEnum)]
enum Algorithm {
    /// 8: RSA/SHA-256, RSASSA-PKCS1-v1_5 (RFC 5702), a 2048-bit key.
    Rsasha256,
    /// 13: ECDSA P-256 with SHA-256 (RFC 6605).
    Ecdsap256sha256,
    /// 14: ECDSA P-384 with SHA-384 (RFC 6605).
    Ecdsap384sha384,
    /// 15: Ed25519 (RFC 8080).
    Ed25519,
}

impl Algorithm {
    fn dnssec(self) -> SecurityAlgorithm {
        match self {
            Self::Rsasha256 => SecurityAlgorithm::RSASHA256,
            Self::Ecdsap256sha256 => SecurityAlgorithm::ECDSAP256SHA256,
            Self::Ecdsap384sha384 => SecurityAlgorithm::ECDSAP384SHA384,
            Self::Ed25519 => SecurityAlgorithm::ED25519,
        }
    }

    /// The name and number, as in a DNSKEY record's presentation: `ECDSAP256SHA256 (13)`.
    fn label(self) -> String {
        let algorithm = self.dnssec();
        format!(
            "{} ({})",
            algorithm.to_mnemonic_str().unwrap_or("?"),
            algorithm.to_int()
        )
    }

    fn hsm(self) -> SignAlgorithm {
        match self {
            Self::Rsasha256 => SignAlgorithm::RsaPkcs1Sha256,
            Self::Ecdsap256sha256 => SignAlgorithm::EcdsaSha256,
            Self::Ecdsap384sha384 => SignAlgorithm::EcdsaSha384,
            Self::Ed25519 => SignAlgorithm::Ed25519,
        }
    }

    fn key_spec(self) -> KeySpec {
        match self {
            Self::Rsasha256 => KeySpec::Rsa2048,
            Self::Ecdsap256sha256 => KeySpec::Ec(Curve::P256),
            Self::Ecdsap384sha384 => KeySpec::Ec(Curve::P384),
            Self::Ed25519 => KeySpec::Ed25519,
        }
    }
}

/// An HSM key as `domain`'s raw signer: each `sign_raw` is one signature on the HSM.
///
/// `SignRaw` reports failures as an opaque `SignError`; the HSM's own error is kept here so that
/// the program can print it.
struct HsmZoneKey {
    hsm: Arc<dyn Hsm>,
    key: KeyId,
    algorithm: Algorithm,
    dnskey: Dnskey<Vec<u8>>,
    progress: ProgressBar,
    failure: Mutex<Option<hsm::Error>>,
}

impl std::fmt::Debug for HsmZoneKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HsmZoneKey")
            .field("backend", &self.hsm.backend())
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl HsmZoneKey {
    fn new(
        hsm: Arc<dyn Hsm>,
        key: KeyId,
        algorithm: Algorithm,
        progress: ProgressBar,
    ) -> common::Result<Self> {
        let public_key = hsm.public_key(&key)?;
        let dnskey = Dnskey::new(
            CSK_FLAGS,
            3,
            algorithm.dnssec(),
            dnskey_public_key(algorithm, &public_key)?,
        )?;
        Ok(Self {
            hsm,
            key,
            algorithm,
            dnskey,
            progress,
            failure: Mutex::new(None),
        })
    }

    /// The HSM error behind a `SignError`, if one was kept.
    fn take_failure(&self) -> Option<hsm::Error> {
        self.failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

/// The DNSKEY public key field for the key: RFC 3110 for RSA (exponent length, exponent,
/// modulus), RFC 6605 for ECDSA (x || y, without SEC1's 0x04), RFC 8080 for Ed25519 (32 bytes).
fn dnskey_public_key(algorithm: Algorithm, public_key: &hsm::PublicKey) -> common::Result<Vec<u8>> {
    let wrong = || {
        format!(
            "the key is {:?}, which does not fit {}",
            public_key.spec(),
            algorithm.label()
        )
    };
    match algorithm {
        Algorithm::Rsasha256 => {
            let (modulus, exponent) = public_key.rsa_components().ok_or_else(wrong)?;
            let mut out = Vec::with_capacity(3 + exponent.len() + modulus.len());
            match u8::try_from(exponent.len()) {
                Ok(len) => out.push(len),
                Err(_) => {
                    out.push(0);
                    out.extend_from_slice(&u16::try_from(exponent.len())?.to_be_bytes());
                }
            }
            out.extend_from_slice(&exponent);
            out.extend_from_slice(&modulus);
            Ok(out)
        }
        Algorithm::Ecdsap256sha256 | Algorithm::Ecdsap384sha384 => {
            let curve = match algorithm {
                Algorithm::Ecdsap384sha384 => Curve::P384,
                _ => Curve::P256,
            };
            if public_key.curve() != Some(curve) {
                return Err(wrong().into());
            }
            let point = public_key.ec_point().ok_or_else(wrong)?;
            match point.split_first() {
                Some((0x04, xy)) => Ok(xy.to_vec()),
                _ => Err("the HSM's EC public key is not an uncompressed point".into()),
            }
        }
        Algorithm::Ed25519 => Ok(public_key.ed25519_bytes().ok_or_else(wrong)?.to_vec()),
    }
}

impl SignRaw for HsmZoneKey {
    fn algorithm(&self) -> SecurityAlgorithm {
        self.algorithm.dnssec()
    }

    fn dnskey(&self) -> Dnskey<Vec<u8>> {
        self.dnskey.clone()
    }

    fn sign_raw(&self, data: &[u8]) -> Result<DnsSignature, SignError> {
        let signed = self.hsm.sign(&self.key, self.algorithm.hsm(), data);
        self.progress.inc(1);
        let signature = signed.map_err(|e| {
            *self.failure.lock().unwrap_or_else(PoisonError::into_inner) = Some(e);
            SignError
        })?;
        // The HSM answers ECDSA as r || s at the curve's size (checked by hsm-core), which is
        // exactly the DNSSEC form; RSA and Ed25519 are their plain bytes.
        let raw = signature.as_raw();
        Ok(match self.algorithm {
            Algorithm::Rsasha256 => DnsSignature::RsaSha256(raw.into()),
            Algorithm::Ecdsap256sha256 => {
                DnsSignature::EcdsaP256Sha256(Box::new(raw.try_into().map_err(|_| SignError)?))
            }
            Algorithm::Ecdsap384sha384 => {
                DnsSignature::EcdsaP384Sha384(Box::new(raw.try_into().map_err(|_| SignError)?))
            }
            Algorithm::Ed25519 => {
                DnsSignature::Ed25519(Box::new(raw.try_into().map_err(|_| SignError)?))
            }
        })
    }
}

fn main() -> ExitCode {
    common::main(run)
}

fn run(args: Args) -> common::Result {
    let hsm: Arc<dyn Hsm> = Arc::from(args.backend.open()?);
    if args.create {
        hsm.generate_key(&KeyTemplate::new(
            args.key.clone(),
            args.algorithm.key_spec(),
        ))?;
    }

    let (apex, mut records) = read_zone(&args.zone, args.origin.as_deref())?;
    let rrsets = records.rrsets().count();
    let owners = records.owner_rrs().count();

    // Signatures to make, about: one per RRset and per NSEC (one per name), and the DNSKEY RRset.
    let progress = progress_bar((rrsets + owners + 1) as u64);
    let zone_key = HsmZoneKey::new(Arc::clone(&hsm), args.key.clone(), args.algorithm, progress)?;
    let dnskey = zone_key.dnskey.clone();
    let key_tag = dnskey.key_tag();
    let signing_key = SigningKey::new(apex.clone(), CSK_FLAGS, zone_key);

    let now = u32::try_from(SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs())?;
    let inception = Timestamp::from(now.saturating_sub(3600));
    let expiration = Timestamp::from(now.saturating_add(args.days.saturating_mul(86_400)));
    let config: SigningConfig<Bytes, _> =
        SigningConfig::new(Default::default(), inception, expiration);

    let started = Instant::now();
    // NSEC records (their apex bitmap names DNSKEY, added below) and an RRSIG for every
    // authoritative RRset.
    records
        .sign_zone(&apex, &config, &[&signing_key])
        .map_err(|e| signing_failed(&signing_key, &e))?;

    // The DNSKEY RRset, with the apex SOA's TTL, signed by the same key.
    let ttl = records
        .find_soa()
        .map(|soa| soa.ttl())
        .ok_or("the zone has no SOA record at its apex")?;
    let dnskey_record: StoredRecord = Record::new(
        apex.clone(),
        Class::IN,
        ttl,
        ZoneRecordData::Dnskey(Dnskey::new(
            dnskey.flags(),
            dnskey.protocol(),
            dnskey.algorithm(),
            Bytes::from(dnskey.public_key().clone()),
        )?),
    );
    let dnskey_rrsig = {
        let records = [&dnskey_record];
        let rrset = Rrset::new_from_refs(&records).map_err(|_| "empty DNSKEY RRset")?;
        sign_rrset(&signing_key, &rrset, inception, expiration)
            .map_err(|e| signing_failed(&signing_key, &e))?
    };
    records
        .insert(dnskey_record)
        .map_err(|_| "the zone already has this DNSKEY")?;
    records
        .insert(Record::new(
            dnskey_rrsig.owner().clone(),
            dnskey_rrsig.class(),
            dnskey_rrsig.ttl(),
            ZoneRecordData::Rrsig(dnskey_rrsig.data().clone()),
        ))
        .map_err(|_| "the zone already has this DNSKEY signature")?;
    let elapsed = started.elapsed();
    let signing_key_progress = &signing_key.raw_secret_key().progress;
    let signatures = signing_key_progress.position();
    signing_key_progress.set_length(signatures);
    signing_key_progress.finish_and_clear();

    write_zone(&args.out, &records)?;
    let rate = signatures as f64 / elapsed.as_secs_f64().max(f64::EPSILON);
    println!(
        "signed {apex} ({rrsets} RRsets, {owners} names) with {} key {} on {} (key tag {key_tag}): \
         {signatures} signatures in {:.2} s ({rate:.1}/s); wrote {}",
        args.algorithm.label(),
        args.key,
        hsm.backend(),
        elapsed.as_secs_f64(),
        args.out.display()
    );
    Ok(())
}

/// The error to print when `domain` reports a failed signing: the HSM's, when there was one.
fn signing_failed(
    key: &SigningKey<Bytes, HsmZoneKey>,
    error: &dyn std::fmt::Display,
) -> Box<dyn std::error::Error> {
    key.raw_secret_key().progress.abandon();
    match key.raw_secret_key().take_failure() {
        Some(e) => Box::new(e),
        None => format!("signing the zone failed: {error}").into(),
    }
}

/// A progress bar on stderr, hidden when stderr is not a terminal (CI logs, pipes).
fn progress_bar(length: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(length), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} signing [{bar:40}] {pos}/{len} signatures, {per_sec}, eta {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// Reads an unsigned zone: its apex (the SOA's owner) and its records in DNSSEC order.
fn read_zone(path: &Path, origin: Option<&str>) -> common::Result<(StoredName, Zone)> {
    let mut file = std::fs::File::open(path)
        .map_err(|e| format!("cannot open the zone file {}: {e}", path.display()))?;
    let mut zonefile = Zonefile::load(&mut file)?;
    if let Some(origin) = origin {
        zonefile.set_origin(
            origin
                .parse::<StoredName>()
                .map_err(|e| format!("--origin {origin:?} is not a domain name: {e}"))?,
        );
    }
    zonefile.set_default_class(Class::IN);
    let mut records = SortedRecords::default();
    while let Some(entry) = zonefile
        .next_entry()
        .map_err(|e| format!("{}: {e}", path.display()))?
    {
        match entry {
            Entry::Record(record) => {
                let record: StoredRecord = record
                    .try_flatten_into()
                    .map_err(|_| "a name in the zone file is too long")?;
                if matches!(
                    record.rtype(),
                    Rtype::DNSKEY | Rtype::RRSIG | Rtype::NSEC | Rtype::NSEC3 | Rtype::NSEC3PARAM
                ) {
                    return Err(format!(
                        "the zone is signed already ({} record at {}); give an unsigned zone",
                        record.rtype(),
                        record.owner()
                    )
                    .into());
                }
                // Duplicates are dropped, as a name server would.
                let _ = records.insert(record);
            }
            Entry::Include { .. } => {
                return Err("$INCLUDE is not supported by this example".into());
            }
        }
    }
    let apex = records
        .find_soa()
        .map(|soa| soa.owner().clone())
        .ok_or("the zone has no SOA record")?;
    Ok((apex, records))
}

/// Writes the signed zone, SOA first, one record per line, in `domain`'s zone file format (which
/// writes every name absolute, with its final dot).
fn write_zone(path: &Path, records: &Zone) -> common::Result {
    let mut text = String::new();
    let soa_first = records
        .iter()
        .filter(|r| r.rtype() == Rtype::SOA)
        .chain(records.iter().filter(|r| r.rtype() != Rtype::SOA));
    for record in soa_first {
        writeln!(text, "{}", record.display_zonefile(DisplayKind::Simple))?;
    }
    std::fs::write(path, text)?;
    Ok(())
}
