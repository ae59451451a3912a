//! The report as one self-contained HTML file: inline CSS (with a print
//! stylesheet), inline SVG figures, no script, no external resource.

use std::fmt::Write as _;

use sclerad_analysis::results::{
    AgreementKind, BinaryDetail, Comparison, ComparisonDetail, ContinuousDetail, Population,
    Results, SurvivalResult, SurvivalTest, TestName,
};
use sclerad_analysis::{BINARY_CLINICAL, HAND_LESIONS, SPINE_FLAGS};

use crate::figures::{forest_plot, km_figure, prevalence_chart, spine_heatmap};
use crate::format::{
    ci_label, count_percent, escape, family_label, fixed, fraction_percent, kappa, kappa_band,
    mean_sd, median_iqr, p_value, percent, percent_interval, ratio_with_ci, test_name,
    variable_label, variable_phrase, MISSING,
};
use crate::ReportContext;

/// The stylesheet: journal-like tables (rules above and below, none
/// between rows), system fonts only, and a print stylesheet for A4.
const CSS: &str = r#"
:root { --ink: #1a1a1a; --muted: #666; --rule: #1a1a1a; --light: #d9d9d9; --accent: #1f3b73; }
* { box-sizing: border-box; }
html { font-size: 15px; }
body { font-family: Charter, "Bitstream Charter", "Sitka Text", Cambria, Georgia, "Times New Roman", serif;
  color: var(--ink); background: #fff; line-height: 1.45; max-width: 1060px; margin: 2rem auto 4rem; padding: 0 1.5rem; }
header { border-bottom: 3px double var(--rule); padding-bottom: .8rem; margin-bottom: 1.2rem; }
h1 { font-size: 1.85rem; font-weight: normal; margin: 0 0 .35rem; line-height: 1.2; }
.subtitle { margin: 0; color: var(--muted); font-size: .95rem; }
th.level { padding-left: 1.6rem; font-weight: normal; }
h2 { font-size: 1.3rem; font-weight: bold; margin: 2.4rem 0 .6rem; padding-bottom: .2rem; border-bottom: 1px solid var(--rule); }
h3 { font-size: 1.05rem; margin: 1.8rem 0 .4rem; }
p { margin: .4rem 0 .8rem; }
a { color: var(--accent); }
nav.toc { font-size: .9rem; columns: 2; column-gap: 2rem; margin: 0 0 1rem; }
nav.toc ol { margin: 0; padding-left: 1.4rem; }
.table-wrap { overflow-x: auto; margin: .5rem 0 1.4rem; }
table { border-collapse: collapse; font-family: "Helvetica Neue", Helvetica, Arial, "Liberation Sans", sans-serif;
  font-size: .8rem; font-variant-numeric: tabular-nums; line-height: 1.3; }
caption { caption-side: top; text-align: left; font-family: inherit; font-size: .85rem; padding: 0 0 .4rem; }
caption b { font-weight: bold; }
thead { display: table-header-group; }
thead tr:first-child th { border-top: 2px solid var(--rule); }
thead tr:last-child th { border-bottom: 1px solid var(--rule); }
thead th { font-weight: bold; vertical-align: bottom; }
th.span { border-bottom: 1px solid var(--light); text-align: center; }
tbody tr:last-child td, tbody tr:last-child th { border-bottom: 2px solid var(--rule); }
th, td { padding: .22rem .45rem; text-align: left; vertical-align: top; }
.num { text-align: right; white-space: nowrap; }
tbody th { font-weight: normal; }
tr.group th { font-weight: bold; padding-top: .55rem; }
tr.sub th { padding-left: 1.4rem; }
.id { display: block; font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: .66rem; color: var(--muted); }
.nc { color: var(--muted); font-style: italic; }
.test { white-space: nowrap; }
table.kv th { padding-right: 1.5rem; white-space: nowrap; }
table.kv td { word-break: break-all; }
code, .mono { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: .9em; }
.tfoot { font-size: .75rem; color: #444; margin: -.9rem 0 1.4rem; max-width: 60rem; }
figure { margin: 1rem 0 1.8rem; break-inside: avoid; page-break-inside: avoid; }
figure svg { display: block; max-width: 100%; height: auto; }
figcaption { font-size: .85rem; margin-top: .45rem; max-width: 60rem; }
.km-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(470px, 1fr)); gap: .5rem 1.5rem; }
.km-grid figure { margin: .6rem 0; }
ul.warnings { padding-left: 1.2rem; }
ul.warnings li { margin: .2rem 0; }
.box { border-left: 3px solid #c48a00; background: #fdf8ec; padding: .5rem .9rem; margin: .6rem 0 1rem; }
.methods p { text-align: justify; hyphens: auto; }
footer { margin-top: 3rem; padding-top: .6rem; border-top: 1px solid var(--light); font-size: .8rem; color: var(--muted); }
@media print {
  @page { size: A4; margin: 14mm 12mm 16mm; }
  html { font-size: 10pt; }
  body { max-width: none; margin: 0; padding: 0; }
  nav.toc { display: none; }
  h2, h3 { break-after: avoid; page-break-after: avoid; }
  table.keep, figure { break-inside: avoid; page-break-inside: avoid; }
  tr { break-inside: avoid; page-break-inside: avoid; }
  .table-wrap { overflow: visible; }
  a { color: inherit; text-decoration: none; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  .km-grid { grid-template-columns: 1fr 1fr; }
  .km-grid figure svg { width: 100%; }
}
"#;

/// Section ids and titles, in order (the table of contents).
const SECTIONS: [(&str, &str); 12] = [
    ("provenance", "Data and provenance"),
    ("warnings", "Warnings"),
    ("population", "Patients"),
    ("prevalence", "Prevalence"),
    ("spine-levels", "Spinal calcifications by level"),
    ("comparisons", "Comparisons"),
    ("adjusted", "Adjusted models"),
    ("survival", "Survival"),
    ("agreement", "Reader agreement"),
    ("methods", "Statistical methods"),
    ("settings", "Settings used"),
    ("files", "Tables and figures as files"),
];

/// The HTML being written, with table and figure counters.
struct Doc<'a> {
    out: String,
    results: &'a Results,
    tables: usize,
    figures: usize,
    ci: String,
}

/// The class of a table of `rows` rows: short tables are kept on one
/// printed page (a long one may break, its header repeated).
fn keep(rows: usize) -> &'static str {
    if rows <= 24 {
        "keep"
    } else {
        ""
    }
}

/// Escapes data for HTML (short name for the many uses below).
fn esc(text: &str) -> String {
    escape(text)
}

/// A table cell with a number (right-aligned).
fn num(text: &str) -> String {
    format!("<td class=\"num\">{}</td>", esc(text))
}

/// A plain table cell.
fn td(text: &str) -> String {
    format!("<td>{}</td>", esc(text))
}

impl Doc<'_> {
    fn push(&mut self, html: &str) {
        self.out.push_str(html);
        self.out.push('\n');
    }

    fn section(&mut self, id: &str) {
        let title = SECTIONS
            .iter()
            .find(|(i, _)| *i == id)
            .map_or(id, |(_, t)| t);
        let number = SECTIONS
            .iter()
            .position(|(i, _)| *i == id)
            .map_or(0, |p| p + 1);
        let _ = writeln!(
            self.out,
            "<section id=\"{id}\">\n<h2>{number}. {}</h2>",
            esc(title)
        );
    }

    fn end_section(&mut self) {
        self.push("</section>");
    }

    /// Opens a table with a numbered caption.
    fn table(&mut self, id: &str, caption: &str, class: &str) {
        self.tables += 1;
        let _ = writeln!(
            self.out,
            "<div class=\"table-wrap\">\n<table id=\"{id}\" class=\"{class}\">\n<caption><b>Table {}.</b> {}</caption>",
            self.tables,
            esc(caption)
        );
    }

    fn end_table(&mut self, footnote: Option<&str>) {
        self.push("</tbody>\n</table>\n</div>");
        if let Some(note) = footnote {
            let _ = writeln!(self.out, "<p class=\"tfoot\">{}</p>", esc(note));
        }
    }

    /// A numbered figure around an SVG.
    fn figure(&mut self, id: &str, svg: &str, caption: &str) {
        self.figures += 1;
        let _ = writeln!(
            self.out,
            "<figure id=\"{}\">\n{}<figcaption><b>Figure {}.</b> {}</figcaption>\n</figure>",
            esc(id),
            svg,
            self.figures,
            esc(caption)
        );
    }
}

