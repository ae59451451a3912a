//! Running the plan.

use std::collections::{BTreeSet, HashMap};

use sclerad_model::{
    derive, Cohort, ReaderChoice, ReaderSelection, SpineSegment, Subset, VertebralLevel,
};
use sclerad_stats::{
    chisq_test, cox_ph, log_rank, p_adjust, quantiles, shapiro_wilk, welch_t_test,
    wilcoxon_rank_sum, wilson, AdjustMethod, Ties,
};

use crate::results::*;
use crate::settings::Settings;
use crate::variables::{
    is_continuous, Columns, Subject, BINARY_CLINICAL, HAND_LESIONS, SPINE_FLAGS,
};

/// What the results say about the input.
#[derive(Debug, Clone)]
pub struct InputInfo {
    /// Bundle path as given.
    pub path: String,
    /// SHA-256 fingerprint of the bundle.
    pub sha256: String,
}

/// Why the analysis could not run.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    /// No reader could be chosen for a readings table.
    #[error("{table}: {reason}")]
    Reader {
        /// hand_readings or spine_readings.
        table: &'static str,
        /// The reader rule's complaint.
        reason: String,
    },
    /// Nobody left to analyse.
    #[error("no patients to analyse{0}")]
    NoPatients(&'static str),
}

/// Runs the whole plan on a validated cohort.
pub fn analyze(
    cohort: &Cohort,
    settings: &Settings,
    input: &InputInfo,
) -> Result<Results, AnalysisError> {
    let choice = ReaderChoice::resolve(cohort, settings.reader.as_deref());
    if let Err(e) = &choice.hand {
        return Err(AnalysisError::Reader {
            table: "hand_readings",
            reason: e.to_string(),
        });
    }
    if let Err(e) = &choice.spine {
        return Err(AnalysisError::Reader {
            table: "spine_readings",
            reason: e.to_string(),
        });
    }
    let selection = choice.selection();
    let derived = derive(cohort, &selection, settings.imaging_window_days);
    let mut warnings = Vec::new();

    // Eligibility.
    let mut keep = vec![true; derived.len()];
    let mut ineligible = Vec::new();
    for (i, d) in derived.iter().enumerate() {
        let outside = d.imaging_within_window == Some(false);
        let unclassified = d.acr_eular_2013.and_then(|a| a.classified) == Some(false);
        if outside || unclassified {
            ineligible.push((d.patient_id.as_str(), outside, unclassified));
            keep[i] = !settings.exclude_ineligible;
        }
    }
    if !ineligible.is_empty() {
        let outside = ineligible.iter().filter(|x| x.1).count();
        let unclassified = ineligible.iter().filter(|x| x.2).count();
        let ids: Vec<&str> = ineligible.iter().take(10).map(|x| x.0).collect();
        let more = if ineligible.len() > 10 { ", …" } else { "" };
        warnings.push(format!(
            "{} patient(s) not eligible ({outside} with CT and hand radiograph more than {} days apart, {unclassified} not meeting ACR/EULAR 2013): {}{more}; {}",
            ineligible.len(),
            settings.imaging_window_days,
            ids.join(", "),
            if settings.exclude_ineligible { "they were left out" } else { "they were kept (use --exclude-ineligible to leave them out)" }
        ));
    }
    let subjects: Vec<Subject<'_>> = cohort
        .patients
        .iter()
        .zip(&derived)
        .zip(&keep)
        .filter(|(_, k)| **k)
        .map(|((patient, derived), _)| Subject { patient, derived })
        .collect();
    if subjects.is_empty() {
        return Err(AnalysisError::NoPatients(if settings.exclude_ineligible {
            " once the ineligible patients are left out"
        } else {
            ""
        }));
    }

    // The three populations (each sorts its durations for the quartiles)
    // are computed on another core while the variable columns are built.
    let (columns, (population, population_by_subset)) = std::thread::scope(|scope| {
        let populations = scope.spawn(|| {
            let of =
                |subset: Subset| population(subjects.iter().filter(|s| s.patient.subset == subset));
            (
                population(subjects.iter()),
                PopulationBySubset {
                    lcssc: of(Subset::Limited),
                    dcssc: of(Subset::Diffuse),
                },
            )
        });
        let columns = Columns::new(&subjects);
        let populations = match populations.join() {
            Ok(p) => p,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        (columns, populations)
    });
    let prevalence = HAND_LESIONS
        .iter()
        .chain(&SPINE_FLAGS)
        .chain(&BINARY_CLINICAL)
        .map(|v| prevalence(v, &columns, settings.conf_level))
        .collect();
    let level_prevalence = level_prevalence(
        cohort,
        &selection,
        &subjects,
        settings.conf_level,
        &mut warnings,
    );
    let comparisons = comparisons(&columns, settings);
    let not_computable = comparisons
        .iter()
        .filter(|c| c.test == TestName::NotComputable)
        .count();
    if not_computable > 0 {
        warnings.push(format!(
            "{not_computable} comparison(s) could not be computed (an empty row or column, or fewer than 2 values in a group)"
        ));
    }
    let survival = survival(&subjects, &columns, settings.conf_level, &mut warnings);
    let agreement = crate::agreement::agreement_at(cohort, settings.conf_level);
    let fleiss = crate::agreement::fleiss(cohort);
    let table1 = crate::table1::table1(&subjects, settings);
    let adjusted = crate::adjusted::adjusted_models(&columns, settings);

    Ok(Results {
        format: FORMAT,
        software: Software {
            name: "sclerad",
            version: env!("CARGO_PKG_VERSION"),
        },
        input: Input {
            path: input.path.clone(),
            sha256: input.sha256.clone(),
            patients: subjects.len(),
            patients_in_bundle: cohort.patients.len(),
            excluded_ineligible: keep.iter().filter(|k| !**k).count(),
        },
        settings: settings.clone(),
        readers: ReadersUsed {
            hand: selection.hand.clone(),
            spine: selection.spine.clone(),
        },
        population,
        population_by_subset,
        table1,
        prevalence,
        level_prevalence,
        comparisons,
        adjusted,
        survival,
        agreement,
        fleiss,
        warnings,
    })
}

pub(crate) fn mean_sd(x: &[f64]) -> (Option<f64>, Option<f64>) {
    (
        sclerad_stats::mean(x).ok().and_then(finite),
        if x.len() >= 2 {
            sclerad_stats::sd(x).ok().and_then(finite)
        } else {
            None
        },
    )
}

pub(crate) fn quartiles(x: &[f64]) -> [Option<f64>; 3] {
    match quantiles(x, &[0.25, 0.5, 0.75]) {
        Ok(q) if q.len() == 3 => [finite(q[0]), finite(q[1]), finite(q[2])],
        _ => [None; 3],
    }
}

fn percent(k: usize, n: usize) -> Option<f64> {
    (n > 0).then(|| 100.0 * k as f64 / n as f64)
}

fn population<'a, 'b: 'a>(subjects: impl Iterator<Item = &'a Subject<'b>>) -> Population {
    let subjects: Vec<&Subject<'_>> = subjects.collect();
    let ages: Vec<f64> = subjects
        .iter()
        .filter_map(|s| s.continuous("age_years"))
        .collect();
    let durations: Vec<f64> = subjects
        .iter()
        .filter_map(|s| s.continuous("disease_duration_years"))
        .collect();
    let female = subjects
        .iter()
        .filter(|s| s.patient.sex == sclerad_model::Sex::Female)
        .count();
    let dcssc = subjects
        .iter()
        .filter(|s| s.patient.subset == Subset::Diffuse)
        .count();
    let (age_mean, age_sd) = mean_sd(&ages);
    let (duration_mean, duration_sd) = mean_sd(&durations);
    let [q1, median, q3] = quartiles(&durations);
    Population {
        n: subjects.len(),
        age_n: ages.len(),
        age_mean,
        age_sd,
        female_n: female,
        female_percent: percent(female, subjects.len()),
        lcssc_n: subjects.len() - dcssc,
        dcssc_n: dcssc,
        duration_n: durations.len(),
        duration_mean,
        duration_sd,
        duration_median: median,
        duration_q1: q1,
        duration_q3: q3,
    }
}

