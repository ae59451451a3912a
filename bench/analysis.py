#!/usr/bin/env python3
"""Python reference / speed baseline of the sclerad analysis plan
(docs/analysis-plan.md), with pandas, scipy, statsmodels, lifelines.

    python3 bench/analysis.py BUNDLE_DIR OUT.json

Same input and output shape as bench/analysis.R. Where this differs from R
(the source of truth) is listed in bench/README.md; in short:
- odds ratio + CI: scipy has no equivalent of fisher.test's conditional
  MLE computed R's way (see fisher_or_like_r below): by default this file
  ports R's algorithm to numpy; SCLERAD_BENCH_OR=scipy uses
  scipy.stats.contingency.odds_ratio(kind="conditional") instead (exact
  MLE, ~1e-4..1e-3 from R, and very slow). `odds_ratio_sample` (scipy
  fisher_exact's statistic, ad/bc) is added for information.
- Cox: lifelines' damped Newton-Raphson stops too early by default
  (precision 1e-7: beta ~1e-4 off the MLE); it is run with precision 1e-18
  and r_precision 1e-15, so it reaches the MLE; coxph's own stopping rule
  (relative loglik change < 1e-9) leaves beta up to ~2e-8 off, so HR
  differs from R by up to ~3e-8 and Wald p (small p) by up to ~1e-5; LR p
  at 10^5-10^6 patients differs by 1e-7..1e-6 (cancellation in the loglik).
- Shapiro-Wilk p: scipy vs R's swilk.c differ by 1e-8..1e-6 relative.
- everything else (chi-square, Fisher p, Wilson, Welch, Mann-Whitney,
  Holm/BH, log-rank, means, sd, quantiles) agrees to ~1e-12 or better
  (Fisher p 2e-10 at 10^6).
Readings files, agreement and per-level prevalence are not implemented.
"""

import json
import math
import os
import sys
import warnings

import numpy as np
import pandas as pd
from scipy import stats
from scipy.stats import contingency
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

HAND = ["calcinosis", "acro_osteolysis", "periarticular_calcification",
        "erosion", "joint_space_narrowing", "subluxation", "flexion_contracture"]
SPINE_COLS = ["spine_anterior", "spine_canal", "spine_foraminal", "spine_posterior"]
SPINE = ["spine_any"] + SPINE_COLS
CLINICAL_BINARY = ["sex_female", "digital_ulcers", "ild_ct",
                   "restrictive_syndrome", "pah", "death"]
CONTINUOUS = {"age_years", "disease_duration_years"}
MISSING = {"", "NA", "na", "N/A", "."}


