//! Derived per-patient variables (written to the analysis output).

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use crate::codes::{Lesion, SpineFlag, SpineSegment};
use crate::cohort::{Cohort, ColumnSet, LesionFlags, Patient, PatientColumn, SpineFlags};
use crate::level::LevelSet;
use crate::reader::ReaderSelection;

/// Days allowed between the hand radiograph and the CT ("within the same year").
pub const DEFAULT_IMAGING_WINDOW_DAYS: i64 = 365;

/// Completed years between two dates (the age a person gives).
pub fn whole_years(from: NaiveDate, to: NaiveDate) -> i32 {
    let mut years = to.year() - from.year();
    if (to.month(), to.day()) < (from.month(), from.day()) {
        years -= 1;
    }
    years
}

/// Years between two dates as days / 365.25.
pub fn years_between(from: NaiveDate, to: NaiveDate) -> f64 {
    (to - from).num_days() as f64 / 365.25
}

/// ACR/EULAR 2013 classification score of one patient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AcrEular2013 {
    /// Sum with missing items counted 0.
    pub score: u8,
    /// Whether missing items could raise the score.
    pub lower_bound: bool,
    /// Classified as SSc: `Some(true)` when skin proximal to the MCPs or a
    /// score ≥ 9; `Some(false)` when no missing item could change that;
    /// `None` when it depends on missing items.
    pub classified: Option<bool>,
}

/// Computes the ACR/EULAR 2013 score, or `None` when the table has none of
/// the item columns.
pub fn acr_eular_2013(patient: &Patient, columns: ColumnSet) -> Option<AcrEular2013> {
    if !PatientColumn::ACR_EULAR_ITEMS
        .iter()
        .any(|c| columns.contains(*c))
    {
        return None;
    }
    let it = &patient.acr_eular;
    // Score with every missing item taken as absent (`lo`) or present (`hi`).
    let score = |assume: bool| -> u8 {
        let v = |x: Option<bool>| x.unwrap_or(assume);
        let any = |xs: &[Option<bool>]| xs.iter().any(|x| v(*x));
        let mut s = 0u8;
        s += if v(it.sclerodactyly) {
            4
        } else if v(it.puffy_fingers) {
            2
        } else {
            0
        };
        s += if v(it.pitting_scars) {
            3
        } else if v(it.fingertip_ulcers) {
            2
        } else {
            0
        };
        s += 2 * u8::from(v(it.telangiectasia));
        s += 2 * u8::from(v(it.abnormal_capillaries));
        s += 2 * u8::from(any(&[patient.pah, patient.ild_ct]));
        s += 3 * u8::from(v(it.raynaud));
        s += 3 * u8::from(any(&[it.anti_centromere, it.anti_scl70, it.anti_rnap3]));
        s
    };
    let (lo, hi) = (score(false), score(true));
    let classified = match it.skin_proximal_mcp {
        Some(true) => Some(true),
        _ if lo >= 9 => Some(true),
        Some(false) if hi < 9 => Some(false),
        _ => None,
    };
    Some(AcrEular2013 {
        score: lo,
        lower_bound: hi > lo,
        classified,
    })
}

/// Where each patient-level lesion flag came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagSource {
    /// The chosen reader's long-format readings.
    Readings,
    /// The summary columns of `patients`.
    Summary,
    /// Neither: the flags are missing.
    Missing,
}

/// What the chosen reader recorded for one patient: the first reading row
/// behind each flag (a row number is what error messages cite).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadingEvidence {
    /// First row where the reader read this patient.
    pub first_row: u32,
    /// First row recording each hand lesion.
    pub hand: [Option<u32>; 7],
    /// First row recording each spine flag.
    pub spine: [Option<u32>; 4],
}

/// The chosen readers' readings, summarised per patient id.
#[derive(Debug, Clone, Default)]
pub struct ReadingIndex {
    /// Hand readings by the chosen hand reader.
    pub hand: HashMap<String, ReadingEvidence>,
    /// Spine readings by the chosen spine reader.
    pub spine: HashMap<String, ReadingEvidence>,
}

