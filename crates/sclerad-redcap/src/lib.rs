//! REDCap, where most clinical centres keep their data: the format's
//! clinical record as a REDCap data dictionary ([`format_dictionary`],
//! generated from the column definitions of `sclerad_model`), and a REDCap
//! records export turned back into a bundle ([`import`]) with the bundle's
//! own validation, every problem at the records file's row and REDCap
//! field. A centre whose project names its fields otherwise writes a
//! mapping file ([`Mapping`], suggested by [`suggest_mapping`]).
//!
//! No I/O: every function takes the bytes of the files, so the command line
//! and the data manager's page run the same code.

mod csv;
mod dictionary;
mod mapping;
mod records;

use sclerad_bundle::{ReadOptions, TextTables};
use sclerad_model::{Cohort, Problem, ProblemCounts, Severity, ValidateOptions};

pub use dictionary::{
    choice_label, column_of_field, dictionary_csv, field_name, format_dictionary, format_field,
    label, read_dictionary, Choice, Dictionary, Field, FieldType, DICTIONARY_HEADERS, FORM,
    MAX_FIELD_NAME,
};
pub use mapping::{read_mapping, suggest_mapping, Mapping, MappingRow, MAPPING_HEADERS};
pub use records::DateOrder;

/// A file as uploaded or read: its name (for problems) and bytes.
#[derive(Debug, Clone, Copy)]
pub struct Upload<'a> {
    /// The file name shown in problems.
    pub name: &'a str,
    /// Its contents.
    pub bytes: &'a [u8],
}

/// How records are imported.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// How the export writes dates.
    pub date_order: DateOrder,
    /// The validation's options (reader, imaging window).
    pub validate: ValidateOptions,
}

/// Records imported: the bundle, when nothing is an error, and every problem.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The bundle's tables in the format's canonical spelling (what
    /// `sclerad export` writes), only when no problem is an error.
    pub bundle: Option<TextTables>,
    /// The cohort as read from those tables (also when there are errors:
    /// the rows that could be read).
    pub cohort: Cohort,
    /// Every problem: the dictionary's, the mapping's, the records' (at
    /// the records file's row, header = 1, and REDCap field) and the
    /// bundle's validation (moved to the records' rows and fields).
    pub problems: Vec<Problem>,
}

impl Imported {
    /// Counts by severity.
    pub fn counts(&self) -> ProblemCounts {
        ProblemCounts::of(&self.problems)
    }

    /// Whether a problem is an error (nothing is then written).
    pub fn has_errors(&self) -> bool {
        self.problems.iter().any(|p| p.severity == Severity::Error)
    }
}

/// The problems of `mapping` for a project with dictionary `dict`: every
/// row that cannot be followed (an unknown field, column or choice, a value
/// the column cannot hold), at its row and column of the mapping file, as
/// [`import`] finds them.
pub fn check_mapping(dict: &Dictionary, mapping: &Mapping) -> Vec<Problem> {
    let mut problems = Vec::new();
    let _ = mapping::mapping_plan(dict, mapping, &mut problems);
    problems
}

/// The name the bundle reader gives the patients table of text tables.
const PATIENTS_CSV: &str = "patients.csv";

/// Imports a REDCap records export (raw data, CSV) of a project with the
/// data dictionary `dictionary`: with `mapping`, the centre's fields and
/// codes as it says; without, the fields named as sclerad's dictionary
/// names them. `with` gives the readings tables (`hand_readings`,
/// `spine_readings`) of an existing bundle to join to the records'
/// patients; its `patients` table is not used. The result is validated as
/// `sclerad validate` validates a bundle; nothing is given back as a bundle
/// while a problem is an error.
pub fn import(
    records: Upload<'_>,
    dictionary: Upload<'_>,
    mapping: Option<Upload<'_>>,
    with: Option<&TextTables>,
    options: &ImportOptions,
) -> Imported {
    let mut problems = Vec::new();
    let (dict, dict_problems) = read_dictionary(dictionary.name, dictionary.bytes);
    let dict_failed = dict_problems.iter().any(|p| p.severity == Severity::Error);
    problems.extend(dict_problems);
    let plan = match mapping {
        None => Some(mapping::identity_plan(&dict)),
        Some(m) => {
            let (m, mapping_problems) = read_mapping(m.name, m.bytes);
            let failed = mapping_problems
                .iter()
                .any(|p| p.severity == Severity::Error);
            problems.extend(mapping_problems);
            if failed || dict_failed {
                None
            } else {
                let mut plan_problems = Vec::new();
                let plan = mapping::mapping_plan(&dict, &m, &mut plan_problems);
                let failed = plan_problems.iter().any(|p| p.severity == Severity::Error);
                problems.extend(plan_problems);
                (!failed).then_some(plan)
            }
        }
    };
    let empty = Imported {
        bundle: None,
        cohort: sclerad_bundle::read_text_tables(&TextTables::default(), &ReadOptions::default())
            .cohort,
        problems: Vec::new(),
    };
    let (Some(plan), false) = (plan, dict_failed) else {
        return Imported { problems, ..empty };
    };
    let Some(converted) = records::convert(
        records.name,
        records.bytes,
        &dict,
        &plan,
        options.date_order,
        &mut problems,
    ) else {
        return Imported { problems, ..empty };
    };
    let tables = TextTables {
        patients: converted.table,
        hand_readings: with.and_then(|w| w.hand_readings.clone()),
        spine_readings: with.and_then(|w| w.spine_readings.clone()),
    };
    let loaded = sclerad_bundle::read_text_tables(&tables, &ReadOptions::default());
    let validation = sclerad_model::validate(&loaded.cohort, &options.validate);
    // A records cell already refused was left empty in the bundle: what
    // the bundle says of that empty cell (a required value missing) is the
    // same problem again, and is not repeated.
    let refused: std::collections::HashSet<(u32, String)> = problems
        .iter()
        .filter(|p| p.severity == Severity::Error && p.location.file == records.name)
        .filter_map(|p| Some((p.location.row?, p.location.column.clone()?)))
        .collect();
    for mut p in loaded.problems.into_iter().chain(validation.problems) {
        if p.location.file == PATIENTS_CSV {
            p.location.file = records.name.to_string();
            p.location.row = p.location.row.map(|r| match r {
                0 | 1 => r,
                r => usize::try_from(r - 2)
                    .ok()
                    .and_then(|i| converted.origin.get(i))
                    .copied()
                    .unwrap_or(r),
            });
            if let Some(column) = &p.location.column {
                match converted.fields.get(column.as_str()) {
                    Some(field) => p.location.column = Some(field.clone()),
                    None if p.code == "missing-column" => {
                        p.message = format!(
                            "no field of the records gives the format's column {column}: {}",
                            p.message
                        );
                    }
                    None => {}
                }
            }
            if let (Some(row), Some(field)) = (p.location.row, &p.location.column) {
                if refused.contains(&(row, field.clone())) {
                    continue;
                }
            }
        }
        problems.push(p);
    }
    sclerad_model::cap_problems(&mut problems, sclerad_model::PROBLEMS_PER_RULE);
    let errors = problems.iter().any(|p| p.severity == Severity::Error);
    Imported {
        bundle: (!errors).then(|| TextTables::of(&loaded.cohort)),
        cohort: loaded.cohort,
        problems,
    }
}
