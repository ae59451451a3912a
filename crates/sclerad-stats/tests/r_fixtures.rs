//! Compares every routine with values computed by R
//! (`r/make_fixtures.R`; R 4.2.2, survival 3.5-3, psych 2.2.9).
//!
//! Tolerance: 1e-9 relative or 1e-12 absolute, except the conditional
//! maximum-likelihood odds ratio of `fisher.test` and its exact interval
//! (1e-6 relative), which R finds with `uniroot`.

use std::path::PathBuf;

use serde_json::Value;

use sclerad_stats::dist;
use sclerad_stats::immediate;
use sclerad_stats::*;

const REL: f64 = 1e-9;
const ABS: f64 = 1e-12;
const REL_COND_OR: f64 = 1e-6;

fn load(name: &str) -> Vec<Value> {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "fixtures", name]
        .iter()
        .collect();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let v: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("cannot parse {}: {e}", path.display()));
    match v {
        Value::Array(a) => a,
        _ => panic!("{name}: expected a JSON array"),
    }
}

/// A number from the fixtures: null → None, "Inf"/"-Inf" → ±∞.
fn num(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) if s == "Inf" => Some(f64::INFINITY),
        Value::String(s) if s == "-Inf" => Some(f64::NEG_INFINITY),
        _ => None,
    }
}

fn req(v: &Value, key: &str) -> f64 {
    num(&v[key]).unwrap_or_else(|| panic!("fixture field {key} missing or null"))
}

fn nums(v: &Value) -> Vec<Option<f64>> {
    v.as_array()
        .map(|a| a.iter().map(num).collect())
        .unwrap_or_default()
}

fn vec_f(v: &Value) -> Vec<f64> {
    nums(v)
        .into_iter()
        .map(|x| x.expect("null in numeric vector"))
        .collect()
}

fn vec_b(v: &Value) -> Vec<bool> {
    v.as_array()
        .map(|a| a.iter().map(|b| b.as_bool().expect("bool")).collect())
        .unwrap_or_default()
}

fn columns(v: &Value) -> Vec<Vec<f64>> {
    v.as_array()
        .map(|a| a.iter().map(vec_f).collect())
        .unwrap_or_default()
}

fn counts_rows(v: &Value) -> Vec<Vec<u64>> {
    columns(v)
        .into_iter()
        .map(|r| r.into_iter().map(|x| x as u64).collect())
        .collect()
}

/// Collects mismatches so one run reports all of them.
struct Check {
    family: &'static str,
    checks: usize,
    failures: Vec<String>,
    /// largest relative difference seen where R's value is not tiny
    max_rel: f64,
}

impl Check {
    fn new(family: &'static str) -> Self {
        Check {
            family,
            checks: 0,
            failures: Vec::new(),
            max_rel: 0.0,
        }
    }

    fn close_tol(&mut self, what: String, actual: f64, expected: f64, rel: f64) {
        self.checks += 1;
        let ok = if expected.is_infinite() || actual.is_infinite() {
            actual == expected
        } else if expected.is_nan() {
            actual.is_nan()
        } else {
            let d = (actual - expected).abs();
            if expected.abs() > 1e-300 {
                self.max_rel = self.max_rel.max(d / expected.abs());
            }
            // p-values below the floor are reported as the floor
            let floor = expected < P_FLOOR && actual == P_FLOOR;
            d <= ABS || d <= rel * expected.abs() || floor
        };
        if !ok {
            let rel_err = ((actual - expected) / expected).abs();
            self.failures.push(format!(
                "{what}: got {actual:e}, R {expected:e} (rel {rel_err:.2e})"
            ));
        }
    }

    fn close(&mut self, what: String, actual: f64, expected: f64) {
        self.close_tol(what, actual, expected, REL);
    }

    fn opt(&mut self, what: String, actual: Option<f64>, expected: Option<f64>) {
        match (actual, expected) {
            (Some(a), Some(e)) => self.close(what, a, e),
            (None, None) => self.checks += 1,
            (a, e) => {
                self.checks += 1;
                self.failures
                    .push(format!("{what}: got {a:?}, R {e:?} (presence differs)"));
            }
        }
    }

