//! A bundle's text tables split into store records, and joined back.
//!
//! Import keeps every cell: the patients row goes into the patient record
//! (its exam columns into the two exams), every readings row into the
//! findings of the reading of its patient, exam and reader. Export joins
//! them back in the study's own column order, so a round trip gives the
//! same tables, unknown columns included.

use std::collections::HashMap;

use sclerad_bundle::{TableRows, TextSource, TextTable, TextTables};

use sha2::{Digest, Sha256};

use crate::types::{
    Exam, Modality, NewAssignment, PatientRecord, Reading, ReadingKind, StudyColumns,
};
use crate::ImportSummary;

/// Patients columns held by the exams rather than the patient record.
pub const EXAM_COLUMNS: [&str; 4] = ["hand_xray_date", "ct_date", "ct_type", "ct_levels"];

/// The columns of the readings tables that identify the reading.
const READING_KEYS: [&str; 2] = ["patient_id", "reader"];

/// Everything an import writes, handed out in batches: the records are
/// made from the bundle's text a batch at a time, so an import never holds
/// all of them (a 100,000-patient bundle has 600,000 readings).
pub struct StudyImport<'a> {
    /// Column layout.
    pub columns: StudyColumns,
    source: TextSource<'a>,
    /// Readings in order of first appearance.
    readings: Vec<ReadingRows>,
}

/// One reading of the import: which table, its kind, and its rows there.
struct ReadingRows {
    modality: Modality,
    kind: ReadingKind,
    rows: Vec<u32>,
}

fn cell<'a, S: AsRef<str>>(columns: &[String], row: &'a [S], name: &str) -> Option<&'a str> {
    let i = columns.iter().position(|c| c == name)?;
    row.get(i).map(AsRef::as_ref).filter(|v| !v.is_empty())
}

impl<'a> StudyImport<'a> {
    /// The records of the tables of a valid bundle (every readings row
    /// names a patient of the patients table; a stray one fails the
    /// import).
    pub fn from_tables(tables: &'a TextTables) -> Self {
        StudyImport::new(TextSource::held(tables))
    }

    /// The records of a valid cohort, its text rendered a row at a time as
    /// [`TextTables::of`] would.
    pub fn from_cohort(cohort: &'a sclerad_model::Cohort) -> Self {
        StudyImport::new(TextSource::of(cohort))
    }

    fn new(source: TextSource<'a>) -> Self {
        let mut readings: Vec<ReadingRows> = Vec::new();
        let tables_of = [
            (Modality::HandRadiograph, &source.hand_readings),
            (Modality::Ct, &source.spine_readings),
        ];
        let rows: usize = tables_of
            .iter()
            .filter_map(|(_, t)| t.as_ref().map(TableRows::len))
            .sum();
        // A reading's rows are most often consecutive: the reading of the
        // row before is tried first, and the index only when it differs.
        let mut index: HashMap<(Modality, &'a str, &'a str), usize> =
            HashMap::with_capacity(rows / 2);
        for (modality, table) in tables_of {
            let Some(t) = table else { continue };
            let mut last: Option<((&str, &str), usize)> = None;
            for i in 0..t.len() {
                let Some(key) = t.reading_key(i) else { break };
                let at = match last {
                    Some((k, at)) if k == key => at,
                    _ => *index.entry((modality, key.0, key.1)).or_insert_with(|| {
                        let named = key.1;
                        // An exported repeat reading comes back as a repeat reading.
                        let kind = match sclerad_model::repeat_of(named) {
                            Some(_) => ReadingKind::Repeat,
                            None if sclerad_model::is_consensus(named) => ReadingKind::Consensus,
                            None => ReadingKind::Imported,
                        };
                        readings.push(ReadingRows {
                            modality,
                            kind,
                            rows: Vec::new(),
                        });
                        readings.len() - 1
                    }),
                };
                last = Some((key, at));
                readings[at].rows.push(u32::try_from(i).unwrap_or(u32::MAX));
            }
        }
        StudyImport {
            columns: StudyColumns {
                patients: source.patients.columns().to_vec(),
                hand_readings: source.hand_readings.as_ref().map(|t| t.columns().to_vec()),
                spine_readings: source.spine_readings.as_ref().map(|t| t.columns().to_vec()),
            },
            source,
            readings,
        }
    }

    /// How many patients.
    pub fn patient_count(&self) -> usize {
        self.source.patients.len()
    }