/// Renders the whole report as one self-contained HTML document.
pub fn render_html(results: &Results, context: &ReportContext) -> String {
    let mut doc = Doc {
        out: String::with_capacity(256 * 1024),
        results,
        tables: 0,
        figures: 0,
        ci: ci_label(results.settings.conf_level),
    };
    let title = if context.title.trim().is_empty() {
        "sclerad analysis report"
    } else {
        context.title.as_str()
    };
    let _ = write!(
        doc.out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"{} {}\">\n<title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        esc(results.software.name),
        esc(results.software.version),
        esc(title)
    );
    let _ = writeln!(
        doc.out,
        "<header>\n<h1>{}</h1>\n<p class=\"subtitle\">Analysis report · {} patients analysed · \
         generated {}by {} {}</p>\n</header>",
        esc(title),
        results.input.patients,
        if context.generated_at.trim().is_empty() {
            String::new()
        } else {
            format!("{} ", esc(&context.generated_at))
        },
        esc(results.software.name),
        esc(results.software.version)
    );
    doc.push("<nav class=\"toc\" aria-label=\"Contents\">\n<ol>");
    for (id, name) in SECTIONS {
        let _ = writeln!(doc.out, "<li><a href=\"#{id}\">{}</a></li>", esc(name));
    }
    doc.push("</ol>\n</nav>");

    provenance(&mut doc, context);
    warnings(&mut doc);
    population(&mut doc);
    prevalence(&mut doc);
    spine_levels(&mut doc);
    comparisons(&mut doc);
    adjusted(&mut doc);
    survival(&mut doc);
    agreement(&mut doc);
    methods(&mut doc);
    settings(&mut doc);
    files(&mut doc);

    let _ = writeln!(
        doc.out,
        "<footer>Generated by {} {} from <span class=\"mono\">{}</span> (SHA-256 <span class=\"mono\">{}</span>). \
         This file is self-contained: it loads nothing from the network.</footer>\n</body>\n</html>",
        esc(results.software.name),
        esc(results.software.version),
        esc(&results.input.path),
        esc(&results.input.sha256)
    );
    doc.out
}

fn provenance(doc: &mut Doc, context: &ReportContext) {
    let r = doc.results;
    doc.section("provenance");
    let reader = |name: &Option<String>, what: &str| match name {
        Some(n) => esc(n),
        None => format!("<span class=\"nc\">no {what} readings (summary columns used)</span>"),
    };
    let excluded_note = if r.settings.exclude_ineligible {
        "outside the imaging window or not meeting ACR/EULAR 2013"
    } else {
        "none left out: the setting exclude_ineligible is off"
    };
    let rows = [
        (
            "Input",
            format!("<span class=\"mono\">{}</span>", esc(&r.input.path)),
        ),
        (
            "SHA-256",
            format!("<span class=\"mono\">{}</span>", esc(&r.input.sha256)),
        ),
        (
            "Software",
            format!("{} {}", esc(r.software.name), esc(r.software.version)),
        ),
        ("Results format", esc(r.format)),
        (
            "Generated",
            if context.generated_at.is_empty() {
                MISSING.to_string()
            } else {
                esc(&context.generated_at)
            },
        ),
        (
            "Patients in the bundle",
            r.input.patients_in_bundle.to_string(),
        ),
        (
            "Patients excluded",
            format!("{} ({})", r.input.excluded_ineligible, esc(excluded_note)),
        ),
        ("Patients analysed", r.input.patients.to_string()),
        (
            "Cutaneous subset",
            format!(
                "{} lcSSc, {} dcSSc",
                r.population.lcssc_n, r.population.dcssc_n
            ),
        ),
        ("Hand radiograph reader", reader(&r.readers.hand, "hand")),
        ("Spinal CT reader", reader(&r.readers.spine, "spine")),
    ];
    doc.push("<table class=\"kv keep\">\n<tbody>");
    for (k, v) in rows {
        let _ = writeln!(
            doc.out,
            "<tr><th scope=\"row\">{}</th><td>{v}</td></tr>",
            esc(k)
        );
    }
    doc.push("</tbody>\n</table>");
    if !context.about.is_empty() {
        doc.push("<div class=\"box\" data-about>\n<h3>About these data</h3>");
        for paragraph in &context.about {
            let _ = writeln!(doc.out, "<p>{}</p>", esc(paragraph));
        }
        doc.push("</div>");
    }
    doc.end_section();
}

fn warnings(doc: &mut Doc) {
    let r = doc.results;
    doc.section("warnings");
    if r.warnings.is_empty() {
        doc.push("<p>The analysis raised no warning.</p>");
    } else {
        doc.push("<div class=\"box\">\n<ul class=\"warnings\">");
        for w in &r.warnings {
            let _ = writeln!(doc.out, "<li>{}</li>", esc(w));
        }
        doc.push("</ul>\n</div>");
    }
    doc.end_section();
}

