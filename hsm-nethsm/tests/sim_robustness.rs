//! The simulator answers like the device whatever it is sent: malformed bodies to every
//! operation of the spec, RSA keys whose numbers are no key, slow key generation beside cheap
//! requests, and `Allow` headers that name exactly the spec's methods of each path.
#![allow(clippy::indexing_slicing, clippy::panic, clippy::unwrap_used)]

mod support;

use std::collections::BTreeSet;

use base64::Engine as _;
use hsm_nethsm::client::model::SystemState;
use hsm_nethsm::client::operations::OPERATIONS;
use hsm_nethsm::sim::Simulator;
use serde_json::{Value, json};
use support::{
    ADMIN, OPERATOR, RawApi, admin_and_operator, default_sim, generate_p256_keys, unprovisioned_sim,
};

/// What came back: the status, the `Allow` header, the body.
struct Answer {
    status: u16,
    allow: Option<String>,
    body: Vec<u8>,
}

/// Sends `method path` with `body` of `content_type` as `user`; a transport error (a dropped
/// connection, no answer) is returned as `Err`.
async fn send(
    api: &RawApi,
    method: &str,
    path: &str,
    user: Option<(&str, &str)>,
    body: Option<(&str, &[u8])>,
) -> Result<Answer, String> {
    let body = body.map(|(content_type, bytes)| (content_type, bytes.to_vec()));
    let request = api.request(method, path, user, body);
    let response = request.send().await.map_err(|e| format!("{e:?}"))?;
    let status = response.status().as_u16();
    let allow = response
        .headers()
        .get("allow")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = response
        .bytes()
        .await
        .map_err(|e| format!("body: {e:?}"))?
        .to_vec();
    Ok(Answer {
        status,
        allow,
        body,
    })
}

/// [`send`] with a JSON `body`.
async fn send_json(
    api: &RawApi,
    method: &str,
    path: &str,
    user: Option<(&str, &str)>,
    body: &str,
) -> Result<Answer, String> {
    send(
        api,
        method,
        path,
        user,
        Some(("application/json", body.as_bytes())),
    )
    .await
}

/// An error answer must carry the device's `{"message": "..."}`.
fn assert_error_body(what: &str, answer: &Answer) {
    if answer.status < 400 {
        return;
    }
    let value: Value = serde_json::from_slice(&answer.body).unwrap_or_else(|e| {
        panic!(
            "{what}: {} with a body that is not JSON ({e}): {:?}",
            answer.status,
            String::from_utf8_lossy(&answer.body)
        )
    });
    assert!(
        value["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{what}: {} with {value}",
        answer.status
    );
}

/// A spec path with its parameters filled: the key `k`, the operator, tag `t`, namespace
/// `ns1`, member `m1`, and the prefix `k*`.
fn fill(template: &str) -> String {
    template
        .replace("{KeyPrefix}*", "k*")
        .replace("{KeyID}", "k")
        .replace("{UserID}", "operator")
        .replace("{Tag}", "t")
        .replace("{NamespaceID}", "ns1")
        .replace("{MemberID}", "m1")
}

/// Bodies no operation accepts: broken JSON, wrong types, numbers too large for any field,
/// invalid base64, empty, binary, and a form without its parts.
fn malformed_bodies() -> Vec<(&'static str, Vec<u8>)> {
    let json_bodies = [
        "{",
        "[]",
        "null",
        r#"{"mode": 5, "message": [], "type": {}, "mechanisms": "x", "length": "x"}"#,
        r#"{"length": 184467440737095516160000, "port": -1e400, "type": "RSA",
            "mechanisms": ["RSA_Signature_PKCS1"], "primeP": 1e999}"#,
        r#"{"mode": "ECDSA", "message": "!!!not base64!!!", "encrypted": "%%%",
            "iv": "*", "newId": "", "passphrase": 7, "key": {"data": "@@@"}}"#,
        r#"{"type": "RSA", "mechanisms": ["RSA_Signature_PKCS1"],
            "private": {"primeP": "AAEC", "primeQ": "AAEC", "publicExponent": "AQAB"}}"#,
        r#"{"realName": "x", "role": "Nobody", "passphrase": "short"}"#,
        // RSA numbers that are no key (neither is prime), which once made the simulator panic.
        concat!(
            r#"{"type": "RSA", "mechanisms": ["RSA_Signature_PKCS1"], "private": {"primeP": ""#,
            "EBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEA==",
            r#"", "primeQ": ""#,
            "Dw8PDw8PDw8PDw8PDw8PDw8PDw8PDw8PDw8PDw8PDw8PDw8PDw8PDw8PDw8PDw8PDw8PDw8PDw8PDw8PDw8PDw==",
            r#"", "publicExponent": "AQAB"}}"#
        ),
    ];
    let mut bodies: Vec<(&str, Vec<u8>)> = json_bodies
        .iter()
        .map(|b| ("application/json", b.as_bytes().to_vec()))
        .collect();
    bodies.push(("application/json", Vec::new()));
    bodies.push(("application/json", (0..=255u8).collect()));
    bodies.push(("application/octet-stream", (0..=255u8).rev().collect()));
    bodies.push((
        "multipart/form-data; boundary=b",
        b"--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n\xff\xfe\r\n--b--\r\n".to_vec(),
    ));
    bodies.push(("multipart/form-data", b"no boundary at all".to_vec()));
    bodies.push((
        "application/x-pem-file",
        b"-----BEGIN NOTHING-----\n".to_vec(),
    ));
    bodies
}