fn wilson_percent(k: usize, n: usize, conf: f64) -> (Option<f64>, Option<f64>) {
    match wilson(k as u64, n as u64, conf) {
        Ok(ci) if n > 0 => (finite(100.0 * ci.low), finite(100.0 * ci.high)),
        _ => (None, None),
    }
}

fn prevalence(variable: &str, columns: &Columns, conf: f64) -> Prevalence {
    let values: Vec<bool> = columns.binary(variable).iter().filter_map(|v| *v).collect();
    let n = values.iter().filter(|v| **v).count();
    let (ci_low, ci_high) = wilson_percent(n, values.len(), conf);
    Prevalence {
        variable: variable.to_string(),
        n,
        denominator: values.len(),
        percent: percent(n, values.len()),
        ci_low,
        ci_high,
    }
}

fn level_prevalence(
    cohort: &Cohort,
    selection: &ReaderSelection,
    subjects: &[Subject<'_>],
    conf: f64,
    warnings: &mut Vec<String>,
) -> Vec<LevelPrevalence> {
    let (Some(readings), Some(reader)) = (&cohort.spine_readings, &selection.spine) else {
        return Vec::new();
    };
    let analysed: HashMap<&str, &Subject<'_>> = subjects
        .iter()
        .map(|s| (s.patient.patient_id.as_str(), s))
        .collect();
    let mut found: HashMap<&str, BTreeSet<(VertebralLevel, SpineSegment)>> = HashMap::new();
    let mut read: BTreeSet<&str> = BTreeSet::new();
    for r in readings.rows.iter().filter(|r| &r.reader == reader) {
        if !analysed.contains_key(r.patient_id.as_str()) {
            continue;
        }
        read.insert(&r.patient_id);
        if let (Some(level), Some(segment)) = (r.level, r.segment) {
            found
                .entry(&r.patient_id)
                .or_default()
                .insert((level, segment));
        }
    }
    let mut numerators = [[0usize; 3]; VertebralLevel::COUNT];
    let mut denominators = [0usize; VertebralLevel::COUNT];
    let mut unknown_coverage = 0;
    for id in &read {
        let Some(coverage) = analysed.get(id).and_then(|s| s.derived.ct_coverage) else {
            unknown_coverage += 1;
            continue;
        };
        for level in coverage.iter() {
            denominators[level.index()] += 1;
        }
        for (level, segment) in found.get(id).into_iter().flatten() {
            if coverage.contains(*level) {
                numerators[level.index()][segment.index()] += 1;
            }
        }
    }
    if unknown_coverage > 0 {
        warnings.push(format!(
            "{unknown_coverage} patient(s) read on CT have neither ct_type nor ct_levels: they are left out of the per-level prevalences"
        ));
    }
    let mut out = Vec::new();
    for level in VertebralLevel::all() {
        for segment in SpineSegment::ALL {
            let (n, den) = (
                numerators[level.index()][segment.index()],
                denominators[level.index()],
            );
            let (ci_low, ci_high) = wilson_percent(n, den, conf);
            out.push(LevelPrevalence {
                variable: format!("{level}:{segment}"),
                level: level.to_string(),
                segment: segment.to_string(),
                n,
                denominator: den,
                percent: percent(n, den),
                ci_low,
                ci_high,
            });
        }
    }
    out
}

/// The five families: (family, exposures, outcomes).
fn families() -> Vec<(&'static str, Vec<&'static str>, Vec<&'static str>)> {
    let hand = HAND_LESIONS.to_vec();
    let spine = SPINE_FLAGS.to_vec();
    vec![
        (
            "subset",
            vec!["subset_dcssc"],
            vec![
                "age_years",
                "sex_female",
                "disease_duration_years",
                "digital_ulcers",
                "ild_ct",
                "restrictive_syndrome",
                "pah",
                "death",
            ],
        ),
        (
            "hand_duration",
            hand.clone(),
            vec!["disease_duration_years"],
        ),
        ("hand_ulcers", hand.clone(), vec!["digital_ulcers"]),
        ("axial_peripheral", spine.clone(), hand.clone()),
        (
            "prognosis",
            hand.into_iter().chain(spine).collect(),
            vec!["ild_ct", "pah", "death"],
        ),
    ]
}

fn comparisons(columns: &Columns, settings: &Settings) -> Vec<Comparison> {
    let families = families();
    let mut jobs: Vec<Job<'static>> = Vec::new();
    for (family, exposures, outcomes) in &families {
        for exposure in exposures {
            for outcome in outcomes {
                jobs.push((family, exposure, outcome));
            }
        }
    }
    let one = |job: &Job<'static>| {
        if is_continuous(job.2) {
            continuous(*job, columns, settings)
        } else {
            binary(*job, columns, settings)
        }
    };
    let mut out = sclerad_model::parallel::map(&jobs, one);
    let mut start = 0;
    for (_, exposures, outcomes) in &families {
        let len = exposures.len() * outcomes.len();
        adjust(&mut out[start..start + len]);
        start += len;
    }
    out
}

