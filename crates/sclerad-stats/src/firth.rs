//! Firth's penalised-likelihood logistic regression (Firth 1993; Heinze and
//! Schemper 2002), as R's `logistf` reports it with its defaults: the
//! estimates maximise the penalised log-likelihood
//! `l*(β) = l(β) + ½ ln det I(β)` (`I = XᵀWX`), so they exist when maximum
//! likelihood does not (complete or quasi-complete separation); standard
//! errors from `I(β̂)⁻¹`; profile penalised-likelihood intervals; and
//! penalised likelihood-ratio p-values.
//!
//! The reference is `r/firth.R` (logistf is not packaged in Debian's R),
//! written from the papers and checked there against `brglm2` and
//! `optim()`; both iterate to full precision, where logistf stops at
//! 1e-5, so the numbers agree to far better than that.

use serde::Serialize;

use crate::dist::{chisq_p, qnorm};
use crate::error::{Result, StatsError};
use crate::linalg::{Cholesky, SymMat};

/// One coefficient of a Firth fit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FirthCoef {
    /// Penalised estimate, log-odds scale.
    pub estimate: f64,
    /// Its standard error, `sqrt(diag(I(β̂)⁻¹))`.
    pub se: f64,
    /// Lower profile penalised-likelihood limit, log-odds scale (−∞ when
    /// the profile never reaches the level).
    pub ci_low: f64,
    /// Upper limit.
    pub ci_high: f64,
    /// exp(estimate).
    pub odds_ratio: f64,
    /// exp(ci_low).
    pub or_ci_low: f64,
    /// exp(ci_high).
    pub or_ci_high: f64,
    /// Penalised likelihood-ratio statistic of β = 0.
    pub chisq: f64,
    /// Its p-value (χ², 1 df).
    pub p_value: f64,
}

/// A Firth logistic fit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FirthFit {
    /// Intercept first, then one per covariate column.
    pub coefficients: Vec<FirthCoef>,
    /// The maximised penalised log-likelihood.
    pub loglik: f64,
    /// Newton iterations of the unconstrained fit.
    pub iterations: usize,
}

const MAXIT: usize = 5000;
const MAX_STEP: f64 = 5.0;
const STEP_TOL: f64 = 1e-11;

/// ln(1 / (1 + e^−η)), without overflow.
fn log_plogis(eta: f64) -> f64 {
    if eta >= 0.0 {
        -(-eta).exp().ln_1p()
    } else {
        eta - eta.exp().ln_1p()
    }
}

fn plogis(eta: f64) -> f64 {
    if eta >= 0.0 {
        1.0 / (1.0 + (-eta).exp())
    } else {
        let e = eta.exp();
        e / (1.0 + e)
    }
}

/// xᵀ A x.
fn quadratic(a: &SymMat, x: &[f64]) -> f64 {
    let mut sum = 0.0;
    for (i, xi) in x.iter().enumerate() {
        let mut row = 0.0;
        for (j, xj) in x.iter().enumerate() {
            row += a.get(i, j) * xj;
        }
        sum += xi * row;
    }
    sum
}

struct Problem {
    n: usize,
    k: usize,
    /// Row-major n × k, the intercept first.
    x: Vec<f64>,
    y: Vec<f64>,
}

/// One constrained maximum of the penalised log-likelihood.
struct Maximum {
    beta: Vec<f64>,
    loglik: f64,
    iterations: usize,
}

impl Problem {
    fn row(&self, i: usize) -> &[f64] {
        &self.x[i * self.k..(i + 1) * self.k]
    }

    /// Fitted probabilities and XᵀWX at `beta`.
    fn information(&self, beta: &[f64]) -> (Vec<f64>, SymMat) {
        let k = self.k;
        let mut info = SymMat::zeros(k);
        let mut p = Vec::with_capacity(self.n);
        for i in 0..self.n {
            let r = self.row(i);
            let pi = plogis(r.iter().zip(beta).map(|(a, b)| a * b).sum());
            let w = pi * (1.0 - pi);
            for a in 0..k {
                for b in 0..=a {
                    info.add(a, b, w * r[a] * r[b]);
                }
            }
            p.push(pi);
        }
        for a in 0..k {
            for b in 0..a {
                let v = info.get(a, b);
                info.set(b, a, v);
            }
        }
        (p, info)
    }

