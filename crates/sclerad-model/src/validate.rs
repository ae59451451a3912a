//! Validation rules that look across cells, rows and tables.
//!
//! Cell-level problems (a bad boolean, an unknown code) are found by the
//! bundle reader as it types each cell; the rules here run on the typed
//! [`Cohort`] and never stop at the first problem.

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasherDefault;

use crate::fnv::Fnv;

type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<Fnv>>;
type FastSet<K> = HashSet<K, BuildHasherDefault<Fnv>>;

use chrono::NaiveDate;

use crate::codes::{Lesion, SpineFlag, SpineSegment};
use crate::cohort::{Cohort, Patient, PatientColumn as Col};
use crate::derive::{acr_eular_2013, whole_years, ReadingEvidence, ReadingIndex};
use crate::problem::{Location, Problem, TableName};
use crate::reader::{ReaderChoice, ReaderChoiceError};

/// What validation needs to know beyond the bundle.
#[derive(Debug, Clone)]
pub struct ValidateOptions {
    /// `--reader`.
    pub reader: Option<String>,
    /// Eligibility window between the two examinations, in days.
    pub imaging_window_days: i64,
    /// Whether an undecided reader choice is an error (analysis) or a note
    /// (validation only: the data are fine, the analysis will ask).
    pub reader_required: bool,
}

impl Default for ValidateOptions {
    fn default() -> Self {
        ValidateOptions {
            reader: None,
            imaging_window_days: crate::derive::DEFAULT_IMAGING_WINDOW_DAYS,
            reader_required: false,
        }
    }
}

/// The outcome of [`validate`].
#[derive(Debug, Clone)]
pub struct Validation {
    /// Every problem found, in table and row order.
    pub problems: Vec<Problem>,
    /// Readers present and chosen.
    pub readers: ReaderChoice,
}

/// Runs every cross-cell rule on `cohort`.
pub fn validate(cohort: &Cohort, options: &ValidateOptions) -> Validation {
    let mut out = Vec::new();
    let readers = ReaderChoice::resolve(cohort, options.reader.as_deref());

    check_unique_ids(cohort, &mut out);
    check_formula_like_identifiers(cohort, &mut out);
    out.extend(crate::parallel::chunked(&cohort.patients, |patients| {
        let mut problems = Vec::new();
        let mut cap_at = crate::CAP_PROBLEMS_AT;
        for p in patients {
            crate::cap_problems_as_they_grow(&mut problems, &mut cap_at);
            check_patient(cohort, p, options, &mut problems);
        }
        problems
    }));
    crate::cap_problems(&mut out, crate::PROBLEMS_PER_RULE);
    check_hand_readings(cohort, &mut out);
    check_spine_readings(cohort, &mut out);

    for (table, result, what) in [
        (
            cohort.hand_readings.as_ref().map(|r| &r.table),
            &readers.hand,
            "hand",
        ),
        (
            cohort.spine_readings.as_ref().map(|r| &r.table),
            &readers.spine,
            "spine",
        ),
    ] {
        let (Some(table), Err(e)) = (table, result) else {
            continue;
        };
        let loc = Location {
            column: Some("reader".into()),
            ..Location::table(table)
        };
        let p = match e {
            ReaderChoiceError::Ambiguous { .. } if !options.reader_required => Problem::note(
                "reader-choice",
                loc,
                format!(
                    "{e}; the {what} lesion flags were not checked against the summary columns"
                ),
            ),
            _ => Problem::error("reader-choice", loc, e.to_string()),
        };
        out.push(p);
    }
    let index = ReadingIndex::build(cohort, &readers.selection());
    check_summary_against_readings(cohort, &readers, &index, &mut out);
    crate::cap_problems(&mut out, crate::PROBLEMS_PER_RULE);
    Validation {
        problems: out,
        readers,
    }
}

fn at(cohort: &Cohort, p: &Patient, column: Col) -> Location {
    Location::cell(&cohort.patients_table, p.row, column.code())
}

