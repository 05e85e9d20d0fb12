//! What the backend sends to the card for a signature, and what it makes of the card's answer:
//! the in-process simulator behind a card that records every command and can replace the
//! answer to SIGN. RSA signatures are checked by the `openssl` CLI, secp256k1 ones by `k256`
//! (through `PublicKey::verify`).

#![cfg(feature = "sim")]

use std::sync::{Arc, Mutex};

use hsm_core::{
    Curve, DeviceStatus, ErrorKind, KeyId, KeySpec, KeyStore, KeyTemplate, SignAlgorithm, Signer,
};
use hsm_sc::protocol::apdu::Apdu;
use hsm_sc::sim::{ATR, DEFAULT_USER_PIN, SimulatedCard};
use hsm_sc::transport::CardEmulator;
use hsm_sc::{ScClient, ScHsm};
use openssl::bn::BigNum;
use secrecy::SecretString;
use sha2::Digest;

/// Rewrites the card's whole answer (`data || SW`) to a SIGN command.
type Rewrite = Box<dyn FnMut(Vec<u8>) -> Vec<u8> + Send>;

/// The simulator, with every command recorded and SIGN answers optionally rewritten.
struct ScriptedCard {
    sim: SimulatedCard,
    commands: Arc<Mutex<Vec<Vec<u8>>>>,
    sign_answer: Arc<Mutex<Option<Rewrite>>>,
}

impl CardEmulator for ScriptedCard {
    fn process(&mut self, command: &[u8]) -> Vec<u8> {
        self.commands.lock().unwrap().push(command.to_vec());
        let answer = self.sim.process(command).unwrap();
        match (command.get(..2), self.sign_answer.lock().unwrap().as_mut()) {
            (Some([0x80, 0x68]), Some(rewrite)) => rewrite(answer),
            _ => answer,
        }
    }

    fn reset(&mut self) {
        self.sim.power_cycle().unwrap();
    }

    fn atr(&self) -> Vec<u8> {
        ATR.to_vec()
    }
}

struct Harness {
    hsm: ScHsm,
    commands: Arc<Mutex<Vec<Vec<u8>>>>,
    sign_answer: Arc<Mutex<Option<Rewrite>>>,
}

impl Harness {
    fn new() -> Self {
        let commands = Arc::new(Mutex::new(Vec::new()));
        let sign_answer = Arc::new(Mutex::new(None));
        let card: Arc<Mutex<dyn CardEmulator>> = Arc::new(Mutex::new(ScriptedCard {
            sim: SimulatedCard::initialized().unwrap(),
            commands: commands.clone(),
            sign_answer: sign_answer.clone(),
        }));
        let hsm = ScHsm::new(
            ScClient::in_memory(card),
            Some(SecretString::from(DEFAULT_USER_PIN)),
        )
        .unwrap();
        Self {
            hsm,
            commands,
            sign_answer,
        }
    }

    fn key(&self, name: &str, spec: KeySpec) -> KeyId {
        let id = KeyId::name(name).unwrap();
        self.hsm
            .generate_key(&KeyTemplate::new(id.clone(), spec))
            .unwrap();
        id
    }

    fn key_ref(&self, id: &KeyId) -> u8 {
        self.hsm.key_info(id).unwrap().extras["key_ref"]
            .parse()
            .unwrap()
    }

    /// The SIGN commands sent since the last call.
    fn take_sign_commands(&self) -> Vec<Vec<u8>> {
        std::mem::take(&mut *self.commands.lock().unwrap())
            .into_iter()
            .filter(|c| c.starts_with(&[0x80, 0x68]))
            .collect()
    }

    fn answer_sign_with(&self, rewrite: impl FnMut(Vec<u8>) -> Vec<u8> + Send + 'static) {
        *self.sign_answer.lock().unwrap() = Some(Box::new(rewrite));
    }

