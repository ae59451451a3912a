//! Serving the application on a socket, safe from slow and hostile clients.
//!
//! `axum::serve` has no limits: a client that opens a connection and sends
//! half a request header holds it (and a file descriptor) forever, so a few
//! hundred such clients exhaust the descriptors of a server started with
//! `ulimit -n 256` and `/api/health` stops answering. This module has its own
//! accept loop over hyper's HTTP/1.1 connections, with these rules
//! ([`ServeLimits`] holds the numbers):
//!
//! - **Header timeout.** A connection must deliver complete request headers
//!   within `header_timeout` (30 s) of being accepted, and again within
//!   `header_timeout` of the end of each response: the same clock closes
//!   stalled clients and idle keep-alive connections.
//! - **Body timeout.** A request body must have arrived completely within
//!   `body_timeout` (30 s) of the end of its headers. If not, the request is
//!   answered 408 (`request_timeout`) and the connection is closed.
//! - **Write timeout.** A response write that makes no progress for
//!   `write_timeout` (30 s), a client that does not read, closes the
//!   connection.
//! - **Connection cap with back-pressure.** At most [`connection_cap`]
//!   connections are served at once: `max_connections` (1024), and never more
//!   than the soft `RLIMIT_NOFILE` less [`FD_RESERVE`] descriptors kept for
//!   the database, the log and files (at least [`MIN_CONNECTIONS`]). A failing
//!   `accept` never ends the server: out of descriptors (`EMFILE`,
//!   `ENFILE`), it closes a connection waiting on its client as below and
//!   retries at once; otherwise, or with none to close, it retries after
//!   [`ACCEPT_RETRY`].
//!
//! **Who waits at the cap.** Each connection is, at any moment, either
//! *waiting on its client* (for request headers, or for more of a request
//! body) or *being worked on* by the server (a handler running, a response
//! being written). When a new connection arrives and every slot is taken, the
//! connection that has been waiting on its client the longest (since it was
//! accepted or its last response ended, for headers; since its headers ended,
//! for a body) is closed to make room. Such a client has had at least as
//! long as the newcomer and sent nothing useful; a well-behaved client
//! closed this way has lost only an idle keep-alive connection or, rarely, a
//! slow upload. Only when every slot is being worked on does the server stop
//! accepting: the newest connection waits, accepted, for a slot, and the
//! ones behind it wait in the kernel's listen backlog (back-pressure, not
//! refusal). A request is never cut off while the server works on it.
//!
//! So 300 stalled connections against a cap of 192 (`ulimit -n 256`) leave
//! the newest 192 open, each until its header timeout (30 s after it was
//! accepted); the older ones are closed as the newer arrive, and a health
//! check arriving after them all takes the slot of the oldest still open
//! and is answered at once. A flood that opens connections faster than a
//! real client can send one request header can still crowd that client out;
//! that needs limits per address, in front of the server.
//!
//! **TLS.** [`serve_tls_on`] serves the same over HTTPS (rustls, TLS 1.2
//! and 1.3, the *ring* provider): a connection's handshake counts as
//! waiting on its client (evictable at the cap) and must end within
//! `header_timeout`, after which hyper's header clock starts.
//!
//! **Shutdown.** When the shutdown future completes the listener is closed
//! (new connections are refused), connections waiting for request headers
//! are closed at once, and requests in flight finish (their connections
//! then close); [`serve_on`] returns when the last connection has ended.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{header, HeaderValue, Request, Response};
use axum::response::IntoResponse;
use axum::Router;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify, OwnedSemaphorePermit, Semaphore};
use tokio::time::Sleep;

use crate::{router, AppError, AppState};

/// File descriptors kept out of the connection cap for the database, the
/// log, the listener and files.
pub const FD_RESERVE: u64 = 64;

/// The fewest connections the descriptor limit brings the cap down to.
pub const MIN_CONNECTIONS: usize = 16;

