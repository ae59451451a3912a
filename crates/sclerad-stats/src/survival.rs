//! Survival analysis: Kaplan–Meier estimator, log-rank test and Cox
//! proportional-hazards regression.
//!
//! Times are right-censored: `event[i] == true` means an event at
//! `time[i]`, `false` censoring. Times must be finite and ≥ 0. Times are tied
//! only when exactly equal (R's `coxph`/`survfit` additionally merge times
//! closer than about 1e-8 relative, `timefix = TRUE`; real data with such
//! near-ties should be rounded first).

use serde::Serialize;

use crate::dist::{chisq_p, norm_p_two_sided, qnorm};
use crate::error::{Result, StatsError};
use crate::linalg::{Cholesky, SymMat};

fn check_surv(time: &[f64], event: &[bool]) -> Result<()> {
    if time.len() != event.len() {
        return Err(StatsError::invalid(format!(
            "time has {} values but event has {}",
            time.len(),
            event.len()
        )));
    }
    if let Some(i) = time.iter().position(|t| !(t.is_finite() && *t >= 0.0)) {
        return Err(StatsError::invalid(format!(
            "time {} at position {i} is not a finite non-negative number",
            time[i]
        )));
    }
    if time.is_empty() {
        return Err(StatsError::TooFewObservations {
            what: "survival data",
            needed: 1,
            got: 0,
        });
    }
    Ok(())
}

/// One row of a Kaplan–Meier table (one distinct observed time).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KmRow {
    /// The time.
    pub time: f64,
    /// Number at risk just before `time`.
    pub n_risk: u64,
    /// Number of events at `time`.
    pub n_event: u64,
    /// Number censored at `time`.
    pub n_censor: u64,
    /// Kaplan–Meier survival estimate after `time`.
    pub surv: f64,
    /// Greenwood standard error of `log(surv)`, i.e. R's `survfit()$std.err`
    /// (+∞ once the estimate reaches 0).
    pub se_log: f64,
    /// Standard error of `surv` (`surv · se_log`), as `summary.survfit`
    /// prints it; NaN once the estimate is 0 (R: `0 · Inf`), which
    /// serde_json writes as `null`.
    pub std_err: f64,
    /// Lower limit of the 95 % log-type interval; `None` where R gives NA
    /// (survival 0).
    pub lower: Option<f64>,
    /// Upper limit (capped at 1); `None` where R gives NA.
    pub upper: Option<f64>,
}

/// A Kaplan–Meier curve.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KaplanMeier {
    /// Number of observations.
    pub n: u64,
    /// Number of events.
    pub n_events: u64,
    /// One row per distinct time (events and censorings), ascending.
    pub rows: Vec<KmRow>,
    /// Median survival time as R's `print.survfit` reports it (the first
    /// time at which the curve is at or below 0.5, averaged with the next
    /// event time when the curve is exactly 0.5 on a flat stretch); `None`
    /// if the curve never reaches 0.5.
    pub median: Option<f64>,
}

/// Kaplan–Meier estimate = R `survfit(Surv(time, event) ~ 1)` with its
/// defaults: Greenwood variance, `conf.type = "log"`, `conf.int = 0.95`.
pub fn kaplan_meier(time: &[f64], event: &[bool]) -> Result<KaplanMeier> {
    kaplan_meier_level(time, event, 0.95)
}

/// [`kaplan_meier`] with a chosen confidence level.
pub fn kaplan_meier_level(time: &[f64], event: &[bool], conf_level: f64) -> Result<KaplanMeier> {
    check_surv(time, event)?;
    if !(conf_level > 0.0 && conf_level < 1.0) {
        return Err(StatsError::invalid(format!(
            "confidence level {conf_level} is not in (0, 1)"
        )));
    }
    let z = qnorm(1.0 - (1.0 - conf_level) / 2.0);
    let mut idx: Vec<usize> = (0..time.len()).collect();
    idx.sort_by(|&i, &j| time[i].total_cmp(&time[j]));
    let n = time.len() as u64;
    let mut at_risk = n;
    let mut surv = 1.0_f64;
    let mut green = 0.0_f64;
    let mut rows = Vec::new();
    let mut i = 0;
    while i < idx.len() {
        let t = time[idx[i]];
        let mut j = i;
        let mut d = 0u64;
        while j < idx.len() && time[idx[j]] == t {
            d += u64::from(event[idx[j]]);
            j += 1;
        }
        let m = (j - i) as u64;
        if d > 0 {
            let (nr, df) = (at_risk as f64, d as f64);
            surv *= (nr - df) / nr;
            green += if at_risk == d {
                f64::INFINITY
            } else {
                df / (nr * (nr - df))
            };
        }
        let se_log = green.sqrt();
        let (lower, upper) = if surv > 0.0 {
            let l = surv.ln();
            (
                Some((l - z * se_log).exp()),
                Some((l + z * se_log).exp().min(1.0)),
            )
        } else {
            (None, None)
        };
        rows.push(KmRow {
            time: t,
            n_risk: at_risk,
            n_event: d,
            n_censor: m - d,
            surv,
            se_log,
            std_err: if surv > 0.0 { surv * se_log } else { f64::NAN },
            lower,
            upper,
        });
        at_risk -= m;
        i = j;
    }
    let n_events = rows.iter().map(|r| r.n_event).sum();
    let median = km_median(&rows);
    Ok(KaplanMeier {
        n,
        n_events,
        rows,
        median,
    })
}

