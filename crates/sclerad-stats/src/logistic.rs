//! Logistic regression by iteratively reweighted least squares.

use serde::Serialize;

use crate::dist::{chisq_p, norm_p_two_sided, qnorm};
use crate::error::{check_finite, Result, StatsError};
use crate::linalg::{Cholesky, SymMat};
use crate::survival::ChiSquare;

/// One coefficient of a logistic model, as in `summary(glm(...))` plus
/// `exp(confint.default(...))`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LogisticCoef {
    /// Estimate on the log-odds scale.
    pub estimate: f64,
    /// Standard error.
    pub se: f64,
    /// Wald z.
    pub z: f64,
    /// Two-sided Wald p-value.
    pub p_value: f64,
    /// exp(estimate): the odds ratio (for the intercept: the baseline odds).
    pub odds_ratio: f64,
    /// Lower 95 % Wald limit of the odds ratio (`confint.default`).
    pub or_ci_low: f64,
    /// Upper 95 % Wald limit of the odds ratio.
    pub or_ci_high: f64,
}

/// A fitted logistic regression.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogisticFit {
    /// Intercept first, then one entry per covariate column.
    pub coefficients: Vec<LogisticCoef>,
    /// Residual deviance.
    pub deviance: f64,
    /// Deviance of the intercept-only model.
    pub null_deviance: f64,
    /// Residual degrees of freedom (n − number of coefficients).
    pub df_residual: usize,
    /// AIC (= deviance + 2 · number of coefficients for 0/1 data).
    pub aic: f64,
    /// Likelihood-ratio test of the model against the intercept-only model
    /// (`null.deviance − deviance` on `p` df).
    pub lr_test: ChiSquare,
    /// IRLS iterations used (R's `iter`).
    pub iterations: usize,
}

// R's glm.control() defaults.
const GLM_EPS: f64 = 1e-8;
const GLM_MAXIT: usize = 25;
// R's logit link guards (family.c): |eta| > 30 is treated as saturated.
const THRESH: f64 = 30.0;

fn linkinv(eta: f64) -> f64 {
    let t = if eta < -THRESH {
        f64::EPSILON
    } else if eta > THRESH {
        1.0 / f64::EPSILON
    } else {
        eta.exp()
    };
    t / (1.0 + t)
}

fn mu_eta(eta: f64) -> f64 {
    if eta.abs() > THRESH {
        f64::EPSILON
    } else {
        let e = eta.exp();
        e / ((1.0 + e) * (1.0 + e))
    }
}

fn deviance(y: &[bool], mu: &[f64]) -> f64 {
    y.iter()
        .zip(mu)
        .map(|(&yi, &m)| {
            if yi {
                -2.0 * m.ln()
            } else {
                -2.0 * (1.0 - m).ln()
            }
        })
        .sum()
}

/// Design matrix with intercept, row-major n × (p + 1).
struct Design {
    n: usize,
    k: usize,
    x: Vec<f64>,
}

impl Design {
    fn row(&self, i: usize) -> &[f64] {
        &self.x[i * self.k..(i + 1) * self.k]
    }
    fn eta(&self, beta: &[f64]) -> Vec<f64> {
        (0..self.n)
            .map(|i| self.row(i).iter().zip(beta).map(|(a, b)| a * b).sum())
            .collect()
    }
    /// Weighted least squares: returns the Cholesky factor of XᵀWX and the
    /// solution of XᵀWX β = XᵀW z.
    fn wls(&self, w: &[f64], z: &[f64]) -> Option<(Cholesky, Vec<f64>)> {
        let k = self.k;
        let mut xtx = SymMat::zeros(k);
        let mut xtz = vec![0.0; k];
        for i in 0..self.n {
            let r = self.row(i);
            let wi = w[i];
            for a in 0..k {
                xtz[a] += wi * r[a] * z[i];
                for b in 0..=a {
                    xtx.add(a, b, wi * r[a] * r[b]);
                }
            }
        }
        for a in 0..k {
            for b in 0..a {
                let v = xtx.get(a, b);
                xtx.set(b, a, v);
            }
        }
        let chol = Cholesky::new(&xtx, 1e-11)?;
        let beta = chol.solve(&xtz);
        Some((chol, beta))
    }
}

