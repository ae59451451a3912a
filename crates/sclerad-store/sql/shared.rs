//! The SQL of the study store, written once for both back ends.
//!
//! This file is not a module of `sclerad-store`: `sclerad-store-sqlite` and
//! `sclerad-store-postgres` each compile it as their module `sql`
//! (`#[path = "../../sclerad-store/sql/shared.rs"] mod sql;`), against their
//! own driver. Everything it needs of the back end comes through one import,
//! `super::dialect`, which each back end defines:
//!
//! - `ThisStore`: the store type (`Clone`), with a `pool` field (the
//!   driver's pool), a `saver: Option<tokio::sync::mpsc::Sender<SaveJob>>`
//!   field (set from [`spawn_saver`] once the store is open) and
//!   `async fn write(&self) -> StoreResult<WriteTx>` that opens a
//!   transaction ready to write;
//! - `Db`, `DbRow` and `DbConnection`: the driver's database, row and
//!   connection types;
//! - `lock(alias)`: what a SELECT ends with to lock, until commit, the row
//!   it reads from the table with that alias, and only that row
//!   (`" FOR NO KEY UPDATE OF alias"` on PostgreSQL, which does not block
//!   foreign-key checks; empty on SQLite, whose write transactions hold the
//!   database lock from their first statement). A writer locks one record
//!   row, or (the save batch) readings in id order, and then the audit head,
//!   always in that order, so no two writers wait on each other in a cycle;
//! - `SAVER_SETUP`: a statement the save batch runs first, if any
//!   (PostgreSQL: a lock timeout, so a row held elsewhere cannot stall every
//!   save of the process);
//! - `SNAPSHOT`: a statement that makes the transaction it opens read one
//!   snapshot of the database, if the back end needs one (PostgreSQL:
//!   repeatable read; SQLite's WAL readers see one snapshot anyway);
//! - `BACKEND`: which [`Backend`] this is.
//!
//! Both dialects accept the SQL below as written: `$n` parameters,
//! `RETURNING`, `CASE`, partial unique indexes. What differs (types, triggers,
//! migrations, connection set-up) lives in each back end.

use async_trait::async_trait;
use sclerad_model::{check_findings, ct_coverage, Finding};
use sclerad_store::codec::{from_code, from_json, to_json};
use sclerad_store::proof::{digest_events, row_hash, values_hash, DataRow, DataTable, Replay};
use sclerad_store::{
    audit::{AuditEvent, AuditFilter, NewEvent},
    check_study_name, check_user_name, looks_like, migrate, now, Actor, Anchor, ApiToken,
    AuditFailure, Backend, BrokenLink, ChainVerifier, Credentials, Exam, ImportSummary, Migration,
    Modality, NewAssignment, Page, Paged, PatientRecord, Reading, ReadingKind, Role, Session,
    Store, StoreError, StoreResult, Study, StudyColumns, StudyImport, User, Verified, WorkItem,
};
use sclerad_store::{AnalysisRun, NewAnalysisRun, RunArchive, RUN_ARCHIVE_MAX_BYTES};
use sclerad_store::{Image, ImageFeed, ImageImportSummary, ImageSecret, ImageStored, NewImage};
use sha2::{Digest, Sha256};
use sqlx::Row;

use super::dialect::{
    insert_rows, lock, Db, DbConnection, DbRow, ImportRows, ThisStore, BACKEND, IMPORT_CACHE,
    SAVER_SETUP, SNAPSHOT,
};

/// A value of a row an import statement inserts.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Cell<'a> {
    Int(i64),
    Text(Option<&'a str>),
}

/// An import statement: its table, and its columns with their SQL types,
/// in the order each row ([`ImportRows`]) gives their values.
pub(crate) struct RowsInsert {
    pub(crate) table: &'static str,
    pub(crate) columns: &'static [(&'static str, &'static str)],
}

const PATIENT_ROWS: RowsInsert = RowsInsert {
    table: "patients",
    columns: &[
        ("study_id", "bigint"),
        ("ordinal", "bigint"),
        ("patient_id", "text"),
        ("cells", "text"),
        ("version", "bigint"),
    ],
};

const EXAM_ROWS: RowsInsert = RowsInsert {
    table: "exams",
    columns: &[
        ("patient_ref", "bigint"),
        ("modality", "text"),
        ("exam_date", "text"),
        ("ct_type", "text"),
        ("ct_levels", "text"),
    ],
};

const READING_ROWS: RowsInsert = RowsInsert {
    table: "readings",
    columns: &[
        ("exam_id", "bigint"),
        ("reader", "text"),
        ("kind", "text"),
        ("findings", "text"),
        ("version", "bigint"),
        ("updated_at", "text"),
    ],
};

/// A write transaction, with the store's writer turn when the back end
/// takes turns in-process (SQLite: one writer at a time, queued fairly
/// instead of sleeping in SQLite's busy handler).
pub(super) struct WriteTx {
    pub(super) tx: sqlx::Transaction<'static, Db>,
    pub(super) _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl std::ops::Deref for WriteTx {
    type Target = DbConnection;

    fn deref(&self) -> &DbConnection {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.tx
    }
}

impl WriteTx {
    pub(super) async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }
}

pub(super) fn backend(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &e {
        // PostgreSQL refuses NUL characters in text (SQLite stores them):
        // the caller sent text no study can hold.
        if db.code().as_deref() == Some("22021") {
            return StoreError::invalid("text", "text must not contain NUL characters");
        }
        if db.is_unique_violation() {
            return StoreError::AlreadyExists {
                what: db.message().to_string(),
            };
        }
    }
    StoreError::Backend(e.to_string())
}

fn token_of(row: &DbRow) -> StoreResult<ApiToken> {
    Ok(ApiToken {
        id: row.try_get("id").map_err(backend)?,
        user_id: row.try_get("user_id").map_err(backend)?,
        label: row.try_get("label").map_err(backend)?,
        created_at: row.try_get("created_at").map_err(backend)?,
        expires_at: row
            .try_get::<Option<String>, _>("expires_at")
            .map_err(backend)?
            .unwrap_or_default(),
    })
}

fn user_of(row: &DbRow) -> StoreResult<User> {
    let role: String = row.try_get("role").map_err(backend)?;
    Ok(User {
        id: row.try_get("id").map_err(backend)?,
        name: row.try_get("name").map_err(backend)?,
        role: from_code(&role, Role::parse, "role")?,
        created_at: row.try_get("created_at").map_err(backend)?,
        disabled: row.try_get("disabled").map_err(backend)?,
    })
}

/// The columns [`user_of`] reads, of a query on `users u`.
const USER_COLUMNS: &str = "u.id, u.name, u.role, u.created_at, \
     EXISTS (SELECT 1 FROM disabled_users d WHERE d.user_id = u.id) AS disabled";

/// That the user `u` of a query is not disabled.
const NOT_DISABLED: &str = "NOT EXISTS (SELECT 1 FROM disabled_users d WHERE d.user_id = u.id)";

const PATIENT_SELECT: &str = "SELECT p.id, p.patient_id, p.cells, p.version, \
     h.id AS h_id, h.exam_date AS h_date, \
     c.id AS c_id, c.exam_date AS c_date, c.ct_type, c.ct_levels \
     FROM patients p \
     JOIN exams h ON h.patient_ref = p.id AND h.modality = 'hand_radiograph' \
     JOIN exams c ON c.patient_ref = p.id AND c.modality = 'ct' \
     WHERE p.study_id = $1";

fn patient_of(row: &DbRow) -> StoreResult<PatientRecord> {
    let cells: String = row.try_get("cells").map_err(backend)?;
    Ok(PatientRecord {
        id: row.try_get("id").map_err(backend)?,
        patient_id: row.try_get("patient_id").map_err(backend)?,
        cells: from_json(&cells, "patient cells")?,
        hand_radiograph: Exam {
            id: row.try_get("h_id").map_err(backend)?,
            modality: Modality::HandRadiograph,
            date: row.try_get("h_date").map_err(backend)?,
            ct_type: None,
            ct_levels: None,
        },
        ct: Exam {
            id: row.try_get("c_id").map_err(backend)?,
            modality: Modality::Ct,
            date: row.try_get("c_date").map_err(backend)?,
            ct_type: row.try_get("ct_type").map_err(backend)?,
            ct_levels: row.try_get("ct_levels").map_err(backend)?,
        },
        version: row.try_get("version").map_err(backend)?,
    })
}

const READING_SELECT: &str = "SELECT r.id, r.exam_id, p.patient_id, e.modality, r.reader, \
     r.kind, r.findings, r.version \
     FROM readings r JOIN exams e ON e.id = r.exam_id JOIN patients p ON p.id = e.patient_ref";

fn reading_of(row: &DbRow) -> StoreResult<Reading> {
    let modality: String = row.try_get("modality").map_err(backend)?;
    let kind: String = row.try_get("kind").map_err(backend)?;
    let findings: Option<String> = row.try_get("findings").map_err(backend)?;
    Ok(Reading {
        id: row.try_get("id").map_err(backend)?,
        exam_id: row.try_get("exam_id").map_err(backend)?,
        patient_id: row.try_get("patient_id").map_err(backend)?,
        modality: from_code(&modality, Modality::parse, "modality")?,
        reader: row.try_get("reader").map_err(backend)?,
        kind: from_code(&kind, ReadingKind::parse, "reading kind")?,
        findings: findings.map(|f| from_json(&f, "findings")).transpose()?,
        version: row.try_get("version").map_err(backend)?,
    })
}

const WORK_SELECT: &str = "SELECT a.code, a.position, e.modality, e.ct_type, e.ct_levels, \
     r.findings, r.version, r.id AS reading_id \
     FROM assignments a JOIN readings r ON r.assignment_id = a.id JOIN exams e ON e.id = a.exam_id \
     WHERE a.reader_id = $1";

fn work_item_of(row: &DbRow) -> StoreResult<WorkItem> {
    let modality: String = row.try_get("modality").map_err(backend)?;
    let findings: Option<String> = row.try_get("findings").map_err(backend)?;
    Ok(WorkItem {
        code: row.try_get("code").map_err(backend)?,
        position: row.try_get("position").map_err(backend)?,
        modality: from_code(&modality, Modality::parse, "modality")?,
        ct_type: row.try_get("ct_type").map_err(backend)?,
        ct_levels: row.try_get("ct_levels").map_err(backend)?,
        findings: findings.map(|f| from_json(&f, "findings")).transpose()?,
        version: row.try_get("version").map_err(backend)?,
    })
}

/// Appends `events` to the audit chain inside the caller's transaction.
async fn audit(tx: &mut DbConnection, actor: &Actor, events: Vec<NewEvent>) -> StoreResult<()> {
    let events = events
        .into_iter()
        .map(|e| (actor.name.clone(), e))
        .collect();
    audit_each(tx, events).await
}