def fnum(x):
    """A finite float, else None."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


# ------------------------------------------------------------------ read --

def read_bundle(bundle):
    path = os.path.join(bundle, "patients.csv") if os.path.isdir(bundle) else bundle
    with open(path, encoding="utf-8-sig") as f:
        header = f.readline()
    sep = ";" if (";" in header and "," not in header) else ","
    raw = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False,
                      encoding="utf-8-sig", skipinitialspace=True)
    raw.columns = [c.strip().lower() for c in raw.columns]
    return raw, sep


def derive(raw, sep):
    n = len(raw)

    def cell(col):
        if col not in raw.columns:
            return pd.Series([None] * n, dtype=object)
        v = raw[col].str.strip()
        return v.where(~v.isin(MISSING), None)

    def as_bool(col):
        v = cell(col).str.lower()
        out = pd.Series(pd.NA, index=v.index, dtype="boolean")
        out[v.isin(["yes", "y", "true", "1"])] = True
        out[v.isin(["no", "n", "false", "0"])] = False
        bad = v.notna() & out.isna()
        if bad.any():
            raise ValueError(f"{col}: not a boolean: {v[bad].iloc[0]}")
        return out

    def as_num(col):
        v = cell(col)
        if sep == ";":
            v = v.str.replace(",", ".", regex=False)
        return pd.to_numeric(v).astype(float)

    def as_date(col):
        return pd.to_datetime(cell(col), format="%Y-%m-%d")

    V = {}
    sex = cell("sex").str.lower()
    V["sex_female"] = pd.Series(pd.NA, index=sex.index, dtype="boolean")
    V["sex_female"][sex.isin(["female", "f"])] = True
    V["sex_female"][sex.isin(["male", "m"])] = False
    sub = cell("subset").str.lower()
    V["subset_dcssc"] = pd.Series(pd.NA, index=sub.index, dtype="boolean")
    V["subset_dcssc"][sub == "dcssc"] = True
    V["subset_dcssc"][sub == "lcssc"] = False

    hand_date = as_date("hand_xray_date")
    ct_date = as_date("ct_date")
    ref = hand_date.fillna(ct_date)

    age = as_num("age_years")
    birth = as_date("birth_date")
    years = ref.dt.year - birth.dt.year
    before = (ref.dt.month < birth.dt.month) | (
        (ref.dt.month == birth.dt.month) & (ref.dt.day < birth.dt.day))
    whole = (years - before.astype(float)).astype(float)
    V["age_years"] = age.fillna(whole)

    dur = as_num("disease_duration_years")
    onset = as_date("onset_date")
    V["disease_duration_years"] = dur.fillna((ref - onset).dt.days / 365.25)

    rs = as_bool("restrictive_syndrome")
    tlc = as_num("tlc_pct_pred")
    tlc_rs = pd.Series(pd.NA, index=tlc.index, dtype="boolean")
    tlc_rs[tlc.notna()] = tlc[tlc.notna()] < 80
    V["restrictive_syndrome"] = rs.fillna(tlc_rs)

    for c in ["digital_ulcers", "ild_ct", "pah", "death"] + HAND + SPINE_COLS:
        V[c] = as_bool(c)
    # Kleene OR: True if any True, False if all False, else NA
    V["spine_any"] = V["spine_anterior"] | V["spine_canal"] | V["spine_posterior"]

    death_date = as_date("death_date")
    fu = as_date("last_followup_date")
    death = V["death"]
    end = pd.Series(pd.NaT, index=death.index, dtype="datetime64[ns]")
    is_d = death.fillna(False).astype(bool)
    is_s = (~death.fillna(True)).astype(bool)
    end[is_d] = death_date[is_d]
    end[is_s] = fu[is_s]
    days = (end - hand_date).dt.days
    return V, days, n


# ----------------------------------------------------------------- stats --

def q7(x):
    return np.quantile(x, [0.25, 0.5, 0.75], method="linear")


def describe(x):
    n = len(x)
    if n == 0:
        return dict(n=0, mean=None, sd=None, median=None, q1=None, q3=None)
    q = q7(x)
    return dict(n=n, mean=fnum(np.mean(x)), sd=fnum(np.std(x, ddof=1)) if n >= 2 else None,
                median=fnum(q[1]), q1=fnum(q[0]), q3=fnum(q[2]))


def population(V, keep):
    age = V["age_years"][keep].dropna().to_numpy(float)
    dur = V["disease_duration_years"][keep].dropna().to_numpy(float)
    n = int(keep.sum())
    fem = int(V["sex_female"][keep].fillna(False).sum())
    qd = q7(dur) if len(dur) else [None] * 3
    return dict(
        n=n, age_n=len(age),
        age_mean=fnum(np.mean(age)) if len(age) else None,
        age_sd=fnum(np.std(age, ddof=1)) if len(age) >= 2 else None,
        female_n=fem, female_percent=100 * fem / n if n else None,
        lcssc_n=int((V["subset_dcssc"][keep] == False).fillna(False).sum()),  # noqa: E712
        dcssc_n=int((V["subset_dcssc"][keep] == True).fillna(False).sum()),  # noqa: E712
        duration_n=len(dur),
        duration_mean=fnum(np.mean(dur)) if len(dur) else None,
        duration_sd=fnum(np.std(dur, ddof=1)) if len(dur) >= 2 else None,
        duration_median=fnum(qd[1]), duration_q1=fnum(qd[0]), duration_q3=fnum(qd[2]),
    )


def prevalence(V, var):
    v = V[var]
    den = int(v.notna().sum())
    k = int(v.fillna(False).sum())
    lo = hi = None
    if den:
        lo, hi = proportion_confint(k, den, alpha=0.05, method="wilson")
        lo, hi = 100 * lo, 100 * hi
    return dict(variable=var, n=k, denominator=den,
                percent=100 * k / den if den else None, ci_low=fnum(lo), ci_high=fnum(hi))


# --------------------------------------- conditional odds ratio, R's way --
#
# scipy.stats.contingency.odds_ratio(kind="conditional") solves the
# conditional MLE and exact limits to full precision, but (1) R's fisher.test
# stops uniroot() at its default tol = .Machine$double.eps^0.25 ~ 1.2e-4, so
# the two differ by up to ~1e-3 relative, and (2) scipy evaluates the
# noncentral hypergeometric pmf in a Python-level loop (~0.6 s per table at
# n = 10^4, unusable at 10^6). The default here is therefore a numpy port of
# fisher.test's own code (dnhyper / mnhyper / pnhyper + R_zeroin2).
# Set SCLERAD_BENCH_OR=scipy to use scipy's instead.

CONDITIONAL_OR = os.environ.get("SCLERAD_BENCH_OR", "r")
R_UNIROOT_TOL = np.finfo(float).eps ** 0.25
DBL_EPS = np.finfo(float).eps


def r_zeroin2(f, ax, bx, fa, fb, tol=R_UNIROOT_TOL, maxit=1000):
    """R's R_zeroin2 (src/library/stats/src/zeroin.c), as uniroot() calls it."""
    a, b = ax, bx
    c, fc = a, fa
    if fa == 0.0:
        return a
    if fb == 0.0:
        return b
    for _ in range(maxit + 1):
        prev_step = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2 * DBL_EPS * abs(b) + tol / 2
        new_step = (c - b) / 2
        if abs(new_step) <= tol_act or fb == 0.0:
            return b
        if abs(prev_step) >= tol_act and abs(fa) > abs(fb):
            cb = c - b
            if a == c:
                t1 = fb / fa
                p = cb * t1
                q = 1.0 - t1
            else:
                q = fa / fc
                t1 = fb / fc
                t2 = fb / fa
                p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
                q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            if p > 0:
                q = -q
            else:
                p = -p
            if p < (0.75 * cb * q - abs(tol_act * q) / 2) and p < abs(prev_step * q / 2):
                new_step = p / q
        if abs(new_step) < tol_act:
            new_step = tol_act if new_step > 0 else -tol_act
        a, fa = b, fb
        b += new_step
        fb = f(b)
        if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
            c, fc = a, fa
    return b


