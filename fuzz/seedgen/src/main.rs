//! Writes real inputs for the card targets into `fuzz/corpus/`: the answers of the hsm-sc
//! simulator to the `sc_card` session (recorded, then replayed by the target), and the files
//! and answers seen on the way (CV certificates and requests, PKCS#15 descriptions, wrapped-key
//! files, raw responses). Also real ECDSA signatures in the forms the N200 may send.
//!
//! Run it from `fuzz/`: `cargo run --manifest-path seedgen/Cargo.toml`. It only adds files.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use hsm_core::{Curve, KeyId, KeySpec, KeyStore, KeyTemplate, Result, SignAlgorithm, Signer};
use hsm_fuzz::script;
use hsm_fuzz::targets::sc_card::{self, ScriptedCard, USER_PIN};
use hsm_sc::protocol::files::{EF_DEVICE_CERTS, prefix};
use hsm_sc::sim::SimulatedCard;
use hsm_sc::transport::{CardChannel, MemoryChannel, Transmit};
use hsm_sc::{InitParams, ScClient, ScHsm, ShareFile, SoPin};
use secrecy::SecretString;

/// smartcard-hsm.md §17 vector 2: a share file written by OpenSC 0.23 `sc-hsm-tool`.
const OPENSC_SHARE: &str = "53616c7465645f5f60eda0a8ef2d8d876c401e6de50aa96032bc7c381e2957cef1c0bd574a59edd68ee3e8f3346e5ea5639dfb52651ba9ce96977017a2472261";

