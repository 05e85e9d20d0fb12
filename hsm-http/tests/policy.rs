//! The crate's rules, each against a server on loopback (wiremock for exact statuses and
//! counts; a raw TCP server where the body must stream without end): status to kind, what is
//! repeated for idempotent requests and what is not, the budget covering every repeat, the body
//! cap, and no secret anywhere a caller or a log can see.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hsm_core::testkit::{Secrets, TraceCapture, error_text};
use hsm_core::{DeviceStatus, ErrorKind};
use hsm_http::{
    BasicAuth, BudgetSplit, Failure, HttpClient, HttpClientBuilder, Method, Request, RetryPolicy,
};
use secrecy::SecretString;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Scheduling slack on a loaded 2-core machine.
const SLACK: Duration = Duration::from_millis(700);

fn builder(server: &MockServer) -> HttpClientBuilder {
    builder_at(server.address().port())
}

/// A client of the plain-HTTP device on `port`, with [`fast`] repeats.
fn builder_at(port: u16) -> HttpClientBuilder {
    HttpClient::builder("test device", "127.0.0.1", port, "/api/")
        .danger_plain_http()
        .policy(fast())
}

fn fast() -> RetryPolicy {
    RetryPolicy::default()
        .with_retry_delay(Duration::from_millis(10))
        .with_throttle(2, Duration::from_millis(50))
}

async fn count(server: &MockServer) -> usize {
    server.received_requests().await.map_or(0, |r| r.len())
}

/// The failure's error says `text`.
fn assert_says(failure: &Failure, text: &str) {
    assert!(
        failure.error.to_string().contains(text),
        "{}",
        failure.error
    );
}

/// The server saw `n` requests (`why`: the rule that says so).
async fn assert_seen(server: &MockServer, n: usize, why: &str) {
    assert_eq!(count(server).await, n, "{why}");
}

/// `first` once, then `then` for every later request, at `/api/x`.
async fn script(server: &MockServer, first: ResponseTemplate, then: ResponseTemplate) {
    server.reset().await;
    Mock::given(path("/api/x"))
        .respond_with(first)
        .up_to_n_times(1)
        .with_priority(1)
        .mount(server)
        .await;
    Mock::given(path("/api/x"))
        .respond_with(then)
        .with_priority(2)
        .mount(server)
        .await;
}

/// Status `first` once, then `then` for every later request, at `/api/x` (empty bodies).
async fn statuses(server: &MockServer, first: u16, then: u16) {
    script(
        server,
        ResponseTemplate::new(first),
        ResponseTemplate::new(then),
    )
    .await;
}

/// Status `status` with a body of `len` bytes once, then `200`, at `/api/x`.
async fn body_of(server: &MockServer, status: u16, len: usize) {
    let body = ResponseTemplate::new(status).set_body_bytes(vec![b'a'; len]);
    script(server, body, ResponseTemplate::new(200)).await;
}

fn get() -> Request {
    Request::new("test.get", Method::GET, ["x"])
}

fn post() -> Request {
    Request::new("test.create", Method::POST, ["x"]).body("application/json", b"{}".to_vec())
}

#[tokio::test]
async fn every_status_maps_through_hsm_cores_one_table() {
    let server = MockServer::start().await;
    let client = builder(&server)
        .policy(RetryPolicy::none())
        .build()
        .unwrap();
    // The table's headline entries, spelled out (not recomputed): the rules this crate documents.
    let expected = [
        (400, ErrorKind::InvalidInput),
        (401, ErrorKind::AuthenticationFailed { retries_left: None }),
        (403, ErrorKind::PermissionDenied),
        (404, ErrorKind::NotFound),
        (408, ErrorKind::Timeout),
        (409, ErrorKind::AlreadyExists),
        (412, ErrorKind::InvalidState),
        (422, ErrorKind::InvalidInput),
        (423, ErrorKind::InvalidState),
        (429, ErrorKind::Unavailable),
        (500, ErrorKind::Device),
        (502, ErrorKind::Unavailable),
        (503, ErrorKind::Unavailable),
        (504, ErrorKind::Timeout),
    ];
    for (status, kind) in expected {
        assert_eq!(ErrorKind::from_http_status(status), kind, "{status}");
        script(
            &server,
            ResponseTemplate::new(status).set_body_string("device text"),
            ResponseTemplate::new(200),
        )
        .await;
        let failure = client.call(&get()).await.unwrap_err();
        assert_eq!(failure.error.kind(), kind, "{status}");
        assert_eq!(failure.error.status(), Some(&DeviceStatus::Http(status)));
        // The answer stays with the failure, for a backend that reads the device's text.
        let answer = failure.answer.as_ref().unwrap();
        assert_eq!(answer.status(), status);
        assert_eq!(answer.body(), b"device text");
        assert_seen(
            &server,
            1,
            &format!("{status}: one attempt with RetryPolicy::none"),
        )
        .await;
    }
}

