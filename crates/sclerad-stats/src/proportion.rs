//! Confidence intervals for a single binomial proportion.

use serde::Serialize;

use crate::dist::{qbeta, qnorm};
use crate::error::{Result, StatsError};

/// A proportion with a two-sided confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ProportionCi {
    /// `x / n`.
    pub estimate: f64,
    /// Lower confidence limit.
    pub low: f64,
    /// Upper confidence limit.
    pub high: f64,
}

fn check(x: u64, n: u64, conf_level: f64) -> Result<()> {
    if n == 0 {
        return Err(StatsError::TooFewObservations {
            what: "proportion",
            needed: 1,
            got: 0,
        });
    }
    if x > n {
        return Err(StatsError::invalid(format!(
            "successes ({x}) exceed trials ({n})"
        )));
    }
    if !(conf_level > 0.0 && conf_level < 1.0) {
        return Err(StatsError::invalid(format!(
            "confidence level {conf_level} is not in (0, 1)"
        )));
    }
    Ok(())
}

/// Wilson score interval = R `prop.test(x, n, correct = FALSE)$conf.int`
/// (two-sided, `conf.level`).
pub fn wilson(x: u64, n: u64, conf_level: f64) -> Result<ProportionCi> {
    check(x, n, conf_level)?;
    let nf = n as f64;
    let p = x as f64 / nf;
    let z = qnorm((1.0 + conf_level) / 2.0);
    let z22n = z * z / (2.0 * nf);
    let half = |pc: f64| z * (pc * (1.0 - pc) / nf + z22n / (2.0 * nf)).sqrt();
    let high = if p >= 1.0 {
        1.0
    } else {
        (p + z22n + half(p)) / (1.0 + 2.0 * z22n)
    };
    let low = if p <= 0.0 {
        0.0
    } else {
        (p + z22n - half(p)) / (1.0 + 2.0 * z22n)
    };
    Ok(ProportionCi {
        estimate: p,
        low: low.max(0.0),
        high: high.min(1.0),
    })
}

/// Clopper–Pearson exact interval = R `binom.test(x, n)$conf.int`
/// (two-sided, `conf.level`): `qbeta(α/2, x, n − x + 1)` and
/// `qbeta(1 − α/2, x + 1, n − x)`, with 0 and 1 at the boundaries.
pub fn clopper_pearson(x: u64, n: u64, conf_level: f64) -> Result<ProportionCi> {
    check(x, n, conf_level)?;
    let alpha = (1.0 - conf_level) / 2.0;
    let (xf, nf) = (x as f64, n as f64);
    let low = if x == 0 {
        0.0
    } else {
        qbeta(alpha, xf, nf - xf + 1.0, true)
    };
    let high = if x == n {
        1.0
    } else {
        qbeta(alpha, xf + 1.0, nf - xf, false)
    };
    Ok(ProportionCi {
        estimate: xf / nf,
        low,
        high,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edges() {
        assert!(wilson(1, 0, 0.95).is_err());
        assert!(wilson(3, 2, 0.95).is_err());
        let w = wilson(0, 10, 0.95).expect("valid");
        assert_eq!(w.low, 0.0);
        let c = clopper_pearson(10, 10, 0.95).expect("valid");
        assert_eq!(c.high, 1.0);
        // 1 - 0.025^(1/10)
        assert!((c.low - 0.025_f64.powf(0.1)).abs() < 1e-14);
    }
}