/// The comparison of the subset family with this outcome.
fn subset_comparison<'a>(results: &'a Results, outcome: &str) -> Option<&'a Comparison> {
    results
        .comparisons
        .iter()
        .find(|c| c.family == "subset" && c.outcome == outcome)
}

/// `p` and test cells of a Table 1 row.
fn p_cells(c: Option<&Comparison>, yates: bool) -> String {
    match c {
        Some(c) if c.test == TestName::NotComputable => {
            format!(
                "<td class=\"num nc\">{MISSING}</td><td class=\"nc\">{}</td>",
                esc(test_name(c.test, yates))
            )
        }
        Some(c) => format!(
            "{}<td class=\"test\">{}</td>",
            num(&p_value(c.p_value)),
            esc(test_name(c.test, yates))
        ),
        None => format!("{}<td></td>", num(MISSING)),
    }
}

fn population(doc: &mut Doc) {
    let r = doc.results;
    let yates = r.settings.yates;
    let (l, d, all) = (
        &r.population_by_subset.lcssc,
        &r.population_by_subset.dcssc,
        &r.population,
    );
    doc.section("population");
    doc.table(
        "table-population",
        "Characteristics of the patients analysed, by cutaneous subset. The p-values compare dcSSc with lcSSc \
         (comparison family subset).",
        "keep",
    );
    let _ = writeln!(
        doc.out,
        "<thead><tr><th>Characteristic</th><th class=\"num\">lcSSc<br>n = {}</th><th class=\"num\">dcSSc<br>n = {}</th>\
         <th class=\"num\">All patients<br>n = {}</th><th class=\"num\"><i>p</i></th><th>Test</th></tr></thead>\n<tbody>",
        l.n, d.n, all.n
    );
    // A value with its own n when some patients lack it.
    let with_n = |text: String, n: usize, of: usize| {
        if n < of && text != MISSING {
            format!("{text} (n = {n})")
        } else {
            text
        }
    };
    let row = |doc: &mut Doc, label: &str, f: &dyn Fn(&Population) -> String, p: String| {
        let _ = writeln!(
            doc.out,
            "<tr><th scope=\"row\">{}</th>{}{}{}{p}</tr>",
            esc(label),
            num(&f(l)),
            num(&f(d)),
            num(&f(all))
        );
    };
    row(
        doc,
        "Age, years, mean ± SD",
        &|p| with_n(mean_sd(p.age_mean, p.age_sd), p.age_n, p.n),
        p_cells(subset_comparison(r, "age_years"), yates),
    );
    row(
        doc,
        "Women, n (%)",
        &|p| count_percent(p.female_n as u64, p.female_percent),
        p_cells(subset_comparison(r, "sex_female"), yates),
    );
    // The duration p-value goes beside the summary its test compares:
    // the medians for Mann–Whitney, the means otherwise.
    let duration = subset_comparison(r, "disease_duration_years");
    let on_median = duration.is_some_and(|c| c.test == TestName::MannWhitney);
    let empty = || "<td></td><td></td>".to_string();
    row(
        doc,
        "Disease duration, years, mean ± SD",
        &|p| with_n(mean_sd(p.duration_mean, p.duration_sd), p.duration_n, p.n),
        if on_median {
            empty()
        } else {
            p_cells(duration, yates)
        },
    );
    row(
        doc,
        "Disease duration, years, median [Q1–Q3]",
        &|p| median_iqr(p.duration_median, p.duration_q1, p.duration_q3),
        if on_median {
            p_cells(duration, yates)
        } else {
            empty()
        },
    );
    // The clinical binaries compared between subsets: counts from the 2×2
    // table (exposed = dcSSc), the overall column from the prevalences.
    for c in r
        .comparisons
        .iter()
        .filter(|c| c.family == "subset" && c.outcome != "sex_female")
    {
        let ComparisonDetail::Binary(b) = &c.detail else {
            continue;
        };
        let overall = r
            .prevalence
            .iter()
            .find(|p| p.variable == c.outcome)
            .map_or(MISSING.to_string(), |p| {
                fraction_percent(p.n as u64, p.denominator as u64)
            });
        let _ = writeln!(
            doc.out,
            "<tr><th scope=\"row\">{}, n/N (%)</th>{}{}{}{}</tr>",
            esc(&variable_label(&c.outcome)),
            num(&fraction_percent(b.c, b.c + b.d)),
            num(&fraction_percent(b.a, b.a + b.b)),
            num(&overall),
            p_cells(Some(c), yates)
        );
    }
    table1_rows(doc);
    doc.end_table(Some(
        "SD: standard deviation (n − 1); Q1–Q3: first and third quartiles. n/N: patients with the feature over \
         patients with a value. Means and medians are over the patients with a value.",
    ));
    doc.end_section();
}

/// The rows of `table1` that the rows above (the subset family's) do not
/// already give: clinical measures, antibodies, the CT type.
fn table1_rows(doc: &mut Doc) {
    use sclerad_analysis::table1::{Table1Group, Table1Kind};
    let r = doc.results;
    let yates = r.settings.yates;
    let shown = |v: &str| {
        matches!(v, "age_years" | "sex_female" | "disease_duration_years")
            || subset_comparison(r, v).is_some()
    };
    let p = |test: TestName, p: Option<f64>| {
        if test == TestName::NotComputable {
            format!(
                "<td class=\"num nc\">{MISSING}</td><td class=\"nc\">{}</td>",
                esc(test_name(test, yates))
            )
        } else {
            format!(
                "{}<td class=\"test\">{}</td>",
                num(&p_value(p)),
                esc(test_name(test, yates))
            )
        }
    };
    let empty = || "<td></td><td></td>".to_string();
    // A summary with the group's n when some of its patients lack a value.
    let with_n = |text: String, g: &Table1Group| {
        if g.n_missing > 0 && text != MISSING {
            format!("{text} (n = {})", g.n)
        } else {
            text
        }
    };
    for row in r.table1.iter().filter(|row| !shown(&row.variable)) {
        let label = esc(&variable_label(&row.variable));
        let groups = [&row.lcssc, &row.dcssc, &row.overall];
        let cells = |f: &dyn Fn(&Table1Group) -> String| -> String {
            groups.iter().map(|g| num(&f(g))).collect()
        };
        match row.kind {
            Table1Kind::Binary => {
                let _ = writeln!(
                    doc.out,
                    "<tr data-table1=\"{}\"><th scope=\"row\">{label}, n/N (%)</th>{}{}</tr>",
                    esc(&row.variable),
                    cells(&|g| fraction_percent(g.count.unwrap_or(0) as u64, g.n as u64)),
                    p(row.test, row.p_value)
                );
            }
            Table1Kind::Continuous => {
                let on_median = row.test == TestName::MannWhitney;
                let _ = writeln!(
                    doc.out,
                    "<tr data-table1=\"{}\"><th scope=\"row\">{label}, mean ± SD</th>{}{}</tr>",
                    esc(&row.variable),
                    cells(&|g| with_n(mean_sd(g.mean, g.sd), g)),
                    if on_median {
                        empty()
                    } else {
                        p(row.test, row.p_value)
                    }
                );
                let _ = writeln!(
                    doc.out,
                    "<tr><th scope=\"row\">{label}, median [Q1–Q3]</th>{}{}</tr>",
                    cells(&|g| median_iqr(g.median, g.q1, g.q3)),
                    if on_median {
                        p(row.test, row.p_value)
                    } else {
                        empty()
                    }
                );
            }
            Table1Kind::Categorical => {
                let _ = writeln!(
                    doc.out,
                    "<tr data-table1=\"{}\"><th scope=\"row\">{label}, n/N (%)</th><td></td><td></td><td></td>{}</tr>",
                    esc(&row.variable),
                    p(row.test, row.p_value)
                );
                for (k, level) in row.levels.iter().flatten().enumerate() {
                    let _ = writeln!(
                        doc.out,
                        "<tr><th scope=\"row\" class=\"level\">{}</th>{}<td></td><td></td></tr>",
                        esc(&variable_label(level)),
                        cells(&|g| {
                            let count = g
                                .counts
                                .as_ref()
                                .and_then(|c| c.get(k))
                                .copied()
                                .unwrap_or(0);
                            fraction_percent(count as u64, g.n as u64)
                        })
                    );
                }
            }
        }
    }
}