def uniroot(f, lower, upper):
    return r_zeroin2(f, lower, upper, f(lower), f(upper))


def fisher_or_like_r(a, b, c, d, conf_level=0.95):
    """(estimate, ci_low, ci_high) as R's fisher.test(matrix(c(a, c, b, d), 2))."""
    m, n, k, x = a + c, b + d, a + b, a
    lo, hi = max(0, k - n), min(k, m)
    support = np.arange(lo, hi + 1, dtype=float)
    logdc = stats.hypergeom.logpmf(support, m + n, m, k)

    def dnhyper(ncp):
        dd = logdc + math.log(ncp) * support
        dd = np.exp(dd - dd.max())
        return dd / dd.sum()

    def mnhyper(ncp):
        if ncp == 0:
            return lo
        if ncp == math.inf:
            return hi
        return float(np.sum(support * dnhyper(ncp)))

    def pnhyper(q, ncp, upper_tail=False):
        if ncp == 1:
            return float(stats.hypergeom.sf(x - 1, m + n, m, k) if upper_tail
                         else stats.hypergeom.cdf(x, m + n, m, k))
        if ncp == 0:
            return float(q <= lo if upper_tail else q >= lo)
        if ncp == math.inf:
            return float(q <= hi if upper_tail else q >= hi)
        dd = dnhyper(ncp)
        return float(np.sum(dd[support >= q] if upper_tail else dd[support <= q]))

    def mle():
        if x == lo:
            return 0.0
        if x == hi:
            return math.inf
        mu = mnhyper(1.0)
        if mu > x:
            return uniroot(lambda t: mnhyper(t) - x, 0.0, 1.0)
        if mu < x:
            return 1.0 / uniroot(lambda t: mnhyper(1.0 / t) - x, DBL_EPS, 1.0)
        return 1.0

    def ncp_u(alpha):
        if x == hi:
            return math.inf
        p = pnhyper(x, 1.0)
        if p < alpha:
            return uniroot(lambda t: pnhyper(x, t) - alpha, 0.0, 1.0)
        if p > alpha:
            return 1.0 / uniroot(lambda t: pnhyper(x, 1.0 / t) - alpha, DBL_EPS, 1.0)
        return 1.0

    def ncp_l(alpha):
        if x == lo:
            return 0.0
        p = pnhyper(x, 1.0, upper_tail=True)
        if p > alpha:
            return uniroot(lambda t: pnhyper(x, t, True) - alpha, 0.0, 1.0)
        if p < alpha:
            return 1.0 / uniroot(lambda t: pnhyper(x, 1.0 / t, True) - alpha, DBL_EPS, 1.0)
        return 1.0

    alpha = (1 - conf_level) / 2
    return mle(), ncp_l(alpha), ncp_u(alpha)