fn adjust(family: &mut [Comparison]) {
    let p: Vec<Option<f64>> = family.iter().map(|c| c.p_value).collect();
    for (c, (holm, bh)) in family.iter_mut().zip(holm_bh(&p)) {
        c.p_holm = holm;
        c.p_bh = bh;
    }
}

/// Holm's and Benjamini–Hochberg's adjustments (R's `p.adjust`) of the
/// p-values given, in their order; `None` stays `None` and takes no part.
pub(crate) fn holm_bh(p: &[Option<f64>]) -> Vec<(Option<f64>, Option<f64>)> {
    let given: Vec<f64> = p.iter().flatten().copied().collect();
    let holm = p_adjust(&given, AdjustMethod::Holm).ok();
    let bh = p_adjust(&given, AdjustMethod::Bh).ok();
    let at = |v: &Option<Vec<f64>>, k: usize| {
        v.as_ref().and_then(|v| v.get(k).copied()).and_then(finite)
    };
    let mut k = 0;
    p.iter()
        .map(|x| {
            x.map_or((None, None), |_| {
                k += 1;
                (at(&holm, k - 1), at(&bh, k - 1))
            })
        })
        .collect()
}

/// The job of one comparison: its family, exposure and outcome.
type Job<'a> = (&'a str, &'a str, &'a str);