    /// Sends one raw SIGN (logged in) and returns the status word and the data.
    fn raw_sign(&self, key_ref: u8, algorithm: u8, input: &[u8]) -> (u16, Vec<u8>) {
        self.hsm.login().unwrap();
        let apdu = Apdu::new(0x80, 0x68, key_ref, algorithm)
            .with_data(input.to_vec())
            .expect(512)
            .force_extended();
        let r = self
            .hsm
            .with_card(|c| c.run(|c| c.transmit(&apdu, "sc-hsm.test")))
            .unwrap();
        (r.sw().0, r.data().to_vec())
    }
}

/// `SIGN` as an extended case-4 APDU: (P1, P2, data).
fn split_sign(apdu: &[u8]) -> (u8, u8, &[u8]) {
    assert_eq!(&apdu[..2], &[0x80, 0x68]);
    assert_eq!(apdu[4], 0x00, "extended length");
    let lc = usize::from(u16::from_be_bytes([apdu[5], apdu[6]]));
    let data = &apdu[7..7 + lc];
    assert_eq!(apdu.len(), 7 + lc + 2, "Le follows the data");
    (apdu[2], apdu[3], data)
}

/// The DigestInfo DER prefixes of RFC 8017 §9.2 note 1.
fn digest_info(alg: SignAlgorithm, message: &[u8]) -> Vec<u8> {
    let (prefix, digest) = match alg {
        SignAlgorithm::RsaPkcs1Sha256 => (
            "3031300d060960864801650304020105000420",
            sha2::Sha256::digest(message).to_vec(),
        ),
        SignAlgorithm::RsaPkcs1Sha384 => (
            "3041300d060960864801650304020205000430",
            sha2::Sha384::digest(message).to_vec(),
        ),
        SignAlgorithm::RsaPkcs1Sha512 => (
            "3051300d060960864801650304020305000440",
            sha2::Sha512::digest(message).to_vec(),
        ),
        other => panic!("{other} is not PKCS#1 v1.5"),
    };
    let mut out = hex::decode(prefix).unwrap();
    out.extend(digest);
    out
}

fn openssl_verifies(pem: &str, hash: &str, message: &[u8], signature: &[u8]) {
    hsm_testkit::cli::openssl_verify(pem, &format!("-{hash}"), message, signature, &[]);
}

#[test]
fn rsa_pkcs1_is_plain_rsa_over_a_block_built_on_the_host() {
    let h = Harness::new();
    let message = b"PKCS#1 v1.5 the way OpenSC signs";
    for (name, spec, bytes, algorithms) in [
        (
            "rsa2048",
            KeySpec::Rsa2048,
            256,
            &[
                (SignAlgorithm::RsaPkcs1Sha256, "sha256"),
                (SignAlgorithm::RsaPkcs1Sha384, "sha384"),
                (SignAlgorithm::RsaPkcs1Sha512, "sha512"),
            ][..],
        ),
        (
            "rsa3072",
            KeySpec::Rsa3072,
            384,
            &[(SignAlgorithm::RsaPkcs1Sha384, "sha384")][..],
        ),
        (
            "rsa4096",
            KeySpec::Rsa4096,
            512,
            &[(SignAlgorithm::RsaPkcs1Sha512, "sha512")][..],
        ),
    ] {
        let id = h.key(name, spec);
        let key_ref = h.key_ref(&id);
        let pem = h.hsm.public_key(&id).unwrap().to_pem();
        for &(alg, hash) in algorithms {
            let _ = h.take_sign_commands();
            let sig = h.hsm.sign(&id, alg, message).unwrap();
            let sent = h.take_sign_commands();
            assert_eq!(sent.len(), 1, "{name} {alg}: one SIGN");
            let (p1, p2, block) = split_sign(&sent[0]);
            assert_eq!(p1, key_ref);
            assert_eq!(p2, 0x20, "{name} {alg}: plain RSA, not 0x30");
            let di = digest_info(alg, message);
            let mut expected = vec![0x00, 0x01];
            expected.resize(bytes - di.len() - 1, 0xFF);
            expected.push(0x00);
            expected.extend(&di);
            assert_eq!(block.len(), bytes, "{name} {alg}: a modulus-length block");
            assert_eq!(hex::encode(block), hex::encode(&expected), "{name} {alg}");
            assert_eq!(sig.as_raw().len(), bytes);
            openssl_verifies(&pem, hash, message, sig.as_raw());
            h.hsm
                .public_key(&id)
                .unwrap()
                .verify(message, &sig)
                .unwrap();
            // a signature over another message does not verify (and says so)
            let e = h
                .hsm
                .public_key(&id)
                .unwrap()
                .verify(b"another message", &sig)
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::VerificationFailed, "{e}");
        }
    }
}

