//! The results contract (`docs/analysis-plan.md`, `results.json`):
//! plain data, serialised with fixed field names. `None` is written as
//! `null`; non-finite numbers never reach these types (see [`finite`]).

use serde::Serialize;

pub use sclerad_model::Modality;

use crate::settings::Settings;

/// `format` of a results file.
pub const FORMAT: &str = "sclerad-results/1";

/// A number if finite, else `None` (written as `null`).
pub fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// The whole analysis.
#[derive(Debug, Clone, Serialize)]
pub struct Results {
    /// Always [`FORMAT`].
    pub format: &'static str,
    /// Who computed it.
    pub software: Software,
    /// What was analysed.
    pub input: Input,
    /// Settings used.
    pub settings: Settings,
    /// Readers whose readings gave the lesion flags.
    pub readers: ReadersUsed,
    /// The analysed population.
    pub population: Population,
    /// The same, per cutaneous subset.
    pub population_by_subset: PopulationBySubset,
    /// Table 1: the clinical variables by subset and overall.
    pub table1: Vec<crate::table1::Table1Row>,
    /// Prevalence of each lesion, spine flag and clinical binary.
    pub prevalence: Vec<Prevalence>,
    /// Prevalence per vertebral level and segment (readings only).
    pub level_prevalence: Vec<LevelPrevalence>,
    /// Every comparison of the five families.
    pub comparisons: Vec<Comparison>,
    /// The prognosis comparisons adjusted for the covariates of the
    /// setting `adjust_for`.
    pub adjusted: Vec<crate::adjusted::AdjustedModel>,
    /// Survival analyses of death by each prognosis exposure.
    pub survival: Vec<SurvivalResult>,
    /// Inter-reader agreement.
    pub agreement: Vec<Agreement>,
    /// Fleiss' kappa, when three or more readers read the same patients.
    pub fleiss: Vec<FleissAgreement>,
    /// Things the reader of the results must know.
    pub warnings: Vec<String>,
}

/// Software and version.
#[derive(Debug, Clone, Serialize)]
pub struct Software {
    /// `sclerad`.
    pub name: &'static str,
    /// Crate version.
    pub version: &'static str,
}

/// The analysed input.
#[derive(Debug, Clone, Serialize)]
pub struct Input {
    /// Bundle path as given.
    pub path: String,
    /// SHA-256 of the bundle's files (see `sclerad_bundle::fingerprint`).
    pub sha256: String,
    /// Patients analysed.
    pub patients: usize,
    /// Patients in the bundle.
    pub patients_in_bundle: usize,
    /// Patients left out by `exclude_ineligible`.
    pub excluded_ineligible: usize,
}

/// Readers used.
#[derive(Debug, Clone, Serialize)]
pub struct ReadersUsed {
    /// Hand reader, when hand readings were given.
    pub hand: Option<String>,
    /// Spine reader, when spine readings were given.
    pub spine: Option<String>,
}

/// Population summary.
#[derive(Debug, Clone, Serialize)]
pub struct Population {
    /// Patients.
    pub n: usize,
    /// Patients with an age.
    pub age_n: usize,
    /// Mean age.
    pub age_mean: Option<f64>,
    /// SD of age (n − 1).
    pub age_sd: Option<f64>,
    /// Women.
    pub female_n: usize,
    /// Women, percent of n.
    pub female_percent: Option<f64>,
    /// lcSSc patients.
    pub lcssc_n: usize,
    /// dcSSc patients.
    pub dcssc_n: usize,
    /// Patients with a disease duration.
    pub duration_n: usize,
    /// Mean disease duration, years.
    pub duration_mean: Option<f64>,
    /// SD of disease duration.
    pub duration_sd: Option<f64>,
    /// Median disease duration (R type 7).
    pub duration_median: Option<f64>,
    /// First quartile.
    pub duration_q1: Option<f64>,
    /// Third quartile.
    pub duration_q3: Option<f64>,
}

/// Table 1 columns.
#[derive(Debug, Clone, Serialize)]
pub struct PopulationBySubset {
    /// lcSSc.
    pub lcssc: Population,
    /// dcSSc.
    pub dcssc: Population,
}

/// Prevalence with a Wilson interval, in percent.
#[derive(Debug, Clone, Serialize)]
pub struct Prevalence {
    /// Variable name.
    pub variable: String,
    /// Patients with the finding.
    pub n: usize,
    /// Patients with a value.
    pub denominator: usize,
    /// 100 · n / denominator.
    pub percent: Option<f64>,
    /// Wilson lower bound, percent.
    pub ci_low: Option<f64>,
    /// Wilson upper bound, percent.
    pub ci_high: Option<f64>,
}

/// Prevalence at one level and segment over the patients whose CT covered it.
#[derive(Debug, Clone, Serialize)]
pub struct LevelPrevalence {
    /// `level:segment`, e.g. `t7:canal`.
    pub variable: String,
    /// Vertebral level.
    pub level: String,
    /// Segment.
    pub segment: String,
    /// Patients with a calcification there.
    pub n: usize,
    /// Patients read whose CT covered the level.
    pub denominator: usize,
    /// Percent.
    pub percent: Option<f64>,
    /// Wilson lower bound, percent.
    pub ci_low: Option<f64>,
    /// Wilson upper bound, percent.
    pub ci_high: Option<f64>,
}

