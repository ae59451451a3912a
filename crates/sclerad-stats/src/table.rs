//! Contingency tables: Pearson χ² (with and without Yates), Fisher's exact
//! test for 2×2 tables with R's conditional-MLE odds ratio and exact
//! interval, Wald (Woolf) odds-ratio interval and the risk ratio.
//!
//! 2×2 tables are given as `a, b, c, d` for the layout
//!
//! ```text
//!              outcome+  outcome-
//! exposed         a         b
//! unexposed       c         d
//! ```
//!
//! which is R's `matrix(c(a, c, b, d), nrow = 2)`.

use serde::Serialize;

use crate::dist::{chisq_p, clamp_p, qnorm};
use crate::error::{Result, StatsError};
use crate::roots::{brent_zeroin, UNIROOT_TOL};

/// Result of Pearson's χ² test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChiSquareTest {
    /// The χ² statistic (`X-squared`).
    pub statistic: f64,
    /// Degrees of freedom `(r − 1)(c − 1)`.
    pub df: f64,
    /// Upper-tail p-value, clamped to [`crate::P_FLOOR`].
    pub p_value: f64,
    /// Expected counts under independence, row by row.
    pub expected: Vec<Vec<f64>>,
    /// Whether Yates' continuity correction was applied (only ever for 2×2).
    pub yates: bool,
}

/// Pearson's χ² test of independence = R `chisq.test(m, correct = correct)`
/// (no simulation).
///
/// `rows` is the table row by row (all rows the same length, at least 2×2).
/// Yates' correction `min(0.5, |O − E|)` is applied only when `correct` is
/// true and the table is 2×2, exactly as R does. Errors when a row or column
/// sum is zero (R would return NaN).
pub fn chisq_test<R: AsRef<[u64]>>(rows: &[R], correct: bool) -> Result<ChiSquareTest> {
    let nr = rows.len();
    let nc = rows.first().map(|r| r.as_ref().len()).unwrap_or(0);
    if nr < 2 || nc < 2 {
        return Err(StatsError::invalid(
            "a contingency table needs at least 2 rows and 2 columns",
        ));
    }
    if rows.iter().any(|r| r.as_ref().len() != nc) {
        return Err(StatsError::invalid("table rows have different lengths"));
    }
    let x: Vec<Vec<f64>> = rows
        .iter()
        .map(|r| r.as_ref().iter().map(|&v| v as f64).collect())
        .collect();
    let sr: Vec<f64> = x.iter().map(|r| r.iter().sum()).collect();
    let sc: Vec<f64> = (0..nc).map(|j| x.iter().map(|r| r[j]).sum()).collect();
    let n: f64 = sr.iter().sum();
    if sr.iter().chain(sc.iter()).any(|&s| s == 0.0) {
        return Err(StatsError::degenerate(
            "a row or column total is zero, so expected counts are zero",
        ));
    }
    let expected: Vec<Vec<f64>> = sr
        .iter()
        .map(|&r| sc.iter().map(|&c| r * c / n).collect())
        .collect();
    let yates = correct && nr == 2 && nc == 2;
    let yc = if yates {
        let mut m = f64::INFINITY;
        for i in 0..nr {
            for j in 0..nc {
                m = m.min((x[i][j] - expected[i][j]).abs());
            }
        }
        m.min(0.5)
    } else {
        0.0
    };
    let mut stat = 0.0;
    for i in 0..nr {
        for j in 0..nc {
            let dev = (x[i][j] - expected[i][j]).abs() - yc;
            stat += dev * dev / expected[i][j];
        }
    }
    let df = ((nr - 1) * (nc - 1)) as f64;
    Ok(ChiSquareTest {
        statistic: stat,
        df,
        p_value: chisq_p(stat, df),
        expected,
        yates,
    })
}

/// Result of Fisher's exact test on a 2×2 table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FisherTest {
    /// Two-sided p-value.
    pub p_value: f64,
    /// Conditional maximum-likelihood odds ratio (0 or +∞ at the edges of
    /// the support, as in R; note that JSON renders ∞ as `null`).
    pub odds_ratio: f64,
    /// Lower exact confidence limit of the odds ratio.
    pub ci_low: f64,
    /// Upper exact confidence limit (may be +∞).
    pub ci_high: f64,
}

