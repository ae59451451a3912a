//! The report rendered from a hand-built, realistic `Results`: snapshots of
//! every figure and of the HTML skeleton, self-containment, escaping, CSV
//! shape and the xlsx workbook.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use sclerad_analysis::results::{
    Agreement, AgreementKind, BinaryDetail, Comparison, ComparisonDetail, ContinuousDetail, Input,
    KmCurve, KmPoint, LevelPrevalence, Population, PopulationBySubset, Prevalence, ReadersUsed,
    Results, Software, SurvivalResult, SurvivalTest, TestName, FORMAT,
};
use sclerad_analysis::Settings;
use sclerad_report::{
    figures, forest_plot, km_plot, km_plots, prevalence_chart, render_html, report_files,
    spine_heatmap, tables_csv, tables_xlsx, ReportContext,
};

const Z95: f64 = 1.959_963_984_540_054;

/// Wilson score interval in percent, as the analysis computes it.
fn wilson(n: usize, den: usize) -> (Option<f64>, Option<f64>, Option<f64>) {
    if den == 0 {
        return (None, None, None);
    }
    let (x, m) = (n as f64, den as f64);
    let p = x / m;
    let z2 = Z95 * Z95;
    let centre = (p + z2 / (2.0 * m)) / (1.0 + z2 / m);
    let half = Z95 * (p * (1.0 - p) / m + z2 / (4.0 * m * m)).sqrt() / (1.0 + z2 / m);
    (
        Some(100.0 * p),
        Some(100.0 * (centre - half)),
        Some(100.0 * (centre + half)),
    )
}

fn prevalence(variable: &str, n: usize, den: usize) -> Prevalence {
    let (percent, ci_low, ci_high) = wilson(n, den);
    Prevalence {
        variable: variable.to_string(),
        n,
        denominator: den,
        percent,
        ci_low,
        ci_high,
    }
}

fn level(level: &str, segment: &str, n: usize, den: usize) -> LevelPrevalence {
    let (percent, ci_low, ci_high) = wilson(n, den);
    LevelPrevalence {
        variable: format!("{level}:{segment}"),
        level: level.to_string(),
        segment: segment.to_string(),
        n,
        denominator: den,
        percent,
        ci_low,
        ci_high,
    }
}

#[allow(clippy::too_many_arguments)]
fn population(
    n: usize,
    age: (f64, f64),
    female_n: usize,
    lcssc_n: usize,
    dcssc_n: usize,
    duration_n: usize,
    duration: (f64, f64),
    quartiles: (f64, f64, f64),
) -> Population {
    Population {
        n,
        age_n: n,
        age_mean: Some(age.0),
        age_sd: Some(age.1),
        female_n,
        female_percent: Some(100.0 * female_n as f64 / n as f64),
        lcssc_n,
        dcssc_n,
        duration_n,
        duration_mean: Some(duration.0),
        duration_sd: Some(duration.1),
        duration_median: Some(quartiles.1),
        duration_q1: Some(quartiles.0),
        duration_q3: Some(quartiles.2),
    }
}

/// A binary comparison; `or` = (estimate, low, high), `infinite` when b or c
/// is 0.
#[allow(clippy::too_many_arguments)]
fn binary(
    family: &str,
    exposure: &str,
    outcome: &str,
    abcd: [u64; 4],
    test: TestName,
    p: Option<f64>,
    adjusted: (Option<f64>, Option<f64>),
    or: (Option<f64>, Option<f64>, Option<f64>),
    infinite: bool,
) -> Comparison {
    let [a, b, c, d] = abcd;
    let n = a + b + c + d;
    let computable = test != TestName::NotComputable;
    let min_expected = computable.then(|| {
        let rows = [a + b, c + d];
        let cols = [a + c, b + d];
        rows.iter()
            .flat_map(|r| cols.iter().map(move |k| (r * k) as f64 / n as f64))
            .fold(f64::INFINITY, f64::min)
    });
    Comparison {
        id: format!("{family}:{exposure}:{outcome}"),
        family: family.to_string(),
        exposure: exposure.to_string(),
        outcome: outcome.to_string(),
        outcome_type: "binary",
        n: n as usize,
        test,
        p_value: p,
        p_holm: adjusted.0,
        p_bh: adjusted.1,
        detail: ComparisonDetail::Binary(BinaryDetail {
            a,
            b,
            c,
            d,
            min_expected,
            p_chi_square: p.map(|p| p * 0.8),
            p_fisher: p,
            odds_ratio: or.0,
            or_ci_low: or.1,
            or_ci_high: or.2,
            odds_ratio_infinite: infinite,
        }),
    }
}

/// A continuous comparison with groups summarised as (n, mean, sd, q1,
/// median, q3) and Shapiro p-values.
#[allow(clippy::too_many_arguments)]
fn continuous(
    family: &str,
    exposure: &str,
    outcome: &str,
    x: (usize, f64, f64, f64, f64, f64),
    y: (usize, f64, f64, f64, f64, f64),
    shapiro: (Option<f64>, Option<f64>),
    test: TestName,
    p: (Option<f64>, Option<f64>),
    adjusted: (Option<f64>, Option<f64>),
) -> Comparison {
    let chosen = match test {
        TestName::WelchT => p.0,
        TestName::MannWhitney => p.1,
        _ => None,
    };
    let some_if = |n: usize, v: f64| (n >= 1).then_some(v);
    let sd_if = |n: usize, v: f64| (n >= 2).then_some(v);
    Comparison {
        id: format!("{family}:{exposure}:{outcome}"),
        family: family.to_string(),
        exposure: exposure.to_string(),
        outcome: outcome.to_string(),
        outcome_type: "continuous",
        n: x.0 + y.0,
        test,
        p_value: chosen,
        p_holm: adjusted.0,
        p_bh: adjusted.1,
        detail: ComparisonDetail::Continuous(ContinuousDetail {
            n_exposed: x.0,
            mean_exposed: some_if(x.0, x.1),
            sd_exposed: sd_if(x.0, x.2),
            median_exposed: some_if(x.0, x.4),
            q1_exposed: some_if(x.0, x.3),
            q3_exposed: some_if(x.0, x.5),
            n_unexposed: y.0,
            mean_unexposed: some_if(y.0, y.1),
            sd_unexposed: sd_if(y.0, y.2),
            median_unexposed: some_if(y.0, y.4),
            q1_unexposed: some_if(y.0, y.3),
            q3_unexposed: some_if(y.0, y.5),
            p_shapiro_exposed: shapiro.0,
            p_shapiro_unexposed: shapiro.1,
            p_welch: p.0,
            p_mann_whitney: p.1,
            w: p.1.map(|_| 412.5),
        }),
    }
}