/// Median as `print.survfit` computes it: the smallest event time with
/// S(t) ≤ 0.5; when S equals 0.5 (to 1e-9) on a step, the midpoint of that
/// time and the next event time.
fn km_median(rows: &[KmRow]) -> Option<f64> {
    let ev: Vec<&KmRow> = rows.iter().filter(|r| r.n_event > 0).collect();
    let k = ev.iter().position(|r| r.surv <= 0.5 + 1e-9)?;
    if (ev[k].surv - 0.5).abs() < 1e-9 {
        match ev.get(k + 1) {
            Some(next) => Some((ev[k].time + next.time) / 2.0),
            None => Some(ev[k].time),
        }
    } else {
        Some(ev[k].time)
    }
}

/// A χ² test: statistic, degrees of freedom and upper-tail p-value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ChiSquare {
    /// The statistic.
    pub statistic: f64,
    /// Degrees of freedom.
    pub df: f64,
    /// Upper-tail p-value (clamped to [`crate::P_FLOOR`]).
    pub p_value: f64,
}

impl ChiSquare {
    fn new(statistic: f64, df: f64) -> Self {
        ChiSquare {
            statistic,
            df,
            p_value: chisq_p(statistic, df),
        }
    }
}

/// Result of the log-rank test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogRank<G> {
    /// Group levels in sorted order (R's factor levels).
    pub levels: Vec<G>,
    /// Number of subjects per group.
    pub n: Vec<u64>,
    /// Observed events per group.
    pub observed: Vec<f64>,
    /// Expected events per group under the null.
    pub expected: Vec<f64>,
    /// The χ² test (df = number of groups with expected > 0, minus 1).
    pub test: ChiSquare,
}

/// Log-rank test = R `survdiff(Surv(time, event) ~ group)` (rho = 0).
///
/// Groups with zero expected events are dropped from the statistic as R
/// does. Errors with fewer than two groups, or when fewer than two groups
/// have expected events > 0 (no test is possible).
pub fn log_rank<G: Ord + Clone>(time: &[f64], event: &[bool], group: &[G]) -> Result<LogRank<G>> {
    check_surv(time, event)?;
    if group.len() != time.len() {
        return Err(StatsError::invalid(format!(
            "time has {} values but group has {}",
            time.len(),
            group.len()
        )));
    }
    let mut levels: Vec<G> = group.to_vec();
    levels.sort();
    levels.dedup();
    let k = levels.len();
    if k < 2 {
        return Err(StatsError::invalid(
            "the log-rank test needs at least 2 groups",
        ));
    }
    let gi: Vec<usize> = group
        .iter()
        .map(|g| levels.binary_search(g).unwrap_or(0))
        .collect();
    let mut n_g = vec![0u64; k];
    for &g in &gi {
        n_g[g] += 1;
    }
    let mut idx: Vec<usize> = (0..time.len()).collect();
    idx.sort_by(|&i, &j| time[i].total_cmp(&time[j]));
    let mut risk: Vec<f64> = n_g.iter().map(|&v| v as f64).collect();
    let mut obs = vec![0.0; k];
    let mut exp = vec![0.0; k];
    let mut var = vec![vec![0.0; k]; k];
    let mut dg = vec![0.0; k];
    let mut leave = vec![0.0; k];
    let mut i = 0;
    while i < idx.len() {
        let t = time[idx[i]];
        let mut j = i;
        dg.iter_mut().for_each(|v| *v = 0.0);
        leave.iter_mut().for_each(|v| *v = 0.0);
        while j < idx.len() && time[idx[j]] == t {
            let g = gi[idx[j]];
            if event[idx[j]] {
                dg[g] += 1.0;
            }
            leave[g] += 1.0;
            j += 1;
        }
        let d: f64 = dg.iter().sum();
        let nt: f64 = risk.iter().sum();
        if d > 0.0 {
            for g in 0..k {
                obs[g] += dg[g];
                exp[g] += d * risk[g] / nt;
            }
            if nt > 1.0 {
                let f = d * (nt - d) / (nt - 1.0);
                for g in 0..k {
                    for h in 0..k {
                        let delta = if g == h { 1.0 } else { 0.0 };
                        var[g][h] += f * (risk[g] / nt) * (delta - risk[h] / nt);
                    }
                }
            }
        }
        for g in 0..k {
            risk[g] -= leave[g];
        }
        i = j;
    }
    let keep: Vec<usize> = (0..k).filter(|&g| exp[g] > 0.0).collect();
    if keep.len() < 2 {
        return Err(StatsError::degenerate(
            "fewer than two groups have expected events; no log-rank test is possible",
        ));
    }
    let sub = &keep[1..];
    let mut v = SymMat::zeros(sub.len());
    let mut oe = vec![0.0; sub.len()];
    for (a, &g) in sub.iter().enumerate() {
        oe[a] = obs[g] - exp[g];
        for (b, &h) in sub.iter().enumerate() {
            v.set(a, b, var[g][h]);
        }
    }
    let chol = Cholesky::new(&v, 1e-12)
        .ok_or_else(|| StatsError::degenerate("the log-rank variance matrix is singular"))?;
    let chisq = chol.quad_inv(&oe);
    Ok(LogRank {
        levels,
        n: n_g,
        observed: obs,
        expected: exp,
        test: ChiSquare::new(chisq, sub.len() as f64),
    })
}

