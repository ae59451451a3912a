//! Benchmarks, one module per routine family, at n = 1e2 … 1e6.
//!
//! Run: `cargo bench -p sclerad-stats --bench stats`
//! (results and the exact command are recorded in the root BENCHMARKS.md).
//! Each benchmark stops after `max_time` seconds so the whole run stays
//! within a few minutes on two cores.

use divan::{black_box, Bencher};

fn main() {
    divan::main();
}

const SIZES: [usize; 5] = [100, 1_000, 10_000, 100_000, 1_000_000];

/// SplitMix64: a tiny deterministic generator so the benches need no `rand`.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed)
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in (0, 1).
    fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
    fn exp(&mut self, rate: f64) -> f64 {
        -self.uniform().ln() / rate
    }
}

fn normals(n: usize, seed: u64, shift: f64) -> Vec<f64> {
    let mut r = Rng::new(seed);
    (0..n).map(|_| r.normal() + shift).collect()
}

/// Right-censored survival data with a binary group and two continuous
/// covariates; times rounded to 0.1 so there are ties.
struct SurvData {
    time: Vec<f64>,
    event: Vec<bool>,
    group: Vec<bool>,
    x: [Vec<f64>; 3],
}

fn surv_data(n: usize) -> SurvData {
    let mut r = Rng::new(42);
    let mut d = SurvData {
        time: Vec::with_capacity(n),
        event: Vec::with_capacity(n),
        group: Vec::with_capacity(n),
        x: [Vec::new(), Vec::new(), Vec::new()],
    };
    for _ in 0..n {
        let g = r.uniform() < 0.5;
        let x1 = r.normal();
        let x2 = 20.0 + 60.0 * r.uniform();
        let lp = 0.5 * f64::from(u8::from(g)) + 0.3 * x1 + 0.01 * x2;
        let t = r.exp(0.05 * lp.exp());
        let c = r.exp(0.03);
        d.time.push((t.min(c) * 10.0).ceil() / 10.0);
        d.event.push(t <= c);
        d.group.push(g);
        d.x[0].push(f64::from(u8::from(g)));
        d.x[1].push(x1);
        d.x[2].push(x2);
    }
    d
}

mod descriptive {
    use super::*;

    #[divan::bench(args = SIZES, max_time = 1)]
    fn summary(bencher: Bencher, n: usize) {
        let x = normals(n, 1, 0.0);
        bencher.bench_local(|| sclerad_stats::summary(black_box(&x)));
    }

    #[divan::bench(args = SIZES, max_time = 1)]
    fn counts(bencher: Bencher, n: usize) {
        let mut r = Rng::new(2);
        let x: Vec<u8> = (0..n).map(|_| (r.next_u64() % 7) as u8).collect();
        bencher.bench_local(|| sclerad_stats::counts(black_box(&x)));
    }
}

mod proportion {
    use super::*;

    #[divan::bench(args = SIZES, max_time = 1)]
    fn wilson(bencher: Bencher, n: usize) {
        let n = n as u64;
        bencher.bench_local(|| sclerad_stats::wilson(black_box(n / 3), black_box(n), 0.95));
    }

    #[divan::bench(args = SIZES, max_time = 1)]
    fn clopper_pearson(bencher: Bencher, n: usize) {
        let n = n as u64;
        bencher
            .bench_local(|| sclerad_stats::clopper_pearson(black_box(n / 3), black_box(n), 0.95));
    }
}

mod tables {
    use super::*;

    /// A 2×2 table with total n and odds ratio about 2.
    fn cells(n: usize) -> (u64, u64, u64, u64) {
        let q = (n / 4) as u64;
        (q + q / 6, q - q / 6, q - q / 6, q + q / 6)
    }

    #[divan::bench(args = SIZES, max_time = 1)]
    fn fisher_exact(bencher: Bencher, n: usize) {
        let (a, b, c, d) = cells(n);
        bencher.bench_local(|| sclerad_stats::fisher_exact(black_box(a), b, c, d));
    }

    #[divan::bench(args = SIZES, max_time = 1)]
    fn immediate_table(bencher: Bencher, n: usize) {
        let (a, b, c, d) = cells(n);
        bencher.bench_local(|| sclerad_stats::immediate::table(black_box(a), b, c, d));
    }

    #[divan::bench(args = SIZES, max_time = 1)]
    fn chisq_5x5(bencher: Bencher, n: usize) {
        let per = (n / 25).max(1) as u64;
        let rows: Vec<Vec<u64>> = (0..5)
            .map(|i| (0..5).map(|j| per + (i * j) as u64).collect())
            .collect();
        bencher.bench_local(|| sclerad_stats::chisq_test(black_box(&rows), true));
    }
}

mod two_groups {
    use super::*;

    #[divan::bench(args = SIZES, max_time = 1)]
    fn welch_t_test(bencher: Bencher, n: usize) {
        let (x, y) = (normals(n, 3, 0.0), normals(n, 4, 0.1));
        bencher.bench_local(|| sclerad_stats::welch_t_test(black_box(&x), black_box(&y)));
    }

    /// n per group; n = 40 uses the exact null distribution.
    #[divan::bench(args = [40, 100, 1_000, 10_000, 100_000, 1_000_000], max_time = 1)]
    fn wilcoxon_rank_sum(bencher: Bencher, n: usize) {
        let (x, y) = (normals(n, 5, 0.0), normals(n, 6, 0.1));
        bencher.bench_local(|| sclerad_stats::wilcoxon_rank_sum(black_box(&x), black_box(&y)));
    }