/// Kaplan–Meier steps of one group from (time, died) pairs, as R's survfit
/// lists them (one point per distinct time, events or censorings).
fn km(group: &'static str, data: &[(f64, bool)]) -> KmCurve {
    let mut data = data.to_vec();
    data.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut points = Vec::new();
    let mut at_risk = data.len() as u64;
    let mut surv = 1.0;
    let mut i = 0;
    while i < data.len() {
        let t = data[i].0;
        let same: Vec<_> = data[i..].iter().take_while(|d| d.0 == t).collect();
        let events = same.iter().filter(|d| d.1).count() as u64;
        let censored = same.len() as u64 - events;
        surv *= 1.0 - events as f64 / at_risk as f64;
        points.push(KmPoint {
            time: t,
            n_risk: at_risk,
            n_event: events,
            n_censor: censored,
            surv,
            lower: Some((surv - 0.1).max(0.0)),
            upper: Some((surv + 0.05).min(1.0)),
        });
        at_risk -= same.len() as u64;
        i += same.len();
    }
    KmCurve {
        group,
        n: data.len(),
        events: data.iter().filter(|d| d.1).count(),
        points,
    }
}

/// Deterministic follow-up: `n` patients, deaths at the listed indices.
fn follow_up(n: usize, seed: u64, deaths: &[usize]) -> Vec<(f64, bool)> {
    let mut state = seed;
    (0..n)
        .map(|i| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let u = (state >> 11) as f64 / (1u64 << 53) as f64;
            let died = deaths.contains(&i);
            let t = if died { 0.4 + 6.0 * u } else { 1.0 + 8.5 * u };
            ((t * 100.0).round() / 100.0, died)
        })
        .collect()
}

fn survival(
    exposure: &str,
    yes: KmCurve,
    no: KmCurve,
    cox: Option<(f64, f64, f64, f64)>,
    p_logrank: f64,
) -> SurvivalResult {
    SurvivalResult {
        id: format!("survival:{exposure}:death"),
        exposure: exposure.to_string(),
        n: yes.n + no.n,
        events: yes.events + no.events,
        test: SurvivalTest::LogRankCox,
        p_logrank: Some(p_logrank),
        hazard_ratio: cox.map(|c| c.0),
        hr_ci_low: cox.map(|c| c.1),
        hr_ci_high: cox.map(|c| c.2),
        p_wald: cox.map(|c| c.3),
        p_lr: cox.map(|c| c.3 * 0.9),
        km: vec![yes, no],
    }
}

fn agreement(
    variable: &str,
    a: &str,
    b: &str,
    n: usize,
    both: (usize, usize),
    kappa: Option<(f64, f64)>,
) -> Agreement {
    Agreement {
        kind: AgreementKind::Inter,
        modality: if variable.starts_with("spine_") {
            sclerad_analysis::results::Modality::Ct
        } else {
            sclerad_analysis::results::Modality::HandRadiograph
        },
        variable: variable.to_string(),
        reader_a: a.to_string(),
        reader_b: b.to_string(),
        n,
        both_yes: both.0,
        both_no: both.1,
        percent_agreement: (n > 0).then(|| 100.0 * (both.0 + both.1) as f64 / n as f64),
        kappa: kappa.map(|k| k.0),
        kappa_se: kappa.map(|k| k.1),
        kappa_ci_low: kappa.map(|k| (k.0 - 1.96 * k.1).max(-1.0)),
        kappa_ci_high: kappa.map(|k| (k.0 + 1.96 * k.1).min(1.0)),
        pabak: (n > 0).then(|| 2.0 * (both.0 + both.1) as f64 / n as f64 - 1.0),
        landis_koch: kappa.map(|k| sclerad_analysis::agreement::landis_koch(k.0)),
        graded_n: None,
        weighted_kappa: None,
        weighted_kappa_se: None,
        note: None,
    }
}

