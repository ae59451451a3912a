//! Tail probabilities and quantiles of the reference distributions.
//!
//! Every p-value in this crate is computed from an *upper* tail (`sf`),
//! never as `1 - cdf`, so far tails keep their relative accuracy. The
//! normal tail uses `libm::erfc` (≈1e-13 relative), the t, χ² and beta
//! tails use statrs' regularized incomplete beta and gamma functions.
//!
//! # The p-value floor
//!
//! A tail probability below `f64::MIN_POSITIVE` (≈2.2e-308) cannot be held
//! as a normal `f64`. Instead of letting it underflow to 0 (or to a
//! subnormal), every p-value returned by this crate is clamped to
//! [`P_FLOOR`]` = f64::MIN_POSITIVE`; a reported p equal to [`P_FLOOR`]
//! means "p < 2.2e-308". Use [`is_p_floor`] to detect it.

use statrs::distribution::{ChiSquared, Continuous, ContinuousCDF, Normal, StudentsT};

/// Smallest p-value this crate reports; a p-value equal to this constant
/// stands for "below `f64::MIN_POSITIVE`".
pub const P_FLOOR: f64 = f64::MIN_POSITIVE;

/// True when `p` is the floor value, i.e. the true p-value is below
/// `f64::MIN_POSITIVE` (≈2.2e-308).
pub fn is_p_floor(p: f64) -> bool {
    p <= P_FLOOR
}

/// Clamps a p-value into `[P_FLOOR, 1]` (NaN stays NaN).
pub(crate) fn clamp_p(p: f64) -> f64 {
    if p.is_nan() {
        p
    } else {
        p.clamp(P_FLOOR, 1.0)
    }
}

/// Standard normal upper tail `P(Z > z)` = R `pnorm(z, lower.tail = FALSE)`,
/// computed as `erfc(z / √2) / 2`. Not clamped.
pub fn norm_sf(z: f64) -> f64 {
    0.5 * libm::erfc(z / std::f64::consts::SQRT_2)
}

/// Two-sided normal p-value `2 P(Z > |z|)` = R `2 * pnorm(-abs(z))`, clamped
/// to [`P_FLOOR`].
pub fn norm_p_two_sided(z: f64) -> f64 {
    clamp_p(2.0 * norm_sf(z.abs()))
}

/// Standard normal quantile = R `qnorm(p)`. Returns NaN outside (0, 1)
/// (and ∓∞ at 0 and 1).
pub fn qnorm(p: f64) -> f64 {
    if p.is_nan() || !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    match Normal::new(0.0, 1.0) {
        Ok(n) => n.inverse_cdf(p),
        Err(_) => f64::NAN,
    }
}

/// Degrees of freedom above which [`t_sf`] integrates the density itself
/// instead of calling statrs, whose log-gamma prefactor loses about
/// 1e-16·df relative accuracy (2e-12 at df = 1e4, 4e-10 at df = 1e6, 2e-8
/// at df = 1e7).
const T_LARGE_DF: f64 = 1e4;

/// Upper tail of Student's t: R `pt(t, df, lower.tail = FALSE)`. Not clamped.
///
/// statrs for `df ≤ 1e4`. Above that the tail integral of the density is
/// computed here by composite Gauss–Legendre quadrature, with the density's
/// constant `Γ((df+1)/2) / (Γ(df/2) √(df π))` taken from Stirling's series
/// (no cancellation) and `log1p` for the kernel, keeping ~1e-13 relative
/// accuracy for any df.
pub fn t_sf(t: f64, df: f64) -> f64 {
    if !(df > 0.0) || t.is_nan() {
        return f64::NAN;
    }
    if df > T_LARGE_DF {
        return t_sf_large_df(t, df);
    }
    match StudentsT::new(0.0, 1.0, df) {
        Ok(d) => d.sf(t),
        Err(_) => f64::NAN,
    }
}

