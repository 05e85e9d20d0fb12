//! Faults on loopback, bounded in time: a hostile scripted server checks the client's policy
//! request by request (statuses, resets, truncated, slow, oversized and mistyped answers,
//! silence), and the simulator with injected faults checks it end to end with real keys
//! (answers lost after the device acted are settled by asking, never by sending twice).
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::hostile::{Hostile, Step};
use common::p256_key;
use hsm_core::secret::SecretString;
use hsm_core::testkit::sign_and_verify;
use hsm_core::{
    Curve, ErrorKind, KeyId, KeySpec, KeyStore as _, KeyTemplate, SignAlgorithm, Signer as _,
};
use hsm_n200::sim::{Fault, SimConfig, Simulator};
use hsm_n200::{MAX_RESPONSE_BYTES, N200, RawResponse};

const BUDGET: Duration = Duration::from_millis(1500);
/// Scheduling slack on a loaded 2-core machine.
const SLACK: Duration = Duration::from_millis(1500);

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn raw(e: &hsm_core::Error) -> &RawResponse {
    std::error::Error::source(e)
        .and_then(|s| s.downcast_ref::<RawResponse>())
        .unwrap_or_else(|| panic!("no raw answer kept in {e:?}"))
}

const TIMESTAMP: &str = r#"{"command":"timestamp","result":"1664657599"}"#;

fn attributes(key_type: &str, len: u32) -> String {
    format!(
        r#"{{"command":"getkeyattributes","result":{{"hsm010123F13C56131E1EEE0000000000000031":{{"key_id":"hsm010123F13C56131E1EEE0000000000000031","key_type":"{key_type}","key_len":{len},"key_acl":"FFFF","key_owner":"pkmaster","nice_name":"k"}}}}}}"#
    )
}

const NOT_FOUND: &str =
    r#"{"command":"getkeyattributes","result":"ERROR","error":"key not found"}"#;

/// A real P-256 signature (raw r||s hex) over `digest`.
fn p256_signature(digest: &[u8; 32]) -> String {
    use p256::ecdsa::signature::hazmat::PrehashSigner as _;
    let key = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
    let sig: p256::ecdsa::Signature = key.sign_prehash(digest).unwrap();
    hex::encode_upper(sig.to_bytes())
}

#[test]
fn silence_and_slow_bodies_end_within_the_budget_and_are_not_repeated() {
    let server = Hostile::start();
    let rt = rt();
    let client = server.client("pw-1", BUDGET);
    for step in [Step::Stall, Step::SlowBody] {
        server.script([step.clone(), Step::ok(TIMESTAMP)]);
        let start = Instant::now();
        let e = rt.block_on(client.timestamp()).unwrap_err();
        let took = start.elapsed();
        assert_eq!(e.kind(), ErrorKind::Timeout, "{step:?}: {e}");
        assert!(
            took >= BUDGET - Duration::from_millis(50),
            "{step:?} {took:?}"
        );
        assert!(took < BUDGET + SLACK, "{step:?} took {took:?}");
        // The budget is spent: no second attempt, even for a read.
        assert_eq!(server.seen(), ["timestamp"], "{step:?}");
    }
    // A creation: same bound, plus one bounded existence check.
    server.script([Step::Stall, Step::Stall]);
    let start = Instant::now();
    let e = rt
        .block_on(client.gen_ecc_key(Curve::P256, "k", &SecretString::from("p"), "FFFF"))
        .unwrap_err();
    assert!(
        start.elapsed() < 2 * BUDGET + SLACK,
        "{:?}",
        start.elapsed()
    );
    assert_eq!(e.kind(), ErrorKind::Timeout);
    assert!(e.to_string().contains("could not be checked"), "{e}");
    assert_eq!(server.seen(), ["genecckey", "getkeyattributes"]);
}