/// A realistic analysis of a 77-patient cohort shaped like the Nancy study.
fn results() -> Results {
    use TestName::*;
    let hand = [
        ("calcinosis", 20),
        ("acro_osteolysis", 16),
        ("periarticular_calcification", 22),
        ("erosion", 19),
        ("joint_space_narrowing", 33),
        ("subluxation", 15),
        ("flexion_contracture", 21),
    ];
    let spine = [
        ("spine_any", 64),
        ("spine_anterior", 62),
        ("spine_canal", 21),
        ("spine_foraminal", 9),
        ("spine_posterior", 27),
    ];
    let mut prevalences: Vec<Prevalence> = hand
        .iter()
        .chain(spine.iter())
        .map(|(v, n)| prevalence(v, *n, 77))
        .collect();
    prevalences.extend([
        prevalence("sex_female", 68, 77),
        prevalence("digital_ulcers", 31, 75),
        prevalence("ild_ct", 35, 77),
        prevalence("restrictive_syndrome", 18, 69),
        prevalence("pah", 8, 77),
        prevalence("death", 11, 77),
    ]);

    // Thoracic CTs for everyone (C7 to L1), abdominal coverage for 30
    // patients (L1 to S1: S1 seen by none), cervical spine seen by none
    // above C7.
    let levels = [
        "c1", "c2", "c3", "c4", "c5", "c6", "c7", "t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8",
        "t9", "t10", "t11", "t12", "l1", "l2", "l3", "l4", "l5", "s1",
    ];
    let mut level_prevalence = Vec::new();
    for (i, lv) in levels.iter().enumerate() {
        let den = match i {
            0..=5 => 0,
            6..=19 => 77,
            20..=23 => 30,
            _ => 0,
        };
        let shape = |peak: f64, width: f64, top: f64| {
            let d = (i as f64 - peak) / width;
            (top * (-d * d).exp() * den as f64 / 77.0).round() as usize
        };
        level_prevalence.push(level(lv, "anterior", shape(13.0, 5.0, 34.0).min(den), den));
        level_prevalence.push(level(lv, "canal", shape(15.0, 3.0, 9.0).min(den), den));
        level_prevalence.push(level(lv, "posterior", shape(17.0, 4.0, 12.0).min(den), den));
    }

    let comparisons = vec![
        // Subset family: Table 1 p-values.
        continuous(
            "subset",
            "subset_dcssc",
            "age_years",
            (22, 54.1, 12.3, 45.0, 55.5, 62.8),
            (55, 58.0, 11.4, 51.0, 58.0, 66.0),
            (Some(0.41), Some(0.22)),
            WelchT,
            (Some(0.2031), Some(0.1888)),
            (Some(0.8124), Some(0.4062)),
        ),
        binary(
            "subset",
            "subset_dcssc",
            "sex_female",
            [18, 4, 50, 5],
            FisherExact,
            Some(0.4523),
            (Some(1.0), Some(0.6031)),
            (Some(0.45), Some(0.09), Some(2.58)),
            false,
        ),
        continuous(
            "subset",
            "subset_dcssc",
            "disease_duration_years",
            (22, 8.2, 6.9, 3.0, 6.5, 11.0),
            (55, 11.9, 8.8, 5.0, 10.0, 16.5),
            (Some(0.003), Some(0.012)),
            MannWhitney,
            (Some(0.048), Some(0.0412)),
            (Some(0.2472), Some(0.1648)),
        ),
        binary(
            "subset",
            "subset_dcssc",
            "digital_ulcers",
            [12, 10, 19, 34],
            ChiSquare,
            Some(0.1337),
            (Some(0.6685), Some(0.2674)),
            (Some(2.13), Some(0.71), Some(6.51)),
            false,
        ),
        binary(
            "subset",
            "subset_dcssc",
            "ild_ct",
            [16, 6, 19, 36],
            ChiSquare,
            Some(0.00052),
            (Some(0.0042), Some(0.0042)),
            (Some(4.92), Some(1.55), Some(17.9)),
            false,
        ),
        binary(
            "subset",
            "subset_dcssc",
            "restrictive_syndrome",
            [9, 11, 9, 40],
            FisherExact,
            Some(0.0301),
            (Some(0.1806), Some(0.0803)),
            (Some(3.57), Some(1.02), Some(12.6)),
            false,
        ),
        binary(
            "subset",
            "subset_dcssc",
            "pah",
            [2, 20, 6, 49],
            FisherExact,
            Some(1.0),
            (Some(1.0), Some(1.0)),
            (Some(0.82), Some(0.07), Some(5.02)),
            false,
        ),
        binary(
            "subset",
            "subset_dcssc",
            "death",
            [5, 17, 6, 49],
            FisherExact,
            Some(0.2856),
            (Some(1.0), Some(0.4570)),
            (Some(2.37), Some(0.49), Some(10.9)),
            false,
        ),
        // Hand lesions and disease duration, one not computable.
        continuous(
            "hand_duration",
            "calcinosis",
            "disease_duration_years",
            (20, 14.6, 9.1, 8.0, 13.0, 19.5),
            (57, 9.4, 7.6, 4.0, 8.0, 13.0),
            (Some(0.31), Some(0.002)),
            MannWhitney,
            (Some(0.0261), Some(0.0093)),
            (Some(0.0558), Some(0.0326)),
        ),
        continuous(
            "hand_duration",
            "acro_osteolysis",
            "disease_duration_years",
            (16, 13.1, 7.2, 7.5, 12.0, 17.0),
            (61, 10.2, 8.5, 4.0, 9.0, 14.0),
            (Some(0.52), Some(0.08)),
            WelchT,
            (Some(0.1774), Some(0.1302)),
            (Some(0.3548), Some(0.2070)),
        ),
        continuous(
            "hand_duration",
            "subluxation",
            "disease_duration_years",
            (1, 21.0, 0.0, 21.0, 21.0, 21.0),
            (76, 10.6, 8.3, 4.8, 9.0, 14.3),
            (None, Some(0.001)),
            NotComputable,
            (None, None),
            (None, None),
        ),
        // Hand lesions and digital ulcers.
        binary(
            "hand_ulcers",
            "calcinosis",
            "digital_ulcers",
            [13, 7, 18, 37],
            ChiSquare,
            Some(0.0182),
            (Some(0.0364), Some(0.0364)),
            (Some(3.75), Some(1.20), Some(12.4)),
            false,
        ),
        binary(
            "hand_ulcers",
            "acro_osteolysis",
            "digital_ulcers",
            [10, 6, 21, 38],
            ChiSquare,
            Some(0.0706),
            (Some(0.0706), Some(0.0706)),
            (Some(2.98), Some(0.86), Some(10.9)),
            false,
        ),
        // Axial and peripheral: one not computable (nobody without a
        // spinal calcification read for subluxation).
        binary(
            "axial_peripheral",
            "spine_canal",
            "calcinosis",
            [9, 12, 11, 45],
            ChiSquare,
            Some(0.0402),
            (Some(0.1206), Some(0.0804)),
            (Some(3.02), Some(0.94), Some(9.78)),
            false,
        ),
        binary(
            "axial_peripheral",
            "spine_foraminal",
            "acro_osteolysis",
            [4, 5, 12, 56],
            FisherExact,
            Some(0.0671),
            (Some(0.1342), Some(0.0895)),
            (Some(3.66), Some(0.64), Some(19.6)),
            false,
        ),
        binary(
            "axial_peripheral",
            "spine_any",
            "subluxation",
            [15, 49, 0, 0],
            NotComputable,
            None,
            (None, None),
            (None, None, None),
            false,
        ),
        binary(
            "axial_peripheral",
            "spine_posterior",
            "erosion",
            [7, 20, 12, 38],
            ChiSquare,
            Some(0.8846),
            (Some(0.8846), Some(0.8846)),
            (Some(1.11), Some(0.33), Some(3.49)),
            false,
        ),
        // Prognosis: an infinite OR, a zero OR, a huge interval, a not
        // computable one.
        binary(
            "prognosis",
            "calcinosis",
            "ild_ct",
            [13, 7, 22, 35],
            ChiSquare,
            Some(0.0491),
            (Some(0.4419), Some(0.1473)),
            (Some(2.90), Some(0.91), Some(9.95)),
            false,
        ),
        binary(
            "prognosis",
            "spine_canal",
            "ild_ct",
            [12, 9, 23, 33],
            ChiSquare,
            Some(0.2204),
            (Some(1.0), Some(0.4408)),
            (Some(1.90), Some(0.61), Some(6.05)),
            false,
        ),
        binary(
            "prognosis",
            "spine_foraminal",
            "ild_ct",
            [5, 4, 30, 38],
            FisherExact,
            Some(0.7296),
            (Some(1.0), Some(0.8208)),
            (Some(1.58), Some(0.31), Some(8.58)),
            false,
        ),
        binary(
            "prognosis",
            "calcinosis",
            "pah",
            [3, 17, 5, 52],
            FisherExact,
            Some(0.6773),
            (Some(1.0), Some(0.8208)),
            (Some(1.82), Some(0.25), Some(10.6)),
            false,
        ),
        binary(
            "prognosis",
            "spine_canal",
            "pah",
            [0, 21, 8, 48],
            FisherExact,
            Some(0.1001),
            (Some(0.7007), Some(0.3003)),
            (Some(0.0), Some(0.0), Some(1.62)),
            false,
        ),
        binary(
            "prognosis",
            "spine_foraminal",
            "pah",
            [0, 9, 0, 68],
            NotComputable,
            None,
            (None, None),
            (None, None, None),
            false,
        ),
        binary(
            "prognosis",
            "calcinosis",
            "death",
            [6, 14, 5, 52],
            FisherExact,
            Some(0.0263),
            (Some(0.2104), Some(0.1183)),
            (Some(4.37), Some(0.96), Some(21.0)),
            false,
        ),
        binary(
            "prognosis",
            "spine_canal",
            "death",
            [7, 14, 4, 52],
            FisherExact,
            Some(0.0061),
            (Some(0.0549), Some(0.0549)),
            (Some(6.34), Some(1.40), Some(33.5)),
            false,
        ),
        binary(
            "prognosis",
            "spine_foraminal",
            "death",
            [4, 5, 7, 61],
            FisherExact,
            Some(0.0148),
            (Some(0.1036), Some(0.0888)),
            (Some(6.76), Some(1.08), Some(40.4)),
            false,
        ),
        binary(
            "prognosis",
            "acro_osteolysis",
            "death",
            [5, 11, 0, 61],
            FisherExact,
            Some(0.00031),
            (Some(0.0031), Some(0.0028)),
            (None, Some(4.03), None),
            true,
        ),
    ];

    let calcinosis_yes = km("yes", &follow_up(20, 7, &[0, 3, 8, 12, 17, 19]));
    let calcinosis_no = km("no", &follow_up(57, 11, &[2, 9, 30, 44, 51]));
    let foraminal_yes = km("yes", &follow_up(9, 5, &[1, 4, 6, 8]));
    let foraminal_no = km("no", &follow_up(68, 13, &[3, 10, 22, 35, 47, 58, 66]));
    let acro_yes = km("yes", &follow_up(16, 17, &[0, 5, 9, 11, 14]));
    let acro_no = km("no", &follow_up(61, 19, &[]));
    let survival = vec![
        survival(
            "calcinosis",
            calcinosis_yes,
            calcinosis_no,
            Some((3.71, 1.12, 12.3, 0.0318)),
            0.0214,
        ),
        survival(
            "spine_foraminal",
            foraminal_yes,
            foraminal_no,
            Some((6.12, 1.77, 21.2, 0.0043)),
            0.00047,
        ),
        survival("acro_osteolysis", acro_yes, acro_no, None, 0.000012),
        SurvivalResult {
            id: "survival:spine_any:death".to_string(),
            exposure: "spine_any".to_string(),
            n: 77,
            events: 11,
            test: SurvivalTest::NotComputable,
            p_logrank: None,
            hazard_ratio: None,
            hr_ci_low: None,
            hr_ci_high: None,
            p_wald: None,
            p_lr: None,
            km: vec![],
        },
    ];

    Results {
        format: FORMAT,
        software: Software { name: "sclerad", version: "0.1.0" },
        input: Input {
            path: "examples/nancy-demo".to_string(),
            sha256: "9f2c4e1a7b3d5f60818e2c9a4b6d0f1e3a5c7e9b1d3f5a7c9e1b3d5f7a9c1e3b".to_string(),
            patients: 77,
            patients_in_bundle: 79,
            excluded_ineligible: 2,
        },
        settings: Settings { exclude_ineligible: true, reader: Some("consensus".to_string()), ..Settings::default() },
        readers: ReadersUsed { hand: Some("consensus".to_string()), spine: None },
        population: population(77, (56.9, 11.7), 68, 55, 22, 76, (10.8, 8.4), (5.0, 9.0, 14.5)),
        population_by_subset: PopulationBySubset {
            lcssc: population(55, (58.0, 11.4), 50, 55, 0, 54, (11.9, 8.8), (5.0, 10.0, 16.5)),
            dcssc: population(22, (54.1, 12.3), 18, 0, 22, 22, (8.2, 6.9), (3.0, 6.5, 11.0)),
        },
        table1: table1_rows(),
        adjusted: vec![adjusted_foraminal_death()],
        prevalence: prevalences,
        level_prevalence,
        comparisons,
        survival,
        agreement: vec![
            agreement("calcinosis", "rad1", "rad2", 40, (11, 26), Some((0.8203, 0.0934))),
            agreement("acro_osteolysis", "rad1", "rad2", 40, (7, 28), Some((0.6471, 0.1302))),
            agreement("spine_canal", "rad1", "rad2", 38, (6, 22), Some((0.3958, 0.1511))),
            agreement("spine_foraminal", "rad1", "Dr Martin, MD", 0, (0, 0), None),
        ],
        fleiss: vec![sclerad_analysis::results::FleissAgreement {
            modality: sclerad_analysis::results::Modality::HandRadiograph,
            variable: "calcinosis".into(),
            readers: vec!["rad1".into(), "rad2".into(), "rad3".into()],
            n: 38,
            kappa: Some(0.7312),
            se: Some(0.0937),
            z: Some(7.8),
            p_value: Some(6.2e-15),
            landis_koch: Some("substantial"),
            note: None,
        }],
        warnings: vec![
            "2 patients were left out: imaging gap over 365 days (P017, P052).".to_string(),
            "Survival: 3 patients lack a last follow-up date and are left out of the survival analyses.".to_string(),
        ],
    }
}