/// A comparison's record. A chosen test without a p-value (the data did not
/// allow it) is recorded as not computable; adjusted p-values come later,
/// per family.
fn comparison(
    (family, exposure, outcome): Job<'_>,
    n: usize,
    test: TestName,
    p_value: Option<f64>,
    detail: ComparisonDetail,
) -> Comparison {
    Comparison {
        id: format!("{family}:{exposure}:{outcome}"),
        family: family.to_string(),
        exposure: exposure.to_string(),
        outcome: outcome.to_string(),
        outcome_type: match detail {
            ComparisonDetail::Binary(_) => "binary",
            ComparisonDetail::Continuous(_) => "continuous",
        },
        n,
        test: if p_value.is_some() {
            test
        } else {
            TestName::NotComputable
        },
        p_value,
        p_holm: None,
        p_bh: None,
        detail,
    }
}

fn binary(job: Job<'_>, columns: &Columns, settings: &Settings) -> Comparison {
    let (_, exposure, outcome) = job;
    let (mut a, mut b, mut c, mut d) = (0u64, 0u64, 0u64, 0u64);
    for (e, o) in columns.binary(exposure).iter().zip(columns.binary(outcome)) {
        match (*e, *o) {
            (Some(true), Some(true)) => a += 1,
            (Some(true), Some(false)) => b += 1,
            (Some(false), Some(true)) => c += 1,
            (Some(false), Some(false)) => d += 1,
            _ => {}
        }
    }
    let n = (a + b + c + d) as usize;
    let mut detail = BinaryDetail {
        a,
        b,
        c,
        d,
        min_expected: None,
        p_chi_square: None,
        p_fisher: None,
        odds_ratio: None,
        or_ci_low: None,
        or_ci_high: None,
        odds_ratio_infinite: false,
    };
    let margins_ok = a + b > 0 && c + d > 0 && a + c > 0 && b + d > 0;
    let mut test = TestName::NotComputable;
    let mut p_value = None;
    if margins_ok {
        if let Ok(chi) = chisq_test(&[[a, b], [c, d]], settings.yates) {
            detail.p_chi_square = finite(chi.p_value);
            detail.min_expected = chi
                .expected
                .iter()
                .flatten()
                .copied()
                .reduce(f64::min)
                .and_then(finite);
        }
        if let Ok(f) = sclerad_stats::table::fisher_exact_level(a, b, c, d, settings.conf_level) {
            detail.p_fisher = finite(f.p_value);
            detail.odds_ratio = finite(f.odds_ratio);
            detail.odds_ratio_infinite = f.odds_ratio == f64::INFINITY;
            detail.or_ci_low = finite(f.ci_low);
            detail.or_ci_high = finite(f.ci_high);
        }
        let chi_ok = detail
            .min_expected
            .is_some_and(|m| m >= settings.min_expected_count);
        (test, p_value) = if chi_ok {
            (TestName::ChiSquare, detail.p_chi_square)
        } else {
            (TestName::FisherExact, detail.p_fisher)
        };
    }
    comparison(job, n, test, p_value, ComparisonDetail::Binary(detail))
}