fn separation_error() -> StatsError {
    StatsError::Separation(
        "complete or quasi-complete separation: fitted probabilities reach 0 or 1 \
         and the maximum-likelihood estimate does not exist"
            .into(),
    )
}

/// The design of a logistic model of `n` outcomes on `covariates`
/// (columns), checked — each column `n` finite values, at least as many
/// outcomes as coefficients — as rows of an intercept and the covariates,
/// row-major. `what` names the model in the errors.
pub(crate) fn design_rows<C: AsRef<[f64]>>(
    n: usize,
    covariates: &[C],
    what: &'static str,
) -> Result<Vec<f64>> {
    let k = covariates.len() + 1;
    for (j, c) in covariates.iter().enumerate() {
        let c = c.as_ref();
        if c.len() != n {
            return Err(StatsError::invalid(format!(
                "covariate {j} has {} values, outcome has {n}",
                c.len()
            )));
        }
        check_finite(c, "logistic covariate")?;
    }
    if n < k {
        return Err(StatsError::TooFewObservations {
            what,
            needed: k,
            got: n,
        });
    }
    let mut x = Vec::with_capacity(n * k);
    for i in 0..n {
        x.push(1.0);
        for c in covariates {
            x.push(c.as_ref()[i]);
        }
    }
    Ok(x)
}

/// Logistic regression = R `glm(y ~ x1 + x2 + …, family = binomial)` with
/// `glm.control()` defaults, reported as `summary.glm` (Wald z tests) and
/// `exp(confint.default(fit))` (Wald intervals for the odds ratios; *not*
/// the profile-likelihood `confint()`).
///
/// `y` is the 0/1 outcome, `covariates` are columns (an intercept is
/// added). The IRLS iteration reproduces R's: start from
/// `mu = (y + 0.5) / 2`, stop when `|dev − dev_old| / (|dev| + 0.1) < 1e-8`
/// (at most 25 iterations); standard errors use the weights of the last
/// iteration, as `summary.glm` does.
///
/// Errors: [`StatsError::Separation`] for (quasi-)complete separation
/// (including an outcome that is all 0 or all 1) — detected when fitted
/// probabilities come within 10·ε of 0 or 1 or when Newton steps continued
/// from R's stopping point do not shrink; [`StatsError::Degenerate`] for
/// collinear or constant covariates; [`StatsError::NonConvergence`].
pub fn logistic<C: AsRef<[f64]>>(y: &[bool], covariates: &[C]) -> Result<LogisticFit> {
    let n = y.len();
    let k = covariates.len() + 1;
    let x = design_rows(n, covariates, "logistic regression")?;
    let n_pos = y.iter().filter(|&&v| v).count();
    if n_pos == 0 || n_pos == n {
        return Err(StatsError::Separation(
            "the outcome takes only one value, so no finite intercept exists".into(),
        ));
    }
    let design = Design { n, k, x };
    let yv: Vec<f64> = y.iter().map(|&v| if v { 1.0 } else { 0.0 }).collect();

    // initialisation as binomial()$initialize with unit weights
    let mut mu: Vec<f64> = yv.iter().map(|v| (v + 0.5) / 2.0).collect();
    let mut eta: Vec<f64> = mu.iter().map(|m| (m / (1.0 - m)).ln()).collect();
    let mut devold = deviance(y, &mu);
    let mut beta = vec![0.0; k];
    let mut last_chol: Option<Cholesky> = None;
    let mut dev = devold;
    let mut iterations = 0;
    let mut conv = false;
    for iter in 1..=GLM_MAXIT {
        iterations = iter;
        let mut w = Vec::with_capacity(n);
        let mut z = Vec::with_capacity(n);
        for i in 0..n {
            let me = mu_eta(eta[i]);
            let var = mu[i] * (1.0 - mu[i]);
            z.push(eta[i] + (yv[i] - mu[i]) / me);
            w.push(me * me / var);
        }
        let Some((chol, b)) = design.wls(&w, &z) else {
            return Err(StatsError::degenerate(
                "the design matrix is rank-deficient (constant or collinear covariates)",
            ));
        };
        beta = b;
        last_chol = Some(chol);
        eta = design.eta(&beta);
        mu = eta.iter().map(|&e| linkinv(e)).collect();
        dev = deviance(y, &mu);
        if !dev.is_finite() {
            return Err(separation_error());
        }
        if (dev - devold).abs() / (dev.abs() + 0.1) < GLM_EPS {
            conv = true;
            break;
        }
        devold = dev;
    }
    let eps10 = 10.0 * f64::EPSILON;
    let boundary = mu.iter().any(|&m| m > 1.0 - eps10 || m < eps10);
    if boundary {
        return Err(separation_error());
    }
    if !conv {
        return Err(StatsError::NonConvergence {
            what: "logistic regression (IRLS)",
            iterations: GLM_MAXIT,
        });
    }
    check_separation(&design, &yv, &beta)?;
    let Some(chol) = last_chol else {
        return Err(StatsError::degenerate("no IRLS iteration was run"));
    };
    let cov = chol.inverse();
    let z975 = qnorm(0.975);
    let coefficients = (0..k)
        .map(|j| {
            let b = beta[j];
            let se = cov.get(j, j).sqrt();
            let z = b / se;
            LogisticCoef {
                estimate: b,
                se,
                z,
                p_value: norm_p_two_sided(z),
                odds_ratio: b.exp(),
                or_ci_low: (b - z975 * se).exp(),
                or_ci_high: (b + z975 * se).exp(),
            }
        })
        .collect();
    let pbar = n_pos as f64 / n as f64;
    let null_deviance = deviance(y, &vec![pbar; n]);
    let lr = null_deviance - dev;
    let df = (k - 1) as f64;
    Ok(LogisticFit {
        coefficients,
        deviance: dev,
        null_deviance,
        df_residual: n - k,
        aic: dev + 2.0 * k as f64,
        lr_test: ChiSquare {
            statistic: lr,
            df,
            p_value: if k > 1 { chisq_p(lr, df) } else { 1.0 },
        },
        iterations,
    })
}