fn context() -> ReportContext {
    ReportContext::new(
        "Imaging phenotypes in systemic sclerosis — Nancy cohort",
        "2026-11-20 10:00 UTC",
    )
}

/// The HTML without the stylesheet and with each SVG body replaced by a
/// marker naming its title: the report's skeleton.
fn skeleton(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(start) = rest.find("<style>") {
        out.push_str(&rest[..start + "<style>".len()]);
        let end = rest[start..].find("</style>").expect("closed style") + start;
        out.push('…');
        rest = &rest[end..];
    }
    out.push_str(rest);
    let html = out;
    let mut out = String::new();
    let mut rest = html.as_str();
    while let Some(start) = rest.find("<svg") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("</svg>").expect("closed svg") + start + "</svg>".len();
        let svg = &rest[start..end];
        let title = svg
            .find("<title>")
            .and_then(|t| {
                svg[t + 7..]
                    .find("</title>")
                    .map(|e| &svg[t + 7..t + 7 + e])
            })
            .unwrap_or("");
        out.push_str(&format!("<svg>[{title}]</svg>\n"));
        rest = &rest[end..];
        rest = rest.strip_prefix('\n').unwrap_or(rest);
    }
    out.push_str(rest);
    out
}

/// Splits CSV text (RFC 4180) into records of fields.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {
                assert_eq!(chars.next(), Some('\n'), "CR must be followed by LF");
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, '\n') => panic!("bare LF outside quotes"),
            (false, c) => field.push(c),
        }
    }
    assert!(
        field.is_empty() && record.is_empty(),
        "the last record ends with CRLF"
    );
    records
}