#[tokio::test]
async fn a_408_or_504_is_repeated_only_when_the_request_is_idempotent() {
    let server = MockServer::start().await;
    let client = builder(&server).build().unwrap();
    for status in [408, 504, 500, 502] {
        script(
            &server,
            ResponseTemplate::new(status),
            ResponseTemplate::new(200).set_body_string("ok"),
        )
        .await;
        let answer = client.call(&get()).await.unwrap();
        assert_eq!(answer.body(), b"ok", "{status}");
        assert_eq!(count(&server).await, 2, "{status}: a GET goes again");

        statuses(&server, status, 200).await;
        let failure = client.call(&post()).await.unwrap_err();
        assert_eq!(failure.error.kind(), ErrorKind::from_http_status(status));
        assert!(
            failure.outcome_unknown,
            "{status}: the device may have acted"
        );
        assert_seen(&server, 1, &format!("{status}: a POST is never sent twice")).await;

        // A POST the backend marks idempotent (a signature) goes again.
        statuses(&server, status, 200).await;
        assert!(client.call(&post().idempotent(true)).await.is_ok());
        assert_eq!(count(&server).await, 2, "{status}");
    }
    // Attempts run out: 3 in all, then the last error.
    statuses(&server, 504, 504).await;
    let failure = client.call(&get()).await.unwrap_err();
    assert_eq!(failure.error.kind(), ErrorKind::Timeout);
    assert!(!failure.outcome_unknown);
    assert_eq!(count(&server).await, 3);
}

#[tokio::test]
async fn a_503_a_429_and_final_statuses() {
    let server = MockServer::start().await;
    // 503 to a POST: outcome unknown unless the device documents that it did nothing.
    let client = builder(&server).build().unwrap();
    statuses(&server, 503, 200).await;
    let failure = client.call(&post()).await.unwrap_err();
    assert!(failure.outcome_unknown);
    assert_eq!(count(&server).await, 1);
    let trusting = builder(&server)
        .policy(fast().with_unavailable_means_not_done(true))
        .build()
        .unwrap();
    statuses(&server, 503, 200).await;
    let failure = trusting.call(&post()).await.unwrap_err();
    assert!(!failure.outcome_unknown);
    assert_eq!(failure.error.kind(), ErrorKind::Unavailable);
    assert_eq!(count(&server).await, 1);

    // 429: nothing was done, so even a POST is sent again after the wait.
    statuses(&server, 429, 201).await;
    let started = Instant::now();
    assert_eq!(client.call(&post()).await.unwrap().status(), 201);
    assert!(started.elapsed() >= Duration::from_millis(50));
    assert_eq!(count(&server).await, 2);
    // ... at most `throttle_retries` times.
    statuses(&server, 429, 429).await;
    let failure = client.call(&get()).await.unwrap_err();
    assert_eq!(failure.status_code(), Some(429));
    assert_eq!(count(&server).await, 3);

    // 401 and 404 are final, even for a GET: no automatic password retry.
    for status in [401, 404, 409] {
        statuses(&server, status, 200).await;
        let failure = client.call(&get()).await.unwrap_err();
        assert_eq!(failure.status_code(), Some(status));
        assert_eq!(count(&server).await, 1, "{status}");
    }
    // 304 is an answer (a value set to what it already was).
    statuses(&server, 304, 200).await;
    assert_eq!(client.call(&get()).await.unwrap().status(), 304);
}

