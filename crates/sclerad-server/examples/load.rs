//! Load benchmark: many readers saving findings at once, over loopback.
//!
//! ```sh
//! cargo run --release -p sclerad-server --example load -- sqlite:/tmp/load.db
//! cargo run --release -p sclerad-server --example load -- postgres://postgres@127.0.0.1:55432/load
//! ```
//!
//! Arguments: the store URL (a fresh database), then optionally the number
//! of readers (200), of hand radiographs each reads (50) and each reader's
//! mean pause between saves in milliseconds (0). The store is prepared
//! in-process (a synthetic study, one reader user and API token per reader,
//! blinded worklists); then the server listens on a loopback port and every
//! reader, on its own keep-alive connection, fetches its worklist (warm-up,
//! not timed), then, once all readers are ready, saves its findings exam
//! after exam (`PUT /api/worklist/{code}`). With a pause of 0 each reader sends
//! its next save as soon as the last is answered (saturation: latency is
//! mostly waiting in line); with a pause, readers wait a random time
//! (uniform, 0 to twice the mean) between saves. Prints throughput and
//! latency percentiles as a markdown row.

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

/// One request on a keep-alive connection; returns the status code.
async fn call(
    stream: &mut BufReader<TcpStream>,
    method: &str,
    path: &str,
    token: &str,
    body: &str,
) -> Result<u16, Error> {
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: load\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.get_mut().write_all(request.as_bytes()).await?;
    let mut line = String::new();
    stream.read_line(&mut line).await?;
    let status: u16 = line.split(' ').nth(1).unwrap_or("0").parse()?;
    let mut length = 0usize;
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
    }
    let mut rest = vec![0u8; length];
    stream.read_exact(&mut rest).await?;
    Ok(status)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1000.0
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let url = args
        .first()
        .ok_or("usage: load STORE_URL [READERS] [EXAMS]")?;
    let readers: usize = args.get(1).map_or(Ok(200), |a| a.parse())?;
    let exams: usize = args.get(2).map_or(Ok(50), |a| a.parse())?;
    let pause_ms: u64 = args.get(3).map_or(Ok(0), |a| a.parse())?;

    // Prepare the study, users, tokens and worklists.
    let store = open(url).await?;
    let cli = Actor::command_line("load");
    let cohort = sclerad_synth::generate(&sclerad_synth::SynthOptions {
        patients: exams,
        seed: 1,
        ..Default::default()
    });
    let import = StudyImport::from_cohort(&cohort);
    let study = store.import_study(&cli, "load", &import).await?.study;
    let hash = sclerad_store::password::hash("load-test password")?;
    let mut users = Vec::new();
    for i in 0..readers {
        let user = store
            .create_user(&cli, &format!("reader{i:03}"), Role::Reader, &hash)
            .await?;
        let token = random_token().map_err(|e| format!("{e:?}"))?;
        store
            .create_token(
                &cli,
                user.id,
                "load",
                &token_hash(&token),
                "9999-12-31T00:00:00Z",
            )
            .await?;
        users.push((user.id, token));
    }
    let patients = store.patients(study.id).await?;
    let hand: Vec<(i64, char)> = patients
        .iter()
        .map(|p| (p.hand_radiograph.id, 'H'))
        .collect();
    let ids: Vec<i64> = users.iter().map(|(id, _)| *id).collect();
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

    // Serve on loopback.
    let state =
        AppState::new(Arc::clone(&store), Config::default()).map_err(|e| format!("{e:?}"))?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, sclerad_server::router(state)).await });

    // Every reader saves all its exams, one after the other.
    let body = r#"{"version":0,"findings":[{"side":"left","site":"tuft_d2","lesion":"calcinosis","grade":1},{"side":"right","site":"pip_d3","lesion":"erosion"}]}"#;
    // Every reader first connects and fetches its worklist (not timed:
    // connection set-up and first queries are warm-up); the timed saves
    // start together once all are ready.
    let ready = Arc::new(tokio::sync::Barrier::new(readers + 1));
    let mut tasks = Vec::new();
    for (id, token) in users {
        let codes = codes.remove(&id).unwrap_or_default();
        let ready = Arc::clone(&ready);
        tasks.push(tokio::spawn(async move {
            let mut stream = BufReader::new(TcpStream::connect(addr).await?);
            let warm = call(&mut stream, "GET", "/api/worklist", &token, "").await;
            ready.wait().await;
            if warm? != 200 {
                return Err("worklist fetch failed".into());
            }
            let mut times = Vec::with_capacity(codes.len());
            let mut failures = 0usize;
            let mut rng = blinding::Shuffler::new(id as u64);
            for code in codes {
                if pause_ms > 0 {
                    let wait = rng.below(2 * pause_ms as usize + 1) as u64;
                    tokio::time::sleep(Duration::from_millis(wait)).await;
                }
                let t = Instant::now();
                let status = call(
                    &mut stream,
                    "PUT",
                    &format!("/api/worklist/{code}"),
                    &token,
                    body,
                )
                .await?;
                times.push(t.elapsed());
                if status != 200 {
                    failures += 1;
                }
            }
            Ok::<_, Error>((times, failures))
        }));
    }
    ready.wait().await;
    let start = Instant::now();
    let mut times = Vec::new();
    let mut failures = 0;
    for t in tasks {
        let (mut t, f) = t.await??;
        times.append(&mut t);
        failures += f;
    }
    let elapsed = start.elapsed().as_secs_f64();
    times.sort();
    let backend = if url.starts_with("sqlite:") {
        "SQLite"
    } else {
        "PostgreSQL"
    };
    println!("| store | readers | mean pause, ms | saves | failed | throughput, saves/s | p50, ms | p90, ms | p99, ms | max, ms |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    println!(
        "| {backend} | {readers} | {pause_ms} | {} | {failures} | {:.0} | {:.1} | {:.1} | {:.1} | {:.1} |",
        times.len(),
        times.len() as f64 / elapsed,
        percentile(&times, 0.50),
        percentile(&times, 0.90),
        percentile(&times, 0.99),
        percentile(&times, 1.0),
    );
    let verified = sclerad_store::verify_audit(store.as_ref()).await?;
    eprintln!("audit trail after the run: {verified:?}");
    Ok(())
}
