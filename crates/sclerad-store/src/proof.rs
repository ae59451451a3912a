//! What the audit trail proves of the data: a digest of every row.
//!
//! The hash chain ([`crate::audit`]) proves the trail itself; it says
//! nothing of a row someone edits in the database directly. So every
//! transaction that writes rows of a [`DataTable`] also appends, after its
//! own events, *row digest* events: for each row it wrote or deleted, the
//! row's id and a hash of its proven columns as they stand at commit (or
//! `null` when the row is gone). Replaying the trail ([`Replay`]) gives,
//! for every row that should exist, the hash it must have; comparing it with
//! the rows as they are names the first one that differs, and the rows
//! added or deleted behind the store's back.
//!
//! Each back end selects a table's proven columns with [`DataTable::select`]
//! (every column cast to text, so both databases hash the same bytes) and
//! hashes them with [`row_hash`], at write time inside the transaction and
//! again at verification, so what is hashed is what the database holds.
//! An import hashes the text it binds instead ([`values_hash`]), which
//! both databases store unchanged (integers as their decimal digits).
//!
//! An image's DICOM bytes are not a proven column: its row holds their
//! SHA-256 (`images.sha256`, proven), and verification hashes the bytes
//! again ([`Replay::content_differs`]).
//!
//! Not proven: login counters and lock times (`users.failed_logins`,
//! `locked_until`, changed at every failed login without an event) and
//! sessions (short-lived credentials, not study data).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::audit::{AuditEvent, NewEvent};

/// The `action` of a row digest event.
pub const DIGEST_ACTION: &str = "digest";
/// The `entity` of a row digest event (its `entity_id` is the table).
pub const DIGEST_ENTITY: &str = "rows";
/// The most rows one digest event lists.
pub const ROWS_PER_EVENT: usize = 4096;

macro_rules! tables {
    ($($variant:ident $name:literal [$($column:literal),*] names [$($named:literal),*];)*) => {
        /// A table whose every row the trail proves.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum DataTable {
            $(
                #[doc = concat!("`", $name, "`")]
                $variant,
            )*
        }

        impl DataTable {
            /// Every proven table, in the order verification checks them.
            pub const ALL: &'static [DataTable] = &[$(DataTable::$variant),*];

            /// The table's SQL name.
            pub fn name(self) -> &'static str {
                match self {
                    $(DataTable::$variant => $name,)*
                }
            }

            /// The proven columns after `id`, in hashing order.
            pub fn columns(self) -> &'static [&'static str] {
                match self {
                    $(DataTable::$variant => &[$($column),*],)*
                }
            }

            /// The columns that tell a person which row it is.
            fn naming(self) -> &'static [&'static str] {
                match self {
                    $(DataTable::$variant => &[$($named),*],)*
                }
            }

            /// `SELECT id, CAST(c AS TEXT) AS c, … FROM table`: the same
            /// SQL on both back ends; a caller appends its `WHERE` and
            /// `ORDER BY`.
            pub fn select(self) -> &'static str {
                match self {
                    $(DataTable::$variant => concat!(
                        "SELECT id",
                        $(", CAST(", $column, " AS TEXT) AS ", $column,)*
                        " FROM ", $name
                    ),)*
                }
            }
        }
    };
}

tables! {
    Users "users" ["name", "role", "password_hash", "created_at"] names ["name"];
    ApiTokens "api_tokens" ["user_id", "label", "token_hash", "created_at", "expires_at"] names ["user_id", "label"];
    Studies "studies" ["name", "columns", "created_at"] names ["name"];
    Patients "patients" ["study_id", "ordinal", "patient_id", "cells", "version"] names ["study_id", "patient_id"];
    Exams "exams" ["patient_ref", "modality", "exam_date", "ct_type", "ct_levels"] names ["patient_ref", "modality"];
    Assignments "assignments" ["exam_id", "reader_id", "code", "position", "kind", "created_at"] names ["code"];
    Readings "readings" ["exam_id", "reader", "kind", "assignment_id", "findings", "version", "updated_at"] names ["exam_id", "reader", "kind"];
    StudySecrets "study_secrets" ["study_id", "secret", "created_at"] names ["study_id"];
    DisabledUsers "disabled_users" ["user_id", "disabled_at"] names ["user_id"];
    AnalysisRuns "analysis_runs" ["study_id", "actor", "created_at", "settings", "software_version", "input_sha256", "input_zip_sha256", "results_sha256", "outputs_sha256", "patients"] names ["study_id", "created_at"];
    Images "images" ["study_id", "exam_id", "sop_instance_uid", "series_uid", "sop_class_uid", "modality", "instance_number", "position", "pixel_rows", "pixel_columns", "frames", "bytes", "sha256", "overridden", "date_gap_days", "body_part", "created_at"] names ["exam_id", "sop_instance_uid"];
}

