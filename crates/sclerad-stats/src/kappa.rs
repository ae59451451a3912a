//! Cohen's kappa for two raters, unweighted and weighted.
//!
//! Reference: J. L. Fleiss, J. Cohen and B. S. Everitt (1969), "Large sample
//! standard errors of kappa and weighted kappa", *Psychological Bulletin*
//! 72(5), 323–327 — the asymptotic (non-null) variance
//!
//! ```text
//! var(κ_w) = [ Σ_ij p_ij (w_ij − (w̄_i· + w̄_·j)(1 − κ_w))² − (κ_w − p_e(1 − κ_w))² ]
//!            / (n (1 − p_e)²),
//! w̄_i· = Σ_j p_·j w_ij,   w̄_·j = Σ_i p_i· w_ij,
//! ```
//!
//! with agreement weights `w_ii = 1`; unweighted kappa is the case `w = I`.
//! The fixture script writes these formulas out in R and checks that the
//! unweighted kappa and its variance equal `psych::cohen.kappa`
//! (psych 2.2.9). psych's *weighted* variance differs from the formula above
//! (it pairs the row margins with the wrong index), so the weighted
//! standard errors here follow Fleiss–Cohen–Everitt, not psych.

use serde::Serialize;

use crate::dist::qnorm;
use crate::error::{Result, StatsError};

/// Agreement weights for kappa over ordered categories `1..k`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KappaWeights {
    /// Cohen's unweighted kappa (`w = I`).
    Unweighted,
    /// Linear weights `1 − |i − j| / (k − 1)`.
    Linear,
    /// Quadratic weights `1 − (i − j)² / (k − 1)²` (psych's default for
    /// its `weighted.kappa`).
    Quadratic,
}

/// Cohen's kappa with its large-sample standard error.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Kappa {
    /// The kappa estimate.
    pub kappa: f64,
    /// Fleiss–Cohen–Everitt standard error.
    pub se: f64,
    /// `kappa − qnorm(0.975) · se`.
    pub ci_low: f64,
    /// `kappa + qnorm(0.975) · se`.
    pub ci_high: f64,
    /// Observed (weighted) agreement.
    pub po: f64,
    /// Chance-expected (weighted) agreement.
    pub pe: f64,
    /// Number of rated subjects.
    pub n: u64,
}

impl Kappa {
    /// The interval at `conf_level` (in (0, 1)): kappa ∓ z·se with z the
    /// normal's (1 + conf_level)/2 quantile, as `psych::cohen.kappa(…,
    /// alpha = 1 − conf_level)` gives it (not clipped to [−1, 1]).
    pub fn interval(&self, conf_level: f64) -> Result<(f64, f64)> {
        if !(conf_level > 0.0 && conf_level < 1.0) {
            return Err(StatsError::invalid(format!(
                "confidence level {conf_level} is not in (0, 1)"
            )));
        }
        let z = qnorm((1.0 + conf_level) / 2.0);
        Ok((self.kappa - z * self.se, self.kappa + z * self.se))
    }
}

/// Cohen's kappa from a k × k agreement table (rows: rater 1, columns:
/// rater 2, categories in their natural order).
///
/// Errors on non-square or empty tables, fewer than 2 categories, a zero
/// total, and when chance agreement is 1 (kappa is 0/0).
pub fn cohen_kappa<R: AsRef<[u64]>>(table: &[R], weights: KappaWeights) -> Result<Kappa> {
    let k = table.len();
    if k < 2 {
        return Err(StatsError::invalid("kappa needs at least 2 categories"));
    }
    if table.iter().any(|r| r.as_ref().len() != k) {
        return Err(StatsError::invalid("the kappa table must be square"));
    }
    let n: u64 = table
        .iter()
        .flat_map(|r| r.as_ref().iter())
        .try_fold(0u64, |acc, &v| acc.checked_add(v))
        .ok_or_else(|| StatsError::invalid("kappa table total overflows u64"))?;
    if n == 0 {
        return Err(StatsError::TooFewObservations {
            what: "kappa",
            needed: 1,
            got: 0,
        });
    }
    let nf = n as f64;
    let p: Vec<Vec<f64>> = table
        .iter()
        .map(|r| r.as_ref().iter().map(|&v| v as f64 / nf).collect())
        .collect();
    let km1 = (k - 1) as f64;
    let w = |i: usize, j: usize| -> f64 {
        let d = (i as f64 - j as f64).abs();
        match weights {
            KappaWeights::Unweighted => f64::from(u8::from(i == j)),
            KappaWeights::Linear => 1.0 - d / km1,
            KappaWeights::Quadratic => 1.0 - d * d / (km1 * km1),
        }
    };
    let row: Vec<f64> = p.iter().map(|r| r.iter().sum()).collect();
    let col: Vec<f64> = (0..k).map(|j| p.iter().map(|r| r[j]).sum()).collect();
    let mut po = 0.0;
    let mut pe = 0.0;
    for i in 0..k {
        for j in 0..k {
            po += w(i, j) * p[i][j];
            pe += w(i, j) * row[i] * col[j];
        }
    }
    if !(1.0 - pe > 1e-15) {
        return Err(StatsError::degenerate(
            "chance agreement is 1 (a single category used by both raters); kappa is undefined",
        ));
    }
    let kappa = (po - pe) / (1.0 - pe);
    let wbar_row: Vec<f64> = (0..k)
        .map(|i| (0..k).map(|j| col[j] * w(i, j)).sum())
        .collect();
    let wbar_col: Vec<f64> = (0..k)
        .map(|j| (0..k).map(|i| row[i] * w(i, j)).sum())
        .collect();
    let mut s = 0.0;
    for i in 0..k {
        for j in 0..k {
            let d = w(i, j) - (wbar_row[i] + wbar_col[j]) * (1.0 - kappa);
            s += p[i][j] * d * d;
        }
    }
    let corr = kappa - pe * (1.0 - kappa);
    let var = ((s - corr * corr) / (nf * (1.0 - pe) * (1.0 - pe))).max(0.0);
    let se = var.sqrt();
    let z = qnorm(0.975);
    Ok(Kappa {
        kappa,
        se,
        ci_low: kappa - z * se,
        ci_high: kappa + z * se,
        po,
        pe,
        n,
    })
}