/// The simulator's plain RSA (algorithm 0x20) takes exactly a modulus-length block below the
/// modulus, and the documented 0x30 (the card pads a DigestInfo) gives the same signature as
/// 0x20 over the block the backend builds.
#[test]
fn the_simulated_card_checks_plain_rsa_input_and_still_pads_a_digest_info() {
    let h = Harness::new();
    let id = h.key("rsa", KeySpec::Rsa2048);
    let key_ref = h.key_ref(&id);
    let (n, _) = h.hsm.public_key(&id).unwrap().rsa_components().unwrap();
    let n: Vec<u8> = n.into_iter().skip_while(|&b| b == 0).collect();
    assert_eq!(n.len(), 256);
    let n_minus_1 = {
        let mut v = BigNum::from_slice(&n).unwrap();
        v.sub_word(1).unwrap();
        v.to_vec_padded(256).unwrap()
    };

    assert_eq!(h.raw_sign(key_ref, 0x20, &[0x01; 255]).0, 0x6700);
    assert_eq!(h.raw_sign(key_ref, 0x20, &[0x01; 257]).0, 0x6700);
    assert_eq!(h.raw_sign(key_ref, 0x20, &n).0, 0x6400);
    assert_eq!(h.raw_sign(key_ref, 0x20, &[0xFF; 256]).0, 0x6400);
    let (sw, out) = h.raw_sign(key_ref, 0x20, &n_minus_1);
    assert_eq!((sw, out.len()), (0x9000, 256));

    let message = b"0x30 and 0x20 agree";
    let sig = h
        .hsm
        .sign(&id, SignAlgorithm::RsaPkcs1Sha256, message)
        .unwrap();
    let (sw, padded_by_card) = h.raw_sign(
        key_ref,
        0x30,
        &digest_info(SignAlgorithm::RsaPkcs1Sha256, message),
    );
    assert_eq!(sw, 0x9000);
    assert_eq!(padded_by_card, sig.as_raw(), "PKCS#1 v1.5 is deterministic");

    // the backend's error for a card that refuses: the word in hex and its name, never decimal
    h.answer_sign_with(|_| vec![0x64, 0x00]);
    let e = h
        .hsm
        .sign(&id, SignAlgorithm::RsaPkcs1Sha256, message)
        .unwrap_err();
    let shown = e.to_string();
    assert_eq!(e.kind(), ErrorKind::Device);
    assert_eq!(e.operation(), "sc-hsm.sign");
    assert_eq!(e.status(), Some(&DeviceStatus::StatusWord(0x6400)));
    assert!(shown.contains("SW 6400"), "{shown}");
    assert!(shown.contains("execution error"), "{shown}");
    assert!(!shown.contains("25600"), "{shown}");
}

/// DER `SEQUENCE { INTEGER r, INTEGER s }` with short lengths (curves up to 256 bits).
fn der_signature(r: &[u8], s: &[u8]) -> Vec<u8> {
    let int = |v: &[u8]| {
        let v: Vec<u8> = v.iter().copied().skip_while(|&b| b == 0).collect();
        let mut body = if v.first().is_some_and(|&b| b & 0x80 != 0) {
            vec![0]
        } else {
            Vec::new()
        };
        body.extend(v);
        let mut out = vec![0x02, u8::try_from(body.len()).unwrap()];
        out.extend(body);
        out
    };
    let mut body = int(r);
    body.extend(int(s));
    let mut out = vec![0x30, u8::try_from(body.len()).unwrap()];
    out.extend(body);
    out
}