/// Appends events, each with its own actor, to the chain inside the
/// caller's transaction.
async fn audit_each(tx: &mut DbConnection, events: Vec<(String, NewEvent)>) -> StoreResult<()> {
    let head = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT seq, hash FROM audit_head h WHERE id = 1{}",
        lock("h")
    )))
    .fetch_one(&mut *tx)
    .await
    .map_err(backend)?;
    let mut seq: i64 = head.try_get("seq").map_err(backend)?;
    let mut prev: String = head.try_get("hash").map_err(backend)?;
    let mut chained = Vec::with_capacity(events.len());
    for (actor, event) in events {
        seq += 1;
        let e = AuditEvent::chain(seq, now(), &actor, event, &prev);
        prev = e.hash.clone();
        chained.push(e);
    }
    // One statement per 64 events (640 parameters: within both databases'
    // limits), not one per event.
    for chunk in chained.chunks(64) {
        let mut insert = sqlx::QueryBuilder::<Db>::new(
            "INSERT INTO audit_events (seq, at, actor, action, entity, entity_id, before, after, prev_hash, hash) ",
        );
        insert.push_values(chunk, |mut row, e| {
            row.push_bind(e.seq)
                .push_bind(e.at.clone())
                .push_bind(e.actor.clone())
                .push_bind(e.action.clone())
                .push_bind(e.entity.clone())
                .push_bind(e.entity_id.clone())
                .push_bind(e.before.clone())
                .push_bind(e.after.clone())
                .push_bind(e.prev_hash.clone())
                .push_bind(e.hash.clone());
        });
        insert
            .build()
            .persistent(false)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
    }
    sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
        .bind(seq)
        .bind(&prev)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
    Ok(())
}

/// Reads a row as [`DataTable::select`] selects it.
fn data_row(table: DataTable, row: &DbRow) -> StoreResult<DataRow> {
    Ok(DataRow {
        id: row.try_get("id").map_err(backend)?,
        values: table
            .columns()
            .iter()
            .map(|c| row.try_get::<Option<String>, _>(*c).map_err(backend))
            .collect::<StoreResult<_>>()?,
    })
}

/// Row digest events ([`sclerad_store::proof`]) of the rows of `table`
/// with ids `ids`, as they stand in the caller's transaction; an id with no
/// row is recorded as deleted.
async fn digests(
    tx: &mut DbConnection,
    table: DataTable,
    ids: &[i64],
) -> StoreResult<Vec<NewEvent>> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let mut rows = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(1000) {
        let mut select = sqlx::QueryBuilder::<Db>::new(table.select());
        select.push(" WHERE id IN (");
        let mut keys = select.separated(", ");
        for id in chunk {
            keys.push_bind(*id);
        }
        select.push(")");
        let found = select
            .build()
            .persistent(false)
            .fetch_all(&mut *tx)
            .await
            .map_err(backend)?;
        let mut hashes = std::collections::HashMap::with_capacity(found.len());
        for row in &found {
            let row = data_row(table, row)?;
            hashes.insert(row.id, row_hash(table, &row));
        }
        rows.extend(chunk.iter().map(|id| (*id, hashes.remove(id))));
    }
    Ok(digest_events(table, &rows))
}

/// Rows of a proven table with ids above `after`, a page of at most
/// [`ROWS_PAGE`] in id order.
async fn rows_after(
    tx: &mut DbConnection,
    table: DataTable,
    after: i64,
) -> StoreResult<Vec<DataRow>> {
    let sql = format!(
        "{} WHERE id > $1 ORDER BY id LIMIT {ROWS_PAGE}",
        table.select()
    );
    let page = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(after)
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?;
    page.iter().map(|row| data_row(table, row)).collect()
}

/// Rows a page of [`rows_after`] holds.
const ROWS_PAGE: usize = 10_000;

/// Row digest events of every row of `table`, read in pages.
async fn digests_all(tx: &mut DbConnection, table: DataTable) -> StoreResult<Vec<NewEvent>> {
    let mut rows = Vec::new();
    let mut after = 0;
    loop {
        let page = rows_after(tx, table, after).await?;
        for row in &page {
            after = row.id;
            rows.push((row.id, Some(row_hash(table, row))));
        }
        if page.len() < ROWS_PAGE {
            break;
        }
    }
    Ok(digest_events(table, &rows))
}

/// Row digest events of every row of every proven table: what migration 3
/// (row digests) records of a database that held data before it, so the
/// trail vouches for those rows from then on.
async fn digest_everything(tx: &mut DbConnection) -> StoreResult<Vec<NewEvent>> {
    let mut events = Vec::new();
    for table in DataTable::ALL
        .iter()
        .filter(|t| t.since() <= ROW_DIGESTS_MIGRATION)
    {
        events.extend(digests_all(tx, *table).await?);
    }
    Ok(events)
}

/// Applies the migrations of `all` that `schema_migrations` does not list
/// yet, inside the caller's transaction. `BIGINT` is a 64-bit integer in
/// both dialects.
pub(super) async fn apply_migrations(tx: &mut DbConnection, all: &[Migration]) -> StoreResult<()> {
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS schema_migrations (\
           version BIGINT PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at TEXT NOT NULL)",
    )
    .execute(&mut *tx)
    .await
    .map_err(backend)?;
    let applied: Vec<(i64, String)> =
        sqlx::query_as("SELECT version, checksum FROM schema_migrations ORDER BY version")
            .fetch_all(&mut *tx)
            .await
            .map_err(backend)?;
    for m in migrate::pending(all, &applied)? {
        sqlx::raw_sql(sqlx::AssertSqlSafe(m.sql))
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::Backend(format!("migration {}: {e}", m.name)))?;
        sqlx::query(
            "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(m.version)
        .bind(m.name)
        .bind(m.checksum())
        .bind(now())
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if m.version == ROW_DIGESTS_MIGRATION {
            let events = digest_everything(tx).await?;
            if !events.is_empty() {
                let actor = "sclerad:migration".to_string();
                audit_each(tx, events.into_iter().map(|e| (actor.clone(), e)).collect()).await?;
            }
        }
    }
    Ok(())
}

/// Gives the transaction the page cache a bulk write works with (`on`), or
/// gives back the default, where the back end has one ([`IMPORT_CACHE`]).
async fn import_cache(tx: &mut DbConnection, on: bool) -> StoreResult<()> {
    if let Some((setup, teardown)) = IMPORT_CACHE {
        sqlx::query(if on { setup } else { teardown })
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
    }
    Ok(())
}

/// A row's id and the digest of what was written to it.
type RowDigest = (i64, Option<String>);

/// What a study already holds that rows written after it build on: the
/// next patient ordinal, and where its readings go (patient id → patient
/// row, (patient row, modality code) → exam row).
#[derive(Default)]
struct Seed {
    first_ordinal: usize,
    patient_refs: std::collections::HashMap<String, i64>,
    exams: std::collections::HashMap<(i64, &'static str), i64>,
}

/// Writes the patients, exams and readings of `import` into study
/// `study_id`, a batch at a time (made from the bundle's text while the
/// database writes the batch before), patients from ordinal
/// `seed.first_ordinal`, readings of the seed's patients as of the new
/// ones; the import's digest, and the digest events of every row written.
async fn write_rows(
    tx: &mut WriteTx,
    study_id: i64,
    import: &StudyImport<'_>,
    created_at: &str,
    seed: Seed,
) -> StoreResult<(sclerad_store::records::ImportDigest, Vec<NewEvent>)> {
    let created_at = created_at.to_string();
    let Seed {
        first_ordinal,
        patient_refs: mut seeded_refs,
        exams: mut seeded_exams,
    } = seed;
    // A batch of records at a time, made from the bundle's text while
    // the database writes the batch before (the driver works on its own
    // thread); many rows a statement, within both databases' parameter
    // limits. The ids come back with the keys that place them, and each
    // row's digest is hashed from the very text it was given.
    let study_text = study_id.to_string();
    let mut digest = sclerad_store::records::ImportDigest::default();
    let mut row_digests: Vec<(DataTable, Vec<RowDigest>)> = vec![
        (
            DataTable::Patients,
            Vec::with_capacity(import.patient_count()),
        ),
        (
            DataTable::Exams,
            Vec::with_capacity(2 * import.patient_count()),
        ),
        (
            DataTable::Readings,
            Vec::with_capacity(import.reading_count()),
        ),
    ];
    seeded_refs.reserve(import.patient_count());
    seeded_exams.reserve(2 * import.patient_count());
    let mut patient_refs = seeded_refs;
    let mut exams = seeded_exams;
    let patients = import.patient_count();
    let mut next = Some(patient_batch(import, study_id, first_ordinal, 0)?);
    let mut start = 0;
    while let Some((batch, cells, rows)) = next.take() {
        if batch.is_empty() {
            break;
        }
        let following = start + batch.len();
        let (inserted, prepared) = tokio::join!(biased; insert_rows(&mut *tx, &PATIENT_ROWS, rows), async {
            (following < patients).then(|| patient_batch(import, study_id, first_ordinal, following))
        });
        next = prepared.transpose()?;
        let ids = inserted?;
        check_inserted("patients", ids.len(), batch.len())?;
        let mut exam_rows = ImportRows::new(&EXAM_ROWS, 2 * batch.len());
        for (i, ((p, c), id)) in batch.iter().zip(&cells).zip(&ids).enumerate() {
            let ordinal = (first_ordinal + start + i).to_string();
            let values = [
                Some(study_text.as_str()),
                Some(ordinal.as_str()),
                Some(p.patient_id.as_str()),
                Some(c.as_str()),
                Some("1"),
            ];
            row_digests[0]
                .1
                .push((*id, Some(values_hash(DataTable::Patients, *id, &values))));
            digest.record(&[
                Some(p.patient_id.as_str()),
                Some(c.as_str()),
                p.hand_radiograph.date.as_deref(),
                p.ct.date.as_deref(),
                p.ct.ct_type.as_deref(),
                p.ct.ct_levels.as_deref(),
            ]);
            for exam in [&p.hand_radiograph, &p.ct] {
                exam_rows.push(&[
                    Cell::Int(*id),
                    Cell::Text(Some(exam.modality.code())),
                    Cell::Text(exam.date.as_deref()),
                    Cell::Text(exam.ct_type.as_deref()),
                    Cell::Text(exam.ct_levels.as_deref()),
                ])?;
            }
        }
        let exam_ids = insert_rows(&mut *tx, &EXAM_ROWS, exam_rows).await?;
        check_inserted("exams", exam_ids.len(), 2 * batch.len())?;
        let written = batch
            .iter()
            .zip(&ids)
            .flat_map(|(p, patient_ref)| [(patient_ref, &p.hand_radiograph), (patient_ref, &p.ct)]);
        for ((patient_ref, exam), id) in written.zip(exam_ids) {
            exams.insert((*patient_ref, exam.modality.code()), id);
            let patient_text = patient_ref.to_string();
            let values = [
                Some(patient_text.as_str()),
                Some(exam.modality.code()),
                exam.date.as_deref(),
                exam.ct_type.as_deref(),
                exam.ct_levels.as_deref(),
            ];
            row_digests[1]
                .1
                .push((id, Some(values_hash(DataTable::Exams, id, &values))));
        }
        patient_refs.extend(batch.into_iter().map(|p| p.patient_id).zip(ids));
        start = following;
    }
    let readings = import.reading_count();
    let places = (&patient_refs, &exams);
    let mut next = Some(reading_batch(import, 0, places, &created_at)?);
    let mut start = 0;
    // The batch written last, whose digests are made while the next
    // one is written.
    let mut written: Option<WrittenBatch> = None;
    while let Some((batch, rows)) = next.take() {
        if batch.readings.is_empty() {
            break;
        }
        let following = start + batch.readings.len();
        let done = written.take();
        let (inserted, prepared) = tokio::join!(biased; insert_rows(&mut *tx, &READING_ROWS, rows), async {
            if let Some(done) = done {
                done.digest(&mut digest, &mut row_digests[2].1, &created_at);
            }
            (following < readings).then(|| reading_batch(import, following, places, &created_at))
        });
        next = prepared.transpose()?;
        let ids = inserted?;
        check_inserted("readings", ids.len(), batch.readings.len())?;
        written = Some(WrittenBatch {
            ids: ids.into_iter().map(Some).collect(),
            ..batch
        });
        start = following;
    }
    if let Some(done) = written {
        done.digest(&mut digest, &mut row_digests[2].1, &created_at);
    }
    let mut events = Vec::new();
    for (table, mut rows) in row_digests {
        rows.sort_unstable_by_key(|(id, _)| *id);
        events.extend(digest_events(table, &rows));
    }
    Ok((digest, events))
}

/// Patients of an import from `start` (their cells left empty), with their
/// cells as JSON, made straight from the bundle's text; and their rows of
/// study `study_id`, ordinals from `first_ordinal`, to insert.
fn patient_batch(
    import: &StudyImport<'_>,
    study_id: i64,
    first_ordinal: usize,
    start: usize,
) -> StoreResult<(Vec<PatientRecord>, Vec<String>, ImportRows)> {
    let exam = |modality, date, ct_type, ct_levels| Exam {
        id: 0,
        modality,
        date,
        ct_type,
        ct_levels,
    };
    let mut rows = ImportRows::new(&PATIENT_ROWS, IMPORT_ROWS);
    let mut records = Vec::with_capacity(IMPORT_ROWS);
    let mut cells = Vec::with_capacity(IMPORT_ROWS);
    for (i, p) in import
        .patients_as_written(start..start + IMPORT_ROWS)
        .into_iter()
        .enumerate()
    {
        let ordinal = i64::try_from(first_ordinal + start + i).unwrap_or(i64::MAX);
        rows.push(&[
            Cell::Int(study_id),
            Cell::Int(ordinal),
            Cell::Text(Some(p.patient_id.as_str())),
            Cell::Text(Some(p.cells.as_str())),
            Cell::Int(1),
        ])?;
        records.push(PatientRecord {
            id: 0,
            patient_id: p.patient_id,
            cells: Default::default(),
            hand_radiograph: exam(Modality::HandRadiograph, p.hand_date, None, None),
            ct: exam(Modality::Ct, p.ct_date, p.ct_type, p.ct_levels),
            version: 0,
        });
        cells.push(p.cells);
    }
    Ok((records, cells, rows))
}

/// That an import statement wrote as many rows of `table` as it was given.
fn check_inserted(table: &str, inserted: usize, given: usize) -> StoreResult<()> {
    if inserted == given {
        Ok(())
    } else {
        Err(StoreError::Backend(format!(
            "an import statement wrote {inserted} rows of {table} instead of {given}"
        )))
    }
}

/// Readings of an import from `start` (their findings left out), with
/// their findings as JSON, made straight from the bundle's text; and their
/// rows to insert, saved at `updated_at`. `places` finds each reading's
/// exam: patient id → patient row, (patient row, modality) → exam row.
fn reading_batch(
    import: &StudyImport<'_>,
    start: usize,
    places: ExamPlaces<'_>,
    updated_at: &str,
) -> StoreResult<(WrittenBatch, ImportRows)> {
    let (patient_refs, exams) = places;
    let mut rows = ImportRows::new(&READING_ROWS, IMPORT_ROWS);
    let mut batch = WrittenBatch {
        readings: Vec::with_capacity(IMPORT_ROWS),
        findings: Vec::with_capacity(IMPORT_ROWS),
        exam_ids: Vec::with_capacity(IMPORT_ROWS),
        ids: Vec::new(),
    };
    for r in import.readings_as_written(start..start + IMPORT_ROWS) {
        let exam_id = patient_refs
            .get(&r.patient_id)
            .and_then(|p| exams.get(&(*p, r.modality.code())))
            .copied()
            .ok_or_else(|| {
                StoreError::invalid(
                    "patient_id",
                    format!("reading of unknown patient {:?}", r.patient_id),
                )
            })?;
        rows.push(&[
            Cell::Int(exam_id),
            Cell::Text(Some(r.reader.as_str())),
            Cell::Text(Some(r.kind.code())),
            Cell::Text(Some(r.findings.as_str())),
            Cell::Int(1),
            Cell::Text(Some(updated_at)),
        ])?;
        batch.readings.push(Reading {
            id: 0,
            exam_id: 0,
            patient_id: r.patient_id,
            modality: r.modality,
            reader: r.reader,
            kind: r.kind,
            findings: None,
            version: 0,
        });
        batch.findings.push(Some(r.findings));
        batch.exam_ids.push(exam_id);
    }
    Ok((batch, rows))
}

/// Where an import's readings go: patient id → patient row, and (patient
/// row, modality code) → exam row.
type ExamPlaces<'a> = (
    &'a std::collections::HashMap<String, i64>,
    &'a std::collections::HashMap<(i64, &'static str), i64>,
);

