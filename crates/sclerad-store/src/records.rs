//! A bundle's text tables split into store records, and joined back.
//!
//! Import keeps every cell: the patients row goes into the patient record
//! (its exam columns into the two exams), every readings row into the
//! findings of the reading of its patient, exam and reader. Export joins
//! them back in the study's own column order, so a round trip gives the
//! same tables, unknown columns included.

use std::collections::HashMap;

use sclerad_bundle::{TextTable, TextTables};

use sha2::{Digest, Sha256};

use crate::types::{
    Cells, Exam, Modality, NewAssignment, PatientRecord, Reading, ReadingKind, StudyColumns,
};
use crate::ImportSummary;

/// Patients columns held by the exams rather than the patient record.
pub const EXAM_COLUMNS: [&str; 4] = ["hand_xray_date", "ct_date", "ct_type", "ct_levels"];

/// The columns of the readings tables that identify the reading.
const READING_KEYS: [&str; 2] = ["patient_id", "reader"];

/// Everything an import writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StudyImport {
    /// Column layout.
    pub columns: StudyColumns,
    /// Patients in file order (ids and versions 0).
    pub patients: Vec<PatientRecord>,
    /// Readings in order of first appearance (ids 0).
    pub readings: Vec<Reading>,
}

fn cells_of(columns: &[String], row: &[String], skip: &[&str]) -> Cells {
    columns
        .iter()
        .zip(row)
        .filter(|(c, v)| !v.is_empty() && !skip.contains(&c.as_str()))
        .map(|(c, v)| (c.clone(), v.clone()))
        .collect()
}

fn cell<'a>(columns: &[String], row: &'a [String], name: &str) -> Option<&'a str> {
    let i = columns.iter().position(|c| c == name)?;
    row.get(i).map(String::as_str).filter(|v| !v.is_empty())
}

impl StudyImport {
    /// Splits the tables of a valid bundle (every readings row names a
    /// patient of the patients table) into records.
    pub fn from_tables(tables: &TextTables) -> Self {
        let p = &tables.patients;
        let mut skip: Vec<&str> = vec!["patient_id"];
        skip.extend(EXAM_COLUMNS);
        let patients = p
            .rows
            .iter()
            .map(|row| {
                let get = |name| cell(&p.columns, row, name).map(String::from);
                PatientRecord {
                    id: 0,
                    patient_id: get("patient_id").unwrap_or_default(),
                    cells: cells_of(&p.columns, row, &skip),
                    hand_radiograph: Exam {
                        id: 0,
                        modality: Modality::HandRadiograph,
                        date: get("hand_xray_date"),
                        ct_type: None,
                        ct_levels: None,
                    },
                    ct: Exam {
                        id: 0,
                        modality: Modality::Ct,
                        date: get("ct_date"),
                        ct_type: get("ct_type"),
                        ct_levels: get("ct_levels"),
                    },
                    version: 0,
                }
            })
            .collect();

        let mut readings: Vec<Reading> = Vec::new();
        let mut index: HashMap<(Modality, String, String), usize> = HashMap::new();
        let tables_of = [
            (Modality::HandRadiograph, &tables.hand_readings),
            (Modality::Ct, &tables.spine_readings),
        ];
        for (modality, table) in tables_of {
            let Some(t) = table else { continue };
            for row in &t.rows {
                let patient_id = cell(&t.columns, row, "patient_id").unwrap_or_default();
                let named = cell(&t.columns, row, "reader").unwrap_or_default();
                // An exported repeat reading comes back as a repeat reading.
                let (reader, repeat) = match sclerad_model::repeat_of(named) {
                    Some(base) => (base, true),
                    None => (named, false),
                };
                let key = (modality, patient_id.to_string(), named.to_string());
                let at = *index.entry(key).or_insert_with(|| {
                    readings.push(Reading {
                        id: 0,
                        exam_id: 0,
                        patient_id: patient_id.into(),
                        modality,
                        reader: reader.into(),
                        kind: if repeat {
                            ReadingKind::Repeat
                        } else if sclerad_model::is_consensus(reader) {
                            ReadingKind::Consensus
                        } else {
                            ReadingKind::Imported
                        },
                        findings: Some(Vec::new()),
                        version: 0,
                    });
                    readings.len() - 1
                });
                if let Some(f) = readings[at].findings.as_mut() {
                    f.push(cells_of(&t.columns, row, &READING_KEYS));
                }
            }
        }

        StudyImport {
            columns: StudyColumns {
                patients: p.columns.clone(),
                hand_readings: tables.hand_readings.as_ref().map(|t| t.columns.clone()),
                spine_readings: tables.spine_readings.as_ref().map(|t| t.columns.clone()),
            },
            patients,
            readings,
        }
    }
}