/// A fresh device for one operation: `Operational` with a P-256 key `k`, or another state.
fn device(runtime: &tokio::runtime::Runtime, state: SystemState) -> Simulator {
    let sim = if state == SystemState::Unprovisioned {
        unprovisioned_sim(runtime)
    } else {
        Simulator::start(hsm_nethsm::sim::SimConfig::default(), runtime.handle()).unwrap()
    };
    if state != SystemState::Unprovisioned {
        let (admin, _) = admin_and_operator(&sim);
        runtime.block_on(async {
            generate_p256_keys(&admin, ["k".to_owned()]).await;
            if state == SystemState::Locked {
                admin.lock().await.unwrap();
            }
        });
    }
    sim
}

#[test]
fn every_operation_answers_malformed_bodies_with_a_status_and_a_message() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let bodies = malformed_bodies();
    let mut answered = 0;
    let mut statuses = BTreeSet::new();
    for op in OPERATIONS {
        // Each operation on a fresh device, in the state where it reads its body.
        let state = match op.path {
            "/provision" | "/system/restore" => SystemState::Unprovisioned,
            "/unlock" => SystemState::Locked,
            _ => SystemState::Operational,
        };
        let mut sim = device(&runtime, state);
        let raw = RawApi::new(&sim);
        let path = fill(op.path);
        for (content_type, body) in &bodies {
            for user in [ADMIN, OPERATOR] {
                let what = format!(
                    "{} {path} ({content_type}, {:?})",
                    op.method,
                    user.map(|u| u.0)
                );
                let answer = runtime
                    .block_on(send(
                        &raw,
                        op.method,
                        &path,
                        user,
                        Some((content_type, body)),
                    ))
                    .unwrap_or_else(|e| panic!("{what}: no answer: {e}"));
                assert!(
                    (200..600).contains(&answer.status),
                    "{what}: {}",
                    answer.status
                );
                assert_error_body(&what, &answer);
                let _ = statuses.insert(answer.status);
                answered += 1;
                if sim.is_shut_down() {
                    // POST /system/shutdown needs no body and stops the device, as asked.
                    sim.resume().unwrap();
                }
            }
        }
        // The device still answers.
        let alive = runtime
            .block_on(send(&raw, "GET", "/health/state", None, None))
            .unwrap_or_else(|e| panic!("after {} {path}: {e}", op.method));
        assert_eq!(alive.status, 200, "after {} {path}", op.method);
    }
    assert_eq!(answered, OPERATIONS.len() * bodies.len() * 2);
    // The bodies reached the handlers: 400s, not only 401/403/412.
    assert!(statuses.contains(&400), "{statuses:?}");
}