/// The conditional (non-central hypergeometric) distribution of the `a`
/// cell given all margins.
struct Hyper {
    lo: u64,
    hi: u64,
    /// exact mean of the central distribution, `k m / (m + n)`
    mean1: f64,
    /// log of the central hypergeometric pmf up to a constant, relative to
    /// its mode (index 0 ↔ `lo`).
    logdc: Vec<f64>,
}

/// Log-weights this far below the largest are exactly 0 after `exp`.
const EXACT: f64 = -746.0;

/// For the mean and tail probabilities that the conditional odds ratio and
/// its interval are root-found on (compared with a target of order 1e-2 to
/// 1 after R's uniroot tolerance of ~1e-4): a weight below e^-40 ≈ 4e-18 of
/// the largest changes those sums by less than support × 4e-18, far below
/// every tolerance, and leaving the tails out makes each evaluation ~4×
/// cheaper on large tables. The p-value itself always uses [`EXACT`].
const ROOT_FINDING: f64 = -40.0;

impl Hyper {
    fn new(a: u64, b: u64, c: u64, d: u64) -> Self {
        let m = a + c; // first column total
        let n = b + d; // second column total
        let k = a + b; // first row total
        let lo = k.saturating_sub(n);
        let hi = k.min(m);
        let len = (hi - lo + 1) as usize;
        // ratio f(x+1)/f(x) = (m - x)(k - x) / ((x + 1)(n - k + x + 1))
        let log_ratio = |x: u64| -> f64 {
            let (mf, nf, kf, xf) = (m as f64, n as f64, k as f64, x as f64);
            ((mf - xf) * (kf - xf) / ((xf + 1.0) * (nf - kf + xf + 1.0))).ln()
        };
        // Mode of the central hypergeometric distribution.
        let mode_f = ((k + 1) as f64 * (m + 1) as f64 / (m + n + 2) as f64).floor();
        let mode = (mode_f as u64).clamp(lo, hi);
        let mi = (mode - lo) as usize;
        let mut logdc = vec![0.0; len];
        for i in (mi + 1)..len {
            logdc[i] = logdc[i - 1] + log_ratio(lo + i as u64 - 1);
        }
        for i in (0..mi).rev() {
            logdc[i] = logdc[i + 1] - log_ratio(lo + i as u64);
        }
        let mean1 = k as f64 * m as f64 / (m + n) as f64;
        Hyper {
            lo,
            hi,
            mean1,
            logdc,
        }
    }

    /// `log(dc[i]) + i·log(ncp)`: the log of the non-central weight of
    /// support point `lo + i`, up to a constant.
    fn log_weight(&self, i: usize, lncp: f64) -> f64 {
        if i == 0 {
            self.logdc[0]
        } else {
            self.logdc[i] + lncp * i as f64
        }
    }

    /// The non-central weights normalised to sum 1, over the window of the
    /// support where they are not exactly 0 in double precision: returns
    /// (index of the first point, weights). The log-weights are concave in
    /// the support point, so the window is the interval around their
    /// maximum where they lie within 746 of it (`exp` of anything lower is
    /// exactly 0). Summing only the window gives the very same numbers as
    /// summing the whole support, in O(window) instead of O(support): a
    /// table of a million patients has a support of ~10⁵ points but a window
    /// of a few thousand.
    fn window(&self, ncp: f64, negligible: f64) -> (usize, Vec<f64>) {
        let lncp = ncp.ln();
        let len = self.logdc.len();
        // The maximum of a concave sequence: first point not below its successor.
        let (mut a, mut b) = (0usize, len - 1);
        while a < b {
            let mid = a + (b - a) / 2;
            if self.log_weight(mid + 1, lncp) > self.log_weight(mid, lncp) {
                a = mid + 1;
            } else {
                b = mid;
            }
        }
        // Rounding can make a flat top slightly ragged: look around it.
        let (near_lo, near_hi) = (a.saturating_sub(2), (a + 2).min(len - 1));
        let mx = (near_lo..=near_hi)
            .map(|i| self.log_weight(i, lncp))
            .fold(f64::NEG_INFINITY, f64::max);
        let (mut first, mut last) = (a, a);
        while first > 0 && self.log_weight(first - 1, lncp) - mx > negligible {
            first -= 1;
        }
        while last + 1 < len && self.log_weight(last + 1, lncp) - mx > negligible {
            last += 1;
        }
        let mut d: Vec<f64> = (first..=last)
            .map(|i| (self.log_weight(i, lncp) - mx).exp())
            .collect();
        let s: f64 = d.iter().sum();
        for v in &mut d {
            *v /= s;
        }
        (first, d)
    }