/// What the audit trail records of an import: the study, the counts and a
/// SHA-256 of every imported record, so the imported content can be proven
/// later from an export without storing it twice.
pub fn import_digest(import: &StudyImport, summary: &ImportSummary) -> serde_json::Value {
    let mut hasher = Sha256::new();
    for p in &import.patients {
        hasher.update(serde_json::to_string(p).unwrap_or_default().as_bytes());
        hasher.update(b"\n");
    }
    for r in &import.readings {
        hasher.update(serde_json::to_string(r).unwrap_or_default().as_bytes());
        hasher.update(b"\n");
    }
    let digest = sclerad_model::hex(&hasher.finalize());
    serde_json::json!({
        "name": summary.study.name,
        "columns": import.columns,
        "patients": summary.patients,
        "readings": summary.readings,
        "records_sha256": digest,
    })
}

/// What the audit trail records of a batch of assignments.
pub fn assignment_digest(assignments: &[NewAssignment]) -> serde_json::Value {
    serde_json::Value::Array(
        assignments
            .iter()
            .map(|a| {
                serde_json::json!({
                    "exam_id": a.exam_id,
                    "reader_id": a.reader_id,
                    "code": a.code,
                    "position": a.position,
                    "kind": a.kind,
                })
            })
            .collect(),
    )
}

/// The reader name a reading is exported under: a repeat reading keeps its
/// reader's name with `#repeat`, so it stays apart from the first reading
/// (and is read back as a repeat reading on import).
pub fn export_reader(reading: &Reading) -> String {
    match reading.kind {
        ReadingKind::Repeat => format!("{}{}", reading.reader, sclerad_model::REPEAT_SUFFIX),
        _ => reading.reader.clone(),
    }
}

/// A study's records typed as its export would be read
/// ([`to_tables`], then [`sclerad_bundle::read_text_tables`]): the cohort,
/// with the problems a validation of the export would start from.
pub fn read_study(
    columns: &StudyColumns,
    patients: &[PatientRecord],
    readings: &[Reading],
) -> sclerad_bundle::Loaded {
    let tables = to_tables(columns, patients, readings);
    sclerad_bundle::read_text_tables(&tables, &sclerad_bundle::ReadOptions::default())
}