#[test]
fn figures_match_their_snapshots() {
    let r = results();
    insta::assert_snapshot!("prevalence_chart", prevalence_chart(&r));
    insta::assert_snapshot!("spine_heatmap", spine_heatmap(&r));
    insta::assert_snapshot!("forest_plot", forest_plot(&r));
    let km = km_plot(&r, "survival:calcinosis:death").expect("calcinosis has curves");
    insta::assert_snapshot!("km_calcinosis", km);
    let km = km_plot(&r, "survival:acro_osteolysis:death").expect("acro-osteolysis has curves");
    insta::assert_snapshot!("km_acro_osteolysis_no_hr", km);
    assert!(
        km_plot(&r, "survival:spine_any:death").is_none(),
        "not computable: no curve"
    );
    assert!(km_plot(&r, "survival:nothing:death").is_none());
}

#[test]
fn every_figure_is_a_standalone_svg() {
    let r = results();
    let all = figures(&r);
    let names: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "prevalence.svg",
            "spine_heatmap.svg",
            "forest_prognosis.svg",
            "km_calcinosis.svg",
            "km_spine_foraminal.svg",
            "km_acro_osteolysis.svg"
        ]
    );
    assert_eq!(km_plots(&r).len(), 3);
    for (name, svg) in &all {
        assert!(
            svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""),
            "{name}"
        );
        assert!(svg.trim_end().ends_with("</svg>"), "{name}");
        assert_eq!(svg.matches("<svg").count(), 1, "{name}");
        assert!(
            !svg.contains("NaN") && !svg.contains("inf\""),
            "{name}: non-finite coordinate"
        );
    }
}

#[test]
fn figures_show_the_special_cases() {
    let r = results();
    let heat = spine_heatmap(&r);
    // C1 to C6 and S1 are seen by no CT: hatched, never "0/0".
    assert_eq!(
        heat.matches("url(#sclerad-hatch)\"").count(),
        7 * 3 + 1,
        "21 cells and the legend swatch"
    );
    assert!(!heat.contains(">0/0<"));
    assert!(
        heat.contains(">0/30<") || heat.contains("/30<"),
        "lumbar cells over the 30 abdominal CTs"
    );
    let forest = forest_plot(&r);
    assert!(forest.contains("∞ [4.03–∞]"), "infinite OR written out");
    assert!(forest.contains("not computable"));
    assert!(forest.contains("0 [0–1.62]"), "zero OR written out");
    let km = km_plot(&r, "survival:acro_osteolysis:death").expect("curves");
    assert!(km.contains("HR not estimable"));
    assert!(km.contains("Number at risk"));
    assert!(!km.contains('≈'), "every step kept: exact numbers at risk");
    // Results keep a sample of the steps of long curves: numbers at risk
    // read across a dropped step are marked as approximate.
    let mut thinned = r.clone();
    let curve = &mut thinned.survival[0].km[1];
    let dropped = curve
        .points
        .iter()
        .position(|p| p.time > 1.9)
        .expect("a step after 1.9 years");
    curve.points.remove(dropped);
    let km = km_plot(&thinned, "survival:calcinosis:death").expect("curves");
    assert!(km.contains('≈'), "approximate number at risk marked");
}

#[test]
fn html_skeleton_matches_its_snapshot() {
    let html = render_html(&results(), &context());
    insta::assert_snapshot!("report_skeleton", skeleton(&html));
}

#[test]
fn html_is_self_contained() {
    let html = render_html(&results(), &context());
    assert!(html.starts_with("<!DOCTYPE html>"));
    let without_ns = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    assert!(
        !without_ns.contains("http://"),
        "no URL but the SVG namespace"
    );
    assert!(
        !without_ns.contains("https://"),
        "no URL but the SVG namespace"
    );
    for forbidden in [
        "<script", "<link", "<img", "<iframe", "@import", "url(http", "src=",
    ] {
        assert!(!html.contains(forbidden), "{forbidden}");
    }
    // Balanced structure.
    for tag in [
        "section", "table", "figure", "svg", "thead", "tbody", "ul", "p",
    ] {
        assert_eq!(
            html.matches(&format!("<{tag}>")).count() + html.matches(&format!("<{tag} ")).count(),
            html.matches(&format!("</{tag}>")).count(),
            "<{tag}> opened and closed"
        );
    }
    // Every figure is inline.
    assert_eq!(html.matches("<svg xmlns").count(), 6);
    assert!(html.contains("@media print"));
}

