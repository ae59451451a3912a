//! Table 1: every clinical variable of the setting `table1_variables` that
//! the analysed patients carry, by cutaneous subset and overall, with the
//! subset comparison chosen by the plan's rules (`docs/analysis-plan.md`,
//! "Table 1").

use sclerad_model::{CtType, Subset};
use sclerad_stats::{chisq_test, fisher_exact, fisher_exact_rxc, welch_t_test, wilcoxon_rank_sum};
use serde::Serialize;

use crate::analyze::shapiro_p;
use crate::results::{finite, TestName};
use crate::settings::Settings;
use crate::variables::Subject;

/// The variables Table 1 can show, in the order the default shows them:
/// what the setting `table1_variables` may name.
pub const TABLE1_VARIABLES: &[&str] = &[
    "age_years",
    "sex_female",
    "disease_duration_years",
    "mrss",
    "digital_ulcers",
    "ild_ct",
    "restrictive_syndrome",
    "fvc_pct_pred",
    "tlc_pct_pred",
    "dlco_pct_pred",
    "pah",
    "mpap_mmhg",
    "pawp_mmhg",
    "pvr_wu",
    "anti_centromere",
    "anti_scl70",
    "anti_rnap3",
    "death",
    "ct_type",
];

/// What kind of summary a Table 1 row gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Table1Kind {
    /// Yes/no: a count and its percent of the patients with a value.
    Binary,
    /// A number: mean, SD, median and quartiles.
    Continuous,
    /// One of a few categories: a count per level.
    Categorical,
}

/// One group's summary of a Table 1 variable (the fields of its kind; the
/// others null).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Table1Group {
    /// Patients of the group with a value.
    pub n: usize,
    /// Patients of the group without one.
    pub n_missing: usize,
    /// Binary: patients with "yes".
    pub count: Option<usize>,
    /// Binary: `count` in percent of `n`.
    pub percent: Option<f64>,
    /// Continuous: mean.
    pub mean: Option<f64>,
    /// Continuous: standard deviation (n − 1).
    pub sd: Option<f64>,
    /// Continuous: median (R's `quantile`, type 7).
    pub median: Option<f64>,
    /// Continuous: first quartile.
    pub q1: Option<f64>,
    /// Continuous: third quartile.
    pub q3: Option<f64>,
    /// Categorical: patients per level, in the order of `levels`.
    pub counts: Option<Vec<usize>>,
}

/// A row of Table 1.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Table1Row {
    /// The variable (a name of [`TABLE1_VARIABLES`]).
    pub variable: String,
    /// Its kind.
    pub kind: Table1Kind,
    /// Categorical: the levels found, in the vocabulary's order.
    pub levels: Option<Vec<String>>,
    /// lcSSc patients.
    pub lcssc: Table1Group,
    /// dcSSc patients.
    pub dcssc: Table1Group,
    /// Every analysed patient.
    pub overall: Table1Group,
    /// The test comparing dcSSc with lcSSc: for a binary or categorical
    /// variable, chi-square (no continuity correction beyond the `yates`
    /// setting's, which applies to 2 × 2 tables) when every expected count
    /// is at least `min_expected_count`, else Fisher's exact test (R × C
    /// when the table is larger than 2 × 2); for a continuous one, Welch's
    /// t-test when both groups' Shapiro–Wilk p are at least
    /// `normality_alpha`, else Mann–Whitney.
    pub test: TestName,
    /// That test's p-value.
    pub p_value: Option<f64>,
    /// Every expected count of the subset × value table (binary and
    /// categorical), its smallest.
    pub min_expected: Option<f64>,
}

/// A variable's value for one subject.
enum Value {
    Binary(Option<bool>),
    Continuous(Option<f64>),
    Categorical(Option<usize>),
}

const CT_TYPES: [CtType; 3] = [
    CtType::Thoracic,
    CtType::ThoracoAbdominoPelvic,
    CtType::Lumbar,
];

fn value(variable: &str, s: &Subject<'_>) -> Option<Value> {
    let (p, d) = (s.patient, s.derived);
    let a = &p.acr_eular;
    Some(match variable {
        "age_years" => Value::Continuous(d.age_years),
        "disease_duration_years" => Value::Continuous(d.disease_duration_years),
        "mrss" => Value::Continuous(p.mrss.map(f64::from)),
        "fvc_pct_pred" => Value::Continuous(p.fvc_pct_pred),
        "tlc_pct_pred" => Value::Continuous(p.tlc_pct_pred),
        "dlco_pct_pred" => Value::Continuous(p.dlco_pct_pred),
        "mpap_mmhg" => Value::Continuous(p.mpap_mmhg),
        "pawp_mmhg" => Value::Continuous(p.pawp_mmhg),
        "pvr_wu" => Value::Continuous(p.pvr_wu),
        "sex_female" => Value::Binary(Some(p.sex == sclerad_model::Sex::Female)),
        "digital_ulcers" => Value::Binary(p.digital_ulcers),
        "ild_ct" => Value::Binary(p.ild_ct),
        "restrictive_syndrome" => Value::Binary(d.restrictive_syndrome),
        "pah" => Value::Binary(p.pah),
        "death" => Value::Binary(p.death),
        "anti_centromere" => Value::Binary(a.anti_centromere),
        "anti_scl70" => Value::Binary(a.anti_scl70),
        "anti_rnap3" => Value::Binary(a.anti_rnap3),
        "ct_type" => Value::Categorical(
            p.ct_type
                .and_then(|t| CT_TYPES.iter().position(|k| *k == t)),
        ),
        _ => return None,
    })
}

