//! A random cohort with plausible correlations between the lesions and the
//! clinical picture.

use chrono::{Duration, NaiveDate};
use sclerad_model::{
    Cohort, ColumnSet, CtType, LevelSet, Patient, PatientColumn as Col, Sex, SpineFlag, Subset,
};

use crate::readings::{hand_readings, spine_readings, ReaderNoise};
use crate::rng::Rng;

/// Whether lesions are given as summary columns or as long-format readings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadingsMode {
    /// The lesion columns of `patients`.
    Summary,
    /// `hand_readings` and `spine_readings` by these readers (`consensus`
    /// reads the truth; the others add noise).
    Long(Vec<String>),
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct SynthOptions {
    /// Number of patients.
    pub patients: usize,
    /// Seed: the same seed gives the same cohort.
    pub seed: u64,
    /// Summary flags or readings.
    pub readings: ReadingsMode,
    /// Reader noise for long-format readings.
    pub noise: ReaderNoise,
}

impl Default for SynthOptions {
    fn default() -> Self {
        SynthOptions {
            patients: 100,
            seed: 1,
            readings: ReadingsMode::Summary,
            noise: ReaderNoise::default(),
        }
    }
}

fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn day(base: NaiveDate, days: i64) -> NaiveDate {
    base.checked_add_signed(Duration::days(days))
        .unwrap_or(base)
}

/// Columns written by [`generate`].
fn columns(summary: bool) -> ColumnSet {
    let mut c = ColumnSet::default();
    for col in [
        Col::PatientId,
        Col::Sex,
        Col::BirthDate,
        Col::Subset,
        Col::OnsetDate,
        Col::HandXrayDate,
        Col::CtDate,
        Col::CtType,
        Col::DigitalUlcers,
        Col::IldCt,
        Col::FvcPctPred,
        Col::TlcPctPred,
        Col::DlcoPctPred,
        Col::Pah,
        Col::Death,
        Col::DeathDate,
        Col::LastFollowupDate,
        Col::Mrss,
    ] {
        c.insert(col);
    }
    for col in Col::ACR_EULAR_ITEMS {
        c.insert(col);
    }
    if summary {
        for col in Col::ALL.iter().skip_while(|c| **c != Col::Calcinosis) {
            c.insert(*col);
        }
    }
    c
}