/// How tied event times are handled in the Cox partial likelihood.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Ties {
    /// Efron's approximation (R `coxph` default).
    #[default]
    Efron,
    /// Breslow's approximation.
    Breslow,
}

/// One Cox regression coefficient, as in `summary(coxph(...))`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CoxCoef {
    /// log hazard ratio.
    pub coef: f64,
    /// Standard error.
    pub se: f64,
    /// Wald z = coef / se.
    pub z: f64,
    /// Two-sided Wald p-value.
    pub p_value: f64,
    /// exp(coef).
    pub hazard_ratio: f64,
    /// Lower 95 % Wald limit of the hazard ratio.
    pub hr_ci_low: f64,
    /// Upper 95 % Wald limit of the hazard ratio.
    pub hr_ci_high: f64,
}

impl CoxCoef {
    /// The Wald interval of the hazard ratio at `conf_level` (in (0, 1)):
    /// exp(coef ∓ z·se) with z the normal's (1 + conf_level)/2 quantile, as
    /// R's `summary(coxph(…), conf.int = conf_level)` gives it.
    pub fn hr_interval(&self, conf_level: f64) -> Result<(f64, f64)> {
        if !(conf_level > 0.0 && conf_level < 1.0) {
            return Err(StatsError::invalid(format!(
                "confidence level {conf_level} is not in (0, 1)"
            )));
        }
        let z = qnorm((1.0 + conf_level) / 2.0);
        Ok((
            (self.coef - z * self.se).exp(),
            (self.coef + z * self.se).exp(),
        ))
    }
}

/// A fitted Cox proportional-hazards model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoxFit {
    /// Coefficients in covariate order.
    pub coefficients: Vec<CoxCoef>,
    /// Variance–covariance matrix of the coefficients (row-major rows).
    pub var: Vec<Vec<f64>>,
    /// Log partial likelihood at β = 0.
    pub loglik_null: f64,
    /// Log partial likelihood at the estimate.
    pub loglik: f64,
    /// Likelihood-ratio test (`summary()$logtest`).
    pub lr_test: ChiSquare,
    /// Wald test (`summary()$waldtest`).
    pub wald_test: ChiSquare,
    /// Score (log-rank) test (`summary()$sctest`).
    pub score_test: ChiSquare,
    /// Newton–Raphson iterations used (R's `iter`).
    pub iterations: usize,
    /// Number of observations.
    pub n: usize,
    /// Number of events.
    pub n_events: usize,
    /// Tie handling used.
    pub ties: Ties,
}

