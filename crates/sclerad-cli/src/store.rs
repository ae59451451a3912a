//! `sclerad import`, `export`, `user`, `audit`: the commands that open a
//! study store.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use sclerad_model::{ProblemCounts, Severity, ValidateOptions};
use sclerad_store::{to_tables, Actor, Role, Store, StoreError, StudyImport};
use sclerad_store_postgres::PostgresStore;
use sclerad_store_sqlite::SqliteStore;

use crate::cli::{
    ActAs, AuditCommand, DbArgs, ExportArgs, ImportArgs, LogFormat, RoleArg, ServeArgs,
    UserAddArgs, UserCommand, UserListArgs,
};
use crate::validate::{print_problems, read_options, sort_problems};

/// Opens the store named by `--db`: SQLite for `sqlite:` URLs, PostgreSQL
/// for `postgres://` and `postgresql://`.
pub async fn open(db: &DbArgs) -> Result<Arc<dyn Store>> {
    open_with(db, sclerad_store_sqlite::Journal::Wal).await
}

/// [`open`], a SQLite file with the journal `journal` (an import writing
/// much: [`Journal::Rollback`](sclerad_store_sqlite::Journal::Rollback)).
pub async fn open_with(
    db: &DbArgs,
    journal: sclerad_store_sqlite::Journal,
) -> Result<Arc<dyn Store>> {
    let url = db.db.trim();
    if url.starts_with("sqlite:") {
        let store = SqliteStore::open_with(url, journal)
            .await
            .with_context(|| format!("cannot open the store {url}"))?;
        Ok(Arc::new(store))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let store = PostgresStore::open(url).await.with_context(|| {
            format!(
                "cannot open the store {}",
                sclerad_store_postgres::redact(url)
            )
        })?;
        Ok(Arc::new(store))
    } else {
        bail!("--db {url:?}: expected sqlite:FILE.db or postgres://user@host/database")
    }
}

/// A tokio runtime for one command.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Who the command line acts as, for the audit trail: the store's user
/// that `--as` names, who must exist, be enabled and have one of the roles
/// `may` (an admin may do everything); without `--as`, the operating-system
/// account ([`os_actor`]).
pub(crate) async fn acting(store: &dyn Store, act_as: &ActAs, may: &[Role]) -> Result<Actor> {
    let Some(given) = act_as.user.as_deref() else {
        return os_actor();
    };
    let name = sclerad_store::login_name(given.trim());
    let Some(credentials) = store.credentials(&name).await? else {
        bail!("--as {given:?}: there is no such user in the store (see `sclerad user list`)")
    };
    let user = credentials.user;
    if user.disabled {
        bail!("--as {given:?}: the user is disabled");
    }
    if user.role != Role::Admin && !may.contains(&user.role) {
        let roles: Vec<&str> = std::iter::once(Role::Admin)
            .chain(may.iter().copied())
            .map(Role::code)
            .collect();
        bail!(
            "--as {given:?}: this needs the role {} (the user is {})",
            roles.join(" or "),
            user.role
        );
    }
    Ok(Actor::user(&user))
}

/// The operating-system account running the command, as `cli:NAME`:
/// `USER`, `USERNAME` or `LOGNAME`, else the name of the process's user id
/// (`/etc/passwd`), else `uid N`. Only printable characters are kept, at
/// most 64; a command that cannot tell who runs it refuses to act.
pub(crate) fn os_actor() -> Result<Actor> {
    let clean = |v: &str| -> Option<String> {
        let v: String = v.chars().filter(|c| !c.is_control()).take(64).collect();
        let v = v.trim();
        (!v.is_empty()).then(|| v.to_string())
    };
    for var in ["USER", "USERNAME", "LOGNAME"] {
        if let Some(name) = std::env::var(var).ok().as_deref().and_then(clean) {
            return Ok(Actor::command_line(&name));
        }
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let Ok(me) = std::fs::metadata("/proc/self") {
            let uid = me.uid().to_string();
            let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
            let name = passwd.lines().find_map(|line| {
                let mut fields = line.split(':');
                let name = fields.next()?;
                (fields.nth(1)? == uid).then_some(name)
            });
            let who = name.and_then(clean).unwrap_or_else(|| format!("uid {uid}"));
            return Ok(Actor::command_line(&who));
        }
    }
    bail!("cannot tell who runs this command: give --as USER, a user of the store")
}