    /// l*(β); −∞ where the information is singular.
    fn loglik(&self, beta: &[f64]) -> f64 {
        let mut ll = 0.0;
        for i in 0..self.n {
            let eta: f64 = self.row(i).iter().zip(beta).map(|(a, b)| a * b).sum();
            ll += if self.y[i] == 1.0 {
                log_plogis(eta)
            } else {
                log_plogis(-eta)
            };
        }
        let (_, info) = self.information(beta);
        match Cholesky::new(&info, 1e-300) {
            Some(c) => ll + 0.5 * c.log_det(),
            None => f64::NEG_INFINITY,
        }
    }

    /// The modified score U*(β), the gradient of l*; `None` where the
    /// information is singular.
    fn score(&self, beta: &[f64]) -> Option<Vec<f64>> {
        let (p, info) = self.information(beta);
        let inv = Cholesky::new(&info, 1e-14)?.inverse();
        Some(self.score_at(&p, &inv))
    }

    /// U* from the fitted probabilities and the inverse information:
    /// Xᵀ(y − p + h(½ − p)), h the hat matrix's diagonal.
    fn score_at(&self, p: &[f64], inv: &SymMat) -> Vec<f64> {
        let mut score = vec![0.0; self.k];
        for (i, pi) in p.iter().enumerate() {
            let r = self.row(i);
            let w = pi * (1.0 - pi);
            let h = w * quadratic(inv, r);
            let resid = self.y[i] - pi + h * (0.5 - pi);
            for (s, x) in score.iter_mut().zip(r) {
                *s += resid * x;
            }
        }
        score
    }

    /// Newton's step on the Hessian of l* over `free` (central differences
    /// of U*, steps of 1e-6 relative, symmetrised), if that Hessian is
    /// negative definite.
    fn newton_step(&self, beta: &[f64], free: &[usize], score: &[f64]) -> Option<Vec<f64>> {
        let m = free.len();
        let mut h = vec![vec![0.0; m]; m];
        for (a, &ja) in free.iter().enumerate() {
            let e = 1e-6 * beta[ja].abs().max(1.0);
            let mut up = beta.to_vec();
            up[ja] += e;
            let mut down = beta.to_vec();
            down[ja] -= e;
            let (su, sd) = (self.score(&up)?, self.score(&down)?);
            for (b, &jb) in free.iter().enumerate() {
                h[b][a] = (su[jb] - sd[jb]) / (2.0 * e);
            }
        }
        // −H, symmetrised, must be positive definite.
        let mut neg = SymMat::zeros(m);
        for (a, row) in h.iter().enumerate() {
            for (b, hab) in row.iter().enumerate() {
                neg.set(a, b, -0.5 * (hab + h[b][a]));
            }
        }
        let chol = Cholesky::new(&neg, 1e-14)?;
        let g: Vec<f64> = free.iter().map(|&j| score[j]).collect();
        Some(chol.solve(&g))
    }