/// `ln Γ(z + 1/2) − ln Γ(z)` for z ≥ 10 without cancellation, from
/// Stirling's series `ln Γ(w) = (w − ½) ln w − w + ½ ln 2π + ω(w)`.
fn ln_gamma_half_ratio(z: f64) -> f64 {
    let omega = |w: f64| {
        let w2 = w * w;
        (1.0 / 12.0 - (1.0 / 360.0 - (1.0 / 1260.0 - 1.0 / (1680.0 * w2)) / w2) / w2) / w
    };
    z * (0.5 / z).ln_1p() + 0.5 * z.ln() - 0.5 + (omega(z + 0.5) - omega(z))
}

/// log density of Student's t for large df.
fn t_ln_pdf_large(s: f64, df: f64) -> f64 {
    let ln_c = ln_gamma_half_ratio(df / 2.0) - 0.5 * (df * std::f64::consts::PI).ln();
    ln_c - 0.5 * (df + 1.0) * (s * s / df).ln_1p()
}

/// 16-point Gauss–Legendre nodes and weights on [−1, 1] (Newton iteration
/// on the Legendre polynomial, computed once).
fn gauss_legendre_16() -> &'static [(f64, f64); 16] {
    static GL: std::sync::OnceLock<[(f64, f64); 16]> = std::sync::OnceLock::new();
    GL.get_or_init(|| {
        const N: usize = 16;
        let mut out = [(0.0, 0.0); N];
        for (i, slot) in out.iter_mut().enumerate() {
            let mut x = (std::f64::consts::PI * (i as f64 + 0.75) / (N as f64 + 0.5)).cos();
            let mut dp = 1.0;
            for _ in 0..100 {
                // P_N(x) and its derivative by the three-term recurrence
                let (mut p0, mut p1) = (1.0, x);
                for k in 2..=N {
                    let kf = k as f64;
                    let p2 = ((2.0 * kf - 1.0) * x * p1 - (kf - 1.0) * p0) / kf;
                    p0 = p1;
                    p1 = p2;
                }
                dp = N as f64 * (x * p1 - p0) / (x * x - 1.0);
                let dx = p1 / dp;
                x -= dx;
                if dx.abs() < 1e-16 {
                    break;
                }
            }
            *slot = (x, 2.0 / ((1.0 - x * x) * dp * dp));
        }
        out
    })
}

fn t_sf_large_df(t: f64, df: f64) -> f64 {
    if t < 0.0 {
        return 1.0 - t_sf_large_df(-t, df);
    }
    if t > 1e150 {
        // P(T > t) ≤ C t^(−df) underflows for df > 1e4
        return 0.0;
    }
    // ∫_t^∞ f(s) ds = f(t) ∫_0^∞ exp(ln f(t + u) − ln f(t)) du, on panels
    // whose widths follow the local decay rate and grow geometrically.
    let l0 = t_ln_pdf_large(t, df);
    // panel width from the local scale of ln f: slope and curvature at t
    let q = df + t * t;
    let rate = (df + 1.0) * t / q;
    let curv = (df + 1.0) * (df - t * t).abs() / (q * q);
    let mut width = 0.25 / rate.max(curv.sqrt()).max(1e-300);
    let gl = gauss_legendre_16();
    let mut u0 = 0.0_f64;
    let mut total = 0.0_f64;
    for _ in 0..400 {
        let half = 0.5 * width;
        let mid = u0 + half;
        let mut panel = 0.0;
        for &(x, w) in gl.iter() {
            let u = mid + half * x;
            panel += w * (t_ln_pdf_large(t + u, df) - l0).exp();
        }
        total += half * panel;
        u0 += width;
        let rel_end = t_ln_pdf_large(t + u0, df) - l0;
        if rel_end < -745.0 || (rel_end < -40.0 && half * panel < 1e-18 * total) {
            break;
        }
        width *= 1.25;
    }
    l0.exp() * total
}

/// Two-sided t p-value `2 P(T > |t|)` = R `2 * pt(-abs(t), df)`, clamped.
pub fn t_p_two_sided(t: f64, df: f64) -> f64 {
    clamp_p(2.0 * t_sf(t.abs(), df))
}

