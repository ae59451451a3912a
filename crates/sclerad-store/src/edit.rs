//! Edits of a patient's clinical record, checked with exactly the rules a
//! bundle file is checked with: the edited record, as a one-row `patients`
//! table in the study's columns, is typed by the bundle reader
//! ([`sclerad_bundle::read_text_tables`]) and validated by
//! `sclerad-model`, then stored in the canonical text an export writes.

use std::collections::BTreeMap;

use sclerad_bundle::{ReadOptions, TextTable, TextTables};
use sclerad_model::{Problem, Severity, ValidateOptions};

use crate::records::{to_tables, StudyImport};
use crate::types::{PatientRecord, StudyColumns};
use crate::{StoreError, StoreResult};

/// The longest text one cell of an edit may hold.
pub const MAX_CELL_CHARS: usize = 10_000;

/// Applies `changes` (column → new text, `None` to clear) to `record`,
/// checks the result with the format's rules and returns it in canonical
/// form, keeping the record's ids and version. The first error is returned
/// as [`StoreError::Invalid`] naming the column.
pub fn edit_patient(
    columns: &StudyColumns,
    record: &PatientRecord,
    changes: &BTreeMap<String, Option<String>>,
) -> StoreResult<PatientRecord> {
    check_patient_edit(columns, record, changes).map_err(|problems| {
        problems.into_iter().next().map_or_else(
            || StoreError::Backend("an edit refused without a reason".into()),
            |p| StoreError::invalid(p.field, p.message),
        )
    })
}

/// Why an edit of a patient's record is refused, at one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    /// The column (`cells` when the problem is the record's as a whole).
    pub field: String,
    /// What is wrong.
    pub message: String,
}

/// [`edit_patient`] with every error, one a field (the first of each), in
/// the order of the study's columns.
pub fn check_patient_edit(
    columns: &StudyColumns,
    record: &PatientRecord,
    changes: &BTreeMap<String, Option<String>>,
) -> Result<PatientRecord, Vec<FieldProblem>> {
    let refuse = |field: &str, message: String| {
        vec![FieldProblem {
            field: field.into(),
            message,
        }]
    };
    for column in changes.keys() {
        if column == sclerad_model::PatientColumn::PatientId.code() {
            return Err(refuse(
                column,
                "a patient's identifier cannot be changed".into(),
            ));
        }
        if !columns.patients.iter().any(|c| c == column) {
            return Err(refuse(
                column,
                "not a column of this study's patients table".into(),
            ));
        }
    }
    let mut problems = Vec::new();
    for (column, value) in changes {
        if let Some(v) = value {
            if v.chars().count() > MAX_CELL_CHARS || v.chars().any(|c| c.is_control() && c != '\t')
            {
                problems.push(FieldProblem {
                    field: column.clone(),
                    message: format!("at most {MAX_CELL_CHARS} characters, no control characters"),
                });
            }
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    // The record as a one-row patients table, with the changes applied.
    let current = to_tables(columns, std::slice::from_ref(record), &[]).patients;
    let row: Vec<String> = current
        .columns
        .iter()
        .zip(current.rows.first().cloned().unwrap_or_default())
        .map(|(c, v)| match changes.get(c) {
            Some(new) => new.clone().unwrap_or_default(),
            None => v,
        })
        .collect();
    let edited = TextTables {
        patients: TextTable {
            columns: current.columns,
            rows: vec![row],
        },
        hand_readings: None,
        spine_readings: None,
    };
    let loaded = sclerad_bundle::read_text_tables(&edited, &ReadOptions::default());
    let validation = sclerad_model::validate(&loaded.cohort, &ValidateOptions::default());
    // A column the study never had was allowed at import (lesion columns
    // when readings tables are given): its absence is not this edit's fault.
    let absent_by_design = |p: &&Problem| {
        p.code == "missing-column"
            && p.location
                .column
                .as_ref()
                .is_some_and(|c| !columns.patients.contains(c))
    };
    let mut problems: Vec<FieldProblem> = Vec::new();
    for p in loaded
        .problems
        .iter()
        .chain(&validation.problems)
        .filter(|p| !absent_by_design(p) && p.severity == Severity::Error)
    {
        let field = p.location.column.clone().unwrap_or_else(|| "cells".into());
        if !problems.iter().any(|q| q.field == field) {
            problems.push(FieldProblem {
                field,
                message: p.message.clone(),
            });
        }
    }
    if !problems.is_empty() {
        let at = |f: &FieldProblem| {
            columns
                .patients
                .iter()
                .position(|c| *c == f.field)
                .unwrap_or(usize::MAX)
        };
        problems.sort_by_key(at);
        return Err(problems);
    }
    let canonical = StudyImport::from_cohort(&loaded.cohort);
    let mut out = canonical
        .patients(0..1)
        .into_iter()
        .next()
        .ok_or_else(|| refuse("cells", "the edited record did not read back".into()))?;
    out.id = record.id;
    out.version = record.version;
    out.hand_radiograph.id = record.hand_radiograph.id;
    out.ct.id = record.ct.id;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Exam, Modality};

    fn record() -> (StudyColumns, PatientRecord) {
        let columns = StudyColumns {
            patients: [
                "patient_id",
                "sex",
                "age_years",
                "subset",
                "ct_type",
                "note",
            ]
            .map(String::from)
            .to_vec(),
            hand_readings: None,
            spine_readings: None,
        };
        let exam = |id, modality, ct_type: Option<&str>| Exam {
            id,
            modality,
            date: None,
            ct_type: ct_type.map(String::from),
            ct_levels: None,
        };
        let record = PatientRecord {
            id: 7,
            patient_id: "P1".into(),
            cells: [("sex", "female"), ("age_years", "56"), ("subset", "lcssc")]
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .into(),
            hand_radiograph: exam(11, Modality::HandRadiograph, None),
            ct: exam(12, Modality::Ct, Some("thoracic")),
            version: 3,
        };
        (columns, record)
    }

    fn change(pairs: &[(&str, Option<&str>)]) -> BTreeMap<String, Option<String>> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.map(String::from)))
            .collect()
    }

    #[test]
    fn every_refused_field_is_named_once_in_column_order() {
        let (columns, record) = record();
        let problems = check_patient_edit(
            &columns,
            &record,
            &change(&[
                ("subset", Some("diffuse?")),
                ("age_years", Some("about 60")),
                ("sex", None),
            ]),
        )
        .expect_err("refused");
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["sex", "age_years", "subset"], "{problems:#?}");
        assert!(problems[2].message.contains("diffuse?"), "{problems:#?}");
    }

    #[test]
    fn edits_are_typed_checked_and_canonical() {
        let (columns, record) = record();
        let edited = edit_patient(
            &columns,
            &record,
            &change(&[
                ("sex", Some(" M ")),
                ("subset", Some("dcSSc")),
                ("note", Some("a, \"b\"")),
            ]),
        )
        .expect("valid edit");
        assert_eq!(edited.cells["sex"], "male");
        assert_eq!(edited.cells["subset"], "dcssc");
        assert_eq!(edited.cells["note"], "a, \"b\"");
        assert_eq!((edited.id, edited.version, edited.ct.id), (7, 3, 12));
        assert_eq!(edited.ct.ct_type.as_deref(), Some("thoracic"));

        let field = |r: StoreResult<PatientRecord>| match r {
            Err(StoreError::Invalid { field, .. }) => field,
            other => panic!("accepted: {other:?}"),
        };
        assert_eq!(
            field(edit_patient(
                &columns,
                &record,
                &change(&[("age_years", Some("two"))])
            )),
            "age_years"
        );
        assert_eq!(
            field(edit_patient(
                &columns,
                &record,
                &change(&[("ct_type", Some("cardiac"))])
            )),
            "ct_type"
        );
        assert_eq!(
            field(edit_patient(
                &columns,
                &record,
                &change(&[("patient_id", Some("P2"))])
            )),
            "patient_id"
        );
        assert_eq!(
            field(edit_patient(
                &columns,
                &record,
                &change(&[("mrss", Some("3"))])
            )),
            "mrss"
        );
        assert_eq!(
            field(edit_patient(
                &columns,
                &record,
                &change(&[("note", Some("a\u{0}b"))])
            )),
            "note"
        );
        let cleared = edit_patient(&columns, &record, &change(&[("age_years", None)]))
            .expect("a cleared optional cell");
        assert!(!cleared.cells.contains_key("age_years"));
    }
}