/// Sorted, centred data for the partial likelihood.
struct CoxData {
    p: usize,
    /// Covariates in descending-time order, row-major n × p, centred.
    x: Vec<f64>,
    /// Groups of equal time, in descending order: (start, end) into rows.
    blocks: Vec<(usize, usize)>,
    event: Vec<bool>,
    ties: Ties,
}

struct CoxEval {
    loglik: f64,
    u: Vec<f64>,
    imat: SymMat,
}

impl CoxData {
    /// Largest |linear predictor| (centred covariates).
    fn max_abs_eta(&self, beta: &[f64]) -> f64 {
        self.x
            .chunks_exact(self.p)
            .map(|xi| xi.iter().zip(beta).map(|(a, b)| a * b).sum::<f64>().abs())
            .fold(0.0, f64::max)
    }

    fn eval(&self, beta: &[f64]) -> CoxEval {
        let p = self.p;
        let mut loglik = 0.0;
        let mut u = vec![0.0; p];
        let mut imat = SymMat::zeros(p);
        let mut s0 = 0.0;
        let mut s1 = vec![0.0; p];
        let mut s2 = vec![0.0; p * p];
        let mut d1 = vec![0.0; p];
        let mut d2 = vec![0.0; p * p];
        let mut a1 = vec![0.0; p];
        // exp() of the linear predictor, remembered for the last two
        // values: with a binary covariate (the usual case here) every
        // subject has one of two, and the result is bit-identical.
        let mut recent = [(f64::NAN, 0.0); 2];
        let mut exp_eta = |eta: f64| -> f64 {
            if eta == recent[0].0 {
                return recent[0].1;
            }
            if eta == recent[1].0 {
                return recent[1].1;
            }
            let r = eta.clamp(-500.0, 500.0).exp();
            recent = [(eta, r), recent[0]];
            r
        };
        for &(start, end) in &self.blocks {
            let mut d0 = 0.0;
            let mut ndead = 0usize;
            d1.iter_mut().for_each(|v| *v = 0.0);
            d2.iter_mut().for_each(|v| *v = 0.0);
            for i in start..end {
                let xi = &self.x[i * p..(i + 1) * p];
                let eta: f64 = xi.iter().zip(beta).map(|(a, b)| a * b).sum::<f64>();
                // exp() kept finite for absurd coefficients
                let r = exp_eta(eta);
                s0 += r;
                for a in 0..p {
                    s1[a] += r * xi[a];
                    for b in 0..=a {
                        s2[a * p + b] += r * xi[a] * xi[b];
                    }
                }
                if self.event[i] {
                    ndead += 1;
                    d0 += r;
                    loglik += eta;
                    for a in 0..p {
                        u[a] += xi[a];
                        d1[a] += r * xi[a];
                        for b in 0..=a {
                            d2[a * p + b] += r * xi[a] * xi[b];
                        }
                    }
                }
            }
            if ndead == 0 {
                continue;
            }
            let dn = ndead as f64;
            for k in 0..ndead {
                let f = match self.ties {
                    Ties::Efron => k as f64 / dn,
                    Ties::Breslow => 0.0,
                };
                let den = s0 - f * d0;
                loglik -= den.ln();
                for a in 0..p {
                    a1[a] = (s1[a] - f * d1[a]) / den;
                    u[a] -= a1[a];
                }
                for a in 0..p {
                    for b in 0..=a {
                        let v = (s2[a * p + b] - f * d2[a * p + b]) / den - a1[a] * a1[b];
                        imat.add(a, b, v);
                    }
                }
            }
        }
        for a in 0..p {
            for b in 0..a {
                let v = imat.get(a, b);
                imat.set(b, a, v);
            }
        }
        CoxEval { loglik, u, imat }
    }
}

/// R's `coxph.control()` defaults.
const COX_EPS: f64 = 1e-9;
const COX_ITER_MAX: usize = 20;
const COX_TOLER_CHOL: f64 = 1.818_989_403_545_856_5e-12; // .Machine$double.eps^0.75

