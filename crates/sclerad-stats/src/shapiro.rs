//! Shapiro–Wilk normality test.
//!
//! Implemented from the published algorithm: P. Royston (1995), "Remark
//! AS R94: A remark on Algorithm AS 181: The W-test for normality",
//! *Applied Statistics* 44(4), 547–551, and P. Royston (1992),
//! "Approximating the Shapiro–Wilk W-test for non-normality",
//! *Statistics and Computing* 2, 117–119 (coefficient polynomials and the
//! normalising transformation of W). This is the algorithm behind R's
//! `shapiro.test`; the code here is written from the papers, not from R.

use serde::Serialize;

use crate::dist::{clamp_p, norm_sf, qnorm};
use crate::error::{check_finite, Result, StatsError};

/// Result of the Shapiro–Wilk test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ShapiroWilk {
    /// The W statistic.
    pub w: f64,
    /// p-value (upper tail of the normalised `log(1 − W)`).
    pub p_value: f64,
}

/// Evaluates `c[0] + c[1] x + c[2] x² + …` (AS 181's `poly`).
fn poly(c: &[f64], x: f64) -> f64 {
    c.iter().rev().fold(0.0, |acc, &ci| acc * x + ci)
}

// Royston (1992) polynomial coefficients, as published in AS R94.
const C1: [f64; 6] = [0.0, 0.221157, -0.147981, -2.071190, 4.434685, -2.706056];
const C2: [f64; 6] = [0.0, 0.042981, -0.293762, -1.752461, 5.682633, -3.582633];
const C3: [f64; 4] = [0.5440, -0.39978, 0.025054, -6.714e-4];
const C4: [f64; 4] = [1.3822, -0.77857, 0.062767, -0.0020322];
const C5: [f64; 4] = [-1.5861, -0.31082, -0.083751, 0.0038915];
const C6: [f64; 3] = [-0.4803, -0.082676, 0.0030302];
const G: [f64; 2] = [-2.273, 0.459];

/// Shapiro–Wilk W test of normality = R `shapiro.test(x)`, for
/// 3 ≤ n ≤ 5000 (Royston's AS R94 algorithm).
///
/// For 4 ≤ n ≤ 11, AS R94 guards `log(1 − W) ≥ γ(n)` (outside the range of
/// its approximation) with a fixed tiny p-value; like R this function then
/// returns 1e-99. The guard cannot trigger for attainable W (it would need W
/// below the smallest value W takes for that n), so it is not covered by the
/// R fixtures.
/// Errors when n is outside [3, 5000], on non-finite values, and when all
/// values are (nearly) identical (range < 1e-10, as R).
pub fn shapiro_wilk(x: &[f64]) -> Result<ShapiroWilk> {
    check_finite(x, "Shapiro–Wilk")?;
    let n = x.len();
    if n < 3 {
        return Err(StatsError::TooFewObservations {
            what: "Shapiro–Wilk test",
            needed: 3,
            got: n,
        });
    }
    if n > 5000 {
        return Err(StatsError::invalid(format!(
            "Shapiro–Wilk test needs 3 ≤ n ≤ 5000, got n = {n}"
        )));
    }
    let mut s = x.to_vec();
    s.sort_by(f64::total_cmp);
    let range = s[n - 1] - s[0];
    if range < 1e-10 {
        return Err(StatsError::degenerate("all values are identical"));
    }
    let nf = n as f64;
    let half = n / 2;

    // Coefficients a[0..half] for the upper half (positive), a[0] largest.
    let mut a = vec![0.0; half];
    if n == 3 {
        a[0] = std::f64::consts::FRAC_1_SQRT_2;
    } else {
        // approximate expected normal order statistics (lower half, negative)
        let m: Vec<f64> = (1..=half)
            .map(|i| qnorm((i as f64 - 0.375) / (nf + 0.25)))
            .collect();
        let summ2 = 2.0 * m.iter().map(|v| v * v).sum::<f64>();
        let ssumm2 = summ2.sqrt();
        let rsn = 1.0 / nf.sqrt();
        let a1 = poly(&C1, rsn) - m[0] / ssumm2;
        let (start, fac) = if n > 5 {
            let a2 = -m[1] / ssumm2 + poly(&C2, rsn);
            let fac = ((summ2 - 2.0 * m[0] * m[0] - 2.0 * m[1] * m[1])
                / (1.0 - 2.0 * a1 * a1 - 2.0 * a2 * a2))
                .sqrt();
            a[1] = a2;
            (2, fac)
        } else {
            let fac = ((summ2 - 2.0 * m[0] * m[0]) / (1.0 - 2.0 * a1 * a1)).sqrt();
            (1, fac)
        };
        a[0] = a1;
        for i in start..half {
            a[i] = -m[i] / fac;
        }
    }

    // Full antisymmetric coefficient vector for the ascending sample.
    let coef = |i: usize| -> f64 {
        let j = n - 1 - i;
        if i < j {
            -a[i]
        } else if i > j {
            a[j]
        } else {
            0.0
        }
    };
    // W as the squared correlation between coefficients and data; 1 − W is
    // formed directly to avoid cancellation when W is close to 1.
    let xs: Vec<f64> = s.iter().map(|v| v / range).collect();
    let ca = (0..n).map(coef).sum::<f64>() / nf;
    let cx = xs.iter().sum::<f64>() / nf;
    let (mut ssa, mut ssx, mut sax) = (0.0, 0.0, 0.0);
    for (i, xi) in xs.iter().enumerate() {
        let da = coef(i) - ca;
        let dx = xi - cx;
        ssa += da * da;
        ssx += dx * dx;
        sax += da * dx;
    }
    let ssassx = (ssa * ssx).sqrt();
    let w1 = ((ssassx - sax) * (ssassx + sax) / (ssa * ssx)).max(0.0);
    let w = 1.0 - w1;

    if n == 3 {
        // exact distribution for n = 3
        let p = 6.0 / std::f64::consts::PI * (w.sqrt().asin() - (0.75_f64).sqrt().asin());
        return Ok(ShapiroWilk {
            w,
            p_value: clamp_p(p.clamp(0.0, 1.0)),
        });
    }
    let mut y = w1.ln();
    let lxx = nf.ln();
    let (mu, sigma) = if n <= 11 {
        let gamma = poly(&G, nf);
        if y >= gamma {
            return Ok(ShapiroWilk { w, p_value: 1e-99 });
        }
        y = -(gamma - y).ln();
        (poly(&C3, nf), poly(&C4, nf).exp())
    } else {
        (poly(&C5, lxx), poly(&C6, lxx).exp())
    };
    let p = norm_sf((y - mu) / sigma);
    Ok(ShapiroWilk {
        w,
        p_value: clamp_p(p),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_sizes() {
        assert!(shapiro_wilk(&[1.0, 2.0]).is_err());
        assert!(shapiro_wilk(&[1.0; 10]).is_err());
        assert!(shapiro_wilk(&vec![0.5; 5001]).is_err());
        assert!(shapiro_wilk(&[1.0, f64::INFINITY, 2.0]).is_err());
    }

    #[test]
    fn n3_uniform_spacing_is_perfectly_normal_looking() {
        let r = shapiro_wilk(&[1.0, 2.0, 3.0]).expect("valid");
        assert!((r.w - 1.0).abs() < 1e-15);
        assert!((r.p_value - 1.0).abs() < 1e-12);
    }
}