struct GroupSummary {
    n: usize,
    mean: Option<f64>,
    sd: Option<f64>,
    median: Option<f64>,
    q1: Option<f64>,
    q3: Option<f64>,
    shapiro: Option<f64>,
}

/// R's `shapiro.test` p-value, for 3 to 5000 values not all equal.
pub(crate) fn shapiro_p(x: &[f64]) -> Option<f64> {
    let constant = x.windows(2).all(|w| w[0] == w[1]);
    if (3..=5000).contains(&x.len()) && !constant {
        shapiro_wilk(x).ok().map(|s| s.p_value).and_then(finite)
    } else {
        None
    }
}

fn group(x: &[f64]) -> GroupSummary {
    let (mean, sd) = mean_sd(x);
    let [q1, median, q3] = quartiles(x);
    let shapiro = shapiro_p(x);
    GroupSummary {
        n: x.len(),
        mean,
        sd,
        median,
        q1,
        q3,
        shapiro,
    }
}

fn continuous(job: Job<'_>, columns: &Columns, settings: &Settings) -> Comparison {
    let (_, exposure, outcome) = job;
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for (e, v) in columns
        .binary(exposure)
        .iter()
        .zip(columns.continuous(outcome))
    {
        if let (Some(e), Some(v)) = (*e, *v) {
            if e {
                x.push(v)
            } else {
                y.push(v)
            }
        }
    }
    let (gx, gy) = (group(&x), group(&y));
    let computable = x.len() >= 2 && y.len() >= 2;
    let p_welch = if computable {
        welch_t_test(&x, &y)
            .ok()
            .map(|t| t.p_value)
            .and_then(finite)
    } else {
        None
    };
    let rank_sum = if computable {
        wilcoxon_rank_sum(&x, &y).ok()
    } else {
        None
    };
    let p_mann_whitney = rank_sum.as_ref().map(|r| r.p_value).and_then(finite);
    let normal = matches!((gx.shapiro, gy.shapiro), (Some(px), Some(py)) if px >= settings.normality_alpha && py >= settings.normality_alpha);
    let (test, p_value) = match (computable, normal) {
        (false, _) => (TestName::NotComputable, None),
        (true, true) => (TestName::WelchT, p_welch),
        (true, false) => (TestName::MannWhitney, p_mann_whitney),
    };
    let n = x.len() + y.len();
    let detail = ComparisonDetail::Continuous(ContinuousDetail {
        n_exposed: gx.n,
        mean_exposed: gx.mean,
        sd_exposed: gx.sd,
        median_exposed: gx.median,
        q1_exposed: gx.q1,
        q3_exposed: gx.q3,
        n_unexposed: gy.n,
        mean_unexposed: gy.mean,
        sd_unexposed: gy.sd,
        median_unexposed: gy.median,
        q1_unexposed: gy.q1,
        q3_unexposed: gy.q3,
        p_shapiro_exposed: gx.shapiro,
        p_shapiro_unexposed: gy.shapiro,
        p_welch,
        p_mann_whitney,
        w: rank_sum.map(|r| r.w).and_then(finite),
    });
    comparison(job, n, test, p_value, detail)
}

/// (time in years, death) from hand_xray_date, or `None` when the dates
/// needed are missing.
fn follow_up(s: &Subject<'_>) -> Option<(f64, bool)> {
    let p = s.patient;
    let start = p.hand_xray_date?;
    let (end, event) = match p.death? {
        true => (p.death_date?, true),
        false => (p.last_followup_date?, false),
    };
    let days = (end - start).num_days();
    (days >= 0).then_some((days as f64 / 365.25, event))
}