/// Table 1 rows the subset family does not give: a continuous measure
/// (tested on medians), an antibody, the CT type (Fisher R × C).
fn table1_rows() -> Vec<sclerad_analysis::table1::Table1Row> {
    use sclerad_analysis::table1::{Table1Group, Table1Kind, Table1Row};
    let group = |n: usize, n_missing: usize| Table1Group {
        n,
        n_missing,
        count: None,
        percent: None,
        mean: None,
        sd: None,
        median: None,
        q1: None,
        q3: None,
        counts: None,
    };
    let measure = |n, missing, (mean, sd), (q1, median, q3)| Table1Group {
        mean: Some(mean),
        sd: Some(sd),
        median: Some(median),
        q1: Some(q1),
        q3: Some(q3),
        ..group(n, missing)
    };
    let yes = |n, count: usize| Table1Group {
        count: Some(count),
        percent: Some(100.0 * count as f64 / n as f64),
        ..group(n, 0)
    };
    let ct = |n, counts: Vec<usize>| Table1Group {
        counts: Some(counts),
        ..group(n, 0)
    };
    vec![
        // Already in the table as a subset comparison: not shown twice.
        Table1Row {
            variable: "age_years".into(),
            kind: Table1Kind::Continuous,
            levels: None,
            lcssc: measure(55, 0, (58.0, 11.4), (50.0, 58.0, 66.0)),
            dcssc: measure(22, 0, (54.1, 12.3), (45.0, 54.0, 62.0)),
            overall: measure(77, 0, (56.9, 11.7), (49.0, 57.0, 65.0)),
            test: TestName::WelchT,
            p_value: Some(0.2),
            min_expected: None,
        },
        Table1Row {
            variable: "mrss".into(),
            kind: Table1Kind::Continuous,
            levels: None,
            lcssc: measure(54, 1, (6.1, 3.2), (4.0, 6.0, 8.0)),
            dcssc: measure(22, 0, (24.3, 7.7), (18.0, 24.5, 30.0)),
            overall: measure(76, 1, (11.4, 9.6), (5.0, 8.0, 17.0)),
            test: TestName::MannWhitney,
            p_value: Some(2.1e-9),
            min_expected: None,
        },
        Table1Row {
            variable: "anti_scl70".into(),
            kind: Table1Kind::Binary,
            levels: None,
            lcssc: yes(55, 3),
            dcssc: yes(22, 14),
            overall: yes(77, 17),
            test: TestName::FisherExact,
            p_value: Some(9.7e-10),
            min_expected: Some(4.857142857142857),
        },
        Table1Row {
            variable: "ct_type".into(),
            kind: Table1Kind::Categorical,
            levels: Some(vec!["thoracic".into(), "tap".into(), "lumbar".into()]),
            lcssc: ct(55, vec![21, 23, 11]),
            dcssc: ct(22, vec![15, 5, 2]),
            overall: ct(77, vec![36, 28, 13]),
            test: TestName::FisherExact,
            p_value: Some(0.0611),
            min_expected: Some(3.7142857142857144),
        },
    ]
}

/// Foraminal calcification and death adjusted by Firth's method.
fn adjusted_foraminal_death() -> sclerad_analysis::adjusted::AdjustedModel {
    use sclerad_analysis::adjusted::{AdjustedModel, ModelMethod, ModelTerm};
    let term = |name: &str, or: f64, low: f64, high: f64, p: f64| ModelTerm {
        term: name.into(),
        estimate: Some(or.ln()),
        se: Some(0.8),
        odds_ratio: Some(or),
        ci_low: Some(low),
        ci_high: Some(high),
        p_wald: None,
        p_lr: Some(p),
    };
    AdjustedModel {
        id: "adjusted:spine_foraminal:death".into(),
        exposure: "spine_foraminal".into(),
        outcome: "death".into(),
        n: 76,
        events: 8,
        method: ModelMethod::Firth,
        covariates: vec!["age_years".into(), "sex_female".into()],
        terms: vec![
            term("spine_foraminal", 8.35, 1.68, 46.95, 0.0102),
            term("age_years", 1.01, 0.95, 1.08, 0.71),
            term("sex_female", 0.8, 0.1, 5.2, 0.8),
        ],
        odds_ratio: Some(8.35),
        or_ci_low: Some(1.68),
        or_ci_high: Some(46.95),
        p_value: Some(0.0102),
        p_holm: Some(0.32),
        p_bh: Some(0.32),
        note: None,
    }
}

#[test]
fn fleiss_kappa_has_its_table_with_three_readers() {
    let html = render_html(&results(), &context());
    let table = html
        .split("id=\"table-fleiss\"")
        .nth(1)
        .and_then(|t| t.split("</table>").next())
        .expect("the Fleiss table");
    assert!(table.contains("<tr data-fleiss=\"calcinosis\"><th scope=\"row\">Calcinosis</th><td>rad1, rad2, rad3</td><td class=\"num\">38</td><td class=\"num\">0.73 ± 0.09</td><td class=\"num\">&lt;0.001</td><td>substantial</td></tr>"), "{table}");
    assert!(!render_html(&empty_results(), &ReportContext::default()).contains("table-fleiss"));
}

#[test]
fn adjusted_models_sit_beside_the_univariable_comparison() {
    let html = render_html(&results(), &context());
    let table = html
        .split("id=\"table-adjusted\"")
        .nth(1)
        .and_then(|t| t.split("</table>").next())
        .expect("the adjusted models' table");
    assert!(
        table.contains("adjusted for age, sex, subset, disease duration"),
        "{table}"
    );
    let row = table
        .split("<tr data-adjusted=\"adjusted:spine_foraminal:death\">")
        .nth(1)
        .and_then(|t| t.split("</tr>").next())
        .expect("the model's row");
    assert!(row.contains("Spine: foraminal</th><td>Death</td>"), "{row}");
    assert!(row.contains("<td class=\"num\">76 (8)</td>"), "{row}");
    assert!(
        row.contains("<td class=\"num\">8.35 [1.68–46.95]</td>"),
        "{row}"
    );
    assert!(
        row.contains("<td class=\"num\">0.010</td><td>Firth</td>"),
        "{row}"
    );
}