    fn all(&mut self, what: &str, actual: &[f64], expected: &[f64]) {
        if actual.len() != expected.len() {
            self.checks += 1;
            self.failures.push(format!(
                "{what}: length {} vs R {}",
                actual.len(),
                expected.len()
            ));
            return;
        }
        for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
            self.close(format!("{what}[{i}]"), *a, *e);
        }
    }

    fn fail(&mut self, msg: String) {
        self.checks += 1;
        self.failures.push(msg);
    }

    fn finish(self) {
        eprintln!(
            "{}: {} comparisons, max relative difference {:.2e}",
            self.family, self.checks, self.max_rel
        );
        assert!(self.checks > 0, "{}: nothing compared", self.family);
        if !self.failures.is_empty() {
            let shown: Vec<&String> = self.failures.iter().take(40).collect();
            panic!(
                "{}: {} of {} comparisons differ from R:\n{}",
                self.family,
                self.failures.len(),
                self.checks,
                shown
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
    }
}

#[test]
fn distributions() {
    let mut ck = Check::new("dist");
    for (i, c) in load("dist.json").iter().enumerate() {
        let f = c["f"].as_str().expect("f");
        let x = req(c, "x");
        let want = req(c, "value");
        let got = match f {
            "norm_sf" => dist::norm_sf(x),
            "t_sf" => dist::t_sf(x, req(c, "df")),
            "chisq_sf" => dist::chisq_sf(x, req(c, "df")),
            "qnorm" => dist::qnorm(x),
            "qt" => dist::qt(x, req(c, "df")),
            "qbeta" => dist::qbeta(
                x,
                req(c, "a"),
                req(c, "b"),
                c["lower"].as_bool().expect("lower"),
            ),
            other => panic!("unknown function {other}"),
        };
        ck.close(format!("case {i} {f}({x})"), got, want);
    }
    ck.finish();
}

#[test]
fn descriptive() {
    let mut ck = Check::new("descriptive");
    for (i, c) in load("descriptive.json").iter().enumerate() {
        let x = vec_f(&c["x"]);
        ck.close(
            format!("case {i} mean"),
            mean(&x).expect("mean"),
            req(c, "mean"),
        );
        ck.opt(format!("case {i} sd"), sd(&x).ok(), num(&c["sd"]));
        let q = quantiles(&x, &vec_f(&c["probs"])).expect("quantiles");
        ck.all(&format!("case {i} quantile"), &q, &vec_f(&c["quantiles"]));
    }
    for (i, c) in load("counts.json").iter().enumerate() {
        let x: Vec<i64> = vec_f(&c["x"]).iter().map(|v| *v as i64).collect();
        let t = counts(&x);
        let values: Vec<f64> = t.iter().map(|r| r.value as f64).collect();
        let ns: Vec<f64> = t.iter().map(|r| r.n as f64).collect();
        let pc: Vec<f64> = t.iter().map(|r| r.percent).collect();
        ck.all(&format!("counts {i} values"), &values, &vec_f(&c["values"]));
        ck.all(&format!("counts {i} n"), &ns, &vec_f(&c["n"]));
        ck.all(&format!("counts {i} percent"), &pc, &vec_f(&c["percent"]));
    }
    ck.finish();
}

#[test]
fn proportions() {
    let mut ck = Check::new("proportion");
    for (i, c) in load("proportion.json").iter().enumerate() {
        let (x, n) = (req(c, "x") as u64, req(c, "n") as u64);
        let w = wilson(x, n, 0.95).expect("wilson");
        let cp = clopper_pearson(x, n, 0.95).expect("clopper-pearson");
        ck.all(
            &format!("case {i} ({x}/{n}) wilson"),
            &[w.low, w.high],
            &vec_f(&c["wilson"]),
        );
        ck.all(
            &format!("case {i} ({x}/{n}) clopper-pearson"),
            &[cp.low, cp.high],
            &vec_f(&c["clopper_pearson"]),
        );
    }
    ck.finish();
}

fn abcd(c: &Value) -> (u64, u64, u64, u64) {
    (
        req(c, "a") as u64,
        req(c, "b") as u64,
        req(c, "c") as u64,
        req(c, "d") as u64,
    )
}

#[test]
fn tables_2x2() {
    let mut ck = Check::new("table2x2");
    let mut ckor = Check::new("table2x2 conditional OR and exact CI");
    for (i, c) in load("table2x2.json").iter().enumerate() {
        let (a, b, cc, d) = abcd(c);
        let lab = format!("case {i} [{a} {b}; {cc} {d}]");
        let m = [[a, b], [cc, d]];
        let plain = chisq_test(&m, false).ok();
        let yates = chisq_test(&m, true).ok();
        ck.opt(
            format!("{lab} chisq"),
            plain.as_ref().map(|t| t.statistic),
            num(&c["chisq"]),
        );
        ck.opt(
            format!("{lab} p chisq"),
            plain.as_ref().map(|t| t.p_value),
            num(&c["p_chisq"]),
        );
        ck.opt(
            format!("{lab} chisq yates"),
            yates.as_ref().map(|t| t.statistic),
            num(&c["chisq_yates"]),
        );
        ck.opt(
            format!("{lab} p chisq yates"),
            yates.as_ref().map(|t| t.p_value),
            num(&c["p_chisq_yates"]),
        );
        if let Some(t) = &plain {
            let e: Vec<f64> = t.expected.iter().flatten().copied().collect();
            ck.all(&format!("{lab} expected"), &e, &vec_f(&c["expected"]));
        }
        let f = fisher_exact(a, b, cc, d).expect("fisher");
        ck.close(format!("{lab} p fisher"), f.p_value, req(c, "p_fisher"));
        ckor.close_tol(
            format!("{lab} conditional OR"),
            f.odds_ratio,
            req(c, "or_cond"),
            REL_COND_OR,
        );
        let ci = vec_f(&c["or_cond_ci"]);
        ckor.close_tol(format!("{lab} OR ci low"), f.ci_low, ci[0], REL_COND_OR);
        ckor.close_tol(format!("{lab} OR ci high"), f.ci_high, ci[1], REL_COND_OR);
        let orw = nums(&c["or_wald"]);
        let w = odds_ratio_wald(a, b, cc, d, 0.95);
        ck.opt(format!("{lab} wald OR"), w.map(|r| r.estimate), orw[0]);
        ck.opt(format!("{lab} wald OR low"), w.map(|r| r.low), orw[1]);
        ck.opt(format!("{lab} wald OR high"), w.map(|r| r.high), orw[2]);
        let rrw = nums(&c["rr_wald"]);
        let r = risk_ratio(a, b, cc, d, 0.95);
        ck.opt(format!("{lab} RR"), r.map(|r| r.estimate), rrw[0]);
        ck.opt(format!("{lab} RR low"), r.map(|r| r.low), rrw[1]);
        ck.opt(format!("{lab} RR high"), r.map(|r| r.high), rrw[2]);
    }
    ckor.finish();
    ck.finish();
}

#[test]
fn immediate_table() {
    let mut ck = Check::new("immediate table");
    for (i, c) in load("table2x2.json").iter().enumerate() {
        let (a, b, cc, d) = abcd(c);
        let lab = format!("case {i}");
        let t = immediate::table(a, b, cc, d).expect("table");
        ck.opt(
            format!("{lab} p_chi_square"),
            t.p_chi_square,
            num(&c["p_chisq"]),
        );
        ck.opt(
            format!("{lab} p_chi_square_yates"),
            t.p_chi_square_yates,
            num(&c["p_chisq_yates"]),
        );
        ck.close(format!("{lab} p_fisher"), t.p_fisher, req(c, "p_fisher"));
        ck.close_tol(
            format!("{lab} odds_ratio"),
            t.odds_ratio,
            req(c, "or_cond"),
            REL_COND_OR,
        );
        let ci = vec_f(&c["or_cond_ci"]);
        ck.close_tol(format!("{lab} or_ci_low"), t.or_ci_low, ci[0], REL_COND_OR);
        ck.close_tol(
            format!("{lab} or_ci_high"),
            t.or_ci_high,
            ci[1],
            REL_COND_OR,
        );
        ck.opt(format!("{lab} or_wald"), t.or_wald, nums(&c["or_wald"])[0]);
        ck.opt(
            format!("{lab} risk_ratio"),
            t.risk_ratio,
            nums(&c["rr_wald"])[0],
        );
        ck.opt(
            format!("{lab} rr_ci_high"),
            t.rr_ci_high,
            nums(&c["rr_wald"])[2],
        );
        // serialises with exactly the agreed field names
        let js = serde_json::to_value(&t).expect("serialise");
        for key in [
            "p_chi_square",
            "p_chi_square_yates",
            "p_fisher",
            "odds_ratio",
            "or_ci_low",
            "or_ci_high",
        ] {
            if js.get(key).is_none() {
                ck.fail(format!("{lab}: field {key} missing in JSON"));
            }
        }
    }
    ck.finish();
}

#[test]
fn firth_equals_the_r_reference() {
    let mut ck = Check::new("Firth");
    let cases = load("firth.json");
    assert!(cases.len() >= 15);
    for (i, c) in cases.iter().enumerate() {
        let y: Vec<bool> = c["y"]
            .as_array()
            .expect("y")
            .iter()
            .map(|v| v.as_bool().expect("bool"))
            .collect();
        let x = columns(&c["x"]);
        let conf = req(c, "conf");
        let fit = firth_logistic(&y, &x, conf).unwrap_or_else(|e| panic!("case {i}: {e}"));
        let got =
            |f: fn(&FirthCoef) -> f64| -> Vec<f64> { fit.coefficients.iter().map(f).collect() };
        // An iterative fit: 1e-6 relative, as the plan allows (they agree
        // far better).
        for (name, ours) in [
            ("beta", got(|c| c.estimate)),
            ("se", got(|c| c.se)),
            ("ci_low", got(|c| c.ci_low)),
            ("ci_high", got(|c| c.ci_high)),
            ("chisq", got(|c| c.chisq)),
            ("p", got(|c| c.p_value)),
        ] {
            let want = vec_f(&c[name]);
            assert_eq!(ours.len(), want.len(), "case {i} {name}");
            for (j, (o, w)) in ours.iter().zip(&want).enumerate() {
                ck.close_tol(format!("case {i} {name}[{j}]"), *o, *w, 1e-6);
            }
        }
        ck.close_tol(
            format!("case {i} loglik"),
            fit.loglik,
            req(c, "loglik"),
            1e-9,
        );
    }
    ck.finish();
}

#[test]
fn fleiss_kappa_equals_the_r_reference() {
    let mut ck = Check::new("Fleiss");
    let cases = load("fleiss.json");
    assert!(cases.len() >= 20);
    for (i, c) in cases.iter().enumerate() {
        let counts = counts_rows(&c["counts"]);
        let f = fleiss_kappa(&counts).unwrap_or_else(|e| panic!("case {i}: {e}"));
        ck.close(format!("case {i} kappa"), f.kappa, req(c, "kappa"));
        ck.close(format!("case {i} se"), f.se, req(c, "se"));
        ck.close(format!("case {i} z"), f.z, req(c, "z"));
        ck.close(format!("case {i} p"), f.p_value, req(c, "p"));
    }
    ck.finish();
    assert!(
        fleiss_kappa(&[vec![3u64, 0], vec![3, 0]]).is_err(),
        "one category only"
    );
    assert!(
        fleiss_kappa(&[vec![3u64, 0], vec![1, 1]]).is_err(),
        "raters differ"
    );
}

#[test]
fn fisher_rxc_equals_r() {
    let mut ck = Check::new("Fisher RxC");
    let cases = load("fisher_rxc.json");
    assert!(cases.len() >= 40);
    for (i, c) in cases.iter().enumerate() {
        let rows = counts_rows(&c["rows"]);
        let p = fisher_exact_rxc(&rows).unwrap_or_else(|e| panic!("case {i} {rows:?}: {e}"));
        ck.close(format!("case {i} p {rows:?}"), p, req(c, "p"));
    }
    ck.finish();
    // The enumeration is bounded: margins allowing too many tables are
    // refused, not walked for hours.
    let wide = vec![vec![400u64; 8], vec![400; 8], vec![400; 8]];
    assert!(fisher_exact_rxc(&wide).is_err());
    assert!(fisher_exact_rxc(&[vec![1u64, 2]]).is_err());
    assert!(fisher_exact_rxc(&[vec![0u64, 0], vec![0, 0]]).is_err());
}

#[test]
fn tables_rxc() {
    let mut ck = Check::new("table RxC");
    for (i, c) in load("table_rxc.json").iter().enumerate() {
        let rows = counts_rows(&c["rows"]);
        let t = chisq_test(&rows, true).expect("chisq");
        ck.close(
            format!("case {i} statistic"),
            t.statistic,
            req(c, "statistic"),
        );
        ck.close(format!("case {i} df"), t.df, req(c, "df"));
        ck.close(format!("case {i} p"), t.p_value, req(c, "p"));
        let e: Vec<f64> = t.expected.iter().flatten().copied().collect();
        let want: Vec<f64> = columns(&c["expected"]).into_iter().flatten().collect();
        ck.all(&format!("case {i} expected"), &e, &want);
    }
    ck.finish();
}

fn check_t(ck: &mut Check, lab: String, got: Result<TTest>, want: &Value) {
    match (got, want) {
        (Err(_), Value::Null) => ck.checks += 1,
        (Ok(t), Value::Object(_)) => {
            ck.close(format!("{lab} t"), t.statistic, req(want, "t"));
            ck.close(format!("{lab} df"), t.df, req(want, "df"));
            ck.close(format!("{lab} p"), t.p_value, req(want, "p"));
            ck.close(format!("{lab} stderr"), t.stderr, req(want, "stderr"));
            ck.all(
                &format!("{lab} ci"),
                &[t.ci_low, t.ci_high],
                &vec_f(&want["ci"]),
            );
            let est = vec_f(&want["estimate"]);
            ck.close(format!("{lab} mean x"), t.mean_x, est[0]);
            ck.close(format!("{lab} mean y"), t.mean_y, est[1]);
        }
        (g, w) => ck.fail(format!("{lab}: got {g:?}, R {w}")),
    }
}

#[test]
fn t_tests() {
    let mut ck = Check::new("t-test");
    for (i, c) in load("ttest.json").iter().enumerate() {
        let x = vec_f(&c["x"]);
        let y = vec_f(&c["y"]);
        check_t(
            &mut ck,
            format!("case {i} welch"),
            welch_t_test(&x, &y),
            &c["welch"],
        );
        check_t(
            &mut ck,
            format!("case {i} student"),
            student_t_test(&x, &y),
            &c["student"],
        );
    }
    ck.finish();
}

#[test]
fn wilcoxon() {
    let mut ck = Check::new("wilcoxon");
    for (i, c) in load("wilcox.json").iter().enumerate() {
        let x = vec_f(&c["x"]);
        let y = vec_f(&c["y"]);
        let lab = format!("case {i} (nx {}, ny {})", x.len(), y.len());
        match (wilcoxon_rank_sum(&x, &y), num(&c["p"])) {
            (Ok(r), Some(p)) => {
                ck.close(format!("{lab} W"), r.w, req(c, "w"));
                ck.close(format!("{lab} p"), r.p_value, p);
                if r.exact != c["exact"].as_bool().expect("exact") {
                    ck.fail(format!("{lab}: exact flag differs"));
                }
            }
            (Err(_), None) => ck.checks += 1,
            (g, w) => ck.fail(format!("{lab}: got {g:?}, R p {w:?}")),
        }
    }
    ck.finish();
}

#[test]
fn shapiro() {
    let mut ck = Check::new("shapiro");
    for (i, c) in load("shapiro.json").iter().enumerate() {
        let x = vec_f(&c["x"]);
        let lab = format!("case {i} (n {})", x.len());
        match shapiro_wilk(&x) {
            Ok(r) => {
                ck.close(format!("{lab} W"), r.w, req(c, "w"));
                ck.close(format!("{lab} p"), r.p_value, req(c, "p"));
            }
            Err(e) => ck.fail(format!("{lab}: {e}")),
        }
    }
    ck.finish();
}

#[test]
fn p_adjustment() {
    let mut ck = Check::new("p.adjust");
    for (i, c) in load("padjust.json").iter().enumerate() {
        let p = vec_f(&c["p"]);
        for m in AdjustMethod::ALL {
            let got = p_adjust(&p, m).expect("p_adjust");
            ck.all(
                &format!("case {i} {}", m.r_name()),
                &got,
                &vec_f(&c[m.r_name()]),
            );
        }
    }
    ck.finish();
}

#[test]
fn kaplan_meier_curves() {
    let mut ck = Check::new("kaplan-meier");
    for (i, c) in load("km.json").iter().enumerate() {
        let t = vec_f(&c["time"]);
        let e = vec_b(&c["event"]);
        let km = kaplan_meier(&t, &e).expect("km");
        let lab = format!("case {i}");
        let col = |f: &dyn Fn(&KmRow) -> f64| -> Vec<f64> { km.rows.iter().map(f).collect() };
        ck.all(&format!("{lab} time"), &col(&|r| r.time), &vec_f(&c["t"]));
        ck.all(
            &format!("{lab} n.risk"),
            &col(&|r| r.n_risk as f64),
            &vec_f(&c["n_risk"]),
        );
        ck.all(
            &format!("{lab} n.event"),
            &col(&|r| r.n_event as f64),
            &vec_f(&c["n_event"]),
        );
        ck.all(
            &format!("{lab} n.censor"),
            &col(&|r| r.n_censor as f64),
            &vec_f(&c["n_censor"]),
        );
        ck.all(
            &format!("{lab} surv"),
            &col(&|r| r.surv),
            &vec_f(&c["surv"]),
        );
        ck.all(
            &format!("{lab} std.err"),
            &col(&|r| r.se_log),
            &vec_f(&c["se_log"]),
        );
        for (j, (lo, hi)) in nums(&c["lower"]).iter().zip(nums(&c["upper"])).enumerate() {
            ck.opt(format!("{lab} lower[{j}]"), km.rows[j].lower, *lo);
            ck.opt(format!("{lab} upper[{j}]"), km.rows[j].upper, hi);
        }
        ck.opt(format!("{lab} median"), km.median, num(&c["median"]));
    }
    ck.finish();
}

#[test]
fn log_rank_tests() {
    let mut ck = Check::new("log-rank");
    for (i, c) in load("logrank.json").iter().enumerate() {
        let t = vec_f(&c["time"]);
        let e = vec_b(&c["event"]);
        let g: Vec<i64> = vec_f(&c["group"]).iter().map(|v| *v as i64).collect();
        let r = log_rank(&t, &e, &g).expect("log-rank");
        let lab = format!("case {i}");
        ck.close(format!("{lab} chisq"), r.test.statistic, req(c, "chisq"));
        ck.close(format!("{lab} df"), r.test.df, req(c, "df"));
        ck.close(format!("{lab} p"), r.test.p_value, req(c, "p"));
        ck.all(
            &format!("{lab} observed"),
            &r.observed,
            &vec_f(&c["observed"]),
        );
        ck.all(
            &format!("{lab} expected"),
            &r.expected,
            &vec_f(&c["expected"]),
        );
    }
    ck.finish();
}

#[test]
fn cox_regression() {
    let mut ck = Check::new("cox");
    for (i, c) in load("cox.json").iter().enumerate() {
        let t = vec_f(&c["time"]);
        let e = vec_b(&c["event"]);
        let x = columns(&c["x"]);
        let ties = match c["ties"].as_str() {
            Some("breslow") => Ties::Breslow,
            _ => Ties::Efron,
        };
        let lab = format!("case {i} (n {}, p {}, {ties:?})", t.len(), x.len());
        let fit = cox_ph(&t, &e, &x, ties);
        if let Some(kind) = c["error"].as_str() {
            match (kind, &fit) {
                ("separation", Err(StatsError::Separation(_))) => ck.checks += 1,
                _ => ck.fail(format!("{lab}: R reports {kind}, got {fit:?}")),
            }
            continue;
        }
        let fit = match fit {
            Ok(f) => f,
            Err(err) => {
                ck.fail(format!("{lab}: {err}"));
                continue;
            }
        };
        let cf = &fit.coefficients;
        let g = |f: &dyn Fn(&CoxCoef) -> f64| -> Vec<f64> { cf.iter().map(f).collect() };
        ck.all(&format!("{lab} coef"), &g(&|c| c.coef), &vec_f(&c["coef"]));
        ck.all(&format!("{lab} se"), &g(&|c| c.se), &vec_f(&c["se"]));
        ck.all(&format!("{lab} z"), &g(&|c| c.z), &vec_f(&c["z"]));
        ck.all(&format!("{lab} p"), &g(&|c| c.p_value), &vec_f(&c["p"]));
        ck.all(
            &format!("{lab} HR"),
            &g(&|c| c.hazard_ratio),
            &vec_f(&c["hr"]),
        );
        ck.all(
            &format!("{lab} HR low"),
            &g(&|c| c.hr_ci_low),
            &vec_f(&c["hr_low"]),
        );
        ck.all(
            &format!("{lab} HR high"),
            &g(&|c| c.hr_ci_high),
            &vec_f(&c["hr_high"]),
        );
        let at90: Vec<(f64, f64)> = cf
            .iter()
            .map(|c| c.hr_interval(0.9).expect("a level"))
            .collect();
        ck.all(
            &format!("{lab} HR low, 90 %"),
            &at90.iter().map(|i| i.0).collect::<Vec<_>>(),
            &vec_f(&c["hr_low_90"]),
        );
        ck.all(
            &format!("{lab} HR high, 90 %"),
            &at90.iter().map(|i| i.1).collect::<Vec<_>>(),
            &vec_f(&c["hr_high_90"]),
        );
        ck.all(
            &format!("{lab} loglik"),
            &[fit.loglik_null, fit.loglik],
            &vec_f(&c["loglik"]),
        );
        for (name, test) in [
            ("lr", fit.lr_test),
            ("wald", fit.wald_test),
            ("score", fit.score_test),
        ] {
            ck.all(
                &format!("{lab} {name} test"),
                &[test.statistic, test.df, test.p_value],
                &vec_f(&c[name]),
            );
        }
        ck.close(
            format!("{lab} iterations"),
            fit.iterations as f64,
            req(c, "iter"),
        );
    }
    ck.finish();
}

#[test]
fn logistic_regression() {
    let mut ck = Check::new("logistic");
    for (i, c) in load("logistic.json").iter().enumerate() {
        let y = vec_b(&c["y"]);
        let x = columns(&c["x"]);
        let lab = format!("case {i} (n {}, p {})", y.len(), x.len());
        let fit = logistic(&y, &x);
        if let Some(kind) = c["error"].as_str() {
            match (kind, &fit) {
                ("separation", Err(StatsError::Separation(_))) => ck.checks += 1,
                _ => ck.fail(format!("{lab}: expected {kind}, got {fit:?}")),
            }
            continue;
        }
        let fit = match fit {
            Ok(f) => f,
            Err(err) => {
                ck.fail(format!("{lab}: {err}"));
                continue;
            }
        };
        let cf = &fit.coefficients;
        let g = |f: &dyn Fn(&LogisticCoef) -> f64| -> Vec<f64> { cf.iter().map(f).collect() };
        ck.all(
            &format!("{lab} coef"),
            &g(&|c| c.estimate),
            &vec_f(&c["coef"]),
        );
        ck.all(&format!("{lab} se"), &g(&|c| c.se), &vec_f(&c["se"]));
        ck.all(&format!("{lab} z"), &g(&|c| c.z), &vec_f(&c["z"]));
        ck.all(&format!("{lab} p"), &g(&|c| c.p_value), &vec_f(&c["p"]));
        ck.all(
            &format!("{lab} OR"),
            &g(&|c| c.odds_ratio),
            &vec_f(&c["or"]),
        );
        ck.all(
            &format!("{lab} OR low"),
            &g(&|c| c.or_ci_low),
            &vec_f(&c["or_low"]),
        );
        ck.all(
            &format!("{lab} OR high"),
            &g(&|c| c.or_ci_high),
            &vec_f(&c["or_high"]),
        );
        ck.close(format!("{lab} deviance"), fit.deviance, req(c, "deviance"));
        ck.close(
            format!("{lab} null deviance"),
            fit.null_deviance,
            req(c, "null_deviance"),
        );
        ck.close(format!("{lab} aic"), fit.aic, req(c, "aic"));
        ck.close(
            format!("{lab} df.residual"),
            fit.df_residual as f64,
            req(c, "df_residual"),
        );
        ck.close(format!("{lab} LR"), fit.lr_test.statistic, req(c, "lr"));
        ck.close(format!("{lab} LR df"), fit.lr_test.df, req(c, "lr_df"));
        ck.close(format!("{lab} LR p"), fit.lr_test.p_value, req(c, "lr_p"));
        ck.close(
            format!("{lab} iterations"),
            fit.iterations as f64,
            req(c, "iter"),
        );
    }
    ck.finish();
}

#[test]
fn kappa() {
    let mut ck = Check::new("kappa");
    for (i, c) in load("kappa.json").iter().enumerate() {
        let tab = counts_rows(&c["table"]);
        for (name, w) in [
            ("unweighted", KappaWeights::Unweighted),
            ("linear", KappaWeights::Linear),
            ("quadratic", KappaWeights::Quadratic),
        ] {
            let want = vec_f(&c[name]);
            let lab = format!("case {i} {name}");
            match cohen_kappa(&tab, w) {
                Ok(k) => ck.all(&lab, &[k.kappa, k.se, k.po, k.pe], &want),
                Err(e) => ck.fail(format!("{lab}: {e}")),
            }
        }
        // and the cross-check against psych::cohen.kappa
        if let Ok(k) = cohen_kappa(&tab, KappaWeights::Unweighted) {
            ck.close(
                format!("case {i} psych kappa"),
                k.kappa,
                req(c, "psych_kappa"),
            );
            ck.close(
                format!("case {i} psych var"),
                k.se * k.se,
                req(c, "psych_var_kappa"),
            );
            ck.all(
                &format!("case {i} psych interval, 95 %"),
                &[k.ci_low, k.ci_high],
                &vec_f(&c["psych_ci_95"]),
            );
            match k.interval(0.9) {
                Ok((low, high)) => ck.all(
                    &format!("case {i} psych interval, 90 %"),
                    &[low, high],
                    &vec_f(&c["psych_ci_90"]),
                ),
                Err(e) => ck.fail(format!("case {i}: {e}")),
            }
        }
    }
    ck.finish();
}

#[test]
fn immediate_groups() {
    let mut ck = Check::new("immediate groups");
    for (i, c) in load("immediate_groups.json").iter().enumerate() {
        let x = vec_f(&c["x"]);
        let y = vec_f(&c["y"]);
        let g = immediate::groups(&x, &y).expect("groups");
        let lab = format!("case {i}");
        ck.opt(format!("{lab} p_welch"), g.p_welch, num(&c["p_welch"]));
        ck.opt(
            format!("{lab} p_student"),
            g.p_student,
            num(&c["p_student"]),
        );
        ck.opt(
            format!("{lab} p_mann_whitney"),
            g.p_mann_whitney,
            num(&c["p_mann_whitney"]),
        );
        ck.opt(format!("{lab} w"), g.w, num(&c["w"]));
        ck.opt(
            format!("{lab} p_shapiro_x"),
            g.p_shapiro_x,
            num(&c["p_shapiro_x"]),
        );
        ck.opt(
            format!("{lab} p_shapiro_y"),
            g.p_shapiro_y,
            num(&c["p_shapiro_y"]),
        );
        let js = serde_json::to_value(&g).expect("serialise");
        let keys: Vec<&String> = js
            .as_object()
            .map(|o| o.keys().collect())
            .unwrap_or_default();
        if keys.len() != 6 {
            ck.fail(format!("{lab}: GroupsSummary has fields {keys:?}"));
        }
    }
    ck.finish();
}

#[test]
fn immediate_survival() {
    let mut ck = Check::new("immediate survival");
    for (i, c) in load("immediate_survival.json").iter().enumerate() {
        let t = vec_f(&c["time"]);
        let e = vec_b(&c["event"]);
        let g: Vec<String> = c["group"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|s| s.as_str().unwrap_or("").to_owned())
                    .collect()
            })
            .unwrap_or_default();
        let s = immediate::survival(&t, &e, &g).expect("survival");
        let lab = format!("case {i}");
        ck.opt(
            format!("{lab} p_logrank"),
            s.p_logrank,
            num(&c["p_logrank"]),
        );
        ck.opt(
            format!("{lab} hazard_ratio"),
            s.hazard_ratio,
            num(&c["hazard_ratio"]),
        );
        ck.opt(
            format!("{lab} hr_ci_low"),
            s.hr_ci_low,
            num(&c["hr_ci_low"]),
        );
        ck.opt(
            format!("{lab} hr_ci_high"),
            s.hr_ci_high,
            num(&c["hr_ci_high"]),
        );
        ck.opt(format!("{lab} p_wald"), s.p_wald, num(&c["p_wald"]));
        ck.opt(format!("{lab} p_lr"), s.p_lr, num(&c["p_lr"]));
        let js = serde_json::to_value(&s).expect("serialise");
        let keys: Vec<&String> = js
            .as_object()
            .map(|o| o.keys().collect())
            .unwrap_or_default();
        if keys.len() != 6 {
            ck.fail(format!("{lab}: SurvivalSummary has fields {keys:?}"));
        }
    }
    ck.finish();
}