/// RSA parts that are no key: not primes, equal primes, zero, an even exponent, one prime
/// of 9000 bits. Each is a 400 with a message, as JSON and as PEM, and the device goes on.
#[test]
fn rsa_numbers_that_are_no_key_are_refused_with_400() {
    let (runtime, sim) = default_sim();
    let raw = RawApi::new(&sim);
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    // Two real 512-bit primes, so the checks are shown to refuse only what is wrong.
    let prime = || {
        let mut n = openssl::bn::BigNum::new().unwrap();
        n.generate_prime(512, false, None, None).unwrap();
        n.to_vec()
    };
    let (p, q) = (prime(), prime());
    let mut big = vec![0xffu8; 1125];
    big[1124] = 0xfd;
    // (what is wrong, primeP, primeQ, publicExponent)
    type Case = (&'static str, Vec<u8>, Vec<u8>, Vec<u8>);
    let cases: Vec<Case> = vec![
        ("not primes", vec![0x10; 64], vec![0x0f; 64], vec![1, 0, 1]),
        ("equal primes", p.clone(), p.clone(), vec![1, 0, 1]),
        ("zero", vec![0], q.clone(), vec![1, 0, 1]),
        ("one", vec![1], vec![1], vec![1, 0, 1]),
        ("even exponent", p.clone(), q.clone(), vec![1, 0, 0]),
        ("exponent zero", p.clone(), q.clone(), vec![0]),
        ("over 8192 bits", big, q.clone(), vec![1, 0, 1]),
        ("empty", Vec::new(), Vec::new(), Vec::new()),
    ];
    runtime.block_on(async {
        for (what, p, q, e) in &cases {
            let body = json!({
                "mechanisms": ["RSA_Signature_PKCS1"],
                "type": "RSA",
                "private": {"primeP": b64(p), "primeQ": b64(q), "publicExponent": b64(e)},
            })
            .to_string();
            for (method, path) in [("PUT", "/keys/badrsa"), ("POST", "/keys")] {
                let answer = send_json(&raw, method, path, ADMIN, &body)
                    .await
                    .unwrap_or_else(|e| panic!("{what}: {method} {path}: no answer: {e}"));
                assert_eq!(answer.status, 400, "{what}: {method} {path}");
                assert_error_body(what, &answer);
            }
        }
        // The parts of a real key are taken, so the checks refuse only what is wrong.
        let good = json!({
            "mechanisms": ["RSA_Signature_PKCS1"],
            "type": "RSA",
            "private": {"primeP": b64(&p), "primeQ": b64(&q), "publicExponent": b64(&[1, 0, 1])},
        })
        .to_string();
        let answer = send_json(&raw, "PUT", "/keys/goodrsa", ADMIN, &good)
            .await
            .unwrap();
        assert_eq!(answer.status, 204);
        let alive = send(&raw, "GET", "/keys", ADMIN, None).await.unwrap();
        assert_eq!(alive.status, 200);
    });
}

#[test]
fn slow_tls_key_generation_does_not_stall_other_requests() {
    let (runtime, sim) = default_sim();
    let raw = std::sync::Arc::new(RawApi::new(&sim));
    runtime.block_on(async {
        // Lengths the device does not offer are refused at once.
        for length in [0, 512, 1023, 8193, 100_000] {
            let body = json!({"type": "RSA", "length": length}).to_string();
            let answer = send_json(&raw, "POST", "/config/tls/generate", ADMIN, &body)
                .await
                .unwrap();
            assert_eq!(answer.status, 400, "length {length}");
            assert_error_body("tls generate", &answer);
        }
        // An 8191-bit key is offered (the device takes 1024 to 8192) and slow to make.
        let slow = tokio::spawn({
            let raw = std::sync::Arc::clone(&raw);
            async move {
                let body = json!({"type": "RSA", "length": 8191}).to_string();
                send_json(&raw, "POST", "/config/tls/generate", ADMIN, &body).await
            }
        });
        // Cheap requests are answered while it runs (however long it takes).
        let mut answered_while_generating = 0;
        for _ in 0..5 {
            let answer = send(&raw, "GET", "/health/state", None, None)
                .await
                .unwrap();
            assert_eq!(answer.status, 200);
            if !slow.is_finished() {
                answered_while_generating += 1;
            }
        }
        let finished = slow.await.unwrap().unwrap();
        assert_eq!(finished.status, 204);
        assert!(
            answered_while_generating > 0,
            "the key was made before any other answer came: nothing was shown"
        );
    });
}

/// The methods of each spec path, and what `Allow` says for it.
#[test]
fn allow_names_exactly_the_methods_of_each_path() {
    let (runtime, sim) = default_sim();
    let raw = RawApi::new(&sim);
    let spec: Value = serde_norway::from_str(include_str!("data/nethsm-api.yaml")).unwrap();
    let mut checked = 0;
    for (template, item) in spec["paths"].as_object().unwrap() {
        let expected: BTreeSet<String> = ["get", "put", "post", "delete", "patch"]
            .iter()
            .filter(|m| item.get(**m).is_some())
            .map(|m| m.to_uppercase())
            .collect();
        let path = fill(template);
        let answer = runtime
            .block_on(send(&raw, "OPTIONS", &path, ADMIN, None))
            .unwrap();
        assert_eq!(answer.status, 405, "OPTIONS {path}");
        assert_error_body(&format!("OPTIONS {path}"), &answer);
        let allow: BTreeSet<String> = answer
            .allow
            .unwrap_or_else(|| panic!("OPTIONS {path}: no Allow"))
            .split(',')
            .map(|m| m.trim().to_uppercase())
            .filter(|m| m != "HEAD")
            .collect();
        assert_eq!(allow, expected, "Allow of {path}");
        // A method the path does not have is 405 too, with the same Allow.
        if !expected.contains("DELETE") {
            let answer = runtime
                .block_on(send(&raw, "DELETE", &path, ADMIN, None))
                .unwrap();
            assert_eq!(answer.status, 405, "DELETE {path}");
        }
        checked += 1;
    }
    assert_eq!(checked, 56);
    // The prefix listing did not delete the key `k*` names, nor any other.
    let (admin, _) = admin_and_operator(&sim);
    runtime.block_on(async {
        generate_p256_keys(&admin, ["k1".to_owned()]).await;
        let answer = send(&raw, "DELETE", "/keys/k*", ADMIN, None).await.unwrap();
        assert_eq!(answer.status, 405);
        assert_eq!(answer.allow.as_deref(), Some("GET,HEAD"));
        assert!(admin.get_key("k1").await.is_ok());
    });
}