def binary_cmp(V, family, exposure, outcome):
    e, o = V[exposure], V[outcome]
    ok = (e.notna() & o.notna()).to_numpy(bool)
    e = e.to_numpy(bool, na_value=False)[ok]
    o = o.to_numpy(bool, na_value=False)[ok]
    a = int(np.sum(e & o)); b = int(np.sum(e & ~o))
    c = int(np.sum(~e & o)); d = int(np.sum(~e & ~o))
    r = dict(id=f"{family}:{exposure}:{outcome}", family=family, exposure=exposure,
             outcome=outcome, outcome_type="binary", n=a + b + c + d,
             test="not_computable", p_value=None, a=a, b=b, c=c, d=d,
             min_expected=None, p_chi_square=None, p_fisher=None, odds_ratio=None,
             or_ci_low=None, or_ci_high=None, odds_ratio_infinite=False,
             odds_ratio_sample=None, p_holm=None, p_bh=None)
    if a + b == 0 or c + d == 0 or a + c == 0 or b + d == 0:
        return r
    t = np.array([[a, b], [c, d]])
    chi2, p_chi, _, expected = stats.chi2_contingency(t, correction=False)
    r["min_expected"] = fnum(expected.min())
    r["p_chi_square"] = fnum(p_chi)
    fe = stats.fisher_exact(t, alternative="two-sided")
    r["p_fisher"] = fnum(fe.pvalue)
    r["odds_ratio_sample"] = fnum(fe.statistic)
    if CONDITIONAL_OR == "scipy":
        cor = contingency.odds_ratio(t, kind="conditional")
        ci = cor.confidence_interval(confidence_level=0.95)
        est, lo, hi = cor.statistic, ci.low, ci.high
    else:
        est, lo, hi = fisher_or_like_r(a, b, c, d)
    r["odds_ratio"] = fnum(est)
    r["odds_ratio_infinite"] = bool(est == np.inf)
    r["or_ci_low"] = fnum(lo)
    r["or_ci_high"] = fnum(hi)
    if r["min_expected"] is not None and r["min_expected"] >= 5:
        r["test"], r["p_value"] = "chi_square", r["p_chi_square"]
    else:
        r["test"], r["p_value"] = "fisher_exact", r["p_fisher"]
    if r["p_value"] is None:
        r["test"] = "not_computable"
    return r


