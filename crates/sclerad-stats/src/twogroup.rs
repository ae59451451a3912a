//! Two-sample location tests: Welch and Student t-tests, Wilcoxon rank-sum
//! (Mann–Whitney) test.

use serde::Serialize;

use crate::descriptive::{mean_unchecked, var_unchecked};
use crate::dist::{clamp_p, norm_sf, qt, t_p_two_sided};
use crate::error::{check_finite, Result, StatsError};

/// Result of a two-sample t-test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TTest {
    /// t statistic for `mean(x) − mean(y)`.
    pub statistic: f64,
    /// Degrees of freedom (non-integer for Welch).
    pub df: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    /// `mean(x)`.
    pub mean_x: f64,
    /// `mean(y)`.
    pub mean_y: f64,
    /// Standard error of the difference.
    pub stderr: f64,
    /// Lower limit of the 95 % interval for `mean(x) − mean(y)`.
    pub ci_low: f64,
    /// Upper limit of the 95 % interval.
    pub ci_high: f64,
}

/// Welch's unequal-variance t-test = R `t.test(x, y)` (the default,
/// `var.equal = FALSE`, two-sided, 95 % interval).
///
/// Needs at least 2 finite values per group; errors when the data are
/// essentially constant (R: "data are essentially constant").
pub fn welch_t_test(x: &[f64], y: &[f64]) -> Result<TTest> {
    check_finite(x, "t-test x")?;
    check_finite(y, "t-test y")?;
    if x.len() < 2 || y.len() < 2 {
        return Err(StatsError::TooFewObservations {
            what: "Welch t-test (per group)",
            needed: 2,
            got: x.len().min(y.len()),
        });
    }
    let (nx, ny) = (x.len() as f64, y.len() as f64);
    let (mx, my) = (mean_unchecked(x), mean_unchecked(y));
    let (vx, vy) = (var_unchecked(x), var_unchecked(y));
    let sx = vx / nx;
    let sy = vy / ny;
    let stderr = (sx + sy).sqrt();
    let df = (sx + sy) * (sx + sy) / (sx * sx / (nx - 1.0) + sy * sy / (ny - 1.0));
    finish(mx, my, stderr, df)
}

/// Student's pooled-variance t-test = R `t.test(x, y, var.equal = TRUE)`.
///
/// Needs at least one value per group and three in total.
pub fn student_t_test(x: &[f64], y: &[f64]) -> Result<TTest> {
    check_finite(x, "t-test x")?;
    check_finite(y, "t-test y")?;
    if x.is_empty() || y.is_empty() || x.len() + y.len() < 3 {
        return Err(StatsError::TooFewObservations {
            what: "Student t-test (total, at least 1 per group)",
            needed: 3,
            got: x.len() + y.len(),
        });
    }
    let (nx, ny) = (x.len() as f64, y.len() as f64);
    let (mx, my) = (mean_unchecked(x), mean_unchecked(y));
    let df = nx + ny - 2.0;
    let mut v = 0.0;
    if x.len() > 1 {
        v += (nx - 1.0) * var_unchecked(x);
    }
    if y.len() > 1 {
        v += (ny - 1.0) * var_unchecked(y);
    }
    v /= df;
    let stderr = (v * (1.0 / nx + 1.0 / ny)).sqrt();
    finish(mx, my, stderr, df)
}

fn finish(mx: f64, my: f64, stderr: f64, df: f64) -> Result<TTest> {
    if !(stderr >= 10.0 * f64::EPSILON * mx.abs().max(my.abs())) || stderr == 0.0 {
        return Err(StatsError::degenerate("data are essentially constant"));
    }
    let t = (mx - my) / stderr;
    let q = qt(0.975, df);
    Ok(TTest {
        statistic: t,
        df,
        p_value: t_p_two_sided(t, df),
        mean_x: mx,
        mean_y: my,
        stderr,
        ci_low: (t - q) * stderr,
        ci_high: (t + q) * stderr,
    })
}

