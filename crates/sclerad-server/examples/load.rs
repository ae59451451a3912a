//! Load benchmark: many readers at once, over loopback, against the real
//! router served as `sclerad serve` serves it (its connection limits and
//! timeouts).
//!
//! ```sh
//! cargo run --release -p sclerad-server --example load -- sqlite:/tmp/load.db
//! cargo run --release -p sclerad-server --example load -- postgres://postgres@127.0.0.1:55432/load
//! cargo run --release -p sclerad-server --example load -- --pages sqlite:/tmp/pages.db 50 77 0
//! ```
//!
//! Arguments: `--pages` (optional, see below), the store URL (a fresh
//! database), then optionally the number of readers (200), of hand
//! radiographs each reads (50) and each reader's mean pause between
//! requests in milliseconds (0). The store is prepared in-process (a
//! synthetic study, one reader user per reader, blinded worklists); then
//! the server listens on a loopback port and every reader, on its own
//! keep-alive connection, fetches its worklist (warm-up, not timed), then,
//! once all readers are ready, reads its exams one after the other.
//!
//! - The API (default): each reader has an API token and saves its
//!   findings exam after exam (`PUT /api/worklist/{code}`).
//! - `--pages`: each reader logs in with a password (a session cookie, as
//!   in the browser) and, per exam, does what the reading workstation does:
//!   opens the exam's page, chooses a site (the page again, `?site=`), the
//!   page script autosaves (`POST` with `action=autosave` and the CSRF
//!   header, a JSON reply), the reader presses Save (a form post answered
//!   303), and the worklist page comes back. Pages (the three `GET`s) and
//!   saves (the two `POST`s) are timed apart.
//!
//! With a pause of 0 each reader sends its next request as soon as the last
//! is answered (saturation: latency is mostly waiting in line); with a
//! pause, readers wait a random time (uniform, 0 to twice the mean) before
//! each request. Prints throughput and latency percentiles as markdown rows.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sclerad_server::auth::{random_token, token_hash};
use sclerad_server::{AppState, Config};
use sclerad_store::{blinding, Actor, Role, Store, StudyImport};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

type Error = Box<dyn std::error::Error + Send + Sync>;

async fn open(url: &str) -> Result<Arc<dyn Store>, Error> {
    Ok(if url.starts_with("sqlite:") {
        Arc::new(sclerad_store_sqlite::SqliteStore::open(url).await?)
    } else {
        Arc::new(sclerad_store_postgres::PostgresStore::open(url).await?)
    })
}

/// One request on a keep-alive connection (`headers`: extra header lines,
/// each ending in CRLF); returns the status code, the response's header
/// lines and its body.
async fn exchange(
    stream: &mut BufReader<TcpStream>,
    method: &str,
    path: &str,
    headers: &str,
    body: &str,
) -> Result<(u16, String, Vec<u8>), Error> {
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: load\r\n{headers}Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.get_mut().write_all(request.as_bytes()).await?;
    let mut line = String::new();
    stream.read_line(&mut line).await?;
    let status: u16 = line.split(' ').nth(1).unwrap_or("0").parse()?;
    let mut length = 0usize;
    let mut head = String::new();
    loop {
        line.clear();
        stream.read_line(&mut line).await?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse()?;
            }
        }
        head.push_str(header);
        head.push('\n');
    }
    let mut rest = vec![0u8; length];
    stream.read_exact(&mut rest).await?;
    Ok((status, head, rest))
}

/// One API request with a bearer token; returns the status code.
async fn call(
    stream: &mut BufReader<TcpStream>,
    method: &str,
    path: &str,
    token: &str,
    body: &str,
) -> Result<u16, Error> {
    let headers = format!("Authorization: Bearer {token}\r\nContent-Type: application/json\r\n");
    Ok(exchange(stream, method, path, &headers, body).await?.0)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1000.0
}

/// A reader of the benchmark: user id, API token (or password), codes.
struct Reader {
    id: i64,
    name: String,
    token: String,
    codes: Vec<String>,
}

/// A random pause, uniform from 0 to twice `mean_ms`.
async fn pause(rng: &mut blinding::Shuffler, mean_ms: u64) {
    if mean_ms > 0 {
        let wait = rng.below(2 * mean_ms as usize + 1) as u64;
        tokio::time::sleep(Duration::from_millis(wait)).await;
    }
}

const PASSWORD: &str = "load-test password";

