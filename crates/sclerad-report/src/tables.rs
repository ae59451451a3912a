//! The exported tables, described once and written both as CSV and as an
//! xlsx workbook. Numbers keep full precision; a missing value is an empty
//! cell. Column names follow `results.json`.

use sclerad_analysis::results::{
    Comparison, ComparisonDetail, KmCurve, Population, Results, SurvivalResult,
};

use crate::format::test_code;

/// One cell of an exported table.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    /// A count.
    Int(u64),
    /// A number, or missing.
    Num(Option<f64>),
    /// Text.
    Text(String),
    /// A yes/no value.
    Bool(bool),
}

impl Cell {
    fn text(s: impl Into<String>) -> Cell {
        Cell::Text(s.into())
    }

    fn count(n: usize) -> Cell {
        Cell::Int(n as u64)
    }

    /// An optional count.
    fn count_opt(n: Option<usize>) -> Cell {
        match n {
            Some(n) => Cell::count(n),
            None => Cell::Num(None),
        }
    }
}

/// One exported table.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    /// File stem and sheet name (`prevalence`).
    pub name: &'static str,
    /// Column names.
    pub header: Vec<&'static str>,
    /// Rows, each as long as the header.
    pub rows: Vec<Vec<Cell>>,
}

/// Every exported table, in a fixed order.
pub(crate) fn tables(results: &Results) -> Vec<Table> {
    vec![
        population(results),
        prevalence(results),
        level_prevalence(results),
        comparisons(results),
        survival(results),
        km_points(results),
        agreement(results),
        table1(results),
        adjusted(results),
        fleiss(results),
    ]
}

/// Table 1 in long form: a row per variable and group (and, for a
/// categorical variable, per level), the test on every row of its variable.
fn table1(results: &Results) -> Table {
    use sclerad_analysis::table1::Table1Kind;
    let mut rows = Vec::new();
    for row in &results.table1 {
        let kind = match row.kind {
            Table1Kind::Binary => "binary",
            Table1Kind::Continuous => "continuous",
            Table1Kind::Categorical => "categorical",
        };
        for (group, g) in [
            ("lcssc", &row.lcssc),
            ("dcssc", &row.dcssc),
            ("overall", &row.overall),
        ] {
            let levels: Vec<(String, Option<usize>)> = match (&row.levels, &g.counts) {
                (Some(levels), Some(counts)) => levels
                    .iter()
                    .zip(counts)
                    .map(|(l, c)| (l.clone(), Some(*c)))
                    .collect(),
                _ => vec![(String::new(), g.count)],
            };
            for (level, count) in levels {
                let percent = match (row.kind, count) {
                    (Table1Kind::Categorical, Some(c)) if g.n > 0 => {
                        Some(100.0 * c as f64 / g.n as f64)
                    }
                    _ => g.percent,
                };
                rows.push(vec![
                    Cell::text(&row.variable),
                    Cell::text(kind),
                    Cell::text(level),
                    Cell::text(group),
                    Cell::count(g.n),
                    Cell::count(g.n_missing),
                    Cell::count_opt(count),
                    Cell::Num(percent),
                    Cell::Num(g.mean),
                    Cell::Num(g.sd),
                    Cell::Num(g.median),
                    Cell::Num(g.q1),
                    Cell::Num(g.q3),
                    Cell::text(test_code(row.test)),
                    Cell::Num(row.p_value),
                ]);
            }
        }
    }
    Table {
        name: "table1",
        header: vec![
            "variable",
            "kind",
            "level",
            "group",
            "n",
            "n_missing",
            "count",
            "percent",
            "mean",
            "sd",
            "median",
            "q1",
            "q3",
            "test",
            "p_value",
        ],
        rows,
    }
}

