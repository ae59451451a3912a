//! Edits of a patient's clinical record, checked with exactly the rules a
//! bundle file is checked with: the edited record is written as a one-row
//! patients table in the study's columns and read back by `sclerad-bundle`,
//! then validated by `sclerad-model`.

use std::collections::BTreeMap;

use sclerad_bundle::{ReadOptions, TextTable, TextTables};
use sclerad_model::{Severity, ValidateOptions};
use sclerad_store::{to_tables, PatientRecord, StudyColumns, StudyImport};

use crate::AppError;

/// Applies `changes` (column → new text, `None` to clear) to `record`,
/// checks the result and returns it in canonical form.
pub fn edit(
    columns: &StudyColumns,
    record: &PatientRecord,
    changes: &BTreeMap<String, Option<String>>,
) -> Result<PatientRecord, AppError> {
    for column in changes.keys() {
        if column == "patient_id" {
            return Err(AppError::invalid(
                column,
                "a patient's identifier cannot be changed",
            ));
        }
        if !columns.patients.iter().any(|c| c == column) {
            return Err(AppError::invalid(
                column,
                "not a column of this study's patients table",
            ));
        }
    }
    for (column, value) in changes {
        if let Some(v) = value {
            if v.len() > 10_000 || v.chars().any(|c| c.is_control() && c != '\t') {
                return Err(AppError::invalid(
                    column,
                    "at most 10000 characters, no control characters",
                ));
            }
        }
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
    let csv = TextTables {
        patients: TextTable {
            columns: current.columns.clone(),
            rows: vec![row],
        },
        hand_readings: None,
        spine_readings: None,
    };
    let bytes = csv_bytes(&csv.patients);
    let loaded = sclerad_bundle::read_csv_bytes("patients.csv", &bytes, &ReadOptions::default());
    let validation = sclerad_model::validate(&loaded.cohort, &ValidateOptions::default());
    // A column the study never had was allowed at import (lesion columns
    // when readings tables are given): its absence is not this edit's fault.
    let absent_by_design = |p: &&sclerad_model::Problem| {
        p.code == "missing-column"
            && p.location
                .column
                .as_ref()
                .is_some_and(|c| !columns.patients.contains(c))
    };
    let problem = loaded
        .problems
        .iter()
        .chain(&validation.problems)
        .filter(|p| !absent_by_design(p))
        .find(|p| p.severity == Severity::Error);
    if let Some(p) = problem {
        let field = p.location.column.clone().unwrap_or_else(|| "cells".into());
        return Err(AppError::invalid(field, p.message.clone()));
    }
    let canonical = StudyImport::from_tables(&TextTables::of(&loaded.cohort));
    let mut edited = canonical
        .patients
        .into_iter()
        .next()
        .ok_or_else(|| AppError::Internal("the edited record did not read back".into()))?;
    edited.id = record.id;
    edited.version = record.version;
    edited.hand_radiograph.id = record.hand_radiograph.id;
    edited.ct.id = record.ct.id;
    Ok(edited)
}

fn csv_bytes(table: &TextTable) -> Vec<u8> {
    let line = |cells: &[String]| -> String {
        cells
            .iter()
            .map(|c| format!("\"{}\"", c.replace('"', "\"\"")))
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut text = line(&table.columns);
    for row in &table.rows {
        text.push('\n');
        text.push_str(&line(row));
    }
    text.push('\n');
    text.into_bytes()
}