    /// Maximises l* with coefficient `fixed` (if any) held at its value in
    /// `start`, from `start`: Fisher scoring (the information as the
    /// Hessian, as logistf), and Newton's steps on the Hessian of l* itself
    /// (while it is negative definite) where scoring's steps, below 0.1,
    /// shrink by less than a factor of 4 — it can crawl along a flat ridge
    /// or cycle there. `r/firth.R` takes Newton's steps below 0.1 always;
    /// both stop at the same maximum, to 1e-11.
    fn maximise(&self, fixed: Option<usize>, start: Vec<f64>) -> Result<Maximum> {
        let k = self.k;
        let free: Vec<usize> = (0..k).filter(|j| Some(*j) != fixed).collect();
        let mut beta = start;
        let mut ll = self.loglik(&beta);
        let mut previous_step = f64::INFINITY;
        for iteration in 1..=MAXIT {
            let (p, info) = self.information(&beta);
            let Some(chol) = Cholesky::new(&info, 1e-14) else {
                return Err(StatsError::degenerate(
                    "the information matrix is singular (constant or collinear covariates)",
                ));
            };
            let score = self.score_at(&p, &chol.inverse());
            let mut sub = SymMat::zeros(free.len());
            for (a, &ja) in free.iter().enumerate() {
                for (b, &jb) in free.iter().enumerate() {
                    sub.set(a, b, info.get(ja, jb));
                }
            }
            let Some(sub_chol) = Cholesky::new(&sub, 1e-14) else {
                return Err(StatsError::degenerate("the information matrix is singular"));
            };
            let sub_score: Vec<f64> = free.iter().map(|&j| score[j]).collect();
            let step_free = sub_chol.solve(&sub_score);
            let mut delta = vec![0.0; k];
            for (&j, d) in free.iter().zip(&step_free) {
                delta[j] = *d;
            }
            // Newton's steps (2 scores per free coefficient each) only where
            // scoring, cheap, stops contracting: the maximum is the same.
            let scoring = delta.iter().fold(0.0_f64, |m, d| m.max(d.abs()));
            let crawling = scoring < 0.1 && scoring > 0.25 * previous_step;
            previous_step = scoring;
            if crawling {
                if let Some(newton) = self.newton_step(&beta, &free, &score) {
                    for (&j, d) in free.iter().zip(&newton) {
                        delta[j] = *d;
                    }
                }
            }
            let big = delta.iter().fold(0.0_f64, |m, d| m.max(d.abs()));
            if big > MAX_STEP {
                delta.iter_mut().for_each(|d| *d *= MAX_STEP / big);
            }
            let (next, next_ll) = loop {
                let next: Vec<f64> = beta.iter().zip(&delta).map(|(b, d)| b + d).collect();
                let next_ll = self.loglik(&next);
                let size = delta.iter().fold(0.0_f64, |m, d| m.max(d.abs()));
                if next_ll >= ll - 1e-13 || size < 1e-15 {
                    break (next, next_ll);
                }
                delta.iter_mut().for_each(|d| *d /= 2.0);
            };
            beta = next;
            ll = next_ll;
            if delta.iter().fold(0.0_f64, |m, d| m.max(d.abs())) < STEP_TOL {
                return Ok(Maximum {
                    beta,
                    loglik: ll,
                    iterations: iteration,
                });
            }
        }
        Err(StatsError::NonConvergence {
            what: "Firth's penalised logistic regression",
            iterations: MAXIT,
        })
    }
}

