//! The server on a real socket (`serve_on`), driven with raw HTTP/1.1 over
//! TCP: slow and stalled clients, the connection cap and its back-pressure,
//! graceful shutdown. Timeouts are short here (1–3 s); the assertions are
//! the functional deadlines the limits promise, with a margin.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::routing::get;
use axum::Router;
use sclerad_server::{router, serve_on, AppState, Config, ServeLimits};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{oneshot, watch, Semaphore};
use tokio::task::JoinHandle;

/// How much later than its deadline a limit may act (a loaded machine).
const MARGIN: Duration = Duration::from_secs(3);

const HALF_HEADER: &str = "GET /api/health HTTP/1.1\r\nHost: x\r\n";

fn limits(header: u64, body: u64, write: u64, max_connections: usize) -> ServeLimits {
    ServeLimits {
        header_timeout: Duration::from_secs(header),
        body_timeout: Duration::from_secs(body),
        write_timeout: Duration::from_secs(write),
        max_connections,
    }
}

struct Running {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<io::Result<()>>,
}

impl Running {
    async fn connect(&self) -> TcpStream {
        TcpStream::connect(self.addr).await.expect("connect")
    }

    fn shut_down(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Shuts down and waits (at most `within`) for `serve_on` to return.
    async fn finish(mut self, within: Duration) {
        self.shut_down();
        let ended = tokio::time::timeout(within, &mut self.task)
            .await
            .expect("serve_on returns after shutdown");
        ended.expect("task").expect("serve_on");
    }
}

async fn start(app: Router, limits: ServeLimits) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve_on(listener, app, limits, async move {
        let _ = stopped.await;
    }));
    Running {
        addr,
        stop: Some(stop),
        task,
    }
}

/// The real application over a fresh SQLite store.
async fn sclerad() -> Router {
    let store = super::sqlite().await.expect("sqlite");
    router(AppState::new(store, Config::default()).expect("state"))
}

/// Routes that hold their requests: `/slow` waits until `release` is set
/// (adding a permit to `entered` when it starts), `/fast` answers at once,
/// `/big` answers 32 MiB.
struct Gate {
    entered: Arc<Semaphore>,
    release: watch::Sender<bool>,
}

fn gated() -> (Router, Gate) {
    let entered = Arc::new(Semaphore::new(0));
    let (release, released) = watch::channel(false);
    let inside = Arc::clone(&entered);
    let app = Router::new()
        .route(
            "/slow",
            get(move || {
                let inside = Arc::clone(&inside);
                let mut released = released.clone();
                async move {
                    inside.add_permits(1);
                    let _ = released.wait_for(|r| *r).await;
                    "done"
                }
            }),
        )
        .route("/fast", get(|| async { "fast" }))
        .route("/big", get(|| async { vec![b'x'; 32 << 20] }));
    (app, Gate { entered, release })
}

struct Reply {
    status: u16,
    head: String,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

async fn write(stream: &mut TcpStream, text: &str) {
    stream.write_all(text.as_bytes()).await.expect("write");
}

/// Reads one response (its head lower-cased; a body of Content-Length).
async fn read_reply(stream: &mut TcpStream) -> io::Result<Reply> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(Reply {
        status,
        head,
        body: String::from_utf8_lossy(&buf[head_end..head_end + length]).into_owned(),
    })
}

/// One response, within `limit`.
async fn reply_within(stream: &mut TcpStream, limit: Duration) -> Reply {
    tokio::time::timeout(limit, read_reply(stream))
        .await
        .unwrap_or_else(|_| panic!("no response within {limit:?}"))
        .expect("response")
}

/// Reads until the server closes the connection (end of stream or reset);
/// how long that took, or `None` if it is still open after `limit`.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut chunk = [0u8; 4096];
    tokio::time::timeout(limit, async {
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return start.elapsed(),
                Ok(_) => {}
            }
        }
    })
    .await
    .ok()
}

fn health_request(close: bool) -> String {
    let connection = if close { "close" } else { "keep-alive" };
    format!("GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: {connection}\r\n\r\n")
}

