//! The retry, failover and hostile-answer policy of the client (crate README, "Faults"),
//! against a scripted HTTPS server on loopback: each case names the answers the server gives
//! and checks both the result and exactly which requests were sent.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use hsm_core::{DeviceStatus, ErrorKind};
use hsm_nethsm::client::model::{GenerateKeyRequest, KeyMechanism, KeyType, SignMode};
use hsm_nethsm::{MAX_RESPONSE_BYTES, NetHsmClient, RetryPolicy};
use hsm_testkit::scripted::{ScriptedServer, Step};
use secrecy::SecretString;
use support::ScriptedClient as _;

const STATE_OK: &str = r#"{"state":"Operational"}"#;
const TIMEOUT: Duration = Duration::from_millis(800);

struct Fixture {
    runtime: tokio::runtime::Runtime,
    server: ScriptedServer,
    client: NetHsmClient,
}

fn fixture(policy: RetryPolicy) -> Fixture {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = ScriptedServer::start(&runtime);
    let client = server
        .client_builder("operator", "pw")
        .timeout(TIMEOUT)
        .connect_timeout(Duration::from_millis(500))
        .retry_policy(policy)
        .build()
        .unwrap();
    Fixture {
        runtime,
        server,
        client,
    }
}

impl Fixture {
    /// Runs a call of the client on the fixture's runtime.
    fn run<T>(&self, call: impl Future<Output = T>) -> T {
        self.runtime.block_on(call)
    }
}

fn fast_policy() -> RetryPolicy {
    RetryPolicy {
        retry_delay: Duration::from_millis(10),
        throttle_delay: Duration::from_millis(200),
        ..RetryPolicy::default()
    }
}

fn generate_request() -> GenerateKeyRequest {
    support::key_request("k1", KeyType::EcP256, &[KeyMechanism::EcdsaSignature])
}

/// `GET /keys/k1`'s answer for a P-256 key.
const P256_KEY: &str =
    r#"{"mechanisms":["ECDSA_Signature"],"type":"EC_P256","restrictions":{},"operations":0}"#;
/// `GET /keys/k1`'s answer for an Ed25519 key.
const ED25519_KEY: &str =
    r#"{"mechanisms":["EdDSA_Signature"],"type":"Curve25519","restrictions":{},"operations":0}"#;
const GET_STATE: &str = "GET /api/v1/health/state";
const GENERATE: &str = "POST /api/v1/keys/generate";
const GET_K1: &str = "GET /api/v1/keys/k1";

