//! The store on a real PostgreSQL server: the shared conformance suite, plus
//! what only PostgreSQL has (concurrent migration, triggers).
//!
//! Needs `SCLERAD_TEST_POSTGRES_URL` (a superuser URL; each test creates
//! its own database). `scripts/test-postgres.sh start` starts a cluster
//! and prints it; `.ci/run` does so. Set `SCLERAD_SKIP_POSTGRES=1` to skip
//! these tests knowingly: without either variable they fail.

use std::sync::Arc;

use sclerad_store::{verify_audit, Actor, Role, Store};
use sclerad_store_postgres::PostgresStore;

/// A fresh database URL, or `None` when PostgreSQL tests are skipped.
async fn fresh_database() -> Option<String> {
    sclerad_store_tests::postgres_test_database("test")
}

/// A store on a fresh database (`None`: skipped on purpose).
async fn open() -> Option<Arc<dyn Store>> {
    let url = fresh_database().await?;
    Some(Arc::new(
        PostgresStore::open(&url).await.expect("open store"),
    ))
}

/// A fresh store and a raw connection to its database.
async fn open_raw() -> Option<(
    Arc<dyn Store>,
    Box<sclerad_store_tests::conformance::RawSql>,
)> {
    let url = fresh_database().await?;
    let store = PostgresStore::open(&url).await.expect("open store");
    let raw = sqlx::PgPool::connect(&url).await.expect("raw connection");
    let exec = move |sql: &'static str| {
        let raw = raw.clone();
        Box::pin(async move {
            sqlx::raw_sql(sql).execute(&raw).await.expect(sql);
        }) as std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
    };
    Some((Arc::new(store), Box::new(exec)))
}

sclerad_store_tests::conformance_tests!(open, open_raw);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_opens_migrate_once() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let (a, b) = tokio::join!(PostgresStore::open(&url), PostgresStore::open(&url));
    a.expect("first open");
    b.expect("second open");
    // A connection of its own, past the store's interface.
    let raw = sqlx::PgPool::connect(&url).await.expect("raw connection");
    let versions: Vec<i64> = sqlx::query_scalar("SELECT version FROM schema_migrations")
        .fetch_all(&raw)
        .await
        .expect("migrations");
    let every: Vec<i64> = sclerad_store_postgres::MIGRATIONS
        .iter()
        .map(|m| m.version)
        .collect();
    assert_eq!(versions, every);
    assert_eq!(
        every,
        (1..=every.len() as i64).collect::<Vec<i64>>(),
        "numbered from 1, none skipped"
    );
}

#[tokio::test]
async fn audit_rows_are_append_only_and_tampering_is_named() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let store = PostgresStore::open(&url).await.expect("open");
    // A connection of its own, past the store's interface.
    let raw = sqlx::PgPool::connect(&url).await.expect("raw connection");
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

    sqlx::raw_sql(
        "DROP TRIGGER audit_events_append_only ON audit_events; \
         UPDATE audit_events SET after = '{}' WHERE seq = 1;",
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
    assert_eq!(broken.seq, 1, "{broken}");
}

/// A reading locked by someone outside the store (an idle `psql` holding
/// `FOR UPDATE`) costs that one save a lock timeout; saves of other
/// readings in the same batch still land.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_held_elsewhere_does_not_stall_other_saves() {
    use sclerad_store::{blinding, StoreError, StudyImport};
    let Some(url) = fresh_database().await else {
        return;
    };
    let store = Arc::new(PostgresStore::open(&url).await.expect("open"));
    // A connection of its own, past the store's interface.
    let raw = sqlx::PgPool::connect(&url).await.expect("raw connection");
    let cli = Actor::command_line("t");
    let tables = sclerad_store_tests::conformance::sample_tables();
    let import = StudyImport::from_tables(&tables);
    let study = store
        .import_study(&cli, "s", &import)
        .await
        .expect("import")
        .study;
    let reader = store
        .create_user(&cli, "rx", Role::Reader, "h")
        .await
        .expect("user");
    let patients = store.patients(study.id).await.expect("patients");
    let exams: Vec<(i64, char)> = patients
        .iter()
        .map(|p| (p.hand_radiograph.id, 'H'))
        .collect();
    let plan = blinding::plan(
        &exams,
        &[reader.id],
        0.0,
        &Default::default(),
        &mut blinding::Shuffler::new(1),
    )
    .expect("plan");
    store
        .create_assignments(&cli, study.id, &plan)
        .await
        .expect("assign");

    // Hold the first reading's row in another session.
    let mut holder = raw.begin().await.expect("begin");
    sqlx::query(
        "SELECT r.id FROM readings r JOIN assignments a ON a.id = r.assignment_id \
         WHERE a.code = $1 FOR UPDATE",
    )
    .bind(&plan[0].code)
    .fetch_one(&mut *holder)
    .await
    .expect("lock");

    let mut saves = tokio::task::JoinSet::new();
    for a in &plan {
        let store = Arc::clone(&store);
        let code = a.code.clone();
        let actor = Actor::user(&reader);
        saves.spawn(async move {
            // Nothing found.
            let findings: Vec<sclerad_model::Finding> = Vec::new();
            (
                code.clone(),
                store
                    .save_reading(&actor, reader.id, &code, &findings, 0)
                    .await,
            )
        });
    }
    let results = saves.join_all().await;
    holder.rollback().await.expect("release");
    for (code, result) in &results {
        if *code == plan[0].code {
            assert!(matches!(result, Err(StoreError::Backend(_))), "{result:?}");
        } else {
            assert!(result.is_ok(), "{code}: {result:?}");
        }
    }
    assert_eq!(
        sclerad_store_tests::conformance::verified(store.as_ref()).await,
        3 + plan.len() as i64 - 1
    );
}
