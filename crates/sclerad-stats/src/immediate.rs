//! One-call summaries for the CLI's "immediate" commands (`table`,
//! `groups`, `survival`). Each returns a flat, serialisable struct whose
//! field names are part of the CLI's JSON output.
//!
//! Fields that cannot be computed for the given data are `None` (JSON
//! `null`); invalid input (non-finite values, mismatched lengths) is an
//! error.

use serde::Serialize;

use crate::error::{check_finite, Result, StatsError};
use crate::shapiro::shapiro_wilk;
use crate::survival::{cox_ph, log_rank, Ties};
use crate::table::{chisq_test, fisher_exact, odds_ratio_wald, risk_ratio};
use crate::twogroup::{rank_sum_w, student_t_test, welch_t_test, wilcoxon_rank_sum};

/// Result of [`table`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TableSummary {
    /// Pearson χ² p-value without continuity correction
    /// (`chisq.test(m, correct = FALSE)`); `None` when a margin is zero.
    pub p_chi_square: Option<f64>,
    /// Pearson χ² p-value with Yates' correction (`chisq.test(m)`).
    pub p_chi_square_yates: Option<f64>,
    /// Two-sided Fisher exact p-value (`fisher.test(m)`).
    pub p_fisher: f64,
    /// Conditional maximum-likelihood odds ratio as `fisher.test` reports
    /// it; 0 or +∞ when `a` is at the edge of its conditional support
    /// (serde_json writes +∞ as `null`).
    pub odds_ratio: f64,
    /// Lower limit of the exact conditional 95 % interval.
    pub or_ci_low: f64,
    /// Upper limit of the exact conditional 95 % interval (may be +∞).
    pub or_ci_high: f64,
    /// Sample odds ratio `ad/bc`; `None` when a cell is zero.
    pub or_wald: Option<f64>,
    /// Lower Woolf (Wald) 95 % limit.
    pub or_wald_ci_low: Option<f64>,
    /// Upper Woolf (Wald) 95 % limit.
    pub or_wald_ci_high: Option<f64>,
    /// Risk ratio `[a/(a+b)] / [c/(c+d)]`; `None` when `a` or `c` is zero.
    pub risk_ratio: Option<f64>,
    /// Lower log-scale Wald 95 % limit of the risk ratio.
    pub rr_ci_low: Option<f64>,
    /// Upper log-scale Wald 95 % limit of the risk ratio.
    pub rr_ci_high: Option<f64>,
    /// Expected counts under independence `[[a, b], [c, d]]`; `None` when a
    /// margin is zero.
    pub expected: Option<[[f64; 2]; 2]>,
}

/// Everything about a 2×2 table
///
/// ```text
///              outcome+  outcome-
/// exposed         a         b
/// unexposed       c         d
/// ```
///
/// (R's `m <- matrix(c(a, c, b, d), nrow = 2)`). Errors on an all-zero
/// table and on totals above [`crate::table::FISHER_MAX_TOTAL`].
pub fn table(a: u64, b: u64, c: u64, d: u64) -> Result<TableSummary> {
    let fisher = fisher_exact(a, b, c, d)?;
    let m = [[a, b], [c, d]];
    let plain = chisq_test(&m, false).ok();
    let yates = chisq_test(&m, true).ok();
    let orw = odds_ratio_wald(a, b, c, d, 0.95);
    let rr = risk_ratio(a, b, c, d, 0.95);
    Ok(TableSummary {
        p_chi_square: plain.as_ref().map(|t| t.p_value),
        p_chi_square_yates: yates.as_ref().map(|t| t.p_value),
        p_fisher: fisher.p_value,
        odds_ratio: fisher.odds_ratio,
        or_ci_low: fisher.ci_low,
        or_ci_high: fisher.ci_high,
        or_wald: orw.map(|r| r.estimate),
        or_wald_ci_low: orw.map(|r| r.low),
        or_wald_ci_high: orw.map(|r| r.high),
        risk_ratio: rr.map(|r| r.estimate),
        rr_ci_low: rr.map(|r| r.low),
        rr_ci_high: rr.map(|r| r.high),
        expected: plain.map(|t| {
            [
                [t.expected[0][0], t.expected[0][1]],
                [t.expected[1][0], t.expected[1][1]],
            ]
        }),
    })
}