/// How long to wait before accepting again after `accept` failed (when no
/// descriptor could be freed at once).
pub const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// How connections are bounded (see the [module documentation](self)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeLimits {
    /// Complete request headers must arrive within this long of the
    /// connection's start or of the end of its previous response; an idle
    /// keep-alive connection is closed after this long.
    pub header_timeout: Duration,
    /// A request body must arrive completely within this long of the end
    /// of its headers, or the request is answered 408.
    pub body_timeout: Duration,
    /// A response write that makes no progress for this long closes the
    /// connection.
    pub write_timeout: Duration,
    /// The most connections served at once (the descriptor limit may lower
    /// it: [`connection_cap`]).
    pub max_connections: usize,
}

impl Default for ServeLimits {
    fn default() -> Self {
        ServeLimits {
            header_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(30),
            write_timeout: Duration::from_secs(30),
            max_connections: 1024,
        }
    }
}

/// The connection cap for `max_connections` under a soft descriptor limit
/// (`None`: unlimited): `max_connections`, but never more than the limit
/// less [`FD_RESERVE`], nor brought by the limit below [`MIN_CONNECTIONS`];
/// at least 1.
pub fn connection_cap(max_connections: usize, fd_soft_limit: Option<u64>) -> usize {
    let by_fds = fd_soft_limit.map_or(usize::MAX, |limit| {
        usize::try_from(limit.saturating_sub(FD_RESERVE))
            .unwrap_or(usize::MAX)
            .max(MIN_CONNECTIONS)
    });
    max_connections.min(by_fds).clamp(1, Semaphore::MAX_PERMITS)
}

/// The soft `RLIMIT_NOFILE` of this process, `None` if unlimited or unknown.
pub fn fd_soft_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes one `rlimit` through a valid pointer.
        let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
        if rc != 0 || limit.rlim_cur == libc::RLIM_INFINITY {
            return None;
        }
        // rlim_t is u64 on Linux and macOS, i64 on some BSDs.
        #[allow(clippy::useless_conversion)]
        u64::try_from(limit.rlim_cur).ok()
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Binds `addr` and serves `router(state)` on it until `shutdown`
/// completes, then lets requests in flight finish ([`serve_on`]).
pub async fn serve(
    state: AppState,
    addr: SocketAddr,
    limits: ServeLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    serve_on(listener, router(state), limits, shutdown).await
}

/// Serves `app` on `listener` under `limits` until `shutdown` completes;
/// then stops accepting, closes connections waiting for request headers,
/// lets requests in flight finish and returns when the last connection has
/// ended. Failures of single connections are logged, never returned.
pub async fn serve_on(
    listener: TcpListener,
    app: Router,
    limits: ServeLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    serve_with(listener, app, limits, None, shutdown).await
}

/// [`serve_on`] over TLS (HTTPS): each connection's handshake must end
/// within the header timeout, and counts as waiting on its client.
pub async fn serve_tls_on(
    listener: TcpListener,
    app: Router,
    limits: ServeLimits,
    tls: TlsConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    serve_with(listener, app, limits, Some(tls), shutdown).await
}

/// A certificate chain and its private key, ready to serve TLS 1.2 and 1.3
/// (rustls, with the *ring* provider).
#[derive(Clone)]
pub struct TlsConfig(Arc<tokio_rustls::rustls::ServerConfig>);

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlsConfig")
    }
}

/// Why a certificate or key cannot serve TLS.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The certificate file holds no usable PEM certificate.
    #[error("{file}: {reason}")]
    Certificate {
        /// The file, as given.
        file: String,
        /// What is wrong.
        reason: String,
    },
    /// The key file holds no usable PEM private key.
    #[error("{file}: {reason}")]
    Key {
        /// The file, as given.
        file: String,
        /// What is wrong.
        reason: String,
    },
    /// Both parse, but rustls refuses them together.
    #[error("{cert} and {key} cannot serve TLS together: {reason}")]
    Refused {
        /// The certificate file.
        cert: String,
        /// The key file.
        key: String,
        /// rustls's reason.
        reason: String,
    },
}