    /// Shapiro–Wilk is defined for n ≤ 5000.
    #[divan::bench(args = [100, 1_000, 5_000], max_time = 1)]
    fn shapiro_wilk(bencher: Bencher, n: usize) {
        let x = normals(n, 7, 0.0);
        bencher.bench_local(|| sclerad_stats::shapiro_wilk(black_box(&x)));
    }

    /// Welch, Student, Wilcoxon and two Shapiro–Wilk tests (n ≤ 5000 each).
    #[divan::bench(args = [100, 1_000, 5_000], max_time = 1)]
    fn immediate_groups(bencher: Bencher, n: usize) {
        let (x, y) = (normals(n, 8, 0.0), normals(n, 9, 0.1));
        bencher.bench_local(|| sclerad_stats::immediate::groups(black_box(&x), black_box(&y)));
    }
}

mod p_adjust {
    use super::*;
    use sclerad_stats::AdjustMethod;

    fn pvals(n: usize) -> Vec<f64> {
        let mut r = Rng::new(10);
        (0..n).map(|_| r.uniform().powi(3)).collect()
    }

    #[divan::bench(args = SIZES, max_time = 1)]
    fn bh(bencher: Bencher, n: usize) {
        let p = pvals(n);
        bencher.bench_local(|| sclerad_stats::p_adjust(black_box(&p), AdjustMethod::Bh));
    }

    #[divan::bench(args = SIZES, max_time = 1)]
    fn holm(bencher: Bencher, n: usize) {
        let p = pvals(n);
        bencher.bench_local(|| sclerad_stats::p_adjust(black_box(&p), AdjustMethod::Holm));
    }

    /// Hommel is O(n²), as in R; benchmarked up to n = 1e4.
    #[divan::bench(args = [100, 1_000, 10_000], max_time = 1)]
    fn hommel(bencher: Bencher, n: usize) {
        let p = pvals(n);
        bencher.bench_local(|| sclerad_stats::p_adjust(black_box(&p), AdjustMethod::Hommel));
    }
}

mod survival {
    use super::*;
    use sclerad_stats::Ties;

    #[divan::bench(args = SIZES, max_time = 1)]
    fn kaplan_meier(bencher: Bencher, n: usize) {
        let d = surv_data(n);
        bencher.bench_local(|| sclerad_stats::kaplan_meier(black_box(&d.time), &d.event));
    }

    #[divan::bench(args = SIZES, max_time = 1)]
    fn log_rank(bencher: Bencher, n: usize) {
        let d = surv_data(n);
        bencher.bench_local(|| sclerad_stats::log_rank(black_box(&d.time), &d.event, &d.group));
    }

    #[divan::bench(args = SIZES, max_time = 1)]
    fn cox_1_covariate_efron(bencher: Bencher, n: usize) {
        let d = surv_data(n);
        bencher.bench_local(|| {
            sclerad_stats::cox_ph(black_box(&d.time), &d.event, &d.x[..1], Ties::Efron)
        });
    }

    #[divan::bench(args = SIZES, max_time = 1)]
    fn cox_3_covariates_efron(bencher: Bencher, n: usize) {
        let d = surv_data(n);
        bencher
            .bench_local(|| sclerad_stats::cox_ph(black_box(&d.time), &d.event, &d.x, Ties::Efron));
    }

    /// Log-rank plus a one-covariate Cox model.
    #[divan::bench(args = SIZES, max_time = 1)]
    fn immediate_survival(bencher: Bencher, n: usize) {
        let d = surv_data(n);
        bencher.bench_local(|| {
            sclerad_stats::immediate::survival(black_box(&d.time), &d.event, &d.group)
        });
    }
}

mod logistic {
    use super::*;

    #[divan::bench(args = SIZES, max_time = 1)]
    fn logistic_3_covariates(bencher: Bencher, n: usize) {
        let mut r = Rng::new(11);
        let mut x = [Vec::new(), Vec::new(), Vec::new()];
        let mut y = Vec::with_capacity(n);
        for _ in 0..n {
            let (a, b, c) = (
                r.normal(),
                f64::from(u8::from(r.uniform() < 0.4)),
                30.0 + 40.0 * r.uniform(),
            );
            let lp = -0.5 + 0.8 * a + 0.7 * b + 0.01 * (c - 50.0);
            y.push(r.uniform() < 1.0 / (1.0 + (-lp).exp()));
            x[0].push(a);
            x[1].push(b);
            x[2].push(c);
        }
        bencher.bench_local(|| sclerad_stats::logistic(black_box(&y), &x));
    }
}

mod kappa {
    use super::*;
    use sclerad_stats::KappaWeights;

    #[divan::bench(args = SIZES, max_time = 1)]
    fn cohen_kappa_ratings_quadratic(bencher: Bencher, n: usize) {
        let mut r = Rng::new(12);
        let r1: Vec<u8> = (0..n).map(|_| (r.next_u64() % 5) as u8).collect();
        let r2: Vec<u8> = r1
            .iter()
            .map(|&v| {
                if r.uniform() < 0.7 {
                    v
                } else {
                    (r.next_u64() % 5) as u8
                }
            })
            .collect();
        bencher.bench_local(|| {
            sclerad_stats::cohen_kappa_ratings(black_box(&r1), &r2, KappaWeights::Quadratic)
        });
    }
}