fn check_unique_ids(cohort: &Cohort, out: &mut Vec<Problem>) {
    let mut first: FastMap<&str, u32> =
        FastMap::with_capacity_and_hasher(cohort.patients.len(), Default::default());
    for p in &cohort.patients {
        match first.get(p.patient_id.as_str()) {
            Some(row) => out.push(
                Problem::error(
                    "duplicate-patient-id",
                    at(cohort, p, Col::PatientId),
                    format!(
                        "patient_id '{}' is already used in row {row}; ids must be unique",
                        p.patient_id
                    ),
                )
                .with_value(&p.patient_id),
            ),
            None => {
                first.insert(&p.patient_id, p.row);
            }
        }
    }
}

/// Identifiers that a spreadsheet would run as a formula: harmless here
/// (they are written defused in every file meant for people), but likely a
/// pasting accident or an attack, worth a look before the study goes on.
fn check_formula_like_identifiers(cohort: &Cohort, out: &mut Vec<Problem>) {
    let message = |what: &str| {
        format!(
            "this {what} starts like a spreadsheet formula (=, +, -, @, tab); \
             check it is the intended value (sclerad writes it defused, with a leading ')"
        )
    };
    for p in cohort
        .patients
        .iter()
        .filter(|p| crate::formula_like(&p.patient_id))
    {
        out.push(
            Problem::warning(
                "formula-like-value",
                at(cohort, p, Col::PatientId),
                message("patient_id"),
            )
            .with_value(&p.patient_id),
        );
    }
    let tables = [
        cohort.hand_readings.as_ref().map(|r| {
            (
                &r.table,
                r.rows
                    .iter()
                    .map(|h| (h.row, h.reader.as_str()))
                    .collect::<Vec<_>>(),
            )
        }),
        cohort.spine_readings.as_ref().map(|r| {
            (
                &r.table,
                r.rows
                    .iter()
                    .map(|s| (s.row, s.reader.as_str()))
                    .collect::<Vec<_>>(),
            )
        }),
    ];
    for (table, rows) in tables.into_iter().flatten() {
        // Each reader once, at their first row.
        let mut seen: Vec<&str> = Vec::new();
        for (row, reader) in rows {
            if seen.contains(&reader) {
                continue;
            }
            seen.push(reader);
            let at = Location::cell(table, row, "reader");
            if crate::formula_like(reader) {
                out.push(
                    Problem::warning("formula-like-value", at.clone(), message("reader name"))
                        .with_value(reader),
                );
            }
            if crate::is_consensus(reader) && reader != crate::CONSENSUS {
                // The reader rule would take it as the consensus reading,
                // and a reader so named would silently become the study's
                // primary reading: refused, whichever was meant.
                out.push(
                    Problem::error(
                        "consensus-spelling",
                        at,
                        format!(
                            "reader '{reader}' is spelled like the consensus (adjudicated) \
                             reading, which must be written '{}' exactly; write it so if that \
                             is meant, or rename the reader",
                            crate::CONSENSUS
                        ),
                    )
                    .with_value(reader),
                );
            }
        }
    }
}

fn date_problem(
    cohort: &Cohort,
    p: &Patient,
    column: Col,
    value: NaiveDate,
    message: String,
    out: &mut Vec<Problem>,
) {
    out.push(
        Problem::error("date-order", at(cohort, p, column), message).with_value(value.to_string()),
    );
}