impl TlsConfig {
    /// The configuration of a PEM certificate chain (`cert_pem`, the
    /// server's certificate first) and its PEM private key (PKCS#8, PKCS#1
    /// or SEC1); the file names are for the errors.
    pub fn from_pem(
        cert_file: &str,
        cert_pem: &[u8],
        key_file: &str,
        key_pem: &[u8],
    ) -> Result<TlsConfig, TlsError> {
        use rustls_pki_types::pem::PemObject;
        use rustls_pki_types::{CertificateDer, PrivateKeyDer};
        use tokio_rustls::rustls;
        let certs = CertificateDer::pem_slice_iter(cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TlsError::Certificate {
                file: cert_file.into(),
                reason: format!("not a PEM certificate file ({e})"),
            })?;
        if certs.is_empty() {
            return Err(TlsError::Certificate {
                file: cert_file.into(),
                reason: "holds no certificate (a PEM block '-----BEGIN CERTIFICATE-----')".into(),
            });
        }
        let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| TlsError::Key {
            file: key_file.into(),
            reason: format!(
                "holds no private key (a PEM block '-----BEGIN PRIVATE KEY-----', RSA or EC): {e}"
            ),
        })?;
        let refused = |reason: String| TlsError::Refused {
            cert: cert_file.into(),
            key: key_file.into(),
            reason,
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| refused(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| refused(e.to_string()))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsConfig(Arc::new(config)))
    }
}

async fn serve_with(
    listener: TcpListener,
    app: Router,
    limits: ServeLimits,
    tls: Option<TlsConfig>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let cap = connection_cap(limits.max_connections, fd_soft_limit());
    let addr = listener.local_addr()?;
    tracing::info!(
        %addr,
        max_connections = cap,
        header_timeout_s = limits.header_timeout.as_secs_f64(),
        body_timeout_s = limits.body_timeout.as_secs_f64(),
        write_timeout_s = limits.write_timeout.as_secs_f64(),
        tls = tls.is_some(),
        "sclerad server listening"
    );
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    let server = Arc::new(Server {
        http,
        app: TowerToHyperService::new(app),
        limits,
        tls: tls.map(|t| tokio_rustls::TlsAcceptor::from(t.0)),
    });
    let slots = Arc::new(Semaphore::new(cap));
    let table = Arc::new(Table::new());
    let (stop, stopped) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    let mut last_warning: Option<Instant> = None;
    loop {
        let accepted = tokio::select! {
            biased;
            () = shutdown.as_mut() => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                if last_warning.is_none_or(|t| t.elapsed() >= Duration::from_secs(10)) {
                    tracing::warn!(error = %e, "accept failed; retrying");
                    last_warning = Some(Instant::now());
                }
                // Out of descriptors: one held by a connection waiting on its
                // client is freed in a moment; otherwise wait.
                let freed = is_out_of_descriptors(&e) && table.close_longest_waiting();
                let pause = if freed {
                    Duration::from_millis(1)
                } else {
                    ACCEPT_RETRY
                };
                tokio::select! {
                    biased;
                    () = shutdown.as_mut() => break,
                    () = tokio::time::sleep(pause) => continue,
                }
            }
        };
        let permit = match Arc::clone(&slots).try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                if last_warning.is_none_or(|t| t.elapsed() >= Duration::from_secs(10)) {
                    tracing::warn!(
                        max_connections = cap,
                        "at the connection cap: closing connections that wait on their clients"
                    );
                    last_warning = Some(Instant::now());
                }
                let wait = wait_for_slot(&slots, &table);
                tokio::select! {
                    biased;
                    () = shutdown.as_mut() => break,
                    permit = wait => match permit {
                        Some(permit) => permit,
                        None => break,
                    },
                }
            }
        };
        let _ = stream.set_nodelay(true);
        let slot = table.insert();
        tokio::spawn(run_connection(
            Arc::clone(&server),
            stream,
            peer,
            slot,
            permit,
            stopped.clone(),
        ));
    }
    drop(listener);
    drop(stopped);
    tracing::info!("stopped accepting connections");
    stop.send_replace(true);
    stop.closed().await;
    tracing::info!("all connections closed");
    Ok(())
}

/// Errors of one connection that `accept` reports; the next accept is fine.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
    )
}