fn km_curve(group: &'static str, time: &[f64], event: &[bool], conf: f64) -> Option<KmCurve> {
    let km = sclerad_stats::survival::kaplan_meier_level(time, event, conf).ok()?;
    let rows = &km.rows;
    let thinned = rows.len() > KM_MAX_POINTS;
    let keep: Vec<usize> = if thinned {
        let last = rows.len() - 1;
        (0..KM_MAX_POINTS)
            .map(|k| (k * last + (KM_MAX_POINTS - 1) / 2) / (KM_MAX_POINTS - 1))
            .collect()
    } else {
        (0..rows.len()).collect()
    };
    let points = keep
        .iter()
        .filter_map(|i| rows.get(*i))
        .map(|r| KmPoint {
            time: r.time,
            n_risk: r.n_risk,
            n_event: r.n_event,
            n_censor: r.n_censor,
            surv: r.surv,
            lower: r.lower.and_then(finite),
            upper: r.upper.and_then(finite),
        })
        .collect();
    Some(KmCurve {
        group,
        n: time.len(),
        events: event.iter().filter(|e| **e).count(),
        points,
    })
}

fn survival(
    subjects: &[Subject<'_>],
    columns: &Columns,
    conf: f64,
    warnings: &mut Vec<String>,
) -> Vec<SurvivalResult> {
    let mut timed: Vec<(usize, (f64, bool))> = subjects
        .iter()
        .enumerate()
        .filter_map(|(i, s)| follow_up(s).map(|t| (i, t)))
        .collect();
    // In time order: every survival routine sorts by time, and sorting
    // sorted data is linear.
    timed.sort_by(|a, b| a.1 .0.total_cmp(&b.1 .0));
    let left_out = subjects.len() - timed.len();
    if timed.is_empty() {
        warnings.push("survival was not analysed: no patient has hand_xray_date with death_date (deaths) or last_followup_date (survivors)".into());
        return Vec::new();
    }
    if left_out > 0 {
        warnings.push(format!(
            "survival: {left_out} patient(s) lacking hand_xray_date, death, death_date (deaths) or last_followup_date (survivors) were left out"
        ));
    }
    let exposures: Vec<&str> = HAND_LESIONS.iter().chain(&SPINE_FLAGS).copied().collect();
    sclerad_model::parallel::map(&exposures, |exposure| {
        let (mut time, mut event, mut group) = (Vec::new(), Vec::new(), Vec::new());
        let column = columns.binary(exposure);
        for (i, (t, e)) in &timed {
            if let Some(x) = column[*i] {
                time.push(*t);
                event.push(*e);
                group.push(x);
            }
        }
        let events = event.iter().filter(|e| **e).count();
        let exposed = group.iter().filter(|g| **g).count();
        let mut r = SurvivalResult {
            id: format!("survival:{exposure}:death"),
            exposure: exposure.to_string(),
            n: time.len(),
            events,
            test: SurvivalTest::NotComputable,
            p_logrank: None,
            hazard_ratio: None,
            hr_ci_low: None,
            hr_ci_high: None,
            p_wald: None,
            p_lr: None,
            km: Vec::new(),
        };
        for (label, want) in [("yes", true), ("no", false)] {
            let idx: Vec<usize> = (0..time.len()).filter(|i| group[*i] == want).collect();
            let t: Vec<f64> = idx.iter().map(|i| time[*i]).collect();
            let e: Vec<bool> = idx.iter().map(|i| event[*i]).collect();
            if let Some(curve) = (!t.is_empty())
                .then(|| km_curve(label, &t, &e, conf))
                .flatten()
            {
                r.km.push(curve);
            }
        }
        if exposed == 0 || exposed == time.len() || events == 0 {
            return r;
        }
        if let Ok(lr) = log_rank(&time, &event, &group) {
            r.p_logrank = finite(lr.test.p_value);
            r.test = SurvivalTest::LogRankCox;
        }
        let events_exposed = (0..time.len()).filter(|i| group[*i] && event[*i]).count();
        if events_exposed > 0 && events_exposed < events {
            let x: Vec<f64> = group.iter().map(|g| if *g { 1.0 } else { 0.0 }).collect();
            if let Ok(fit) = cox_ph(&time, &event, &[x], Ties::Efron) {
                if let Some(coef) = fit.coefficients.first() {
                    r.hazard_ratio = finite(coef.hazard_ratio);
                    // At the settings' confidence level, as every interval.
                    if let Ok((low, high)) = coef.hr_interval(conf) {
                        r.hr_ci_low = finite(low);
                        r.hr_ci_high = finite(high);
                    }
                    r.p_wald = finite(coef.p_value);
                    r.p_lr = finite(fit.lr_test.p_value);
                }
            }
        }
        r
    })
}