impl DataTable {
    /// The schema version (migration) that created the table: migration 3
    /// (row digests) records the rows of the tables that existed then.
    pub fn since(self) -> i64 {
        match self {
            DataTable::StudySecrets | DataTable::Images => 4,
            DataTable::DisabledUsers => 5,
            DataTable::AnalysisRuns => 6,
            _ => 1,
        }
    }

    /// The table named `name`.
    pub fn from_name(name: &str) -> Option<DataTable> {
        DataTable::ALL.iter().copied().find(|t| t.name() == name)
    }
}

/// A row as [`DataTable::select`] reads it: its id and its proven columns
/// as text (`None` for NULL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataRow {
    /// The row's id.
    pub id: i64,
    /// The proven columns, in [`DataTable::columns`] order.
    pub values: Vec<Option<String>>,
}

/// The hash of a row's proven columns: SHA-256 of the JSON array
/// `[table, id, values…]`, its first 16 bytes in lower-case hex.
pub fn row_hash(table: DataTable, row: &DataRow) -> String {
    let values: Vec<Option<&str>> = row.values.iter().map(Option::as_deref).collect();
    values_hash(table, row.id, &values)
}

/// [`row_hash`] of the row `id` whose proven columns hold `values`: what a
/// writer that knows the text it stores (an import) hashes without reading
/// the row back. An integer column holds its decimal digits.
pub fn values_hash(table: DataTable, id: i64, values: &[Option<&str>]) -> String {
    /// The JSON text hashed as it is written, never held.
    struct Hashing(Sha256);
    impl std::io::Write for Hashing {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.update(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut hashing = Hashing(Sha256::new());
    // Writing into a hasher cannot fail, and text and integers always
    // serialise.
    let _ = serde_json::to_writer(&mut hashing, &(table.name(), id, values));
    let digest = hashing.0.finalize();
    sclerad_model::hex(&digest[..16])
}

/// What a row digest event records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Digests {
    /// `[id, hash]`, hash `null` for a deleted row.
    rows: Vec<(i64, Option<String>)>,
}

/// Row digest events for `rows` of `table` (`(id, hash)`, `None` for a
/// deleted row), at most [`ROWS_PER_EVENT`] rows each.
pub fn digest_events(table: DataTable, rows: &[(i64, Option<String>)]) -> Vec<NewEvent> {
    rows.chunks(ROWS_PER_EVENT)
        .map(|chunk| {
            NewEvent::new(
                DIGEST_ACTION,
                DIGEST_ENTITY,
                table.name(),
                None::<&()>,
                Some(&Digests {
                    rows: chunk.to_vec(),
                }),
            )
        })
        .collect()
}

/// A row that is not what the trail says.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{table} row {id}{named}: {reason}")]
pub struct RowMismatch {
    /// The table.
    pub table: &'static str,
    /// The row's id.
    pub id: i64,
    /// The columns that name it, as ` (name "value", …)`, or empty.
    pub named: String,
    /// What is wrong.
    pub reason: String,
}

/// What the trail last recorded of a row: the event and the row's hash
/// (`None`: deleted).
type Recorded = (i64, Option<[u8; 16]>);

/// The trail replayed: for every row it says exists, its hash and the
/// event that last wrote it.
#[derive(Debug, Default)]
pub struct Replay {
    rows: HashMap<(DataTable, i64), Recorded>,
    mismatches: u64,
    first: Option<RowMismatch>,
    checked: u64,
}

fn parse_hash(text: &str) -> Option<[u8; 16]> {
    if text.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

impl Replay {
    /// Takes in one event of the (already chain-checked) trail. Returns a
    /// reason if it is a row digest event that cannot be read.
    pub fn event(&mut self, event: &AuditEvent) -> Result<(), String> {
        if event.action != DIGEST_ACTION || event.entity != DIGEST_ENTITY {
            return Ok(());
        }
        let table = DataTable::from_name(&event.entity_id)
            .ok_or_else(|| format!("row digests of unknown table {:?}", event.entity_id))?;
        let digests: Digests = serde_json::from_str(event.after.as_deref().unwrap_or(""))
            .map_err(|e| format!("unreadable row digests: {e}"))?;
        for (id, hash) in digests.rows {
            let hash = match hash {
                Some(text) => Some(
                    parse_hash(&text)
                        .ok_or_else(|| format!("row digest {text:?} of row {id} is not a hash"))?,
                ),
                None => None,
            };
            self.rows.insert((table, id), (event.seq, hash));
        }
        Ok(())
    }

    fn mismatch(&mut self, table: DataTable, row: Option<&DataRow>, id: i64, reason: String) {
        self.mismatches += 1;
        if self.first.is_none() {
            let named = row
                .map(|row| {
                    let parts: Vec<String> = table
                        .naming()
                        .iter()
                        .filter_map(|name| {
                            let i = table.columns().iter().position(|c| c == name)?;
                            let value = row.values.get(i)?.as_deref().unwrap_or("NULL");
                            let value: String = value.chars().take(80).collect();
                            Some(format!("{name} {value:?}"))
                        })
                        .collect();
                    format!(" ({})", parts.join(", "))
                })
                .unwrap_or_default();
            self.first = Some(RowMismatch {
                table: table.name(),
                id,
                named,
                reason,
            });
        }
    }

    /// Checks one current row of `table`; rows may come in any order, each
    /// once.
    pub fn row(&mut self, table: DataTable, row: &DataRow) {
        self.checked += 1;
        let actual = row_hash(table, row);
        match self.rows.remove(&(table, row.id)) {
            Some((seq, Some(expected))) => {
                if parse_hash(&actual) != Some(expected) {
                    self.mismatch(
                        table,
                        Some(row),
                        row.id,
                        format!(
                            "differs from what the audit trail records (last written by event {seq}): \
                             it was changed outside sclerad"
                        ),
                    );
                }
            }
            Some((seq, None)) => self.mismatch(
                table,
                Some(row),
                row.id,
                format!(
                    "was deleted by event {seq} but is present: it was put back outside sclerad"
                ),
            ),
            None => self.mismatch(
                table,
                Some(row),
                row.id,
                "is not in the audit trail: it was added outside sclerad".into(),
            ),
        }
    }

    /// Records that the content a row vouches for by its digest column (an
    /// image's bytes against its SHA-256) is not that content.
    pub fn content_differs(&mut self, table: DataTable, id: i64, reason: String) {
        self.mismatch(table, None, id, reason);
    }

    /// Ends the check: every row the trail says exists must have been seen.
    /// Returns the number of rows checked, or the first mismatch and how
    /// many rows differ in all.
    pub fn finish(mut self) -> Result<u64, (RowMismatch, u64)> {
        let mut missing: Vec<(DataTable, i64, i64)> = self
            .rows
            .iter()
            .filter(|(_, (_, hash))| hash.is_some())
            .map(|((table, id), (seq, _))| (*table, *id, *seq))
            .collect();
        missing.sort_unstable();
        for (table, id, seq) in missing {
            self.mismatch(
                table,
                None,
                id,
                format!("last written by event {seq}, is missing: it was deleted outside sclerad"),
            );
        }
        match self.first {
            None => Ok(self.checked),
            Some(first) => Err((first, self.mismatches)),
        }
    }
}

/// What a verification proved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    /// Events checked, every link.
    pub events: i64,
    /// Current rows checked against their digests.
    pub rows: u64,
}

/// Why a verification failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditFailure {
    /// The trail itself is broken.
    #[error(transparent)]
    Chain(#[from] crate::audit::BrokenLink),
    /// The trail is intact but the data is not what it records.
    #[error("{first} ({count} row(s) differ in all)")]
    Rows {
        /// The first row that differs, in table order then id order.
        first: RowMismatch,
        /// How many rows differ.
        count: u64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::GENESIS;

    fn row(id: i64, values: &[Option<&str>]) -> DataRow {
        DataRow {
            id,
            values: values.iter().map(|v| v.map(String::from)).collect(),
        }
    }

    fn replay(events: Vec<NewEvent>) -> Replay {
        let mut replay = Replay::default();
        let mut prev = GENESIS.to_string();
        for (i, e) in events.into_iter().enumerate() {
            let e = AuditEvent::chain(i as i64 + 1, "t".into(), "a", e, &prev);
            prev = e.hash.clone();
            replay.event(&e).expect("readable");
        }
        replay
    }

    fn user(id: i64, role: &str) -> DataRow {
        row(id, &[Some("rita"), Some(role), Some("$argon2"), Some("t")])
    }

    #[test]
    fn select_lists_every_column_as_text() {
        assert_eq!(
            DataTable::Studies.select(),
            "SELECT id, CAST(name AS TEXT) AS name, CAST(columns AS TEXT) AS columns, \
             CAST(created_at AS TEXT) AS created_at FROM studies"
        );
        for table in DataTable::ALL {
            assert_eq!(DataTable::from_name(table.name()), Some(*table));
            for name in table.naming() {
                assert!(table.columns().contains(name), "{name}");
            }
        }
    }

    #[test]
    fn rows_as_recorded_pass_and_every_kind_of_edit_is_named() {
        let t = DataTable::Users;
        let events = digest_events(
            t,
            &[
                (1, Some(row_hash(t, &user(1, "reader")))),
                (2, Some(row_hash(t, &user(2, "reader")))),
                (3, Some(row_hash(t, &user(3, "reader")))),
            ],
        );
        let mut later = digest_events(t, &[(3, None)]);
        let mut all = events;
        all.append(&mut later);

        let mut ok = replay(all.clone());
        ok.row(t, &user(1, "reader"));
        ok.row(t, &user(2, "reader"));
        assert_eq!(ok.finish(), Ok(2));

        // A role changed in the database.
        let mut edited = replay(all.clone());
        edited.row(t, &user(1, "reader"));
        edited.row(t, &user(2, "admin"));
        let (first, n) = edited.finish().unwrap_err();
        assert_eq!((first.table, first.id, n), ("users", 2, 1));
        assert!(first.to_string().contains("users row 2 (name \"rita\")"));
        assert!(first.reason.contains("changed outside sclerad"), "{first}");

        // A row added, a row deleted, a deleted row put back.
        let mut other = replay(all);
        other.row(t, &user(1, "reader"));
        other.row(t, &user(3, "reader"));
        other.row(t, &user(9, "reader"));
        let (first, n) = other.finish().unwrap_err();
        assert_eq!((first.id, n), (3, 3));
        assert!(first.reason.contains("put back"), "{first}");
    }

    #[test]
    fn a_missing_row_is_named_and_big_digests_are_split() {
        let t = DataTable::Patients;
        let rows: Vec<(i64, Option<String>)> = (1..=ROWS_PER_EVENT as i64 + 5)
            .map(|id| (id, Some(row_hash(t, &row(id, &[Some("1")])))))
            .collect();
        let events = digest_events(t, &rows);
        assert_eq!(events.len(), 2);
        let mut r = replay(events);
        for id in 2..=ROWS_PER_EVENT as i64 + 5 {
            r.row(t, &row(id, &[Some("1")]));
        }
        let (first, n) = r.finish().unwrap_err();
        assert_eq!((first.table, first.id, n), ("patients", 1, 1));
        assert!(first.reason.contains("deleted outside sclerad"));
    }

    #[test]
    fn null_and_text_differ_and_hashes_are_short() {
        let t = DataTable::Exams;
        let a = row_hash(t, &row(1, &[None]));
        let b = row_hash(t, &row(1, &[Some("null")]));
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert_ne!(row_hash(DataTable::Users, &row(1, &[None])), a);
    }

    #[test]
    fn unreadable_digests_are_refused() {
        let mut r = Replay::default();
        let mut e = AuditEvent::chain(
            1,
            "t".into(),
            "a",
            NewEvent {
                action: DIGEST_ACTION.into(),
                entity: DIGEST_ENTITY.into(),
                entity_id: "patients".into(),
                before: None,
                after: Some("{\"rows\":[[1,\"zz\"]]}".into()),
            },
            GENESIS,
        );
        assert!(r.event(&e).unwrap_err().contains("not a hash"));
        e.entity_id = "sessions".into();
        assert!(r.event(&e).unwrap_err().contains("unknown table"));
    }
}
