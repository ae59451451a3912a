//! A bundle appended to a study: its rows put in the study's column layout
//! and validated together with the study's own, as one bundle, so that an
//! appended patient is checked against the study (a patient id already
//! there, a reading of a patient neither has) by the same rules as a file;
//! every problem is then located in the appended bundle's own files.

use std::collections::HashSet;

use sclerad_model::{
    cap_problems, validate, Location, Problem, Severity, TableName, ValidateOptions,
    PROBLEMS_PER_RULE,
};

use crate::{read_text_tables, Loaded, ReadOptions, TextTable, TextTables};
use crate::{HAND_READINGS, PATIENTS, SPINE_READINGS};

/// The appended bundle's rows in the study's layout, and the problems of
/// the two taken together.
#[derive(Debug, Clone)]
pub struct Appended {
    /// The rows to add, each table with exactly the study's columns.
    pub tables: TextTables,
    /// Every problem; those of an appended row name that row of the
    /// appended bundle's file, those of the study's own rows say so.
    pub problems: Vec<Problem>,
}

/// One table of the append: the study's, the added one, and where the
/// added one came from.
struct Part<'a> {
    /// `patients`, `hand_readings` or `spine_readings`.
    name: &'static str,
    study: Option<&'a TextTable>,
    added: Option<TextTable>,
    from: TableName,
}

/// `added` (a bundle as read by [`crate::read_bundle`]) appended to
/// `study` (the study's tables as exported), validated as one bundle.
///
/// The added bundle's own reading problems come first; a required column
/// its patients table lacks is not one of them, as its rows take the
/// study's columns and a value the rules require is then missing in the
/// rows themselves (a readings table needs its columns, as in any bundle). An
/// error in reading the added bundle stops there: its rows are not
/// checked against the study.
pub fn append(
    study: &TextTables,
    added: &Loaded,
    read: &ReadOptions,
    check: &ValidateOptions,
) -> Appended {
    let mut problems: Vec<Problem> = added
        .problems
        .iter()
        .filter(|p| {
            p.code != "missing-column" || p.location.file != added.cohort.patients_table.file
        })
        .cloned()
        .collect();
    let added = &added.cohort;
    let mut text = TextTables::of(added);
    let parts = [
        Part {
            name: PATIENTS,
            study: Some(&study.patients),
            added: Some(std::mem::replace(
                &mut text.patients,
                TextTable {
                    columns: Vec::new(),
                    rows: Vec::new(),
                },
            )),
            from: added.patients_table.clone(),
        },
        Part {
            name: HAND_READINGS,
            study: study.hand_readings.as_ref(),
            added: text.hand_readings.take(),
            from: added
                .hand_readings
                .as_ref()
                .map_or_else(|| TableName::file("hand_readings.csv"), |r| r.table.clone()),
        },
        Part {
            name: SPINE_READINGS,
            study: study.spine_readings.as_ref(),
            added: text.spine_readings.take(),
            from: added.spine_readings.as_ref().map_or_else(
                || TableName::file("spine_readings.csv"),
                |r| r.table.clone(),
            ),
        },
    ];
    let unreadable = problems.iter().any(|p| p.severity == Severity::Error);
    let patients = align(&parts[0], &mut problems);
    let hand = align(&parts[1], &mut problems);
    let spine = align(&parts[2], &mut problems);
    let tables = TextTables {
        patients: patients.unwrap_or_else(|| TextTable {
            columns: study.patients.columns.clone(),
            rows: Vec::new(),
        }),
        hand_readings: hand.or_else(|| {
            study.hand_readings.as_ref().map(|t| TextTable {
                columns: t.columns.clone(),
                rows: Vec::new(),
            })
        }),
        spine_readings: spine.or_else(|| {
            study.spine_readings.as_ref().map(|t| TextTable {
                columns: t.columns.clone(),
                rows: Vec::new(),
            })
        }),
    };
    // A bundle unreadable, or not in the study's layout, is not checked
    // against the study's rows.
    if unreadable || problems.iter().any(|p| p.severity == Severity::Error) {
        cap_problems(&mut problems, PROBLEMS_PER_RULE);
        return Appended { tables, problems };
    }

    // A reading already in the study is not appended again: a reading is
    // changed on the reading pages, where its history is kept.
    for (part, added) in parts[1..]
        .iter()
        .zip([&tables.hand_readings, &tables.spine_readings])
    {
        let (Some(existing), Some(added)) = (part.study, added) else {
            continue;
        };
        let key = |t: &TextTable| {
            let at = |name: &str| t.columns.iter().position(|c| c == name);
            at("patient_id").zip(at("reader"))
        };
        let (Some((p, r)), Some((ap, ar))) = (key(existing), key(added)) else {
            continue;
        };
        let held: HashSet<(&str, &str)> = existing
            .rows
            .iter()
            .filter_map(|row| Some((row.get(p)?.as_str(), row.get(r)?.as_str())))
            .collect();
        // One problem a reading, at its first row.
        let mut named = HashSet::new();
        for (i, row) in added.rows.iter().enumerate() {
            let (Some(patient), Some(reader)) = (row.get(ap), row.get(ar)) else {
                continue;
            };
            if held.contains(&(patient.as_str(), reader.as_str()))
                && named.insert((patient.as_str(), reader.as_str()))
            {
                problems.push(Problem::error(
                    "reading-in-study",
                    Location::cell(&part.from, data_row(i), "reader"),
                    format!(
                        "{reader}'s reading of patient {patient} is in the study already: appending adds readings, it does not change them (correct a reading on the reading pages)"
                    ),
                ));
            }
        }
    }

    // The study's rows, then the appended ones, read and validated as one.
    let counts = [
        study.patients.rows.len(),
        study.hand_readings.as_ref().map_or(0, |t| t.rows.len()),
        study.spine_readings.as_ref().map_or(0, |t| t.rows.len()),
    ];
    let joined = |s: Option<&TextTable>, a: &Option<TextTable>| -> Option<TextTable> {
        match (s, a) {
            (Some(s), Some(a)) => Some(TextTable {
                columns: s.columns.clone(),
                rows: s.rows.iter().chain(&a.rows).cloned().collect(),
            }),
            (Some(s), None) => Some(s.clone()),
            (None, _) => None,
        }
    };
    let merged = TextTables {
        patients: joined(Some(&study.patients), &Some(tables.patients.clone()))
            .unwrap_or_else(|| study.patients.clone()),
        hand_readings: joined(study.hand_readings.as_ref(), &tables.hand_readings),
        spine_readings: joined(study.spine_readings.as_ref(), &tables.spine_readings),
    };
    let loaded = read_text_tables(&merged, read);
    let validation = validate(&loaded.cohort, check);
    for mut problem in loaded.problems.into_iter().chain(validation.problems) {
        let table = parts
            .iter()
            .zip(counts)
            .find(|(part, _)| problem.location.file == format!("{}.csv", part.name));
        if let Some((part, study_rows)) = table {
            locate(&mut problem, part, study_rows);
        }
        problems.push(problem);
    }
    // A warning or note on the study's own rows was the importer's to
    // weigh; an error there would stop the append, so it is kept.
    problems.retain(|p| p.severity == Severity::Error || !p.location.file.starts_with(STUDY_ROWS));
    cap_problems(&mut problems, PROBLEMS_PER_RULE);
    Appended { tables, problems }
}