pub fn import(args: &ImportArgs) -> Result<ExitCode> {
    // Before the bundle is read; the store checks again.
    if let Err(sclerad_store::StoreError::Invalid { message, .. }) =
        sclerad_store::check_study_name(&args.study)
    {
        bail!("{message}");
    }
    let check = ValidateOptions {
        reader: args.input.reader.clone(),
        ..ValidateOptions::default()
    };
    if args.append {
        return append(args, &check);
    }
    let (loaded, _validation) =
        sclerad_bundle::load(&args.bundle, &read_options(&args.input), &check)?;
    let mut problems = loaded.problems;
    sort_problems(&mut problems);
    let counts = ProblemCounts::of(&problems);
    if counts.errors > 0 {
        let mut err = std::io::stderr().lock();
        print_problems(&mut err, &problems)?;
        writeln!(
            err,
            "{}: {} error(s); nothing was imported.",
            args.bundle.display(),
            counts.errors
        )?;
        return Ok(ExitCode::from(1));
    }
    let warnings: Vec<_> = problems
        .iter()
        .filter(|p| p.severity != Severity::Note)
        .cloned()
        .collect();
    if !warnings.is_empty() {
        print_problems(&mut std::io::stderr().lock(), &warnings)?;
    }
    // Records are made from the cohort a batch at a time as they are
    // written: the import holds the cohort, not a second copy of it.
    let import = StudyImport::from_cohort(&loaded.cohort);
    let rt = runtime()?;
    let summary = rt.block_on(async {
        // A rollback journal: the new study's pages are written once.
        let store = open_with(&args.db, sclerad_store_sqlite::Journal::Rollback).await?;
        let who = acting(store.as_ref(), &args.act_as, &[Role::DataManager]).await?;
        let imported = store.import_study(&who, &args.study, &import).await;
        store.close().await;
        match imported {
            Err(StoreError::AlreadyExists { .. }) => bail!(
                "a study named {:?} is already in the store; nothing was imported",
                args.study
            ),
            other => other.context("import failed; nothing was imported"),
        }
    })?;
    println!(
        "Imported study {:?}: {} patients, {} readings.",
        summary.study.name, summary.patients, summary.readings
    );
    Ok(ExitCode::SUCCESS)
}

/// `import --append`: the bundle checked with the study's records, then
/// added to it.
fn append(args: &ImportArgs, check: &ValidateOptions) -> Result<ExitCode> {
    let read = read_options(&args.input);
    let loaded = sclerad_bundle::read_bundle(&args.bundle, &read)?;
    let rt = runtime()?;
    rt.block_on(async {
        let store = open(&args.db).await?;
        let result = async {
            let who = acting(store.as_ref(), &args.act_as, &[Role::DataManager]).await?;
            let checked =
                match sclerad_store::check_append(store.as_ref(), &args.study, &loaded, &read, check)
                    .await
                {
                    Err(StoreError::NotFound { .. }) => bail!(
                        "no study named {:?} in the store; nothing was appended (without --append, import creates it)",
                        args.study
                    ),
                    other => other?,
                };
            let mut problems = checked.appended.problems.clone();
            sort_problems(&mut problems);
            let counts = ProblemCounts::of(&problems);
            let shown: Vec<_> = problems
                .iter()
                .filter(|p| counts.errors > 0 || p.severity != Severity::Note)
                .cloned()
                .collect();
            if !shown.is_empty() {
                print_problems(&mut std::io::stderr().lock(), &shown)?;
            }
            if counts.errors > 0 {
                eprintln!(
                    "{}: {} error(s) against study {:?}; nothing was appended.",
                    args.bundle.display(),
                    counts.errors,
                    args.study
                );
                return Ok(ExitCode::from(1));
            }
            let summary = store
                .append_to_study(&who, &args.study, &checked.import(), checked.checked_patients)
                .await
                .map_err(|e| match e {
                    StoreError::Conflict { .. } => anyhow::anyhow!(
                        "study {:?} took new patients while the bundle was checked; nothing was appended: run the command again",
                        args.study
                    ),
                    other => anyhow::Error::new(other).context("append failed; nothing was appended"),
                })?;
            println!(
                "Appended to study {:?}: {} patients, {} readings (it has {} patients now).",
                summary.study.name,
                summary.patients,
                summary.readings,
                checked.checked_patients + summary.patients
            );
            anyhow::Ok(ExitCode::SUCCESS)
        }
        .await;
        store.close().await;
        result
    })
}

