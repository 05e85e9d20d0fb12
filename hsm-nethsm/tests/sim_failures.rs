//! The simulator when something goes wrong: a handler that panics, a random-number generator
//! that fails, PEM RSA keys whose numbers are no key, TLS key lengths the device refuses, and a
//! slow TLS key generation on a simulator with a single request worker. Each is answered with
//! a status and a `{"message": ...}` body, and the simulator goes on serving.
#![allow(clippy::indexing_slicing, clippy::panic, clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use hsm_nethsm::sim::{ADMIN_PASSPHRASE, Fault, OPERATOR_PASSPHRASE, SimConfig, Simulator};
use openssl::bn::{BigNum, BigNumContext};
use serde_json::{Value, json};
use support::{ADMIN, RawApi, default_sim, multipart_form};

/// What came back: the status and the body.
struct Answer {
    status: u16,
    body: Vec<u8>,
}

impl Answer {
    /// The `message` of a JSON error body (panics when there is none).
    fn message(&self, what: &str) -> String {
        let value: Value = serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{what}: {} with a body that is not JSON ({e}): {:?}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        });
        match value["message"].as_str() {
            Some(m) if !m.is_empty() => m.to_owned(),
            _ => panic!("{what}: {} without a message: {value}", self.status),
        }
    }

    /// The answer must be `status` with a JSON `message`; returns the message.
    fn refused(&self, what: &str, status: u16) -> String {
        assert_eq!(
            self.status,
            status,
            "{what}: {}",
            String::from_utf8_lossy(&self.body)
        );
        self.message(what)
    }

    /// The JSON body of a success.
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// Sends `method path` as `user` with `body` (content type, bytes); a transport error (a
/// dropped connection, no answer) fails the test.
async fn send(
    api: &RawApi,
    method: &str,
    path: &str,
    user: Option<(&str, &str)>,
    body: Option<(&str, Vec<u8>)>,
) -> Answer {
    let response = api
        .request(method, path, user, body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{method} {path}: no answer: {e:?}"));
    let status = response.status().as_u16();
    let body = response.bytes().await.unwrap().to_vec();
    Answer { status, body }
}

/// [`send`] with a JSON body.
async fn send_json(
    api: &RawApi,
    method: &str,
    path: &str,
    user: (&str, &str),
    body: Value,
) -> Answer {
    let bytes = body.to_string().into_bytes();
    send(
        api,
        method,
        path,
        Some(user),
        Some(("application/json", bytes)),
    )
    .await
}

async fn health(api: &RawApi) -> u16 {
    send(api, "GET", "/health/ready", None, None).await.status
}

/// The default simulator's users, for [`send_json`].
const ADMIN_USER: (&str, &str) = ("admin", ADMIN_PASSPHRASE);
const OPERATOR_USER: (&str, &str) = ("operator", OPERATOR_PASSPHRASE);

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// One TLS connection to a simulator, on which requests are sent one after another: a
/// connection the simulator drops shows as an answer that does not come.
struct Connection(tokio_rustls::client::TlsStream<tokio::net::TcpStream>);

impl Connection {
    async fn open(sim: &Simulator) -> Self {
        let config = hsm_core::tls::client_config(&sim.tls_options()).unwrap();
        let tcp = tokio::net::TcpStream::connect(sim.addr()).await.unwrap();
        let name = rustls_pki_types::ServerName::try_from("127.0.0.1").unwrap();
        let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .unwrap();
        Self(tls)
    }

    /// `GET path` as the admin, kept alive: the status and the body.
    async fn get(&mut self, path: &str) -> Answer {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let auth = b64(format!("admin:{ADMIN_PASSPHRASE}").as_bytes());
        let request = format!(
            "GET /api/v1{path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic {auth}\r\n\r\n"
        );
        self.0.write_all(request.as_bytes()).await.unwrap();
        let mut read = Vec::new();
        let mut chunk = [0u8; 4096];
        let (head_len, content_length) = loop {
            let n = self.0.read(&mut chunk).await.unwrap();
            assert!(n > 0, "GET {path}: the connection closed without an answer");
            read.extend_from_slice(&chunk[..n]);
            if let Some(end) = read.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&read[..end]).to_ascii_lowercase();
                let length = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map_or(0, |v| v.trim().parse::<usize>().unwrap());
                break (end + 4, length);
            }
        };
        while read.len() < head_len + content_length {
            let n = self.0.read(&mut chunk).await.unwrap();
            assert!(
                n > 0,
                "GET {path}: the connection closed in the middle of an answer"
            );
            read.extend_from_slice(&chunk[..n]);
        }
        let status_line = String::from_utf8_lossy(&read[..head_len]).to_string();
        let status = status_line.split(' ').nth(1).unwrap().parse().unwrap();
        let body = read[head_len..head_len + content_length].to_vec();
        Answer { status, body }
    }
}