/// Which test a comparison used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TestName {
    /// Pearson chi-square.
    ChiSquare,
    /// Fisher's exact test.
    FisherExact,
    /// Welch's t-test.
    WelchT,
    /// Mann–Whitney (Wilcoxon rank-sum).
    MannWhitney,
    /// Not enough data.
    NotComputable,
}

/// How a survival comparison was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SurvivalTest {
    /// Log-rank p and a Cox model's hazard ratio.
    LogRankCox,
    /// Not enough data (no deaths, or an empty group).
    NotComputable,
}

impl SurvivalTest {
    /// The name `results.json` writes.
    pub fn code(self) -> &'static str {
        match self {
            SurvivalTest::LogRankCox => "log_rank_cox",
            SurvivalTest::NotComputable => "not_computable",
        }
    }
}

/// One comparison; binary outcomes fill the 2×2 fields, continuous ones the
/// two-group fields.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// `FAMILY:EXPOSURE:OUTCOME`.
    pub id: String,
    /// Family.
    pub family: String,
    /// Exposure.
    pub exposure: String,
    /// Outcome.
    pub outcome: String,
    /// `binary` or `continuous`.
    pub outcome_type: &'static str,
    /// Complete cases.
    pub n: usize,
    /// The chosen test.
    pub test: TestName,
    /// The chosen test's p.
    pub p_value: Option<f64>,
    /// Holm-adjusted within the family.
    pub p_holm: Option<f64>,
    /// Benjamini–Hochberg-adjusted within the family.
    pub p_bh: Option<f64>,
    /// Fields of the outcome type.
    #[serde(flatten)]
    pub detail: ComparisonDetail,
}

/// The outcome-type-specific part of a comparison.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum ComparisonDetail {
    /// 2×2 table.
    Binary(BinaryDetail),
    /// Two groups.
    Continuous(ContinuousDetail),
}

/// A 2×2 comparison.
#[derive(Debug, Clone, Serialize)]
pub struct BinaryDetail {
    /// Exposed with outcome.
    pub a: u64,
    /// Exposed without.
    pub b: u64,
    /// Unexposed with.
    pub c: u64,
    /// Unexposed without.
    pub d: u64,
    /// Smallest expected count.
    pub min_expected: Option<f64>,
    /// Pearson chi-square p (Yates per the settings).
    pub p_chi_square: Option<f64>,
    /// Fisher's exact p.
    pub p_fisher: Option<f64>,
    /// Conditional MLE odds ratio.
    pub odds_ratio: Option<f64>,
    /// Its exact interval.
    pub or_ci_low: Option<f64>,
    /// Its exact interval.
    pub or_ci_high: Option<f64>,
    /// Whether the odds ratio is +∞ (b or c is 0): `odds_ratio` is then null.
    pub odds_ratio_infinite: bool,
}

/// A two-group comparison.
#[derive(Debug, Clone, Serialize)]
pub struct ContinuousDetail {
    /// Values in the exposed group.
    pub n_exposed: usize,
    /// Mean.
    pub mean_exposed: Option<f64>,
    /// SD (n − 1).
    pub sd_exposed: Option<f64>,
    /// Median.
    pub median_exposed: Option<f64>,
    /// First quartile.
    pub q1_exposed: Option<f64>,
    /// Third quartile.
    pub q3_exposed: Option<f64>,
    /// Values in the unexposed group.
    pub n_unexposed: usize,
    /// Mean.
    pub mean_unexposed: Option<f64>,
    /// SD.
    pub sd_unexposed: Option<f64>,
    /// Median.
    pub median_unexposed: Option<f64>,
    /// First quartile.
    pub q1_unexposed: Option<f64>,
    /// Third quartile.
    pub q3_unexposed: Option<f64>,
    /// Shapiro–Wilk p, exposed.
    pub p_shapiro_exposed: Option<f64>,
    /// Shapiro–Wilk p, unexposed.
    pub p_shapiro_unexposed: Option<f64>,
    /// Welch t-test p.
    pub p_welch: Option<f64>,
    /// Mann–Whitney p.
    pub p_mann_whitney: Option<f64>,
    /// Mann–Whitney W.
    pub w: Option<f64>,
}

/// One point of a Kaplan–Meier curve.
#[derive(Debug, Clone, Serialize)]
pub struct KmPoint {
    /// Time, years.
    pub time: f64,
    /// At risk just before.
    pub n_risk: u64,
    /// Deaths.
    pub n_event: u64,
    /// Censored.
    pub n_censor: u64,
    /// Survival.
    pub surv: f64,
    /// Lower bound of the pointwise interval at `conf_level` (R's `survfit`,
    /// `conf.type = "log"`).
    pub lower: Option<f64>,
    /// Upper bound.
    pub upper: Option<f64>,
}

