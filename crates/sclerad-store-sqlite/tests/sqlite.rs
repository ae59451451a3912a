//! The store on real SQLite files: the shared conformance suite, plus what
//! only SQLite has (the file, WAL, triggers, crash safety).

use std::sync::Arc;

use sclerad_store::{verify_audit, Actor, Role, Store};
use sclerad_store_sqlite::SqliteStore;

async fn open() -> Option<Arc<dyn Store>> {
    // Each test gets its own file, kept for the life of the process.
    let dir = tempfile::tempdir().expect("temp dir").keep();
    let url = format!("sqlite:{}", dir.join("test.db").display());
    Some(Arc::new(SqliteStore::open(&url).await.expect("open store")))
}

/// A fresh store and a raw connection to its file.
async fn open_raw() -> Option<(
    Arc<dyn Store>,
    Box<sclerad_store_tests::conformance::RawSql>,
)> {
    let dir = tempfile::tempdir().expect("temp dir").keep();
    let url = format!("sqlite:{}", dir.join("raw.db").display());
    let store = SqliteStore::open(&url).await.expect("open store");
    let raw = sqlx::SqlitePool::connect(&url)
        .await
        .expect("raw connection");
    let exec = move |sql: &'static str| {
        let raw = raw.clone();
        Box::pin(async move {
            sqlx::raw_sql(sql).execute(&raw).await.expect(sql);
        }) as std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
    };
    Some((Arc::new(store), Box::new(exec)))
}

sclerad_store_tests::conformance_tests!(open, open_raw);

#[tokio::test]
async fn opening_creates_the_file_and_migrates_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("new.db");
    let url = format!("sqlite:{}", path.display());
    let store = SqliteStore::open(&url).await.expect("first open");
    assert!(path.exists());
    store
        .create_user(&Actor::command_line("t"), "a", Role::Admin, "h")
        .await
        .expect("user");
    store.close().await;
    let again = SqliteStore::open(&url).await.expect("second open");
    // A connection of its own, past the store's interface.
    let raw = sqlx::SqlitePool::connect(&url)
        .await
        .expect("raw connection");
    assert_eq!(again.users().await.expect("users").len(), 1);
    let versions: Vec<i64> = sqlx::query_scalar("SELECT version FROM schema_migrations")
        .fetch_all(&raw)
        .await
        .expect("migrations");
    let every: Vec<i64> = sclerad_store_sqlite::MIGRATIONS
        .iter()
        .map(|m| m.version)
        .collect();
    assert_eq!(versions, every);
    assert_eq!(
        every,
        (1..=every.len() as i64).collect::<Vec<i64>>(),
        "numbered from 1, none skipped"
    );
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&raw)
        .await
        .expect("pragma");
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn audit_rows_are_append_only_and_tampering_is_named() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite:{}", dir.path().join("a.db").display());
    let store = SqliteStore::open(&url).await.expect("open");
    // A connection of its own, past the store's interface.
    let raw = sqlx::SqlitePool::connect(&url)
        .await
        .expect("raw connection");
    for name in ["a", "b", "c"] {
        store
            .create_user(&Actor::command_line("t"), name, Role::Reader, "h")
            .await
            .expect("user");
    }
    assert_eq!(sclerad_store_tests::conformance::verified(&store).await, 3);

    let refused = sqlx::query("UPDATE audit_events SET actor = 'x' WHERE seq = 2")
        .execute(&raw)
        .await;
    assert!(refused.is_err(), "the trigger refuses edits");

    // Someone with the file drops the trigger and edits event 2.
    sqlx::raw_sql(
        "DROP TRIGGER audit_events_no_update; DROP TRIGGER audit_events_no_delete; \
         UPDATE audit_events SET actor = 'mallory' WHERE seq = 2;",
    )
    .execute(&raw)
    .await
    .expect("tamper");
    let broken = verify_audit(&store)
        .await
        .expect("read")
        .expect_err("detected");
    let sclerad_store::AuditFailure::Chain(broken) = broken else {
        panic!("{broken}")
    };
    assert_eq!(broken.seq, 2, "{broken}");

    // Restore it, then remove the newest event instead.
    sqlx::raw_sql("UPDATE audit_events SET actor = 'cli:t' WHERE seq = 2; DELETE FROM audit_events WHERE seq = 6;")
        .execute(&raw)
        .await
        .expect("tamper");
    let broken = verify_audit(&store)
        .await
        .expect("read")
        .expect_err("detected");
    let sclerad_store::AuditFailure::Chain(broken) = broken else {
        panic!("{broken}")
    };
    assert_eq!(broken.seq, 6, "{broken}");
}

