//! Brent's root finder with the iteration rule of R's `uniroot()`.
//!
//! R's `fisher.test` finds its conditional-MLE odds ratio and exact
//! confidence limits with `uniroot(..., tol = .Machine$double.eps^0.25)`,
//! i.e. only to an absolute tolerance of about 1.2e-4 on the search scale.
//! To report the *same* numbers as R, rather than the exact roots, this
//! module implements the same algorithm — Brent (1973), *Algorithms for
//! Minimization without Derivatives*, ch. 4, in the form where the previous
//! step is taken as `b - a` — so that the iterates coincide with R's.

/// R's default `uniroot` tolerance, `.Machine$double.eps^0.25`.
pub(crate) const UNIROOT_TOL: f64 = 1.220_703_125e-4;

/// Finds a root of `f` in `[a, b]` given `fa = f(a)`, `fb = f(b)` of opposite
/// signs (or one of them zero). Returns `None` if the signs do not bracket a
/// root or a function value is NaN.
pub(crate) fn brent_zeroin<F: FnMut(f64) -> f64>(
    mut f: F,
    a0: f64,
    b0: f64,
    fa0: f64,
    fb0: f64,
    tol: f64,
    max_iter: usize,
) -> Option<f64> {
    if fa0.is_nan() || fb0.is_nan() || fa0 * fb0 > 0.0 {
        return None;
    }
    let (mut a, mut b, mut fa, mut fb) = (a0, b0, fa0, fb0);
    let (mut c, mut fc) = (a, fa);
    if fa == 0.0 {
        return Some(a);
    }
    if fb == 0.0 {
        return Some(b);
    }
    for _ in 0..=max_iter {
        let prev_step = b - a;
        // Keep b the best approximation: |f(b)| <= |f(c)|.
        if fc.abs() < fb.abs() {
            a = b;
            b = c;
            c = a;
            fa = fb;
            fb = fc;
            fc = fa;
        }
        let tol_act = 2.0 * f64::EPSILON * b.abs() + tol / 2.0;
        let mut new_step = (c - b) / 2.0;
        if new_step.abs() <= tol_act || fb == 0.0 {
            return Some(b);
        }
        // Try interpolation when the previous step was large enough and
        // moved in the right direction.
        if prev_step.abs() >= tol_act && fa.abs() > fb.abs() {
            let cb = c - b;
            let (mut p, mut q);
            if a == c {
                // secant (linear interpolation)
                let t1 = fb / fa;
                p = cb * t1;
                q = 1.0 - t1;
            } else {
                // inverse quadratic interpolation
                let qq = fa / fc;
                let t1 = fb / fc;
                let t2 = fb / fa;
                p = t2 * (cb * qq * (qq - t1) - (b - a) * (t1 - 1.0));
                q = (qq - 1.0) * (t1 - 1.0) * (t2 - 1.0);
            }
            if p > 0.0 {
                q = -q;
            } else {
                p = -p;
            }
            if p < 0.75 * cb * q - (tol_act * q).abs() / 2.0 && p < (prev_step * q / 2.0).abs() {
                new_step = p / q;
            }
        }
        if new_step.abs() < tol_act {
            new_step = if new_step > 0.0 { tol_act } else { -tol_act };
        }
        a = b;
        fa = fb;
        b += new_step;
        fb = f(b);
        if fb.is_nan() {
            return None;
        }
        if (fb > 0.0 && fc > 0.0) || (fb < 0.0 && fc < 0.0) {
            c = a;
            fc = fa;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_sqrt2() {
        let f = |x: f64| x * x - 2.0;
        let r = brent_zeroin(f, 0.0, 2.0, f(0.0), f(2.0), 1e-12, 100).unwrap_or(f64::NAN);
        assert!((r - std::f64::consts::SQRT_2).abs() < 1e-11);
    }

    #[test]
    fn rejects_unbracketed() {
        let f = |x: f64| x * x + 1.0;
        assert!(brent_zeroin(f, 0.0, 2.0, f(0.0), f(2.0), 1e-12, 100).is_none());
    }
}