/// A batch of readings an import wrote: what its digests are made of.
struct WrittenBatch {
    readings: Vec<Reading>,
    findings: Vec<Option<String>>,
    exam_ids: Vec<i64>,
    ids: Vec<Option<i64>>,
}

impl WrittenBatch {
    /// Feeds the import digest and records each row's digest, hashed from
    /// the text it was written with.
    fn digest(
        &self,
        digest: &mut sclerad_store::records::ImportDigest,
        rows: &mut Vec<(i64, Option<String>)>,
        created_at: &str,
    ) {
        let mut exam_text = String::new();
        for (((r, findings), exam_id), id) in self
            .readings
            .iter()
            .zip(&self.findings)
            .zip(&self.exam_ids)
            .zip(&self.ids)
        {
            digest.record(&[
                Some(r.patient_id.as_str()),
                Some(r.modality.code()),
                Some(r.reader.as_str()),
                Some(r.kind.code()),
                findings.as_deref(),
            ]);
            let Some(id) = id else { continue };
            exam_text.clear();
            let _ = std::fmt::Write::write_fmt(&mut exam_text, format_args!("{exam_id}"));
            let values = [
                Some(exam_text.as_str()),
                Some(r.reader.as_str()),
                Some(r.kind.code()),
                None,
                findings.as_deref(),
                Some("1"),
                Some(created_at),
            ];
            rows.push((*id, Some(values_hash(DataTable::Readings, *id, &values))));
        }
    }
}

/// The most patients or readings one import statement inserts (and twice
/// as many exams): at most 20,000 values a statement, within SQLite's
/// 32,766 parameters.
const IMPORT_ROWS: usize = 2000;

/// The migration from which the trail holds row digests.
const ROW_DIGESTS_MIGRATION: i64 = 3;

/// A reader's save waiting for the next batch.
pub(super) struct SaveJob {
    actor: Actor,
    reader_id: i64,
    code: String,
    findings: Vec<Finding>,
    expected_version: i64,
    reply: tokio::sync::oneshot::Sender<StoreResult<WorkItem>>,
}

/// The most saves one transaction takes.
const MAX_BATCH: usize = 64;

/// Group commit of readers' saves: one task takes the saves waiting in the
/// queue and writes them in one transaction, each checked, written and
/// audited as if alone; a save answers only once its transaction
/// committed. Many readers saving at once then share one commit (one WAL
/// flush) instead of queueing for one each.
pub(super) fn spawn_saver(store: ThisStore) -> tokio::sync::mpsc::Sender<SaveJob> {
    let (sender, mut queue) = tokio::sync::mpsc::channel::<SaveJob>(4 * MAX_BATCH);
    tokio::spawn(async move {
        while let Some(first) = queue.recv().await {
            let mut jobs = vec![first];
            while jobs.len() < MAX_BATCH {
                match queue.try_recv() {
                    Ok(job) => jobs.push(job),
                    Err(_) => break,
                }
            }
            // A caller that gave up (disconnected) must not find its save
            // written behind its back.
            jobs.retain(|job| !job.reply.is_closed());
            if jobs.is_empty() {
                continue;
            }
            // Each batch runs in its own task: should it panic, its callers
            // get an error (their reply is dropped) and saving goes on.
            let batch = store.clone();
            let _ = tokio::spawn(async move { batch.answer(jobs).await }).await;
        }
    });
    sender
}

impl ThisStore {
    /// Writes `jobs` and answers each. When the batch fails as a whole
    /// (connection lost, a lock timeout), each save is tried again alone, so
    /// one save's trouble is not every save's.
    async fn answer(&self, jobs: Vec<SaveJob>) {
        match self.save_batch(&jobs).await {
            Ok(results) => {
                for (job, result) in jobs.into_iter().zip(results) {
                    let _ = job.reply.send(result);
                }
            }
            Err(_) if jobs.len() > 1 => {
                for job in jobs {
                    let result =
                        self.save_batch(std::slice::from_ref(&job))
                            .await
                            .and_then(|mut r| {
                                r.pop()
                                    .unwrap_or_else(|| Err(StoreError::Backend("no result".into())))
                            });
                    let _ = job.reply.send(result);
                }
            }
            Err(e) => {
                for job in jobs {
                    let _ = job.reply.send(Err(e.clone()));
                }
            }
        }
    }
}