#[test]
fn table1_rows_beyond_the_subset_family_are_shown_once() {
    let html = render_html(&results(), &context());
    let table = html
        .split("id=\"table-population\"")
        .nth(1)
        .and_then(|t| t.split("</table>").next())
        .expect("Table 1");
    // Age comes from the subset family, once.
    assert_eq!(table.matches("Age, years, mean ± SD").count(), 1);
    assert!(!table.contains("data-table1=\"age_years\""));
    // mRSS: tested on medians, so its p sits on the median row.
    assert!(table.contains("<tr data-table1=\"mrss\"><th scope=\"row\">mRSS, mean ± SD</th>"));
    assert!(table.contains("6.1 ± 3.2 (n = 54)"), "{table}");
    assert!(table.contains(
        "<th scope=\"row\">mRSS, median [Q1–Q3]</th><td class=\"num\">6.0 [4.0–8.0]</td>"
    ));
    assert!(table.contains("Anti-Scl-70 antibodies, n/N (%)"));
    assert!(table.contains("14/22 (63.6%)"));
    // The CT type: a row with the test, then a row per level.
    assert!(table.contains("CT type, n/N (%)"));
    assert!(table
        .contains("<td class=\"num\">0.061</td><td class=\"test\">Fisher&#39;s exact test</td>"));
    assert!(table.contains("Thoraco-abdomino-pelvic</th><td class=\"num\">23/55 (41.8%)</td>"));
    assert!(table.contains("Lumbar</th><td class=\"num\">11/55 (20.0%)</td><td class=\"num\">2/22 (9.1%)</td><td class=\"num\">13/77 (16.9%)</td>"));
}

#[test]
fn html_shows_numbers_as_specified() {
    let html = render_html(&results(), &context());
    assert!(
        html.contains("<td class=\"num\">&lt;0.001</td>"),
        "p below 0.001"
    );
    assert!(
        html.contains("<td class=\"num\">0.006</td>"),
        "p with three decimals"
    );
    assert!(html.contains("∞ [4.03–∞]"), "infinite OR");
    assert!(html.contains("Fisher&#39;s exact test"));
    assert!(html.contains("Mann–Whitney U test"));
    assert!(html.contains("Welch&#39;s t-test"));
    assert!(html.contains("not computable"));
    assert!(html.contains("56.9 ± 11.7"), "age mean ± SD");
    assert!(html.contains("68 (88.3%)"), "women n (%)");
    assert!(html.contains("9.0 [5.0–14.5]"), "duration median [Q1–Q3]");
    assert!(html.contains("20/77"), "prevalence n/N");
    assert!(
        html.contains("0.82 ± 0.09") && html.contains(">good<"),
        "kappa and band"
    );
    assert!(html.contains(">moderate<") && html.contains(">poor<"));
    assert!(
        html.contains("without continuity correction"),
        "methods follow the Yates setting"
    );
    for test in [
        "Shapiro–Wilk",
        "Holm",
        "Benjamini–Hochberg",
        "Wilson",
        "log-rank",
        "Efron",
        "Cohen&#39;s kappa",
    ] {
        assert!(html.contains(test), "methods name {test}");
    }
    let mut with_yates = results();
    with_yates.settings.yates = true;
    let html = render_html(&with_yates, &context());
    assert!(html.contains("with Yates&#39; continuity correction"));
    assert!(html.contains("Chi-square test (Yates)"));
}

const INJECTION: &str = "<script>alert('x')</script>";

#[test]
fn data_strings_are_escaped() {
    let mut r = results();
    r.input.path = format!("/data/{INJECTION}");
    r.input.sha256 = INJECTION.to_string();
    r.warnings
        .push(format!("Patient {INJECTION} has \"quotes\" & ampersands"));
    r.readers.spine = Some(INJECTION.to_string());
    r.settings.reader = Some(INJECTION.to_string());
    r.settings.pah_definition = INJECTION.to_string();
    r.prevalence.push(prevalence(INJECTION, 1, 2));
    r.level_prevalence.push(level(INJECTION, INJECTION, 1, 3));
    r.agreement[0].reader_a = INJECTION.to_string();
    r.comparisons[0].id = format!("\"><img src=x onerror=alert(1)>{INJECTION}");
    r.comparisons.push(binary(
        INJECTION,
        INJECTION,
        INJECTION,
        [1, 2, 3, 4],
        TestName::FisherExact,
        Some(0.5),
        (None, None),
        (Some(1.0), Some(0.1), Some(10.0)),
        false,
    ));
    r.survival[0].exposure = INJECTION.to_string();
    let context = ReportContext::new(INJECTION, INJECTION);
    let html = render_html(&r, &context);
    assert!(!html.contains("<script"), "no raw script tag");
    assert!(!html.contains("<img"), "no raw img tag");
    assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
    assert!(html.contains("&quot;quotes&quot; &amp; ampersands"));
    for (name, svg) in figures(&r) {
        assert!(!svg.contains("<script"), "{name}");
    }
    for (name, csv) in tables_csv(&r) {
        let records = parse_csv(&csv);
        assert!(
            records.iter().all(|rec| rec.len() == records[0].len()),
            "{name}"
        );
    }
}

