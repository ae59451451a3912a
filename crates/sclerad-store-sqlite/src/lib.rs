//! The sclerad study store on an embedded SQLite file (WAL journal).
//!
//! Writers take the database lock at the start of their transaction
//! (`BEGIN IMMEDIATE`), so a read-then-write transaction never fails
//! half-way for lack of the lock, and version checks cannot race.

use std::str::FromStr;
use std::time::Duration;

use sclerad_store::{Migration, StoreError, StoreResult};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

use sql::{apply_migrations, backend, spawn_saver, SaveJob, WriteTx};

/// The SQLite migrations, in order.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "0001_init.sql",
        sql: include_str!("../migrations/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "0002_token_expiry.sql",
        sql: include_str!("../migrations/0002_token_expiry.sql"),
    },
    Migration {
        version: 3,
        name: "0003_row_digests.sql",
        sql: include_str!("../migrations/0003_row_digests.sql"),
    },
];

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

    /// Closes every connection (checkpointing the WAL).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// What the shared SQL (`sclerad-store/sql/shared.rs`) needs of SQLite.
mod dialect {
    pub(crate) use super::SqliteStore as ThisStore;
    pub(crate) use sqlx::sqlite::{SqliteConnection as DbConnection, SqliteRow as DbRow};
    pub(crate) type Db = sqlx::Sqlite;

    /// SQLite needs no row locks: a write transaction holds the database.
    pub(crate) fn lock(_alias: &str) -> String {
        String::new()
    }

    pub(crate) const SAVER_SETUP: Option<&str> = None;
    pub(crate) const SNAPSHOT: Option<&str> = None;
    pub(crate) const BACKEND: sclerad_store::Backend = sclerad_store::Backend::Sqlite;
}

#[path = "../../sclerad-store/sql/shared.rs"]
mod sql;