impl ReadingIndex {
    /// Summarises the readings of the selected readers.
    pub fn build(cohort: &Cohort, selection: &ReaderSelection) -> Self {
        let mut index = ReadingIndex::default();
        if let (Some(readings), Some(reader)) = (&cohort.hand_readings, &selection.hand) {
            for r in readings.rows.iter().filter(|r| &r.reader == reader) {
                let e = index
                    .hand
                    .entry(r.patient_id.clone())
                    .or_insert_with(|| ReadingEvidence {
                        first_row: r.row,
                        ..Default::default()
                    });
                if let Some(lesion) = r.lesion {
                    e.hand[lesion.index()].get_or_insert(r.row);
                }
            }
        }
        if let (Some(readings), Some(reader)) = (&cohort.spine_readings, &selection.spine) {
            for r in readings.rows.iter().filter(|r| &r.reader == reader) {
                let e =
                    index
                        .spine
                        .entry(r.patient_id.clone())
                        .or_insert_with(|| ReadingEvidence {
                            first_row: r.row,
                            ..Default::default()
                        });
                let mut mark = |flag: SpineFlag| {
                    e.spine[flag.index()].get_or_insert(r.row);
                };
                match r.segment {
                    Some(SpineSegment::Anterior) => mark(SpineFlag::Anterior),
                    Some(SpineSegment::Posterior) => mark(SpineFlag::Posterior),
                    Some(SpineSegment::Canal) => {
                        mark(SpineFlag::Canal);
                        if r.foraminal == Some(true) {
                            mark(SpineFlag::Foraminal);
                        }
                    }
                    None => {}
                }
            }
        }
        index
    }
}

/// The derived variables of one patient.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DerivedPatient {
    /// Patient.
    pub patient_id: String,
    /// `age_years`, else whole years from birth date to the hand radiograph (else the CT).
    pub age_years: Option<f64>,
    /// `disease_duration_years`, else (hand radiograph − onset) in days / 365.25
    /// (the CT date when there is no radiograph date).
    pub disease_duration_years: Option<f64>,
    /// |CT − hand radiograph| in days.
    pub imaging_gap_days: Option<i64>,
    /// Whether the gap is within the eligibility window.
    pub imaging_within_window: Option<bool>,
    /// `restrictive_syndrome`, else TLC < 80 % predicted.
    pub restrictive_syndrome: Option<bool>,
    /// ACR/EULAR 2013 score and classification.
    pub acr_eular_2013: Option<AcrEular2013>,
    /// Levels the CT showed.
    pub ct_coverage: Option<LevelSet>,
    /// Hand lesion flags, indexed by [`Lesion`].
    pub hand: LesionFlags,
    /// Where the hand flags came from.
    pub hand_source: FlagSource,
    /// Spine flags, indexed by [`SpineFlag`].
    pub spine: SpineFlags,
    /// Where the spine flags came from.
    pub spine_source: FlagSource,
    /// Calcification in any segment.
    pub spine_any: Option<bool>,
}

impl DerivedPatient {
    /// A hand lesion flag.
    pub fn lesion(&self, lesion: Lesion) -> Option<bool> {
        self.hand[lesion.index()]
    }

    /// A spine flag.
    pub fn spine_flag(&self, flag: SpineFlag) -> Option<bool> {
        self.spine[flag.index()]
    }
}

/// Three-valued "or": true if any is true, false if all are false, else unknown.
pub fn any_of(values: &[Option<bool>]) -> Option<bool> {
    if values.contains(&Some(true)) {
        Some(true)
    } else if values.iter().all(|v| *v == Some(false)) {
        Some(false)
    } else {
        None
    }
}

/// Derives every patient's variables, in the order of `cohort.patients`.
pub fn derive(
    cohort: &Cohort,
    selection: &ReaderSelection,
    window_days: i64,
) -> Vec<DerivedPatient> {
    let index = ReadingIndex::build(cohort, selection);
    crate::parallel::chunked(&cohort.patients, |patients| {
        patients
            .iter()
            .map(|p| derive_patient(p, cohort.patient_columns, &index, window_days))
            .collect()
    })
}