fn check_patient(cohort: &Cohort, p: &Patient, options: &ValidateOptions, out: &mut Vec<Problem>) {
    let imaging = [
        (Col::HandXrayDate, p.hand_xray_date),
        (Col::CtDate, p.ct_date),
    ];

    if let Some(birth) = p.birth_date {
        for (col, date) in imaging.iter().chain(&[(Col::OnsetDate, p.onset_date)]) {
            if let Some(date) = date {
                if *date < birth {
                    date_problem(
                        cohort,
                        p,
                        *col,
                        *date,
                        format!("{} {date} is before birth_date {birth}", col.code()),
                        out,
                    );
                }
            }
        }
        if let Some(at_date) = p.hand_xray_date.or(p.ct_date) {
            let age = whole_years(birth, at_date);
            if age >= 120 {
                out.push(
                    Problem::error(
                        "out-of-range",
                        at(cohort, p, Col::BirthDate),
                        format!("birth_date gives an age of {age} years at imaging; age must be under 120"),
                    )
                    .with_value(birth.to_string()),
                );
            } else if let Some(recorded) = p.age_years {
                if (recorded - f64::from(age)).abs() > 1.0 {
                    out.push(
                        Problem::warning(
                            "age-mismatch",
                            at(cohort, p, Col::AgeYears),
                            format!("age_years {recorded} disagrees with birth_date {birth} (age {age} at imaging); age_years is used"),
                        )
                        .with_value(recorded.to_string()),
                    );
                }
            }
        }
    }

    if let (Some(onset), Some(hand)) = (p.onset_date, p.hand_xray_date) {
        if onset > hand && p.disease_duration_years.is_none() {
            date_problem(
                cohort,
                p,
                Col::OnsetDate,
                onset,
                format!("onset_date {onset} is after hand_xray_date {hand}: the disease duration would be negative"),
                out,
            );
        }
    }

    match (p.death, p.death_date) {
        (Some(false), Some(date)) => out.push(
            Problem::error(
                "death-date-without-death",
                at(cohort, p, Col::DeathDate),
                "death_date is given but death = no; correct one of them",
            )
            .with_value(date.to_string()),
        ),
        (_, Some(date)) => {
            for (col, other) in imaging.iter().chain(&[(Col::OnsetDate, p.onset_date)]) {
                if let Some(other) = other {
                    if date < *other {
                        date_problem(
                            cohort,
                            p,
                            Col::DeathDate,
                            date,
                            format!("death_date {date} is before {} {other}", col.code()),
                            out,
                        );
                    }
                }
            }
        }
        _ => {}
    }

    if let Some(last) = p.last_followup_date {
        if let Some(hand) = p.hand_xray_date {
            if last < hand {
                date_problem(
                    cohort,
                    p,
                    Col::LastFollowupDate,
                    last,
                    format!("last_followup_date {last} is before hand_xray_date {hand}"),
                    out,
                );
            }
        }
        if let Some(death) = p.death_date {
            if last > death {
                date_problem(
                    cohort,
                    p,
                    Col::LastFollowupDate,
                    last,
                    format!("last_followup_date {last} is after death_date {death}"),
                    out,
                );
            }
        }
    }

    let foraminal = p.spine_flag(SpineFlag::Foraminal);
    let canal = p.spine_flag(SpineFlag::Canal);
    if foraminal == Some(true) && canal != Some(true) {
        out.push(
            Problem::error(
                "foraminal-without-canal",
                at(cohort, p, Col::SpineForaminal),
                format!(
                    "spine_foraminal = yes requires spine_canal = yes (foraminal calcification lies in the canal segment), but spine_canal is {}",
                    match canal { Some(false) => "no", _ => "missing" }
                ),
            )
            .with_value("yes"),
        );
    }

    if let (Some(ct), Some(hand)) = (p.ct_date, p.hand_xray_date) {
        let gap = (ct - hand).num_days().abs();
        if gap > options.imaging_window_days {
            out.push(
                Problem::warning(
                    "imaging-gap",
                    at(cohort, p, Col::CtDate),
                    format!(
                        "the CT ({ct}) and the hand radiograph ({hand}) are {gap} days apart, more than the {}-day window: the patient is not eligible",
                        options.imaging_window_days
                    ),
                )
                .with_value(ct.to_string()),
            );
        }
    }

    if let Some(score) = acr_eular_2013(p, cohort.patient_columns) {
        if score.classified == Some(false) {
            out.push(Problem::warning(
                "acr-eular-2013",
                Location::row(&cohort.patients_table, p.row),
                format!(
                    "patient '{}' does not meet the ACR/EULAR 2013 criteria (score {} < 9, no skin thickening proximal to the MCPs)",
                    p.patient_id, score.score
                ),
            ));
        }
    }
}