/// A channel to the simulator that keeps every answer.
#[derive(Debug)]
struct Recorder {
    inner: MemoryChannel,
    answers: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Transmit for Recorder {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>> {
        let answer = self.inner.transmit(command)?;
        self.answers
            .lock()
            .expect("recorder lock")
            .push(answer.clone());
        Ok(answer)
    }
}

impl CardChannel for Recorder {
    fn exclusive(&mut self, body: &mut dyn FnMut(&mut dyn Transmit) -> Result<()>) -> Result<()> {
        body(self)
    }
}

fn save(target: &str, name: &str, data: &[u8]) {
    let dir = PathBuf::from("corpus").join(target);
    fs::create_dir_all(&dir).expect("create the corpus directory");
    fs::write(dir.join(name), data).expect("write a seed");
    println!("{target}/{name}: {} bytes", data.len());
}

fn pin() -> SecretString {
    SecretString::from(USER_PIN)
}

/// Runs the `sc_card` session against `sim` and saves the answers as a seed.
fn record(sim: &SimulatedCard, name: &str) -> Vec<Vec<u8>> {
    let answers = Arc::new(Mutex::new(Vec::new()));
    let channel = Recorder {
        inner: MemoryChannel::new(sim.emulator()),
        answers: Arc::clone(&answers),
    };
    let hsm = ScHsm::new(ScClient::new(Box::new(channel)), Some(pin()))
        .expect("the simulator answers SELECT");
    sc_card::session(&hsm);
    drop(hsm);
    let answers = answers.lock().expect("recorder lock").clone();
    let seed = script::join(&answers);
    // The recorded conversation replays through the target, answer for answer.
    sc_card::run(&seed);
    let replay = ScHsm::new(
        ScClient::new(Box::new(ScriptedCard::new(answers.clone()))),
        Some(pin()),
    )
    .expect("the replay answers SELECT");
    sc_card::session(&replay);
    assert_eq!(
        replay.apdu_count().expect("count"),
        u64::try_from(answers.len()).expect("count"),
        "{name}: the replay asks for every recorded answer"
    );
    save("sc_card", name, &seed);
    answers
}

/// Every file on the card but the keys themselves.
fn dump_files(hsm: &ScHsm, tag: &str) {
    let files = hsm
        .with_card(|card| {
            card.run(|c| {
                let mut out = Vec::new();
                for f in c.list_files()? {
                    let [p, _] = f.to_be_bytes();
                    if p != prefix::KEY
                        && let Ok(data) = c.read_file(f)
                    {
                        out.push((f, data));
                    }
                }
                if !out.iter().any(|(f, _)| *f == EF_DEVICE_CERTS)
                    && let Ok(data) = c.read_file(EF_DEVICE_CERTS)
                {
                    out.push((EF_DEVICE_CERTS, data));
                }
                Ok(out)
            })
        })
        .expect("list and read the card's files");
    for (fid, data) in files {
        let name = format!("{tag}-{fid:04X}");
        match fid.to_be_bytes()[0] {
            prefix::PRKD | prefix::DCOD => save("sc_pkcs15", &name, &data),
            prefix::CERT => save("sc_cvc", &name, &data),
            _ if fid == EF_DEVICE_CERTS => save("sc_cvc", &format!("{tag}-2F02"), &data),
            _ => {}
        }
        if ![prefix::PUBLIC_DATA, prefix::PRIVATE_DATA].contains(&fid.to_be_bytes()[0]) {
            save("sc_tlv", &name, &data);
        }
    }
}

fn cards() {
    // A fresh card: no keys, no DKEK.
    let fresh = SimulatedCard::initialized().expect("simulator");
    let mut answers = record(&fresh, "empty-card");

    // A card with a DKEK, an EC and an RSA key, and a data object.
    let sim = SimulatedCard::initialized().expect("simulator");
    let hsm = ScHsm::new(ScClient::in_memory(sim.emulator()), Some(pin())).expect("open");
    hsm.initialize(&InitParams::new(SoPin::factory_default(), pin()).with_dkek_shares(1))
        .expect("initialise with one DKEK share");
    let share = ShareFile::from_bytes(hex::decode(OPENSC_SHARE).expect("hex")).expect("share");
    hsm.import_dkek_share(&share, &SecretString::from("testpassword"))
        .expect("import the OpenSC share");
    for (name, spec) in [
        ("ec-p256", KeySpec::Ec(Curve::P256)),
        ("ec-bp384", KeySpec::Ec(Curve::BrainpoolP384r1)),
        ("rsa-2048", KeySpec::rsa(2048).expect("RSA-2048")),
    ] {
        let id = KeyId::name(name).expect("key name");
        hsm.generate_key(&KeyTemplate::new(id.clone(), spec))
            .expect("generate");
        let alg = if matches!(spec, KeySpec::Ec(_)) {
            SignAlgorithm::EcdsaSha256
        } else {
            SignAlgorithm::RsaPkcs1Sha256
        };
        let sig = hsm.sign(&id, alg, b"seed").expect("sign");
        hsm.public_key(&id)
            .expect("public key")
            .verify(b"seed", &sig)
            .expect("verifies");
        let file = hsm.wrap_key(&id).expect("wrap");
        save("sc_files", &format!("wrapped-{name}"), &file.encode());
        save("sc_tlv", &format!("wrapped-{name}"), &file.encode());
    }
    hsm.write_data_object("seed-data", b"hello", false)
        .expect("data object");
    dump_files(&hsm, "sim");
    drop(hsm);
    let recorded = record(&sim, "keys-dkek-data");
    // The same conversation with the card pulled out half-way (a one-byte record).
    let mut removed = recorded.clone();
    removed.insert(recorded.len() / 2, vec![0]);
    save("sc_card", "keys-card-removed", &script::join(&removed));
    answers.extend(recorded);

    // A card whose user PIN was entered wrongly twice: the session meets 63C1.
    let locked = SimulatedCard::initialized().expect("simulator");
    let hsm = ScHsm::new(ScClient::in_memory(locked.emulator()), Some(pin())).expect("open");
    hsm.generate_key(&KeyTemplate::new(
        KeyId::name("k").expect("name"),
        KeySpec::Ec(Curve::P256),
    ))
    .expect("generate");
    drop(hsm);
    for _ in 0..2 {
        let wrong = ScHsm::new(
            ScClient::in_memory(locked.emulator()),
            Some(SecretString::from("000000")),
        )
        .expect("open");
        let _ = wrong.login();
    }
    answers.extend(record(&locked, "pin-tries-left"));

    save(
        "sc_files",
        "opensc-dkek-share.pbe",
        &hex::decode(OPENSC_SHARE).expect("hex"),
    );
    // Raw answers: the two shortest of each status word.
    let distinct: BTreeSet<(u16, usize, Vec<u8>)> = answers
        .into_iter()
        .filter_map(|a| {
            let sw = a
                .len()
                .checked_sub(2)
                .map(|n| u16::from_be_bytes([a[n], a[n + 1]]))?;
            Some((sw, a.len(), a))
        })
        .collect();
    let mut last = None;
    let mut count = 0;
    for (sw, _, a) in distinct {
        count = if last == Some(sw) { count + 1 } else { 0 };
        last = Some(sw);
        if count < 2 {
            save("sc_apdu", &format!("sw-{sw:04X}-{}", a.len()), &a);
        }
    }
}

/// ECDSA signatures in the four forms `sigformat` accepts, on P-256 and secp256k1.
fn signatures() {
    use p256::ecdsa::signature::Signer as _;
    let p = p256::ecdsa::SigningKey::from_slice(&[7; 32]).expect("P-256 key");
    let sig: p256::ecdsa::Signature = p.sign(b"seed");
    let curve_byte = |c: Curve| {
        u8::try_from(Curve::ALL.iter().position(|x| *x == c).expect("a curve")).expect("small")
    };
    let k = k256::ecdsa::SigningKey::from_slice(&[9; 32]).expect("secp256k1 key");
    let ksig: k256::ecdsa::Signature = k.sign(b"seed");
    let forms = [
        (
            "p256",
            curve_byte(Curve::P256),
            sig.to_der().as_bytes().to_vec(),
            sig.to_bytes().to_vec(),
        ),
        (
            "k256",
            curve_byte(Curve::Secp256k1),
            ksig.to_der().as_bytes().to_vec(),
            ksig.to_bytes().to_vec(),
        ),
    ];
    for (name, curve, der, raw) in forms {
        let b64 = |b: &[u8]| base64(b);
        for (form, text) in [
            ("der-hex", hex::encode(&der)),
            ("raw-hex", hex::encode_upper(&raw)),
            ("der-base64", b64(&der)),
            ("raw-base64", b64(&raw)),
        ] {
            let mut seed = vec![curve];
            seed.extend(text.as_bytes());
            save("n200_signature", &format!("{name}-{form}"), &seed);
        }
        let mut seed = vec![curve];
        seed.extend(&der);
        save("signature_der", &format!("{name}-signed.der"), &seed);
    }
}

/// Standard base64 with padding (no extra dependency for ten lines).
fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n =
            chunk.iter().fold(0u32, |acc, b| acc << 8 | u32::from(*b)) << (8 * (3 - chunk.len()));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(A[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn main() {
    assert!(
        Path::new("corpus").is_dir(),
        "run from fuzz/: cargo run --manifest-path seedgen/Cargo.toml"
    );
    signatures();
    cards();
}