    /// Non-central hypergeometric pmf over the support (R's `dnhyper`),
    /// exact: only weights that are 0 in double precision are left out.
    fn dnhyper(&self, ncp: f64) -> Vec<f64> {
        let (first, w) = self.window(ncp, EXACT);
        let mut d = vec![0.0; self.logdc.len()];
        d[first..first + w.len()].copy_from_slice(&w);
        d
    }

    /// Mean of the non-central distribution (R's `mnhyper`).
    fn mnhyper(&self, ncp: f64) -> f64 {
        if ncp == 0.0 {
            return self.lo as f64;
        }
        if ncp.is_infinite() {
            return self.hi as f64;
        }
        if ncp == 1.0 {
            // closed form; R's sum over the pmf is exact to rounding here,
            // and uniroot's first comparisons depend on this value
            return self.mean1;
        }
        let (first, w) = self.window(ncp, ROOT_FINDING);
        w.iter()
            .enumerate()
            .map(|(j, p)| (self.lo + (first + j) as u64) as f64 * p)
            .sum()
    }

    /// Distribution function (R's `pnhyper`): `P(X <= q)` or, with
    /// `upper`, `P(X >= q)`.
    fn pnhyper(&self, q: u64, ncp: f64, upper: bool) -> f64 {
        if ncp == 0.0 {
            return if upper {
                f64::from(u8::from(q <= self.lo))
            } else {
                f64::from(u8::from(q >= self.lo))
            };
        }
        if ncp.is_infinite() {
            return if upper {
                f64::from(u8::from(q <= self.hi))
            } else {
                f64::from(u8::from(q >= self.hi))
            };
        }
        let (first, w) = self.window(ncp, ROOT_FINDING);
        w.iter()
            .enumerate()
            .filter(|(j, _)| {
                let s = self.lo + (first + *j) as u64;
                if upper {
                    s >= q
                } else {
                    s <= q
                }
            })
            .map(|(_, p)| p)
            .sum()
    }
}

/// R's `uniroot(f, c(lo, hi))$root` with the default tolerance.
fn uniroot<F: FnMut(f64) -> f64>(mut f: F, lo: f64, hi: f64) -> f64 {
    let flo = f(lo);
    let fhi = f(hi);
    brent_zeroin(f, lo, hi, flo, fhi, UNIROOT_TOL, 1000).unwrap_or(f64::NAN)
}

/// Largest table total accepted by [`fisher_exact`] (the conditional
/// support is enumerated, so memory and time grow linearly with it).
pub const FISHER_MAX_TOTAL: u64 = 20_000_000;

/// Fisher's exact test for a 2×2 table = R `fisher.test(matrix(c(a, c, b, d), 2))`
/// (two-sided, `conf.level = 0.95`, `or = 1`).
///
/// * p-value: the sum of the conditional probabilities of all tables no
///   more likely than the observed one, with R's relative tolerance
///   `1 + 1e-7`.
/// * odds ratio: the conditional maximum-likelihood estimate, found as R
///   does with `uniroot` on the mean of the non-central hypergeometric
///   distribution (so it agrees with R to ~1e-10, not merely to `uniroot`'s
///   1.2e-4 tolerance).
/// * interval: the exact conditional interval, from the tails of the
///   non-central hypergeometric distribution, again via `uniroot`.
///
/// Errors on an all-zero table and on totals above [`FISHER_MAX_TOTAL`].
pub fn fisher_exact(a: u64, b: u64, c: u64, d: u64) -> Result<FisherTest> {
    fisher_exact_level(a, b, c, d, 0.95)
}