/// Density of Student's t (only used for Newton steps).
fn t_pdf(t: f64, df: f64) -> f64 {
    if df > T_LARGE_DF {
        return t_ln_pdf_large(t, df).exp();
    }
    match StudentsT::new(0.0, 1.0, df) {
        Ok(d) => d.pdf(t),
        Err(_) => f64::NAN,
    }
}

/// Quantile of Student's t: R `qt(p, df)`.
///
/// Starts from the beta-quantile representation of t (or from `qnorm` for
/// `df > 1e4`) and is polished by safeguarded Newton steps on [`t_sf`], so
/// it inverts the same tail function R's `pt` uses.
pub fn qt(p: f64, df: f64) -> f64 {
    if !(df > 0.0) || p.is_nan() || !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    if p == 0.5 {
        return 0.0;
    }
    // Work in the upper half: find t > 0 with P(T > t) = alpha.
    let (upper, alpha) = if p > 0.5 { (true, 1.0 - p) } else { (false, p) };
    let mut t = if df > T_LARGE_DF {
        -qnorm(alpha)
    } else {
        // P(|T| > t) = 2 alpha  <=>  I_y(df/2, 1/2) = 2 alpha, y = df / (df + t²)
        let y = qbeta_lower(2.0 * alpha, df / 2.0, 0.5);
        (df * (1.0 - y) / y).sqrt()
    };
    if !(t.is_finite() && t > 0.0) {
        t = -qnorm(alpha);
    }
    // Newton on sf(t) = alpha, kept inside a bracket.
    let (mut lo, mut hi) = (0.0_f64, f64::INFINITY);
    for _ in 0..100 {
        let f = t_sf(t, df) - alpha;
        if f == 0.0 || f.is_nan() {
            break;
        }
        if f > 0.0 {
            lo = t; // tail too large: t too small
        } else {
            hi = t;
        }
        let dens = t_pdf(t, df);
        let mut next = t + f / dens;
        if !(next > lo && next < hi && next.is_finite()) {
            next = if hi.is_finite() {
                0.5 * (lo + hi)
            } else {
                2.0 * t.max(1.0)
            };
        }
        let done = (next - t).abs() <= 4.0 * f64::EPSILON * t.abs();
        t = next;
        if done {
            break;
        }
    }
    if upper {
        t
    } else {
        -t
    }
}

/// Largest χ² degrees of freedom accepted by [`chisq_sf`] (statrs' upper
/// incomplete gamma function does not terminate for astronomically large
/// shapes).
pub const CHISQ_MAX_DF: f64 = 1e10;

/// Upper tail of χ²: R `pchisq(x, df, lower.tail = FALSE)`. Not clamped.
/// NaN for `df` outside `(0, CHISQ_MAX_DF]`.
pub fn chisq_sf(x: f64, df: f64) -> f64 {
    if !(df > 0.0 && df <= CHISQ_MAX_DF) || x.is_nan() {
        return f64::NAN;
    }
    if x <= 0.0 {
        return 1.0;
    }
    if x == f64::INFINITY {
        return 0.0;
    }
    match ChiSquared::new(df) {
        Ok(d) => d.sf(x),
        Err(_) => f64::NAN,
    }
}

/// χ² p-value (upper tail), clamped to [`P_FLOOR`].
pub fn chisq_p(x: f64, df: f64) -> f64 {
    clamp_p(chisq_sf(x, df))
}