    /// Patients `range` in file order (ids and versions 0): the records of
    /// [`StudyImport::patients_as_written`].
    pub fn patients(&self, range: std::ops::Range<usize>) -> Vec<PatientRecord> {
        let exam = |modality, date, ct_type, ct_levels| Exam {
            id: 0,
            modality,
            date,
            ct_type,
            ct_levels,
        };
        self.patients_as_written(range)
            .into_iter()
            .map(|p| PatientRecord {
                id: 0,
                patient_id: p.patient_id,
                // The JSON was written from these cells a moment ago.
                cells: serde_json::from_str(&p.cells).unwrap_or_default(),
                hand_radiograph: exam(Modality::HandRadiograph, p.hand_date, None, None),
                ct: exam(Modality::Ct, p.ct_date, p.ct_type, p.ct_levels),
                version: 0,
            })
            .collect()
    }

    /// The patients' ids, in file order.
    pub fn patient_ids(&self) -> Vec<String> {
        let p = &self.source.patients;
        (0..p.len())
            .map(|i| {
                let row = p.row(i);
                cell(p.columns(), &row, "patient_id")
                    .unwrap_or_default()
                    .to_string()
            })
            .collect()
    }

    /// Each reading's patient, exam and reader (without `#repeat`), and
    /// whether it is a repeat reading, in order of first appearance.
    pub fn reading_keys(&self) -> Vec<(String, Modality, String, bool)> {
        let mut row = Vec::new();
        self.readings
            .iter()
            .filter_map(|r| {
                let table = match r.modality {
                    Modality::HandRadiograph => self.source.hand_readings.as_ref()?,
                    Modality::Ct => self.source.spine_readings.as_ref()?,
                };
                table.cells(*r.rows.first()? as usize, &mut row);
                let patient = cell(table.columns(), &row, "patient_id").unwrap_or_default();
                let named = cell(table.columns(), &row, "reader").unwrap_or_default();
                let reader = sclerad_model::repeat_of(named).unwrap_or(named);
                Some((
                    patient.to_string(),
                    r.modality,
                    reader.to_string(),
                    r.kind == ReadingKind::Repeat,
                ))
            })
            .collect()
    }

    /// How many readings.
    pub fn reading_count(&self) -> usize {
        self.readings.len()
    }

    /// Patients `range` as the store writes them: [`StudyImport::patients`]
    /// with the cells already as their JSON text (exactly
    /// [`crate::codec::to_json`] of the record's cells), made without
    /// building the cells.
    pub fn patients_as_written(&self, range: std::ops::Range<usize>) -> Vec<WrittenPatient> {
        let p = &self.source.patients;
        let mut skip: Vec<&str> = vec!["patient_id"];
        skip.extend(EXAM_COLUMNS);
        let order = JsonOrder::new(p.columns(), &skip);
        range
            .filter(|i| *i < p.len())
            .map(|i| {
                let row = p.row(i);
                let get = |name| cell(p.columns(), &row, name).map(String::from);
                WrittenPatient {
                    patient_id: get("patient_id").unwrap_or_default(),
                    hand_date: get("hand_xray_date"),
                    ct_date: get("ct_date"),
                    ct_type: get("ct_type"),
                    ct_levels: get("ct_levels"),
                    cells: {
                        let mut out = Vec::with_capacity(256);
                        order.write(&mut out, &row);
                        String::from_utf8(out).unwrap_or_default()
                    },
                }
            })
            .collect()
    }

    /// Readings `range` as the store writes them: [`StudyImport::readings`]
    /// with the findings already as their JSON text (exactly
    /// [`crate::codec::to_json`] of the reading's findings).
    pub fn readings_as_written(&self, range: std::ops::Range<usize>) -> Vec<WrittenReading> {
        let orders = [
            self.source
                .hand_readings
                .as_ref()
                .map(|t| JsonOrder::new(t.columns(), &READING_KEYS)),
            self.source
                .spine_readings
                .as_ref()
                .map(|t| JsonOrder::new(t.columns(), &READING_KEYS)),
        ];
        let mut row = Vec::new();
        range
            .filter_map(|i| self.readings.get(i))
            .filter_map(|r| {
                let (table, order) = match r.modality {
                    Modality::HandRadiograph => {
                        (self.source.hand_readings.as_ref()?, orders[0].as_ref()?)
                    }
                    Modality::Ct => (self.source.spine_readings.as_ref()?, orders[1].as_ref()?),
                };
                let mut patient_id = String::new();
                let mut reader = String::new();
                let mut out = Vec::with_capacity(64 * r.rows.len() + 2);
                out.push(b'[');
                for (n, at) in r.rows.iter().enumerate() {
                    table.cells(*at as usize, &mut row);
                    if n == 0 {
                        patient_id = cell(table.columns(), &row, "patient_id")
                            .unwrap_or_default()
                            .into();
                        let named = cell(table.columns(), &row, "reader").unwrap_or_default();
                        reader = sclerad_model::repeat_of(named).unwrap_or(named).into();
                    } else {
                        out.push(b',');
                    }
                    order.write(&mut out, &row);
                }
                out.push(b']');
                Some(WrittenReading {
                    patient_id,
                    modality: r.modality,
                    reader,
                    kind: r.kind,
                    findings: String::from_utf8(out).unwrap_or_default(),
                })
            })
            .collect()
    }