pub fn export(args: &ExportArgs) -> Result<ExitCode> {
    if args.out.join("patients.csv").exists() && !args.force {
        bail!(
            "{} already holds a bundle; use --force to replace it",
            args.out.display()
        );
    }
    let rt = runtime()?;
    let (tables, patients) = rt.block_on(async {
        let store = open(&args.db).await?;
        let Some(study) = store.study(&args.study).await? else {
            bail!("no study named {:?} in the store", args.study)
        };
        let patients = store.patients(study.id).await?;
        let readings = store.readings(study.id).await?;
        anyhow::Ok((
            to_tables(&study.columns, &patients, &readings),
            patients.len(),
        ))
    })?;
    // With --force, readings files of an earlier bundle that this study
    // does not have must not stay behind to be read with the new one.
    let stale = [
        ("hand_readings.csv", tables.hand_readings.is_none()),
        ("spine_readings.csv", tables.spine_readings.is_none()),
    ];
    tables.write_folder(&args.out)?;
    for (file, absent) in stale {
        let path = args.out.join(file);
        if absent && path.exists() {
            std::fs::remove_file(&path)
                .with_context(|| format!("cannot remove the stale {}", path.display()))?;
        }
    }
    println!(
        "Exported study {:?} ({patients} patients) to {}",
        args.study,
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn role(arg: RoleArg) -> Role {
    match arg {
        RoleArg::Admin => Role::Admin,
        RoleArg::DataManager => Role::DataManager,
        RoleArg::Reader => Role::Reader,
        RoleArg::Adjudicator => Role::Adjudicator,
        RoleArg::Analyst => Role::Analyst,
    }
}

/// The new password: the first line of standard input when it is not a
/// terminal, else typed twice without echo.
fn read_password(name: &str) -> Result<String> {
    if !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the password from standard input")?;
        return Ok(line.trim_end_matches(['\n', '\r']).to_string());
    }
    let first = rpassword::prompt_password(format!("Password for {name}: "))?;
    let second = rpassword::prompt_password("Again: ")?;
    if first != second {
        bail!("the two passwords differ; no user was created");
    }
    Ok(first)
}

pub fn user(command: &UserCommand) -> Result<ExitCode> {
    match command {
        UserCommand::Add(args) => user_add(args),
        UserCommand::List(args) => user_list(args),
        UserCommand::Disable(args) => {
            user_change(&args.name, &args.db, &args.act_as, Change::Disable)
        }
        UserCommand::Enable(args) => {
            user_change(&args.name, &args.db, &args.act_as, Change::Enable)
        }
        UserCommand::Role(args) => user_change(
            &args.name,
            &args.db,
            &args.act_as,
            Change::Role(role(args.role)),
        ),
        UserCommand::Password(args) => {
            // Asked for before the store is opened, as for `user add`.
            let password = read_password(args.name.trim())?;
            let hash = sclerad_store::password::hash(&password)
                .map_err(|e| anyhow::anyhow!("{e}; the password was not changed"))?;
            user_change(&args.name, &args.db, &args.act_as, Change::Password(hash))
        }
    }
}

/// A change to a user of the store.
enum Change {
    Disable,
    Enable,
    Role(Role),
    /// The new password's hash.
    Password(String),
}

fn user_change(name: &str, db: &DbArgs, act_as: &ActAs, change: Change) -> Result<ExitCode> {
    let rt = runtime()?;
    let line = rt.block_on(async {
        let store = open(db).await?;
        let who = acting(store.as_ref(), act_as, &[]).await?;
        let login = sclerad_store::login_name(name.trim());
        let Some(found) = store.credentials(&login).await? else {
            bail!("there is no user {name:?} in the store (see `sclerad user list`)")
        };
        let user = found.user;
        let changed = |e: StoreError| match e {
            StoreError::Invalid { message, .. } => anyhow::anyhow!("{message}"),
            other => anyhow::Error::from(other),
        };
        anyhow::Ok(match change {
            Change::Disable if user.disabled => format!("User {:?} was disabled already.", user.name),
            Change::Disable => {
                store.set_disabled(&who, user.id, true).await.map_err(changed)?;
                format!(
                    "Disabled user {:?}: their sessions ended and their API tokens were revoked.",
                    user.name
                )
            }
            Change::Enable if !user.disabled => format!("User {:?} was enabled already.", user.name),
            Change::Enable => {
                store.set_disabled(&who, user.id, false).await.map_err(changed)?;
                format!("Enabled user {:?}.", user.name)
            }
            Change::Role(role) if role == user.role => {
                format!("User {:?} has the role {role} already.", user.name)
            }
            Change::Role(role) => {
                store.set_role(&who, user.id, role).await.map_err(changed)?;
                format!(
                    "User {:?} now has the role {role} (was {}); their sessions ended and their API tokens were revoked.",
                    user.name, user.role
                )
            }
            Change::Password(hash) => {
                store.set_password(&who, user.id, &hash, true).await.map_err(changed)?;
                format!(
                    "Set the password of {:?}; their sessions ended and their API tokens were revoked.",
                    user.name
                )
            }
        })
    })?;
    println!("{line}");
    Ok(ExitCode::SUCCESS)
}

fn user_add(args: &UserAddArgs) -> Result<ExitCode> {
    let name = args.name.trim();
    // Checked before the password is asked for; the store checks again.
    if let Err(sclerad_store::StoreError::Invalid { message, .. }) =
        sclerad_store::check_user_name(name)
    {
        bail!("{message}");
    }
    let password = read_password(name)?;
    let hash = sclerad_store::password::hash(&password)?;
    let rt = runtime()?;
    let user = rt.block_on(async {
        let store = open(&args.db).await?;
        let who = acting(store.as_ref(), &args.act_as, &[]).await?;
        match store.create_user(&who, name, role(args.role), &hash).await {
            Err(StoreError::AlreadyExists { what }) => bail!("{what} exists already"),
            other => other.map_err(anyhow::Error::from),
        }
    })?;
    println!("Created user {:?} with role {}.", user.name, user.role);
    Ok(ExitCode::SUCCESS)
}

fn user_list(args: &UserListArgs) -> Result<ExitCode> {
    let rt = runtime()?;
    let users = rt.block_on(async {
        open(&args.db)
            .await?
            .users()
            .await
            .map_err(anyhow::Error::from)
    })?;
    let mut out = std::io::stdout().lock();
    for u in users {
        writeln!(
            out,
            "{:<24} {:<12} created {}{}",
            u.name,
            u.role,
            u.created_at,
            if u.disabled { "  disabled" } else { "" }
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

pub fn audit(command: &AuditCommand) -> Result<ExitCode> {
    let AuditCommand::Verify(args) = command;
    let rt = runtime()?;
    let (outcome, head) = rt.block_on(async {
        let store = open(&args.db).await?;
        let outcome = store.verify_trail(&args.anchor).await?;
        let head = store.audit_head().await?;
        anyhow::Ok((outcome, head))
    })?;
    match outcome {
        Ok(proved) => {
            println!(
                "Audit trail intact: {} events, every link checked; every current row of \
                 users, disabled users, API tokens, studies, patients, exams, assignments, readings, image \
                 secrets and images ({} rows) is what the trail records, and every image's \
                 bytes match their recorded SHA-256.",
                proved.events, proved.rows
            );
            if args.anchor.is_empty() {
                println!(
                    "Not checked without --anchor: that the trail was not wiped, or rewritten \
                     with every hash recomputed, by someone with write access to the database. \
                     Give a chain head recorded earlier (sclerad serve logs one at start and every \
                     10 minutes) as --anchor SEQ:HASH to prove it."
                );
            } else {
                println!("Every anchor matches ({}).", args.anchor.len());
            }
            if let Some((seq, hash)) = head.filter(|(seq, _)| *seq > 0) {
                println!("Chain head (record it outside the database): {seq}:{hash}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(failure) => {
            eprintln!("sclerad: {failure}");
            Ok(ExitCode::from(1))
        }
    }
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

pub fn serve(args: &ServeArgs) -> Result<ExitCode> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,tower_http=info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match args.log_format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
    let rt = runtime()?;
    rt.block_on(async {
        let store = open(&args.db).await?;
        tracing::info!(db = %redacted(&args.db.db), "store open");
        // The chain head in the log, at start and every 10 minutes: an anchor
        // outside the database for `sclerad audit verify --anchor`.
        let heads = std::sync::Arc::clone(&store);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(600));
            let mut last: Option<Option<(i64, String)>> = None;
            loop {
                every.tick().await;
                match heads.audit_head().await {
                    Ok(head) if last.as_ref() != Some(&head) => {
                        let anchor = head
                            .as_ref()
                            .map_or_else(|| "0:empty".to_string(), |(s, h)| format!("{s}:{h}"));
                        tracing::info!(%anchor, "audit chain head");
                        last = Some(head);
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "audit chain head unreadable"),
                }
            }
        });
        let limits = sclerad_server::ServeLimits {
            header_timeout: std::time::Duration::from_secs(args.header_timeout),
            body_timeout: std::time::Duration::from_secs(args.body_timeout),
            write_timeout: std::time::Duration::from_secs(args.write_timeout),
            max_connections: usize::try_from(args.max_connections).unwrap_or(usize::MAX),
        };
        let tls = match (&args.tls_cert, &args.tls_key) {
            (Some(cert), Some(key)) => Some(tls_config(cert, key)?),
            _ => None,
        };
        if let Some(root) = &args.images_root {
            let meta = std::fs::metadata(root)
                .with_context(|| format!("--images-root {}", root.display()))?;
            if !meta.is_dir() {
                bail!("--images-root {} is not a folder", root.display());
            }
        }
        let listener = tokio::net::TcpListener::bind(args.bind)
            .await
            .with_context(|| format!("cannot serve on {}", args.bind))?;
        serve_store(
            store,
            listener,
            sclerad_server::Config {
                token_days_max: args.max_token_days,
                max_upload_bytes: args.max_upload_mb << 20,
                images_root: args.images_root.clone(),
                ..sclerad_server::Config::default()
            },
            limits,
            tls,
        )
        .await
    })?;
    Ok(ExitCode::SUCCESS)
}

/// The TLS configuration of a certificate and key file (each read as a
/// regular file of at most 1 MiB).
fn tls_config(cert: &std::path::Path, key: &std::path::Path) -> Result<sclerad_server::TlsConfig> {
    let read = |path: &std::path::Path, what: &str| {
        sclerad_bundle::read_file(path, 1 << 20)
            .with_context(|| format!("cannot read the TLS {what} {}", path.display()))
    };
    let cert_pem = read(cert, "certificate")?;
    let key_pem = read(key, "key")?;
    Ok(sclerad_server::TlsConfig::from_pem(
        &cert.display().to_string(),
        &cert_pem,
        &key.display().to_string(),
        &key_pem,
    )?)
}

/// Serves `store` on `listener` until Ctrl-C or SIGTERM, over TLS when
/// `tls` is given.
async fn serve_store(
    store: Arc<dyn Store>,
    listener: tokio::net::TcpListener,
    config: sclerad_server::Config,
    limits: sclerad_server::ServeLimits,
    tls: Option<sclerad_server::TlsConfig>,
) -> Result<()> {
    let state =
        sclerad_server::AppState::new(store, config).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    // First start: a store with no user gets a one-time link to create the
    // first admin in the browser (printed, never logged).
    if let Some(path) = state
        .first_start_path()
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?
    {
        let scheme = if tls.is_some() { "https" } else { "http" };
        let mut at = listener.local_addr()?;
        if at.ip().is_unspecified() {
            at.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        println!(
            "First start: this store has no user yet. Create the first admin in the browser \
             (the link works once, until the server stops):\n  {scheme}://{at}{path}\n\
             Or from the command line: sclerad user add NAME --role admin"
        );
        use std::io::Write as _;
        std::io::stdout().flush()?;
    }
    let app = sclerad_server::router(state);
    match tls {
        Some(tls) => {
            sclerad_server::serve_tls_on(listener, app, limits, tls, shutdown_signal()).await
        }
        None => sclerad_server::serve_on(listener, app, limits, shutdown_signal()).await,
    }
    .context("the server stopped")
}

/// The demo's users: one per role, two readers.
const DEMO_USERS: [(Role, &str); 6] = [
    (Role::Admin, "admin"),
    (Role::DataManager, "datamanager"),
    (Role::Reader, "reader1"),
    (Role::Reader, "reader2"),
    (Role::Adjudicator, "adjudicator"),
    (Role::Analyst, "analyst"),
];

/// Patients whose consensus the demo leaves to the adjudicator.
const DEMO_OPEN_PATIENTS: usize = 10;

/// The cohort without the consensus readings of its last `n` patients
/// (the demo cohort has a consensus for every exam, which would leave the
/// adjudicator nothing to do), and how many patients lost theirs.
fn without_some_consensus(
    cohort: &sclerad_model::Cohort,
    n: usize,
) -> (sclerad_model::Cohort, usize) {
    let open: std::collections::HashSet<&str> = cohort
        .patients
        .iter()
        .rev()
        .take(n)
        .map(|p| p.patient_id.as_str())
        .collect();
    let mut out = cohort.clone();
    if let Some(r) = out.hand_readings.as_mut() {
        r.rows.retain(|r| {
            !(sclerad_model::is_consensus(&r.reader) && open.contains(r.patient_id.as_str()))
        });
    }
    if let Some(r) = out.spine_readings.as_mut() {
        r.rows.retain(|r| {
            !(sclerad_model::is_consensus(&r.reader) && open.contains(r.patient_id.as_str()))
        });
    }
    (out, open.len())
}

/// `sclerad demo --serve`: the demo cohort imported into `out/sclerad.db`,
/// the consensus of its last patients left to the adjudicator, a user per
/// role with a random password, blinded worklists for the two readers (a
/// tenth of the exams twice), then the server on `bind`.
pub fn demo_serve(
    out: &std::path::Path,
    cohort: &sclerad_model::Cohort,
    bind: std::net::SocketAddr,
) -> Result<ExitCode> {
    let path = out.join("sclerad.db");
    if path.exists() {
        bail!(
            "{} exists (from an earlier demo?): delete it to start the demo afresh, or give another --out",
            path.display()
        );
    }
    let url = format!("sqlite:{}", path.display());
    let rt = runtime()?;
    rt.block_on(async {
        let store: Arc<dyn Store> = Arc::new(
            SqliteStore::open(&url)
                .await
                .with_context(|| format!("cannot create the store {}", path.display()))?,
        );
        let who = Actor::command_line("sclerad-demo");
        let (cohort, held_back) = without_some_consensus(cohort, DEMO_OPEN_PATIENTS);
        let study = store
            .import_study(&who, "nancy-demo", &StudyImport::from_cohort(&cohort))
            .await
            .context("cannot import the demo cohort")?
            .study;
        let mut lines = Vec::new();
        for (role, name) in DEMO_USERS {
            let password = sclerad_server::auth::random_token()
                .map_err(|e| anyhow::anyhow!("{e:?}"))?[..20]
                .to_string();
            let hash = sclerad_store::password::hash(&password)?;
            store.create_user(&who, name, role, &hash).await?;
            lines.push(format!("{} {name} {password}", role.code()));
        }
        let readers: Vec<String> = DEMO_USERS
            .iter()
            .filter(|(role, _)| *role == Role::Reader)
            .map(|(_, name)| name.to_string())
            .collect();
        let assigned = sclerad_store::blinding::assign(
            store.as_ref(),
            &who,
            study.id,
            &sclerad_store::blinding::WorklistRequest::all(
                &readers,
                sclerad_store::blinding::ExamChoice::Both,
                0.1,
            ),
        )
        .await?;
        let started = std::time::Instant::now();
        // The images `sclerad demo` wrote beside the bundle (drawn from
        // every consensus, held back here or not), taken in as `images
        // import` takes files.
        let images = crate::images::import_demo_images(
            &crate::cli::DbArgs { db: url.clone() },
            &study.name,
            &out.join("images"),
            &out.join("images-map.csv"),
        )
        .await?;
        let listener = tokio::net::TcpListener::bind(bind)
            .await
            .with_context(|| format!("cannot serve on {bind}"))?;
        let addr = listener.local_addr()?;
        println!(
            "Imported the demo study {:?} into {} and assigned {assigned} blinded readings to {}.",
            study.name,
            path.display(),
            readers.join(" and ")
        );
        println!(
            "Took in, de-identified, the demo's {images} synthetic images (a hand radiograph and a CT series per patient, agreeing with the readings) in {:.1} s.",
            started.elapsed().as_secs_f64()
        );
        println!(
            "The consensus of the last {held_back} patients' exams was left out of the store: the adjudicator settles their disagreements."
        );
        println!("Open http://{addr}/ and log in as one of (role, name, password):");
        for line in lines {
            println!("{line}");
        }
        println!(
            "Ctrl-C stops the server; the store stays in {}.",
            path.display()
        );
        serve_store(
            store,
            listener,
            sclerad_server::Config::default(),
            sclerad_server::ServeLimits::default(),
            None,
        )
        .await
    })?;
    Ok(ExitCode::SUCCESS)
}

fn redacted(url: &str) -> String {
    sclerad_store_postgres::redact(url)
}