def shapiro_p(x):
    if len(x) < 3 or len(x) > 5000 or np.all(x == x[0]):
        return None
    return fnum(stats.shapiro(x).pvalue)


def continuous_cmp(V, family, exposure, outcome):
    e, o = V[exposure], V[outcome]
    ok = (e.notna() & o.notna()).to_numpy(bool)
    ev = e.to_numpy(bool, na_value=False)
    ov = o.to_numpy(float, na_value=np.nan)
    x = ov[ok & ev]
    y = ov[ok & ~ev]
    gx, gy = describe(x), describe(y)
    r = dict(id=f"{family}:{exposure}:{outcome}", family=family, exposure=exposure,
             outcome=outcome, outcome_type="continuous", n=len(x) + len(y),
             test="not_computable", p_value=None)
    for suffix, g in (("exposed", gx), ("unexposed", gy)):
        for k in ("n", "mean", "sd", "median", "q1", "q3"):
            r[f"{k}_{suffix}"] = g[k]
    r["p_shapiro_exposed"] = shapiro_p(x)
    r["p_shapiro_unexposed"] = shapiro_p(y)
    r.update(p_welch=None, p_mann_whitney=None, w=None, p_holm=None, p_bh=None)
    if len(x) < 2 or len(y) < 2:
        return r
    r["p_welch"] = fnum(stats.ttest_ind(x, y, equal_var=False).pvalue)
    # R's wilcox.test default: exact iff both n < 50 and no ties
    ties = len(np.unique(np.concatenate([x, y]))) < len(x) + len(y)
    method = "exact" if (len(x) < 50 and len(y) < 50 and not ties) else "asymptotic"
    mw = stats.mannwhitneyu(x, y, use_continuity=True, alternative="two-sided", method=method)
    r["p_mann_whitney"] = fnum(mw.pvalue)
    r["w"] = fnum(mw.statistic)
    px, py = r["p_shapiro_exposed"], r["p_shapiro_unexposed"]
    if px is not None and py is not None and px >= 0.05 and py >= 0.05:
        r["test"], r["p_value"] = "welch_t", r["p_welch"]
    else:
        r["test"], r["p_value"] = "mann_whitney", r["p_mann_whitney"]
    if r["p_value"] is None:
        r["test"] = "not_computable"
    return r


FAMILIES = [
    ("subset", ["subset_dcssc"],
     ["age_years", "sex_female", "disease_duration_years", "digital_ulcers",
      "ild_ct", "restrictive_syndrome", "pah", "death"]),
    ("hand_duration", HAND, ["disease_duration_years"]),
    ("hand_ulcers", HAND, ["digital_ulcers"]),
    ("axial_peripheral", SPINE, HAND),
    ("prognosis", HAND + SPINE, ["ild_ct", "pah", "death"]),
]


def comparisons(V):
    out = []
    for family, exposures, outcomes in FAMILIES:
        fam = [continuous_cmp(V, family, ex, oc) if oc in CONTINUOUS else
               binary_cmp(V, family, ex, oc) for ex in exposures for oc in outcomes]
        idx = [i for i, r in enumerate(fam) if r["p_value"] is not None]
        if idx:
            p = np.array([fam[i]["p_value"] for i in idx])
            holm = multipletests(p, method="holm")[1]
            bh = multipletests(p, method="fdr_bh")[1]
            for k, i in enumerate(idx):
                fam[i]["p_holm"] = fnum(holm[k])
                fam[i]["p_bh"] = fnum(bh[k])
        out.extend(fam)
    return out