    /// Readings `range`, in order of first appearance (ids 0): each row of a
    /// readings table is a finding of the reading of its patient, exam and
    /// reader. The records of [`StudyImport::readings_as_written`].
    pub fn readings(&self, range: std::ops::Range<usize>) -> Vec<Reading> {
        self.readings_as_written(range)
            .into_iter()
            .map(|r| Reading {
                id: 0,
                exam_id: 0,
                patient_id: r.patient_id,
                modality: r.modality,
                reader: r.reader,
                kind: r.kind,
                // The JSON was written from these findings a moment ago.
                findings: Some(serde_json::from_str(&r.findings).unwrap_or_default()),
                version: 0,
            })
            .collect()
    }
}

/// A patient of an import as the store writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenPatient {
    /// The study's patient identifier.
    pub patient_id: String,
    /// The hand radiograph's date.
    pub hand_date: Option<String>,
    /// The CT's date.
    pub ct_date: Option<String>,
    /// The CT's type.
    pub ct_type: Option<String>,
    /// The CT's levels.
    pub ct_levels: Option<String>,
    /// The record's cells, as JSON.
    pub cells: String,
}

/// A reading of an import as the store writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenReading {
    /// Whose.
    pub patient_id: String,
    /// Which exam.
    pub modality: Modality,
    /// Who read it (without `#repeat`).
    pub reader: String,
    /// What kind of reading.
    pub kind: ReadingKind,
    /// The findings, as JSON.
    pub findings: String,
}

/// Writes a row's cells as the JSON object serde writes of the cells' map
/// (what [`cells_of`] collects): the non-empty cells of the columns not
/// skipped, keys in byte order, a name written twice keeping its last
/// non-empty cell.
struct JsonOrder {
    /// Column names in byte order, each with its positions in the row.
    keys: Vec<(String, Vec<usize>)>,
}

impl JsonOrder {
    fn new(columns: &[String], skip: &[&str]) -> Self {
        let mut keys: Vec<(String, Vec<usize>)> = Vec::new();
        for (i, c) in columns.iter().enumerate() {
            if skip.contains(&c.as_str()) {
                continue;
            }
            match keys.iter_mut().find(|(name, _)| name == c) {
                Some((_, at)) => at.push(i),
                None => keys.push((c.clone(), vec![i])),
            }
        }
        keys.sort_by(|a, b| a.0.cmp(&b.0));
        JsonOrder { keys }
    }

    fn write<S: AsRef<str>>(&self, out: &mut Vec<u8>, row: &[S]) {
        out.push(b'{');
        let mut first = true;
        for (name, at) in &self.keys {
            let Some(value) = at
                .iter()
                .rev()
                .filter_map(|i| row.get(*i).map(AsRef::as_ref))
                .find(|v| !v.is_empty())
            else {
                continue;
            };
            if !std::mem::take(&mut first) {
                out.push(b',');
            }
            // Writing a string into a Vec cannot fail.
            let _ = serde_json::to_writer(&mut *out, name);
            out.push(b':');
            let _ = serde_json::to_writer(&mut *out, value);
        }
        out.push(b'}');
    }
}

/// What the audit trail records of an import: the study, the counts and a
/// SHA-256 of every record imported, fed a record at a time.
#[derive(Default)]
pub struct ImportDigest(Sha256);

impl ImportDigest {
    /// Takes in one record, as the text of its fields (each patient before
    /// any reading): each field's length, then the field.
    pub fn record(&mut self, fields: &[Option<&str>]) {
        for field in fields {
            match field {
                Some(text) => {
                    self.0.update((text.len() as u64).to_le_bytes());
                    self.0.update(text.as_bytes());
                }
                None => self.0.update(u64::MAX.to_le_bytes()),
            }
        }
        self.0.update(b"\n");
    }

    /// The event's record.
    pub fn finish(self, columns: &StudyColumns, summary: &ImportSummary) -> serde_json::Value {
        serde_json::json!({
            "name": summary.study.name,
            "columns": columns,
            "patients": summary.patients,
            "readings": summary.readings,
            "records_sha256": sclerad_model::hex(&self.0.finalize()),
        })
    }
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
        let mut columns: Vec<String> = stored.clone().unwrap_or_else(|| {
            default
                .iter()
                .filter(|c| !sclerad_model::MARK_COLUMNS.contains(c))
                .map(|c| c.to_string())
                .collect()
        });
        // Marks made on the server's images (version 2 columns), when the
        // imported bundle had none.
        for mark in sclerad_model::MARK_COLUMNS {
            if !columns.iter().any(|c| c == mark)
                && rows
                    .iter()
                    .any(|r| r.findings.iter().flatten().any(|f| f.contains_key(*mark)))
            {
                columns.push(mark.to_string());
            }
        }
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