fn unknown_patient(table: &TableName, row: u32, id: &str) -> Problem {
    Problem::error(
        "unknown-patient",
        Location::cell(table, row, "patient_id"),
        format!("patient_id '{id}' is not in the patients table"),
    )
    .with_value(id)
}

fn check_hand_readings(cohort: &Cohort, out: &mut Vec<Problem>) {
    let Some(readings) = &cohort.hand_readings else {
        return;
    };
    let known: FastSet<&str> = cohort.all_patient_ids.iter().map(String::as_str).collect();
    let table = &readings.table;
    // The first row of each (patient, reader) with `none`, and with a
    // lesion. A reading's rows mostly follow each other: a row of the same
    // patient, reader and kind as the row before is not looked up again.
    let mut none_rows: FastMap<(&str, &str), u32> = FastMap::default();
    let mut lesion_rows: FastMap<(&str, &str), u32> = FastMap::default();
    let mut last: Option<((&str, &str), bool)> = None;
    let mut last_known: Option<&str> = None;
    for r in &readings.rows {
        if last_known != Some(r.patient_id.as_str()) {
            if known.contains(r.patient_id.as_str()) {
                last_known = Some(r.patient_id.as_str());
            } else {
                out.push(unknown_patient(table, r.row, &r.patient_id));
            }
        }
        let key = (r.patient_id.as_str(), r.reader.as_str());
        let seen = last == Some((key, r.lesion.is_some()));
        last = Some((key, r.lesion.is_some()));
        let Some(lesion) = r.lesion else {
            if !seen {
                none_rows.entry(key).or_insert(r.row);
            }
            continue;
        };
        if !seen {
            lesion_rows.entry(key).or_insert(r.row);
        }
        if r.side.is_none() {
            out.push(Problem::error(
                "missing-cell",
                Location::cell(table, r.row, "side"),
                format!("side is required for a {lesion} finding (left or right); it may be empty only when lesion = none"),
            ));
        }
        match r.site {
            None => out.push(Problem::error(
                "missing-cell",
                Location::cell(table, r.row, "site"),
                format!("site is required for a {lesion} finding; it may be empty only when lesion = none"),
            )),
            Some(site) if !lesion.allowed_at(site) => out.push(
                Problem::error(
                    "lesion-site",
                    Location::cell(table, r.row, "site"),
                    format!("{lesion} cannot be recorded at {site}: it is recorded at {} only", lesion.allowed_sites()),
                )
                .with_value(site.code()),
            ),
            Some(_) => {}
        }
    }
    for (key, row) in lesion_rows {
        if let Some(none_row) = none_rows.get(&key) {
            out.push(Problem::warning(
                "none-with-findings",
                Location::cell(table, *none_row, "lesion"),
                format!(
                    "reader '{}' recorded 'none' for patient '{}' but also a lesion in row {row}; the lesion is kept",
                    key.1, key.0
                ),
            ));
        }
    }
}

fn check_spine_readings(cohort: &Cohort, out: &mut Vec<Problem>) {
    let Some(readings) = &cohort.spine_readings else {
        return;
    };
    let known: FastSet<&str> = cohort.all_patient_ids.iter().map(String::as_str).collect();
    let by_id: FastMap<&str, &Patient> = cohort
        .patients
        .iter()
        .map(|p| (p.patient_id.as_str(), p))
        .collect();
    let table = &readings.table;
    for r in &readings.rows {
        if !known.contains(r.patient_id.as_str()) {
            out.push(unknown_patient(table, r.row, &r.patient_id));
        }
        if r.foraminal == Some(true) && r.segment != Some(SpineSegment::Canal) {
            out.push(
                Problem::error(
                    "foraminal-outside-canal",
                    Location::cell(table, r.row, "foraminal"),
                    format!(
                        "foraminal = yes is allowed only with segment = canal, not {}",
                        r.segment.map_or("none", SpineSegment::code)
                    ),
                )
                .with_value("yes"),
            );
        }
        let Some(segment) = r.segment else { continue };
        let Some(level) = r.level else {
            out.push(Problem::error(
                "missing-cell",
                Location::cell(table, r.row, "level"),
                format!("level is required for a {segment} calcification; it may be empty only when segment = none"),
            ));
            continue;
        };
        let Some(patient) = by_id.get(r.patient_id.as_str()) else {
            continue;
        };
        if let Some(coverage) = patient.ct_coverage() {
            if !coverage.contains(level) {
                let why = match (patient.ct_levels, patient.ct_type) {
                    (Some(levels), _) => format!("ct_levels {levels}"),
                    (None, Some(t)) => format!("a {t} CT, which shows {coverage}"),
                    (None, None) => coverage.to_string(),
                };
                out.push(
                    Problem::error(
                        "level-not-covered",
                        Location::cell(table, r.row, "level"),
                        format!(
                            "level {level} lies outside the CT coverage of patient '{}' ({why}); a level the CT did not show cannot be read",
                            r.patient_id
                        ),
                    )
                    .with_value(level.code()),
                );
            }
        }
    }
}

