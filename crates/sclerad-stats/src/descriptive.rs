//! Descriptive statistics: mean, standard deviation, quantiles, counts.

use serde::Serialize;

use crate::error::{check_finite, Result, StatsError};

/// Arithmetic mean = R `mean(x)`.
///
/// Uses R's two-pass refinement (mean of the residuals added back), so the
/// result is accurate to a few ulps. Errors on an empty slice or non-finite
/// values.
pub fn mean(x: &[f64]) -> Result<f64> {
    check_finite(x, "mean")?;
    if x.is_empty() {
        return Err(StatsError::TooFewObservations {
            what: "mean",
            needed: 1,
            got: 0,
        });
    }
    Ok(mean_unchecked(x))
}

pub(crate) fn mean_unchecked(x: &[f64]) -> f64 {
    let n = x.len() as f64;
    let m = x.iter().sum::<f64>() / n;
    if !m.is_finite() {
        return m;
    }
    let r: f64 = x.iter().map(|v| v - m).sum();
    m + r / n
}

/// Sample variance with denominator n − 1 = R `var(x)`.
pub fn var(x: &[f64]) -> Result<f64> {
    check_finite(x, "var")?;
    if x.len() < 2 {
        return Err(StatsError::TooFewObservations {
            what: "variance",
            needed: 2,
            got: x.len(),
        });
    }
    Ok(var_unchecked(x))
}

pub(crate) fn var_unchecked(x: &[f64]) -> f64 {
    let m = mean_unchecked(x);
    let n = x.len() as f64;
    let ss: f64 = x.iter().map(|v| (v - m) * (v - m)).sum();
    ss / (n - 1.0)
}

/// Sample standard deviation (denominator n − 1) = R `sd(x)`.
pub fn sd(x: &[f64]) -> Result<f64> {
    var(x).map(f64::sqrt)
}

/// Sample quantiles of R's default type 7 = R `quantile(x, probs, type = 7)`:
/// `x[lo] * (1 - h) + x[hi] * h` with `index = 1 + (n - 1) * p`.
///
/// Errors on an empty sample, non-finite data, or a probability outside
/// [0, 1].
pub fn quantiles(x: &[f64], probs: &[f64]) -> Result<Vec<f64>> {
    check_finite(x, "quantile")?;
    if x.is_empty() {
        return Err(StatsError::TooFewObservations {
            what: "quantile",
            needed: 1,
            got: 0,
        });
    }
    if let Some(p) = probs.iter().find(|p| !(0.0..=1.0).contains(*p)) {
        return Err(StatsError::invalid(format!(
            "quantile probability {p} is outside [0, 1]"
        )));
    }
    let mut s = x.to_vec();
    s.sort_unstable_by(f64::total_cmp);
    Ok(probs.iter().map(|&p| quantile_sorted(&s, p)).collect())
}

/// Type-7 quantile of an already sorted, non-empty, finite sample.
pub(crate) fn quantile_sorted(s: &[f64], p: f64) -> f64 {
    let n = s.len();
    let index = (n - 1) as f64 * p; // zero-based
    let lo = index.floor();
    let hi = index.ceil();
    let lo_i = (lo as usize).min(n - 1);
    let hi_i = (hi as usize).min(n - 1);
    let qs = s[lo_i];
    if index > lo && s[hi_i] != qs {
        let h = index - lo;
        (1.0 - h) * qs + h * s[hi_i]
    } else {
        qs
    }
}

/// Median = R `median(x)` (type-7 quantile at 0.5).
pub fn median(x: &[f64]) -> Result<f64> {
    quantiles(x, &[0.5]).map(|v| v[0])
}

/// One category of a frequency table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Count<T> {
    /// The category.
    pub value: T,
    /// Number of observations in the category.
    pub n: u64,
    /// `100 * n / total` = R `100 * prop.table(table(x))`.
    pub percent: f64,
}

/// Frequency table with percentages = R `table(x)` and
/// `100 * prop.table(table(x))`, categories in sorted order (as R's factor
/// levels). An empty input gives an empty table.
pub fn counts<T: Ord + Clone>(x: &[T]) -> Vec<Count<T>> {
    let mut s: Vec<&T> = x.iter().collect();
    s.sort();
    let total = x.len() as f64;
    let mut out: Vec<Count<T>> = Vec::new();
    for v in s {
        match out.last_mut() {
            Some(last) if &last.value == v => last.n += 1,
            _ => out.push(Count {
                value: v.clone(),
                n: 1,
                percent: 0.0,
            }),
        }
    }
    for c in &mut out {
        c.percent = 100.0 * c.n as f64 / total;
    }
    out
}

/// Summary of a numeric sample.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Number of observations.
    pub n: usize,
    /// R `mean(x)`.
    pub mean: f64,
    /// R `sd(x)`; `None` when n < 2.
    pub sd: Option<f64>,
    /// R `min(x)`.
    pub min: f64,
    /// R `quantile(x, 0.25)`.
    pub q1: f64,
    /// R `median(x)`.
    pub median: f64,
    /// R `quantile(x, 0.75)`.
    pub q3: f64,
    /// R `max(x)`.
    pub max: f64,
}

/// Mean, SD and five-number summary (type-7 quartiles, as R `summary(x)`
/// computes them before rounding for display).
pub fn summary(x: &[f64]) -> Result<Summary> {
    check_finite(x, "summary")?;
    if x.is_empty() {
        return Err(StatsError::TooFewObservations {
            what: "summary",
            needed: 1,
            got: 0,
        });
    }
    let mut s = x.to_vec();
    s.sort_unstable_by(f64::total_cmp);
    Ok(Summary {
        n: x.len(),
        mean: mean_unchecked(x),
        sd: (x.len() >= 2).then(|| var_unchecked(x).sqrt()),
        min: s[0],
        q1: quantile_sorted(&s, 0.25),
        median: quantile_sorted(&s, 0.5),
        q3: quantile_sorted(&s, 0.75),
        max: s[s.len() - 1],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic() {
        let x = [1.0, 2.0, 3.0, 4.0, 10.0];
        assert_eq!(mean(&x).ok(), Some(4.0));
        assert!((sd(&x).unwrap_or(0.0) - 3.535_533_905_932_737_6).abs() < 1e-14);
        let q = quantiles(&x, &[0.0, 0.1, 0.5, 1.0]).unwrap_or_default();
        assert_eq!(q, vec![1.0, 1.4, 3.0, 10.0]);
        assert!(mean(&[]).is_err());
        assert!(sd(&[1.0]).is_err());
        assert!(mean(&[f64::NAN]).is_err());
        assert!(quantiles(&x, &[1.5]).is_err());
    }

    #[test]
    fn count_table() {
        let c = counts(&["b", "a", "b"]);
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].value, "a");
        assert_eq!(c[1].n, 2);
        assert!((c[1].percent - 200.0 / 3.0).abs() < 1e-12);
        assert!(counts::<u8>(&[]).is_empty());
    }
}