/// Cohen's kappa from paired ratings. Categories are the sorted union of
/// the values both raters used (as `psych::cohen.kappa` builds its table);
/// for weighted kappa their sorted order defines the distances.
pub fn cohen_kappa_ratings<T: Ord + Clone>(
    rater1: &[T],
    rater2: &[T],
    weights: KappaWeights,
) -> Result<Kappa> {
    if rater1.len() != rater2.len() {
        return Err(StatsError::invalid(format!(
            "rater 1 has {} ratings but rater 2 has {}",
            rater1.len(),
            rater2.len()
        )));
    }
    let mut levels: Vec<T> = rater1.iter().chain(rater2).cloned().collect();
    levels.sort();
    levels.dedup();
    let k = levels.len();
    let mut table = vec![vec![0u64; k]; k];
    for (a, b) in rater1.iter().zip(rater2) {
        let (Ok(i), Ok(j)) = (levels.binary_search(a), levels.binary_search(b)) else {
            continue;
        };
        table[i][j] += 1;
    }
    cohen_kappa(&table, weights)
}

/// Fleiss' kappa for several raters (Fleiss 1971), with the standard error
/// under the null hypothesis of Fleiss, Nee and Landis (1979) and its z
/// test, as R's `irr::kappam.fleiss` (defaults: `exact = FALSE`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FleissKappa {
    /// Subjects rated.
    pub subjects: usize,
    /// Raters per subject.
    pub raters: usize,
    /// Kappa.
    pub kappa: f64,
    /// Its standard error when kappa is 0.
    pub se: f64,
    /// kappa / se.
    pub z: f64,
    /// Two-sided p-value of z.
    pub p_value: f64,
}

/// Fleiss' kappa of `counts`: one row per subject, the number of raters
/// who put it in each category (every row summing to the same number of
/// raters, at least 2; at least 2 categories).
///
/// Errors: no subject, rows of different lengths or totals, fewer than 2
/// raters; [`StatsError::Degenerate`] when every rating falls in one
/// category (kappa undefined).
pub fn fleiss_kappa<R: AsRef<[u64]>>(counts: &[R]) -> Result<FleissKappa> {
    let rows: Vec<&[u64]> = counts.iter().map(AsRef::as_ref).collect();
    let n_subjects = rows.len();
    let k = rows.first().map_or(0, |r| r.len());
    if n_subjects == 0 || k < 2 || rows.iter().any(|r| r.len() != k) {
        return Err(StatsError::invalid(
            "Fleiss' kappa needs at least one subject and two categories, every row as long",
        ));
    }
    let raters = rows[0].iter().sum::<u64>();
    if raters < 2 || rows.iter().any(|r| r.iter().sum::<u64>() != raters) {
        return Err(StatsError::invalid(
            "Fleiss' kappa needs the same number of raters (at least 2) for every subject",
        ));
    }
    let (n, m) = (n_subjects as f64, raters as f64);
    let p: Vec<f64> = (0..k)
        .map(|j| rows.iter().map(|r| r[j] as f64).sum::<f64>() / (n * m))
        .collect();
    let p_bar = rows
        .iter()
        .map(|r| (r.iter().map(|&c| (c * c) as f64).sum::<f64>() - m) / (m * (m - 1.0)))
        .sum::<f64>()
        / n;
    let p_e: f64 = p.iter().map(|pj| pj * pj).sum();
    let pq: f64 = p.iter().map(|pj| pj * (1.0 - pj)).sum();
    if pq <= 0.0 || (1.0 - p_e) <= 0.0 {
        return Err(StatsError::degenerate(
            "every rating falls in one category: Fleiss' kappa is undefined",
        ));
    }
    let kappa = (p_bar - p_e) / (1.0 - p_e);
    let spread: f64 = p.iter().map(|pj| pj * (1.0 - pj) * (1.0 - 2.0 * pj)).sum();
    let se = (2.0 / (n * m * (m - 1.0))).sqrt() * (pq * pq - spread).max(0.0).sqrt() / pq;
    let z = kappa / se;
    Ok(FleissKappa {
        subjects: n_subjects,
        raters: raters as usize,
        kappa,
        se,
        z,
        p_value: crate::dist::norm_p_two_sided(z),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_agreement() {
        let k = cohen_kappa(&[[5u64, 0], [0, 5]], KappaWeights::Unweighted).expect("valid");
        assert!((k.kappa - 1.0).abs() < 1e-15);
        assert!(k.se.abs() < 1e-15);
    }

    #[test]
    fn errors() {
        assert!(cohen_kappa(&[[5u64]], KappaWeights::Unweighted).is_err());
        assert!(cohen_kappa(&[[5u64, 0], [0, 0]], KappaWeights::Unweighted).is_err());
        assert!(cohen_kappa(&[[0u64, 0], [0, 0]], KappaWeights::Linear).is_err());
        assert!(cohen_kappa_ratings(&[1, 2], &[1], KappaWeights::Linear).is_err());
    }
}