/// Result of the Wilcoxon rank-sum test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RankSumTest {
    /// R's `W`: rank sum of `x` minus `nx(nx + 1)/2` (the Mann–Whitney U of `x`).
    pub w: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    /// True when the exact null distribution was used.
    pub exact: bool,
}

/// Sum of the average ranks (R `rank()`, ties.method = "average") of the
/// `x` values in the pooled sample, and the sizes of the tie groups. Ranks
/// are half-integers, so the sum is exact.
pub(crate) fn rank_sum_and_ties(x: &[f64], y: &[f64]) -> (f64, Vec<usize>) {
    let mut all: Vec<(f64, bool)> = Vec::with_capacity(x.len() + y.len());
    all.extend(x.iter().map(|&v| (v, true)));
    all.extend(y.iter().map(|&v| (v, false)));
    all.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    let n = all.len();
    let mut sum = 0.0;
    let mut ties = Vec::new();
    let mut i = 0;
    while i < n {
        let mut j = i + 1;
        while j < n && all[j].0 == all[i].0 {
            j += 1;
        }
        // positions i..j (0-based) share the rank (i + 1 + j) / 2
        let r = (i + 1 + j) as f64 / 2.0;
        let in_x = all[i..j].iter().filter(|e| e.1).count();
        sum += r * in_x as f64;
        ties.push(j - i);
        i = j;
    }
    (sum, ties)
}

/// R's `W` statistic of `wilcox.test(x, y)`: the rank sum of `x` in the
/// pooled sample (average ranks for ties) minus `nx(nx + 1)/2`. Defined even
/// when every value is tied (where the test itself is not).
pub fn rank_sum_w(x: &[f64], y: &[f64]) -> Result<f64> {
    check_finite(x, "Wilcoxon x")?;
    check_finite(y, "Wilcoxon y")?;
    if x.is_empty() || y.is_empty() {
        return Err(StatsError::TooFewObservations {
            what: "Wilcoxon rank-sum test (per group)",
            needed: 1,
            got: x.len().min(y.len()),
        });
    }
    let (rx, _) = rank_sum_and_ties(x, y);
    let nxf = x.len() as f64;
    Ok(rx - nxf * (nxf + 1.0) / 2.0)
}

/// Wilcoxon rank-sum (Mann–Whitney) test = R `wilcox.test(x, y)` with its
/// defaults: two-sided; the exact null distribution when both samples have
/// fewer than 50 values and there are no ties; otherwise the normal
/// approximation with continuity correction and tie-corrected variance.
///
/// Errors on empty samples or non-finite values, and when all values are
/// tied (R returns NaN there).
pub fn wilcoxon_rank_sum(x: &[f64], y: &[f64]) -> Result<RankSumTest> {
    check_finite(x, "Wilcoxon x")?;
    check_finite(y, "Wilcoxon y")?;
    if x.is_empty() || y.is_empty() {
        return Err(StatsError::TooFewObservations {
            what: "Wilcoxon rank-sum test (per group)",
            needed: 1,
            got: x.len().min(y.len()),
        });
    }
    let nx = x.len();
    let ny = y.len();
    let (rx, ties) = rank_sum_and_ties(x, y);
    let (nxf, nyf) = (nx as f64, ny as f64);
    let w = rx - nxf * (nxf + 1.0) / 2.0;
    let has_ties = ties.iter().any(|&t| t > 1);
    if nx < 50 && ny < 50 && !has_ties {
        let dist = wilcox_null_distribution(nx, ny);
        let wi = w.round() as usize;
        let p = if w > nxf * nyf / 2.0 {
            // P(W >= w)
            dist[wi..].iter().sum::<f64>()
        } else {
            dist[..=wi.min(dist.len() - 1)].iter().sum::<f64>()
        };
        return Ok(RankSumTest {
            w,
            p_value: clamp_p((2.0 * p).min(1.0)),
            exact: true,
        });
    }
    let z0 = w - nxf * nyf / 2.0;
    let n = nxf + nyf;
    let tie_term: f64 = ties
        .iter()
        .map(|&t| {
            let t = t as f64;
            t * t * t - t
        })
        .sum();
    let sigma = ((nxf * nyf / 12.0) * ((n + 1.0) - tie_term / (n * (n - 1.0)))).sqrt();
    if !(sigma > 0.0) {
        return Err(StatsError::degenerate(
            "all values are tied; the rank-sum statistic has no variance",
        ));
    }
    // R: sign(z) * 0.5, with sign(0) = 0
    let correction = if z0 > 0.0 {
        0.5
    } else if z0 < 0.0 {
        -0.5
    } else {
        0.0
    };
    let z = (z0 - correction) / sigma;
    // R: 2 * min(pnorm(z), pnorm(z, lower.tail = FALSE))
    let p = 2.0 * norm_sf(z.abs());
    Ok(RankSumTest {
        w,
        p_value: clamp_p(p.min(1.0)),
        exact: false,
    })
}