impl ThisStore {
    /// Writes `jobs` in one transaction, in their order: one statement
    /// reads and locks every reading concerned, each save is checked
    /// against the version the previous ones left and its findings against
    /// its exam, one statement writes the readings, and the audit events
    /// are appended (one insert per 64 events, after locking the chain's
    /// head). A save that is not found, stale or refused by the format's
    /// rules gets its own error and writes nothing; a database failure
    /// rolls back the whole batch.
    async fn save_batch(&self, jobs: &[SaveJob]) -> StoreResult<Vec<StoreResult<WorkItem>>> {
        let mut tx = self.write().await?;
        if let Some(setup) = SAVER_SETUP {
            sqlx::query(setup)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
        let mut select = sqlx::QueryBuilder::<Db>::new(
            "SELECT a.reader_id, a.code, a.position, a.exam_id, e.modality, e.ct_type, e.ct_levels, \
             r.findings, r.version, r.id AS reading_id \
             FROM assignments a JOIN readings r ON r.assignment_id = a.id \
             JOIN exams e ON e.id = a.exam_id WHERE a.code IN (",
        );
        // Codes are unique: the index finds them; whose they are is checked
        // below, against each save's reader.
        let mut keys = select.separated(", ");
        for job in jobs {
            keys.push_bind(job.code.clone());
        }
        select.push(") ORDER BY r.id");
        select.push(lock("r"));
        let rows = select
            .build()
            .persistent(false)
            .fetch_all(&mut *tx)
            .await
            .map_err(backend)?;
        // (reader, code) → (reading id, the item as the batch leaves it).
        let mut current: std::collections::HashMap<(i64, String), (i64, WorkItem)> =
            std::collections::HashMap::new();
        let mut exam_of: std::collections::HashMap<String, i64> = std::collections::HashMap::new();
        for row in &rows {
            let reader: i64 = row.try_get("reader_id").map_err(backend)?;
            let reading_id: i64 = row.try_get("reading_id").map_err(backend)?;
            let item = work_item_of(row)?;
            exam_of.insert(item.code.clone(), row.try_get("exam_id").map_err(backend)?);
            current.insert((reader, item.code.clone()), (reading_id, item));
        }
        let mut results = Vec::with_capacity(jobs.len());
        let mut events = Vec::with_capacity(jobs.len());
        let mut changed: Vec<i64> = Vec::new();
        // Reading id → the reader who saved it last in this batch.
        let mut saved_by: std::collections::HashMap<i64, String> = std::collections::HashMap::new();
        for job in jobs {
            let Some((reading_id, item)) = current.get_mut(&(job.reader_id, job.code.clone()))
            else {
                results.push(Err(StoreError::not_found(format!(
                    "exam code {:?} in your worklist",
                    job.code
                ))));
                continue;
            };
            if item.version != job.expected_version {
                results.push(Err(StoreError::Conflict {
                    what: format!("reading of {}", job.code),
                    expected: job.expected_version,
                    current: item.version,
                }));
                continue;
            }
            // The format's rules, applied to the exam as it is now.
            let coverage = ct_coverage(item.ct_type.as_deref(), item.ct_levels.as_deref());
            let findings = match check_findings(&job.findings, item.modality, coverage) {
                Ok(findings) => findings,
                Err(e) => {
                    results.push(Err(e.into()));
                    continue;
                }
            };
            let exam_id = exam_of.get(&job.code).copied().unwrap_or_default();
            if let Err(e) = check_marks(&mut tx, exam_id, &findings).await {
                results.push(Err(e));
                continue;
            }
            let before = item.findings.clone();
            item.findings = Some(findings);
            item.version += 1;
            events.push((
                job.actor.name.clone(),
                NewEvent::new(
                    "save",
                    "reading",
                    *reading_id,
                    Some(&before),
                    Some(&item.findings),
                ),
            ));
            if !changed.contains(reading_id) {
                changed.push(*reading_id);
            }
            saved_by.insert(*reading_id, job.actor.name.clone());
            results.push(Ok(item.clone()));
        }
        if !changed.is_empty() {
            let finals: Vec<(i64, String, i64)> = current
                .values()
                .filter(|(id, _)| changed.contains(id))
                .map(|(id, item)| Ok((*id, to_json(&item.findings)?, item.version)))
                .collect::<StoreResult<_>>()?;
            let mut update =
                sqlx::QueryBuilder::<Db>::new("UPDATE readings SET findings = CASE id");
            for (id, findings, _) in &finals {
                update
                    .push(" WHEN ")
                    .push_bind(*id)
                    .push(" THEN ")
                    .push_bind(findings.clone());
            }
            update.push(" END, version = CASE id");
            for (id, _, version) in &finals {
                update
                    .push(" WHEN ")
                    .push_bind(*id)
                    .push(" THEN ")
                    .push_bind(*version);
            }
            update
                .push(" END, updated_at = ")
                .push_bind(now())
                .push(" WHERE id IN (");
            let mut ids = update.separated(", ");
            for (id, _, _) in &finals {
                ids.push_bind(*id);
            }
            update.push(")");
            update
                .build()
                .persistent(false)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
        // The row digests come last, each reading as the batch leaves it,
        // under the reader who saved it last.
        let mut by_reader: Vec<(String, Vec<i64>)> = Vec::new();
        for id in &changed {
            let Some(who) = saved_by.get(id) else {
                continue;
            };
            match by_reader.iter_mut().find(|(name, _)| name == who) {
                Some((_, ids)) => ids.push(*id),
                None => by_reader.push((who.clone(), vec![*id])),
            }
        }
        for (who, ids) in by_reader {
            for event in digests(&mut tx, DataTable::Readings, &ids).await? {
                events.push((who.clone(), event));
            }
        }
        if !events.is_empty() {
            audit_each(&mut tx, events).await?;
        }
        tx.commit().await.map_err(backend)?;
        Ok(results)
    }
}

/// Ends every session of `user_id` inside the caller's transaction and,
/// with `end_tokens`, revokes the user's API tokens (one audit event for
/// them). Returns the number of tokens revoked.
async fn end_all(
    tx: &mut DbConnection,
    actor: &Actor,
    user_id: i64,
    end_tokens: bool,
) -> StoreResult<usize> {
    sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
    if !end_tokens {
        return Ok(0);
    }
    let ids: Vec<i64> =
        sqlx::query_scalar("DELETE FROM api_tokens WHERE user_id = $1 RETURNING id")
            .bind(user_id)
            .fetch_all(&mut *tx)
            .await
            .map_err(backend)?;
    if !ids.is_empty() {
        let mut events = vec![NewEvent::new(
            "revoke_all",
            "api_token",
            user_id,
            Some(&ids),
            None::<&()>,
        )];
        events.extend(digests(tx, DataTable::ApiTokens, &ids).await?);
        audit(tx, actor, events).await?;
    }
    Ok(ids.len())
}

/// User `user_id` as it stands in the caller's transaction.
async fn user_in(tx: &mut DbConnection, user_id: i64) -> StoreResult<User> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?
        .ok_or_else(|| StoreError::not_found(format!("user {user_id}")))?;
    user_of(&row)
}

/// Refuses to take away the last enabled admin (`what`: "disabled", "given
/// another role"): a store without one has no one to manage its users from
/// the browser.
async fn keep_an_admin(tx: &mut DbConnection, user: &User, what: &str) -> StoreResult<()> {
    if user.role != Role::Admin || user.disabled {
        return Ok(());
    }
    let sql =
        format!("SELECT COUNT(*) FROM users u WHERE u.role = $1 AND u.id <> $2 AND {NOT_DISABLED}");
    let others: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(Role::Admin.code())
        .bind(user.id)
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
    if others == 0 {
        return Err(StoreError::invalid(
            "user",
            format!(
                "{:?} is the only admin who can log in and cannot be {what}; make another admin first",
                user.name
            ),
        ));
    }
    Ok(())
}

async fn reader_name(tx: &mut DbConnection, reader_id: i64) -> StoreResult<String> {
    let row = sqlx::query("SELECT name, role FROM users WHERE id = $1")
        .bind(reader_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?
        .ok_or_else(|| StoreError::invalid("reader", format!("no user with id {reader_id}")))?;
    let role: String = row.try_get("role").map_err(backend)?;
    let name: String = row.try_get("name").map_err(backend)?;
    if role != Role::Reader.code() {
        return Err(StoreError::invalid(
            "reader",
            format!("user {name:?} is not a reader (role {role})"),
        ));
    }
    Ok(name)
}

#[async_trait]
impl Store for ThisStore {
    async fn close(&self) {
        self.pool.close().await;
    }

    fn backend(&self) -> Backend {
        BACKEND
    }

    async fn create_user(
        &self,
        actor: &Actor,
        name: &str,
        role: Role,
        password_hash: &str,
    ) -> StoreResult<User> {
        let name = check_user_name(name)?;
        let mut tx = self.write().await?;
        // A name that would pass for an existing one is taken too.
        let names: Vec<String> = sqlx::query_scalar("SELECT name FROM users")
            .fetch_all(&mut *tx)
            .await
            .map_err(backend)?;
        if let Some(other) = names.iter().find(|n| looks_like(n, &name)) {
            return Err(StoreError::AlreadyExists {
                what: if *other == name {
                    format!("user {name:?}")
                } else {
                    format!("user {other:?}, which {name:?} looks like,")
                },
            });
        }
        let row = sqlx::query(
            "INSERT INTO users (name, role, password_hash, created_at) VALUES ($1, $2, $3, $4) \
             RETURNING id, name, role, created_at, FALSE AS disabled",
        )
        .bind(&name)
        .bind(role.code())
        .bind(password_hash)
        .bind(now())
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| match backend(e) {
            StoreError::AlreadyExists { .. } => StoreError::AlreadyExists {
                what: format!("user {name:?}"),
            },
            other => other,
        })?;
        let user = user_of(&row)?;
        let mut events = vec![NewEvent::new(
            "create",
            "user",
            user.id,
            None::<&()>,
            Some(&user),
        )];
        events.extend(digests(&mut tx, DataTable::Users, &[user.id]).await?);
        audit(&mut tx, actor, events).await?;
        tx.commit().await.map_err(backend)?;
        Ok(user)
    }

    async fn users(&self) -> StoreResult<Vec<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users u ORDER BY u.name");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter().map(user_of).collect()
    }

    async fn credentials(&self, name: &str) -> StoreResult<Option<Credentials>> {
        let sql = format!(
            "SELECT {USER_COLUMNS}, u.password_hash, \
             u.failed_logins, u.locked_until FROM users u WHERE u.name = $1"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(Credentials {
            user: user_of(&row)?,
            password_hash: row.try_get("password_hash").map_err(backend)?,
            failed_logins: row.try_get("failed_logins").map_err(backend)?,
            locked_until: row.try_get("locked_until").map_err(backend)?,
        }))
    }

    async fn record_login(
        &self,
        user_id: i64,
        success: bool,
        locked_until: Option<&str>,
    ) -> StoreResult<()> {
        let query = if success {
            sqlx::query("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1")
                .bind(user_id)
        } else {
            sqlx::query(
                "UPDATE users SET failed_logins = failed_logins + 1, \
                 locked_until = COALESCE($1, locked_until) WHERE id = $2",
            )
            .bind(locked_until)
            .bind(user_id)
        };
        query.execute(&self.pool).await.map_err(backend)?;
        Ok(())
    }