fn derive_patient(
    p: &Patient,
    columns: ColumnSet,
    index: &ReadingIndex,
    window_days: i64,
) -> DerivedPatient {
    let reference = p.hand_xray_date.or(p.ct_date);
    let age_years = p.age_years.or_else(|| {
        let (birth, at) = (p.birth_date?, reference?);
        Some(f64::from(whole_years(birth, at)))
    });
    let disease_duration_years = p
        .disease_duration_years
        .or_else(|| Some(years_between(p.onset_date?, reference?)));
    let imaging_gap_days = match (p.ct_date, p.hand_xray_date) {
        (Some(ct), Some(hand)) => Some((ct - hand).num_days().abs()),
        _ => None,
    };
    let restrictive_syndrome = p
        .restrictive_syndrome
        .or_else(|| p.tlc_pct_pred.map(|tlc| tlc < 80.0));

    let (hand, hand_source) = match index.hand.get(&p.patient_id) {
        Some(e) => (e.hand.map(|row| Some(row.is_some())), FlagSource::Readings),
        None if p.hand.iter().any(Option::is_some) => (p.hand, FlagSource::Summary),
        None => ([None; 7], FlagSource::Missing),
    };
    let (spine, spine_source) = match index.spine.get(&p.patient_id) {
        Some(e) => (e.spine.map(|row| Some(row.is_some())), FlagSource::Readings),
        None if p.spine.iter().any(Option::is_some) => (p.spine, FlagSource::Summary),
        None => ([None; 4], FlagSource::Missing),
    };
    let spine_any = any_of(&[
        spine[SpineFlag::Anterior.index()],
        spine[SpineFlag::Canal.index()],
        spine[SpineFlag::Posterior.index()],
    ]);
    DerivedPatient {
        patient_id: p.patient_id.clone(),
        age_years,
        disease_duration_years,
        imaging_gap_days,
        imaging_within_window: imaging_gap_days.map(|d| d <= window_days),
        restrictive_syndrome,
        acr_eular_2013: acr_eular_2013(p, columns),
        ct_coverage: p.ct_coverage(),
        hand,
        hand_source,
        spine,
        spine_source,
        spine_any,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::{Sex, Subset};

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    fn patient() -> Patient {
        Patient::new(2, "P1", Sex::Female, Subset::Limited)
    }

    fn with_items() -> ColumnSet {
        let mut c = ColumnSet::default();
        for col in PatientColumn::ACR_EULAR_ITEMS {
            c.insert(col);
        }
        c
    }

    #[test]
    fn whole_years_counts_completed_birthdays() {
        assert_eq!(whole_years(d("1960-06-15"), d("2016-06-14")), 55);
        assert_eq!(whole_years(d("1960-06-15"), d("2016-06-15")), 56);
        assert_eq!(whole_years(d("1960-02-29"), d("2015-02-28")), 54);
        assert_eq!(whole_years(d("1960-02-29"), d("2015-03-01")), 55);
    }

    #[test]
    fn age_and_duration_are_derived_from_dates() {
        let mut p = patient();
        p.birth_date = Some(d("1960-06-15"));
        p.onset_date = Some(d("2010-01-01"));
        p.hand_xray_date = Some(d("2016-06-14"));
        p.ct_date = Some(d("2017-06-15"));
        let c = ColumnSet::default();
        let x = derive_patient(&p, c, &ReadingIndex::default(), 365);
        assert_eq!(x.age_years, Some(55.0));
        let days = (d("2016-06-14") - d("2010-01-01")).num_days() as f64;
        assert_eq!(x.disease_duration_years, Some(days / 365.25));
        assert_eq!(x.imaging_gap_days, Some(366));
        assert_eq!(x.imaging_within_window, Some(false));
        // Recorded values win over dates.
        p.age_years = Some(57.5);
        p.disease_duration_years = Some(3.0);
        p.hand_xray_date = None; // falls back to the CT date
        let x = derive_patient(&p, c, &ReadingIndex::default(), 365);
        assert_eq!(x.age_years, Some(57.5));
        assert_eq!(x.disease_duration_years, Some(3.0));
        assert_eq!(x.imaging_gap_days, None);
    }

    #[test]
    fn restrictive_syndrome_falls_back_to_tlc() {
        let mut p = patient();
        p.tlc_pct_pred = Some(79.9);
        let x = derive_patient(&p, ColumnSet::default(), &ReadingIndex::default(), 365);
        assert_eq!(x.restrictive_syndrome, Some(true));
        p.tlc_pct_pred = Some(80.0);
        let x = derive_patient(&p, ColumnSet::default(), &ReadingIndex::default(), 365);
        assert_eq!(x.restrictive_syndrome, Some(false));
        p.restrictive_syndrome = Some(true);
        let x = derive_patient(&p, ColumnSet::default(), &ReadingIndex::default(), 365);
        assert_eq!(x.restrictive_syndrome, Some(true));
    }

    #[test]
    fn acr_eular_score_sums_the_highest_item_of_each_group() {
        let mut p = patient();
        assert_eq!(acr_eular_2013(&p, ColumnSet::default()), None);
        let it = &mut p.acr_eular;
        it.skin_proximal_mcp = Some(false);
        it.puffy_fingers = Some(true);
        it.sclerodactyly = Some(true); // 4, not 2 + 4
        it.fingertip_ulcers = Some(true);
        it.pitting_scars = Some(false); // 2
        it.telangiectasia = Some(false);
        it.abnormal_capillaries = Some(true); // 2
        it.raynaud = Some(true); // 3
        it.anti_centromere = Some(false);
        it.anti_scl70 = Some(true); // 3
        it.anti_rnap3 = Some(false);
        p.pah = Some(false);
        p.ild_ct = Some(true); // 2
        let s = acr_eular_2013(&p, with_items()).expect("score");
        assert_eq!(
            s,
            AcrEular2013 {
                score: 16,
                lower_bound: false,
                classified: Some(true)
            }
        );
    }

    #[test]
    fn acr_eular_missing_items_make_a_lower_bound() {
        let mut p = patient();
        p.acr_eular.skin_proximal_mcp = Some(false);
        p.acr_eular.raynaud = Some(true);
        p.acr_eular.sclerodactyly = Some(true);
        // 7 so far; the missing items could reach 9.
        let s = acr_eular_2013(&p, with_items()).expect("score");
        assert_eq!(
            s,
            AcrEular2013 {
                score: 7,
                lower_bound: true,
                classified: None
            }
        );
        // Every item known and below 9: not classified.
        let it = &mut p.acr_eular;
        for c in PatientColumn::ACR_EULAR_ITEMS {
            if let Some(v) = it.get_mut(c) {
                v.get_or_insert(false);
            }
        }
        p.pah = Some(false);
        p.ild_ct = Some(false);
        let s = acr_eular_2013(&p, with_items()).expect("score");
        assert_eq!(
            s,
            AcrEular2013 {
                score: 7,
                lower_bound: false,
                classified: Some(false)
            }
        );
        // Skin proximal to the MCPs is sufficient whatever the sum.
        p.acr_eular.skin_proximal_mcp = Some(true);
        let s = acr_eular_2013(&p, with_items()).expect("score");
        assert_eq!(s.classified, Some(true));
        assert_eq!(s.score, 7);
    }

    #[test]
    fn spine_any_is_three_valued() {
        assert_eq!(any_of(&[Some(false), None, Some(true)]), Some(true));
        assert_eq!(
            any_of(&[Some(false), Some(false), Some(false)]),
            Some(false)
        );
        assert_eq!(any_of(&[Some(false), None, Some(false)]), None);
        let mut p = patient();
        p.spine = [Some(false), Some(false), Some(false), Some(false)];
        let x = derive_patient(&p, ColumnSet::default(), &ReadingIndex::default(), 365);
        assert_eq!(x.spine_any, Some(false));
        assert_eq!(x.spine_source, FlagSource::Summary);
        assert_eq!(x.hand_source, FlagSource::Missing);
    }
}