#[tokio::test]
async fn the_timeout_is_the_whole_calls_budget_repeats_included() {
    let server = MockServer::start().await;
    let budget = Duration::from_millis(900);
    let stall = ResponseTemplate::new(200).set_delay(Duration::from_secs(30));

    // Shared: each of the 3 attempts of a GET gets a third of what is left; the call ends in
    // Timeout after one budget, not three.
    let shared = builder(&server).timeout(budget).build().unwrap();
    script(&server, stall.clone(), stall.clone()).await;
    let started = Instant::now();
    let failure = shared.call(&get()).await.unwrap_err();
    let took = started.elapsed();
    assert_eq!(
        failure.error.kind(),
        ErrorKind::Timeout,
        "{}",
        failure.error
    );
    assert!(took >= budget - Duration::from_millis(50), "{took:?}");
    assert!(took < budget + SLACK, "{took:?}");
    assert_eq!(count(&server).await, 3);
    // ... so a stall on the first attempt still leaves time for an answer.
    script(&server, stall.clone(), ResponseTemplate::new(200)).await;
    let started = Instant::now();
    assert!(shared.call(&get()).await.is_ok());
    assert!(started.elapsed() < budget, "{:?}", started.elapsed());

    // Whole: one attempt may take the whole budget; nothing is left for a second.
    let whole = builder(&server)
        .timeout(budget)
        .policy(fast().with_split(BudgetSplit::Whole))
        .build()
        .unwrap();
    script(&server, stall.clone(), ResponseTemplate::new(200)).await;
    let started = Instant::now();
    let failure = whole.call(&get()).await.unwrap_err();
    let took = started.elapsed();
    assert_eq!(failure.error.kind(), ErrorKind::Timeout);
    assert!(took >= budget - Duration::from_millis(50), "{took:?}");
    assert!(took < budget + SLACK, "{took:?}");
    assert_eq!(count(&server).await, 1);

    // A POST is never cut short to be sent again: one attempt, all the budget, outcome unknown.
    script(&server, stall.clone(), ResponseTemplate::new(200)).await;
    let started = Instant::now();
    let failure = shared.call(&post()).await.unwrap_err();
    assert!(started.elapsed() >= budget - Duration::from_millis(50));
    assert!(failure.outcome_unknown);
    assert_eq!(count(&server).await, 1);

    // Waits count too: 500s with long pauses between attempts end within the budget.
    let patient = builder(&server)
        .timeout(budget)
        .policy(fast().with_retry_delay(Duration::from_millis(600)))
        .build()
        .unwrap();
    statuses(&server, 500, 500).await;
    let started = Instant::now();
    let failure = patient.call(&get()).await.unwrap_err();
    assert!(
        started.elapsed() < budget + SLACK,
        "{:?}",
        started.elapsed()
    );
    assert_eq!(failure.status_code(), Some(500));
    assert_seen(&server, 2, "the third attempt would start past the budget").await;
}

#[tokio::test]
async fn an_announced_body_over_the_cap_is_refused_unread() {
    let server = MockServer::start().await;
    let client = builder(&server).max_body(64 << 10).build().unwrap();
    body_of(&server, 200, 1 << 20).await;
    let failure = client.call(&get()).await.unwrap_err();
    assert_eq!(failure.error.kind(), ErrorKind::Protocol);
    assert_says(&failure, "announces 1048576 bytes");
    assert_eq!(count(&server).await, 1, "not repeated");
    // Exactly the cap is read.
    body_of(&server, 200, 64 << 10).await;
    assert_eq!(client.call(&get()).await.unwrap().body().len(), 64 << 10);
    // Over the cap on a creation: the device answered, so it may have acted.
    body_of(&server, 201, 1 << 20).await;
    assert!(client.call(&post()).await.unwrap_err().outcome_unknown);
}

/// A server that answers every request with a chunked body of `total` bytes and counts what it
/// managed to write before the client hung up.
async fn endless_body_server(total: usize) -> (u16, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let written = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&written);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let counter = Arc::clone(&counter);
            tokio::spawn(async move {
                let mut head = [0u8; 4096];
                let _ = stream.read(&mut head).await;
                let _ = stream
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ntransfer-encoding: chunked\r\n\r\n")
                    .await;
                let chunk = vec![b'z'; 16 << 10];
                let framed = [
                    format!("{:x}\r\n", chunk.len()).into_bytes(),
                    chunk,
                    b"\r\n".to_vec(),
                ]
                .concat();
                let mut sent = 0;
                while sent < total {
                    if stream.write_all(&framed).await.is_err() {
                        return;
                    }
                    sent += 16 << 10;
                    counter.store(sent, Ordering::SeqCst);
                }
                let _ = stream.write_all(b"0\r\n\r\n").await;
            });
        }
    });
    (port, written)
}