const GROUPS: [(&str, &[&str]); 3] = [
    ("Hand radiograph", HAND_LESIONS),
    ("Spinal CT", &SPINE_FLAGS),
    ("Clinical", &BINARY_CLINICAL),
];

fn prevalence(doc: &mut Doc) {
    let r = doc.results;
    let ci = doc.ci.clone();
    doc.section("prevalence");
    if r.prevalence.is_empty() {
        doc.push("<p class=\"nc\">No prevalence was computed.</p>");
        doc.end_section();
        return;
    }
    doc.table(
        "table-prevalence",
        &format!("Prevalence of each finding, with its {ci} (Wilson score interval, no continuity correction)."),
        keep(r.prevalence.len()),
    );
    let _ = writeln!(
        doc.out,
        "<thead><tr><th>Finding</th><th class=\"num\">n/N</th><th class=\"num\">%</th><th class=\"num\">{}</th></tr></thead>\n<tbody>",
        esc(&ci)
    );
    let other: Vec<&str> = r
        .prevalence
        .iter()
        .map(|p| p.variable.as_str())
        .filter(|v| !GROUPS.iter().any(|(_, names)| names.contains(v)))
        .collect();
    let groups = GROUPS
        .iter()
        .map(|(g, names)| (*g, names.to_vec()))
        .chain(std::iter::once(("Other", other)));
    for (group, names) in groups {
        let items: Vec<_> = r
            .prevalence
            .iter()
            .filter(|p| names.contains(&p.variable.as_str()))
            .collect();
        if items.is_empty() {
            continue;
        }
        let _ = writeln!(
            doc.out,
            "<tr class=\"group\"><th colspan=\"4\">{}</th></tr>",
            esc(group)
        );
        for p in items {
            let _ = writeln!(
                doc.out,
                "<tr class=\"sub\"><th scope=\"row\">{}</th>{}{}{}</tr>",
                esc(&variable_label(&p.variable)),
                num(&format!("{}/{}", p.n, p.denominator)),
                num(&percent(p.percent)),
                num(&percent_interval(p.ci_low, p.ci_high))
            );
        }
    }
    doc.end_table(Some(
        "N: patients with a value for the finding (missing values are left out).",
    ));
    let svg = prevalence_chart(r);
    doc.figure(
        "fig-prevalence",
        &svg,
        &format!("Prevalence of each finding; bars show the percent of patients, whiskers the {ci} (Wilson)."),
    );
    doc.end_section();
}

fn spine_levels(doc: &mut Doc) {
    let r = doc.results;
    doc.section("spine-levels");
    let svg = spine_heatmap(r);
    doc.figure(
        "fig-spine",
        &svg,
        "Spinal calcifications by vertebral level (rows, C1 to S1) and segment (columns), from the CT readings. \
         Each cell gives the patients with a calcification at that level and segment over the patients whose CT \
         showed the level; the colour is that share. Hatched cells: no CT showed the level — not seen, which is \
         not the same as absent. Full figures with Wilson intervals are in level_prevalence.csv.",
    );
    doc.end_section();
}

/// Families in the plan's order, then any other in order of appearance.
fn families(results: &Results) -> Vec<String> {
    let mut out: Vec<String> = [
        "subset",
        "hand_duration",
        "hand_ulcers",
        "axial_peripheral",
        "prognosis",
    ]
    .iter()
    .filter(|f| results.comparisons.iter().any(|c| c.family == **f))
    .map(|f| f.to_string())
    .collect();
    for c in &results.comparisons {
        if !out.contains(&c.family) {
            out.push(c.family.clone());
        }
    }
    out
}

/// Names of the two groups of a family.
fn group_names(family: &str) -> (&'static str, &'static str) {
    match family {
        "subset" => ("dcSSc", "lcSSc"),
        "hand_duration" | "hand_ulcers" | "axial_peripheral" | "prognosis" => {
            ("Lesion present", "Lesion absent")
        }
        _ => ("Exposed", "Not exposed"),
    }
}

/// A group name inside a sentence (`Lesion present` → `lesion present`;
/// subset names keep their case).
fn in_sentence(name: &str) -> String {
    if name.ends_with("SSc") {
        name.to_string()
    } else {
        name.to_lowercase()
    }
}

/// What the first column of a comparison table shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LabelMode {
    /// Every row has the same exposure: show the outcome.
    Outcome,
    /// Every row has the same outcome: show the exposure.
    Exposure,
    /// Both vary: `exposure → outcome`.
    Both,
}

impl LabelMode {
    /// The mode of these comparisons, and the sentence naming what they share.
    fn of(rows: &[&Comparison]) -> (LabelMode, String) {
        let same = |f: fn(&Comparison) -> &str| rows.iter().all(|c| f(c) == f(rows[0]));
        match rows.first() {
            Some(first) if same(|c| c.exposure.as_str()) && !same(|c| c.outcome.as_str()) => (
                LabelMode::Outcome,
                format!(" Exposure: {}.", variable_label(&first.exposure)),
            ),
            Some(first) if same(|c| c.outcome.as_str()) && !same(|c| c.exposure.as_str()) => (
                LabelMode::Exposure,
                format!(" Outcome: {}.", variable_label(&first.outcome)),
            ),
            _ => (LabelMode::Both, String::new()),
        }
    }