    fn sample() -> TextTables {
        TextTables {
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
        }
    }

    #[test]
    fn tables_split_and_join_back_unchanged() {
        let tables = sample();
        let import = StudyImport::from_tables(&tables);
        let (patients, readings) = (import.patients(0..9), import.readings(0..9));
        assert_eq!(patients.len(), 2);
        assert_eq!(readings.len(), 2);
        assert_eq!(readings[0].findings.as_ref().map(Vec::len), Some(2));
        assert_eq!(patients[0].ct.ct_type.as_deref(), Some("thoracic"));
        assert!(!patients[0].cells.contains_key("ct_type"));
        // Batches are the whole, cut.
        assert_eq!(import.readings(1..2), readings[1..2]);

        let back = to_tables(&import.columns, &patients, &readings);
        assert_eq!(back.patients, tables.patients);
        // Rows of one reading come back together, in their order.
        let hand = back.hand_readings.expect("hand table");
        assert_eq!(hand.rows[0][4], "calcinosis");
        assert_eq!(hand.rows[1][4], "acro_osteolysis");
        assert_eq!(hand.rows[2][4], "none");
        assert_eq!(hand.rows[0][6], "n1");
        assert!(back.spine_readings.is_none());
    }

    /// The JSON written straight from the text is the store's canonical
    /// JSON of the records it stands for (keys in order, the last cell of
    /// a repeated name, escapes): what `to_json` writes of them.
    #[test]
    fn records_as_written_are_their_json() {
        let mut tables = sample();
        // A name written twice, a cell needing escapes.
        tables.patients.columns.push("site_note".into());
        for (i, row) in tables.patients.rows.iter_mut().enumerate() {
            row.push(if i == 0 {
                String::new()
            } else {
                "\"é\"\n".into()
            });
        }
        let import = StudyImport::from_tables(&tables);
        let written = import.patients_as_written(0..9);
        for (p, w) in import.patients(0..9).iter().zip(&written) {
            assert_eq!(w.cells, crate::codec::to_json(&p.cells).expect("json"));
            assert_eq!(w.patient_id, p.patient_id);
            assert_eq!(
                (&w.hand_date, &w.ct_date, &w.ct_type, &w.ct_levels),
                (
                    &p.hand_radiograph.date,
                    &p.ct.date,
                    &p.ct.ct_type,
                    &p.ct.ct_levels
                )
            );
        }
        assert_eq!(written.len(), 2);
        let readings = import.readings(0..9);
        let written = import.readings_as_written(0..9);
        assert_eq!(written.len(), readings.len());
        for (r, w) in readings.iter().zip(&written) {
            assert_eq!(
                Some(w.findings.clone()),
                r.findings
                    .as_ref()
                    .map(|f| crate::codec::to_json(f).expect("json"))
            );
            assert_eq!(
                (&w.patient_id, w.modality, &w.reader, w.kind),
                (&r.patient_id, r.modality, &r.reader, r.kind)
            );
        }
    }

    /// Readings are grouped alike whether the text is held or rendered
    /// from the cohort, a reading's rows apart (P1, P2, P1) included.
    #[test]
    fn a_cohort_and_its_tables_give_the_same_readings() {
        let tables = sample();
        let loaded =
            sclerad_bundle::read_text_tables(&tables, &sclerad_bundle::ReadOptions::default());
        let (held, rendered) = (
            StudyImport::from_tables(&tables),
            StudyImport::from_cohort(&loaded.cohort),
        );
        assert_eq!(rendered.reading_count(), 2);
        assert_eq!(
            held.readings(0..held.reading_count()),
            rendered.readings(0..rendered.reading_count())
        );
        let hand = tables.hand_readings.as_ref().expect("hand");
        let rows = TextSource::held(&tables);
        let keys: Vec<_> = (0..=hand.rows.len())
            .map(|i| rows.hand_readings.as_ref().and_then(|t| t.reading_key(i)))
            .collect();
        assert_eq!(
            keys,
            [
                Some(("P1", "a")),
                Some(("P2", "a")),
                Some(("P1", "a")),
                None
            ]
        );
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
        let readings = import.readings(0..import.reading_count());
        let kinds: Vec<(&str, ReadingKind)> = readings
            .iter()
            .map(|r| (r.reader.as_str(), r.kind))
            .collect();
        assert_eq!(
            kinds,
            [("ana", ReadingKind::Imported), ("ana", ReadingKind::Repeat)]
        );
        let back = to_tables(&import.columns, &import.patients(0..1), &readings);
        assert_eq!(back.hand_readings, tables.hand_readings);
    }
}