/// A connection that sends nothing, one that sends half a request header
/// and an idle keep-alive connection are all closed by the header timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_and_idle_connections_are_closed_after_the_header_timeout() {
    let timeout = Duration::from_secs(2);
    let server = start(sclerad().await, limits(2, 30, 30, 64)).await;
    let mut silent = server.connect().await;
    let mut half = server.connect().await;
    write(&mut half, HALF_HEADER).await;
    let mut idle = server.connect().await;
    write(&mut idle, &health_request(false)).await;
    let reply = reply_within(&mut idle, Duration::from_secs(2)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["status"], "ok");

    for (what, stream) in [
        ("silent", &mut silent),
        ("half a header", &mut half),
        ("idle keep-alive", &mut idle),
    ] {
        // The three clocks started before this loop: the first wait covers
        // the others.
        let closed = closed_within(stream, timeout + MARGIN).await;
        assert!(
            closed.is_some(),
            "{what}: still open {:?} after the header timeout",
            MARGIN
        );
    }
    server.finish(Duration::from_secs(5)).await;
}

/// The stalled connections are not closed before the header timeout: the
/// timeout, not something else, closes them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_a_header_is_given_the_whole_header_timeout() {
    let server = start(sclerad().await, limits(2, 30, 30, 64)).await;
    let mut half = server.connect().await;
    let start = Instant::now();
    write(&mut half, HALF_HEADER).await;
    let closed = closed_within(&mut half, Duration::from_secs(2) + MARGIN).await;
    assert!(closed.is_some(), "still open after the header timeout");
    assert!(
        start.elapsed() >= Duration::from_millis(1900),
        "closed after {:?}, before the header timeout",
        start.elapsed()
    );
    server.finish(Duration::from_secs(5)).await;
}

/// With more stalled connections than the cap, a health check on a fresh
/// connection is answered within 2 s; the cap holds (the oldest stalled
/// connections were closed to make room, the rest stay until their
/// header timeout); shutdown closes the rest at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_answers_with_more_stalled_connections_than_the_cap() {
    const CAP: usize = 32;
    const STALLED: usize = 60;
    // A header timeout far beyond the 2 s allowed to the health check: the
    // stalled connections must not simply time out first.
    let server = start(sclerad().await, limits(20, 30, 30, CAP)).await;
    let mut stalled = Vec::new();
    for _ in 0..STALLED {
        let mut s = server.connect().await;
        write(&mut s, HALF_HEADER).await;
        stalled.push(s);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    let start = Instant::now();
    let mut health = server.connect().await;
    write(&mut health, &health_request(true)).await;
    let reply = reply_within(&mut health, Duration::from_secs(2)).await;
    assert!(start.elapsed() < Duration::from_secs(2));
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["status"], "ok");

    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut open = 0;
    for s in &mut stalled {
        if closed_within(s, Duration::from_millis(20)).await.is_none() {
            open += 1;
        }
    }
    assert!(
        open <= CAP,
        "{open} stalled connections open, over the cap of {CAP}"
    );
    assert!(
        open >= CAP / 2,
        "only {open} stalled connections held: the newest ones should wait for their header timeout"
    );

    let mut server = server;
    server.shut_down();
    for s in &mut stalled {
        assert!(
            closed_within(s, Duration::from_secs(2)).await.is_some(),
            "a stalled connection outlived shutdown"
        );
    }
    server.finish(Duration::from_secs(2)).await;
}

/// A body that stops arriving is answered 408 within the body timeout and
/// its connection closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_body_is_answered_408_within_the_body_timeout() {
    let server = start(sclerad().await, limits(20, 2, 30, 64)).await;
    let mut slow = server.connect().await;
    let start = Instant::now();
    write(
        &mut slow,
        "POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Content-Length: 100\r\n\r\n{\"name\": \"",
    )
    .await;
    let reply = reply_within(&mut slow, Duration::from_secs(2) + MARGIN).await;
    assert!(
        start.elapsed() >= Duration::from_millis(1900),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(reply.status, 408, "{}", reply.body);
    assert_eq!(reply.json()["error"], "request_timeout");
    assert!(reply.head.contains("connection: close"), "{}", reply.head);
    assert!(
        closed_within(&mut slow, Duration::from_secs(1))
            .await
            .is_some(),
        "the connection stays open after 408"
    );
    server.finish(Duration::from_secs(5)).await;
}