/// [`fisher_exact`] with a chosen confidence level
/// (`fisher.test(..., conf.level = conf_level)`).
pub fn fisher_exact_level(a: u64, b: u64, c: u64, d: u64, conf_level: f64) -> Result<FisherTest> {
    let total = [b, c, d]
        .iter()
        .try_fold(a, |acc, &v| acc.checked_add(v))
        .filter(|&t| t <= FISHER_MAX_TOTAL)
        .ok_or_else(|| {
            StatsError::invalid(format!(
                "table total exceeds {FISHER_MAX_TOTAL}, too large for Fisher's exact test"
            ))
        })?;
    if total == 0 {
        return Err(StatsError::TooFewObservations {
            what: "Fisher's exact test",
            needed: 1,
            got: 0,
        });
    }
    if !(conf_level > 0.0 && conf_level < 1.0) {
        return Err(StatsError::invalid(format!(
            "confidence level {conf_level} is not in (0, 1)"
        )));
    }
    let h = Hyper::new(a, b, c, d);
    let x = a;
    let xi = (x - h.lo) as usize;
    let xf = x as f64;

    // two-sided p-value
    let d1 = h.dnhyper(1.0);
    let cutoff = d1[xi] * (1.0 + 1e-7);
    let p_value = clamp_p(d1.iter().filter(|&&p| p <= cutoff).sum());

    // conditional MLE
    let odds_ratio = if x == h.lo {
        0.0
    } else if x == h.hi {
        f64::INFINITY
    } else {
        let mu = h.mnhyper(1.0);
        if mu > xf {
            uniroot(|t| h.mnhyper(t) - xf, 0.0, 1.0)
        } else if mu < xf {
            1.0 / uniroot(|t| h.mnhyper(1.0 / t) - xf, f64::EPSILON, 1.0)
        } else {
            1.0
        }
    };

    let alpha = (1.0 - conf_level) / 2.0;
    let ci_low = if x == h.lo {
        0.0
    } else {
        let p = h.pnhyper(x, 1.0, true);
        if p > alpha {
            uniroot(|t| h.pnhyper(x, t, true) - alpha, 0.0, 1.0)
        } else if p < alpha {
            1.0 / uniroot(|t| h.pnhyper(x, 1.0 / t, true) - alpha, f64::EPSILON, 1.0)
        } else {
            1.0
        }
    };
    let ci_high = if x == h.hi {
        f64::INFINITY
    } else {
        let p = h.pnhyper(x, 1.0, false);
        if p < alpha {
            uniroot(|t| h.pnhyper(x, t, false) - alpha, 0.0, 1.0)
        } else if p > alpha {
            1.0 / uniroot(|t| h.pnhyper(x, 1.0 / t, false) - alpha, f64::EPSILON, 1.0)
        } else {
            1.0
        }
    };
    Ok(FisherTest {
        p_value,
        odds_ratio,
        ci_low,
        ci_high,
    })
}

/// The most tables [`fisher_exact_rxc`] enumerates before giving up (R's
/// `fisher.test` likewise stops when its workspace is exhausted).
pub const FISHER_RXC_MAX_TABLES: u64 = 20_000_000;

