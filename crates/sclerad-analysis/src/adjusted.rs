//! Adjusted models (`docs/analysis-plan.md`, "Adjusted models"): for each
//! prognosis outcome and exposure, a logistic regression of the outcome on
//! the exposure and the covariates of the setting `adjust_for`, over the
//! complete cases — by maximum likelihood as R's `glm`, or, when maximum
//! likelihood does not exist (separation), by Firth's penalised likelihood
//! as R's `logistf` with its defaults.

use sclerad_stats::{firth_logistic, logistic, StatsError};
use serde::Serialize;

use crate::results::finite;
use crate::settings::Settings;
use crate::variables::{is_continuous, Columns, HAND_LESIONS, SPINE_FLAGS};

/// The covariates an adjusted model may take (the setting `adjust_for`).
pub const ADJUSTMENT_COVARIATES: &[&str] = &[
    "age_years",
    "sex_female",
    "subset_dcssc",
    "disease_duration_years",
    "digital_ulcers",
    "ild_ct",
    "restrictive_syndrome",
    "pah",
];

/// The default `adjust_for`.
pub const DEFAULT_ADJUST_FOR: &[&str] = &[
    "age_years",
    "sex_female",
    "subset_dcssc",
    "disease_duration_years",
];

/// How a model was fitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelMethod {
    /// Maximum likelihood (`glm(family = binomial)`).
    Logistic,
    /// Firth's penalised likelihood (`logistf`).
    Firth,
    /// Too few complete cases, one outcome value only, or collinear terms.
    NotComputable,
}

/// One term of an adjusted model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelTerm {
    /// The variable.
    pub term: String,
    /// Estimate, log odds.
    pub estimate: Option<f64>,
    /// Its standard error.
    pub se: Option<f64>,
    /// exp(estimate).
    pub odds_ratio: Option<f64>,
    /// Lower limit of the odds ratio at `conf_level`: Wald
    /// (`confint.default`) for `logistic`, profile penalised likelihood for
    /// `firth`.
    pub ci_low: Option<f64>,
    /// Upper limit.
    pub ci_high: Option<f64>,
    /// `logistic`: the Wald p-value (`summary.glm`); `firth`: null.
    pub p_wald: Option<f64>,
    /// `logistic`: for the exposure, the likelihood-ratio test against the
    /// model without it (null for the covariates); `firth`: the penalised
    /// likelihood-ratio test of the term, for every term.
    pub p_lr: Option<f64>,
}

/// An adjusted model of one prognosis outcome on one exposure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AdjustedModel {
    /// `adjusted:EXPOSURE:OUTCOME`.
    pub id: String,
    /// The exposure.
    pub exposure: String,
    /// The outcome.
    pub outcome: String,
    /// Complete cases.
    pub n: usize,
    /// Patients with the outcome among them.
    pub events: usize,
    /// How the model was fitted.
    pub method: ModelMethod,
    /// The covariates besides the exposure (the setting's, but the outcome).
    pub covariates: Vec<String>,
    /// The exposure's term first, then each covariate's; the intercept is
    /// left out.
    pub terms: Vec<ModelTerm>,
    /// The exposure's odds ratio.
    pub odds_ratio: Option<f64>,
    /// Its interval.
    pub or_ci_low: Option<f64>,
    /// Its interval.
    pub or_ci_high: Option<f64>,
    /// The exposure's p-value (= its `p_lr`).
    pub p_value: Option<f64>,
    /// Holm's adjustment within the adjusted models.
    pub p_holm: Option<f64>,
    /// Benjamini–Hochberg's.
    pub p_bh: Option<f64>,
    /// Why the model is not computable.
    pub note: Option<String>,
}

/// Every adjusted model of the prognosis family.
pub(crate) fn adjusted_models(columns: &Columns, settings: &Settings) -> Vec<AdjustedModel> {
    let exposures: Vec<&str> = HAND_LESIONS.iter().chain(&SPINE_FLAGS).copied().collect();
    let mut jobs = Vec::new();
    for exposure in &exposures {
        for outcome in ["ild_ct", "pah", "death"] {
            jobs.push((*exposure, outcome));
        }
    }
    // The model without the exposure is the same for every exposure of an
    // outcome whose complete cases are the same: fitted once.
    let reduced = Reduced::default();
    let mut models =
        sclerad_model::parallel::map(&jobs, |(e, o)| model(e, o, columns, settings, &reduced));
    let p: Vec<Option<f64>> = models.iter().map(|m| m.p_value).collect();
    for (m, (holm, bh)) in models.iter_mut().zip(crate::analyze::holm_bh(&p)) {
        m.p_holm = holm;
        m.p_bh = bh;
    }
    models
}

/// A variable's column as numbers (yes = 1).
fn numbers(columns: &Columns, name: &str) -> Vec<Option<f64>> {
    if is_continuous(name) {
        columns.continuous(name).to_vec()
    } else {
        columns
            .binary(name)
            .iter()
            .map(|v| v.map(|b| if b { 1.0 } else { 0.0 }))
            .collect()
    }
}