#[tokio::test]
async fn a_streamed_body_over_the_cap_is_cut_off_without_reading_it_all() {
    let total = 256 << 20;
    let (port, written) = endless_body_server(total).await;
    let client = builder_at(port).max_body(256 << 10).build().unwrap();
    let started = Instant::now();
    let failure = client.call(&get()).await.unwrap_err();
    assert_eq!(failure.error.kind(), ErrorKind::Protocol);
    assert_says(&failure, "longer than the limit of 262144 bytes");
    // The client hung up: the server's writes fail long before the 256 MiB are out.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let sent = written.load(Ordering::SeqCst);
    assert!(sent < 32 << 20, "the server wrote {sent} bytes");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_dead_endpoint_is_failed_over_and_a_closed_port_fails_fast() {
    let server = MockServer::start().await;
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    // Two endpoints, the first dead: every call lands on the second, a POST included (nothing
    // was sent to the dead one).
    let client = builder_at(closed)
        .endpoint("127.0.0.1", server.address().port())
        .build()
        .unwrap();
    statuses(&server, 200, 200).await;
    for _ in 0..3 {
        assert!(client.call(&post()).await.is_ok());
    }
    assert_eq!(client.endpoints_up(), [false, true]);
    // One closed endpoint: Unavailable, "cannot connect", fast.
    let alone = builder_at(closed).build().unwrap();
    let started = Instant::now();
    let failure = alone.call(&get()).await.unwrap_err();
    assert_eq!(failure.error.kind(), ErrorKind::Unavailable);
    assert_says(&failure, "cannot connect to the test device");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn no_secret_in_logs_errors_or_debug() {
    const PASSWORD: &str = "pw-Very-Secret-4711";
    const PIN: &str = "PIN-90210-secret";
    let mut secrets = Secrets::new();
    secrets
        .text(PASSWORD)
        .text(PIN)
        .basic_auth("operator", PASSWORD);
    let capture = TraceCapture::new();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut seen = String::new();
    capture.in_scope(|| {
        runtime.block_on(async {
            let server = MockServer::start().await;
            let client = builder(&server)
                .timeout(Duration::from_millis(600))
                .build()
                .unwrap();
            let auth = BasicAuth::new("operator", SecretString::from(PASSWORD));
            // The PIN in the path (as the N200's GET API has it) and in the body (a form).
            let request = Request::new("test.sign", Method::POST, ["x", PIN])
                .query([("pin", PIN)])
                .body(
                    "application/x-www-form-urlencoded",
                    format!("pin={PIN}").into_bytes(),
                )
                .basic_auth(Some(auth.clone()))
                .idempotent(true);
            Mock::given(method("POST"))
                .respond_with(ResponseTemplate::new(401))
                .mount(&server)
                .await;
            seen += &format!("{request:?}\n{client:?}\n{auth:?}\n");
            let failure = client.call(&request).await.unwrap_err();
            assert!(failure.error.is_auth());
            // The password did travel, in the header only.
            let sent = server.received_requests().await.unwrap();
            let header = sent[0]
                .headers
                .get("authorization")
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned();
            assert!(header.starts_with("Basic "));
            seen += &format!("{failure:?}\n{}\n", error_text(&failure.error));
            // A timeout and a connection failure carry no URL either.
            server.reset().await;
            Mock::given(method("POST"))
                .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(10)))
                .mount(&server)
                .await;
            let failure = client.call(&request).await.unwrap_err();
            assert_eq!(failure.error.kind(), ErrorKind::Timeout);
            seen += &format!("{failure:?}\n{}\n", error_text(&failure.error));
            let closed = {
                let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
                l.local_addr().unwrap().port()
            };
            let dead = HttpClient::builder("test device", "127.0.0.1", closed, "/api/")
                .danger_plain_http()
                .build()
                .unwrap();
            let failure = dead.call(&request).await.unwrap_err();
            seen += &format!("{failure:?}\n{}\n", error_text(&failure.error));
        });
    });
    let log = capture.text();
    assert!(log.contains("test.sign"), "the spans were captured: {log}");
    secrets.assert_absent("the log", &log);
    secrets.assert_absent("errors and Debug", &seen);
}

#[tokio::test]
async fn a_request_may_carry_its_own_budget_and_pools_may_come_from_the_backend() {
    let server = MockServer::start().await;
    let base = url::Url::parse(&format!("{}/api/", server.uri())).unwrap();
    let tls = hsm_core::tls::client_config(&hsm_core::tls::TlsOptions::default()).unwrap();
    let pool = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .build()
        .unwrap();
    let client = HttpClient::pool_builder("test device")
        .timeout(Duration::from_secs(30))
        .policy(fast().with_split(BudgetSplit::Whole))
        .build_over(vec![(base, pool)]);
    script(
        &server,
        ResponseTemplate::new(200).set_delay(Duration::from_secs(30)),
        ResponseTemplate::new(200),
    )
    .await;
    let started = Instant::now();
    let failure = client
        .call(&get().budget(Duration::from_millis(400)))
        .await
        .unwrap_err();
    assert_eq!(failure.error.kind(), ErrorKind::Timeout);
    assert!(
        started.elapsed() < Duration::from_millis(400) + SLACK,
        "{:?}",
        started.elapsed()
    );
    assert!(
        failure.error.to_string().contains("within 39")
            || failure.error.to_string().contains("within 400 ms"),
        "{}",
        failure.error
    );
    assert!(
        !client.endpoint_up(0),
        "a timed-out endpoint leaves the rotation"
    );
    assert_eq!(client.endpoints_up().len(), 1);
}