/// Result of [`groups`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupsSummary {
    /// Welch t-test p-value (`t.test(x, y)`).
    pub p_welch: Option<f64>,
    /// Student t-test p-value (`t.test(x, y, var.equal = TRUE)`).
    pub p_student: Option<f64>,
    /// Wilcoxon rank-sum p-value (`wilcox.test(x, y)`).
    pub p_mann_whitney: Option<f64>,
    /// R's `W` statistic of `wilcox.test(x, y)`.
    pub w: Option<f64>,
    /// Shapiro–Wilk p-value of `x` (`shapiro.test(x)`; needs 3 ≤ n ≤ 5000).
    pub p_shapiro_x: Option<f64>,
    /// Shapiro–Wilk p-value of `y`.
    pub p_shapiro_y: Option<f64>,
}

/// Two-group comparison of a numeric variable. Errors on non-finite
/// values; tests that the data do not allow (too few values, constant
/// data) are `None`.
pub fn groups(x: &[f64], y: &[f64]) -> Result<GroupsSummary> {
    check_finite(x, "group x")?;
    check_finite(y, "group y")?;
    let wil = wilcoxon_rank_sum(x, y).ok();
    Ok(GroupsSummary {
        p_welch: welch_t_test(x, y).ok().map(|t| t.p_value),
        p_student: student_t_test(x, y).ok().map(|t| t.p_value),
        p_mann_whitney: wil.as_ref().map(|t| t.p_value),
        w: wil.map(|t| t.w).or_else(|| rank_sum_w(x, y).ok()),
        p_shapiro_x: shapiro_wilk(x).ok().map(|t| t.p_value),
        p_shapiro_y: shapiro_wilk(y).ok().map(|t| t.p_value),
    })
}

/// Result of [`survival`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SurvivalSummary {
    /// Log-rank p-value (`survdiff(Surv(time, event) ~ group)`).
    pub p_logrank: Option<f64>,
    /// Cox hazard ratio of the second group level versus the first
    /// (`coxph(Surv(time, event) ~ group)`, Efron ties); `None` when the
    /// model cannot be fitted (e.g. no events in one group).
    pub hazard_ratio: Option<f64>,
    /// Lower Wald 95 % limit of the hazard ratio.
    pub hr_ci_low: Option<f64>,
    /// Upper Wald 95 % limit of the hazard ratio.
    pub hr_ci_high: Option<f64>,
    /// Wald test p-value (`summary(fit)$waldtest`).
    pub p_wald: Option<f64>,
    /// Likelihood-ratio test p-value (`summary(fit)$logtest`).
    pub p_lr: Option<f64>,
}

/// Two-group survival comparison. `group` must take exactly two distinct
/// values; levels are ordered with `Ord` and the first is the reference.
/// Errors on invalid input (lengths, non-finite or negative times, not
/// exactly two groups).
pub fn survival<G: Ord + Clone>(
    time: &[f64],
    event: &[bool],
    group: &[G],
) -> Result<SurvivalSummary> {
    if group.len() != time.len() || event.len() != time.len() {
        return Err(StatsError::invalid(format!(
            "time, event and group have {}, {} and {} values",
            time.len(),
            event.len(),
            group.len()
        )));
    }
    let mut levels: Vec<&G> = group.iter().collect();
    levels.sort();
    levels.dedup();
    if levels.len() != 2 {
        return Err(StatsError::invalid(format!(
            "the survival comparison needs exactly 2 groups, got {}",
            levels.len()
        )));
    }
    let second = levels[1];
    let lr = match log_rank(time, event, group) {
        Ok(t) => Some(t.test.p_value),
        Err(StatsError::InvalidInput(m)) => return Err(StatsError::InvalidInput(m)),
        Err(_) => None,
    };
    let x: Vec<f64> = group
        .iter()
        .map(|g| if g == second { 1.0 } else { 0.0 })
        .collect();
    let cox = cox_ph(time, event, &[x], Ties::Efron).ok();
    let coef = cox.as_ref().map(|f| f.coefficients[0]);
    Ok(SurvivalSummary {
        p_logrank: lr,
        hazard_ratio: coef.map(|c| c.hazard_ratio),
        hr_ci_low: coef.map(|c| c.hr_ci_low),
        hr_ci_high: coef.map(|c| c.hr_ci_high),
        p_wald: cox.as_ref().map(|f| f.wald_test.p_value),
        p_lr: cox.as_ref().map(|f| f.lr_test.p_value),
    })
}