/// The adjusted models: a row per term, the model's fields on each.
fn adjusted(results: &Results) -> Table {
    use sclerad_analysis::adjusted::ModelMethod;
    let mut rows = Vec::new();
    for m in &results.adjusted {
        let method = match m.method {
            ModelMethod::Logistic => "logistic",
            ModelMethod::Firth => "firth",
            ModelMethod::NotComputable => "not_computable",
        };
        let model = |term: Option<&sclerad_analysis::adjusted::ModelTerm>| {
            vec![
                Cell::text(&m.id),
                Cell::text(&m.exposure),
                Cell::text(&m.outcome),
                Cell::count(m.n),
                Cell::count(m.events),
                Cell::text(method),
                Cell::text(term.map(|t| t.term.as_str()).unwrap_or_default()),
                Cell::Num(term.and_then(|t| t.estimate)),
                Cell::Num(term.and_then(|t| t.se)),
                Cell::Num(term.and_then(|t| t.odds_ratio)),
                Cell::Num(term.and_then(|t| t.ci_low)),
                Cell::Num(term.and_then(|t| t.ci_high)),
                Cell::Num(term.and_then(|t| t.p_wald)),
                Cell::Num(term.and_then(|t| t.p_lr)),
                Cell::Num(m.p_value),
                Cell::Num(m.p_holm),
                Cell::Num(m.p_bh),
                Cell::text(m.note.clone().unwrap_or_default()),
            ]
        };
        if m.terms.is_empty() {
            rows.push(model(None));
        }
        for t in &m.terms {
            rows.push(model(Some(t)));
        }
    }
    Table {
        name: "adjusted",
        header: vec![
            "id",
            "exposure",
            "outcome",
            "n",
            "events",
            "method",
            "term",
            "estimate",
            "se",
            "odds_ratio",
            "ci_low",
            "ci_high",
            "p_wald",
            "p_lr",
            "model_p_value",
            "p_holm",
            "p_bh",
            "note",
        ],
        rows,
    }
}

/// Fleiss' kappa, when three or more readers read a table.
fn fleiss(results: &Results) -> Table {
    Table {
        name: "fleiss",
        header: vec![
            "modality",
            "variable",
            "readers",
            "n",
            "kappa",
            "se",
            "z",
            "p_value",
            "landis_koch",
            "note",
        ],
        rows: results
            .fleiss
            .iter()
            .map(|f| {
                vec![
                    Cell::text(f.modality.code()),
                    Cell::text(&f.variable),
                    Cell::text(f.readers.join(" ")),
                    Cell::count(f.n),
                    Cell::Num(f.kappa),
                    Cell::Num(f.se),
                    Cell::Num(f.z),
                    Cell::Num(f.p_value),
                    Cell::text(f.landis_koch.unwrap_or_default()),
                    Cell::text(f.note.clone().unwrap_or_default()),
                ]
            })
            .collect(),
    }
}

fn population_row(group: &str, p: &Population) -> Vec<Cell> {
    vec![
        Cell::text(group),
        Cell::count(p.n),
        Cell::count(p.age_n),
        Cell::Num(p.age_mean),
        Cell::Num(p.age_sd),
        Cell::count(p.female_n),
        Cell::Num(p.female_percent),
        Cell::count(p.lcssc_n),
        Cell::count(p.dcssc_n),
        Cell::count(p.duration_n),
        Cell::Num(p.duration_mean),
        Cell::Num(p.duration_sd),
        Cell::Num(p.duration_median),
        Cell::Num(p.duration_q1),
        Cell::Num(p.duration_q3),
    ]
}

fn population(results: &Results) -> Table {
    Table {
        name: "population",
        header: vec![
            "group",
            "n",
            "age_n",
            "age_mean",
            "age_sd",
            "female_n",
            "female_percent",
            "lcssc_n",
            "dcssc_n",
            "duration_n",
            "duration_mean",
            "duration_sd",
            "duration_median",
            "duration_q1",
            "duration_q3",
        ],
        rows: vec![
            population_row("all", &results.population),
            population_row("lcssc", &results.population_by_subset.lcssc),
            population_row("dcssc", &results.population_by_subset.dcssc),
        ],
    }
}