/// Draws a cohort. Every patient validates: dates are in order, levels lie
/// inside the CT's coverage, foraminal implies canal.
pub fn generate(options: &SynthOptions) -> Cohort {
    let mut rng = Rng::new(options.seed);
    let summary = options.readings == ReadingsMode::Summary;
    let readers = match &options.readings {
        ReadingsMode::Summary => Vec::new(),
        ReadingsMode::Long(r) => r.clone(),
    };
    let mut hand = Vec::new();
    let mut spine = Vec::new();
    let width = options.patients.max(1).to_string().len().max(4);
    let epoch = NaiveDate::from_ymd_opt(2008, 1, 1).unwrap_or_default();
    let mut patients = Vec::with_capacity(options.patients);
    for i in 0..options.patients {
        let r = &mut rng;
        let id = format!("S{:0width$}", i + 1);
        let sex = if r.chance(0.88) {
            Sex::Female
        } else {
            Sex::Male
        };
        let diffuse = r.chance(0.29);
        let subset = if diffuse {
            Subset::Diffuse
        } else {
            Subset::Limited
        };
        let mut p = Patient::new(0, id, sex, subset);

        let hand_date = day(epoch, r.between(0, 4000));
        let gap = if r.chance(0.01) {
            r.between(366, 700)
        } else {
            r.between(0, 330)
        };
        let ct_date = day(hand_date, if r.chance(0.5) { gap } else { -gap });
        let age = (57.0 + 12.0 * r.normal()).clamp(20.0, 88.0);
        let birth = day(hand_date, -((age * 365.25) as i64) - r.between(0, 364));
        let duration = (r.uniform().ln() * -0.5 + r.uniform().ln() * -0.5) * 8.0 + 0.5;
        let duration = duration.min(age - 12.0).max(0.2);
        let onset = day(hand_date, -((duration * 365.25) as i64));
        p.birth_date = Some(birth);
        p.onset_date = Some(onset);
        p.hand_xray_date = Some(hand_date);
        p.ct_date = Some(ct_date);
        let ct_type = *r.pick(&[
            CtType::Thoracic,
            CtType::Thoracic,
            CtType::Thoracic,
            CtType::ThoracoAbdominoPelvic,
            CtType::ThoracoAbdominoPelvic,
            CtType::Lumbar,
        ]);
        p.ct_type = Some(ct_type);

        // Hand lesions rise with disease duration; calcinosis and
        // acro-osteolysis more in limited disease.
        let d = (duration - 10.0) / 8.0;
        let lc = if diffuse { -0.3 } else { 0.3 };
        let lesions = [
            r.chance(logistic(-1.1 + 0.6 * d + lc)), // calcinosis
            r.chance(logistic(-1.4 + 0.7 * d + lc)), // acro-osteolysis
            r.chance(logistic(-1.1 + 0.4 * d)),      // periarticular calcification
            r.chance(logistic(-1.2 + 0.3 * d)),      // erosion
            r.chance(logistic(-0.3 + 0.5 * d)),      // joint space narrowing
            r.chance(logistic(-1.4 + 0.3 * d)),      // subluxation
            r.chance(logistic(-1.1 + 0.4 * d - lc)), // flexion contracture
        ];
        let a = (age - 57.0) / 12.0;
        let anterior = r.chance(logistic(1.3 + 0.8 * a));
        let canal = r.chance(logistic(-1.0 + 0.3 * a));
        let foraminal = canal && r.chance(0.43);
        let posterior = r.chance(logistic(
            -0.6 + 0.3 * a + if lesions[2] { 0.5 } else { 0.0 },
        ));
        let spine_flags = [anterior, canal, foraminal, posterior];

        let du = r.chance(logistic(
            -0.4 + if lesions[0] || lesions[1] { 0.8 } else { 0.0 },
        ));
        let ild = r.chance(logistic(
            -1.0 + if diffuse { 1.2 } else { 0.0 } + if posterior { 0.6 } else { 0.0 },
        ));
        let pah = r.chance(logistic(-2.4 + if lesions[0] { 0.9 } else { 0.0 }));
        let death = r.chance(logistic(
            -2.5 + 0.5 * a + if foraminal { 1.4 } else { 0.0 } + if pah { 1.0 } else { 0.0 },
        ));
        let missing = |r: &mut Rng, v: bool| if r.chance(0.02) { None } else { Some(v) };
        p.digital_ulcers = missing(r, du);
        p.ild_ct = missing(r, ild);
        p.pah = Some(pah);
        p.death = Some(death);
        if death {
            p.death_date = Some(day(hand_date.max(ct_date), r.between(30, 3000)));
        } else {
            p.last_followup_date = Some(day(hand_date, r.between(200, 4000)));
        }
        let tlc = 88.0 + 14.0 * r.normal() - if ild { 12.0 } else { 0.0 };
        p.tlc_pct_pred = (!r.chance(0.1)).then(|| (tlc.clamp(30.0, 140.0) * 10.0).round() / 10.0);
        p.fvc_pct_pred = p
            .tlc_pct_pred
            .map(|t| (t + 5.0 * r.normal()).clamp(20.0, 150.0).round());
        p.dlco_pct_pred = Some((70.0 + 15.0 * r.normal()).clamp(15.0, 130.0).round());
        p.mrss = Some(if diffuse {
            r.between(10, 40)
        } else {
            r.between(0, 14)
        } as u8);
        let it = &mut p.acr_eular;
        it.skin_proximal_mcp = Some(diffuse || r.chance(0.2));
        it.puffy_fingers = Some(r.chance(0.6));
        it.sclerodactyly = Some(r.chance(0.8));
        it.fingertip_ulcers = Some(du);
        let scars = r.chance(0.4);
        it.pitting_scars = missing(r, scars);
        it.telangiectasia = Some(r.chance(0.6));
        let capillaries = r.chance(0.8);
        it.abnormal_capillaries = missing(r, capillaries);
        it.raynaud = Some(r.chance(0.97));
        it.anti_centromere = Some(!diffuse && r.chance(0.55));
        it.anti_scl70 = Some(diffuse && r.chance(0.55));
        it.anti_rnap3 = Some(diffuse && r.chance(0.1));
        if summary {
            p.hand = lesions.map(Some);
            p.spine = spine_flags.map(Some);
        } else {
            let coverage = LevelSet::default_for(ct_type);
            hand_readings(
                &p.patient_id,
                lesions,
                &readers,
                options.noise,
                r,
                &mut hand,
            );
            spine_readings(
                &p.patient_id,
                spine_flags,
                coverage,
                &readers,
                options.noise,
                r,
                &mut spine,
            );
        }
        debug_assert!(
            !spine_flags[SpineFlag::Foraminal.index()] || spine_flags[SpineFlag::Canal.index()]
        );
        patients.push(p);
    }
    let (hand, spine) = if summary {
        (None, None)
    } else {
        (Some(hand), Some(spine))
    };
    crate::assemble(patients, columns(summary), hand, spine)
}