/// The rows of Table 1 for `subjects` under `settings`: a row per variable
/// of the setting that at least one subject has a value of.
pub(crate) fn table1(subjects: &[Subject<'_>], settings: &Settings) -> Vec<Table1Row> {
    settings
        .table1_variables
        .iter()
        .filter_map(|v| row(v, subjects, settings))
        .collect()
}

fn diffuse(s: &Subject<'_>) -> bool {
    s.patient.subset == Subset::Diffuse
}

fn empty_group(n: usize, n_missing: usize) -> Table1Group {
    Table1Group {
        n,
        n_missing,
        count: None,
        percent: None,
        mean: None,
        sd: None,
        median: None,
        q1: None,
        q3: None,
        counts: None,
    }
}

fn row(variable: &str, subjects: &[Subject<'_>], settings: &Settings) -> Option<Table1Row> {
    let values: Vec<(bool, Value)> = subjects
        .iter()
        .map(|s| Some((diffuse(s), value(variable, s)?)))
        .collect::<Option<_>>()?;
    let kind = match values.first().map(|(_, v)| v) {
        Some(Value::Binary(_)) | None => Table1Kind::Binary,
        Some(Value::Continuous(_)) => Table1Kind::Continuous,
        Some(Value::Categorical(_)) => Table1Kind::Categorical,
    };
    match kind {
        Table1Kind::Binary => {
            let v: Vec<(bool, Option<bool>)> = values
                .into_iter()
                .map(|(g, v)| (g, if let Value::Binary(b) = v { b } else { None }))
                .collect();
            binary_row(variable, &v, settings)
        }
        Table1Kind::Continuous => {
            let v: Vec<(bool, Option<f64>)> = values
                .into_iter()
                .map(|(g, v)| {
                    (
                        g,
                        if let Value::Continuous(x) = v {
                            x
                        } else {
                            None
                        },
                    )
                })
                .collect();
            continuous_row(variable, &v, settings)
        }
        Table1Kind::Categorical => {
            let v: Vec<(bool, Option<usize>)> = values
                .into_iter()
                .map(|(g, v)| {
                    (
                        g,
                        if let Value::Categorical(k) = v {
                            k
                        } else {
                            None
                        },
                    )
                })
                .collect();
            categorical_row(variable, &v, settings)
        }
    }
}

/// The subset × value table's test: chi-square when every expected count
/// reaches the setting, else Fisher's; `rows` = [dcSSc, lcSSc].
fn table_test(rows: &[Vec<u64>], settings: &Settings) -> (TestName, Option<f64>, Option<f64>) {
    // Columns no patient falls in take no part.
    let keep: Vec<usize> = (0..rows[0].len())
        .filter(|&j| rows.iter().any(|r| r[j] > 0))
        .collect();
    let rows: Vec<Vec<u64>> = rows
        .iter()
        .map(|r| keep.iter().map(|&j| r[j]).collect())
        .collect();
    if keep.len() < 2 || rows.iter().any(|r| r.iter().sum::<u64>() == 0) {
        return (TestName::NotComputable, None, None);
    }
    let chi = chisq_test(&rows, settings.yates).ok();
    let min_expected = chi
        .as_ref()
        .and_then(|c| c.expected.iter().flatten().copied().reduce(f64::min))
        .and_then(finite);
    if min_expected.is_some_and(|m| m >= settings.min_expected_count) {
        let p = chi.map(|c| c.p_value).and_then(finite);
        return (
            if p.is_some() {
                TestName::ChiSquare
            } else {
                TestName::NotComputable
            },
            p,
            min_expected,
        );
    }
    let p = if keep.len() == 2 {
        fisher_exact(rows[0][0], rows[0][1], rows[1][0], rows[1][1])
            .ok()
            .map(|f| f.p_value)
    } else {
        fisher_exact_rxc(&rows).ok()
    }
    .and_then(finite);
    (
        if p.is_some() {
            TestName::FisherExact
        } else {
            TestName::NotComputable
        },
        p,
        min_expected,
    )
}

fn binary_group(values: &[Option<bool>]) -> Table1Group {
    let n = values.iter().filter(|v| v.is_some()).count();
    let count = values.iter().filter(|v| **v == Some(true)).count();
    Table1Group {
        count: Some(count),
        percent: (n > 0).then(|| 100.0 * count as f64 / n as f64),
        ..empty_group(n, values.len() - n)
    }
}

fn binary_row(
    variable: &str,
    v: &[(bool, Option<bool>)],
    settings: &Settings,
) -> Option<Table1Row> {
    if v.iter().all(|(_, b)| b.is_none()) {
        return None;
    }
    let of = |g: Option<bool>| -> Vec<Option<bool>> {
        v.iter()
            .filter(|(d, _)| g.is_none_or(|g| *d == g))
            .map(|(_, b)| *b)
            .collect()
    };
    let (dc, lc, all) = (
        binary_group(&of(Some(true))),
        binary_group(&of(Some(false))),
        binary_group(&of(None)),
    );
    let count = |g: &Table1Group| g.count.unwrap_or(0) as u64;
    let rows = vec![
        vec![count(&dc), (dc.n as u64) - count(&dc)],
        vec![count(&lc), (lc.n as u64) - count(&lc)],
    ];
    let (test, p_value, min_expected) = table_test(&rows, settings);
    Some(Table1Row {
        variable: variable.to_string(),
        kind: Table1Kind::Binary,
        levels: None,
        lcssc: lc,
        dcssc: dc,
        overall: all,
        test,
        p_value,
        min_expected,
    })
}

fn continuous_group(values: &[Option<f64>]) -> (Table1Group, Vec<f64>) {
    let x: Vec<f64> = values.iter().filter_map(|v| *v).collect();
    let (mean, sd) = crate::analyze::mean_sd(&x);
    let [q1, median, q3] = crate::analyze::quartiles(&x);
    (
        Table1Group {
            mean,
            sd,
            median,
            q1,
            q3,
            ..empty_group(x.len(), values.len() - x.len())
        },
        x,
    )
}

fn continuous_row(
    variable: &str,
    v: &[(bool, Option<f64>)],
    settings: &Settings,
) -> Option<Table1Row> {
    if v.iter().all(|(_, x)| x.is_none()) {
        return None;
    }
    let of = |g: Option<bool>| -> Vec<Option<f64>> {
        v.iter()
            .filter(|(d, _)| g.is_none_or(|g| *d == g))
            .map(|(_, x)| *x)
            .collect()
    };
    let (dc, x) = continuous_group(&of(Some(true)));
    let (lc, y) = continuous_group(&of(Some(false)));
    let (all, _) = continuous_group(&of(None));
    let (test, p_value) = if x.len() < 2 || y.len() < 2 {
        (TestName::NotComputable, None)
    } else {
        let normal = matches!((shapiro_p(&x), shapiro_p(&y)), (Some(px), Some(py)) if px >= settings.normality_alpha && py >= settings.normality_alpha);
        let p = if normal {
            welch_t_test(&x, &y).ok().map(|t| t.p_value)
        } else {
            wilcoxon_rank_sum(&x, &y).ok().map(|r| r.p_value)
        }
        .and_then(finite);
        match (p, normal) {
            (None, _) => (TestName::NotComputable, None),
            (Some(p), true) => (TestName::WelchT, Some(p)),
            (Some(p), false) => (TestName::MannWhitney, Some(p)),
        }
    };
    Some(Table1Row {
        variable: variable.to_string(),
        kind: Table1Kind::Continuous,
        levels: None,
        lcssc: lc,
        dcssc: dc,
        overall: all,
        test,
        p_value,
        min_expected: None,
    })
}

fn categorical_row(
    variable: &str,
    v: &[(bool, Option<usize>)],
    settings: &Settings,
) -> Option<Table1Row> {
    // The levels found, in the vocabulary's order.
    let found: Vec<usize> = (0..CT_TYPES.len())
        .filter(|k| v.iter().any(|(_, x)| *x == Some(*k)))
        .collect();
    if found.is_empty() {
        return None;
    }
    let group = |g: Option<bool>| -> Table1Group {
        let values: Vec<Option<usize>> = v
            .iter()
            .filter(|(d, _)| g.is_none_or(|g| *d == g))
            .map(|(_, x)| *x)
            .collect();
        let n = values.iter().filter(|x| x.is_some()).count();
        Table1Group {
            counts: Some(
                found
                    .iter()
                    .map(|k| values.iter().filter(|x| **x == Some(*k)).count())
                    .collect(),
            ),
            ..empty_group(n, values.len() - n)
        }
    };
    let (dc, lc, all) = (group(Some(true)), group(Some(false)), group(None));
    let counts =
        |g: &Table1Group| -> Vec<u64> { g.counts.iter().flatten().map(|&c| c as u64).collect() };
    let (test, p_value, min_expected) = table_test(&[counts(&dc), counts(&lc)], settings);
    Some(Table1Row {
        variable: variable.to_string(),
        kind: Table1Kind::Categorical,
        levels: Some(
            found
                .iter()
                .map(|k| CT_TYPES[*k].code().to_string())
                .collect(),
        ),
        lcssc: lc,
        dcssc: dc,
        overall: all,
        test,
        p_value,
        min_expected,
    })
}