    async fn create_session(
        &self,
        user_id: i64,
        token_hash: &str,
        csrf_token: &str,
        expires_at: &str,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(csrf_token)
        .bind(now())
        .bind(expires_at)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn session(&self, token_hash: &str, now: &str) -> StoreResult<Option<Session>> {
        let sql = format!(
            "SELECT s.token_hash, s.csrf_token, s.expires_at, {USER_COLUMNS} \
             FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND {NOT_DISABLED}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(token_hash)
            .bind(now)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(Session {
            token_hash: row.try_get("token_hash").map_err(backend)?,
            user: user_of(&row)?,
            csrf_token: row.try_get("csrf_token").map_err(backend)?,
            expires_at: row.try_get("expires_at").map_err(backend)?,
        }))
    }

    async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn end_sessions(
        &self,
        actor: &Actor,
        user_id: i64,
        end_tokens: bool,
    ) -> StoreResult<usize> {
        let mut tx = self.write().await?;
        let revoked = end_all(&mut tx, actor, user_id, end_tokens).await?;
        tx.commit().await.map_err(backend)?;
        Ok(revoked)
    }

    async fn set_password(
        &self,
        actor: &Actor,
        user_id: i64,
        password_hash: &str,
        end_tokens: bool,
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let changed = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(password_hash)
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?
            .rows_affected();
        if changed == 0 {
            return Err(StoreError::not_found(format!("user {user_id}")));
        }
        end_all(&mut tx, actor, user_id, end_tokens).await?;
        let mut events = vec![NewEvent::new(
            "password",
            "user",
            user_id,
            None::<&()>,
            None::<&()>,
        )];
        events.extend(digests(&mut tx, DataTable::Users, &[user_id]).await?);
        audit(&mut tx, actor, events).await?;
        tx.commit().await.map_err(backend)
    }

    async fn set_disabled(&self, actor: &Actor, user_id: i64, disabled: bool) -> StoreResult<User> {
        let mut tx = self.write().await?;
        let user = user_in(&mut tx, user_id).await?;
        if user.disabled == disabled {
            return Ok(user);
        }
        if disabled {
            keep_an_admin(&mut tx, &user, "disabled").await?;
        }
        let row_id: Option<i64> = if disabled {
            let id = sqlx::query_scalar(
                "INSERT INTO disabled_users (user_id, disabled_at) VALUES ($1, $2) RETURNING id",
            )
            .bind(user_id)
            .bind(now())
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
            end_all(&mut tx, actor, user_id, true).await?;
            Some(id)
        } else {
            sqlx::query_scalar("DELETE FROM disabled_users WHERE user_id = $1 RETURNING id")
                .bind(user_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(backend)?
        };
        let mut events = vec![NewEvent::new(
            if disabled { "disable" } else { "enable" },
            "user",
            user_id,
            None::<&()>,
            None::<&()>,
        )];
        if let Some(id) = row_id {
            events.extend(digests(&mut tx, DataTable::DisabledUsers, &[id]).await?);
        }
        audit(&mut tx, actor, events).await?;
        let user = user_in(&mut tx, user_id).await?;
        tx.commit().await.map_err(backend)?;
        Ok(user)
    }

    async fn set_role(&self, actor: &Actor, user_id: i64, role: Role) -> StoreResult<User> {
        let mut tx = self.write().await?;
        let user = user_in(&mut tx, user_id).await?;
        if user.role == role {
            return Ok(user);
        }
        keep_an_admin(&mut tx, &user, "given another role").await?;
        sqlx::query("UPDATE users SET role = $1 WHERE id = $2")
            .bind(role.code())
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        // What the user could do ends with the role: sessions and tokens
        // made for it are ended.
        end_all(&mut tx, actor, user_id, true).await?;
        let mut events = vec![NewEvent::new(
            "role",
            "user",
            user_id,
            Some(&user.role.code()),
            Some(&role.code()),
        )];
        events.extend(digests(&mut tx, DataTable::Users, &[user_id]).await?);
        audit(&mut tx, actor, events).await?;
        let user = user_in(&mut tx, user_id).await?;
        tx.commit().await.map_err(backend)?;
        Ok(user)
    }

    async fn create_token(
        &self,
        actor: &Actor,
        user_id: i64,
        label: &str,
        token_hash: &str,
        expires_at: &str,
    ) -> StoreResult<ApiToken> {
        let mut tx = self.write().await?;
        let row = sqlx::query(
            "INSERT INTO api_tokens (user_id, label, token_hash, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id, user_id, label, created_at, expires_at",
        )
        .bind(user_id)
        .bind(label)
        .bind(token_hash)
        .bind(now())
        .bind(expires_at)
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
        let token = token_of(&row)?;
        let mut events = vec![NewEvent::new(
            "create",
            "api_token",
            token.id,
            None::<&()>,
            Some(&token),
        )];
        events.extend(digests(&mut tx, DataTable::ApiTokens, &[token.id]).await?);
        audit(&mut tx, actor, events).await?;
        tx.commit().await.map_err(backend)?;
        Ok(token)
    }

    async fn token_user(&self, token_hash: &str, now: &str) -> StoreResult<Option<User>> {
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM api_tokens t \
             JOIN users u ON u.id = t.user_id \
             WHERE t.token_hash = $1 AND t.expires_at > $2 AND {NOT_DISABLED}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(token_hash)
            .bind(now)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.as_ref().map(user_of).transpose()
    }

    async fn tokens(&self, user_id: i64) -> StoreResult<Vec<ApiToken>> {
        let rows = sqlx::query(
            "SELECT id, user_id, label, created_at, expires_at FROM api_tokens WHERE user_id = $1 ORDER BY id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(token_of).collect()
    }

    async fn revoke_token(&self, actor: &Actor, id: i64, owner: Option<i64>) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let row = sqlx::query(
            "DELETE FROM api_tokens WHERE id = $1 AND ($2 IS NULL OR user_id = $2) \
             RETURNING id, user_id, label, created_at, expires_at",
        )
        .bind(id)
        .bind(owner)
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?
        .ok_or_else(|| StoreError::not_found(format!("API token {id}")))?;
        let token = token_of(&row)?;
        let mut events = vec![NewEvent::new(
            "revoke",
            "api_token",
            id,
            Some(&token),
            None::<&()>,
        )];
        events.extend(digests(&mut tx, DataTable::ApiTokens, &[id]).await?);
        audit(&mut tx, actor, events).await?;
        tx.commit().await.map_err(backend)
    }

    async fn import_study(
        &self,
        actor: &Actor,
        name: &str,
        import: &StudyImport<'_>,
    ) -> StoreResult<ImportSummary> {
        check_study_name(name)?;
        let mut tx = self.write().await?;
        import_cache(&mut tx, true).await?;
        let created_at = now();
        let study_id: i64 = sqlx::query_scalar(
            "INSERT INTO studies (name, columns, created_at) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(name)
        .bind(to_json(&import.columns)?)
        .bind(&created_at)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| match backend(e) {
            StoreError::AlreadyExists { .. } => StoreError::AlreadyExists {
                what: format!("study {name:?}"),
            },
            other => other,
        })?;

        let (digest, row_events) =
            write_rows(&mut tx, study_id, import, &created_at, Seed::default()).await?;
        let study = Study {
            id: study_id,
            name: name.into(),
            columns: import.columns.clone(),
            created_at,
        };
        let summary = ImportSummary {
            study,
            patients: import.patient_count(),
            readings: import.reading_count(),
        };
        let mut events = vec![NewEvent::new(
            "import",
            "study",
            study_id,
            None::<&()>,
            Some(&digest.finish(&import.columns, &summary)),
        )];
        events.extend(digests(&mut tx, DataTable::Studies, &[study_id]).await?);
        events.extend(row_events);
        audit(&mut tx, actor, events).await?;
        import_cache(&mut tx, false).await?;
        tx.commit().await.map_err(backend)?;
        Ok(summary)
    }

    async fn append_to_study(
        &self,
        actor: &Actor,
        name: &str,
        import: &StudyImport<'_>,
        checked_patients: usize,
    ) -> StoreResult<ImportSummary> {
        let mut tx = self.write().await?;
        let sql = format!(
            "SELECT s.id, s.name, s.columns, s.created_at FROM studies s WHERE s.name = $1{}",
            lock("s")
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(name)
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?
            .ok_or_else(|| StoreError::NotFound {
                what: format!("study {name:?}"),
            })?;
        let mut study = study_of(&row)?;
        let invalid = |field: &str, message: String| StoreError::Invalid {
            field: field.into(),
            message,
        };
        if import.columns.patients != study.columns.patients {
            return Err(invalid(
                "patients",
                format!(
                    "the appended patients' columns are not the study's ({})",
                    study.columns.patients.join(", ")
                ),
            ));
        }
        // A readings table the study did not have takes the appended
        // one's columns; one it has keeps its own.
        let mut columns = study.columns.clone();
        for (table, held, added) in [
            (
                "hand_readings",
                &mut columns.hand_readings,
                &import.columns.hand_readings,
            ),
            (
                "spine_readings",
                &mut columns.spine_readings,
                &import.columns.spine_readings,
            ),
        ] {
            match (held.as_ref(), added) {
                (Some(held), Some(added)) if held != added => {
                    return Err(invalid(
                        table,
                        format!(
                            "the appended {table} columns are not the study's ({})",
                            held.join(", ")
                        ),
                    ))
                }
                (None, Some(added)) if import.reading_count() > 0 => *held = Some(added.clone()),
                _ => {}
            }
        }

        let existing = sqlx::query(
            "SELECT p.id, p.patient_id, p.ordinal, e.id AS exam_id, e.modality \
             FROM patients p JOIN exams e ON e.patient_ref = p.id WHERE p.study_id = $1",
        )
        .bind(study.id)
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?;
        let mut seed = Seed::default();
        let mut next_ordinal = 0_i64;
        let mut exam_of = std::collections::HashMap::new();
        for row in &existing {
            let id: i64 = row.try_get("id").map_err(backend)?;
            let patient_id: String = row.try_get("patient_id").map_err(backend)?;
            let ordinal: i64 = row.try_get("ordinal").map_err(backend)?;
            let exam_id: i64 = row.try_get("exam_id").map_err(backend)?;
            let modality: String = row.try_get("modality").map_err(backend)?;
            let modality = Modality::parse(&modality)
                .ok_or_else(|| StoreError::Backend(format!("exam modality {modality:?}")))?;
            next_ordinal = next_ordinal.max(ordinal + 1);
            seed.exams.insert((id, modality.code()), exam_id);
            exam_of.insert(exam_id, (patient_id.clone(), modality));
            seed.patient_refs.insert(patient_id, id);
        }
        let held_patients = seed.patient_refs.len();
        if held_patients != checked_patients {
            return Err(StoreError::Conflict {
                what: format!("the patients of study {name:?} (their number)"),
                expected: i64::try_from(checked_patients).unwrap_or(i64::MAX),
                current: i64::try_from(held_patients).unwrap_or(i64::MAX),
            });
        }
        seed.first_ordinal = usize::try_from(next_ordinal).unwrap_or(held_patients);

        if let Some(id) = import
            .patient_ids()
            .into_iter()
            .find(|id| seed.patient_refs.contains_key(id))
        {
            return Err(StoreError::AlreadyExists {
                what: format!("patient {id:?} in study {name:?}"),
            });
        }

        // Every reading the study holds or has assigned, read or not.
        let held = sqlx::query(
            "SELECT r.exam_id, r.reader, r.kind FROM readings r \
             JOIN exams e ON e.id = r.exam_id JOIN patients p ON p.id = e.patient_ref \
             WHERE p.study_id = $1",
        )
        .bind(study.id)
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?;
        let mut readings = std::collections::HashSet::with_capacity(held.len());
        for row in &held {
            let exam_id: i64 = row.try_get("exam_id").map_err(backend)?;
            let reader: String = row.try_get("reader").map_err(backend)?;
            let kind: String = row.try_get("kind").map_err(backend)?;
            if let Some((patient, modality)) = exam_of.get(&exam_id) {
                readings.insert((patient.clone(), *modality, reader, kind == "repeat"));
            }
        }
        for key in import.reading_keys() {
            if readings.contains(&key) {
                let (patient, modality, reader, repeat) = key;
                return Err(invalid(
                    "reader",
                    format!(
                        "{reader}'s {}{} reading of patient {patient} is in the study already (read or assigned): appending adds readings, it does not change them",
                        if repeat { "repeat " } else { "" },
                        match modality {
                            Modality::HandRadiograph => "hand radiograph",
                            Modality::Ct => "CT",
                        }
                    ),
                ));
            }
        }
        drop((existing, held, readings, exam_of));

        import_cache(&mut tx, true).await?;
        let created_at = now();
        let (digest, row_events) = write_rows(&mut tx, study.id, import, &created_at, seed).await?;
        let mut events = Vec::new();
        if columns != study.columns {
            sqlx::query("UPDATE studies SET columns = $1 WHERE id = $2")
                .bind(to_json(&columns)?)
                .bind(study.id)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            study.columns = columns;
        }
        let summary = ImportSummary {
            study: study.clone(),
            patients: import.patient_count(),
            readings: import.reading_count(),
        };
        events.push(NewEvent::new(
            "append",
            "study",
            study.id,
            None::<&()>,
            Some(&digest.finish(&import.columns, &summary)),
        ));
        events.extend(digests(&mut tx, DataTable::Studies, &[study.id]).await?);
        events.extend(row_events);
        audit(&mut tx, actor, events).await?;
        import_cache(&mut tx, false).await?;
        tx.commit().await.map_err(backend)?;
        Ok(summary)
    }

    async fn studies(&self) -> StoreResult<Vec<Study>> {
        let rows = sqlx::query("SELECT id, name, columns, created_at FROM studies ORDER BY name")
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter().map(study_of).collect()
    }

    async fn study(&self, name: &str) -> StoreResult<Option<Study>> {
        let row = sqlx::query("SELECT id, name, columns, created_at FROM studies WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.as_ref().map(study_of).transpose()
    }

    async fn patients(&self, study_id: i64) -> StoreResult<Vec<PatientRecord>> {
        let sql = format!("{PATIENT_SELECT} ORDER BY p.ordinal");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(study_id)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter().map(patient_of).collect()
    }

    async fn patients_page(&self, study_id: i64, page: Page) -> StoreResult<Paged<PatientRecord>> {
        let (offset, limit) = page.sql();
        let sql = format!("{PATIENT_SELECT} ORDER BY p.ordinal LIMIT $2 OFFSET $3");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(study_id)
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM patients WHERE study_id = $1")
            .bind(study_id)
            .fetch_one(&self.pool)
            .await
            .map_err(backend)?;
        Ok(Paged {
            items: rows.iter().map(patient_of).collect::<StoreResult<_>>()?,
            total: u64::try_from(total).unwrap_or_default(),
        })
    }

    async fn patient(&self, study_id: i64, patient_id: &str) -> StoreResult<Option<PatientRecord>> {
        let sql = format!("{PATIENT_SELECT} AND p.patient_id = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(study_id)
            .bind(patient_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.as_ref().map(patient_of).transpose()
    }

    async fn update_patient(
        &self,
        actor: &Actor,
        study_id: i64,
        record: &PatientRecord,
        expected_version: i64,
    ) -> StoreResult<PatientRecord> {
        let mut tx = self.write().await?;
        let sql = format!("{PATIENT_SELECT} AND p.patient_id = $2{}", lock("p"));
        let before = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .bind(study_id)
            .bind(&record.patient_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?
            .as_ref()
            .map(patient_of)
            .transpose()?
            .ok_or_else(|| StoreError::not_found(format!("patient {:?}", record.patient_id)))?;
        if before.version != expected_version {
            return Err(StoreError::Conflict {
                what: format!("patient {:?}", record.patient_id),
                expected: expected_version,
                current: before.version,
            });
        }
        sqlx::query(
            "UPDATE patients SET cells = $1, version = version + 1 WHERE id = $2 AND version = $3",
        )
        .bind(to_json(&record.cells)?)
        .bind(before.id)
        .bind(expected_version)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        // Each slot names its exam; a hand radiograph has no CT type or levels.
        let hand = &record.hand_radiograph;
        let slots = [
            (Modality::HandRadiograph, &hand.date, &None, &None),
            (
                Modality::Ct,
                &record.ct.date,
                &record.ct.ct_type,
                &record.ct.ct_levels,
            ),
        ];
        for (modality, date, ct_type, ct_levels) in slots {
            sqlx::query(
                "UPDATE exams SET exam_date = $1, ct_type = $2, ct_levels = $3 \
                 WHERE patient_ref = $4 AND modality = $5",
            )
            .bind(date)
            .bind(ct_type)
            .bind(ct_levels)
            .bind(before.id)
            .bind(modality.code())
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        }
        let after = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(study_id)
            .bind(&record.patient_id)
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)
            .and_then(|row| patient_of(&row))?;
        let mut events = vec![NewEvent::new(
            "update",
            "patient",
            after.id,
            Some(&before),
            Some(&after),
        )];
        events.extend(digests(&mut tx, DataTable::Patients, &[after.id]).await?);
        let exams = [after.hand_radiograph.id, after.ct.id];
        events.extend(digests(&mut tx, DataTable::Exams, &exams).await?);
        audit(&mut tx, actor, events).await?;
        tx.commit().await.map_err(backend)?;
        Ok(after)
    }

    async fn readings(&self, study_id: i64) -> StoreResult<Vec<Reading>> {
        let sql = format!("{READING_SELECT} WHERE p.study_id = $1 ORDER BY r.id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(study_id)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter().map(reading_of).collect()
    }

    async fn readings_after(
        &self,
        study_id: i64,
        after: i64,
        limit: i64,
    ) -> StoreResult<Vec<Reading>> {
        let sql =
            format!("{READING_SELECT} WHERE p.study_id = $1 AND r.id > $2 ORDER BY r.id LIMIT $3");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(study_id)
            .bind(after)
            .bind(limit.clamp(1, 10_000))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter().map(reading_of).collect()
    }

    async fn create_assignments(
        &self,
        actor: &Actor,
        study_id: i64,
        assignments: &[NewAssignment],
    ) -> StoreResult<usize> {
        let mut tx = self.write().await?;
        let created_at = now();
        let mut names = std::collections::HashMap::new();
        let mut assignment_ids = Vec::with_capacity(assignments.len());
        let mut reading_ids = Vec::with_capacity(assignments.len());
        for a in assignments {
            if let std::collections::hash_map::Entry::Vacant(slot) = names.entry(a.reader_id) {
                slot.insert(reader_name(&mut tx, a.reader_id).await?);
            }
            let in_study: Option<i64> = sqlx::query_scalar(
                "SELECT e.id FROM exams e JOIN patients p ON p.id = e.patient_ref \
                 WHERE e.id = $1 AND p.study_id = $2",
            )
            .bind(a.exam_id)
            .bind(study_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?;
            if in_study.is_none() {
                return Err(StoreError::invalid(
                    "exam_id",
                    format!("exam {} is not in this study", a.exam_id),
                ));
            }
            let assignment_id: i64 = sqlx::query_scalar(
                "INSERT INTO assignments (exam_id, reader_id, code, position, kind, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(a.exam_id)
            .bind(a.reader_id)
            .bind(&a.code)
            .bind(a.position)
            .bind(a.kind.code())
            .bind(&created_at)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| match backend(e) {
                StoreError::AlreadyExists { .. } => StoreError::AlreadyExists {
                    what: format!(
                        "a {} assignment of exam {} to reader {} (or code {})",
                        a.kind.code(),
                        a.exam_id,
                        a.reader_id,
                        a.code
                    ),
                },
                other => other,
            })?;
            let reading_id: i64 = sqlx::query_scalar(
                "INSERT INTO readings (exam_id, reader, kind, assignment_id, findings, version, updated_at) \
                 VALUES ($1, $2, $3, $4, NULL, 0, $5) RETURNING id",
            )
            .bind(a.exam_id)
            .bind(&names[&a.reader_id])
            .bind(a.kind.code())
            .bind(assignment_id)
            .bind(&created_at)
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
            assignment_ids.push(assignment_id);
            reading_ids.push(reading_id);
        }
        let mut events = vec![NewEvent::new(
            "assign",
            "study",
            study_id,
            None::<&()>,
            Some(&sclerad_store::records::assignment_digest(assignments)),
        )];
        events.extend(digests(&mut tx, DataTable::Assignments, &assignment_ids).await?);
        events.extend(digests(&mut tx, DataTable::Readings, &reading_ids).await?);
        audit(&mut tx, actor, events).await?;
        tx.commit().await.map_err(backend)?;
        Ok(assignments.len())
    }

    async fn worklist(&self, reader_id: i64) -> StoreResult<Vec<WorkItem>> {
        let sql = format!("{WORK_SELECT} ORDER BY a.position");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(reader_id)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter().map(work_item_of).collect()
    }

    async fn worklist_page(&self, reader_id: i64, page: Page) -> StoreResult<Paged<WorkItem>> {
        let (offset, limit) = page.sql();
        let sql = format!("{WORK_SELECT} ORDER BY a.position LIMIT $2 OFFSET $3");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(reader_id)
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        let total: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM assignments WHERE reader_id = $1")
                .bind(reader_id)
                .fetch_one(&self.pool)
                .await
                .map_err(backend)?;
        Ok(Paged {
            items: rows.iter().map(work_item_of).collect::<StoreResult<_>>()?,
            total: u64::try_from(total).unwrap_or_default(),
        })
    }

    async fn work_item(&self, reader_id: i64, code: &str) -> StoreResult<Option<WorkItem>> {
        let sql = format!("{WORK_SELECT} AND a.code = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(reader_id)
            .bind(code)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.as_ref().map(work_item_of).transpose()
    }

    async fn save_reading(
        &self,
        actor: &Actor,
        reader_id: i64,
        code: &str,
        findings: &[Finding],
        expected_version: i64,
    ) -> StoreResult<WorkItem> {
        if findings.len() > sclerad_model::MAX_FINDINGS {
            // Refused before it is copied into the queue.
            return Err(StoreError::invalid(
                "findings",
                format!("at most {} findings per exam", sclerad_model::MAX_FINDINGS),
            ));
        }
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job = SaveJob {
            actor: actor.clone(),
            reader_id,
            code: code.to_string(),
            findings: findings.to_vec(),
            expected_version,
            reply,
        };
        match &self.saver {
            Some(saver) => {
                saver
                    .send(job)
                    .await
                    .map_err(|_| StoreError::Backend("the save queue is closed".into()))?;
                answer
                    .await
                    .map_err(|_| StoreError::Backend("the save was dropped".into()))?
            }
            None => {
                let mut results = self.save_batch(std::slice::from_ref(&job)).await?;
                results
                    .pop()
                    .unwrap_or_else(|| Err(StoreError::Backend("no result".into())))
            }
        }
    }

    async fn save_consensus(
        &self,
        actor: &Actor,
        study_id: i64,
        exam_id: i64,
        findings: &[Finding],
        expected_version: i64,
    ) -> StoreResult<Reading> {
        let mut tx = self.write().await?;
        let exam = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT e.modality, e.ct_type, e.ct_levels FROM exams e \
             JOIN patients p ON p.id = e.patient_ref \
             WHERE e.id = $1 AND p.study_id = $2{}",
            lock("e")
        )))
        .bind(exam_id)
        .bind(study_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?
        .ok_or_else(|| StoreError::not_found(format!("exam {exam_id} in this study")))?;
        let modality: String = exam.try_get("modality").map_err(backend)?;
        let modality = from_code(&modality, Modality::parse, "modality")?;
        let ct_type: Option<String> = exam.try_get("ct_type").map_err(backend)?;
        let ct_levels: Option<String> = exam.try_get("ct_levels").map_err(backend)?;
        // The format's rules, applied to the exam as it is inside this
        // transaction.
        let findings = check_findings(
            findings,
            modality,
            ct_coverage(ct_type.as_deref(), ct_levels.as_deref()),
        )?;
        check_marks(&mut tx, exam_id, &findings).await?;
        // The exam's consensus: the one saved here, else one imported (a
        // reading by `consensus`), which a save then takes over.
        let select = format!(
            "{READING_SELECT} WHERE r.exam_id = $1 AND (r.kind = 'consensus' OR r.reader = 'consensus') \
             ORDER BY (r.kind = 'consensus') DESC, r.id LIMIT 1{}",
            lock("r")
        );
        let before = sqlx::query(sqlx::AssertSqlSafe(select.clone()))
            .bind(exam_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?
            .as_ref()
            .map(reading_of)
            .transpose()?;
        let current = before.as_ref().map_or(0, |r| r.version);
        if current != expected_version {
            return Err(StoreError::Conflict {
                what: format!("consensus reading of exam {exam_id}"),
                expected: expected_version,
                current,
            });
        }
        let text = to_json(&findings)?;
        match &before {
            Some(r) => sqlx::query(
                "UPDATE readings SET findings = $1, version = version + 1, updated_at = $2, \
                 kind = 'consensus' WHERE id = $3 AND version = $4",
            )
            .bind(&text)
            .bind(now())
            .bind(r.id)
            .bind(expected_version),
            None => sqlx::query(
                "INSERT INTO readings (exam_id, reader, kind, findings, version, updated_at) \
                 VALUES ($1, 'consensus', 'consensus', $2, 1, $3)",
            )
            .bind(exam_id)
            .bind(&text)
            .bind(now()),
        }
        .execute(&mut *tx)
        .await
        .map_err(|e| match backend(e) {
            // Another adjudicator created it since we looked.
            StoreError::AlreadyExists { .. } => StoreError::Conflict {
                what: format!("consensus reading of exam {exam_id}"),
                expected: expected_version,
                current: expected_version + 1,
            },
            other => other,
        })?;
        let after = sqlx::query(sqlx::AssertSqlSafe(select))
            .bind(exam_id)
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)
            .and_then(|row| reading_of(&row))?;
        let mut events = vec![NewEvent::new(
            "save",
            "consensus",
            after.id,
            before.as_ref(),
            Some(&after),
        )];
        events.extend(digests(&mut tx, DataTable::Readings, &[after.id]).await?);
        audit(&mut tx, actor, events).await?;
        tx.commit().await.map_err(backend)?;
        Ok(after)
    }

    async fn image_secret(&self, actor: &Actor, study_id: i64) -> StoreResult<ImageSecret> {
        let stored: Option<String> =
            sqlx::query_scalar("SELECT secret FROM study_secrets WHERE study_id = $1")
                .bind(study_id)
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?;
        if let Some(text) = stored {
            return secret_of(&text);
        }
        let mut tx = self.write().await?;
        study_exists(&mut tx, study_id).await?;
        // Another writer may have created it since we looked.
        let stored: Option<String> =
            sqlx::query_scalar("SELECT secret FROM study_secrets WHERE study_id = $1")
                .bind(study_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(backend)?;
        if let Some(text) = stored {
            return secret_of(&text);
        }
        let secret = ImageSecret::random()?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO study_secrets (study_id, secret, created_at) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(study_id)
        .bind(secret.to_hex())
        .bind(now())
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
        // The event says that the secret exists, never what it is.
        let mut events = vec![NewEvent::new(
            "create",
            "image_secret",
            study_id,
            None::<&()>,
            Some(&serde_json::json!({ "study_id": study_id })),
        )];
        events.extend(digests(&mut tx, DataTable::StudySecrets, &[id]).await?);
        audit(&mut tx, actor, events).await?;
        tx.commit().await.map_err(backend)?;
        Ok(secret)
    }

    async fn import_images(
        &self,
        actor: &Actor,
        study_id: i64,
        mut feed: tokio::sync::mpsc::Receiver<ImageFeed>,
    ) -> StoreResult<ImageImportSummary> {
        let mut tx = self.write().await?;
        study_exists(&mut tx, study_id).await?;
        let exams: std::collections::HashSet<i64> = sqlx::query_scalar(
            "SELECT e.id FROM exams e JOIN patients p ON p.id = e.patient_ref WHERE p.study_id = $1",
        )
        .bind(study_id)
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?
        .into_iter()
        .collect();
        let mut results = Vec::new();
        let mut new_ids = Vec::new();
        let mut unchanged = 0;
        let mut digest = Sha256::new();
        let tally = loop {
            let image = match feed.recv().await {
                Some(ImageFeed::Image(image)) => image,
                Some(ImageFeed::End(tally)) => break tally,
                None => {
                    return Err(StoreError::invalid(
                        "images",
                        "the import was interrupted before its end: nothing of it was stored",
                    ))
                }
            };
            if !exams.contains(&image.exam_id) {
                return Err(StoreError::invalid(
                    "exam_id",
                    format!("exam {} is not in this study", image.exam_id),
                ));
            }
            let sha256 = sclerad_model::hex(&Sha256::digest(&image.data));
            let existing = sqlx::query(
                "SELECT id, sha256, exam_id FROM images WHERE study_id = $1 AND sop_instance_uid = $2",
            )
            .bind(study_id)
            .bind(&image.sop_instance_uid)
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?;
            let result = match existing {
                Some(row) => {
                    let id: i64 = row.try_get("id").map_err(backend)?;
                    let stored: String = row.try_get("sha256").map_err(backend)?;
                    let exam: i64 = row.try_get("exam_id").map_err(backend)?;
                    if stored == sha256 && exam == image.exam_id {
                        unchanged += 1;
                        ImageStored::Unchanged(id)
                    } else if exam != image.exam_id {
                        ImageStored::Refused(format!(
                            "the instance is stored already for another exam (image {id}): \
                             the map gives it a different patient or exam than before"
                        ))
                    } else {
                        ImageStored::Refused(format!(
                            "an instance with the same UID and other content is stored already (image {id})"
                        ))
                    }
                }
                None => {
                    let id = insert_image(&mut tx, study_id, &image, &sha256).await?;
                    new_ids.push(id);
                    ImageStored::New(id)
                }
            };
            if !matches!(result, ImageStored::Refused(_)) {
                digest.update(format!("{} {sha256}\n", image.sop_instance_uid).as_bytes());
            }
            results.push(result);
        };
        let digest = sclerad_model::hex(&digest.finalize());
        let refused_here = results
            .iter()
            .filter(|r| matches!(r, ImageStored::Refused(_)))
            .count();
        let mut events = vec![NewEvent::new(
            "import",
            "images",
            study_id,
            None::<&()>,
            Some(&serde_json::json!({
                "stored": new_ids.len(),
                "unchanged": unchanged,
                "quarantined": tally.quarantined,
                "refused": tally.refused + refused_here,
                "skipped": tally.skipped,
                "digest": digest,
            })),
        )];
        events.extend(digests(&mut tx, DataTable::Images, &new_ids).await?);
        audit(&mut tx, actor, events).await?;
        tx.commit().await.map_err(backend)?;
        Ok(ImageImportSummary {
            stored: new_ids.len(),
            unchanged,
            results,
            digest,
        })
    }

    async fn exam_images(&self, exam_id: i64) -> StoreResult<Vec<Image>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{IMAGE_SELECT} WHERE exam_id = $1"
        )))
        .bind(exam_id)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        let mut images = rows.iter().map(image_of).collect::<StoreResult<Vec<_>>>()?;
        // In Rust, not SQL: the databases order NULLs differently.
        images.sort_by(|a, b| {
            a.series_uid
                .cmp(&b.series_uid)
                .then_with(|| match (a.position, b.position) {
                    (Some(x), Some(y)) => x.total_cmp(&y),
                    (Some(_), None) => std::cmp::Ordering::Less,
                    (None, Some(_)) => std::cmp::Ordering::Greater,
                    (None, None) => std::cmp::Ordering::Equal,
                })
                .then_with(|| {
                    a.instance_number
                        .unwrap_or(i64::MAX)
                        .cmp(&b.instance_number.unwrap_or(i64::MAX))
                })
                .then_with(|| a.id.cmp(&b.id))
        });
        Ok(images)
    }

    async fn images_after(&self, study_id: i64, after: i64, limit: i64) -> StoreResult<Vec<Image>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{IMAGE_SELECT} WHERE study_id = $1 AND id > $2 ORDER BY id LIMIT $3"
        )))
        .bind(study_id)
        .bind(after)
        .bind(limit.clamp(1, 10_000))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(image_of).collect()
    }