    /// The header of the first column.
    fn header(self) -> &'static str {
        match self {
            LabelMode::Outcome => "Outcome",
            LabelMode::Exposure => "Exposure",
            LabelMode::Both => "Exposure → outcome",
        }
    }

    /// The first cell of a comparison row: label and the id (breakable at
    /// its colons).
    fn cell(self, c: &Comparison) -> String {
        let label = match self {
            LabelMode::Outcome => variable_label(&c.outcome),
            LabelMode::Exposure => variable_label(&c.exposure),
            LabelMode::Both => format!(
                "{} → {}",
                variable_label(&c.exposure),
                variable_label(&c.outcome)
            ),
        };
        format!(
            "<th scope=\"row\">{}<span class=\"id\">{}</span></th>",
            esc(&label),
            esc(&c.id).replace(':', ":<wbr>")
        )
    }
}

/// The test and p-value cells shared by both kinds of comparison.
fn test_cells(c: &Comparison, yates: bool) -> String {
    if c.test == TestName::NotComputable {
        return format!(
            "<td class=\"nc\">not computable</td><td class=\"num nc\">{m}</td><td class=\"num nc\">{m}</td><td class=\"num nc\">{m}</td>",
            m = MISSING
        );
    }
    format!(
        "<td class=\"test\">{}</td>{}{}{}",
        esc(test_name(c.test, yates)),
        num(&p_value(c.p_value)),
        num(&p_value(c.p_holm)),
        num(&p_value(c.p_bh))
    )
}

fn binary_table(doc: &mut Doc, family: &str, rows: &[(&Comparison, &BinaryDetail)]) {
    let yates = doc.results.settings.yates;
    let ci = doc.ci.clone();
    let (exposed, unexposed) = group_names(family);
    let comparisons: Vec<&Comparison> = rows.iter().map(|(c, _)| *c).collect();
    let (mode, shared) = LabelMode::of(&comparisons);
    doc.table(
        &format!("table-{}-binary", crate::figures::file_stem(family)),
        &format!(
            "{} — binary outcomes: 2×2 tables, tests and odds ratios.{shared}",
            family_label(family)
        ),
        keep(rows.len()),
    );
    let _ = writeln!(
        doc.out,
        "<thead><tr><th rowspan=\"2\">{}</th><th rowspan=\"2\" class=\"num\">n</th>\
         <th colspan=\"2\" class=\"span\">{}</th><th colspan=\"2\" class=\"span\">{}</th>\
         <th rowspan=\"2\">Test</th><th rowspan=\"2\" class=\"num\"><i>p</i></th><th rowspan=\"2\" class=\"num\">Holm <i>p</i></th>\
         <th rowspan=\"2\" class=\"num\">BH <i>p</i></th><th rowspan=\"2\" class=\"num\">OR [{}]</th></tr>\n\
         <tr><th class=\"num\">with outcome</th><th class=\"num\">without</th><th class=\"num\">with outcome</th>\
         <th class=\"num\">without</th></tr></thead>\n<tbody>",
        mode.header(),
        esc(exposed),
        esc(unexposed),
        esc(&ci)
    );
    for (c, b) in rows {
        let or = if c.test == TestName::NotComputable {
            format!("<td class=\"num nc\">{MISSING}</td>")
        } else {
            num(&ratio_with_ci(
                b.odds_ratio,
                b.or_ci_low,
                b.or_ci_high,
                b.odds_ratio_infinite,
            ))
        };
        let _ = writeln!(
            doc.out,
            "<tr id=\"{}\"{}>{}{}{}{}{}{}{}{or}</tr>",
            esc(&c.id),
            if c.test == TestName::NotComputable {
                " class=\"nc-row\""
            } else {
                ""
            },
            mode.cell(c),
            num(&c.n.to_string()),
            num(&b.a.to_string()),
            num(&b.b.to_string()),
            num(&b.c.to_string()),
            num(&b.d.to_string()),
            test_cells(c, yates)
        );
    }
    let (exposed, unexposed) = (in_sentence(exposed), in_sentence(unexposed));
    doc.end_table(Some(&format!(
        "Counts are a = {exposed} with the outcome, b = {exposed} without, c = {unexposed} with, d = {unexposed} \
         without (complete cases). p: the test named, chosen by the expected counts; Holm and BH: adjusted within the \
         family. OR: conditional maximum-likelihood odds ratio with its exact {ci} (as R's fisher.test); ∞ when b or \
         c is 0. Not computable: a row or column of the 2×2 table is empty."
    )));
}

fn continuous_table(doc: &mut Doc, family: &str, rows: &[(&Comparison, &ContinuousDetail)]) {
    let yates = doc.results.settings.yates;
    let (exposed, unexposed) = group_names(family);
    let comparisons: Vec<&Comparison> = rows.iter().map(|(c, _)| *c).collect();
    let (mode, shared) = LabelMode::of(&comparisons);
    doc.table(
        &format!("table-{}-continuous", crate::figures::file_stem(family)),
        &format!(
            "{} — continuous outcomes: group summaries and tests.{shared}",
            family_label(family)
        ),
        keep(rows.len()),
    );
    let _ = writeln!(
        doc.out,
        "<thead><tr><th rowspan=\"2\">{}</th>\
         <th colspan=\"3\" class=\"span\">{}</th><th colspan=\"3\" class=\"span\">{}</th>\
         <th rowspan=\"2\" class=\"num\">Shapiro–Wilk <i>p</i></th>\
         <th rowspan=\"2\">Test</th><th rowspan=\"2\" class=\"num\"><i>p</i></th><th rowspan=\"2\" class=\"num\">Holm <i>p</i></th>\
         <th rowspan=\"2\" class=\"num\">BH <i>p</i></th></tr>\n\
         <tr><th class=\"num\">n</th><th class=\"num\">mean ± SD</th><th class=\"num\">median [Q1–Q3]</th>\
         <th class=\"num\">n</th><th class=\"num\">mean ± SD</th><th class=\"num\">median [Q1–Q3]</th></tr></thead>\n<tbody>",
        mode.header(),
        esc(exposed),
        esc(unexposed)
    );
    for (c, d) in rows {
        let shapiro = format!(
            "{} / {}",
            p_value(d.p_shapiro_exposed),
            p_value(d.p_shapiro_unexposed)
        );
        let _ = writeln!(
            doc.out,
            "<tr id=\"{}\"{}>{}{}{}{}{}{}{}{}{}</tr>",
            esc(&c.id),
            if c.test == TestName::NotComputable {
                " class=\"nc-row\""
            } else {
                ""
            },
            mode.cell(c),
            num(&d.n_exposed.to_string()),
            num(&mean_sd(d.mean_exposed, d.sd_exposed)),
            num(&median_iqr(d.median_exposed, d.q1_exposed, d.q3_exposed)),
            num(&d.n_unexposed.to_string()),
            num(&mean_sd(d.mean_unexposed, d.sd_unexposed)),
            num(&median_iqr(
                d.median_unexposed,
                d.q1_unexposed,
                d.q3_unexposed
            )),
            num(&shapiro),
            test_cells(c, yates)
        );
    }
    let (exposed, unexposed) = (in_sentence(exposed), in_sentence(unexposed));
    doc.end_table(Some(&format!(
        "Shapiro–Wilk p: {exposed} / {unexposed} (computed for 3 to 5000 non-constant values); Welch's t-test when \
         both are at least {}, else the Mann–Whitney U test. Not computable: fewer than 2 values in a group.",
        fixed(doc.results.settings.normality_alpha, 2)
    )));
}