#[test]
fn csv_tables_are_rectangular_and_precise() {
    let r = results();
    let tables = tables_csv(&r);
    let names: Vec<&str> = tables.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "population.csv",
            "prevalence.csv",
            "level_prevalence.csv",
            "comparisons.csv",
            "survival.csv",
            "km_points.csv",
            "agreement.csv",
            "table1.csv",
            "adjusted.csv",
            "fleiss.csv"
        ]
    );
    // Table 1 in long form: 3 groups a variable, a row a level for the CT
    // type; the adjusted models a row a term; Fleiss a row a finding.
    let lines = |name: &str| {
        tables
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, text)| text.lines().count() - 1)
            .expect(name)
    };
    assert_eq!(lines("table1.csv"), 3 * 3 + 3 * 3);
    assert_eq!(lines("adjusted.csv"), 3);
    assert_eq!(lines("fleiss.csv"), 1);
    let ct = tables
        .iter()
        .find(|(n, _)| n == "table1.csv")
        .map(|(_, text)| text.clone())
        .expect("table1.csv");
    assert!(
        ct.contains("ct_type,categorical,tap,dcssc,22,0,5,22.727272727272727,"),
        "{ct}"
    );
    let expected_rows = [
        3,
        r.prevalence.len(),
        r.level_prevalence.len(),
        r.comparisons.len(),
        r.survival.len(),
    ];
    for (i, (name, text)) in tables.iter().enumerate() {
        let records = parse_csv(text);
        let width = records[0].len();
        for (k, rec) in records.iter().enumerate() {
            assert_eq!(rec.len(), width, "{name} record {k}");
        }
        if let Some(rows) = expected_rows.get(i) {
            assert_eq!(records.len() - 1, *rows, "{name}");
        }
    }
    let prevalence = parse_csv(&tables[1].1);
    assert_eq!(
        prevalence[0],
        [
            "variable",
            "n",
            "denominator",
            "percent",
            "ci_low",
            "ci_high"
        ]
    );
    let calcinosis = &prevalence[1];
    assert_eq!(calcinosis[0], "calcinosis");
    let pct: f64 = calcinosis[3].parse().expect("a number");
    assert_eq!(
        pct,
        r.prevalence[0].percent.expect("percent"),
        "full precision round trip"
    );
    let agreement = parse_csv(&tables[6].1);
    assert_eq!(
        agreement[4][2], "Dr Martin, MD",
        "quoted field with a comma"
    );
    assert_eq!(agreement[4][7], "", "null is empty");
    assert!(tables[6].1.contains("\"Dr Martin, MD\""));
    let comparisons = parse_csv(&tables[3].1);
    let header = &comparisons[0];
    let col = |name: &str| header.iter().position(|h| h == name).expect(name);
    let infinite = comparisons
        .iter()
        .find(|rec| rec[0] == "prognosis:acro_osteolysis:death")
        .expect("row");
    assert_eq!(infinite[col("odds_ratio")], "");
    assert_eq!(infinite[col("odds_ratio_infinite")], "true");
    assert_eq!(infinite[col("test")], "fisher_exact");
}

#[test]
fn xlsx_workbook_opens_with_one_sheet_per_table() {
    let r = results();
    let bytes = tables_xlsx(&r).expect("workbook");
    assert!(bytes.starts_with(b"PK"), "an xlsx is a zip file");
    let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).expect("opens");
    assert_eq!(
        workbook.sheet_names(),
        [
            "population",
            "prevalence",
            "level_prevalence",
            "comparisons",
            "survival",
            "km_points",
            "agreement",
            "table1",
            "adjusted",
            "fleiss"
        ]
    );
    let prevalence = workbook.worksheet_range("prevalence").expect("sheet");
    assert_eq!(
        prevalence.get((0, 0)),
        Some(&Data::String("variable".to_string()))
    );
    assert_eq!(
        prevalence.get((1, 1)),
        Some(&Data::Float(20.0)),
        "counts are numbers"
    );
    assert_eq!(
        prevalence.get((1, 3)),
        Some(&Data::Float(r.prevalence[0].percent.expect("percent")))
    );
    let agreement = workbook.worksheet_range("agreement").expect("sheet");
    let last = agreement.height() - 1;
    assert!(
        matches!(agreement.get((last, 7)), None | Some(Data::Empty)),
        "null is an empty cell"
    );
    let comparisons = workbook.worksheet_range("comparisons").expect("sheet");
    assert_eq!(comparisons.height(), r.comparisons.len() + 1);
    assert_eq!(comparisons.width(), 38);
}

#[test]
fn report_files_lists_everything() {
    let files = report_files(&results(), &context()).expect("files");
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names[0], "report.html");
    assert!(names.contains(&"figures/forest_prognosis.svg"));
    assert!(names.contains(&"tables/comparisons.csv"));
    assert_eq!(names.last(), Some(&"tables/tables.xlsx"));
    if let Ok(dir) = std::env::var("SCLERAD_REPORT_DUMP") {
        for (name, bytes) in &files {
            let path = std::path::Path::new(&dir).join(name);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("dir");
            std::fs::write(path, bytes).expect("write");
        }
    }
}

/// An analysis with nothing in it: a bundle without readings, dates or
/// second reader, and no patient.
fn empty_results() -> Results {
    let nobody = Population {
        n: 0,
        age_n: 0,
        age_mean: None,
        age_sd: None,
        female_n: 0,
        female_percent: None,
        lcssc_n: 0,
        dcssc_n: 0,
        duration_n: 0,
        duration_mean: None,
        duration_sd: None,
        duration_median: None,
        duration_q1: None,
        duration_q3: None,
    };
    Results {
        format: FORMAT,
        software: Software {
            name: "sclerad",
            version: "0.1.0",
        },
        input: Input {
            path: String::new(),
            sha256: String::new(),
            patients: 0,
            patients_in_bundle: 0,
            excluded_ineligible: 0,
        },
        settings: Settings::default(),
        readers: ReadersUsed {
            hand: None,
            spine: None,
        },
        population: nobody.clone(),
        population_by_subset: PopulationBySubset {
            lcssc: nobody.clone(),
            dcssc: nobody,
        },
        table1: vec![],
        adjusted: vec![],
        prevalence: vec![prevalence("calcinosis", 0, 0)],
        level_prevalence: vec![],
        comparisons: vec![],
        survival: vec![],
        agreement: vec![],
        fleiss: vec![],
        warnings: vec![],
    }
}

#[test]
fn an_empty_analysis_still_renders() {
    let r = empty_results();
    let html = render_html(&r, &ReportContext::default());
    assert!(html.contains("<title>sclerad analysis report</title>"));
    assert!(html.contains("No comparison was computed."));
    assert!(html.contains("No survival analysis"));
    assert!(html.contains("No agreement analysis"));
    assert!(html.contains("The analysis raised no warning."));
    assert!(html.contains("No spine readings"));
    assert!(
        html.contains("no patient with a value"),
        "prevalence over 0 patients"
    );
    assert_eq!(figures(&r).len(), 3, "no Kaplan–Meier figure");
    for (name, csv) in tables_csv(&r) {
        let records = parse_csv(&csv);
        assert!(!records.is_empty(), "{name} has its header");
    }
    let bytes = tables_xlsx(&r).expect("workbook");
    assert!(bytes.starts_with(b"PK"));
}