    async fn work_item_exam(&self, reader_id: i64, code: &str) -> StoreResult<Option<i64>> {
        sqlx::query_scalar("SELECT exam_id FROM assignments WHERE reader_id = $1 AND code = $2")
            .bind(reader_id)
            .bind(code)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)
    }

    async fn image_data(&self, id: i64) -> StoreResult<Option<Vec<u8>>> {
        sqlx::query_scalar("SELECT data FROM images WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)
    }

    async fn save_analysis_run(
        &self,
        actor: &Actor,
        study_id: i64,
        run: NewAnalysisRun,
    ) -> StoreResult<AnalysisRun> {
        for (what, bytes) in [("input", &run.input), ("outputs", &run.outputs)] {
            if bytes.len() > RUN_ARCHIVE_MAX_BYTES {
                return Err(StoreError::invalid(
                    what,
                    format!(
                        "the run's {what} archive is {} bytes, more than the {RUN_ARCHIVE_MAX_BYTES} a run may keep",
                        bytes.len()
                    ),
                ));
            }
        }
        let sha = |bytes: &[u8]| sclerad_model::hex(&Sha256::digest(bytes));
        let input_zip_sha256 = sha(&run.input);
        let outputs_sha256 = sha(&run.outputs);
        let mut tx = self.write().await?;
        study_exists(&mut tx, study_id).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO analysis_runs (study_id, actor, created_at, settings, software_version, \
             input_sha256, input_zip_sha256, results_sha256, outputs_sha256, patients, input, outputs) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
        )
        .bind(study_id)
        .bind(&actor.name)
        .bind(now())
        .bind(&run.settings)
        .bind(&run.software_version)
        .bind(&run.input_sha256)
        .bind(&input_zip_sha256)
        .bind(&run.results_sha256)
        .bind(&outputs_sha256)
        .bind(run.patients)
        .bind(&run.input)
        .bind(&run.outputs)
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("{RUN_SELECT} WHERE id = $1")))
            .bind(id)
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
        let kept = run_of(&row)?;
        let mut events = vec![NewEvent::new(
            "analyse",
            "study",
            study_id,
            None::<&()>,
            Some(&serde_json::json!({
                "run": kept.id,
                "input_sha256": kept.input_sha256,
                "results_sha256": kept.results_sha256,
                "software_version": kept.software_version,
                "patients": kept.patients,
            })),
        )];
        events.extend(digests(&mut tx, DataTable::AnalysisRuns, &[id]).await?);
        audit(&mut tx, actor, events).await?;
        tx.commit().await.map_err(backend)?;
        Ok(kept)
    }

    async fn analysis_runs(&self, study_id: i64) -> StoreResult<Vec<AnalysisRun>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{RUN_SELECT} WHERE study_id = $1 ORDER BY id DESC"
        )))
        .bind(study_id)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(run_of).collect()
    }

    async fn analysis_run(&self, run_id: i64) -> StoreResult<Option<AnalysisRun>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("{RUN_SELECT} WHERE id = $1")))
            .bind(run_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.as_ref().map(run_of).transpose()
    }

    async fn analysis_run_archive(
        &self,
        run_id: i64,
        archive: RunArchive,
    ) -> StoreResult<Option<Vec<u8>>> {
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT {} FROM analysis_runs WHERE id = $1",
            archive.column()
        )))
        .bind(run_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)
    }

    async fn audit_events(&self, after: i64, limit: i64) -> StoreResult<Vec<AuditEvent>> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        events_page(&mut conn, after, limit).await
    }

    async fn audit_search(
        &self,
        filter: &AuditFilter,
        before: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<AuditEvent>> {
        let chars = i64::try_from(sclerad_store::audit::SEARCH_RECORD_CHARS).unwrap_or(2000);
        let rows = sqlx::query(
            "SELECT seq, at, actor, action, entity, entity_id, \
                    substr(before, 1, CAST($9 AS INTEGER)) AS before, substr(after, 1, CAST($9 AS INTEGER)) AS after, prev_hash, hash \
             FROM audit_events \
             WHERE seq < $1 \
               AND ($2 IS NULL OR actor = $2) AND ($3 IS NULL OR action = $3) \
               AND ($4 IS NULL OR entity = $4) AND ($5 IS NULL OR entity_id = $5) \
               AND ($6 IS NULL OR at >= $6) AND ($7 IS NULL OR at < $7) \
             ORDER BY seq DESC LIMIT $8",
        )
        .bind(before.unwrap_or(i64::MAX))
        .bind(filter.actor.as_deref())
        .bind(filter.action.as_deref())
        .bind(filter.entity.as_deref())
        .bind(filter.entity_id.as_deref())
        .bind(filter.from.as_deref())
        .bind(filter.until.as_deref())
        .bind(limit.clamp(1, 1000))
        .bind(chars)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(event_of).collect()
    }

    async fn audit_head(&self) -> StoreResult<Option<(i64, String)>> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        head_of(&mut conn).await
    }

    async fn verify_trail(
        &self,
        anchors: &[Anchor],
    ) -> StoreResult<Result<Verified, AuditFailure>> {
        // One snapshot for the trail and the rows: writers may go on, and
        // what they add is neither checked nor mistaken for tampering.
        let mut tx = self.pool.begin().await.map_err(backend)?;
        if let Some(snapshot) = SNAPSHOT {
            sqlx::query(snapshot)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
        let head = head_of(&mut tx).await?;
        let last = head.as_ref().map_or(0, |(seq, _)| *seq);
        let mut chain = ChainVerifier::with_anchors(anchors);
        let mut replay = Replay::default();
        let mut after = 0;
        while after < last {
            let page = events_page(&mut tx, after, 10_000).await?;
            let Some(end) = page.last() else { break };
            after = end.seq;
            for event in page.iter().take_while(|e| e.seq <= last) {
                if let Err(broken) = chain.check(event) {
                    return Ok(Err(broken.into()));
                }
                if let Err(reason) = replay.event(event) {
                    return Ok(Err(BrokenLink {
                        seq: event.seq,
                        reason,
                    }
                    .into()));
                }
            }
        }
        let events = match chain.finish(head) {
            Ok(events) => events,
            Err(broken) => return Ok(Err(broken.into())),
        };
        for table in DataTable::ALL {
            let mut after = 0;
            loop {
                let page = rows_after(&mut tx, *table, after).await?;
                for row in &page {
                    after = row.id;
                    replay.row(*table, row);
                }
                if page.len() < ROWS_PAGE {
                    break;
                }
            }
        }
        // An image's bytes against the SHA-256 its (proven) row records,
        // a few images at a time.
        let mut after = 0;
        loop {
            let page = sqlx::query(
                "SELECT id, sha256, data FROM images WHERE id > $1 ORDER BY id LIMIT 16",
            )
            .bind(after)
            .fetch_all(&mut *tx)
            .await
            .map_err(backend)?;
            for row in &page {
                after = row.try_get("id").map_err(backend)?;
                let recorded: String = row.try_get("sha256").map_err(backend)?;
                let data: Vec<u8> = row.try_get("data").map_err(backend)?;
                if sclerad_model::hex(&Sha256::digest(&data)) != recorded {
                    replay.content_differs(
                        DataTable::Images,
                        after,
                        "its DICOM bytes do not match the SHA-256 its row records: \
                         they were changed outside sclerad"
                            .into(),
                    );
                }
            }
            if page.len() < 16 {
                break;
            }
        }
        tx.rollback().await.map_err(backend)?;
        Ok(match replay.finish() {
            Ok(rows) => Ok(Verified { events, rows }),
            Err((first, count)) => Err(AuditFailure::Rows { first, count }),
        })
    }
}

