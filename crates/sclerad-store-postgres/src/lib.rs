//! The sclerad study store on PostgreSQL (15 or later), for studies shared
//! by several centres.
//!
//! Transactions run at READ COMMITTED; a write locks the one row it is about to
//! change (`SELECT … FOR NO KEY UPDATE OF`) before checking its version, and every
//! write ends by locking the audit chain's head row, which orders all audit
//! events in one chain.

use std::str::FromStr;
use std::time::Duration;

use sclerad_store::{Migration, StoreError, StoreResult};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

use sql::{apply_migrations, backend, spawn_saver, SaveJob, WriteTx};

/// The PostgreSQL migrations, in order.
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

/// Serialises concurrent migrations of one database (any constant works;
/// this one spells "sclerad" in ASCII).
const MIGRATION_LOCK: i64 = 0x0073_636c_6572_6164;

/// A study store in a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
    /// Readers' saves, written in batches (group commit).
    saver: Option<tokio::sync::mpsc::Sender<SaveJob>>,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user:password@host:port/database`)
    /// and applies pending migrations.
    pub async fn open(url: &str) -> StoreResult<Self> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Backend(format!("{}: {e}", redact(url))))?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await
            .map_err(|e| StoreError::Backend(format!("{}: {e}", redact(url))))?;
        let mut store = PostgresStore { pool, saver: None };
        store.migrate().await?;
        store.saver = Some(spawn_saver(store.clone()));
        Ok(store)
    }

    async fn write(&self) -> StoreResult<WriteTx> {
        let tx = self.pool.begin().await.map_err(backend)?;
        Ok(WriteTx { tx, _turn: None })
    }

    async fn migrate(&self) -> StoreResult<()> {
        let mut tx = self.write().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(MIGRATION_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        apply_migrations(&mut tx, MIGRATIONS).await?;
        tx.commit().await.map_err(backend)
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// `url` without its password, for messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme + 3],
                    &credentials[..colon],
                    &url[at..]
                ),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// What the shared SQL (`sclerad-store/sql/shared.rs`) needs of PostgreSQL.
mod dialect {
    pub(crate) use super::PostgresStore as ThisStore;
    pub(crate) use sqlx::postgres::{PgConnection as DbConnection, PgRow as DbRow};
    pub(crate) type Db = sqlx::Postgres;
    use super::sql::{Cell, RowsInsert};
    use sclerad_store::{StoreError, StoreResult};

    /// Locks the row read from `alias` until commit, without blocking
    /// foreign-key checks on it.
    pub(crate) fn lock(alias: &str) -> String {
        format!(" FOR NO KEY UPDATE OF {alias}")
    }

    pub(crate) const SAVER_SETUP: Option<&str> = Some("SET LOCAL lock_timeout = '5s'");
    pub(crate) const SNAPSHOT: Option<&str> =
        Some("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    pub(crate) const BACKEND: sclerad_store::Backend = sclerad_store::Backend::Postgres;

    /// PostgreSQL's buffers are the server's.
    pub(crate) const IMPORT_CACHE: Option<(&str, &str)> = None;

    /// The rows of an import statement, as one JSON array of arrays bound
    /// as one parameter (PostgreSQL expands it with
    /// `json_array_elements`): one statement a batch whatever its size.
    pub(crate) struct ImportRows {
        columns: usize,
        rows: usize,
        json: Vec<u8>,
    }

    impl ImportRows {
        /// No rows yet, room for about `capacity` of `insert`'s.
        pub(crate) fn new(insert: &RowsInsert, capacity: usize) -> Self {
            let mut json = Vec::with_capacity(64 * capacity * insert.columns.len());
            json.push(b'[');
            ImportRows {
                columns: insert.columns.len(),
                rows: 0,
                json,
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
            if self.rows > 0 {
                self.json.push(b',');
            }
            self.json.push(b'[');
            for (k, cell) in row.iter().enumerate() {
                if k > 0 {
                    self.json.push(b',');
                }
                match *cell {
                    Cell::Int(v) => serde_json::to_writer(&mut self.json, &v),
                    Cell::Text(v) => serde_json::to_writer(&mut self.json, &v),
                }
                .map_err(|e| StoreError::Backend(e.to_string()))?;
            }
            self.json.push(b']');
            self.rows += 1;
            Ok(())
        }
    }

    /// Inserts `rows` into `insert`'s table, one statement, and returns
    /// their ids in the rows' order: the rows of an `INSERT … SELECT …
    /// ORDER BY` are inserted in that order, each taking the sequence's
    /// next value, so their ids ascend in it.
    pub(crate) async fn insert_rows(
        tx: &mut DbConnection,
        insert: &RowsInsert,
        mut rows: ImportRows,
    ) -> StoreResult<Vec<i64>> {
        use sqlx::Row;
        if rows.rows == 0 {
            return Ok(Vec::new());
        }
        rows.json.push(b']');
        let json = String::from_utf8(rows.json).map_err(|e| StoreError::Backend(e.to_string()))?;
        let names: Vec<&str> = insert.columns.iter().map(|(name, _)| *name).collect();
        let values: Vec<String> = insert
            .columns
            .iter()
            .enumerate()
            .map(|(k, (_, r#type))| format!("(value ->> {k})::{type}"))
            .collect();
        let sql = format!(
            "INSERT INTO {} ({}) SELECT {} FROM json_array_elements($1::json) \
             WITH ORDINALITY AS json_rows (value, ordinal) ORDER BY ordinal RETURNING id",
            insert.table,
            names.join(", "),
            values.join(", ")
        );
        let inserted = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(json)
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        let mut ids = inserted
            .iter()
            .map(|row| row.try_get::<i64, _>("id"))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        ids.sort_unstable();
        Ok(ids)
    }
}

#[path = "../../sclerad-store/sql/shared.rs"]
mod sql;

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            super::redact("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(super::redact("postgres://u@h/db"), "postgres://u@h/db");
    }
}