/// A Kaplan–Meier curve of one exposure group.
#[derive(Debug, Clone, Serialize)]
pub struct KmCurve {
    /// `yes` (exposed) or `no`.
    pub group: &'static str,
    /// Patients.
    pub n: usize,
    /// Deaths.
    pub events: usize,
    /// Steps: every distinct time, or, for a curve with more steps than
    /// [`KM_MAX_POINTS`], that many of them evenly spread over the curve
    /// (first and last kept; each kept step is exact).
    pub points: Vec<KmPoint>,
}

/// Most steps of a Kaplan–Meier curve kept in the results; enough for a
/// figure or a table, while a million-patient cohort stays a small file.
pub const KM_MAX_POINTS: usize = 400;

/// Survival of death by one exposure.
#[derive(Debug, Clone, Serialize)]
pub struct SurvivalResult {
    /// `survival:EXPOSURE:death`.
    pub id: String,
    /// Exposure.
    pub exposure: String,
    /// Patients with the dates and the exposure.
    pub n: usize,
    /// Deaths among them.
    pub events: usize,
    /// `log_rank_cox` or `not_computable`.
    pub test: SurvivalTest,
    /// Log-rank p.
    pub p_logrank: Option<f64>,
    /// Cox hazard ratio (exposed vs not), Efron ties.
    pub hazard_ratio: Option<f64>,
    /// Wald lower bound.
    pub hr_ci_low: Option<f64>,
    /// Wald upper bound.
    pub hr_ci_high: Option<f64>,
    /// Wald p.
    pub p_wald: Option<f64>,
    /// Likelihood-ratio p.
    pub p_lr: Option<f64>,
    /// Curves, exposed first.
    pub km: Vec<KmCurve>,
}

/// Which two readings an agreement row compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AgreementKind {
    /// Two readers.
    Inter,
    /// A reader's first and repeat readings (`NAME#repeat`).
    Intra,
}

/// Fleiss' kappa of three or more readers on one variable, over the
/// patients every one of them read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FleissAgreement {
    /// Hand radiograph or CT.
    pub modality: Modality,
    /// The hand lesion or spine flag.
    pub variable: String,
    /// The readers, in name order (repeat readings and the consensus left
    /// out).
    pub readers: Vec<String>,
    /// Patients read by all of them.
    pub n: usize,
    /// Fleiss' kappa.
    pub kappa: Option<f64>,
    /// Its standard error under the null hypothesis (Fleiss, Nee and
    /// Landis 1979).
    pub se: Option<f64>,
    /// kappa / se.
    pub z: Option<f64>,
    /// Two-sided p-value of z.
    pub p_value: Option<f64>,
    /// Landis and Koch's label of kappa.
    pub landis_koch: Option<&'static str>,
    /// Why kappa is null.
    pub note: Option<String>,
}

/// Agreement of two readings on one variable.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Agreement {
    /// `inter` (two readers) or `intra` (a reader's first and repeat
    /// readings).
    pub kind: AgreementKind,
    /// `hand_radiograph` or `ct`.
    pub modality: Modality,
    /// Variable: a hand lesion, or `spine_any`, `spine_anterior`,
    /// `spine_canal`, `spine_foraminal`, `spine_posterior`.
    pub variable: String,
    /// First reader.
    pub reader_a: String,
    /// Second reader (the same reader for `intra`).
    pub reader_b: String,
    /// Patients read by both.
    pub n: usize,
    /// Both yes.
    pub both_yes: usize,
    /// Both no.
    pub both_no: usize,
    /// Percent agreement.
    pub percent_agreement: Option<f64>,
    /// Cohen's kappa.
    pub kappa: Option<f64>,
    /// Its standard error (Fleiss–Cohen–Everitt).
    pub kappa_se: Option<f64>,
    /// Lower bound of the interval at `conf_level`, kappa − z·SE (1.96·SE
    /// at 95 %), clipped to [−1, 1].
    pub kappa_ci_low: Option<f64>,
    /// Upper bound, clipped to [−1, 1].
    pub kappa_ci_high: Option<f64>,
    /// Prevalence- and bias-adjusted kappa, 2·po − 1 (po: the proportion
    /// of patients with the same rating).
    pub pabak: Option<f64>,
    /// Landis and Koch's label of kappa: `poor` below 0, `slight` below
    /// 0.2, `fair` below 0.4, `moderate` below 0.6, `substantial` below 0.8,
    /// else `almost_perfect`.
    pub landis_koch: Option<&'static str>,
    /// Hand lesions whose grades either reader recorded: the patients
    /// with a known grade from both (a lesion not found is grade 0; one
    /// found without a grade leaves the patient out).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub graded_n: Option<usize>,
    /// Quadratic-weighted kappa on those patients' highest grades (the
    /// categories: the grades either reader gave, as `psych::cohen.kappa`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weighted_kappa: Option<f64>,
    /// Its standard error (Fleiss–Cohen–Everitt).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weighted_kappa_se: Option<f64>,
    /// Why kappa is missing, when it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}