async fn events_page(
    conn: &mut DbConnection,
    after: i64,
    limit: i64,
) -> StoreResult<Vec<AuditEvent>> {
    let rows = sqlx::query(
        "SELECT seq, at, actor, action, entity, entity_id, before, after, prev_hash, hash \
         FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2",
    )
    .bind(after)
    .bind(limit.clamp(1, 10_000))
    .fetch_all(&mut *conn)
    .await
    .map_err(backend)?;
    rows.iter().map(event_of).collect()
}

fn event_of(row: &DbRow) -> StoreResult<AuditEvent> {
    Ok(AuditEvent {
        seq: row.try_get("seq").map_err(backend)?,
        at: row.try_get("at").map_err(backend)?,
        actor: row.try_get("actor").map_err(backend)?,
        action: row.try_get("action").map_err(backend)?,
        entity: row.try_get("entity").map_err(backend)?,
        entity_id: row.try_get("entity_id").map_err(backend)?,
        before: row.try_get("before").map_err(backend)?,
        after: row.try_get("after").map_err(backend)?,
        prev_hash: row.try_get("prev_hash").map_err(backend)?,
        hash: row.try_get("hash").map_err(backend)?,
    })
}

async fn head_of(conn: &mut DbConnection) -> StoreResult<Option<(i64, String)>> {
    sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1")
        .fetch_optional(&mut *conn)
        .await
        .map_err(backend)
}