/// The study, the readers (with an API token each when `tokens`) and
/// their blinded worklists of the study's hand radiographs.
async fn prepare(
    store: &Arc<dyn Store>,
    readers: usize,
    exams: usize,
    tokens: bool,
) -> Result<Vec<Reader>, Error> {
    let cli = Actor::command_line("load");
    let cohort = sclerad_synth::generate(&sclerad_synth::SynthOptions {
        patients: exams,
        seed: 1,
        ..Default::default()
    });
    let import = StudyImport::from_cohort(&cohort);
    let study = store.import_study(&cli, "load", &import).await?.study;
    let hash = sclerad_store::password::hash(PASSWORD)?;
    let mut users = Vec::new();
    for i in 0..readers {
        let name = format!("reader{i:03}");
        let user = store.create_user(&cli, &name, Role::Reader, &hash).await?;
        let mut token = String::new();
        if tokens {
            token = random_token().map_err(|e| format!("{e:?}"))?;
            store
                .create_token(
                    &cli,
                    user.id,
                    "load",
                    &token_hash(&token),
                    "9999-12-31T00:00:00Z",
                )
                .await?;
        }
        users.push(Reader {
            id: user.id,
            name,
            token,
            codes: Vec::new(),
        });
    }
    let patients = store.patients(study.id).await?;
    let hand: Vec<(i64, char)> = patients
        .iter()
        .map(|p| (p.hand_radiograph.id, 'H'))
        .collect();
    let ids: Vec<i64> = users.iter().map(|u| u.id).collect();
    let plan = blinding::plan(
        &hand,
        &ids,
        0.0,
        &HashMap::new(),
        &mut blinding::Shuffler::new(7),
    )?;
    store.create_assignments(&cli, study.id, &plan).await?;
    let mut codes: HashMap<i64, Vec<String>> = HashMap::new();
    for a in &plan {
        codes.entry(a.reader_id).or_default().push(a.code.clone());
    }
    for u in &mut users {
        u.codes = codes.remove(&u.id).unwrap_or_default();
    }
    Ok(users)
}

/// Timings of one reader: (pages, saves, failed requests).
type Timings = (Vec<Duration>, Vec<Duration>, usize);

/// The API workload: every save a `PUT /api/worklist/{code}`.
async fn api_reader(
    addr: std::net::SocketAddr,
    r: Reader,
    ready: Arc<tokio::sync::Barrier>,
    pause_ms: u64,
) -> Result<Timings, Error> {
    let body = r#"{"version":0,"findings":[{"side":"left","site":"tuft_d2","lesion":"calcinosis","grade":1},{"side":"right","site":"pip_d3","lesion":"erosion"}]}"#;
    let mut stream = BufReader::new(TcpStream::connect(addr).await?);
    let warm = call(&mut stream, "GET", "/api/worklist", &r.token, "").await;
    ready.wait().await;
    if warm? != 200 {
        return Err("worklist fetch failed".into());
    }
    let mut saves = Vec::with_capacity(r.codes.len());
    let mut failures = 0usize;
    let mut rng = blinding::Shuffler::new(r.id as u64);
    for code in &r.codes {
        pause(&mut rng, pause_ms).await;
        let t = Instant::now();
        let status = call(
            &mut stream,
            "PUT",
            &format!("/api/worklist/{code}"),
            &r.token,
            body,
        )
        .await?;
        saves.push(t.elapsed());
        failures += usize::from(status != 200);
    }
    Ok((Vec::new(), saves, failures))
}