fn is_out_of_descriptors(e: &io::Error) -> bool {
    #[cfg(unix)]
    {
        matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
    }
    #[cfg(not(unix))]
    {
        let _ = e;
        false
    }
}

/// Waits for a free slot, closing the connection that has waited on its
/// client the longest whenever there is one (one at a time). `None` if the
/// semaphore is closed (never: it is not closed).
async fn wait_for_slot(slots: &Arc<Semaphore>, table: &Table) -> Option<OwnedSemaphorePermit> {
    let mut closing = table.close_longest_waiting();
    loop {
        tokio::select! {
            biased;
            permit = Arc::clone(slots).acquire_owned() => return permit.ok(),
            () = table.waiting.notified() => {
                if !closing {
                    closing = table.close_longest_waiting();
                }
            }
        }
    }
}

/// What every connection shares.
struct Server {
    http: http1::Builder,
    app: TowerToHyperService<Router>,
    limits: ServeLimits,
    /// TLS, when the server terminates it.
    tls: Option<tokio_rustls::TlsAcceptor>,
}

async fn run_connection(
    server: Arc<Server>,
    stream: TcpStream,
    peer: SocketAddr,
    slot: Arc<Slot>,
    permit: OwnedSemaphorePermit,
    mut stopped: watch::Receiver<bool>,
) {
    let _permit = permit;
    let _entry = Entry(Arc::clone(&slot));
    let io = WriteDeadline::new(stream, server.limits.write_timeout);
    let Some(acceptor) = &server.tls else {
        return drive(&server, TokioIo::new(io), peer, slot, stopped).await;
    };
    // The TLS handshake is part of waiting for the request's headers: the
    // connection stays evictable, and must finish it within the header
    // timeout (hyper's own header clock starts after it).
    let handshake = tokio::time::timeout(server.limits.header_timeout, acceptor.accept(io));
    let tls = tokio::select! {
        done = handshake => match done {
            Ok(Ok(tls)) => tls,
            Ok(Err(e)) => {
                tracing::debug!(%peer, error = %e, "TLS handshake failed");
                return;
            }
            Err(_) => {
                tracing::debug!(%peer, "TLS handshake not finished within the header timeout");
                return;
            }
        },
        () = slot.close.notified() => return,
        () = async {
            let _ = stopped.wait_for(|stop| *stop).await;
        } => return,
    };
    drive(&server, TokioIo::new(tls), peer, slot, stopped).await;
}

/// Serves HTTP/1.1 on one connection's stream (plain or TLS) until it ends,
/// is closed to make room, or the server stops.
async fn drive<I>(
    server: &Server,
    io: I,
    peer: SocketAddr,
    slot: Arc<Slot>,
    mut stopped: watch::Receiver<bool>,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service = ConnService {
        app: server.app.clone(),
        slot: Arc::clone(&slot),
        body_timeout: server.limits.body_timeout,
    };
    let conn = server.http.serve_connection(io, service);
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        ended = conn.as_mut() => {
            if let Err(e) = ended {
                tracing::debug!(%peer, error = %e, "connection ended");
            }
        }
        () = slot.close.notified() => {
            tracing::debug!(%peer, "connection waiting on its client closed to make room");
        }
        () = async {
            // A closed channel means stopping too.
            let _ = stopped.wait_for(|stop| *stop).await;
        } => {
            if slot.close_if(HEAD) {
                return;
            }
            conn.as_mut().graceful_shutdown();
            if let Err(e) = conn.await {
                tracing::debug!(%peer, error = %e, "connection ended");
            }
        }
    }
}

/// Waiting for request headers (evictable).
const HEAD: u8 = 0;
/// The server works on a request.
const HANDLING: u8 = 1;
/// The handler waits for more of the request body (evictable).
const BODY: u8 = 2;
/// Told to close.
const CLOSING: u8 = 3;

/// The connections served, for closing the one that has waited on its
/// client the longest.
struct Table {
    epoch: Instant,
    next: AtomicU64,
    slots: Mutex<BTreeMap<u64, Arc<Slot>>>,
    /// Notified when a connection starts waiting on its client.
    waiting: Arc<Notify>,
}

