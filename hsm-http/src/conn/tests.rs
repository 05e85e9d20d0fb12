//! The pool against servers on loopback, and the credentials' encoding.

use tokio::io::AsyncReadExt as _;

use super::*;

#[test]
fn base64_of_credentials() {
    assert_eq!(base64_encode(b""), "");
    assert_eq!(base64_encode(b"f"), "Zg==");
    assert_eq!(base64_encode(b"fo"), "Zm8=");
    assert_eq!(base64_encode(b"foo"), "Zm9v");
    assert_eq!(
        base64_encode(b"operator:operatorpassphrase"),
        "b3BlcmF0b3I6b3BlcmF0b3JwYXNzcGhyYXNl"
    );
}

/// A GET of `url` without credentials, reading at most `cap` body bytes.
fn get(url: &Url, cap: usize) -> Outgoing<'_> {
    Outgoing {
        operation: "t",
        device: "dev",
        cap,
        method: &reqwest::Method::GET,
        url,
        auth: None,
        body: None,
    }
}

fn pool(port: u16) -> Pool {
    Pool::new(PoolConfig {
        host_header: format!("127.0.0.1:{port}"),
        host: "127.0.0.1".into(),
        port,
        addrs: None,
        tls: None,
        connect_timeout: Duration::from_secs(5),
        idle_timeout: Duration::from_secs(60),
        max_idle: 4,
    })
}

/// A server that answers each connection's requests with `answers` in turn (one per
/// request), then closes it; what it read is returned through the channel.
async fn server(
    answers: Vec<&'static [u8]>,
) -> (u16, tokio::sync::mpsc::UnboundedReceiver<Vec<u8>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        for answer in answers {
            let mut got = Vec::new();
            let mut buf = [0u8; 4096];
            while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = socket.read(&mut buf).await.unwrap();
                if n == 0 {
                    return;
                }
                got.extend_from_slice(&buf[..n]);
            }
            let _ = tx.send(got);
            socket.write_all(answer).await.unwrap();
        }
    });
    (port, rx)
}

/// `request`'s answer through `pool`: its status and body.
async fn exchange(pool: &Pool, request: &Outgoing<'_>) -> (u16, Vec<u8>) {
    let answer = pool.exchange(request).await.unwrap();
    (answer.status, answer.body)
}

/// The next request the server read, as text.
async fn next_request(seen: &mut tokio::sync::mpsc::UnboundedReceiver<Vec<u8>>) -> String {
    String::from_utf8(seen.recv().await.unwrap()).unwrap()
}

/// A pool for a [`server`] that gives `answers`, the server's URL, and the requests it reads.
async fn serve(
    answers: Vec<&'static [u8]>,
) -> (Pool, Url, tokio::sync::mpsc::UnboundedReceiver<Vec<u8>>) {
    let (port, seen) = server(answers).await;
    let url = Url::parse(&format!("http://127.0.0.1:{port}/api/a%2Fb?q=1")).unwrap();
    (pool(port), url, seen)
}

#[tokio::test]
async fn chunked_and_sized_answers_and_the_connection_kept_only_when_it_can_be() {
    let (pool, url, mut seen) = serve(vec![
        b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nTrailer: 1\r\n\r\n",
    ]).await;
    let auth = BasicAuth::new("user", secrecy::SecretString::from("pw"));
    let with_auth = Outgoing {
        auth: Some(&auth),
        ..get(&url, 1024)
    };
    assert_eq!(exchange(&pool, &with_auth).await, (200, b"hello".to_vec()));
    let request = next_request(&mut seen).await;
    assert!(
        request.starts_with("GET /api/a%2Fb?q=1 HTTP/1.1\r\n"),
        "{request}"
    );
    assert!(
        request.contains("authorization: Basic dXNlcjpwdw==\r\n"),
        "{request}"
    );
    assert_eq!(pool.idle_count(), 1, "kept for the next request");
    let post = Outgoing {
        method: &reqwest::Method::POST,
        body: Some(("application/json", b"{}")),
        ..get(&url, 1024)
    };
    assert_eq!(exchange(&pool, &post).await, (201, b"abcde".to_vec()));
    let request = next_request(&mut seen).await;
    assert!(request.contains("content-length: 2\r\n\r\n"), "{request}");
    assert_eq!(pool.idle_count(), 0, "not kept after a chunked answer");
}

#[tokio::test]
async fn a_connection_the_server_closed_is_not_reused() {
    let (pool, url, _seen) = serve(vec![b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"]).await;
    let _ = pool.exchange(&get(&url, 1024)).await.unwrap();
    assert_eq!(pool.idle_count(), 1);
    // The server task ends and closes the socket.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        pool.checkout().await.is_none(),
        "a closed connection is dropped"
    );
}

#[tokio::test]
async fn a_chunked_body_over_the_cap_is_too_big() {
    let (pool, url, _seen) = serve(vec![
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n",
    ])
    .await;
    assert!(matches!(
        pool.exchange(&get(&url, 8)).await,
        Err(Fault::TooBig(_))
    ));
}

#[tokio::test]
async fn a_connection_with_bytes_past_its_answer_is_not_reused() {
    let (pool, url, _seen) = serve(vec![
        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokHTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
    ]).await;
    assert_eq!(
        exchange(&pool, &get(&url, 1024)).await,
        (200, b"ok".to_vec())
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        pool.checkout().await.is_none(),
        "the bytes past the answer would be read as the next request's answer"
    );
}
