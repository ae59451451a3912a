//! Reproducible synthetic SSc imaging cohorts.
//!
//! [`generate`] draws a cohort of any size with plausible clinical
//! correlations (for tests, demos and scale benchmarks); [`nancy_demo`]
//! builds the 77-patient cohort whose marginals equal those of the Nancy
//! study abstract. Both return a [`Cohort`] that validates without errors;
//! writing it out is `sclerad-bundle`'s job.

mod demo;
pub mod images;
mod readings;
mod rng;
mod synth;

use sclerad_model::{Cohort, ColumnSet, HandReading, Readings, SpineReading, TableName};

pub use demo::{demo_description, nancy_demo, nancy_with_seed, NANCY};
pub use readings::ReaderNoise;
pub use rng::Rng;
pub use synth::{generate, ReadingsMode, SynthOptions};

/// Numbers rows as a spreadsheet would and wraps the tables into a cohort.
pub(crate) fn assemble(
    mut patients: Vec<sclerad_model::Patient>,
    columns: ColumnSet,
    hand: Option<Vec<HandReading>>,
    spine: Option<Vec<SpineReading>>,
) -> Cohort {
    for (i, p) in patients.iter_mut().enumerate() {
        p.row = i as u32 + 2;
    }
    let readings = |file: &str| TableName::file(file);
    let hand = hand.map(|mut rows| {
        for (i, r) in rows.iter_mut().enumerate() {
            r.row = i as u32 + 2;
        }
        Readings {
            table: readings("hand_readings.csv"),
            rows,
            extra_columns: Vec::new(),
        }
    });
    let spine = spine.map(|mut rows| {
        for (i, r) in rows.iter_mut().enumerate() {
            r.row = i as u32 + 2;
        }
        Readings {
            table: readings("spine_readings.csv"),
            rows,
            extra_columns: Vec::new(),
        }
    });
    Cohort {
        patients_table: TableName::file("patients.csv"),
        all_patient_ids: patients.iter().map(|p| p.patient_id.clone()).collect(),
        patients,
        patient_columns: columns,
        patient_extra_columns: Vec::new(),
        hand_readings: hand,
        spine_readings: spine,
    }
}