#[test]
fn reads_and_signatures_are_repeated_after_5xx_resets_and_broken_answers() {
    let server = Hostile::start();
    let rt = rt();
    let client = server.client("pw-1", Duration::from_secs(10));
    server.script([Step::status(503), Step::Reset, Step::ok(TIMESTAMP)]);
    assert_eq!(
        rt.block_on(client.timestamp()).unwrap().unix_seconds,
        1_664_657_599
    );
    assert_eq!(server.seen(), ["timestamp"; 3]);

    server.script([Step::Truncated, Step::status(429), Step::ok(TIMESTAMP)]);
    assert!(rt.block_on(client.get_api().timestamp()).is_ok());
    assert_eq!(server.seen(), ["timestamp"; 3]);

    let digest = [3u8; 32];
    let sig = format!(
        r#"{{"command":"signecc","core":1,"result":"{}"}}"#,
        p256_signature(&digest)
    );
    server.script([Step::status(500), Step::status(502), Step::ok(sig)]);
    let signature = rt
        .block_on(client.sign_ecc(
            "k",
            &SecretString::from("p"),
            Curve::P256,
            SignAlgorithm::EcdsaPrehashed,
            &digest,
        ))
        .unwrap();
    assert_eq!(signature.as_raw().len(), 64);
    assert_eq!(server.seen(), ["signecc"; 3]);

    // Retries run out: 1 + 2 attempts, then the last error, with its raw answer.
    server.script([Step::status(500), Step::status(503), Step::status(500)]);
    let e = rt.block_on(client.get_random(4)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Device);
    assert_eq!(raw(&e).status(), 500);
    assert!(raw(&e).body().contains("scripted 500"));
    assert_eq!(server.seen(), ["getrandom"; 3]);

    // No repeats when asked for none.
    let once = server.builder("pw-1").retries(0).build().unwrap();
    server.script([Step::status(503), Step::ok(TIMESTAMP)]);
    assert_eq!(
        rt.block_on(once.timestamp()).unwrap_err().kind(),
        ErrorKind::Unavailable
    );
    assert_eq!(server.seen(), ["timestamp"]);
}

