//! The store on a real PostgreSQL server: the shared conformance suite, plus
//! what only PostgreSQL has (concurrent migration, triggers).
//!
//! Needs `SCLERAD_TEST_POSTGRES_URL` (a superuser URL; each test creates
//! its own database). `scripts/test-postgres.sh start` starts a cluster
//! and prints it; `.ci/run` does so. Set `SCLERAD_SKIP_POSTGRES=1` to skip
//! these tests knowingly: without either variable they fail.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use sclerad_store::{verify_audit, Actor, Role, Store};
use sclerad_store_postgres::PostgresStore;

/// A fresh database URL, or `None` when PostgreSQL tests are skipped.
async fn fresh_database() -> Option<String> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let Ok(admin) = std::env::var("SCLERAD_TEST_POSTGRES_URL") else {
        if std::env::var_os("SCLERAD_SKIP_POSTGRES").is_some() {
            return None;
        }
        panic!(
            "SCLERAD_TEST_POSTGRES_URL is not set: run `eval \"$(scripts/test-postgres.sh start)\"` \
             first, or set SCLERAD_SKIP_POSTGRES=1 to skip the PostgreSQL tests"
        );
    };
    let name = format!(
        "sclerad_test_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let pool = sqlx::PgPool::connect(&admin)
        .await
        .expect("connect as admin");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name}"
    )))
    .execute(&pool)
    .await
    .expect("drop");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&pool)
        .await
        .expect("create database");
    pool.close().await;
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    Some(format!("{base}/{name}"))
}

/// A store on a fresh database (`None`: skipped on purpose).
async fn open() -> Option<Arc<dyn Store>> {
    let url = fresh_database().await?;
    Some(Arc::new(
        PostgresStore::open(&url).await.expect("open store"),
    ))
}

sclerad_store::conformance_tests!(open);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_opens_migrate_once() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let (a, b) = tokio::join!(PostgresStore::open(&url), PostgresStore::open(&url));
    let a = a.expect("first open");
    b.expect("second open");
    let versions: Vec<i64> = sqlx::query_scalar("SELECT version FROM schema_migrations")
        .fetch_all(a.pool())
        .await
        .expect("migrations");
    assert_eq!(versions, vec![1]);
}

#[tokio::test]
async fn audit_rows_are_append_only_and_tampering_is_named() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let store = PostgresStore::open(&url).await.expect("open");
    for name in ["a", "b", "c"] {
        store
            .create_user(&Actor::command_line("t"), name, Role::Reader, "h")
            .await
            .expect("user");
    }
    assert_eq!(verify_audit(&store).await.expect("read"), Ok(3));
    let refused = sqlx::query("UPDATE audit_events SET actor = 'x' WHERE seq = 2")
        .execute(store.pool())
        .await;
    assert!(refused.is_err(), "the trigger refuses edits");

    sqlx::raw_sql(
        "DROP TRIGGER audit_events_append_only ON audit_events; \
         UPDATE audit_events SET after = '{}' WHERE seq = 1;",
    )
    .execute(store.pool())
    .await
    .expect("tamper");
    let broken = verify_audit(&store)
        .await
        .expect("read")
        .expect_err("detected");
    assert_eq!(broken.seq, 1, "{broken}");
}
