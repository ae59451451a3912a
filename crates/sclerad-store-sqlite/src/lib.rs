//! The sclerad study store on an embedded SQLite file (WAL journal).
//!
//! Writers take the database lock at the start of their transaction
//! (`BEGIN IMMEDIATE`), so a read-then-write transaction never fails
//! half-way for lack of the lock, and version checks cannot race.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sclerad_store::codec::{from_code, from_json, to_json};
use sclerad_store::{
    audit::{AuditEvent, NewEvent},
    migrate, now, Actor, ApiToken, Backend, Cells, Credentials, Exam, FindingsCheck, ImportSummary,
    Migration, Modality, NewAssignment, PatientRecord, Reading, ReadingKind, Role, Session, Store,
    StoreError, StoreResult, Study, StudyColumns, StudyImport, User, WorkItem,
};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Row, SqlitePool};

/// The SQLite migrations, in order.
pub const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "0001_init.sql",
    sql: include_str!("../migrations/0001_init.sql"),
}];

/// A study store in one SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// Writers of this process take turns here before `BEGIN IMMEDIATE`.
    writer: std::sync::Arc<tokio::sync::Mutex<()>>,
    /// Readers' saves, written in batches (group commit).
    saver: Option<tokio::sync::mpsc::Sender<SaveJob>>,
}

impl SqliteStore {
    /// Opens (creating it if needed) the database at `url`
    /// (`sqlite:path.db`, `sqlite://path.db` or `sqlite::memory:`) and
    /// applies pending migrations.
    pub async fn open(url: &str) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Backend(format!("{url}: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(30));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .map_err(|e| StoreError::Backend(format!("{url}: {e}")))?;
        let mut store = SqliteStore {
            pool,
            writer: std::sync::Arc::new(tokio::sync::Mutex::new(())),
            saver: None,
        };
        store.migrate().await?;
        store.saver = Some(spawn_saver(store.clone()));
        Ok(store)
    }

    async fn write(&self) -> StoreResult<WriteTx> {
        let turn = std::sync::Arc::clone(&self.writer).lock_owned().await;
        let tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(backend)?;
        Ok(WriteTx {
            tx,
            _turn: Some(turn),
        })
    }

    async fn migrate(&self) -> StoreResult<()> {
        let mut tx = self.write().await?;
        apply_migrations(&mut tx, MIGRATIONS).await?;
        tx.commit().await.map_err(backend)
    }

    /// The underlying pool, for tests that must reach past the interface
    /// (tampering with the audit trail, say).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Closes every connection (checkpointing the WAL).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

type Db = sqlx::Sqlite;
type DbRow = SqliteRow;
type DbConnection = SqliteConnection;
type ThisStore = SqliteStore;
/// SQLite needs no row locks: a write transaction holds the database.
fn lock(_alias: &str) -> String {
    String::new()
}
const SAVER_SETUP: Option<&str> = None;
const BACKEND: Backend = Backend::Sqlite;

include!("../../sclerad-store/sql/store_impl.rs");