/// Beta quantile: R `qbeta(p, a, b, lower.tail)`, by safeguarded Newton
/// iteration (bisection fallback) on the regularized incomplete beta
/// function. The smaller tail is always solved directly (`P(X > x) = p` via
/// `Beta(b, a)` at `1 − x`), so small tail probabilities keep full accuracy.
pub fn qbeta(p: f64, a: f64, b: f64, lower_tail: bool) -> f64 {
    if !(a > 0.0 && b > 0.0 && a.is_finite() && b.is_finite())
        || p.is_nan()
        || !(0.0..=1.0).contains(&p)
    {
        return f64::NAN;
    }
    // lower tail p  <=>  upper tail 1 - p
    let (lower_p, upper_p) = if lower_tail {
        (p, 1.0 - p)
    } else {
        (1.0 - p, p)
    };
    if lower_p <= 0.5 {
        qbeta_lower(lower_p, a, b)
    } else {
        // P(X > x) = q  <=>  P(Y <= 1 - x) = q  with Y ~ Beta(b, a)
        1.0 - qbeta_lower(upper_p, b, a)
    }
}

/// Regularized incomplete beta `I_x(a, b)`; NaN instead of a panic.
fn beta_cdf(x: f64, a: f64, b: f64) -> f64 {
    statrs::function::beta::checked_beta_reg(a, b, x).unwrap_or(f64::NAN)
}

/// Solves `I_x(a, b) = p` for x.
fn qbeta_lower(p: f64, a: f64, b: f64) -> f64 {
    if p <= 0.0 {
        return 0.0;
    }
    if p >= 1.0 {
        return 1.0;
    }
    let Ok(ln_b) = statrs::function::beta::checked_ln_beta(a, b) else {
        return f64::NAN;
    };
    let ln_pdf = |x: f64| (a - 1.0) * x.ln() + (b - 1.0) * (-x).ln_1p() - ln_b;
    // Starting value: the small-x expansion I_x ≈ x^a / (a B(a, b)), or the
    // mean when that is not small.
    let small = ((p.ln() + a.ln() + ln_b) / a).exp();
    let mut x = if small > 0.0 && small < 0.5 {
        small
    } else {
        a / (a + b)
    };
    let (mut lo, mut hi) = (0.0_f64, 1.0_f64);
    for _ in 0..2000 {
        let f = beta_cdf(x, a, b) - p;
        if f.is_nan() {
            return f64::NAN;
        }
        if f == 0.0 {
            return x;
        }
        if f > 0.0 {
            hi = x;
        } else {
            lo = x;
        }
        let dens = ln_pdf(x).exp();
        let mut next = if dens > 0.0 && dens.is_finite() {
            x - f / dens
        } else {
            f64::NAN
        };
        if !(next > lo && next < hi) {
            // bisect; geometrically while the bracket touches 0
            next = if lo == 0.0 {
                hi / 16.0
            } else {
                0.5 * (lo + hi)
            };
        }
        let done =
            (next - x).abs() <= 2.0 * f64::EPSILON * x.abs() || hi - lo <= 2.0 * f64::EPSILON * hi;
        x = next;
        if done || x == 0.0 {
            break;
        }
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_tail_values() {
        // R: pnorm(1.96, lower.tail = FALSE)
        assert!((norm_sf(1.96) / 0.024997895148220428 - 1.0).abs() < 1e-13);
        // R: pnorm(37, lower.tail = FALSE)
        let v = norm_sf(37.0);
        assert!((v / 5.725571222524577e-300 - 1.0).abs() < 1e-10);
        assert_eq!(norm_p_two_sided(40.0), P_FLOOR);
        assert!(is_p_floor(norm_p_two_sided(40.0)));
    }

    #[test]
    fn quantiles() {
        assert!((qnorm(0.975) - 1.9599639845400536).abs() < 1e-15);
        // R: qt(0.975, 10)
        assert!((qt(0.975, 10.0) / 2.228138851986274 - 1.0).abs() < 1e-14);
        assert!((qt(0.025, 10.0) / -2.228138851986274 - 1.0).abs() < 1e-14);
        // R: qbeta(0.025, 3, 8)
        assert!((qbeta(0.025, 3.0, 8.0, true) / 0.06673951117773447 - 1.0).abs() < 1e-12);
        assert!(qbeta(f64::NAN, 1.0, 1.0, true).is_nan());
        assert!(qt(0.5, 3.0) == 0.0);
    }
}
