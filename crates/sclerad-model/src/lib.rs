//! The domain of one SSc imaging-phenotype cohort (study bundle format v1):
//! patients, hand radiograph and spinal CT findings, readers, the derived
//! per-patient variables and the validation rules that look across cells.
//!
//! This crate does no I/O. `sclerad-bundle` turns files into a [`Cohort`]
//! plus cell-level [`Problem`]s; [`validate`] adds the cross-record problems;
//! [`derive`] computes the variables the analysis uses.

mod codes;
mod cohort;
mod derive;
mod finding;
mod fnv;
mod hex;
pub mod layout;
mod level;
pub mod parallel;
mod problem;
mod reader;
mod spreadsheet;
mod validate;

pub use codes::{
    CtType, HandSide, HandSite, Lesion, Morphology, Sex, SiteKind, SpineFlag, SpineSegment,
    SpineSide, Subset,
};
pub use cohort::{
    AcrEularItems, Cohort, ColumnKind, ColumnSet, HandColumn, HandReading, ImageMark, LesionFlags,
    MissingValue, Patient, PatientColumn, Readings, Requirement, SpineColumn, SpineFlags,
    SpineReading, CONSENSUS, MARK_COLUMNS,
};
pub use derive::{
    acr_eular_2013, any_of, derive, whole_years, years_between, AcrEular2013, DerivedPatient,
    FlagSource, ReadingEvidence, ReadingIndex, DEFAULT_IMAGING_WINDOW_DAYS,
};
pub use finding::{
    check_findings, ct_coverage, findings_of_cells, reading_flags, Cells, Finding, FindingError,
    Modality, MAX_FINDINGS,
};
pub use fnv::Fnv;
pub use hex::hex;
pub use level::{LevelListError, LevelSet, SeriesAnchor, VertebralLevel};
pub use problem::{
    cap_problems, cap_problems_as_they_grow, sort_problems, Location, Problem, ProblemCounts,
    Severity, TableName, CAP_PROBLEMS_AT, PROBLEMS_PER_RULE,
};
pub use reader::{
    choose_reader, is_consensus, readers_of, repeat_of, ReaderChoice, ReaderChoiceError,
    ReaderSelection, REPEAT_SUFFIX,
};
pub use spreadsheet::{formula_like, spreadsheet_safe};
pub use validate::{validate, ValidateOptions, Validation};