#[test]
fn refusals_and_bad_answers_are_final() {
    let server = Hostile::start();
    let rt = rt();
    let client = server.client("pw-1", Duration::from_secs(10));
    // A wrong password is never retried.
    server.script([Step::status(401), Step::ok(TIMESTAMP)]);
    assert!(rt.block_on(client.timestamp()).unwrap_err().is_auth());
    assert_eq!(server.seen(), ["timestamp"]);
    server.script([Step::status(404), Step::ok(TIMESTAMP)]);
    assert!(rt.block_on(client.timestamp()).unwrap_err().is_not_found());
    assert_eq!(server.seen(), ["timestamp"]);

    // Wrong content type with HTML, invalid JSON, truncated JSON: protocol errors keeping the
    // raw body, not repeated.
    for (step, body) in [
        (
            Step::Typed("text/html", "<html>proxy login</html>"),
            "<html>proxy login</html>",
        ),
        (
            Step::Typed("application/json", r#"{"result": "#),
            r#"{"result": "#,
        ),
        (Step::Typed("application/json", "[1,2,3]"), "[1,2,3]"),
    ] {
        server.script([step.clone(), Step::ok(TIMESTAMP)]);
        let e = rt.block_on(client.timestamp()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Protocol, "{step:?}");
        assert_eq!(raw(&e).body(), body);
        assert_eq!(server.seen(), ["timestamp"], "{step:?}");
    }
    // The N200's content type is not public: JSON is taken as JSON whatever the header says.
    server.script([Step::Typed("text/plain", TIMESTAMP)]);
    assert!(rt.block_on(client.timestamp()).is_ok());
    // JSON without the field the command is for.
    server.script([Step::ok(r#"{"command":"getrandom","core":1}"#)]);
    let e = rt.block_on(client.get_random(4)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Protocol);
    assert!(raw(&e).body().contains("getrandom"));
}

#[test]
fn oversized_answers_are_cut_off_at_the_limit() {
    let server = Hostile::start();
    let rt = rt();
    let client = server.client("pw-1", Duration::from_secs(20));
    let big = MAX_RESPONSE_BYTES + 1;
    server.script([Step::Announced(64 << 20), Step::ok(TIMESTAMP)]);
    let e = rt.block_on(client.timestamp()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Protocol);
    assert!(e.to_string().contains("announces"), "{e}");
    assert_eq!(server.seen(), ["timestamp"], "not repeated");
    server.script([Step::Unannounced(big), Step::ok(TIMESTAMP)]);
    let e = rt.block_on(client.list_keys("NIST")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Protocol);
    assert!(e.to_string().contains("is longer"), "{e}");
    assert_eq!(server.seen(), ["listkeys"], "not repeated");
    // Just under the limit is read.
    let mut padded = TIMESTAMP.to_owned();
    padded.push_str(&" ".repeat(MAX_RESPONSE_BYTES - TIMESTAMP.len()));
    server.script([Step::ok(padded)]);
    assert!(rt.block_on(client.timestamp()).is_ok());
}

#[test]
fn creations_and_deletions_are_sent_once_and_settled_by_asking() {
    let server = Hostile::start();
    let rt = rt();
    let client = server.client("pw-1", Duration::from_secs(10));
    let pin = SecretString::from("p");

    // The answer broke off; the key exists with the type asked for: done.
    server.script([Step::Reset, Step::ok(attributes("NIST", 256))]);
    let g = rt
        .block_on(client.gen_ecc_key(Curve::P256, "k", &pin, "FFFF"))
        .unwrap();
    assert_eq!(g.key_id, "hsm010123F13C56131E1EEE0000000000000031");
    assert_eq!(server.seen(), ["genecckey", "getkeyattributes"]);

    // A 500 and no key: not created, said so; still sent once.
    server.script([Step::status(500), Step::Json(404, NOT_FOUND.into())]);
    let e = rt
        .block_on(client.gen_rsa_key(2048, "k", &pin, "FFFF"))
        .unwrap_err();
    assert!(e.to_string().contains("was not created"), "{e}");
    assert_eq!(raw(&e).status(), 500);
    assert_eq!(server.seen(), ["genrsakey", "getkeyattributes"]);

    // A key of that name but another type: not ours.
    server.script([Step::Truncated, Step::ok(attributes("RSA", 2048))]);
    let e = rt
        .block_on(client.import_ecc_key(Curve::P256, "k", &pin, "FFFF", &[9; 32]))
        .unwrap_err();
    assert!(e.to_string().contains("another type"), "{e}");
    assert_eq!(server.seen(), ["importecckey", "getkeyattributes"]);

    // An import whose answer broke off, the key is there.
    server.script([Step::status(503), Step::ok(attributes("NIST", 256))]);
    let id = rt
        .block_on(client.import_ecc_key(Curve::P256, "k", &pin, "FFFF", &[9; 32]))
        .unwrap();
    assert_eq!(id, "hsm010123F13C56131E1EEE0000000000000031");

    // A 200 that cannot be read (a captive portal's HTML, an oversized body): the device may
    // have acted, so it is settled too.
    server.script([
        Step::Typed("text/html", "<html>login</html>"),
        Step::ok(attributes("NIST", 256)),
    ]);
    assert!(
        rt.block_on(client.gen_ecc_key(Curve::P256, "k", &pin, "FFFF"))
            .is_ok()
    );
    assert_eq!(server.seen(), ["genecckey", "getkeyattributes"]);
    server.script([Step::Announced(64 << 20), Step::Json(404, NOT_FOUND.into())]);
    let e = rt
        .block_on(client.gen_ecc_key(Curve::P256, "k", &pin, "FFFF"))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Protocol);
    assert!(e.to_string().contains("was not created"), "{e}");
    assert_eq!(server.seen(), ["genecckey", "getkeyattributes"]);

    // A refusal with a known meaning is not settled: it is the answer.
    server.script([Step::Json(
        409,
        r#"{"result":"ERROR","error":"key exists"}"#.into(),
    )]);
    let e = rt
        .block_on(client.gen_ecc_key(Curve::P256, "k", &pin, "FFFF"))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists);
    assert_eq!(server.seen(), ["genecckey"]);

    // Deletion: gone after a reset means deleted; still there means not deleted.
    server.script([Step::Reset, Step::Json(404, NOT_FOUND.into())]);
    rt.block_on(client.delete_key("k", &pin)).unwrap();
    assert_eq!(server.seen(), ["deletekey", "getkeyattributes"]);
    server.script([Step::status(502), Step::ok(attributes("NIST", 256))]);
    let e = rt.block_on(client.delete_key("k", &pin)).unwrap_err();
    assert!(e.to_string().contains("was not deleted"), "{e}");
    assert_eq!(server.seen(), ["deletekey", "getkeyattributes"]);
}

#[test]
fn a_closed_port_fails_fast_and_clearly() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = hsm_n200::N200Client::builder("127.0.0.1", port, "u", SecretString::from("pw"))
        .timeout(BUDGET)
        .build()
        .unwrap();
    let start = Instant::now();
    let e = rt().block_on(client.timestamp()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    assert!(e.to_string().contains("cannot connect"), "{e}");
    assert!(start.elapsed() < BUDGET + SLACK);
}

fn sim_and_backend(timeout: Duration) -> (Simulator, N200) {
    let sim = Simulator::start(SimConfig::random_credentials()).unwrap();
    let client = sim
        .client_builder()
        .unwrap()
        .timeout(timeout)
        .build()
        .unwrap();
    let n200 = N200::new(client, sim.key_pin(), "FFFF").unwrap();
    (sim, n200)
}

#[test]
fn against_the_simulator_lost_answers_are_settled_and_signing_goes_on() {
    let (sim, n200) = sim_and_backend(Duration::from_secs(10));
    let key = KeyId::name("zsk").unwrap();
    // The generation happened, its answer was lost: settled as done, sent once. (The first
    // request is the check that the name is free.)
    sim.inject([Fault::Pass, Fault::BreakAfterCommit]);
    let before = sim.requests();
    let info = n200
        .generate_key(&KeyTemplate::new(key.clone(), KeySpec::Ec(Curve::P256)))
        .unwrap();
    // duplicate check, generation, existence check
    assert_eq!(sim.requests() - before, 3);
    assert_eq!(info.extras["key_id"].len(), 39);
    let pk = n200.public_key(&key).unwrap();

    // Refused before acting: not created, and the key really does not exist.
    let other = KeyId::name("other").unwrap();
    sim.inject([Fault::Pass, Fault::Refuse(503)]);
    let e = n200
        .generate_key(&KeyTemplate::new(other.clone(), KeySpec::Ec(Curve::P256)))
        .unwrap_err();
    assert!(e.to_string().contains("was not created"), "{e}");
    assert!(n200.key_info(&other).unwrap_err().is_not_found());

    // Signatures go on through 5xx and broken answers: every one verifies.
    // (Faults meet consecutive requests; a call repeats at most twice.)
    sim.inject([
        Fault::Refuse(500),
        Fault::BreakAfterCommit,
        Fault::Pass,
        Fault::Refuse(503),
        Fault::Pass,
        Fault::Refuse(502),
    ]);
    for i in 0..4u32 {
        let msg = format!("rrset {i}");
        sign_and_verify(&n200, &key, SignAlgorithm::EcdsaSha256, &pk, msg.as_bytes()).unwrap();
    }
    assert_eq!(sim.pending_faults(), 0);
    let messages: Vec<Vec<u8>> = (0..32u32).map(|i| format!("m{i}").into_bytes()).collect();
    let refs: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
    sim.inject([
        Fault::Refuse(500),
        Fault::BreakAfterCommit,
        Fault::Refuse(503),
    ]);
    for (m, r) in refs
        .iter()
        .zip(n200.sign_many(&key, SignAlgorithm::EcdsaSha256, &refs))
    {
        pk.verify(m, &r.unwrap()).unwrap();
    }

    // A deletion whose answer was lost: settled as done.
    sim.inject([Fault::BreakAfterCommit]);
    n200.delete_key(&key).unwrap();
    assert!(n200.key_info(&key).unwrap_err().is_not_found());
}

#[test]
fn a_stalled_simulator_costs_one_budget_per_call() {
    let (sim, n200) = sim_and_backend(BUDGET);
    let key = p256_key(&n200, "k");
    let _ = n200
        .sign(&key, SignAlgorithm::EcdsaSha256, b"warm")
        .unwrap();
    sim.inject([Fault::Stall]);
    let start = Instant::now();
    let e = n200
        .sign(&key, SignAlgorithm::EcdsaSha256, b"m")
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout);
    assert!(start.elapsed() < BUDGET + SLACK, "{:?}", start.elapsed());
    // The stalled connection is not reused; the next call works.
    assert!(n200.sign(&key, SignAlgorithm::EcdsaSha256, b"m").is_ok());
}

/// The simulator's random-number generator failing is an error answer, never an all-zero
/// secret, key, key id or IV: each command that needs random numbers is refused and leaves
/// nothing behind; the next request works.
#[test]
fn a_failing_random_number_generator_is_an_error_answer() {
    let (sim, n200) = sim_and_backend(Duration::from_secs(10));
    let rt = rt();
    let once = sim.client_builder().unwrap().retries(0).build().unwrap();

    // getrandom: a 500 with the device's text, not zeros.
    sim.inject([Fault::RandomFails]);
    let e = rt.block_on(once.get_random(16)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Device, "{e}");
    assert_eq!(raw(&e).status(), 500);
    assert!(
        raw(&e).body().contains("random-number generator"),
        "{}",
        raw(&e).body()
    );
    let bytes = rt.block_on(once.get_random(16)).unwrap().bytes;
    assert_ne!(bytes, vec![0u8; 16]);

    // Key generation (EC, RSA, AES) and import: refused (500), settled by asking, not created.
    // (Each generation first checks that the name is free: that request passes.)
    let specs = [
        KeySpec::Ec(Curve::P256),
        KeySpec::Rsa2048,
        KeySpec::Aes128,
        KeySpec::Aes256,
    ];
    for spec in specs {
        let key = KeyId::name(format!("rng-{spec}")).unwrap();
        sim.inject([Fault::Pass, Fault::RandomFails]);
        let e = n200
            .generate_key(&KeyTemplate::new(key.clone(), spec))
            .unwrap_err();
        assert!(e.to_string().contains("was not created"), "{spec}: {e}");
        assert_eq!(raw(&e).status(), 500, "{spec}");
        assert!(n200.key_info(&key).unwrap_err().is_not_found(), "{spec}");
    }
    let pin = sim.key_pin();
    sim.inject([Fault::RandomFails]);
    let e = rt
        .block_on(once.import_ecc_key(Curve::P256, "rng-import", &pin, "FFFF", &[7u8; 32]))
        .unwrap_err();
    assert!(e.to_string().contains("was not created"), "{e}");
    assert!(
        rt.block_on(once.key_attributes("rng-import"))
            .unwrap_err()
            .is_not_found()
    );

    // encrypt: refused rather than sent with an all-zero IV; a key made afterwards works, and
    // its CKA_ID is not all zeros.
    let aes = KeyId::name("rng-aes").unwrap();
    let _ = n200
        .generate_key(&KeyTemplate::new(aes.clone(), KeySpec::Aes256))
        .unwrap();
    let listed = rt.block_on(once.list_keys("SYM")).unwrap();
    let entry = listed
        .keys
        .iter()
        .find(|k| k.nice_name.as_deref() == Some("rng-aes"))
        .expect("listed");
    assert_ne!(entry.id.as_deref(), Some("000000000000"));
    sim.inject([Fault::RandomFails]);
    let e = rt
        .block_on(once.encrypt("rng-aes", &pin, "CBC", "hello-world"))
        .unwrap_err();
    assert_eq!(raw(&e).status(), 500, "{e}");
    let ct = n200.encrypt(&aes, "CBC", "hello-world").unwrap();
    assert!(!ct.starts_with(&"0".repeat(32)), "{ct}");
    assert_eq!(n200.decrypt(&aes, "CBC", &ct).unwrap(), "hello-world");
    assert_eq!(sim.pending_faults(), 0);
}