/// How the file of a problem at a study's own row begins.
const STUDY_ROWS: &str = "the study's ";

/// The spreadsheet row of data row `i` (the header is row 1).
fn data_row(i: usize) -> u32 {
    u32::try_from(i).map_or(u32::MAX, |i| i.saturating_add(2))
}

/// `part`'s added table in the study's column layout (a column the study
/// lacks refused, one the added table lacks left empty), or `None` when
/// it has none.
fn align(part: &Part<'_>, problems: &mut Vec<Problem>) -> Option<TextTable> {
    let added = part.added.as_ref()?;
    if added.rows.is_empty() && part.name != PATIENTS {
        return None;
    }
    let Some(study) = part.study else {
        problems.push(Problem::error(
            "table-not-in-study",
            Location {
                file: part.from.file.clone(),
                sheet: part.from.sheet.clone(),
                row: None,
                column: None,
            },
            format!(
                "the study has no {} table: readings of this kind cannot be appended to it",
                part.name
            ),
        ));
        return None;
    };
    for column in &added.columns {
        if !study.columns.contains(column) {
            problems.push(Problem::error(
                "column-not-in-study",
                Location::cell(&part.from, 1, column),
                format!(
                    "{column} is not a column of the study (its columns are those it was imported with: {})",
                    study.columns.join(", ")
                ),
            ));
        }
    }
    let from: Vec<Option<usize>> = study
        .columns
        .iter()
        .map(|c| added.columns.iter().position(|a| a == c))
        .collect();
    Some(TextTable {
        columns: study.columns.clone(),
        rows: added
            .rows
            .iter()
            .map(|row| {
                from.iter()
                    .map(|i| i.and_then(|i| row.get(i).cloned()).unwrap_or_default())
                    .collect()
            })
            .collect(),
    })
}

/// Puts a problem of the joined tables where it is: a row appended is
/// that row of the appended file; a row of the study's own says so.
fn locate(problem: &mut Problem, part: &Part<'_>, study_rows: usize) {
    let first_added = data_row(study_rows);
    match problem.location.row {
        Some(row) if row >= first_added => {
            problem.location.file = part.from.file.clone();
            problem.location.sheet = part.from.sheet.clone();
            problem.location.row = Some(row - first_added + 2);
        }
        Some(_) => {
            problem.location.file = format!("{STUDY_ROWS}{}", problem.location.file);
        }
        None => {
            problem.location.file = part.from.file.clone();
            problem.location.sheet = part.from.sheet.clone();
        }
    }
}