/// Joins stored records back into a bundle's tables. Unread assignments
/// (no findings yet) are left out.
pub fn to_tables(
    columns: &StudyColumns,
    patients: &[PatientRecord],
    readings: &[Reading],
) -> TextTables {
    let pc = &columns.patients;
    let patient_rows = patients
        .iter()
        .map(|p| {
            pc.iter()
                .map(|c| {
                    let v = match c.as_str() {
                        "patient_id" => Some(&p.patient_id),
                        "hand_xray_date" => p.hand_radiograph.date.as_ref(),
                        "ct_date" => p.ct.date.as_ref(),
                        "ct_type" => p.ct.ct_type.as_ref(),
                        "ct_levels" => p.ct.ct_levels.as_ref(),
                        other => p.cells.get(other),
                    };
                    v.cloned().unwrap_or_default()
                })
                .collect()
        })
        .collect();

    let readings_table = |modality: Modality, stored: &Option<Vec<String>>, default: &[&str]| {
        let rows: Vec<&Reading> = readings
            .iter()
            .filter(|r| r.modality == modality && r.findings.is_some())
            .collect();
        if stored.is_none() && rows.is_empty() {
            return None;
        }
        let columns = stored
            .clone()
            .unwrap_or_else(|| default.iter().map(|c| c.to_string()).collect());
        let mut out = Vec::new();
        for r in rows {
            let reader = export_reader(r);
            for f in r.findings.iter().flatten() {
                out.push(
                    columns
                        .iter()
                        .map(|c| match c.as_str() {
                            "patient_id" => r.patient_id.clone(),
                            "reader" => reader.clone(),
                            other => f.get(other).cloned().unwrap_or_default(),
                        })
                        .collect(),
                );
            }
        }
        Some(TextTable { columns, rows: out })
    };

    TextTables {
        patients: TextTable {
            columns: pc.clone(),
            rows: patient_rows,
        },
        hand_readings: readings_table(
            Modality::HandRadiograph,
            &columns.hand_readings,
            sclerad_model::HandColumn::CODES,
        ),
        spine_readings: readings_table(
            Modality::Ct,
            &columns.spine_readings,
            sclerad_model::SpineColumn::CODES,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(columns: &[&str], rows: &[&[&str]]) -> TextTable {
        TextTable {
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows: rows
                .iter()
                .map(|r| r.iter().map(|c| c.to_string()).collect())
                .collect(),
        }
    }

    #[test]
    fn tables_split_and_join_back_unchanged() {
        let tables = TextTables {
            patients: table(
                &[
                    "patient_id",
                    "sex",
                    "ct_type",
                    "hand_xray_date",
                    "site_note",
                ],
                &[
                    &["P1", "female", "thoracic", "2019-01-02", "x"],
                    &["P2", "male", "", "", ""],
                ],
            ),
            hand_readings: Some(table(
                &[
                    "patient_id",
                    "reader",
                    "side",
                    "site",
                    "lesion",
                    "grade",
                    "note",
                ],
                &[
                    &["P1", "a", "left", "tuft_d1", "calcinosis", "", "n1"],
                    &["P2", "a", "", "", "none", "", ""],
                    &["P1", "a", "right", "tuft_d2", "acro_osteolysis", "2", ""],
                ],
            )),
            spine_readings: None,
        };
        let import = StudyImport::from_tables(&tables);
        assert_eq!(import.patients.len(), 2);
        assert_eq!(import.readings.len(), 2);
        assert_eq!(import.readings[0].findings.as_ref().map(Vec::len), Some(2));
        assert_eq!(import.patients[0].ct.ct_type.as_deref(), Some("thoracic"));
        assert!(!import.patients[0].cells.contains_key("ct_type"));

        let back = to_tables(&import.columns, &import.patients, &import.readings);
        assert_eq!(back.patients, tables.patients);
        // Rows of one reading come back together, in their order.
        let hand = back.hand_readings.expect("hand table");
        assert_eq!(hand.rows[0][4], "calcinosis");
        assert_eq!(hand.rows[1][4], "acro_osteolysis");
        assert_eq!(hand.rows[2][4], "none");
        assert_eq!(hand.rows[0][6], "n1");
        assert!(back.spine_readings.is_none());
    }

    #[test]
    fn repeat_readings_come_back_as_repeats() {
        let tables = TextTables {
            patients: table(&["patient_id", "sex"], &[&["P1", "female"]]),
            hand_readings: Some(table(
                &["patient_id", "reader", "side", "site", "lesion", "grade"],
                &[
                    &["P1", "ana", "", "", "none", ""],
                    &["P1", "ana#repeat", "left", "tuft_d1", "calcinosis", ""],
                ],
            )),
            spine_readings: None,
        };
        let import = StudyImport::from_tables(&tables);
        let kinds: Vec<(&str, ReadingKind)> = import
            .readings
            .iter()
            .map(|r| (r.reader.as_str(), r.kind))
            .collect();
        assert_eq!(
            kinds,
            [("ana", ReadingKind::Imported), ("ana", ReadingKind::Repeat)]
        );
        let back = to_tables(&import.columns, &import.patients, &import.readings);
        assert_eq!(back.hand_readings, tables.hand_readings);
    }
}