fn comparisons(doc: &mut Doc) {
    let r = doc.results;
    doc.section("comparisons");
    if r.comparisons.is_empty() {
        doc.push("<p class=\"nc\">No comparison was computed.</p>");
        doc.end_section();
        return;
    }
    doc.push(
        "<p>Each comparison is named <span class=\"mono\">FAMILY:EXPOSURE:OUTCOME</span> and uses the patients with \
         both values (complete cases). p-values are adjusted for multiplicity within each family (Holm; \
         Benjamini–Hochberg, BH).</p>",
    );
    for family in families(r) {
        let _ = writeln!(
            doc.out,
            "<h3 id=\"family-{}\">{}</h3>",
            esc(&crate::figures::file_stem(&family)),
            esc(&family_label(&family))
        );
        let in_family: Vec<&Comparison> = r
            .comparisons
            .iter()
            .filter(|c| c.family == family)
            .collect();
        let binary: Vec<(&Comparison, &BinaryDetail)> = in_family
            .iter()
            .filter_map(|c| match &c.detail {
                ComparisonDetail::Binary(b) => Some((*c, b)),
                ComparisonDetail::Continuous(_) => None,
            })
            .collect();
        let continuous: Vec<(&Comparison, &ContinuousDetail)> = in_family
            .iter()
            .filter_map(|c| match &c.detail {
                ComparisonDetail::Continuous(d) => Some((*c, d)),
                ComparisonDetail::Binary(_) => None,
            })
            .collect();
        if !continuous.is_empty() {
            continuous_table(doc, &family, &continuous);
        }
        if !binary.is_empty() {
            binary_table(doc, &family, &binary);
        }
        if family == "prognosis" && !binary.is_empty() {
            let svg = forest_plot(r);
            let ci = doc.ci.clone();
            doc.figure(
                "fig-forest",
                &svg,
                &format!(
                    "Odds ratios of ILD, PAH and death with versus without each lesion (prognosis family), with \
                     exact {ci}, on a logarithmic axis; the dashed line is OR = 1. Arrows: a bound beyond the \
                     axis, zero or infinite; an infinite odds ratio has no point (see its text)."
                ),
            );
        }
    }
    doc.end_section();
}

/// The prognosis comparisons beside the same adjusted for the setting's
/// covariates.
fn adjusted(doc: &mut Doc) {
    use sclerad_analysis::adjusted::ModelMethod;
    let r = doc.results;
    let ci = doc.ci.clone();
    doc.section("adjusted");
    if r.adjusted.is_empty() {
        doc.push("<p class=\"nc\">No adjusted model was fitted.</p>");
        doc.end_section();
        return;
    }
    let covariates = r
        .settings
        .adjust_for
        .iter()
        .map(|c| match c.as_str() {
            "age_years" => "age".to_string(),
            "sex_female" => "sex".to_string(),
            "subset_dcssc" => "subset".to_string(),
            "disease_duration_years" => "disease duration".to_string(),
            other => variable_phrase(other),
        })
        .collect::<Vec<_>>()
        .join(", ");
    doc.table(
        "table-adjusted",
        &format!(
            "Prognosis: each exposure's odds ratio with its {ci}, univariable (the 2×2 table's conditional \
             estimate, as Fisher's test) and adjusted for {covariates} (logistic regression over the complete \
             cases; Firth's penalised likelihood where maximum likelihood does not exist)."
        ),
        "",
    );
    let _ = writeln!(
        doc.out,
        "<thead><tr><th>Exposure</th><th>Outcome</th><th class=\"num\">Univariable OR [{}]</th>\
         <th class=\"num\"><i>p</i></th><th class=\"num\">n (events)</th><th class=\"num\">Adjusted OR [{}]</th>\
         <th class=\"num\"><i>p</i></th><th>Method</th></tr></thead>\n<tbody>",
        esc(&ci),
        esc(&ci)
    );
    for m in &r.adjusted {
        let univariable = r.comparisons.iter().find(|c| {
            c.family == "prognosis" && c.exposure == m.exposure && c.outcome == m.outcome
        });
        let (or, p) = match univariable {
            Some(c) => match &c.detail {
                ComparisonDetail::Binary(b) => (
                    ratio_with_ci(
                        b.odds_ratio,
                        b.or_ci_low,
                        b.or_ci_high,
                        b.odds_ratio_infinite,
                    ),
                    p_value(c.p_value),
                ),
                ComparisonDetail::Continuous(_) => (MISSING.to_string(), MISSING.to_string()),
            },
            None => (MISSING.to_string(), MISSING.to_string()),
        };
        let method = match m.method {
            ModelMethod::Logistic => "logistic (ML)".to_string(),
            ModelMethod::Firth => "Firth".to_string(),
            ModelMethod::NotComputable => format!(
                "not computable{}",
                m.note
                    .as_deref()
                    .map(|n| format!(": {n}"))
                    .unwrap_or_default()
            ),
        };
        let _ = writeln!(
            doc.out,
            "<tr data-adjusted=\"{}\"><th scope=\"row\">{}</th>{}{}{}{}{}{}{}</tr>",
            esc(&m.id),
            esc(&variable_label(&m.exposure)),
            td(&variable_label(&m.outcome)),
            num(&or),
            num(&p),
            num(&format!("{} ({})", m.n, m.events)),
            num(&ratio_with_ci(
                m.odds_ratio,
                m.or_ci_low,
                m.or_ci_high,
                false
            )),
            num(&p_value(m.p_value)),
            td(&method)
        );
    }
    doc.end_table(Some(
        "Adjusted p: the likelihood-ratio test of the exposure (logistic), or the penalised likelihood-ratio test \
         (Firth); adjusted intervals: Wald (logistic) or profile penalised likelihood (Firth). Every term of every \
         model is in results.json.",
    ));
    doc.end_section();
}

