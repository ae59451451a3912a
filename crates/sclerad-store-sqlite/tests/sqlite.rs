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

sclerad_store_tests::conformance_tests!(open);

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
    assert_eq!(versions, vec![1, 2]);
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
    assert_eq!(verify_audit(&store).await.expect("read"), Ok(3));

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
    assert_eq!(broken.seq, 2, "{broken}");

    // Restore it, then remove the newest event instead.
    sqlx::raw_sql("UPDATE audit_events SET actor = 'cli:t' WHERE seq = 2; DELETE FROM audit_events WHERE seq = 3;")
        .execute(&raw)
        .await
        .expect("tamper");
    let broken = verify_audit(&store)
        .await
        .expect("read")
        .expect_err("detected");
    assert_eq!(broken.seq, 3, "{broken}");
}
