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
mod fnv;
mod level;
mod parallel;
mod problem;
mod reader;
mod validate;

pub use codes::{
    CtType, HandSide, HandSite, Lesion, Morphology, Sex, SiteKind, SpineFlag, SpineSegment,
    SpineSide, Subset,
};
pub use cohort::{
    AcrEularItems, Cohort, ColumnSet, HandReading, LesionFlags, Patient, PatientColumn, Readings,
    SpineFlags, SpineReading, CONSENSUS,
};
pub use derive::{
    acr_eular_2013, any_of, derive, whole_years, years_between, AcrEular2013, DerivedPatient,
    FlagSource, ReadingEvidence, ReadingIndex, DEFAULT_IMAGING_WINDOW_DAYS,
};
pub use fnv::Fnv;
pub use level::{LevelListError, LevelSet, VertebralLevel};
pub use problem::{Location, Problem, ProblemCounts, Severity, TableName};
pub use reader::{choose_reader, readers_of, ReaderChoice, ReaderChoiceError, ReaderSelection};
pub use validate::{validate, ValidateOptions, Validation};