/// Separation check after R's stopping rule has been met: continue plain
/// Newton (IRLS) steps. If the MLE exists they shrink quadratically to
/// nothing; under (quasi-)separation the coefficients keep moving by a
/// roughly constant amount while fitted probabilities run to 0 or 1.
fn check_separation(design: &Design, y: &[f64], beta0: &[f64]) -> Result<()> {
    let n = design.n;
    let mut beta = beta0.to_vec();
    for _ in 0..60 {
        let eta = design.eta(&beta);
        let mut w = Vec::with_capacity(n);
        let mut z = Vec::with_capacity(n);
        for i in 0..n {
            if eta[i].abs() > THRESH {
                return Err(separation_error());
            }
            let m = linkinv(eta[i]);
            let var = m * (1.0 - m);
            w.push(var);
            z.push(eta[i] + (y[i] - m) / var);
        }
        let Some((_, b)) = design.wls(&w, &z) else {
            return Err(separation_error());
        };
        let step = b
            .iter()
            .zip(&beta)
            .map(|(a, c)| (a - c).abs() / (1.0 + c.abs()))
            .fold(0.0, f64::max);
        beta = b;
        if step < 1e-7 {
            return Ok(());
        }
    }
    Err(separation_error())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separation_detected() {
        let y = [false, false, false, true, true, true];
        let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        assert!(matches!(logistic(&y, &[x]), Err(StatsError::Separation(_))));
        // quasi-complete: zero cell in a 2x2
        let y = [false, false, true, true, true, false, true];
        let x = [0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0];
        assert!(matches!(logistic(&y, &[x]), Err(StatsError::Separation(_))));
        assert!(matches!(
            logistic(&[true, true], &[[1.0, 2.0]]),
            Err(StatsError::Separation(_))
        ));
    }

    #[test]
    fn collinear_is_degenerate() {
        let y = [false, true, false, true, true, false];
        let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let x2 = [2.0, 4.0, 6.0, 8.0, 10.0, 12.0];
        assert!(matches!(
            logistic(&y, &[x, x2]),
            Err(StatsError::Degenerate(_))
        ));
    }
}