fn survival(doc: &mut Doc) {
    let r = doc.results;
    let ci = doc.ci.clone();
    doc.section("survival");
    if r.survival.is_empty() {
        doc.push(
            "<p class=\"nc\">No survival analysis: the bundle lacks the dates (hand radiograph, death, last \
             follow-up) it needs.</p>",
        );
        doc.end_section();
        return;
    }
    doc.table(
        "table-survival",
        &format!("Survival from the hand radiograph to death, by exposure: log-rank test and Cox hazard ratio with its {ci}."),
        keep(r.survival.len()),
    );
    let _ = writeln!(
        doc.out,
        "<thead><tr><th>Exposure</th><th class=\"num\">n</th><th class=\"num\">Deaths</th>\
         <th class=\"num\">With: n (deaths)</th><th class=\"num\">Without: n (deaths)</th>\
         <th class=\"num\">Log-rank <i>p</i></th><th class=\"num\">HR [{}]</th><th class=\"num\">Wald <i>p</i></th>\
         <th class=\"num\">LR <i>p</i></th></tr></thead>\n<tbody>",
        esc(&ci)
    );
    for s in &r.survival {
        let group = |g: &str| {
            s.km.iter()
                .find(|c| c.group == g)
                .map_or(MISSING.to_string(), |c| format!("{} ({})", c.n, c.events))
        };
        let hr = if s.test == SurvivalTest::NotComputable {
            "<td class=\"num nc\">not computable</td>".to_string()
        } else if s.hazard_ratio.is_none() {
            "<td class=\"num nc\">not estimable</td>".to_string()
        } else {
            num(&ratio_with_ci(
                s.hazard_ratio,
                s.hr_ci_low,
                s.hr_ci_high,
                false,
            ))
        };
        let _ = writeln!(
            doc.out,
            "<tr id=\"{}\"><th scope=\"row\">{}<span class=\"id\">{}</span></th>{}{}{}{}{}{hr}{}{}</tr>",
            esc(&s.id),
            esc(&variable_label(&s.exposure)),
            esc(&s.id),
            num(&s.n.to_string()),
            num(&s.events.to_string()),
            num(&group("yes")),
            num(&group("no")),
            num(&p_value(s.p_logrank)),
            num(&p_value(s.p_wald)),
            num(&p_value(s.p_lr))
        );
    }
    doc.end_table(Some(
        "Time origin: the hand radiograph; event: death; survivors censored at the last follow-up. HR: Cox \
         proportional hazards model (Efron ties), with versus without the exposure, Wald interval; not estimable \
         when a group has no death; not computable when every patient has the same exposure value.",
    ));
    let plotted: Vec<(&SurvivalResult, String)> = r
        .survival
        .iter()
        .filter_map(|s| km_figure(s, r.settings.conf_level).map(|svg| (s, svg)))
        .collect();
    if !plotted.is_empty() {
        doc.push("<div class=\"km-grid\">");
        for (s, svg) in plotted {
            let id = format!("fig-km-{}", crate::figures::file_stem(&s.exposure));
            doc.figure(
                &id,
                &svg,
                &format!(
                    "Kaplan–Meier survival with and without {} (ticks: censored patients), with the numbers \
                     at risk.",
                    variable_phrase(&s.exposure)
                ),
            );
        }
        doc.push("</div>");
    }
    doc.end_section();
}

fn agreement(doc: &mut Doc) {
    let r = doc.results;
    doc.section("agreement");
    if r.agreement.is_empty() {
        doc.push(
            "<p class=\"nc\">No agreement analysis: no two readers read the same patients.</p>",
        );
        doc.end_section();
        return;
    }
    doc.table(
        "table-agreement",
        "Agreement between readers, and of each reader with their own repeat reading, on each finding (presence or absence).",
        keep(r.agreement.len()),
    );
    let ci = ci_label(r.settings.conf_level);
    let _ = write!(
        doc.out,
        "<thead><tr><th>Finding</th><th>Readers</th><th class=\"num\">n</th><th class=\"num\">Both yes</th>\
         <th class=\"num\">Both no</th><th class=\"num\">Agreement, %</th><th class=\"num\">κ ± SE</th>\
         <th class=\"num\">κ {}</th><th class=\"num\">PABAK</th><th>Landis and Koch</th>\
         <th>Agreement</th></tr></thead>\n<tbody>\n",
        esc(&ci)
    );
    for a in &r.agreement {
        let band = kappa_band(a.kappa);
        let interval = match (a.kappa_ci_low, a.kappa_ci_high) {
            (Some(lo), Some(hi)) => format!("{} to {}", fixed(lo, 2), fixed(hi, 2)),
            _ => MISSING.to_string(),
        };
        let pabak = a.pabak.map_or_else(|| MISSING.to_string(), |p| fixed(p, 2));
        let landis = a
            .landis_koch
            .map_or_else(|| MISSING.to_string(), |l| l.replace('_', " "));
        let readers = match a.kind {
            AgreementKind::Inter => format!("{} vs {}", a.reader_a, a.reader_b),
            AgreementKind::Intra => format!("{}: first vs repeat reading", a.reader_a),
        };
        let _ = writeln!(
            doc.out,
            "<tr><th scope=\"row\">{}</th>{}{}{}{}{}{}{}{}{}{}</tr>",
            esc(&variable_label(&a.variable)),
            td(&readers),
            num(&a.n.to_string()),
            num(&a.both_yes.to_string()),
            num(&a.both_no.to_string()),
            num(&percent(a.percent_agreement)),
            num(&kappa(a.kappa, a.kappa_se)),
            num(&interval),
            num(&pabak),
            td(&landis),
            td(band)
        );
    }
    doc.end_table(Some(
        "n: patients read in both readings. κ: Cohen's kappa with its standard error and interval. PABAK: \
         prevalence- and bias-adjusted kappa, 2 × agreement − 1. Landis and Koch: poor below 0, slight below 0.2, \
         fair below 0.4, moderate below 0.6, substantial below 0.8, almost perfect above. Agreement: poor below 0.4, \
         moderate from 0.4 to 0.7, good above 0.7.",
    ));
    fleiss(doc);
    doc.end_section();
}

