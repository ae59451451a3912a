//! One file on its way into a study: read, matched to a study patient and
//! exam by the data manager's map, checked against the bundle's exam date,
//! de-identified, and written out as the bytes to store. What is decided
//! here is the same for `sclerad images import` (files, folders, zips) and
//! `sclerad images listen` (a PACS pushing): only where the bytes come
//! from differs.
//!
//! The map has one row per source patient (`dicom_patient_id` →
//! `patient_id`), optionally narrowed to one accession number and naming
//! the exam; several source identifiers may lead to one study patient
//! (two hospitals, a renumbered archive). The date shift and the
//! pseudonym belong to the study patient.

use std::collections::HashMap;

use chrono::NaiveDate;
use dicom_dictionary_std::tags;
use dicom_object::{FileDicomObject, InMemDicomObject};

use crate::deid::{deidentify, source_of, text, Options, Outcome, Source, StudySecret};
use crate::{read, Read};

/// The two exams of a study patient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExamKind {
    /// The hand radiograph (`hand_xray_date` in the bundle).
    HandRadiograph,
    /// The CT (`ct_date`).
    Ct,
}

impl ExamKind {
    /// The code in maps and reports: `hand_radiograph` or `ct`.
    pub fn code(self) -> &'static str {
        match self {
            ExamKind::HandRadiograph => "hand_radiograph",
            ExamKind::Ct => "ct",
        }
    }

    /// The kind from its [`ExamKind::code`].
    pub fn parse(code: &str) -> Option<ExamKind> {
        match code.trim().to_ascii_lowercase().as_str() {
            "hand_radiograph" => Some(ExamKind::HandRadiograph),
            "ct" => Some(ExamKind::Ct),
            _ => None,
        }
    }

    /// The bundle column holding the exam's date.
    pub fn date_column(self) -> &'static str {
        match self {
            ExamKind::HandRadiograph => "hand_xray_date",
            ExamKind::Ct => "ct_date",
        }
    }
}

/// What the study knows of a patient that an intake checks against.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExamDates {
    /// The bundle's `hand_xray_date`.
    pub hand_radiograph: Option<NaiveDate>,
    /// The bundle's `ct_date`.
    pub ct: Option<NaiveDate>,
}

impl ExamDates {
    fn of(&self, exam: ExamKind) -> Option<NaiveDate> {
        match exam {
            ExamKind::HandRadiograph => self.hand_radiograph,
            ExamKind::Ct => self.ct,
        }
    }
}

/// A problem of the map file, at a row (1 = the header) and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapProblem {
    /// The row, counting the header as row 1.
    pub row: Option<usize>,
    /// The column.
    pub column: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for MapProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.row, &self.column) {
            (Some(r), Some(c)) => write!(f, "row {r}, column {c}: {}", self.message),
            (Some(r), None) => write!(f, "row {r}: {}", self.message),
            (None, Some(c)) => write!(f, "column {c}: {}", self.message),
            (None, None) => f.write_str(&self.message),
        }
    }
}

#[derive(Debug, Clone)]
struct Entry {
    row: usize,
    patient_id: String,
    accession: Option<String>,
    exam: Option<ExamKind>,
}

/// Where an instance goes in the study.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The study patient.
    pub patient_id: String,
    /// The exam.
    pub exam: ExamKind,
}

/// The data manager's map from source patients to study patients.
#[derive(Debug, Clone, Default)]
pub struct Map {
    by_source: HashMap<String, Vec<Entry>>,
}

/// The map's columns.
pub const MAP_COLUMNS: &[&str] = &["dicom_patient_id", "patient_id", "accession_number", "exam"];