/// A database of schema 1 that holds a user, an API token and its event:
/// opening it applies migration 2 (the token gets 90 days from its
/// creation) and migration 3, which records the digests of the rows
/// already there, so the upgraded trail proves them.
#[tokio::test]
async fn an_upgraded_database_is_proven_from_the_upgrade_on() {
    use sclerad_store::audit::{AuditEvent, NewEvent, GENESIS};
    use sclerad_store_sqlite::MIGRATIONS;
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite:{}", dir.path().join("old.db").display());
    let options = <sqlx::sqlite::SqliteConnectOptions as std::str::FromStr>::from_str(&url)
        .expect("url")
        .create_if_missing(true);
    let raw = sqlx::SqlitePool::connect_with(options)
        .await
        .expect("raw connection");
    sqlx::raw_sql(MIGRATIONS[0].sql)
        .execute(&raw)
        .await
        .expect("schema 1");
    sqlx::raw_sql(
        "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, \
         checksum TEXT NOT NULL, applied_at TEXT NOT NULL); \
         INSERT INTO users (name, role, password_hash, created_at) \
         VALUES ('old', 'admin', 'h', '2026-01-01T00:00:00.000000Z'); \
         INSERT INTO api_tokens (user_id, label, token_hash, created_at) \
         VALUES (1, 'ci', 'abc', '2026-01-01T00:00:00.000000Z');",
    )
    .execute(&raw)
    .await
    .expect("version 1 data");
    sqlx::query("INSERT INTO schema_migrations VALUES (1, $1, $2, 't')")
        .bind(MIGRATIONS[0].name)
        .bind(MIGRATIONS[0].checksum())
        .execute(&raw)
        .await
        .expect("migration row");
    let event = AuditEvent::chain(
        1,
        "2026-01-01T00:00:00.000000Z".into(),
        "cli:t",
        NewEvent::new("create", "user", 1, None::<&()>, Some(&"old")),
        GENESIS,
    );
    sqlx::query(
        "INSERT INTO audit_events (seq, at, actor, action, entity, entity_id, before, after, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(event.seq)
    .bind(&event.at)
    .bind(&event.actor)
    .bind(&event.action)
    .bind(&event.entity)
    .bind(&event.entity_id)
    .bind(&event.before)
    .bind(&event.after)
    .bind(&event.prev_hash)
    .bind(&event.hash)
    .execute(&raw)
    .await
    .expect("event");
    sqlx::query("UPDATE audit_head SET seq = 1, hash = $1")
        .bind(&event.hash)
        .execute(&raw)
        .await
        .expect("head");

    let store = SqliteStore::open(&url).await.expect("upgrade");
    let tokens = store.tokens(1).await.expect("tokens");
    assert_eq!(tokens[0].expires_at, "2026-04-01T00:00:00.000Z");
    let proved = verify_audit(&store).await.expect("read").expect("proven");
    assert_eq!((proved.events, proved.rows), (3, 2));
    let events = store.audit_events(1, 10).await.expect("events");
    assert!(
        events
            .iter()
            .all(|e| e.actor == "sclerad:migration"
                && e.action == sclerad_store::proof::DIGEST_ACTION)
    );

    // From then on, an edit of a row that predates the upgrade is caught.
    sqlx::query("UPDATE api_tokens SET expires_at = '2099-01-01T00:00:00.000Z'")
        .execute(&raw)
        .await
        .expect("tamper");
    match verify_audit(&store).await.expect("read") {
        Err(sclerad_store::AuditFailure::Rows { first, count: 1 }) => {
            assert_eq!((first.table, first.id), ("api_tokens", 1), "{first}");
        }
        other => panic!("{other:?}"),
    }
}

/// A store opened with a rollback journal (an import on its own) imports
/// into a file in rollback mode, proven as ever; opened again as a server
/// opens it, the file is in WAL mode again; and while a WAL store has the
/// file open, asking for the rollback journal leaves WAL mode alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_on_its_own_writes_with_a_rollback_journal() {
    use sclerad_store_sqlite::Journal;
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite:{}", dir.path().join("bulk.db").display());
    let mode = |url: String| async move {
        let raw = sqlx::SqlitePool::connect(&url).await.expect("raw");
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&raw)
            .await
            .expect("pragma");
        raw.close().await;
        mode
    };
    let bulk = SqliteStore::open_with(&url, Journal::Rollback)
        .await
        .expect("open");
    let tables = sclerad_store_tests::conformance::sample_tables();
    bulk.import_study(
        &Actor::command_line("test"),
        "s",
        &sclerad_store::StudyImport::from_tables(&tables),
    )
    .await
    .expect("import");
    bulk.close().await;
    assert_eq!(mode(url.clone()).await, "delete");
    assert!(!dir.path().join("bulk.db-wal").exists());
    let served = SqliteStore::open(&url).await.expect("open");
    assert!(verify_audit(&served).await.expect("read").is_ok());
    assert_eq!(mode(url.clone()).await, "wal");
    // The server has it open: the import's wish is not granted.
    let second = SqliteStore::open_with(&url, Journal::Rollback)
        .await
        .expect("open");
    assert_eq!(mode(url.clone()).await, "wal");
    assert_eq!(second.studies().await.expect("studies").len(), 1);
    second.close().await;
    served.close().await;
}