/// The value of `"key":` in a small JSON reply (a number or a string).
fn json_field(body: &[u8], key: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    match &v[key] {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The browser's workload, request for request (see the module docs).
async fn page_reader(
    addr: std::net::SocketAddr,
    r: Reader,
    ready: Arc<tokio::sync::Barrier>,
    pause_ms: u64,
) -> Result<Timings, Error> {
    let mut stream = BufReader::new(TcpStream::connect(addr).await?);
    let login = serde_json::json!({ "name": r.name, "password": PASSWORD }).to_string();
    let (status, head, body) = exchange(
        &mut stream,
        "POST",
        "/api/login",
        "Content-Type: application/json\r\n",
        &login,
    )
    .await?;
    if status != 200 {
        return Err(format!("log in {}: {status}", r.name).into());
    }
    let session = head
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .and_then(|c| c.split(';').next())
        .ok_or("no session cookie")?
        .to_string();
    let csrf = json_field(&body, "csrf_token").ok_or("no CSRF token")?;
    let cookie = format!("Cookie: {session}\r\n");
    let warm = exchange(&mut stream, "GET", "/read", &cookie, "").await;
    ready.wait().await;
    if warm?.0 != 200 {
        return Err("worklist page failed".into());
    }
    let form = format!("{cookie}Content-Type: application/x-www-form-urlencoded\r\n");
    let script = format!("{form}X-CSRF-Token: {csrf}\r\nAccept: application/json\r\n");
    let marks = "site=left%3Atuft_d2&finding=left%3Atuft_d2%3Acalcinosis&grade%3Aleft%3Atuft_d2%3Acalcinosis=1&finding=right%3Apip_d3%3Aerosion&grade%3Aright%3Apip_d3%3Aerosion=";
    let mut pages = Vec::with_capacity(3 * r.codes.len());
    let mut saves = Vec::with_capacity(2 * r.codes.len());
    let mut failures = 0usize;
    let mut rng = blinding::Shuffler::new(r.id as u64);
    for code in &r.codes {
        let exam = format!("/read/{code}");
        for path in [exam.clone(), format!("{exam}?site=left%3Atuft_d2")] {
            pause(&mut rng, pause_ms).await;
            let t = Instant::now();
            let (status, _, _) = exchange(&mut stream, "GET", &path, &cookie, "").await?;
            pages.push(t.elapsed());
            failures += usize::from(status != 200);
        }
        pause(&mut rng, pause_ms).await;
        let t = Instant::now();
        let (status, _, reply) = exchange(
            &mut stream,
            "POST",
            &exam,
            &script,
            &format!("version=0&action=autosave&{marks}"),
        )
        .await?;
        saves.push(t.elapsed());
        failures += usize::from(status != 200);
        let version = json_field(&reply, "version").unwrap_or_else(|| "0".into());
        pause(&mut rng, pause_ms).await;
        let t = Instant::now();
        let (status, _, _) = exchange(
            &mut stream,
            "POST",
            &exam,
            &form,
            &format!("csrf={csrf}&version={version}&action=save&{marks}"),
        )
        .await?;
        saves.push(t.elapsed());
        failures += usize::from(status != 303);
        pause(&mut rng, pause_ms).await;
        let t = Instant::now();
        let (status, _, _) = exchange(&mut stream, "GET", "/read", &cookie, "").await?;
        pages.push(t.elapsed());
        failures += usize::from(status != 200);
    }
    Ok((pages, saves, failures))
}

fn row(
    backend: &str,
    what: &str,
    readers: usize,
    pause_ms: u64,
    times: &mut [Duration],
    elapsed: f64,
) {
    times.sort();
    println!(
        "| {backend} | {what} | {readers} | {pause_ms} | {} | {:.0} | {:.1} | {:.1} | {:.1} | {:.1} |",
        times.len(),
        times.len() as f64 / elapsed,
        percentile(times, 0.50),
        percentile(times, 0.90),
        percentile(times, 0.99),
        percentile(times, 1.0),
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Error> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let pages = args.first().is_some_and(|a| a == "--pages");
    if pages {
        args.remove(0);
    }
    let url = args
        .first()
        .ok_or("usage: load [--pages] STORE_URL [READERS] [EXAMS] [PAUSE_MS]")?;
    let readers: usize = args.get(1).map_or(Ok(200), |a| a.parse())?;
    let exams: usize = args.get(2).map_or(Ok(50), |a| a.parse())?;
    let pause_ms: u64 = args.get(3).map_or(Ok(0), |a| a.parse())?;

    let store = open(url).await?;
    let users = prepare(&store, readers, exams, !pages).await?;

    // Serve on loopback, as `sclerad serve` does.
    let state =
        AppState::new(Arc::clone(&store), Config::default()).map_err(|e| format!("{e:?}"))?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(sclerad_server::serve_on(
        listener,
        sclerad_server::router(state),
        sclerad_server::ServeLimits::default(),
        std::future::pending(),
    ));

    // Every reader first connects and fetches its worklist (not timed:
    // connection set-up, log-in and first queries are warm-up); the timed
    // requests start together once all are ready.
    let ready = Arc::new(tokio::sync::Barrier::new(readers + 1));
    let mut tasks = Vec::new();
    for r in users {
        let ready = Arc::clone(&ready);
        tasks.push(if pages {
            tokio::spawn(page_reader(addr, r, ready, pause_ms))
        } else {
            tokio::spawn(api_reader(addr, r, ready, pause_ms))
        });
    }
    ready.wait().await;
    let start = Instant::now();
    let (mut page_times, mut save_times, mut failures) = (Vec::new(), Vec::new(), 0);
    for t in tasks {
        let (mut p, mut s, f) = t.await??;
        page_times.append(&mut p);
        save_times.append(&mut s);
        failures += f;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let backend = if url.starts_with("sqlite:") {
        "SQLite"
    } else {
        "PostgreSQL"
    };
    println!("| store | what | readers | mean pause, ms | requests | per second | p50, ms | p90, ms | p99, ms | max, ms |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    if pages {
        row(
            backend,
            "pages (GET)",
            readers,
            pause_ms,
            &mut page_times,
            elapsed,
        );
        row(
            backend,
            "saves (autosave + form)",
            readers,
            pause_ms,
            &mut save_times,
            elapsed,
        );
    } else {
        row(
            backend,
            "saves (PUT)",
            readers,
            pause_ms,
            &mut save_times,
            elapsed,
        );
    }
    println!("\nfailed requests: {failures}");
    let verified = sclerad_store::verify_audit(store.as_ref()).await?;
    eprintln!("audit trail after the run: {verified:?}");
    Ok(())
}