impl Map {
    /// The map from a table (`header`, then `(row number, cells)`), each
    /// study patient checked with `known`. Every problem is reported, not
    /// only the first.
    pub fn from_table(
        header: &[String],
        rows: &[(usize, Vec<String>)],
        known: impl Fn(&str) -> bool,
    ) -> Result<Map, Vec<MapProblem>> {
        let mut problems = Vec::new();
        let column = |name: &str| {
            header
                .iter()
                .position(|h| h.trim().eq_ignore_ascii_case(name))
        };
        for h in header {
            if !MAP_COLUMNS.iter().any(|c| h.trim().eq_ignore_ascii_case(c)) {
                problems.push(MapProblem {
                    row: Some(1),
                    column: Some(h.clone()),
                    message: format!("unknown column (the map has {})", MAP_COLUMNS.join(", ")),
                });
            }
        }
        let (Some(source_col), Some(patient_col)) =
            (column("dicom_patient_id"), column("patient_id"))
        else {
            for name in ["dicom_patient_id", "patient_id"] {
                if column(name).is_none() {
                    problems.push(MapProblem {
                        row: Some(1),
                        column: Some(name.into()),
                        message: "the column is missing".into(),
                    });
                }
            }
            return Err(problems);
        };
        let accession_col = column("accession_number");
        let exam_col = column("exam");
        let mut map = Map::default();
        // (source, accession) → row, for duplicates.
        let mut seen: HashMap<(String, Option<String>), usize> = HashMap::new();
        for (row, cells) in rows {
            let cell = |i: Option<usize>| {
                i.and_then(|i| cells.get(i))
                    .map(|c| c.trim().to_string())
                    .filter(|c| !c.is_empty())
            };
            let problem = |column: &str, message: String| MapProblem {
                row: Some(*row),
                column: Some(column.into()),
                message,
            };
            let source = cell(Some(source_col));
            let patient = cell(Some(patient_col));
            let accession = cell(accession_col);
            let exam = match cell(exam_col) {
                None => None,
                Some(code) => match ExamKind::parse(&code) {
                    Some(kind) => Some(kind),
                    None => {
                        problems.push(problem(
                            "exam",
                            format!("{code:?} is not an exam: hand_radiograph or ct"),
                        ));
                        continue;
                    }
                },
            };
            let Some(source) = source else {
                problems.push(problem("dicom_patient_id", "empty".into()));
                continue;
            };
            let Some(patient) = patient else {
                problems.push(problem("patient_id", "empty".into()));
                continue;
            };
            if !known(&patient) {
                problems.push(problem(
                    "patient_id",
                    format!("{patient:?} is not a patient of the study"),
                ));
                continue;
            }
            if let Some(first) = seen.insert((source.clone(), accession.clone()), *row) {
                problems.push(problem(
                    "dicom_patient_id",
                    match &accession {
                        Some(a) => format!(
                            "{source:?} with accession number {a:?} is mapped already in row {first}"
                        ),
                        None => format!("{source:?} is mapped already in row {first}"),
                    },
                ));
                continue;
            }
            map.by_source.entry(source).or_default().push(Entry {
                row: *row,
                patient_id: patient,
                accession,
                exam,
            });
        }
        // A source patient is one person: every row of it names the same
        // study patient.
        for (source, entries) in &map.by_source {
            if let Some(other) = entries
                .iter()
                .find(|e| e.patient_id != entries[0].patient_id)
            {
                problems.push(MapProblem {
                    row: Some(other.row),
                    column: Some("patient_id".into()),
                    message: format!(
                        "{source:?} is mapped to {:?} in row {} and to {:?} here",
                        entries[0].patient_id, entries[0].row, other.patient_id
                    ),
                });
            }
        }
        if problems.is_empty() {
            Ok(map)
        } else {
            problems.sort_by_key(|p| p.row);
            Err(problems)
        }
    }

    /// Source patients in the map.
    pub fn len(&self) -> usize {
        self.by_source.len()
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.by_source.is_empty()
    }

    /// Where an instance with this source goes, or why it cannot go.
    pub fn route(&self, source: &Source) -> Result<Route, String> {
        let Some(id) = source.patient_id.as_deref() else {
            return Err("the instance has no Patient ID to match in the map".into());
        };
        let Some(entries) = self.by_source.get(id) else {
            return Err(format!("Patient ID {id:?} is not in the map"));
        };
        let accession = source.accession_number.as_deref();
        let entry = entries
            .iter()
            .find(|e| e.accession.is_some() && e.accession.as_deref() == accession)
            .or_else(|| entries.iter().find(|e| e.accession.is_none()));
        let Some(entry) = entry else {
            let listed: Vec<&str> = entries
                .iter()
                .filter_map(|e| e.accession.as_deref())
                .collect();
            return Err(format!(
                "Patient ID {id:?} is in the map only for accession numbers {}; this instance's is {}",
                listed.join(", "),
                accession.map_or("empty".to_string(), |a| format!("{a:?}"))
            ));
        };
        let exam = match entry.exam {
            Some(exam) => exam,
            None => recognise(source.modality.as_deref(), source.body_part.as_deref())
                .map_err(|why| format!("{why} (map row {})", entry.row))?,
        };
        Ok(Route {
            patient_id: entry.patient_id.clone(),
            exam,
        })
    }
}