/// Fisher's exact test of independence in an R × C table (rows of counts,
/// every row as long), as R's `fisher.test(m)` for tables larger than
/// 2 × 2: the two-sided p-value is the total probability, under the
/// multiple hypergeometric distribution given both margins, of the tables
/// no more probable than the observed one, with FEXACT's relative
/// tolerance (a table counts when its log-probability is at most the
/// observed one's plus 3.45254e-7). Rows and columns without a count take
/// no part; with fewer than two of either left, p = 1.
///
/// The tables are enumerated one by one (R uses the network algorithm of
/// Mehta and Patel, which finds the same sum faster); margins that allow
/// more than [`FISHER_RXC_MAX_TABLES`] tables are an error, as they are for
/// R without a larger workspace.
pub fn fisher_exact_rxc<R: AsRef<[u64]>>(rows: &[R]) -> Result<f64> {
    let table: Vec<&[u64]> = rows.iter().map(AsRef::as_ref).collect();
    let ncol = table.first().map_or(0, |r| r.len());
    if table.len() < 2 || ncol < 2 || table.iter().any(|r| r.len() != ncol) {
        return Err(StatsError::invalid(
            "Fisher's exact test needs a table of at least 2 rows and 2 columns, every row as long",
        ));
    }
    let row_sums: Vec<u64> = table.iter().map(|r| r.iter().sum()).collect();
    let col_sums: Vec<u64> = (0..ncol)
        .map(|j| table.iter().map(|r| r[j]).sum())
        .collect();
    let total: u64 = row_sums.iter().sum();
    if total == 0 {
        return Err(StatsError::TooFewObservations {
            what: "Fisher's exact test",
            needed: 1,
            got: 0,
        });
    }
    if total > FISHER_MAX_TOTAL {
        return Err(StatsError::invalid(format!(
            "table total exceeds {FISHER_MAX_TOTAL}, too large for Fisher's exact test"
        )));
    }
    let mut rs: Vec<u64> = row_sums.iter().copied().filter(|&v| v > 0).collect();
    let mut cs: Vec<u64> = col_sums.iter().copied().filter(|&v| v > 0).collect();
    if rs.len() < 2 || cs.len() < 2 {
        return Ok(1.0);
    }
    // The distribution depends on the margins only: fewer rows than
    // columns (the transpose), and the largest column last (it is what the
    // others leave), make fewer tables to walk.
    if rs.len() > cs.len() {
        std::mem::swap(&mut rs, &mut cs);
    }
    cs.sort_unstable();
    let ln_fact: Vec<f64> = std::iter::once(0.0)
        .chain((1..=total).scan(0.0, |acc, k| {
            *acc += (k as f64).ln();
            Some(*acc)
        }))
        .collect();
    // ln P(table) = Σ ln r_i! + Σ ln c_j! − ln n! − Σ ln x_ij!.
    let constant: f64 = rs.iter().map(|&v| ln_fact[v as usize]).sum::<f64>()
        + cs.iter().map(|&v| ln_fact[v as usize]).sum::<f64>()
        - ln_fact[total as usize];
    let observed: f64 = constant
        - table
            .iter()
            .flat_map(|r| r.iter())
            .map(|&x| ln_fact[x as usize])
            .sum::<f64>();
    let mut walk = Walk {
        cs: &cs,
        ln_fact: &ln_fact,
        threshold: observed + 3.45254e-7,
        observed,
        sum: 0.0,
        tables: 0,
    };
    let mut remaining = rs.clone();
    if !walk.fill(0, 0, cs[0], &mut remaining, constant) {
        return Err(StatsError::invalid(format!(
            "the table's margins allow more than {FISHER_RXC_MAX_TABLES} tables, too many for Fisher's exact test"
        )));
    }
    Ok((walk.sum * observed.exp()).min(1.0))
}

/// The walk over the tables of [`fisher_exact_rxc`]: columns filled one at
/// a time from the rows' remaining totals, the last column what remains.
struct Walk<'a> {
    cs: &'a [u64],
    ln_fact: &'a [f64],
    threshold: f64,
    observed: f64,
    /// Σ P(table) / P(observed) over the tables counted.
    sum: f64,
    tables: u64,
}

impl Walk<'_> {
    /// Fills column `j` from row `i` on, `left` of the column still to
    /// place, `remaining` the rows' totals not yet used, `ln_p` the
    /// log-probability so far; false once too many tables were walked.
    fn fill(&mut self, j: usize, i: usize, left: u64, remaining: &mut [u64], ln_p: f64) -> bool {
        let lf = |x: u64| self.ln_fact[x as usize];
        if j + 1 == self.cs.len() {
            self.tables += 1;
            if self.tables > FISHER_RXC_MAX_TABLES {
                return false;
            }
            let ln_table = ln_p - remaining.iter().map(|&x| lf(x)).sum::<f64>();
            if ln_table <= self.threshold {
                self.sum += (ln_table - self.observed).exp();
            }
            return true;
        }
        if i + 1 == remaining.len() {
            // The column's last cell takes what is left of it.
            if left > remaining[i] {
                return true;
            }
            let ln_p = ln_p - lf(left);
            remaining[i] -= left;
            let next = self.cs[j + 1];
            let go = self.fill(j + 1, 0, next, remaining, ln_p);
            remaining[i] += left;
            return go;
        }
        // What the rows below can still take bounds this cell from below.
        let below: u64 = remaining[i + 1..].iter().sum();
        for x in left.saturating_sub(below)..=left.min(remaining[i]) {
            let ln_x = ln_p - lf(x);
            remaining[i] -= x;
            let go = self.fill(j, i + 1, left - x, remaining, ln_x);
            remaining[i] += x;
            if !go {
                return false;
            }
        }
        true
    }
}