/// G2: a handler that panics is answered 500 with a JSON message on its connection, which
/// stays open: the next requests on the same connection are answered as usual.
#[test]
fn a_panicking_handler_is_a_500_with_a_message_and_the_simulator_goes_on() {
    let (runtime, mut sim) = default_sim();
    let mut connection = runtime.block_on(Connection::open(&sim));
    runtime.block_on(async {
        assert_eq!(connection.get("/health/ready").await.status, 200);
    });
    sim.inject(Fault::HandlerPanic).unwrap();
    runtime.block_on(async {
        let failed = connection.get("/keys").await;
        failed.refused("the panicking handler", 500);
        // The fault is one request's: the same request is answered now, on that connection.
        let listed = connection.get("/keys").await;
        assert_eq!(listed.status, 200);
        assert_eq!(listed.json(), json!([]));
        assert_eq!(connection.get("/health/ready").await.status, 200);
    });
}

/// A request to send: what it is, method, path, user, JSON body.
type Request = (
    &'static str,
    &'static str,
    &'static str,
    (&'static str, &'static str),
    Value,
);

/// G2 and item 8: while the random-number generator fails, every request that draws random
/// numbers is a 500 whose message says so (an error the simulator returns, not the 500 of a
/// panicking handler), nothing is made from a failed draw, and what draws nothing works; after
/// recovering, the same requests succeed.
#[test]
fn a_failing_random_number_generator_is_a_500_with_a_message() {
    let (runtime, mut sim) = default_sim();
    let api = RawApi::new(&sim);
    let ec = json!({"mechanisms": ["ECDSA_Signature"], "type": "EC_P256", "id": "ec"});
    let rsa = json!({
        "mechanisms": ["RSA_Signature_PKCS1", "RSA_Signature_PSS_SHA256", "RSA_Decryption_RAW"],
        "type": "RSA", "length": 2048, "id": "rsa",
    });
    runtime.block_on(async {
        for key in [&ec, &rsa] {
            let made = send_json(&api, "POST", "/keys/generate", ADMIN_USER, key.clone()).await;
            assert_eq!(made.status, 201);
        }
    });
    // Each draws random numbers on the device.
    let drawing: Vec<Request> = vec![
        (
            "random",
            "POST",
            "/random",
            OPERATOR_USER,
            json!({"length": 32}),
        ),
        (
            "EC generation",
            "POST",
            "/keys/generate",
            ADMIN_USER,
            json!({"mechanisms": ["ECDSA_Signature"], "type": "EC_P256", "id": "ec2"}),
        ),
        (
            "RSA generation",
            "POST",
            "/keys/generate",
            ADMIN_USER,
            json!({"mechanisms": ["RSA_Signature_PKCS1"], "type": "RSA", "length": 1024, "id": "rsa2"}),
        ),
        (
            "ECDSA",
            "POST",
            "/keys/ec/sign",
            OPERATOR_USER,
            json!({"mode": "ECDSA", "message": b64(&[7; 32])}),
        ),
        (
            "PSS",
            "POST",
            "/keys/rsa/sign",
            OPERATOR_USER,
            json!({"mode": "PSS_SHA256", "message": b64(&[7; 32])}),
        ),
        (
            "RAW decryption (blinding)",
            "POST",
            "/keys/rsa/decrypt",
            OPERATOR_USER,
            json!({"mode": "RAW", "encrypted": b64(&[7; 256])}),
        ),
        (
            "an id the device picks",
            "POST",
            "/keys",
            ADMIN_USER,
            json!({"mechanisms": ["EdDSA_Signature"], "type": "Curve25519", "private": {"data": b64(&[9; 32])}}),
        ),
        (
            "TLS key",
            "POST",
            "/config/tls/generate",
            ADMIN_USER,
            json!({"type": "EC_P256"}),
        ),
    ];
    let pkcs1 = json!({"mode": "PKCS1", "message": b64(&[7; 51])});
    sim.inject(Fault::RandomFails).unwrap();
    runtime.block_on(async {
        for (what, method, path, user, body) in &drawing {
            let answer = send_json(&api, method, path, *user, body.clone()).await;
            let message = answer.refused(what, 500);
            assert!(
                message.contains("random-number generator failed"),
                "{what}: {message}"
            );
            assert_eq!(health(&api).await, 200, "after {what}");
        }
        let listed = send(&api, "GET", "/keys", ADMIN, None).await.json();
        assert_eq!(
            listed,
            json!([{"id": "ec"}, {"id": "rsa"}]),
            "nothing was made"
        );
        // A PKCS#1 v1.5 signature draws nothing: it is made as usual.
        let signed = send_json(&api, "POST", "/keys/rsa/sign", OPERATOR_USER, pkcs1.clone()).await;
        assert_eq!(signed.status, 200);
    });
    sim.inject(Fault::Recover).unwrap();
    runtime.block_on(async {
        for (what, method, path, user, body) in &drawing {
            let answer = send_json(&api, method, path, *user, body.clone()).await;
            assert!(
                (200..300).contains(&answer.status),
                "{what} after recovering: {} {}",
                answer.status,
                String::from_utf8_lossy(&answer.body)
            );
        }
    });
}