#[test]
fn an_idempotent_read_is_retried_through_500_503_reset_and_truncation() {
    let f = fixture(fast_policy());
    for first in [
        Step::Json(500, r#"{"message":"boom"}"#),
        Step::Json(503, "{}"),
        Step::Reset,
        Step::Truncated,
    ] {
        f.server.script([first.clone(), Step::Json(200, STATE_OK)]);
        let state = f.run(f.client.health_state());
        assert!(state.is_ok(), "{first:?}: {state:?}");
        assert_eq!(f.server.seen(), [GET_STATE, GET_STATE], "{first:?}");
    }
    // 500, 503, reset: three attempts (the policy's default), then the last error.
    f.server.script([
        Step::Json(500, "{}"),
        Step::Json(503, "{}"),
        Step::Json(502, r#"{"message":"bad gateway"}"#),
        Step::Json(200, STATE_OK),
    ]);
    let e = f.run(f.client.health_state()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable);
    assert_eq!(e.status(), Some(&DeviceStatus::Http(502)));
    assert_eq!(f.server.seen().len(), 3);
}

#[test]
fn a_412_is_not_retried_on_the_same_instance() {
    let f = fixture(fast_policy());
    f.server.script([
        Step::Json(412, r#"{"message":"locked"}"#),
        Step::Json(200, STATE_OK),
    ]);
    let e = f.run(f.client.health_state()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidState);
    assert_eq!(f.server.seen(), [GET_STATE]);
}

#[test]
fn the_login_throttle_is_waited_out_a_bounded_number_of_times() {
    let f = fixture(fast_policy());
    f.server
        .script([Step::Json(429, "{}"), Step::Json(200, r#"[{"id":"a"}]"#)]);
    let started = Instant::now();
    let keys = f.run(f.client.list_keys()).unwrap();
    assert_eq!(keys.len(), 1);
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(f.server.seen().len(), 2);
    // Two waits (throttle_retries), then the 429 comes back.
    f.server
        .script(std::iter::repeat_n(Step::Json(429, "{}"), 5));
    let e = f.run(f.client.list_keys()).unwrap_err();
    assert_eq!(e.status(), Some(&DeviceStatus::Http(429)));
    assert_eq!(f.server.seen().len(), 3);
    // A 401 is never repeated: no automatic password retry.
    f.server
        .script([Step::Json(401, "{}"), Step::Json(200, r#"[]"#)]);
    let e = f.run(f.client.list_keys()).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::AuthenticationFailed { .. }));
    assert_eq!(f.server.seen().len(), 1);
}

#[test]
fn signing_is_idempotent_and_retried() {
    let f = fixture(fast_policy());
    f.server.script([
        Step::Reset,
        Step::Json(500, "{}"),
        Step::Json(200, r#"{"signature":"AQID"}"#),
    ]);
    let sig = f.run(f.client.sign("k1", SignMode::EdDsa, b"m")).unwrap();
    assert_eq!(sig, [1, 2, 3]);
    assert_eq!(f.server.seen().len(), 3);
}

#[test]
fn generate_is_never_repeated_and_an_unknown_outcome_is_checked() {
    let f = fixture(fast_policy());
    // The connection breaks after the request left; the key turns out to exist: success.
    f.server.script([Step::Reset, Step::Json(200, P256_KEY)]);
    let item = f.run(f.client.generate_key(&generate_request())).unwrap();
    assert_eq!(item.id, "k1");
    assert_eq!(f.server.seen(), [GENERATE, GET_K1]);

    // A 500: unknown outcome, the key does not exist: the error, and no second POST.
    f.server.script([
        Step::Json(500, "{}"),
        Step::Json(404, r#"{"message":"not found"}"#),
        Step::Json(200, r#"{"id":"k1"}"#),
    ]);
    let e = f
        .run(f.client.generate_key(&generate_request()))
        .unwrap_err();
    // hsm-core's one status table: a 500 is the device's own error.
    assert_eq!(e.kind(), ErrorKind::Device);
    assert_eq!(e.status(), Some(&DeviceStatus::Http(500)));
    assert!(e.to_string().contains("not created"), "{e}");
    assert_eq!(f.server.seen(), [GENERATE, GET_K1]);

    // A timeout: same.
    f.server
        .script([Step::Hang, Step::Json(404, "{}"), Step::Json(200, "{}")]);
    let e = f
        .run(f.client.generate_key(&generate_request()))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout);
    assert_eq!(f.server.seen(), [GENERATE, GET_K1]);

    // 503 and 412 say the device did not do it: no check needed, no repeat.
    for status in [503, 412] {
        f.server
            .script([Step::Json(status, "{}"), Step::Json(200, r#"{"id":"k1"}"#)]);
        let e = f
            .run(f.client.generate_key(&generate_request()))
            .unwrap_err();
        assert_eq!(e.status(), Some(&DeviceStatus::Http(status)));
        assert_eq!(f.server.seen(), [GENERATE], "{status}");
    }
    // The 429 throttle: the device did not do it either; waited out and sent again.
    f.server
        .script([Step::Json(429, "{}"), Step::Json(201, r#"{"id":"k1"}"#)]);
    let item = f.run(f.client.generate_key(&generate_request())).unwrap();
    assert_eq!(item.id, "k1");
    assert_eq!(f.server.seen(), [GENERATE, GENERATE]);
}

#[test]
fn hostile_answers_give_protocol_errors_without_retries() {
    let f = fixture(fast_policy());
    let cases: Vec<(Step, &str)> = vec![
        (Step::Oversized(MAX_RESPONSE_BYTES + 1), "longer than"),
        (
            Step::OversizedUnannounced(MAX_RESPONSE_BYTES + 100_000),
            "longer than",
        ),
        (Step::Typed("text/html", STATE_OK), "text/html"),
        (Step::Json(200, r#"{"state": "Operat"#), "JSON"),
        (Step::Json(200, r#"{"state":"Sleeping"}"#), "JSON"),
        (Step::Json(200, r#"[1,2,3]"#), "JSON"),
    ];
    for (step, needle) in cases {
        f.server.script([step.clone(), Step::Json(200, STATE_OK)]);
        let started = Instant::now();
        // An `Ok` here is the second, well-formed answer: the hostile one was taken for a
        // broken attempt (e.g. one whose share of the budget ran out while reading) and the
        // request was sent again.
        let e = match f.run(f.client.health_state()) {
            Ok(state) => panic!(
                "{step:?}: Ok({state:?}) after {:?}, requests {:?}",
                started.elapsed(),
                f.server.seen()
            ),
            Err(e) => e,
        };
        assert_eq!(e.kind(), ErrorKind::Protocol, "{step:?}: {e}");
        assert!(e.to_string().contains(needle), "{step:?}: {e}");
        assert_eq!(f.server.seen().len(), 1, "{step:?}");
        assert!(started.elapsed() < TIMEOUT, "{step:?}");
    }
}

#[test]
fn a_slow_body_hits_the_timeout() {
    let f = fixture(RetryPolicy::none());
    f.server.script([Step::Slow(100)]);
    let started = Instant::now();
    let e = f.run(f.client.health_state()).unwrap_err();
    let took = started.elapsed();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(took >= TIMEOUT, "{took:?}");
    assert!(took < TIMEOUT + Duration::from_millis(700), "{took:?}");
    // With retries, a hanging idempotent call is bounded by attempts x timeout.
    let f = fixture(fast_policy());
    f.server.script([Step::Hang, Step::Json(200, STATE_OK)]);
    let started = Instant::now();
    f.run(f.client.health_state()).unwrap();
    assert!(started.elapsed() < 2 * TIMEOUT, "{:?}", started.elapsed());
}

#[test]
fn adding_a_user_is_never_repeated() {
    let f = fixture(fast_policy());
    f.server.script([Step::Reset, Step::Json(201, "{}")]);
    let user = hsm_nethsm::client::model::UserPostData {
        real_name: "Jane".into(),
        role: hsm_nethsm::client::model::UserRole::Operator,
        passphrase: SecretString::from("jane-passphrase"),
    };
    let e = f.run(f.client.add_user("jane", &user)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    assert_eq!(f.server.seen(), ["PUT /api/v1/users/jane"]);
}

#[test]
fn an_import_with_an_unknown_outcome_is_settled_by_asking_for_the_key() {
    use hsm_nethsm::client::model::{ImportKeyRequest, KeyPrivateData};
    let f = fixture(fast_policy());
    let request = ImportKeyRequest {
        mechanisms: vec![KeyMechanism::EdDsaSignature],
        key_type: KeyType::Curve25519,
        private: KeyPrivateData {
            data: Some(zeroize::Zeroizing::new(vec![7; 32])),
            ..KeyPrivateData::default()
        },
        restrictions: None,
        label: None,
    };
    assert!(!format!("{request:?}").contains("7, 7"));
    f.server.script([Step::Reset, Step::Json(200, ED25519_KEY)]);
    let id = f.run(f.client.import_key(Some("k1"), &request)).unwrap();
    assert_eq!(id, "k1");
    assert_eq!(f.server.seen(), ["PUT /api/v1/keys/k1", GET_K1]);
    // The device's answer to a taken id (400) becomes AlreadyExists once the key is seen.
    f.server.script([
        Step::Json(400, r#"{"message":"Key with id k1 already exists"}"#),
        Step::Json(200, ED25519_KEY),
    ]);
    let e = f
        .run(f.client.import_key(Some("k1"), &request))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{e}");
    assert_eq!(f.server.seen(), ["PUT /api/v1/keys/k1", GET_K1]);
}

#[test]
fn a_key_certificate_with_an_unknown_outcome_is_settled_by_reading_it_back() {
    let f = fixture(fast_policy());
    let cert = "the certificate";
    // The PUT is cut off; the certificate read back is the one sent: done, sent once.
    f.server.script([
        Step::Reset,
        Step::Typed("application/octet-stream", "the certificate"),
    ]);
    f.runtime
        .block_on(f.client.put_key_certificate("k1", cert.as_bytes()))
        .unwrap();
    assert_eq!(
        f.server.seen(),
        ["PUT /api/v1/keys/k1/cert", "GET /api/v1/keys/k1/cert"]
    );
    // The key holds none: the original error, saying none was stored; still sent once.
    f.server.script([
        Step::Reset,
        Step::Json(404, r#"{"message":"Certificate not found"}"#),
    ]);
    let e = f
        .run(f.client.put_key_certificate("k1", cert.as_bytes()))
        .unwrap_err();
    assert!(
        e.message().is_some_and(|m| m.contains("none was stored")),
        "{e}"
    );
    assert_eq!(
        f.server.seen(),
        ["PUT /api/v1/keys/k1/cert", "GET /api/v1/keys/k1/cert"]
    );
    // Another certificate: not ours, an error.
    f.server.script([
        Step::Reset,
        Step::Typed("application/octet-stream", "another certificate"),
    ]);
    let e = f
        .run(f.client.put_key_certificate("k1", cert.as_bytes()))
        .unwrap_err();
    assert!(
        e.message()
            .is_some_and(|m| m.contains("another certificate")),
        "{e}"
    );
    // A refusal is no unknown outcome: returned as it is, nothing read back.
    f.server.script([Step::Json(
        409,
        r#"{"message":"Certificate already exists"}"#,
    )]);
    let e = f
        .run(f.client.put_key_certificate("k1", cert.as_bytes()))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{e}");
    assert_eq!(f.server.seen(), ["PUT /api/v1/keys/k1/cert"]);
}