/// The exam an instance shows, from its Modality and Body Part Examined,
/// when the map does not say.
pub fn recognise(modality: Option<&str>, body_part: Option<&str>) -> Result<ExamKind, String> {
    let modality = modality.unwrap_or("").trim().to_ascii_uppercase();
    let part = body_part.unwrap_or("").trim().to_ascii_uppercase();
    match modality.as_str() {
        "CT" => Ok(ExamKind::Ct),
        "CR" | "DX" | "RG" | "DR" => {
            if part.is_empty() || ["HAND", "HANDS", "FINGER", "WRIST"].contains(&part.as_str()) {
                Ok(ExamKind::HandRadiograph)
            } else {
                Err(format!(
                    "a {modality} radiograph of the {part} is not a hand radiograph: name its exam in the map"
                ))
            }
        }
        "" => Err("the instance has no Modality: name its exam in the map".into()),
        other => Err(format!(
            "modality {other} is neither a hand radiograph nor a CT: name its exam in the map"
        )),
    }
}

/// A de-identified instance, ready to store.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The study patient.
    pub patient_id: String,
    /// The exam.
    pub exam: ExamKind,
    /// The replaced SOP Instance UID.
    pub sop_instance_uid: String,
    /// The replaced Series Instance UID.
    pub series_uid: String,
    /// The SOP Class UID.
    pub sop_class_uid: String,
    /// The modality.
    pub modality: String,
    /// The Instance Number.
    pub instance_number: Option<i64>,
    /// The position along the slice normal (mm).
    pub position: Option<f64>,
    /// Rows, columns and frames of the pixel data.
    pub rows: i64,
    pub columns: i64,
    pub frames: i64,
    /// The quarantine reason overridden, if one was.
    pub overridden: Option<String>,
    /// The source's date less the bundle's exam date, in days (before
    /// any shift; `None` when either is missing).
    pub date_gap_days: Option<i64>,
    /// Its Body Part Examined, as a code (letters, digits, `_`, at most 16).
    pub body_part: Option<String>,
    /// The de-identified file.
    pub data: Vec<u8>,
    /// What the data manager should look at (an image date that is not
    /// the bundle's).
    pub warnings: Vec<String>,
}

/// What became of one file.
#[derive(Debug)]
pub enum Intake {
    /// De-identified, to store.
    Prepared(Box<Prepared>),
    /// Not stored (may show burned-in text): why, and whose it is.
    Quarantined { reason: String, route: Route },
    /// A DICOM file that cannot be taken in: why.
    Refused(String),
    /// Not an instance (not DICOM, a DICOMDIR): why.
    Skipped(String),
}

/// Takes files into one study.
pub struct Intaker<'a> {
    /// The map.
    pub map: &'a Map,
    /// The study's secret.
    pub secret: &'a StudySecret,
    /// The study's patients and their exam dates.
    pub patients: &'a HashMap<String, ExamDates>,
    /// What the data manager allows.
    pub options: Options,
}