/// The deviances of models without their exposure, by outcome, covariates
/// and complete cases.
type Reduced = std::sync::Mutex<std::collections::HashMap<(String, Vec<usize>), Option<f64>>>;

fn model(
    exposure: &str,
    outcome: &str,
    columns: &Columns,
    settings: &Settings,
    reduced: &Reduced,
) -> AdjustedModel {
    let covariates: Vec<String> = settings
        .adjust_for
        .iter()
        .filter(|c| c.as_str() != outcome && c.as_str() != exposure)
        .cloned()
        .collect();
    let terms: Vec<String> = std::iter::once(exposure.to_string())
        .chain(covariates.iter().cloned())
        .collect();
    let columns_of: Vec<Vec<Option<f64>>> = terms.iter().map(|t| numbers(columns, t)).collect();
    let y_all = columns.binary(outcome);
    // Complete cases.
    let rows: Vec<usize> = (0..y_all.len())
        .filter(|&i| y_all[i].is_some() && columns_of.iter().all(|c| c[i].is_some()))
        .collect();
    let y: Vec<bool> = rows.iter().map(|&i| y_all[i] == Some(true)).collect();
    let x: Vec<Vec<f64>> = columns_of
        .iter()
        .map(|c| rows.iter().map(|&i| c[i].unwrap_or(0.0)).collect())
        .collect();
    let events = y.iter().filter(|v| **v).count();
    let mut out = AdjustedModel {
        id: format!("adjusted:{exposure}:{outcome}"),
        exposure: exposure.to_string(),
        outcome: outcome.to_string(),
        n: rows.len(),
        events,
        method: ModelMethod::NotComputable,
        covariates,
        terms: Vec::new(),
        odds_ratio: None,
        or_ci_low: None,
        or_ci_high: None,
        p_value: None,
        p_holm: None,
        p_bh: None,
        note: None,
    };
    let not_computable = |mut out: AdjustedModel, why: String| {
        out.note = Some(why);
        out
    };
    if events == 0 || events == rows.len() {
        return not_computable(
            out,
            format!(
                "every one of the {} complete cases has the same outcome",
                rows.len()
            ),
        );
    }
    if x.iter().any(|c| c.windows(2).all(|w| w[0] == w[1])) {
        return not_computable(
            out,
            "a term takes one value only among the complete cases".to_string(),
        );
    }
    let z = sclerad_stats::dist::qnorm(0.5 + settings.conf_level / 2.0);
    match logistic(&y, &x) {
        Ok(fit) => {
            // The likelihood-ratio test of the exposure: the model without
            // it, the same for every exposure with these complete cases.
            let key = (
                format!("{outcome}|{}", out.covariates.join(",")),
                rows.clone(),
            );
            let cached = reduced.lock().ok().and_then(|m| m.get(&key).copied());
            let deviance = match cached {
                Some(d) => d,
                None => {
                    let d = logistic(&y, &x[1..]).ok().map(|r| r.deviance);
                    if let Ok(mut m) = reduced.lock() {
                        m.insert(key, d);
                    }
                    d
                }
            };
            let p_lr = deviance
                .map(|d| sclerad_stats::dist::chisq_p((d - fit.deviance).max(0.0), 1.0))
                .and_then(finite);
            out.method = ModelMethod::Logistic;
            out.terms = terms
                .iter()
                .zip(fit.coefficients.iter().skip(1))
                .enumerate()
                .map(|(k, (term, c))| ModelTerm {
                    term: term.to_string(),
                    estimate: finite(c.estimate),
                    se: finite(c.se),
                    odds_ratio: finite(c.estimate.exp()),
                    ci_low: finite((c.estimate - z * c.se).exp()),
                    ci_high: finite((c.estimate + z * c.se).exp()),
                    p_wald: finite(c.p_value),
                    p_lr: if k == 0 { p_lr } else { None },
                })
                .collect();
        }
        // Separation; or the weighted information going singular as fitted
        // probabilities run to 0 or 1 — a design that is itself collinear
        // fails Firth's fit too, whose information at the start has the
        // design's rank.
        Err(StatsError::Separation(_) | StatsError::Degenerate(_)) => {
            match firth_logistic(&y, &x, settings.conf_level) {
                Ok(fit) => {
                    out.method = ModelMethod::Firth;
                    out.terms = terms
                        .iter()
                        .zip(fit.coefficients.iter().skip(1))
                        .map(|(term, c)| ModelTerm {
                            term: term.to_string(),
                            estimate: finite(c.estimate),
                            se: finite(c.se),
                            odds_ratio: finite(c.odds_ratio),
                            ci_low: finite(c.or_ci_low),
                            ci_high: finite(c.or_ci_high),
                            p_wald: None,
                            p_lr: finite(c.p_value),
                        })
                        .collect();
                }
                Err(e) => return not_computable(out, format!("Firth's fit failed: {e}")),
            }
        }
        Err(e) => return not_computable(out, e.to_string()),
    }
    if let Some(t) = out.terms.first() {
        out.odds_ratio = t.odds_ratio;
        out.or_ci_low = t.ci_low;
        out.or_ci_high = t.ci_high;
        out.p_value = t.p_lr;
    }
    out
}