/// (r, s) of a DER signature with short lengths.
fn der_parts(der: &[u8]) -> (Vec<u8>, Vec<u8>) {
    assert_eq!(der[0], 0x30);
    let rl = usize::from(der[3]);
    let r = der[4..4 + rl].to_vec();
    let sl = usize::from(der[5 + rl]);
    let s = der[6 + rl..6 + rl + sl].to_vec();
    (r, s)
}

fn with_sw(mut data: Vec<u8>) -> Vec<u8> {
    data.extend([0x90, 0x00]);
    data
}

#[test]
fn ecdsa_answers_with_r_or_s_not_below_the_order_are_protocol_errors() {
    let h = Harness::new();
    for (name, curve) in [("k1", Curve::Secp256k1), ("p256", Curve::P256)] {
        let id = h.key(name, KeySpec::Ec(curve));
        let n = curve.order().to_vec();
        let n_plus_1 = {
            let mut v = BigNum::from_slice(&n).unwrap();
            v.add_word(1).unwrap();
            v.to_vec()
        };
        for (what, r, s) in [
            ("s = n", vec![1u8], n.clone()),
            ("s = n + 1", vec![1u8], n_plus_1.clone()),
            ("r = n", n.clone(), vec![1u8]),
            ("r = 0", vec![0u8], vec![1u8]),
        ] {
            let answer = with_sw(der_signature(&r, &s));
            h.answer_sign_with(move |_| answer.clone());
            let e = h
                .hsm
                .sign(&id, SignAlgorithm::EcdsaSha256, b"m")
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Protocol, "{name} {what}: {e}");
            assert_eq!(e.operation(), "sc-hsm.sign", "{name} {what}");
        }
        *h.sign_answer.lock().unwrap() = None;
    }
}

#[test]
fn a_high_s_secp256k1_answer_comes_back_low_s_and_verifies_with_k256() {
    let h = Harness::new();
    let id = h.key("k1", KeySpec::Ec(Curve::Secp256k1));
    let n = BigNum::from_slice(Curve::Secp256k1.order()).unwrap();
    let half = {
        let mut v = BigNum::new().unwrap();
        v.rshift1(&n).unwrap();
        v
    };
    // the card's real signature, turned into its high-S twin (s -> n - s when s is low)
    let original = Arc::new(Mutex::new(None));
    let seen = original.clone();
    let order = BigNum::from_slice(Curve::Secp256k1.order()).unwrap();
    h.answer_sign_with(move |answer| {
        let (data, sw) = answer.split_at(answer.len() - 2);
        assert_eq!(sw, [0x90, 0x00]);
        let (r, s) = der_parts(data);
        let s_num = BigNum::from_slice(&s).unwrap();
        let high = if s_num > half {
            s_num
        } else {
            let mut v = BigNum::new().unwrap();
            v.checked_sub(&order, &s_num).unwrap();
            v
        };
        *seen.lock().unwrap() = Some((r.clone(), high.to_vec()));
        with_sw(der_signature(&r, &high.to_vec()))
    });
    let pk = h.hsm.public_key(&id).unwrap();
    for i in 0..4 {
        let message = format!("high S {i}");
        let sig = h
            .hsm
            .sign(&id, SignAlgorithm::EcdsaSha256, message.as_bytes())
            .unwrap();
        let (r, high_s) = original.lock().unwrap().take().unwrap();
        assert_eq!(sig.is_low_s(), Some(true));
        let raw = sig.to_raw();
        let low_s = {
            let mut v = BigNum::new().unwrap();
            v.checked_sub(&n, &BigNum::from_slice(&high_s).unwrap())
                .unwrap();
            v.to_vec_padded(32).unwrap()
        };
        assert_eq!(
            BigNum::from_slice(&raw[..32]).unwrap(),
            BigNum::from_slice(&r).unwrap()
        );
        assert_eq!(&raw[32..], low_s.as_slice(), "s replaced by n - s");
        pk.verify(message.as_bytes(), &sig).unwrap();
    }
}