/// A copy of `n`.
fn dup(n: &openssl::bn::BigNumRef) -> BigNum {
    n.to_owned().unwrap()
}

/// An RSA key's numbers: (n, e, d, p, q), each as OpenSSL holds it.
struct RsaNumbers([BigNum; 5]);

impl RsaNumbers {
    fn generate(bits: u32) -> Self {
        let key = openssl::rsa::Rsa::generate(bits).unwrap();
        Self([
            dup(key.n()),
            dup(key.e()),
            dup(key.d()),
            dup(key.p().unwrap()),
            dup(key.q().unwrap()),
        ])
    }

    fn with(&self, index: usize, value: BigNum) -> Self {
        let mut numbers = self.0.each_ref().map(|n| dup(n));
        numbers[index] = value;
        Self(numbers)
    }

    /// The key as PEM: PKCS#1 (`RSA PRIVATE KEY`) and PKCS#8 (`PRIVATE KEY`), with the CRT
    /// numbers computed from these (whatever they are).
    fn pems(&self) -> [(&'static str, Vec<u8>); 2] {
        let [n, e, d, p, q] = &self.0;
        let mut ctx = BigNumContext::new().unwrap();
        let one = BigNum::from_u32(1).unwrap();
        let crt = |prime: &BigNum, ctx: &mut BigNumContext| {
            let mut minus_one = BigNum::new().unwrap();
            minus_one.checked_sub(prime, &one).unwrap();
            let mut r = BigNum::new().unwrap();
            if minus_one.num_bits() > 0 {
                r.nnmod(d, &minus_one, ctx).unwrap();
            }
            r
        };
        let (dp, dq) = (crt(p, &mut ctx), crt(q, &mut ctx));
        let mut qinv = BigNum::new().unwrap();
        if qinv.mod_inverse(q, p, &mut ctx).is_err() {
            qinv = BigNum::from_u32(1).unwrap();
        }
        let key = openssl::rsa::Rsa::from_private_components(
            dup(n),
            dup(e),
            dup(d),
            dup(p),
            dup(q),
            dp,
            dq,
            qinv,
        )
        .unwrap();
        let pkcs1 = key.private_key_to_pem().unwrap();
        let pkcs8 = openssl::pkey::PKey::from_rsa(key)
            .unwrap()
            .private_key_to_pem_pkcs8()
            .unwrap();
        [("PKCS#1", pkcs1), ("PKCS#8", pkcs8)]
    }
}

/// A `multipart/form-data` import body (`PrivateKeyPem`): the arguments and the PEM key file.
fn pem_import(pem: &[u8]) -> (String, Vec<u8>) {
    let arguments = json!({"mechanisms": ["RSA_Signature_PKCS1"]}).to_string();
    multipart_form(&[
        ("arguments", "application/json", arguments.as_bytes()),
        ("key_file", "application/x-pem-file", pem),
    ])
}

/// G3: RSA keys as PEM (the multipart import of `POST /keys` and `PUT /keys/{id}`, PKCS#1 and
/// PKCS#8) whose numbers are no key: a prime that is not one, equal primes, a modulus that is
/// not the product of the primes, a private exponent that does not invert the public one, a
/// zero prime. Each is a 400 with a message, and the device goes on; the real key's PEM is
/// taken, so only what is wrong is refused.
#[test]
fn pem_rsa_keys_whose_numbers_are_no_key_are_refused_with_400() {
    let (runtime, sim) = default_sim();
    let api = RawApi::new(&sim);
    let good = RsaNumbers::generate(2048);
    let [n, _, d, p, q] = &good.0;
    let mut ctx = BigNumContext::new().unwrap();
    // p + 2k for the first k that makes it composite.
    let mut not_prime = dup(p);
    loop {
        not_prime.add_word(2).unwrap();
        if !not_prime.is_prime(64, &mut ctx).unwrap() {
            break;
        }
    }
    let mut d_plus_two = dup(d);
    d_plus_two.add_word(2).unwrap();
    let other_n = dup(&RsaNumbers::generate(2048).0[0]);
    assert_ne!(&other_n, n);
    let cases = [
        ("p is not prime", good.with(3, not_prime)),
        ("equal primes", good.with(4, dup(p))),
        ("n is not p*q", good.with(0, other_n)),
        ("d does not invert e", good.with(2, d_plus_two)),
        ("q is zero", good.with(4, BigNum::new().unwrap())),
    ];
    assert_ne!(q, p);
    runtime.block_on(async {
        for (what, numbers) in &cases {
            for (form, pem) in numbers.pems() {
                let (content_type, body) = pem_import(&pem);
                for (method, path) in [("PUT", "/keys/badrsa"), ("POST", "/keys")] {
                    let what = format!("{what} ({form}, {method} {path})");
                    let body = Some((content_type.as_str(), body.clone()));
                    let answer = send(&api, method, path, ADMIN, body).await;
                    answer.refused(&what, 400);
                    assert_eq!(health(&api).await, 200, "after {what}");
                }
            }
        }
        let listed = send(&api, "GET", "/keys", ADMIN, None).await.json();
        assert_eq!(listed, json!([]), "a key that is no key was stored");
        for (form, pem) in good.pems() {
            let (content_type, body) = pem_import(&pem);
            let path = format!("/keys/good{}", form.replace('#', ""));
            let answer = send(
                &api,
                "PUT",
                &path,
                ADMIN,
                Some((content_type.as_str(), body)),
            )
            .await;
            assert_eq!(answer.status, 204, "the real key as {form}");
        }
    });
}

/// G6: `POST /config/tls/generate` checks as the device does (keyfender's `generate_x509` and
/// `tls_generate` handler): an RSA length outside 1024..=8192, or none, is refused at once
/// with the device's message; types TLS does not take are refused with the device's message;
/// other types ignore the length.
#[test]
fn tls_key_requests_are_checked_as_the_device_checks_them() {
    let (runtime, sim) = default_sim();
    let api = RawApi::new(&sim);
    runtime.block_on(async {
        let started = Instant::now();
        let refused_lengths = [
            json!({"type": "RSA", "length": 128}),
            json!({"type": "RSA", "length": 1023}),
            json!({"type": "RSA", "length": 8193}),
            json!({"type": "RSA", "length": 0}),
            json!({"type": "RSA"}),
        ];
        for body in refused_lengths {
            let answer = send_json(
                &api,
                "POST",
                "/config/tls/generate",
                ADMIN_USER,
                body.clone(),
            )
            .await;
            let message = answer.refused(&body.to_string(), 400);
            assert_eq!(message, "Length must be between 1024 and 8192.", "{body}");
        }
        for key_type in ["Generic", "EC_P256K1"] {
            let body = json!({"type": key_type, "length": 2048});
            let answer = send_json(&api, "POST", "/config/tls/generate", ADMIN_USER, body).await;
            let message = answer.refused(key_type, 400);
            assert_eq!(
                message,
                format!("Unsupported key type '\"{key_type}\"' for TLS")
            );
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "refusals took {:?}",
            started.elapsed()
        );
        // Every other type ignores the length, whatever it is.
        for (key_type, length) in [
            ("EC_P256", 1),
            ("Curve25519", 100_000),
            ("BrainpoolP256", 8193),
        ] {
            let body = json!({"type": key_type, "length": length});
            let answer = send_json(&api, "POST", "/config/tls/generate", ADMIN_USER, body).await;
            assert_eq!(answer.status, 204, "{key_type} with length {length}");
        }
        let answer = send_json(
            &api,
            "POST",
            "/config/tls/generate",
            ADMIN_USER,
            json!({"type": "RSA", "length": 1024}),
        )
        .await;
        assert_eq!(
            answer.status, 204,
            "RSA 1024, the smallest the device takes"
        );
    });
}

/// A simulator whose requests are all served by ONE tokio worker thread, so that anything
/// that blocks that worker stalls every other client.
fn one_worker_sim() -> (tokio::runtime::Runtime, Simulator) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let sim = Simulator::start(SimConfig::default(), runtime.handle()).unwrap();
    (runtime, sim)
}