/// A bundle checked for appending to a study: the study, the appended
/// rows in its columns and the problems of the two together, and how many
/// patients the study had when checked (what [`Store::append_to_study`]
/// is given, so that a study grown since is checked again).
///
/// [`Store::append_to_study`]: crate::Store::append_to_study
#[derive(Debug, Clone)]
pub struct CheckedAppend {
    /// The study appended to.
    pub study: crate::Study,
    /// The rows to add and every problem ([`sclerad_bundle::append`]).
    pub appended: sclerad_bundle::Appended,
    /// The study's patients when it was checked.
    pub checked_patients: usize,
}

impl CheckedAppend {
    /// What the store writes: the appended rows.
    pub fn import(&self) -> StudyImport<'_> {
        StudyImport::from_tables(&self.appended.tables)
    }
}

/// Checks `added` (a bundle as read) for appending to study `name`: the
/// study's records as exported, and the appended bundle's rows, validated
/// as one bundle ([`sclerad_bundle::append`]). `NotFound` for a study the
/// store does not have.
pub async fn check_append(
    store: &dyn crate::Store,
    name: &str,
    added: &sclerad_bundle::Loaded,
    read: &ReadOptions,
    check: &ValidateOptions,
) -> StoreResult<CheckedAppend> {
    let study = store
        .study(name)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: format!("study {name:?}"),
        })?;
    let patients = store.patients(study.id).await?;
    let readings = store.readings(study.id).await?;
    let tables = to_tables(&study.columns, &patients, &readings);
    drop(readings);
    let appended = sclerad_bundle::append(&tables, added, read, check);
    Ok(CheckedAppend {
        study,
        appended,
        checked_patients: patients.len(),
    })
}