def survival(V, days, n_patients, warnings_out):
    from lifelines import CoxPHFitter
    from lifelines.statistics import logrank_test

    death = V["death"]
    timed = (days.notna() & death.notna() & (days >= 0)).to_numpy(bool)
    left_out = n_patients - int(timed.sum())
    if left_out:
        warnings_out.append(
            f"survival: {left_out} patient(s) lacking hand_xray_date, death, death_date (deaths) "
            "or last_followup_date (survivors), or with an end date before hand_xray_date, were left out")
    t_all = days.to_numpy(float, na_value=np.nan) / 365.25
    e_all = death.to_numpy(float, na_value=np.nan)
    out = []
    for ex in HAND + SPINE:
        g = V[ex]
        keep = timed & g.notna().to_numpy(bool)
        t = t_all[keep]; ev = e_all[keep].astype(int)
        gg = g.to_numpy(bool, na_value=False)[keep].astype(int)
        r = dict(id=f"survival:{ex}:death", exposure=ex, n=int(len(t)), events=int(ev.sum()),
                 test="not_computable", p_logrank=None, hazard_ratio=None, hr_ci_low=None,
                 hr_ci_high=None, p_wald=None, p_lr=None)
        n1 = int(gg.sum())
        if 0 < n1 < len(gg) and ev.sum() > 0:
            m = gg == 1
            lr = logrank_test(t[m], t[~m], event_observed_A=ev[m], event_observed_B=ev[~m])
            r["p_logrank"] = fnum(lr.p_value)
            r["test"] = "log_rank_cox"
            ev1 = int(ev[m].sum())
            if 0 < ev1 < ev.sum():
                df = pd.DataFrame({"T": t, "E": ev, "x": gg.astype(float)})
                cph = CoxPHFitter()
                # lifelines' default stop (precision 1e-7, damped steps, and it
                # stops before applying the last step) leaves beta ~1e-4 from
                # the MLE; tighten it to get close to coxph.
                cph.fit(df, duration_col="T", event_col="E",
                        fit_options={"precision": 1e-18, "r_precision": 1e-15})
                s = cph.summary.loc["x"]
                r["hazard_ratio"] = fnum(s["exp(coef)"])
                r["hr_ci_low"] = fnum(s["exp(coef) lower 95%"])
                r["hr_ci_high"] = fnum(s["exp(coef) upper 95%"])
                r["p_wald"] = fnum(s["p"])
                r["p_lr"] = fnum(cph.log_likelihood_ratio_test().p_value)
        out.append(r)
    return out


class Enc(json.JSONEncoder):
    def default(self, o):
        if isinstance(o, np.integer):
            return int(o)
        if isinstance(o, np.floating):
            return fnum(o)
        if isinstance(o, np.bool_):
            return bool(o)
        return super().default(o)


def main():
    if len(sys.argv) != 3:
        print("usage: python3 analysis.py BUNDLE_DIR OUT.json", file=sys.stderr)
        sys.exit(2)
    bundle, out_path = sys.argv[1], sys.argv[2]
    warnings.simplefilter("ignore")
    raw, sep = read_bundle(bundle)
    V, days, n = derive(raw, sep)
    del raw
    warnings_out = []
    everyone = pd.Series(True, index=V["death"].index)
    result = {
        "format": "sclerad-results/1",
        "software": {"name": "sclerad-bench-python",
                     "version": "python %s scipy %s statsmodels %s lifelines %s pandas %s" % (
                         sys.version.split()[0], __import__("scipy").__version__,
                         __import__("statsmodels").__version__,
                         __import__("lifelines").__version__, pd.__version__)},
        "input": {"path": bundle, "patients": n},
        "population": population(V, everyone),
        "population_by_subset": {
            "lcssc": population(V, (V["subset_dcssc"] == False).fillna(False).astype(bool)),  # noqa: E712
            "dcssc": population(V, (V["subset_dcssc"] == True).fillna(False).astype(bool)),  # noqa: E712
        },
        "prevalence": [prevalence(V, v) for v in HAND + SPINE + CLINICAL_BINARY],
        "comparisons": comparisons(V),
        "survival": survival(V, days, n, warnings_out),
        "agreement": [],
        "warnings": warnings_out,
    }
    # json writes floats with repr(): the shortest round-trip form (17 sig. digits at most)
    with open(out_path, "w") as f:
        json.dump(result, f, indent=2, cls=Enc, allow_nan=False)
        f.write("\n")


if __name__ == "__main__":
    main()