/// G6: while a TLS key the device takes is generated (RSA-4096: a few seconds; an 8191-bit
/// one takes a quarter of a minute and is left to `sim_robustness`, this one keeps the test
/// short), a simulator with a single request worker answers health checks and signatures
/// within a short bound: generation runs off the request workers.
#[test]
fn slow_tls_generation_leaves_a_one_worker_simulator_answering() {
    const BOUND: Duration = Duration::from_millis(1500);
    let (sim_runtime, sim) = one_worker_sim();
    let api = Arc::new(RawApi::new(&sim));
    // The client runs on a runtime of its own, so only the simulator has one worker.
    let client = tokio::runtime::Runtime::new().unwrap();
    client.block_on(async {
        let key = json!({"mechanisms": ["ECDSA_Signature"], "type": "EC_P256", "id": "ec"});
        assert_eq!(
            send_json(&api, "POST", "/keys/generate", ADMIN_USER, key)
                .await
                .status,
            201
        );
        assert_eq!(health(&api).await, 200);
        let received = sim.requests();
        let slow = tokio::spawn({
            let api = Arc::clone(&api);
            async move {
                let started = Instant::now();
                let body = json!({"type": "RSA", "length": 4096});
                let answer =
                    send_json(&api, "POST", "/config/tls/generate", ADMIN_USER, body).await;
                (answer.status, started.elapsed())
            }
        });
        // The generation request is in the simulator before the others are sent.
        while sim.requests() == received {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        let sign = json!({"mode": "ECDSA", "message": b64(&[1; 32])});
        let mut answered_while_generating = 0;
        let mut slowest = Duration::ZERO;
        while !slow.is_finished() {
            let started = Instant::now();
            assert_eq!(health(&api).await, 200);
            let signed =
                send_json(&api, "POST", "/keys/ec/sign", OPERATOR_USER, sign.clone()).await;
            assert_eq!(signed.status, 200);
            let took = started.elapsed();
            slowest = slowest.max(took);
            assert!(took < BOUND, "a health check and a signature took {took:?}");
            if !slow.is_finished() {
                answered_while_generating += 1;
            }
        }
        let (status, generation) = slow.await.unwrap();
        assert_eq!(status, 204);
        assert!(
            answered_while_generating >= 3,
            "only {answered_while_generating} answers during a {generation:?} generation"
        );
        println!(
            "RSA-4096 TLS key: {generation:?}; {answered_while_generating} health+sign pairs \
             answered meanwhile, the slowest in {slowest:?}"
        );
    });
    drop(sim);
    drop(sim_runtime);
}