/// Requests with and without bodies on one keep-alive connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn normal_requests_share_a_keep_alive_connection() {
    let server = start(sclerad().await, limits(5, 5, 5, 64)).await;
    let mut c = server.connect().await;
    write(&mut c, &health_request(false)).await;
    let reply = reply_within(&mut c, Duration::from_secs(2)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);

    let login = r#"{"name": "nobody", "password": "wrong password here"}"#;
    write(
        &mut c,
        &format!(
            "POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{login}",
            login.len()
        ),
    )
    .await;
    let reply = reply_within(&mut c, Duration::from_secs(10)).await;
    assert_eq!(reply.status, 401, "{}", reply.body);
    assert_eq!(reply.json()["error"], "unauthenticated");

    write(&mut c, &health_request(true)).await;
    let reply = reply_within(&mut c, Duration::from_secs(2)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["backend"], "sqlite");
    server.finish(Duration::from_secs(5)).await;
}

/// At the cap with every connection being worked on, a new connection is
/// neither refused nor answered 503: it waits for a slot, and the requests
/// being worked on are not cut off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_cap_new_connections_wait_for_a_slot() {
    let (app, gate) = gated();
    let server = start(app, limits(20, 20, 20, 2)).await;
    let mut slow = Vec::new();
    for _ in 0..2 {
        let mut s = server.connect().await;
        write(&mut s, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n").await;
        slow.push(s);
    }
    let entered = tokio::time::timeout(Duration::from_secs(5), gate.entered.acquire_many(2))
        .await
        .expect("both slow requests started");
    entered.expect("semaphore").forget();

    let mut waiting = server.connect().await;
    write(
        &mut waiting,
        "GET /fast HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    let mut byte = [0u8; 1];
    let early = tokio::time::timeout(Duration::from_millis(700), waiting.read(&mut byte)).await;
    assert!(
        early.is_err(),
        "at the cap, a new connection was answered or closed: {early:?}"
    );

    gate.release.send_replace(true);
    for s in &mut slow {
        let reply = reply_within(s, Duration::from_secs(2)).await;
        assert_eq!((reply.status, reply.body.as_str()), (200, "done"));
    }
    let reply = reply_within(&mut waiting, Duration::from_secs(2)).await;
    assert_eq!((reply.status, reply.body.as_str()), (200, "fast"));
    server.finish(Duration::from_secs(5)).await;
}

/// A client that stops reading its response is closed after the write
/// timeout: it receives far less than the 32 MiB it asked for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_does_not_read_is_closed_after_the_write_timeout() {
    let (app, _gate) = gated();
    let server = start(app, limits(20, 20, 1, 8)).await;
    let socket = TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("receive buffer");
    let mut c = socket.connect(server.addr).await.expect("connect");
    write(&mut c, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n").await;
    tokio::time::sleep(Duration::from_secs(1) + MARGIN).await;
    let mut received = 0usize;
    let mut chunk = vec![0u8; 1 << 16];
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match c.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received += n,
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the connection is still open");
    assert!(
        received < 32 << 20,
        "received all {received} bytes: the stalled write was not cut off"
    );
    server.finish(Duration::from_secs(5)).await;
}

/// On shutdown the listener closes, connections waiting for headers close
/// at once, the request in flight finishes (and its connection closes), and
/// `serve_on` returns after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_refuses_new_connections_and_finishes_requests_in_flight() {
    let (app, gate) = gated();
    let mut server = start(app, limits(20, 20, 20, 16)).await;
    let mut in_flight = server.connect().await;
    write(&mut in_flight, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n").await;
    let mut stalled = server.connect().await;
    write(&mut stalled, "GET /fast HTTP/1.1\r\nHost: x\r\n").await;
    let entered = tokio::time::timeout(Duration::from_secs(5), gate.entered.acquire())
        .await
        .expect("the slow request started");
    entered.expect("semaphore").forget();

    server.shut_down();
    assert!(
        closed_within(&mut stalled, Duration::from_secs(2))
            .await
            .is_some(),
        "a connection waiting for headers outlived shutdown"
    );
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        match TcpStream::connect(server.addr).await {
            Err(_) => break,
            Ok(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Ok(_) => panic!("still accepting connections after shutdown"),
        }
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !server.task.is_finished(),
        "returned with a request in flight"
    );

    gate.release.send_replace(true);
    let reply = reply_within(&mut in_flight, Duration::from_secs(2)).await;
    assert_eq!((reply.status, reply.body.as_str()), (200, "done"));
    assert!(
        closed_within(&mut in_flight, Duration::from_secs(2))
            .await
            .is_some(),
        "kept alive after shutdown"
    );
    server.finish(Duration::from_secs(2)).await;
}

const CA: &[u8] = include_bytes!("../fixtures/tls/ca.pem");
const CERT: &[u8] = include_bytes!("../fixtures/tls/cert.pem");
const KEY: &[u8] = include_bytes!("../fixtures/tls/key.pem");
const OTHER_KEY: &[u8] = include_bytes!("../fixtures/tls/other-key.pem");

fn tls() -> sclerad_server::TlsConfig {
    sclerad_server::TlsConfig::from_pem("cert.pem", CERT, "key.pem", KEY).expect("the fixture")
}

/// A client that trusts the fixtures' CA.
fn client() -> tokio_rustls::TlsConnector {
    use rustls_pki_types::pem::PemObject;
    use tokio_rustls::rustls;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pki_types::CertificateDer::pem_slice_iter(CA) {
        roots.add(cert.expect("a certificate")).expect("trusted");
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

async fn start_tls(app: Router, limits: ServeLimits) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(sclerad_server::serve_tls_on(
        listener,
        app,
        limits,
        tls(),
        async move {
            let _ = stopped.await;
        },
    ));
    Running {
        addr,
        stop: Some(stop),
        task,
    }
}

/// HTTPS with the given certificate: the API answers over TLS (two
/// requests on one connection), a plain HTTP request to the TLS port gets
/// no answer, a client that never starts its handshake is closed after the
/// header timeout, and shutdown still ends the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_is_served_with_the_given_certificate() {
    let server = start_tls(sclerad().await, limits(2, 2, 2, 64)).await;
    let tcp = server.connect().await;
    let name = rustls_pki_types::ServerName::try_from("localhost").expect("name");
    let mut tls = client().connect(name, tcp).await.expect("handshake");
    for _ in 0..2 {
        tls.write_all(b"GET /api/health HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .await
            .expect("send");
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        while !String::from_utf8_lossy(&buf).contains("\"ok\"") {
            let n = tokio::time::timeout(MARGIN, tls.read(&mut chunk))
                .await
                .expect("an answer in time")
                .expect("read");
            assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&buf));
            buf.extend_from_slice(&chunk[..n]);
        }
        assert!(
            String::from_utf8_lossy(&buf).starts_with("HTTP/1.1 200"),
            "{}",
            String::from_utf8_lossy(&buf)
        );
    }
    // Plain HTTP to the TLS port: no HTTP answer, the connection closed.
    let mut plain = server.connect().await;
    write(&mut plain, "GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n").await;
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(MARGIN, plain.read_to_end(&mut buf)).await;
    assert!(!String::from_utf8_lossy(&buf).contains("200 OK"));
    // A client that never starts its handshake: closed within the header
    // timeout.
    let mut silent = server.connect().await;
    let closed = closed_within(&mut silent, Duration::from_secs(2) + MARGIN).await;
    assert!(closed.is_some(), "a silent client is closed");
    server.finish(MARGIN).await;
}

/// A certificate or key that cannot serve is refused naming its file.
#[test]
fn unusable_certificates_and_keys_are_named() {
    use sclerad_server::{TlsConfig, TlsError};
    let no_cert = TlsConfig::from_pem("a.pem", b"not a certificate", "key.pem", KEY)
        .expect_err("no certificate");
    assert!(matches!(no_cert, TlsError::Certificate { .. }), "{no_cert}");
    assert!(no_cert.to_string().starts_with("a.pem: "), "{no_cert}");
    let no_key = TlsConfig::from_pem("cert.pem", CERT, "k.pem", CERT).expect_err("no key");
    assert!(
        no_key
            .to_string()
            .starts_with("k.pem: holds no private key"),
        "{no_key}"
    );
    let swapped = TlsConfig::from_pem("cert.pem", KEY, "key.pem", KEY).expect_err("a key as cert");
    assert!(matches!(swapped, TlsError::Certificate { .. }), "{swapped}");
    match TlsConfig::from_pem("cert.pem", CERT, "other.pem", OTHER_KEY) {
        Err(TlsError::Refused { reason, .. }) => assert!(!reason.is_empty()),
        other => panic!("a key of another certificate is refused: {other:?}"),
    }
}
