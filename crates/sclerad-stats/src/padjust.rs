//! Multiple-testing adjustment of p-values.

use serde::Serialize;

use crate::error::{Result, StatsError};

/// Adjustment method of R's `p.adjust`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AdjustMethod {
    /// Holm (1979) step-down.
    Holm,
    /// Hochberg (1988) step-up.
    Hochberg,
    /// Hommel (1988); O(n²) like R's implementation.
    Hommel,
    /// Bonferroni.
    Bonferroni,
    /// Benjamini–Hochberg (1995) false discovery rate.
    #[serde(rename = "BH")]
    Bh,
    /// Benjamini–Yekutieli (2001) false discovery rate.
    #[serde(rename = "BY")]
    By,
}

impl AdjustMethod {
    /// All methods, in R's order.
    pub const ALL: [AdjustMethod; 6] = [
        AdjustMethod::Holm,
        AdjustMethod::Hochberg,
        AdjustMethod::Hommel,
        AdjustMethod::Bonferroni,
        AdjustMethod::Bh,
        AdjustMethod::By,
    ];

    /// R's name for the method (`"holm"`, …, `"BH"`, `"BY"`).
    pub fn r_name(self) -> &'static str {
        match self {
            AdjustMethod::Holm => "holm",
            AdjustMethod::Hochberg => "hochberg",
            AdjustMethod::Hommel => "hommel",
            AdjustMethod::Bonferroni => "bonferroni",
            AdjustMethod::Bh => "BH",
            AdjustMethod::By => "BY",
        }
    }

    /// Parses R's name (case-insensitive; `"fdr"` is an alias of BH).
    pub fn from_r_name(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "holm" => Some(AdjustMethod::Holm),
            "hochberg" => Some(AdjustMethod::Hochberg),
            "hommel" => Some(AdjustMethod::Hommel),
            "bonferroni" => Some(AdjustMethod::Bonferroni),
            "bh" | "fdr" => Some(AdjustMethod::Bh),
            "by" => Some(AdjustMethod::By),
            _ => None,
        }
    }
}

/// Adjusts p-values = R `p.adjust(p, method)` (with `n = length(p)`).
///
/// Every p must be in [0, 1] (NaN is rejected; R would drop NA values).
/// The output is in the input order. Hommel's method is O(n²).
pub fn p_adjust(p: &[f64], method: AdjustMethod) -> Result<Vec<f64>> {
    if let Some(i) = p.iter().position(|v| !(0.0..=1.0).contains(v)) {
        return Err(StatsError::invalid(format!(
            "p-value {} at position {i} is not in [0, 1]",
            p[i]
        )));
    }
    let n = p.len();
    if n <= 1 {
        return Ok(p.to_vec());
    }
    let nf = n as f64;
    let method = if n == 2 && method == AdjustMethod::Hommel {
        AdjustMethod::Hochberg
    } else {
        method
    };
    // Ascending order; the order among tied p-values does not change any
    // adjusted value, so an unstable sort is as good as R's order().
    let mut pairs: Vec<(f64, usize)> = p.iter().copied().zip(0..n).collect();
    pairs.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    let asc: Vec<usize> = pairs.iter().map(|e| e.1).collect();
    let desc: Vec<usize> = asc.iter().rev().copied().collect();
    let mut out = vec![0.0; n];
    match method {
        AdjustMethod::Bonferroni => {
            for (o, v) in out.iter_mut().zip(p) {
                *o = (nf * v).min(1.0);
            }
        }
        AdjustMethod::Holm => {
            let mut run = f64::NEG_INFINITY;
            for (k, &idx) in asc.iter().enumerate() {
                let v = (nf - k as f64) * p[idx];
                run = run.max(v);
                out[idx] = run.min(1.0);
            }
        }
        AdjustMethod::Hochberg => {
            let mut run = f64::INFINITY;
            for (k, &idx) in desc.iter().enumerate() {
                let v = (k as f64 + 1.0) * p[idx];
                run = run.min(v);
                out[idx] = run.min(1.0);
            }
        }
        AdjustMethod::Bh | AdjustMethod::By => {
            let q = if method == AdjustMethod::By {
                (1..=n).map(|i| 1.0 / i as f64).sum::<f64>()
            } else {
                1.0
            };
            let mut run = f64::INFINITY;
            for (k, &idx) in desc.iter().enumerate() {
                let i = (n - k) as f64;
                let v = if method == AdjustMethod::By {
                    q * nf / i * p[idx]
                } else {
                    nf / i * p[idx]
                };
                run = run.min(v);
                out[idx] = run.min(1.0);
            }
        }
        AdjustMethod::Hommel => {
            let ps: Vec<f64> = asc.iter().map(|&i| p[i]).collect();
            let init = ps
                .iter()
                .enumerate()
                .map(|(j, v)| nf * v / (j as f64 + 1.0))
                .fold(f64::INFINITY, f64::min);
            let mut q = vec![init; n];
            let mut pa = vec![init; n];
            for m in (2..n).rev() {
                let mf = m as f64;
                // i1 = 1..=n-m+1, i2 = n-m+2..=n (1-based)
                let n1 = n - m + 1;
                let q1 = (n1..n)
                    .zip(2..=m)
                    .map(|(j, d)| mf * ps[j] / d as f64)
                    .fold(f64::INFINITY, f64::min);
                for j in 0..n1 {
                    q[j] = (mf * ps[j]).min(q1);
                }
                let fill = q[n1 - 1];
                for v in q.iter_mut().skip(n1) {
                    *v = fill;
                }
                for (a, b) in pa.iter_mut().zip(&q) {
                    *a = a.max(*b);
                }
            }
            for (k, &idx) in asc.iter().enumerate() {
                out[idx] = pa[k].max(ps[k]);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_cases() {
        assert_eq!(p_adjust(&[], AdjustMethod::Holm).ok(), Some(vec![]));
        assert_eq!(p_adjust(&[0.3], AdjustMethod::By).ok(), Some(vec![0.3]));
        assert!(p_adjust(&[f64::NAN, 0.1], AdjustMethod::Bh).is_err());
        assert!(p_adjust(&[1.5], AdjustMethod::Bh).is_err());
        let b = p_adjust(&[0.01, 0.04], AdjustMethod::Bonferroni).unwrap_or_default();
        assert_eq!(b, vec![0.02, 0.08]);
        let h = p_adjust(&[0.01, 0.04], AdjustMethod::Hommel).unwrap_or_default();
        let hb = p_adjust(&[0.01, 0.04], AdjustMethod::Hochberg).unwrap_or_default();
        assert_eq!(h, hb);
        assert_eq!(AdjustMethod::from_r_name("fdr"), Some(AdjustMethod::Bh));
    }
}