fn study_of(row: &DbRow) -> StoreResult<Study> {
    let columns: String = row.try_get("columns").map_err(backend)?;
    Ok(Study {
        id: row.try_get("id").map_err(backend)?,
        name: row.try_get("name").map_err(backend)?,
        columns: from_json::<StudyColumns>(&columns, "study columns")?,
        created_at: row.try_get("created_at").map_err(backend)?,
    })
}

/// The columns of an [`AnalysisRun`], without its archives.
const RUN_SELECT: &str = "SELECT id, study_id, actor, created_at, settings, software_version, \
     input_sha256, input_zip_sha256, results_sha256, outputs_sha256, patients FROM analysis_runs";

fn run_of(row: &DbRow) -> StoreResult<AnalysisRun> {
    Ok(AnalysisRun {
        id: row.try_get("id").map_err(backend)?,
        study_id: row.try_get("study_id").map_err(backend)?,
        actor: row.try_get("actor").map_err(backend)?,
        created_at: row.try_get("created_at").map_err(backend)?,
        settings: row.try_get("settings").map_err(backend)?,
        software_version: row.try_get("software_version").map_err(backend)?,
        input_sha256: row.try_get("input_sha256").map_err(backend)?,
        input_zip_sha256: row.try_get("input_zip_sha256").map_err(backend)?,
        results_sha256: row.try_get("results_sha256").map_err(backend)?,
        outputs_sha256: row.try_get("outputs_sha256").map_err(backend)?,
        patients: row.try_get("patients").map_err(backend)?,
    })
}

/// The columns of an [`Image`], without its bytes.
const IMAGE_SELECT: &str = "SELECT id, exam_id, sop_instance_uid, series_uid, sop_class_uid, \
     modality, instance_number, position, pixel_rows, pixel_columns, frames, bytes, sha256, \
     overridden, date_gap_days, body_part, created_at FROM images";

fn image_of(row: &DbRow) -> StoreResult<Image> {
    Ok(Image {
        id: row.try_get("id").map_err(backend)?,
        exam_id: row.try_get("exam_id").map_err(backend)?,
        sop_instance_uid: row.try_get("sop_instance_uid").map_err(backend)?,
        series_uid: row.try_get("series_uid").map_err(backend)?,
        sop_class_uid: row.try_get("sop_class_uid").map_err(backend)?,
        modality: row.try_get("modality").map_err(backend)?,
        instance_number: row.try_get("instance_number").map_err(backend)?,
        position: row.try_get("position").map_err(backend)?,
        rows: row.try_get("pixel_rows").map_err(backend)?,
        columns: row.try_get("pixel_columns").map_err(backend)?,
        frames: row.try_get("frames").map_err(backend)?,
        bytes: row.try_get("bytes").map_err(backend)?,
        sha256: row.try_get("sha256").map_err(backend)?,
        overridden: row.try_get("overridden").map_err(backend)?,
        date_gap_days: row.try_get("date_gap_days").map_err(backend)?,
        body_part: row.try_get("body_part").map_err(backend)?,
        created_at: row.try_get("created_at").map_err(backend)?,
    })
}

async fn insert_image(
    tx: &mut DbConnection,
    study_id: i64,
    image: &NewImage,
    sha256: &str,
) -> StoreResult<i64> {
    sqlx::query_scalar(
        "INSERT INTO images (study_id, exam_id, sop_instance_uid, series_uid, sop_class_uid, \
         modality, instance_number, position, pixel_rows, pixel_columns, frames, bytes, sha256, \
         overridden, date_gap_days, body_part, created_at, data) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) RETURNING id",
    )
    .bind(study_id)
    .bind(image.exam_id)
    .bind(&image.sop_instance_uid)
    .bind(&image.series_uid)
    .bind(&image.sop_class_uid)
    .bind(&image.modality)
    .bind(image.instance_number)
    .bind(image.position)
    .bind(image.rows)
    .bind(image.columns)
    .bind(image.frames)
    .bind(i64::try_from(image.data.len()).unwrap_or(i64::MAX))
    .bind(sha256)
    .bind(&image.overridden)
    .bind(image.date_gap_days)
    .bind(&image.body_part)
    .bind(now())
    .bind(&image.data)
    .fetch_one(&mut *tx)
    .await
    .map_err(backend)
}

async fn study_exists(tx: &mut DbConnection, study_id: i64) -> StoreResult<()> {
    let found: Option<i64> = sqlx::query_scalar("SELECT id FROM studies WHERE id = $1")
        .bind(study_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?;
    found
        .map(|_| ())
        .ok_or_else(|| StoreError::not_found(format!("study {study_id}")))
}

fn secret_of(text: &str) -> StoreResult<ImageSecret> {
    ImageSecret::from_hex(text)
        .ok_or_else(|| StoreError::Backend("the study's image secret is not 64 hex digits".into()))
}

/// The marks of checked findings against the exam's images: each
/// `image_uid` one of the exam's images, its point inside it and its frame
/// one of its frames, when the study holds images (a study without any
/// keeps the marks an imported bundle brought).
async fn check_marks(
    tx: &mut DbConnection,
    exam_id: i64,
    findings: &[sclerad_model::Cells],
) -> StoreResult<()> {
    if !findings.iter().any(|f| f.contains_key("image_uid")) {
        return Ok(());
    }
    let held: Option<i64> = sqlx::query_scalar(
        "SELECT i.id FROM images i JOIN exams e ON e.id = $1 \
         JOIN patients p ON p.id = e.patient_ref WHERE i.study_id = p.study_id LIMIT 1",
    )
    .bind(exam_id)
    .fetch_optional(&mut *tx)
    .await
    .map_err(backend)?;
    if held.is_none() {
        return Ok(());
    }
    for (i, f) in findings.iter().enumerate() {
        let Some(uid) = f.get("image_uid") else {
            continue;
        };
        let field = |name: &str| format!("findings[{i}].{name}");
        let image = sqlx::query(
            "SELECT pixel_rows, pixel_columns, frames FROM images WHERE exam_id = $1 AND sop_instance_uid = $2",
        )
        .bind(exam_id)
        .bind(uid)
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?
        .ok_or_else(|| StoreError::invalid(field("image_uid"), "not an image of this exam"))?;
        let rows: i64 = image.try_get("pixel_rows").map_err(backend)?;
        let columns: i64 = image.try_get("pixel_columns").map_err(backend)?;
        let frames: i64 = image.try_get("frames").map_err(backend)?;
        let number = |k: &str| f.get(k).and_then(|v| v.parse::<f64>().ok());
        if let (Some(x), Some(y)) = (number("x"), number("y")) {
            if x >= columns as f64 || y >= rows as f64 {
                return Err(StoreError::invalid(
                    field("x"),
                    format!("the point ({x}, {y}) is outside the {columns} × {rows} image"),
                ));
            }
        }
        if let Some(frame) = number("frame") {
            if frame > frames as f64 {
                return Err(StoreError::invalid(
                    field("frame"),
                    format!("the image has {frames} frame(s)"),
                ));
            }
        }
    }
    Ok(())
}