/// Firth's logistic regression of `y` on `covariates` (columns; an
/// intercept is added), intervals at `conf_level` (see the module).
///
/// Errors: an outcome with one value only is fine (Firth's estimate
/// exists); [`StatsError::Degenerate`] for constant or collinear
/// covariates; [`StatsError::NonConvergence`]; invalid input.
pub fn firth_logistic<C: AsRef<[f64]>>(
    y: &[bool],
    covariates: &[C],
    conf_level: f64,
) -> Result<FirthFit> {
    let n = y.len();
    let k = covariates.len() + 1;
    if !(conf_level > 0.0 && conf_level < 1.0) {
        return Err(StatsError::invalid(
            "conf_level must lie strictly between 0 and 1",
        ));
    }
    let x = crate::logistic::design_rows(n, covariates, "Firth's logistic regression")?;
    let problem = Problem {
        n,
        k,
        x,
        y: y.iter().map(|&v| if v { 1.0 } else { 0.0 }).collect(),
    };
    let fit = problem.maximise(None, vec![0.0; k])?;
    let (_, info) = problem.information(&fit.beta);
    let Some(chol) = Cholesky::new(&info, 1e-14) else {
        return Err(StatsError::degenerate("the information matrix is singular"));
    };
    let cov = chol.inverse();
    let means: Vec<f64> = (0..k)
        .map(|j| (0..n).map(|i| problem.row(i)[j]).sum::<f64>() / n as f64)
        .collect();
    // The maximum given β_j = v, from the estimate with the intercept
    // moved so that the mean linear predictor stays where it was.
    // Successive maxima along one coefficient's profile start from the
    // last one (the steps towards a bound are ever shorter).
    let last: std::cell::RefCell<Option<(usize, Vec<f64>)>> = std::cell::RefCell::new(None);
    let given = |j: usize, v: f64| -> Result<Maximum> {
        let from = match last.borrow().as_ref() {
            Some((lj, beta)) if *lj == j => beta.clone(),
            _ => fit.beta.clone(),
        };
        let mut start = from.clone();
        start[j] = v;
        if j > 0 {
            start[0] -= (v - from[j]) * means[j];
        }
        let m = problem.maximise(Some(j), start)?;
        *last.borrow_mut() = Some((j, m.beta.clone()));
        Ok(m)
    };
    let z = qnorm(0.5 + conf_level / 2.0);
    let level = z * z;
    // The profile's excess over the level, 2 (l*(β̂) − max l* | β_j = v)
    // − q, and its slope in v: −2 ∂l*/∂β_j at the constrained maximum (the
    // other coefficients are at their optimum there).
    let excess = |j: usize, v: f64| -> Result<(f64, f64)> {
        let m = given(j, v)?;
        let slope = problem
            .score(&m.beta)
            .map(|u| -2.0 * u[j])
            .ok_or_else(|| StatsError::degenerate("the information matrix is singular"))?;
        Ok((2.0 * (fit.loglik - m.loglik) - level, slope))
    };
    // Where the profile crosses the level on side `dir`: Newton's steps on
    // the profile (its slope is known), kept inside the bracket found so
    // far, bisecting where a step would leave it; from the Wald limit.
    let bound = |j: usize, se: f64, dir: f64| -> Result<f64> {
        let b = fit.beta[j];
        let mut inside = b; // excess < 0
        let mut outside: Option<f64> = None; // excess > 0
        let mut v = b + dir * z * se.max(1e-3);
        for _ in 0..200 {
            if (v - b).abs() > 1e4 {
                return Ok(dir * f64::INFINITY);
            }
            let (g, slope) = excess(j, v)?;
            if g == 0.0 {
                return Ok(v);
            }
            if g < 0.0 {
                inside = v;
            } else {
                outside = Some(v);
            }
            let newton = v - g / slope;
            let next = match outside {
                // Not bracketed yet: Newton's step if it goes outward far
                // enough, else twice as far out.
                None => {
                    let far = b + 2.0 * (v - b);
                    if newton.is_finite() && (newton - inside) * dir > 0.0 {
                        if (newton - b).abs() > (far - b).abs() {
                            far
                        } else {
                            newton
                        }
                    } else {
                        far
                    }
                }
                Some(out) => {
                    let (lo, hi) = if inside < out {
                        (inside, out)
                    } else {
                        (out, inside)
                    };
                    if newton.is_finite() && newton > lo && newton < hi {
                        newton
                    } else {
                        0.5 * (lo + hi)
                    }
                }
            };
            if (next - v).abs() <= 1e-13 * v.abs().max(1.0) {
                return Ok(next);
            }
            v = next;
        }
        Err(StatsError::NonConvergence {
            what: "the profile penalised-likelihood interval",
            iterations: 200,
        })
    };
    let mut coefficients = Vec::with_capacity(k);
    for j in 0..k {
        let se = cov.get(j, j).sqrt();
        last.replace(None);
        let ci_low = bound(j, se, -1.0)?;
        last.replace(None);
        let ci_high = bound(j, se, 1.0)?;
        last.replace(None);
        let chisq = (2.0 * (fit.loglik - given(j, 0.0)?.loglik)).max(0.0);
        let estimate = fit.beta[j];
        coefficients.push(FirthCoef {
            estimate,
            se,
            ci_low,
            ci_high,
            odds_ratio: estimate.exp(),
            or_ci_low: ci_low.exp(),
            or_ci_high: ci_high.exp(),
            chisq,
            p_value: chisq_p(chisq, 1.0),
        });
    }
    Ok(FirthFit {
        coefficients,
        loglik: fit.loglik,
        iterations: fit.iterations,
    })
}
