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
    Migration {
        version: 4,
        name: "0004_images.sql",
        sql: include_str!("../migrations/0004_images.sql"),
    },
    Migration {
        version: 5,
        name: "0005_disabled_users.sql",
        sql: include_str!("../migrations/0005_disabled_users.sql"),
    },
    Migration {
        version: 6,
        name: "0006_analysis_runs.sql",
        sql: include_str!("../migrations/0006_analysis_runs.sql"),
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

/// How a store's file keeps its writes atomic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Journal {
    /// The write-ahead log: readers never wait for the writer, as a server
    /// needs. Every page is written twice (the log, then the file).
    #[default]
    Wal,
    /// A rollback journal, for one command writing much while nothing else
    /// has the file open (`sclerad import`): a page that did not exist
    /// before the transaction is written once, not journalled. As safe
    /// against a crash as the log. When another connection has the file
    /// open in WAL mode, SQLite keeps WAL mode (the switch needs the file
    /// to itself), so this only ever changes speed, never safety; the next
    /// opening with [`Journal::Wal`] puts the log back.
    Rollback,
}

impl SqliteStore {
    /// Opens (creating it if needed) the database at `url`
    /// (`sqlite:path.db`, `sqlite://path.db` or `sqlite::memory:`) and
    /// applies pending migrations.
    pub async fn open(url: &str) -> StoreResult<Self> {
        Self::open_with(url, Journal::Wal).await
    }

    /// [`SqliteStore::open`] with the file's journal chosen. A rollback
    /// journal the file cannot switch to now (another connection has it
    /// open in WAL mode: the switch is refused as "database is locked") is
    /// given up for the log.
    pub async fn open_with(url: &str, journal: Journal) -> StoreResult<Self> {
        let pool = match Self::connect(url, journal).await {
            Err(sqlx::Error::Database(e))
                if journal == Journal::Rollback && e.code().as_deref() == Some("5") =>
            {
                Self::connect(url, Journal::Wal).await
            }
            other => other,
        }
        .map_err(|e| StoreError::Backend(format!("{url}: {e}")))?;
        Self::on(pool).await
    }

    async fn connect(url: &str, journal: Journal) -> Result<SqlitePool, sqlx::Error> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .page_size(16384)
            .journal_mode(match journal {
                Journal::Wal => SqliteJournalMode::Wal,
                Journal::Rollback => SqliteJournalMode::Delete,
            })
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(30));
        SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
    }

    /// The store on `pool`, migrated, its saver started.
    async fn on(pool: SqlitePool) -> StoreResult<SqliteStore> {
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
    use super::sql::{Cell, RowsInsert};
    use sclerad_store::{StoreError, StoreResult};

    /// SQLite needs no row locks: a write transaction holds the database.
    pub(crate) fn lock(_alias: &str) -> String {
        String::new()
    }

    pub(crate) const SAVER_SETUP: Option<&str> = None;
    pub(crate) const SNAPSHOT: Option<&str> = None;
    pub(crate) const BACKEND: sclerad_store::Backend = sclerad_store::Backend::Sqlite;

    /// The page cache an import's transaction works with (16 MB), and the
    /// one it leaves (the default, 2 MB): an import whose dirty pages
    /// outgrow the cache spills them to the WAL again and again.
    pub(crate) const IMPORT_CACHE: Option<(&str, &str)> =
        Some(("PRAGMA cache_size = -16384", "PRAGMA cache_size = -2000"));

    /// The rows of an import statement, bound as parameters: no text is
    /// escaped or parsed on the way (about 20% of an import's processor
    /// time went to JSON when they were one JSON text).
    pub(crate) struct ImportRows {
        columns: usize,
        rows: usize,
        values: sqlx::sqlite::SqliteArguments,
        /// Short texts given before, per column (a reading's kind, its
        /// reader, the time of the import): bound again without a new
        /// allocation.
        seen: Vec<Vec<std::sync::Arc<str>>>,
    }

    /// Texts up to this long are looked up among a column's texts before.
    const SHORT_TEXT: usize = 48;
    /// How many short texts a column keeps.
    const SHORT_TEXTS: usize = 16;

    impl ImportRows {
        /// No rows yet, room for `capacity` of `insert`'s.
        pub(crate) fn new(insert: &RowsInsert, capacity: usize) -> Self {
            let mut values = sqlx::sqlite::SqliteArguments::default();
            sqlx::Arguments::reserve(&mut values, capacity * insert.columns.len(), 0);
            ImportRows {
                columns: insert.columns.len(),
                rows: 0,
                values,
                seen: vec![Vec::new(); insert.columns.len()],
            }
        }

        /// Adds a row: a value for each column, in order.
        pub(crate) fn push(&mut self, row: &[Cell<'_>]) -> StoreResult<()> {
            if row.len() != self.columns {
                return Err(StoreError::Backend(format!(
                    "an import row has {} values for {} columns",
                    row.len(),
                    self.columns
                )));
            }
            for (cell, seen) in row.iter().zip(&mut self.seen) {
                match *cell {
                    Cell::Int(v) => sqlx::Arguments::add(&mut self.values, v),
                    Cell::Text(None) => sqlx::Arguments::add(&mut self.values, None::<i64>),
                    Cell::Text(Some(text)) => {
                        let shared = if text.len() <= SHORT_TEXT {
                            match seen.iter().find(|t| ***t == *text) {
                                Some(t) => std::sync::Arc::clone(t),
                                None => {
                                    let t: std::sync::Arc<str> = text.into();
                                    if seen.len() < SHORT_TEXTS {
                                        seen.push(std::sync::Arc::clone(&t));
                                    }
                                    t
                                }
                            }
                        } else {
                            text.into()
                        };
                        sqlx::Arguments::add(&mut self.values, shared)
                    }
                }
                .map_err(|e| StoreError::Backend(e.to_string()))?;
            }
            self.rows += 1;
            Ok(())
        }
    }

    /// Inserts `rows` into `insert`'s table, one statement (prepared once
    /// per batch size), and returns their ids in the rows' order. In a
    /// write transaction SQLite gives each new row the largest id in the
    /// table plus one (the table holds far fewer than 2^63 rows), and
    /// inserts a `VALUES` list in its order, so the rows get consecutive
    /// ids and the last is the connection's last insert rowid.
    pub(crate) async fn insert_rows(
        tx: &mut DbConnection,
        insert: &RowsInsert,
        rows: ImportRows,
    ) -> StoreResult<Vec<i64>> {
        if rows.rows == 0 {
            return Ok(Vec::new());
        }
        let names: Vec<&str> = insert.columns.iter().map(|(name, _)| *name).collect();
        let one = format!("({})", vec!["?"; rows.columns].join(", "));
        let sql = format!(
            "INSERT INTO {} ({}) VALUES {}",
            insert.table,
            names.join(", "),
            vec![one.as_str(); rows.rows].join(", ")
        );
        let done = sqlx::query_with(sqlx::AssertSqlSafe(sql), rows.values)
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        let count = i64::try_from(done.rows_affected()).unwrap_or(i64::MAX);
        let last = done.last_insert_rowid();
        Ok((last - count + 1..=last).collect())
    }
}

#[path = "../../sclerad-store/sql/shared.rs"]
mod sql;