/// Cox proportional-hazards regression = R
/// `coxph(Surv(time, event) ~ x1 + x2 + …, ties = ties)` with
/// `coxph.control()` defaults, reported as `summary.coxph` does.
///
/// `covariates` are columns (one slice per covariate, each as long as
/// `time`). The Newton–Raphson iteration reproduces R's: start at β = 0,
/// step halving when the log-likelihood decreases, stop when
/// `|1 − ℓ_old/ℓ_new| ≤ 1e-9` (at most 20 iterations); the variance is the
/// inverse information at the returned estimate.
///
/// Errors: [`StatsError::Separation`] when R would warn "Loglik converged
/// before variable …; coefficient may be infinite" (monotone likelihood,
/// e.g. no events in one group); [`StatsError::NonConvergence`] after 20
/// iterations; [`StatsError::Degenerate`] for collinear or constant
/// covariates; [`StatsError::TooFewObservations`] without events.
pub fn cox_ph<C: AsRef<[f64]>>(
    time: &[f64],
    event: &[bool],
    covariates: &[C],
    ties: Ties,
) -> Result<CoxFit> {
    check_surv(time, event)?;
    let n = time.len();
    let p = covariates.len();
    if p == 0 {
        return Err(StatsError::invalid(
            "Cox regression needs at least one covariate",
        ));
    }
    for (j, c) in covariates.iter().enumerate() {
        let c = c.as_ref();
        if c.len() != n {
            return Err(StatsError::invalid(format!(
                "covariate {j} has {} values, time has {n}",
                c.len()
            )));
        }
        crate::error::check_finite(c, "Cox covariate")?;
    }
    let n_events = event.iter().filter(|&&e| e).count();
    if n_events == 0 {
        return Err(StatsError::TooFewObservations {
            what: "Cox regression (events)",
            needed: 1,
            got: 0,
        });
    }
    // centre covariates
    let means: Vec<f64> = covariates
        .iter()
        .map(|c| crate::descriptive::mean_unchecked(c.as_ref()))
        .collect();
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&i, &j| time[j].total_cmp(&time[i]));
    let mut x = Vec::with_capacity(n * p);
    for &i in &idx {
        for (c, m) in covariates.iter().zip(&means) {
            x.push(c.as_ref()[i] - m);
        }
    }
    let mut blocks = Vec::new();
    let mut s = 0;
    while s < n {
        let t = time[idx[s]];
        let mut e = s;
        while e < n && time[idx[e]] == t {
            e += 1;
        }
        blocks.push((s, e));
        s = e;
    }
    let data = CoxData {
        p,
        x,
        blocks,
        event: idx.iter().map(|&i| event[i]).collect(),
        ties,
    };

    let mut beta = vec![0.0; p];
    let first = data.eval(&beta);
    let loglik_null = first.loglik;
    let chol0 = Cholesky::new(&first.imat, COX_TOLER_CHOL).ok_or_else(|| {
        StatsError::degenerate(
            "the information matrix at β = 0 is singular (constant or collinear covariates)",
        )
    })?;
    let step0 = chol0.solve(&first.u);
    let score = step0.iter().zip(&first.u).map(|(a, b)| a * b).sum::<f64>();
    let mut newbeta: Vec<f64> = beta.iter().zip(&step0).map(|(b, s)| b + s).collect();
    let mut loglik_prev = loglik_null;
    let mut halving = false;
    let mut converged: Option<(CoxEval, usize)> = None;
    for iter in 1..=COX_ITER_MAX {
        let ev = data.eval(&newbeta);
        let newlk = ev.loglik;
        if (1.0 - loglik_prev / newlk).abs() <= COX_EPS && !halving {
            converged = Some((ev, iter));
            break;
        }
        if iter == COX_ITER_MAX {
            // R warns "Ran out of iterations and did not converge". If the
            // next Newton step is still large relative to the coefficients
            // the likelihood is monotone (a coefficient runs off to ±∞).
            let diverging = match Cholesky::new(&ev.imat, COX_TOLER_CHOL) {
                None => true,
                Some(ch) => {
                    let step = ch.solve(&ev.u);
                    step.iter().zip(&newbeta).any(|(s, b)| {
                        !s.is_finite() || (s.abs() > COX_EPS && s.abs() > COX_EPS.sqrt() * b.abs())
                    }) && data.max_abs_eta(&newbeta) > 10.0
                }
            };
            if diverging {
                return Err(StatsError::Separation(
                    "Cox regression did not converge and a coefficient is running off to \
                     infinity (monotone likelihood, e.g. no events in a group)"
                        .into(),
                ));
            }
            break;
        }
        if !(newlk >= loglik_prev) {
            halving = true;
            for (nb, b) in newbeta.iter_mut().zip(&beta) {
                *nb = (*nb + b) / 2.0;
            }
        } else {
            halving = false;
            loglik_prev = newlk;
            let chol = Cholesky::new(&ev.imat, COX_TOLER_CHOL).ok_or_else(|| {
                StatsError::Separation(
                    "the information matrix became singular during the fit \
                     (monotone likelihood: a coefficient may be infinite)"
                        .into(),
                )
            })?;
            let step = chol.solve(&ev.u);
            beta.clone_from(&newbeta);
            for (nb, s) in newbeta.iter_mut().zip(&step) {
                *nb += s;
            }
        }
    }
    let Some((fin, iterations)) = converged else {
        return Err(StatsError::NonConvergence {
            what: "Cox regression",
            iterations: COX_ITER_MAX,
        });
    };
    let chol = Cholesky::new(&fin.imat, COX_TOLER_CHOL).ok_or_else(|| {
        StatsError::Separation(
            "the information matrix is singular at the estimate \
             (monotone likelihood: a coefficient may be infinite)"
                .into(),
        )
    })?;
    let vmat = chol.inverse();
    // R's check for infinite coefficients: |V u| > eps and > sqrt(eps) |β|
    for (j, b) in newbeta.iter().enumerate() {
        let inf_j: f64 = (0..p).map(|k| vmat.get(j, k) * fin.u[k]).sum::<f64>().abs();
        if !fin.u[j].is_finite() || (inf_j > COX_EPS && inf_j > COX_EPS.sqrt() * b.abs()) {
            return Err(StatsError::Separation(format!(
                "the log-likelihood converged before covariate {} did; its coefficient \
                 may be infinite (monotone likelihood, e.g. no events in a group)",
                j + 1
            )));
        }
    }
    let z975 = qnorm(0.975);
    let coefficients: Vec<CoxCoef> = (0..p)
        .map(|j| {
            let b = newbeta[j];
            let se = vmat.get(j, j).sqrt();
            let z = b / se;
            CoxCoef {
                coef: b,
                se,
                z,
                p_value: norm_p_two_sided(z),
                hazard_ratio: b.exp(),
                hr_ci_low: (b - z975 * se).exp(),
                hr_ci_high: (b + z975 * se).exp(),
            }
        })
        .collect();
    // Wald: βᵀ V⁻¹ β
    let vchol = Cholesky::new(&vmat, 0.0)
        .ok_or_else(|| StatsError::degenerate("the variance matrix is singular"))?;
    let wald = vchol.quad_inv(&newbeta);
    let pf = p as f64;
    Ok(CoxFit {
        coefficients,
        var: (0..p)
            .map(|i| (0..p).map(|j| vmat.get(i, j)).collect())
            .collect(),
        loglik_null,
        loglik: fin.loglik,
        lr_test: ChiSquare::new(2.0 * (fin.loglik - loglik_null), pf),
        wald_test: ChiSquare::new(wald, pf),
        score_test: ChiSquare::new(score, pf),
        iterations,
        n,
        n_events,
        ties,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn km_simple() {
        let km = kaplan_meier(&[1.0, 2.0, 2.0, 3.0], &[true, true, true, true]).expect("valid");
        assert_eq!(km.rows.len(), 3);
        assert!((km.rows[0].surv - 0.75).abs() < 1e-15);
        assert_eq!(km.rows[2].surv, 0.0);
        assert!(km.rows[2].lower.is_none());
        assert!(km.rows[2].se_log.is_infinite());
        assert_eq!(km.median, Some(2.0));
    }

    #[test]
    fn bad_inputs() {
        assert!(kaplan_meier(&[], &[]).is_err());
        assert!(kaplan_meier(&[1.0], &[true, false]).is_err());
        assert!(kaplan_meier(&[f64::NAN], &[true]).is_err());
        assert!(kaplan_meier(&[-1.0], &[true]).is_err());
        assert!(log_rank(&[1.0, 2.0], &[true, true], &[1, 1]).is_err());
        let none: [&[f64]; 0] = [];
        assert!(cox_ph(&[1.0, 2.0], &[true, true], &none, Ties::Efron).is_err());
        assert!(cox_ph(&[1.0, 2.0], &[false, false], &[[0.0, 1.0]], Ties::Efron).is_err());
        // constant covariate
        assert!(cox_ph(
            &[1.0, 2.0, 3.0],
            &[true, true, true],
            &[[1.0, 1.0, 1.0]],
            Ties::Efron
        )
        .is_err());
    }

    #[test]
    fn cox_monotone_likelihood_is_separation() {
        // all events in group 1
        let t = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let e = [true, true, true, false, false, false];
        let g = [1.0, 1.0, 1.0, 0.0, 0.0, 0.0];
        match cox_ph(&t, &e, &[g], Ties::Efron) {
            Err(StatsError::Separation(_)) => {}
            other => panic!("expected separation, got {other:?}"),
        }
    }
}