impl Table {
    fn new() -> Self {
        Table {
            epoch: Instant::now(),
            next: AtomicU64::new(0),
            slots: Mutex::new(BTreeMap::new()),
            waiting: Arc::new(Notify::new()),
        }
    }

    fn insert(self: &Arc<Self>) -> Arc<Slot> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let slot = Arc::new(Slot {
            id,
            table: Arc::clone(self),
            state: AtomicU8::new(HEAD),
            since_ms: AtomicU64::new(0),
            close: Notify::new(),
        });
        slot.since_ms.store(self.now_ms(), Ordering::Relaxed);
        self.lock().insert(id, Arc::clone(&slot));
        slot
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Arc<Slot>>> {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Tells the connection that has waited on its client the longest to
    /// close; `false` if every connection is being worked on.
    fn close_longest_waiting(&self) -> bool {
        let slots = self.lock();
        loop {
            let oldest = slots
                .values()
                .filter(|s| matches!(s.state.load(Ordering::Acquire), HEAD | BODY))
                .min_by_key(|s| (s.since_ms.load(Ordering::Relaxed), s.id));
            let Some(oldest) = oldest else {
                return false;
            };
            // It may have just become busy; then look again.
            if oldest.close_if(HEAD) || oldest.close_if(BODY) {
                return true;
            }
        }
    }
}

/// One connection's state.
struct Slot {
    id: u64,
    table: Arc<Table>,
    state: AtomicU8,
    /// When it started waiting on its client (ms since the table's epoch).
    since_ms: AtomicU64,
    close: Notify,
}

impl Slot {
    fn set(&self, from: u8, to: u8) -> bool {
        self.state
            .compare_exchange(from, to, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Closes the connection if it is in state `from`.
    fn close_if(&self, from: u8) -> bool {
        let closed = self.set(from, CLOSING);
        if closed {
            self.close.notify_one();
        }
        closed
    }

    /// Request headers arrived; `false` if the connection is closing.
    fn begin_request(&self) -> bool {
        self.since_ms.store(self.table.now_ms(), Ordering::Relaxed);
        self.set(HEAD, HANDLING)
    }

    fn body_pending(&self) {
        if self.set(HANDLING, BODY) {
            self.table.waiting.notify_one();
        }
    }

    fn body_moved(&self) {
        self.set(BODY, HANDLING);
    }

    /// The response has been written (or dropped): waiting for the next
    /// request headers.
    fn end_request(&self) {
        self.since_ms.store(self.table.now_ms(), Ordering::Relaxed);
        if self.set(HANDLING, HEAD) || self.set(BODY, HEAD) {
            self.table.waiting.notify_one();
        }
    }
}

/// Removes a connection from the table when its task ends.
struct Entry(Arc<Slot>);

impl Drop for Entry {
    fn drop(&mut self) {
        self.0.table.lock().remove(&self.0.id);
    }
}

/// The router as hyper's service for one connection: times the request
/// body, answers 408 when it timed out, keeps the slot's state.
#[derive(Clone)]
struct ConnService {
    app: TowerToHyperService<Router>,
    slot: Arc<Slot>,
    body_timeout: Duration,
}

type ServiceFuture =
    Pin<Box<dyn Future<Output = Result<Response<ReplyBody>, Infallible>> + Send + 'static>>;

impl hyper::service::Service<Request<Incoming>> for ConnService {
    type Response = Response<ReplyBody>;
    type Error = Infallible;
    type Future = ServiceFuture;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        let done = RequestDone(Arc::clone(&self.slot));
        if !self.slot.begin_request() {
            // Closed to make room just as these headers arrived.
            let response = closing(AppError::Overloaded.into_response());
            return Box::pin(std::future::ready(Ok(reply(response, done))));
        }
        let timed_out = Arc::new(AtomicBool::new(false));
        let req = req.map(|body| TimedBody {
            inner: body,
            deadline: tokio::time::Instant::now() + self.body_timeout,
            timeout: self.body_timeout,
            sleep: None,
            slot: Arc::clone(&self.slot),
            timed_out: Arc::clone(&timed_out),
        });
        let future = hyper::service::Service::call(&self.app, req);
        Box::pin(async move {
            let response = match future.await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            let response = if timed_out.load(Ordering::Acquire) {
                closing(AppError::RequestTimeout.into_response())
            } else {
                response
            };
            Ok(reply(response, done))
        })
    }
}

fn closing(mut response: axum::response::Response) -> axum::response::Response {
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

fn reply(response: axum::response::Response, done: RequestDone) -> Response<ReplyBody> {
    response.map(|inner| ReplyBody { inner, _done: done })
}

/// Marks the end of a request when the response body is dropped (written,
/// or abandoned).
struct RequestDone(Arc<Slot>);

impl Drop for RequestDone {
    fn drop(&mut self) {
        self.0.end_request();
    }
}

/// A response body that ends its request when dropped.
struct ReplyBody {
    inner: axum::body::Body,
    _done: RequestDone,
}

impl Body for ReplyBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A request body that did not arrive within the body timeout.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within {0:?}")]
struct BodyTimedOut(Duration);

/// A request body bounded in time; tells the slot when the handler waits
/// for it.
struct TimedBody<B> {
    inner: B,
    deadline: tokio::time::Instant,
    timeout: Duration,
    sleep: Option<Pin<Box<Sleep>>>,
    slot: Arc<Slot>,
    timed_out: Arc<AtomicBool>,
}

impl<B> Body for TimedBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if this.timed_out.load(Ordering::Acquire) {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.slot.body_moved();
                Poll::Ready(frame.map(|f| f.map_err(Into::into)))
            }
            Poll::Pending => {
                let deadline = this.deadline;
                let sleep = this
                    .sleep
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                if sleep.as_mut().poll(cx).is_ready() {
                    this.timed_out.store(true, Ordering::Release);
                    this.slot.body_moved();
                    return Poll::Ready(Some(Err(Box::new(BodyTimedOut(this.timeout)))));
                }
                this.slot.body_pending();
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.timed_out.load(Ordering::Acquire) || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl<B> Drop for TimedBody<B> {
    fn drop(&mut self) {
        self.slot.body_moved();
    }
}

/// A stream whose writes fail with `TimedOut` after making no progress for
/// `timeout` (a client that does not read its response).
struct WriteDeadline<T> {
    io: T,
    timeout: Duration,
    stall: Option<Pin<Box<Sleep>>>,
}

impl<T> WriteDeadline<T> {
    fn new(io: T, timeout: Duration) -> Self {
        WriteDeadline {
            io,
            timeout,
            stall: None,
        }
    }

    fn check<R>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<R>>,
    ) -> Poll<io::Result<R>> {
        match polled {
            Poll::Ready(r) => {
                self.stall = None;
                Poll::Ready(r)
            }
            Poll::Pending => {
                let timeout = self.timeout;
                let stall = self
                    .stall
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                if stall.as_mut().poll(cx).is_ready() {
                    self.stall = None;
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the client did not read the response",
                    )));
                }
                Poll::Pending
            }
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for WriteDeadline<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for WriteDeadline<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.io).poll_write(cx, buf);
        this.check(cx, polled)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        this.check(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.io).poll_flush(cx);
        this.check(cx, polled)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.io).poll_shutdown(cx);
        this.check(cx, polled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_follows_the_descriptor_limit() {
        assert_eq!(connection_cap(1024, None), 1024);
        assert_eq!(connection_cap(1024, Some(256)), 192);
        assert_eq!(connection_cap(100, Some(256)), 100);
        assert_eq!(connection_cap(1024, Some(70)), MIN_CONNECTIONS);
        assert_eq!(connection_cap(1024, Some(0)), MIN_CONNECTIONS);
        assert_eq!(connection_cap(8, Some(10)), 8);
        assert_eq!(connection_cap(0, None), 1);
        assert_eq!(connection_cap(1024, Some(u64::MAX)), 1024);
    }

    #[test]
    fn this_process_has_a_descriptor_limit_or_none() {
        if let Some(limit) = fd_soft_limit() {
            assert!(limit > 0);
        }
    }
}