fn prevalence(results: &Results) -> Table {
    Table {
        name: "prevalence",
        header: vec![
            "variable",
            "n",
            "denominator",
            "percent",
            "ci_low",
            "ci_high",
        ],
        rows: results
            .prevalence
            .iter()
            .map(|p| {
                vec![
                    Cell::text(&p.variable),
                    Cell::count(p.n),
                    Cell::count(p.denominator),
                    Cell::Num(p.percent),
                    Cell::Num(p.ci_low),
                    Cell::Num(p.ci_high),
                ]
            })
            .collect(),
    }
}

fn level_prevalence(results: &Results) -> Table {
    Table {
        name: "level_prevalence",
        header: vec![
            "variable",
            "level",
            "segment",
            "n",
            "denominator",
            "percent",
            "ci_low",
            "ci_high",
        ],
        rows: results
            .level_prevalence
            .iter()
            .map(|p| {
                vec![
                    Cell::text(&p.variable),
                    Cell::text(&p.level),
                    Cell::text(&p.segment),
                    Cell::count(p.n),
                    Cell::count(p.denominator),
                    Cell::Num(p.percent),
                    Cell::Num(p.ci_low),
                    Cell::Num(p.ci_high),
                ]
            })
            .collect(),
    }
}

/// Columns of `comparisons`: the common ones, the 2×2 ones, the two-group
/// ones.
const COMPARISON_HEADER: [&str; 38] = [
    "id",
    "family",
    "exposure",
    "outcome",
    "outcome_type",
    "n",
    "test",
    "p_value",
    "p_holm",
    "p_bh",
    "a",
    "b",
    "c",
    "d",
    "min_expected",
    "p_chi_square",
    "p_fisher",
    "odds_ratio",
    "or_ci_low",
    "or_ci_high",
    "odds_ratio_infinite",
    "n_exposed",
    "mean_exposed",
    "sd_exposed",
    "median_exposed",
    "q1_exposed",
    "q3_exposed",
    "n_unexposed",
    "mean_unexposed",
    "sd_unexposed",
    "median_unexposed",
    "q1_unexposed",
    "q3_unexposed",
    "p_shapiro_exposed",
    "p_shapiro_unexposed",
    "p_welch",
    "p_mann_whitney",
    "w",
];

fn comparison_row(c: &Comparison) -> Vec<Cell> {
    let mut row = vec![
        Cell::text(&c.id),
        Cell::text(&c.family),
        Cell::text(&c.exposure),
        Cell::text(&c.outcome),
        Cell::text(c.outcome_type),
        Cell::count(c.n),
        Cell::text(test_code(c.test)),
        Cell::Num(c.p_value),
        Cell::Num(c.p_holm),
        Cell::Num(c.p_bh),
    ];
    let empty = |k: usize| std::iter::repeat_n(Cell::Num(None), k);
    match &c.detail {
        ComparisonDetail::Binary(b) => {
            row.extend([
                Cell::Int(b.a),
                Cell::Int(b.b),
                Cell::Int(b.c),
                Cell::Int(b.d),
                Cell::Num(b.min_expected),
                Cell::Num(b.p_chi_square),
                Cell::Num(b.p_fisher),
                Cell::Num(b.odds_ratio),
                Cell::Num(b.or_ci_low),
                Cell::Num(b.or_ci_high),
                Cell::Bool(b.odds_ratio_infinite),
            ]);
            row.extend(empty(17));
        }
        ComparisonDetail::Continuous(d) => {
            row.extend(empty(11));
            row.extend([
                Cell::count(d.n_exposed),
                Cell::Num(d.mean_exposed),
                Cell::Num(d.sd_exposed),
                Cell::Num(d.median_exposed),
                Cell::Num(d.q1_exposed),
                Cell::Num(d.q3_exposed),
                Cell::count(d.n_unexposed),
                Cell::Num(d.mean_unexposed),
                Cell::Num(d.sd_unexposed),
                Cell::Num(d.median_unexposed),
                Cell::Num(d.q1_unexposed),
                Cell::Num(d.q3_unexposed),
                Cell::Num(d.p_shapiro_exposed),
                Cell::Num(d.p_shapiro_unexposed),
                Cell::Num(d.p_welch),
                Cell::Num(d.p_mann_whitney),
                Cell::Num(d.w),
            ]);
        }
    }
    row
}