impl Intaker<'_> {
    /// Takes in one file's bytes.
    pub fn bytes(&self, bytes: &[u8]) -> Intake {
        match read(bytes) {
            Read::Instance(file) => self.instance(&file),
            Read::Skipped(why) => Intake::Skipped(why),
            Read::Refused(why) => Intake::Refused(why),
        }
    }

    /// Takes in one instance.
    pub fn instance(&self, file: &FileDicomObject<InMemDicomObject>) -> Intake {
        let source = source_of(file);
        let route = match self.map.route(&source) {
            Ok(route) => route,
            Err(why) => return Intake::Refused(why),
        };
        let Some(dates) = self.patients.get(&route.patient_id) else {
            return Intake::Refused(format!(
                "patient {:?} of the map is not in the study",
                route.patient_id
            ));
        };
        if file.get(tags::PIXEL_DATA).is_none()
            && file.get(tags::FLOAT_PIXEL_DATA).is_none()
            && file.get(tags::DOUBLE_FLOAT_PIXEL_DATA).is_none()
        {
            return Intake::Refused("the instance has no pixel data: it is not an image".into());
        }
        let mut warnings = Vec::new();
        let date_gap_days = match (source.date, dates.of(route.exam)) {
            (Some(image), Some(bundle)) => Some((image - bundle).num_days()),
            _ => None,
        };
        match (source.date, dates.of(route.exam)) {
            (Some(image), Some(bundle)) if image != bundle => warnings.push(format!(
                "the image is dated {image} but the bundle's {} is {bundle}",
                route.exam.date_column()
            )),
            (Some(image), None) => warnings.push(format!(
                "the image is dated {image} but the bundle has no {}",
                route.exam.date_column()
            )),
            (None, _) => {
                warnings.push("the image has no study, series, acquisition or content date".into())
            }
            _ => {}
        }
        let subject = self.secret.subject(&route.patient_id);
        let (object, report) = match deidentify(file, self.secret, &subject, self.options) {
            Ok(Outcome::Stored { object, report }) => (object, report),
            Ok(Outcome::Quarantined { reason }) => return Intake::Quarantined { reason, route },
            Err(e) => return Intake::Refused(e.to_string()),
        };
        if let Some(why) = undecodable(&object) {
            warnings.push(why);
        }
        if !report.unreadable.is_empty() {
            warnings.push(format!(
                "values that could not be read were emptied: {}",
                report.unreadable.join(", ")
            ));
        }
        let number = |tag| object.get(tag).and_then(|e| e.value().to_int::<i64>().ok());
        let (Some(rows), Some(columns)) = (number(tags::ROWS), number(tags::COLUMNS)) else {
            return Intake::Refused("the instance has no Rows or Columns".into());
        };
        let mut data = Vec::new();
        if let Err(e) = object.write_all(&mut data) {
            return Intake::Refused(format!("cannot write the de-identified instance: {e}"));
        }
        let get = |tag| text(&object, tag).unwrap_or_default();
        Intake::Prepared(Box::new(Prepared {
            patient_id: route.patient_id,
            exam: route.exam,
            sop_instance_uid: get(tags::SOP_INSTANCE_UID),
            series_uid: get(tags::SERIES_INSTANCE_UID),
            sop_class_uid: get(tags::SOP_CLASS_UID),
            modality: get(tags::MODALITY),
            instance_number: number(tags::INSTANCE_NUMBER),
            position: crate::volume::slice_position(&object),
            rows,
            columns,
            frames: number(tags::NUMBER_OF_FRAMES).unwrap_or(1).max(1),
            overridden: report.override_reason,
            date_gap_days,
            body_part: source
                .body_part
                .as_deref()
                .map(|b| {
                    b.chars()
                        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ' ')
                        .take(16)
                        .collect::<String>()
                        .trim()
                        .to_ascii_uppercase()
                })
                .filter(|b| !b.is_empty()),
            data,
            warnings,
        }))
    }
}

/// Why this build cannot show the instance's pixels, if it cannot: its
/// transfer syntax needs a codec left out (JPEG 2000 behind the crate's
/// `jpeg2000` feature, JPEG-LS not available).
fn undecodable(file: &FileDicomObject<InMemDicomObject>) -> Option<String> {
    use dicom_encoding::transfer_syntax::TransferSyntaxIndex;
    let uid = file.meta().transfer_syntax().trim_end_matches('\0');
    match dicom_transfer_syntax_registry::TransferSyntaxRegistry.get(uid) {
        Some(ts) if ts.can_decode_all() => None,
        Some(ts) => Some(format!(
            "its pixel data ({}) cannot be decoded by this build: stored, but the viewer cannot show it \
             (build sclerad with the sclerad-dicom feature for that codec)",
            ts.name()
        )),
        None => Some(format!(
            "its transfer syntax {uid} is unknown to this build: stored, but the viewer cannot show it"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_syntax(ts: &str) -> FileDicomObject<InMemDicomObject> {
        let h = crate::synthetic::Hospital {
            patient_id: "H".into(),
            patient_name: "A^B".into(),
            birth_date: NaiveDate::from_ymd_opt(1950, 1, 1).expect("date"),
            sex: "F".into(),
            accession_number: "1".into(),
            institution: "I".into(),
            referring_physician: "R".into(),
            date: NaiveDate::from_ymd_opt(2017, 1, 1).expect("date"),
            seed: "s".into(),
        };
        let file = crate::synthetic::radiograph(&h, 2, 2, 0.5, &[0, 1, 2, 3], false);
        let meta = dicom_object::FileMetaTableBuilder::new()
            .media_storage_sop_class_uid(crate::synthetic::DX_CLASS)
            .media_storage_sop_instance_uid("2.25.1")
            .transfer_syntax(ts)
            .build()
            .expect("meta");
        file.into_inner().with_exact_meta(meta)
    }

    #[test]
    fn a_transfer_syntax_this_build_cannot_decode_is_named() {
        assert_eq!(undecodable(&with_syntax("1.2.840.10008.1.2.1")), None);
        if !cfg!(feature = "jpeg2000") {
            let why = undecodable(&with_syntax("1.2.840.10008.1.2.4.90")).expect("a warning");
            assert!(
                why.contains("JPEG 2000") && why.contains("viewer cannot show it"),
                "{why}"
            );
        }
        let why = undecodable(&with_syntax("1.2.3.4")).expect("a warning");
        assert!(why.contains("unknown"), "{why}");
    }
}