fn check_summary_against_readings(
    cohort: &Cohort,
    readers: &ReaderChoice,
    index: &ReadingIndex,
    out: &mut Vec<Problem>,
) {
    let contradiction = |p: &Patient,
                         col: Col,
                         summary: bool,
                         table: &TableName,
                         reader: &str,
                         e: &ReadingEvidence,
                         row: Option<u32>| {
        let (said, row) = match row {
            Some(row) => ("recorded it", row),
            None => ("read the patient without recording it", e.first_row),
        };
        Problem::error(
            "summary-contradicts-readings",
            at(cohort, p, col),
            format!(
                "{} = {} here, but reader '{reader}' {said} in {table} row {row}; correct one of them",
                col.code(),
                if summary { "yes" } else { "no" },
            ),
        )
        .with_value(if summary { "yes" } else { "no" })
    };
    let hand = cohort
        .hand_readings
        .as_ref()
        .zip(readers.hand.as_ref().ok().and_then(Option::as_ref));
    let spine = cohort
        .spine_readings
        .as_ref()
        .zip(readers.spine.as_ref().ok().and_then(Option::as_ref));
    let unread = |p: &Patient, table: &TableName, reader: &str, what: &str| {
        Problem::warning(
            "not-read",
            Location::row(&cohort.patients_table, p.row),
            format!(
                "patient '{}' has no {what} reading by '{reader}' in {table} and no {what} summary columns filled: their {what} lesion flags are missing",
                p.patient_id
            ),
        )
    };
    for p in &cohort.patients {
        if let Some((readings, reader)) = hand {
            if !index.hand.contains_key(&p.patient_id) && p.hand.iter().all(Option::is_none) {
                out.push(unread(p, &readings.table, reader, "hand"));
            }
        }
        if let Some((readings, reader)) = spine {
            if !index.spine.contains_key(&p.patient_id) && p.spine.iter().all(Option::is_none) {
                out.push(unread(p, &readings.table, reader, "spine"));
            }
        }
        if let Some((readings, reader)) = hand {
            if let Some(e) = index.hand.get(&p.patient_id) {
                for lesion in Lesion::ALL {
                    let (Some(summary), row) = (p.lesion(*lesion), e.hand[lesion.index()]) else {
                        continue;
                    };
                    if summary != row.is_some() {
                        out.push(contradiction(
                            p,
                            Col::of_lesion(*lesion),
                            summary,
                            &readings.table,
                            reader,
                            e,
                            row,
                        ));
                    }
                }
            }
        }
        if let Some((readings, reader)) = spine {
            if let Some(e) = index.spine.get(&p.patient_id) {
                for flag in SpineFlag::ALL {
                    let (Some(summary), row) = (p.spine_flag(*flag), e.spine[flag.index()]) else {
                        continue;
                    };
                    if summary != row.is_some() {
                        out.push(contradiction(
                            p,
                            Col::of_spine(*flag),
                            summary,
                            &readings.table,
                            reader,
                            e,
                            row,
                        ));
                    }
                }
            }
        }
    }
}