fn comparisons(results: &Results) -> Table {
    Table {
        name: "comparisons",
        header: COMPARISON_HEADER.to_vec(),
        rows: results.comparisons.iter().map(comparison_row).collect(),
    }
}

/// The curve of one group (`yes` or `no`).
fn curve<'a>(s: &'a SurvivalResult, group: &str) -> Option<&'a KmCurve> {
    s.km.iter().find(|c| c.group == group)
}

fn survival(results: &Results) -> Table {
    Table {
        name: "survival",
        header: vec![
            "id",
            "exposure",
            "n",
            "events",
            "test",
            "p_logrank",
            "hazard_ratio",
            "hr_ci_low",
            "hr_ci_high",
            "p_wald",
            "p_lr",
            "n_exposed",
            "events_exposed",
            "n_unexposed",
            "events_unexposed",
        ],
        rows: results
            .survival
            .iter()
            .map(|s| {
                let yes = curve(s, "yes");
                let no = curve(s, "no");
                vec![
                    Cell::text(&s.id),
                    Cell::text(&s.exposure),
                    Cell::count(s.n),
                    Cell::count(s.events),
                    Cell::text(s.test.code()),
                    Cell::Num(s.p_logrank),
                    Cell::Num(s.hazard_ratio),
                    Cell::Num(s.hr_ci_low),
                    Cell::Num(s.hr_ci_high),
                    Cell::Num(s.p_wald),
                    Cell::Num(s.p_lr),
                    Cell::count_opt(yes.map(|c| c.n)),
                    Cell::count_opt(yes.map(|c| c.events)),
                    Cell::count_opt(no.map(|c| c.n)),
                    Cell::count_opt(no.map(|c| c.events)),
                ]
            })
            .collect(),
    }
}

fn km_points(results: &Results) -> Table {
    let mut rows = Vec::new();
    for s in &results.survival {
        for c in &s.km {
            for p in &c.points {
                rows.push(vec![
                    Cell::text(&s.id),
                    Cell::text(c.group),
                    Cell::Num(Some(p.time)),
                    Cell::Int(p.n_risk),
                    Cell::Int(p.n_event),
                    Cell::Int(p.n_censor),
                    Cell::Num(Some(p.surv)),
                    Cell::Num(p.lower),
                    Cell::Num(p.upper),
                ]);
            }
        }
    }
    Table {
        name: "km_points",
        header: vec![
            "id", "group", "time", "n_risk", "n_event", "n_censor", "surv", "lower", "upper",
        ],
        rows,
    }
}

fn agreement(results: &Results) -> Table {
    Table {
        name: "agreement",
        header: vec![
            "variable",
            "reader_a",
            "reader_b",
            "n",
            "both_yes",
            "both_no",
            "percent_agreement",
            "kappa",
            "kappa_se",
            "kappa_ci_low",
            "kappa_ci_high",
            "pabak",
            "landis_koch",
            "graded_n",
            "weighted_kappa",
            "weighted_kappa_se",
        ],
        rows: results
            .agreement
            .iter()
            .map(|a| {
                vec![
                    Cell::text(&a.variable),
                    Cell::text(&a.reader_a),
                    Cell::text(&a.reader_b),
                    Cell::count(a.n),
                    Cell::count(a.both_yes),
                    Cell::count(a.both_no),
                    Cell::Num(a.percent_agreement),
                    Cell::Num(a.kappa),
                    Cell::Num(a.kappa_se),
                    Cell::Num(a.kappa_ci_low),
                    Cell::Num(a.kappa_ci_high),
                    Cell::Num(a.pabak),
                    Cell::text(a.landis_koch.unwrap_or_default()),
                    Cell::count_opt(a.graded_n),
                    Cell::Num(a.weighted_kappa),
                    Cell::Num(a.weighted_kappa_se),
                ]
            })
            .collect(),
    }
}