/// Null distribution of W (Mann–Whitney U) for sample sizes `m`, `n`
/// without ties, as probabilities for W = 0..=m·n (R's `dwilcox`). Counts are
/// accumulated in f64 by a subset-sum recursion and normalised at the end.
pub(crate) fn wilcox_null_distribution(m: usize, n: usize) -> Vec<f64> {
    // Symmetric in (m, n); use the smaller as the subset size.
    let (k, other) = if m <= n { (m, n) } else { (n, m) };
    let total = k + other;
    let umax = k * other;
    // cnt[j][u]: number of j-subsets of {0..i} whose U-offset is u, where a
    // j-subset {s_1 < ... < s_j} has U = sum(s_l) - j(j-1)/2.
    let mut cnt = vec![vec![0.0_f64; umax + 1]; k + 1];
    cnt[0][0] = 1.0;
    for i in 0..total {
        let jmax = k.min(i + 1);
        for j in (1..=jmax).rev() {
            // adding element i as the j-th (largest) element shifts U by i - (j - 1)
            if i + 1 < j {
                continue;
            }
            let shift = i + 1 - j;
            if shift > umax {
                continue;
            }
            // (j-1)-subsets of {0..i-1} reach U ≤ (j-1)(i-j+1), so the new
            // j-subsets reach at most that plus `shift`
            let hi = ((j - 1) * (i + 1 - j) + shift).min(umax);
            let (prev, cur) = cnt.split_at_mut(j);
            let src = &prev[j - 1];
            let dst = &mut cur[0];
            for u in shift..=hi {
                dst[u] += src[u - shift];
            }
        }
    }
    let row = &cnt[k];
    let s: f64 = row.iter().sum();
    row.iter().map(|c| c / s).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_distribution_small() {
        // m = 2, n = 2: U in 0..=4 with counts 1,1,2,1,1 (/6)
        let d = wilcox_null_distribution(2, 2);
        let c: Vec<f64> = d.iter().map(|p| (p * 6.0).round()).collect();
        assert_eq!(c, vec![1.0, 1.0, 2.0, 1.0, 1.0]);
        let d = wilcox_null_distribution(3, 1);
        assert_eq!(d.len(), 4);
        assert!(d.iter().all(|p| (p - 0.25).abs() < 1e-15));
    }

    #[test]
    fn ranks_with_ties() {
        // ranks of [3, 1 | 3, 2] are [3.5, 1 | 3.5, 2]
        let (r, t) = rank_sum_and_ties(&[3.0, 1.0], &[3.0, 2.0]);
        assert_eq!(r, 4.5);
        assert_eq!(t, vec![1, 1, 2]);
    }

    #[test]
    fn degenerate_inputs() {
        assert!(welch_t_test(&[1.0], &[1.0, 2.0]).is_err());
        assert!(welch_t_test(&[1.0, 1.0], &[1.0, 1.0]).is_err());
        assert!(student_t_test(&[1.0], &[2.0]).is_err());
        assert!(wilcoxon_rank_sum(&[], &[1.0]).is_err());
        assert!(wilcoxon_rank_sum(&[1.0; 60], &[1.0; 60]).is_err());
        assert!(wilcoxon_rank_sum(&[f64::NAN], &[1.0]).is_err());
    }
}
