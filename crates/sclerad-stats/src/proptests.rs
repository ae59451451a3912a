//! Property tests: p-values in [0, 1], symmetry under swapping groups,
//! intervals that contain their estimate and widen with the confidence
//! level, and no panics on arbitrary (including non-finite) input.

use proptest::prelude::*;

use crate::*;

fn p_ok(p: f64) -> bool {
    (P_FLOOR..=1.0).contains(&p)
}

fn sample(max: usize) -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(-1e3..1e3_f64, 0..max)
}

/// Values with many ties.
fn tied_sample(max: usize) -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec((0..6_i32).prop_map(f64::from), 0..max)
}

/// Anything, including NaN, ±∞, subnormals and huge values.
fn wild_sample(max: usize) -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(
        prop_oneof![
            any::<f64>(),
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(0.0),
            -10.0..10.0_f64
        ],
        0..max,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn two_group_tests_are_symmetric(x in sample(60), y in sample(60)) {
        if let (Ok(a), Ok(b)) = (welch_t_test(&x, &y), welch_t_test(&y, &x)) {
            prop_assert!(p_ok(a.p_value));
            prop_assert!((a.p_value - b.p_value).abs() <= 1e-12 * a.p_value.max(1e-300));
            prop_assert!((a.statistic + b.statistic).abs() <= 1e-9 * a.statistic.abs().max(1.0));
            let d = a.mean_x - a.mean_y;
            prop_assert!(a.ci_low <= d + 1e-9 * d.abs().max(1.0) && d - 1e-9 * d.abs().max(1.0) <= a.ci_high);
        }
        if let (Ok(a), Ok(b)) = (student_t_test(&x, &y), student_t_test(&y, &x)) {
            prop_assert!(p_ok(a.p_value));
            prop_assert!((a.p_value - b.p_value).abs() <= 1e-12 * a.p_value.max(1e-300));
        }
        if let (Ok(a), Ok(b)) = (wilcoxon_rank_sum(&x, &y), wilcoxon_rank_sum(&y, &x)) {
            prop_assert!(p_ok(a.p_value));
            prop_assert!((a.p_value - b.p_value).abs() <= 1e-12);
            prop_assert!((a.w + b.w - (x.len() * y.len()) as f64).abs() < 1e-9);
        }
    }

    #[test]
    fn wilcoxon_with_ties(x in tied_sample(70), y in tied_sample(70)) {
        if let (Ok(a), Ok(b)) = (wilcoxon_rank_sum(&x, &y), wilcoxon_rank_sum(&y, &x)) {
            prop_assert!(p_ok(a.p_value));
            prop_assert!((a.p_value - b.p_value).abs() <= 1e-12);
        }
    }

    #[test]
    fn shapiro_p_in_range(x in sample(300)) {
        if let Ok(r) = shapiro_wilk(&x) {
            prop_assert!(p_ok(r.p_value));
            prop_assert!(r.w > 0.0 && r.w <= 1.0 + 1e-12);
        }
    }

    #[test]
    fn table_2x2_properties(a in 0..60_u64, b in 0..60_u64, c in 0..60_u64, d in 0..60_u64) {
        let Ok(f) = fisher_exact(a, b, c, d) else {
            prop_assert_eq!(a + b + c + d, 0);
            return Ok(());
        };
        prop_assert!(p_ok(f.p_value));
        prop_assert!(f.ci_low <= f.odds_ratio && f.odds_ratio <= f.ci_high);
        // swapping the rows inverts the odds ratio and keeps p
        let g = fisher_exact(c, d, a, b).expect("same total");
        prop_assert!((f.p_value - g.p_value).abs() <= 1e-12);
        if f.odds_ratio > 0.0 && f.odds_ratio.is_finite() {
            prop_assert!((f.odds_ratio * g.odds_ratio - 1.0).abs() < 1e-3);
        }
        // transposing keeps p (conditional distribution is symmetric in margins)
        let t = fisher_exact(a, c, b, d).expect("same total");
        prop_assert!((f.p_value - t.p_value).abs() <= 1e-9);
        for yates in [false, true] {
            if let Ok(x) = chisq_test(&[[a, b], [c, d]], yates) {
                prop_assert!(p_ok(x.p_value));
                let y = chisq_test(&[[c, d], [a, b]], yates).expect("same margins");
                prop_assert!((x.p_value - y.p_value).abs() <= 1e-12);
            }
        }
        if let Some(w) = odds_ratio_wald(a, b, c, d, 0.95) {
            prop_assert!(w.low <= w.estimate && w.estimate <= w.high);
            let w99 = odds_ratio_wald(a, b, c, d, 0.99).expect("same cells");
            prop_assert!(w99.low <= w.low && w.high <= w99.high);
        }
        if let Some(r) = risk_ratio(a, b, c, d, 0.95) {
            prop_assert!(r.low <= r.estimate * (1.0 + 1e-12) && r.estimate <= r.high * (1.0 + 1e-12));
        }
        let im = immediate::table(a, b, c, d).expect("non-empty");
        prop_assert!(p_ok(im.p_fisher));
    }

    #[test]
    fn proportion_intervals(n in 1..2000_u64, frac in 0.0..=1.0_f64) {
        let x = ((n as f64) * frac).floor() as u64;
        let est = x as f64 / n as f64;
        for f in [wilson, clopper_pearson] {
            let a = f(x, n, 0.90).expect("valid");
            let b = f(x, n, 0.95).expect("valid");
            let c = f(x, n, 0.99).expect("valid");
            prop_assert!(0.0 <= b.low && b.low <= est && est <= b.high && b.high <= 1.0);
            prop_assert!(c.low <= b.low + 1e-15 && b.low <= a.low + 1e-15);
            prop_assert!(a.high <= b.high + 1e-15 && b.high <= c.high + 1e-15);
        }
        if x < n {
            let lo = clopper_pearson(x, n, 0.95).expect("valid");
            let hi = clopper_pearson(x + 1, n, 0.95).expect("valid");
            prop_assert!(lo.low <= hi.low && lo.high <= hi.high);
        }
    }

    #[test]
    fn p_adjust_properties(p in prop::collection::vec(0.0..=1.0_f64, 0..40)) {
        for m in AdjustMethod::ALL {
            let q = p_adjust(&p, m).expect("valid p");
            prop_assert_eq!(q.len(), p.len());
            for (a, b) in p.iter().zip(&q) {
                prop_assert!(*b >= *a - 1e-15 && *b <= 1.0);
            }
            // order-preserving
            for i in 0..p.len() {
                for j in 0..p.len() {
                    if p[i] < p[j] {
                        prop_assert!(q[i] <= q[j] + 1e-15);
                    }
                }
            }
        }
    }

    #[test]
    fn survival_properties(
        data in prop::collection::vec((0..30_u32, any::<bool>(), any::<bool>()), 1..80)
    ) {
        let t: Vec<f64> = data.iter().map(|d| f64::from(d.0)).collect();
        let e: Vec<bool> = data.iter().map(|d| d.1).collect();
        let g: Vec<bool> = data.iter().map(|d| d.2).collect();
        let km = kaplan_meier(&t, &e).expect("valid");
        let mut prev = 1.0;
        for r in &km.rows {
            prop_assert!(r.surv <= prev && r.surv >= 0.0);
            prev = r.surv;
            if let (Some(lo), Some(hi)) = (r.lower, r.upper) {
                prop_assert!(lo <= r.surv * (1.0 + 1e-12) && r.surv <= hi * (1.0 + 1e-12) && hi <= 1.0);
            }
        }
        let flipped: Vec<bool> = g.iter().map(|v| !v).collect();
        if let (Ok(a), Ok(b)) = (log_rank(&t, &e, &g), log_rank(&t, &e, &flipped)) {
            prop_assert!(p_ok(a.test.p_value));
            prop_assert!((a.test.p_value - b.test.p_value).abs() <= 1e-9);
        }
        let x: Vec<f64> = g.iter().map(|&v| f64::from(u8::from(v))).collect();
        let xf: Vec<f64> = x.iter().map(|v| 1.0 - v).collect();
        if let (Ok(a), Ok(b)) = (cox_ph(&t, &e, &[x], Ties::Efron), cox_ph(&t, &e, &[xf], Ties::Efron)) {
            let (ca, cb) = (a.coefficients[0], b.coefficients[0]);
            prop_assert!(p_ok(ca.p_value) && p_ok(a.lr_test.p_value) && p_ok(a.score_test.p_value));
            prop_assert!((ca.coef + cb.coef).abs() <= 1e-6 * ca.coef.abs().max(1.0));
            prop_assert!(ca.hr_ci_low <= ca.hazard_ratio && ca.hazard_ratio <= ca.hr_ci_high);
        }
        let s = immediate::survival(&t, &e, &g);
        if let Ok(s) = s {
            if let Some(p) = s.p_logrank { prop_assert!(p_ok(p)); }
        }
    }

    #[test]
    fn logistic_properties(
        data in prop::collection::vec((any::<bool>(), -5.0..5.0_f64), 3..120)
    ) {
        let y: Vec<bool> = data.iter().map(|d| d.0).collect();
        let x: Vec<f64> = data.iter().map(|d| d.1).collect();
        let neg: Vec<f64> = x.iter().map(|v| -v).collect();
        if let (Ok(a), Ok(b)) = (logistic(&y, &[x]), logistic(&y, &[neg])) {
            let (ca, cb) = (a.coefficients[1], b.coefficients[1]);
            prop_assert!(p_ok(ca.p_value) && p_ok(a.lr_test.p_value));
            prop_assert!((ca.estimate + cb.estimate).abs() <= 1e-6 * ca.estimate.abs().max(1.0));
            prop_assert!(ca.or_ci_low <= ca.odds_ratio && ca.odds_ratio <= ca.or_ci_high);
            prop_assert!(a.deviance <= a.null_deviance + 1e-9);
        }
    }

    #[test]
    fn kappa_properties(pairs in prop::collection::vec((0..4_u8, 0..4_u8), 1..200)) {
        let r1: Vec<u8> = pairs.iter().map(|p| p.0).collect();
        let r2: Vec<u8> = pairs.iter().map(|p| p.1).collect();
        for w in [KappaWeights::Unweighted, KappaWeights::Linear, KappaWeights::Quadratic] {
            if let (Ok(a), Ok(b)) = (cohen_kappa_ratings(&r1, &r2, w), cohen_kappa_ratings(&r2, &r1, w)) {
                prop_assert!(a.kappa <= 1.0 + 1e-12);
                prop_assert!((a.kappa - b.kappa).abs() <= 1e-12);
                // compare variances: sqrt magnifies rounding when the variance is ~0
                prop_assert!((a.se * a.se - b.se * b.se).abs() <= 1e-12);
                prop_assert!(a.ci_low <= a.kappa && a.kappa <= a.ci_high);
            }
        }
    }

    /// Nothing panics, whatever the input.
    #[test]
    fn no_panics(x in wild_sample(40), y in wild_sample(40), bits in prop::collection::vec(any::<bool>(), 0..40)) {
        let _ = mean(&x);
        let _ = sd(&x);
        let _ = quantiles(&x, &y);
        let _ = summary(&x);
        let _ = welch_t_test(&x, &y);
        let _ = student_t_test(&x, &y);
        let _ = wilcoxon_rank_sum(&x, &y);
        let _ = shapiro_wilk(&x);
        let _ = immediate::groups(&x, &y);
        for m in AdjustMethod::ALL {
            let _ = p_adjust(&x, m);
        }
        let _ = kaplan_meier(&x, &bits);
        let _ = log_rank(&x, &bits, &bits);
        let _ = cox_ph(&x, &bits, &[&y], Ties::Breslow);
        let _ = cox_ph(&x, &bits, &[&y, &x], Ties::Efron);
        let _ = logistic(&bits, &[&x]);
        let _ = immediate::survival(&x, &bits, &bits);
        let _ = dist::qbeta(x.first().copied().unwrap_or(0.5), 2.0, 3.0, true);
        let _ = dist::qt(x.first().copied().unwrap_or(0.5), y.first().copied().unwrap_or(3.0));
    }

    #[test]
    fn no_panics_on_counts(a in any::<u32>(), b in any::<u16>(), c in any::<u8>(), d in any::<u32>()) {
        let (a, b, c, d) = (u64::from(a % 100_000), u64::from(b), u64::from(c), u64::from(d % 100_000));
        let _ = chisq_test(&[[a, b], [c, d]], true);
        let _ = odds_ratio_wald(a, b, c, d, 0.95);
        let _ = risk_ratio(a, b, c, d, 0.95);
        let _ = wilson(a, b, 0.95);
        let _ = clopper_pearson(c, b, 0.95);
        let _ = cohen_kappa(&[[a, b], [c, d]], KappaWeights::Quadratic);
    }
}

#[test]
fn extreme_counts_do_not_panic() {
    let m = u64::MAX;
    assert!(fisher_exact(m, m, m, m).is_err());
    assert!(immediate::table(m, 1, 1, 1).is_err());
    assert!(cohen_kappa(&[[m, m], [m, m]], KappaWeights::Linear).is_err());
    let _ = chisq_test(&[[m, m], [m, 1]], true);
    let _ = wilson(m, m, 0.95);
    let _ = clopper_pearson(m - 1, m, 0.95);
    let _ = odds_ratio_wald(m, m, m, m, 0.95);
    let _ = risk_ratio(m, 0, m, 0, 0.95);
}

#[test]
fn fisher_large_table_does_not_panic() {
    let f = fisher_exact(40_000, 10_000, 10_000, 40_000).expect("valid");
    assert!(p_ok(f.p_value));
    assert!(f.ci_low <= f.odds_ratio && f.odds_ratio <= f.ci_high);
}