/// A ratio estimate with a two-sided Wald interval on the log scale.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RatioCi {
    /// The ratio.
    pub estimate: f64,
    /// Standard error of its logarithm.
    pub se_log: f64,
    /// Lower limit `exp(log(est) − z·se)`.
    pub low: f64,
    /// Upper limit `exp(log(est) + z·se)`.
    pub high: f64,
}

/// Sample odds ratio `ad / (bc)` with Woolf's (Wald) interval
/// `exp(log OR ± z √(1/a + 1/b + 1/c + 1/d))`.
///
/// Base R has no function for it; it equals `epitools::oddsratio.wald`
/// without correction and is written out by hand in the fixture script.
/// `None` if any cell is zero (no finite estimate or interval; no
/// continuity correction is applied).
pub fn odds_ratio_wald(a: u64, b: u64, c: u64, d: u64, conf_level: f64) -> Option<RatioCi> {
    if a == 0 || b == 0 || c == 0 || d == 0 || !(conf_level > 0.0 && conf_level < 1.0) {
        return None;
    }
    let (a, b, c, d) = (a as f64, b as f64, c as f64, d as f64);
    let est = (a * d) / (b * c);
    let se = (1.0 / a + 1.0 / b + 1.0 / c + 1.0 / d).sqrt();
    Some(log_wald(est, se, conf_level))
}

/// Risk ratio `[a/(a+b)] / [c/(c+d)]` with the log-scale Wald interval,
/// `SE = √(1/a − 1/(a+b) + 1/c − 1/(c+d))` (as `epitools::riskratio.wald`
/// without correction; written out by hand in the fixture script).
/// `None` if `a` or `c` is zero.
pub fn risk_ratio(a: u64, b: u64, c: u64, d: u64, conf_level: f64) -> Option<RatioCi> {
    if a == 0 || c == 0 || !(conf_level > 0.0 && conf_level < 1.0) {
        return None;
    }
    let (a, b, c, d) = (a as f64, b as f64, c as f64, d as f64);
    let est = (a / (a + b)) / (c / (c + d));
    let se = (1.0 / a - 1.0 / (a + b) + 1.0 / c - 1.0 / (c + d))
        .max(0.0)
        .sqrt();
    Some(log_wald(est, se, conf_level))
}

fn log_wald(est: f64, se: f64, conf_level: f64) -> RatioCi {
    let z = qnorm(1.0 - (1.0 - conf_level) / 2.0);
    let l = est.ln();
    RatioCi {
        estimate: est,
        se_log: se,
        low: (l - z * se).exp(),
        high: (l + z * se).exp(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fisher_tea_tasting() {
        // R: fisher.test(matrix(c(3, 1, 1, 3), 2))$p.value = 0.48571428571428565
        let f = fisher_exact(3, 1, 1, 3).expect("valid");
        assert!((f.p_value - 0.485_714_285_714_285_65).abs() < 1e-14);
        assert!(fisher_exact(0, 0, 0, 0).is_err());
        let z = fisher_exact(0, 0, 3, 4).expect("valid");
        assert_eq!(z.p_value, 1.0);
    }

    #[test]
    fn chisq_errors() {
        assert!(chisq_test(&[[0u64, 0], [1, 2]], true).is_err());
        assert!(chisq_test(&[[1u64, 2]], true).is_err());
        let r = chisq_test(&[[10u64, 20], [30, 5]], true).expect("valid");
        assert!(r.yates && r.p_value > 0.0 && r.p_value < 1.0);
    }

    #[test]
    fn ratios_with_zero_cells() {
        assert!(odds_ratio_wald(0, 1, 2, 3, 0.95).is_none());
        assert!(risk_ratio(0, 1, 2, 3, 0.95).is_none());
        assert!(risk_ratio(1, 0, 2, 3, 0.95).is_some());
    }
}