/// Fleiss' kappa among three or more readers, when there are.
fn fleiss(doc: &mut Doc) {
    let r = doc.results;
    if r.fleiss.is_empty() {
        return;
    }
    doc.table(
        "table-fleiss",
        "Agreement among three or more readers on each finding: Fleiss' kappa over the patients every reader read.",
        keep(r.fleiss.len()),
    );
    doc.push(
        "<thead><tr><th>Finding</th><th>Readers</th><th class=\"num\">n</th><th class=\"num\">κ ± SE₀</th>\
         <th class=\"num\"><i>p</i></th><th>Landis and Koch</th></tr></thead>\n<tbody>",
    );
    for f in &r.fleiss {
        let k = match f.kappa {
            Some(_) => kappa(f.kappa, f.se),
            None => f.note.clone().unwrap_or_else(|| MISSING.to_string()),
        };
        let _ = writeln!(
            doc.out,
            "<tr data-fleiss=\"{}\"><th scope=\"row\">{}</th>{}{}{}{}{}</tr>",
            esc(&f.variable),
            esc(&variable_label(&f.variable)),
            td(&f.readers.join(", ")),
            num(&f.n.to_string()),
            num(&k),
            num(&p_value(f.p_value)),
            td(f.landis_koch.unwrap_or(MISSING))
        );
    }
    doc.end_table(Some(
        "SE₀: the standard error when kappa is 0 (Fleiss, Nee and Landis 1979), which the p-value's z test uses.",
    ));
}

fn methods(doc: &mut Doc) {
    let r = doc.results;
    let s = &r.settings;
    let ci = doc.ci.clone();
    doc.section("methods");
    let yates = if s.yates {
        "with Yates' continuity correction"
    } else {
        "without continuity correction"
    };
    let paragraphs = [
        format!(
            "Categorical variables are given as n (%) or n/N (%), continuous variables as mean ± standard deviation \
             and median [first–third quartile] (quartiles as R's type 7). Each comparison uses the patients with \
             both values (complete cases). Prevalences are given with the Wilson score {ci} without continuity \
             correction. Spinal calcifications per vertebral level are counted over the patients whose CT showed \
             that level."
        ),
        format!(
            "For binary outcomes, the Pearson chi-square test {yates} was used when every expected count was at \
             least {}, and Fisher's exact test (two-sided) otherwise. Odds ratios are the conditional \
             maximum-likelihood estimates with their exact {ci}, as given by Fisher's exact test.",
            fixed(s.min_expected_count, 0)
        ),
        format!(
            "For continuous outcomes, normality was checked in each group with the Shapiro–Wilk test. Welch's \
             t-test was used when both Shapiro–Wilk p-values were at least {}, and otherwise the Mann–Whitney U \
             test (Wilcoxon rank-sum; exact distribution below 50 values per group without ties, else the normal \
             approximation with continuity and tie correction).",
            fixed(s.normality_alpha, 2)
        ),
        "Within each family of comparisons, p-values were adjusted for multiplicity with the Holm method and with \
         the Benjamini–Hochberg (BH) false discovery rate method."
            .to_string(),
        format!(
            "Survival from the hand radiograph to death (survivors censored at the last follow-up) was estimated \
             with the Kaplan–Meier method and compared with the log-rank test; hazard ratios come from Cox \
             proportional hazards models with Efron's method for ties, with Wald {ci}s and Wald and \
             likelihood-ratio p-values."
        ),
        "Agreement between readers on the presence of each finding is given as percent agreement and Cohen's \
         kappa with its standard error, read as poor (κ < 0.4), moderate (0.4 to 0.7) or good (κ > 0.7)."
            .to_string(),
        format!(
            "All tests are two-sided. Computations were done with {} {}, whose statistics reproduce R 4.x (stats \
             and survival packages). PAH definition: {}.",
            r.software.name, r.software.version, s.pah_definition
        ),
    ];
    doc.push("<div class=\"methods\">");
    for p in paragraphs {
        let _ = writeln!(doc.out, "<p>{}</p>", esc(&p));
    }
    doc.push("</div>");
    doc.end_section();
}

/// The order in which the settings are listed.
const SETTING_ORDER: [&str; 8] = [
    "reader",
    "exclude_ineligible",
    "imaging_window_days",
    "min_expected_count",
    "yates",
    "normality_alpha",
    "conf_level",
    "pah_definition",
];

/// Plain-language meaning of a known setting.
fn setting_meaning(key: &str) -> &'static str {
    match key {
        "yates" => "Yates' continuity correction on the 2×2 chi-square test",
        "min_expected_count" => {
            "Smallest expected count for the chi-square test (else Fisher's exact test)"
        }
        "normality_alpha" => "Shapiro–Wilk threshold for Welch's t-test (else Mann–Whitney)",
        "imaging_window_days" => "Maximum days between the hand radiograph and the CT",
        "exclude_ineligible" => {
            "Leave out patients outside the window or not meeting ACR/EULAR 2013"
        }
        "reader" => "Reader whose readings give the lesion flags",
        "conf_level" => "Confidence level of every interval",
        "pah_definition" => "Definition of PAH",
        _ => "",
    }
}

/// A setting's value as text.
fn setting_value(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "not set (default rule)".to_string(),
        serde_json::Value::Bool(true) => "yes".to_string(),
        serde_json::Value::Bool(false) => "no".to_string(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn settings(doc: &mut Doc) {
    let r = doc.results;
    doc.section("settings");
    doc.table(
        "table-settings",
        "Settings of this analysis (the study settings file, or the plan's defaults).",
        "keep",
    );
    doc.push("<thead><tr><th>Setting</th><th>Value</th><th>Meaning</th></tr></thead>\n<tbody>");
    match serde_json::to_value(&r.settings) {
        Ok(serde_json::Value::Object(map)) => {
            // The known settings in the order of the settings file, then
            // any other alphabetically.
            let mut entries: Vec<(&String, &serde_json::Value)> = map.iter().collect();
            entries.sort_by_key(|(k, _)| {
                SETTING_ORDER
                    .iter()
                    .position(|o| o == k)
                    .unwrap_or(SETTING_ORDER.len())
            });
            for (k, v) in entries {
                let _ = writeln!(
                    doc.out,
                    "<tr><th scope=\"row\" class=\"mono\">{}</th>{}{}</tr>",
                    esc(k),
                    td(&setting_value(v)),
                    td(setting_meaning(k))
                );
            }
        }
        _ => doc
            .push("<tr><td colspan=\"3\" class=\"nc\">The settings could not be listed.</td></tr>"),
    }
    doc.end_table(None);
    doc.end_section();
}

fn files(doc: &mut Doc) {
    doc.section("files");
    doc.push(
        "<p>Every table of this report is also written with full precision as CSV files (population.csv, \
         prevalence.csv, level_prevalence.csv, comparisons.csv, survival.csv, km_points.csv, agreement.csv, \
         table1.csv, adjusted.csv, fleiss.csv) and as \
         one workbook, tables.xlsx; every figure as an SVG file. results.json holds all the numbers.</p>",
    );
    doc.end_section();
}
