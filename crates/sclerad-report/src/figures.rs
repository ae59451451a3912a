//! The figures of the report, each a standalone SVG document: prevalence bar
//! chart, spine heat map, forest plot of the prognosis family, and
//! Kaplan–Meier curves.

use sclerad_analysis::results::{
    BinaryDetail, Comparison, ComparisonDetail, KmCurve, KmPoint, LevelPrevalence, Results,
    SurvivalResult,
};
use sclerad_analysis::{BINARY_CLINICAL, HAND_LESIONS, SPINE_FLAGS};

use crate::format::{
    ci_label, fraction, level_label, p_phrase, p_value, percent, percent_interval, ratio,
    ratio_with_ci, variable_label, variable_phrase,
};
use crate::svg::{line, mix, nice_ticks, rect, text, text_width, Anchor, El, Svg};

/// Axis, text and rule colours.
const INK: &str = "#1a1a1a";
const GREY: &str = "#6b6b6b";
const GRID: &str = "#e3e3e3";
const AXIS: &str = "#4d4d4d";

/// A figure that only says why there is nothing to draw.
fn placeholder(title: &str, message: &str) -> String {
    let width = 560.0;
    let mut svg = Svg::new(width, 60.0, title, message);
    svg.push(rect(0.5, 0.5, width - 1.0, 59.0, "none").attr("stroke", GRID));
    svg.push(text(width / 2.0, 34.0, message, 13.0, Anchor::Middle).attr("fill", GREY));
    svg.finish()
}

/// The group of a prevalence variable.
fn variable_group(name: &str) -> usize {
    if HAND_LESIONS.contains(&name) {
        0
    } else if SPINE_FLAGS.contains(&name) {
        1
    } else if BINARY_CLINICAL.contains(&name) {
        2
    } else {
        3
    }
}

const GROUP_NAMES: [&str; 4] = ["Hand radiograph", "Spinal CT", "Clinical", "Other"];
const GROUP_COLOURS: [&str; 4] = ["#4e79a7", "#d37a2c", "#7f7f7f", "#8c6bb1"];

/// Horizontal bar chart of every prevalence with its Wilson interval.
pub fn prevalence_chart(results: &Results) -> String {
    let title = "Prevalence of lesions and clinical features";
    if results.prevalence.is_empty() {
        return placeholder(title, "No prevalence was computed.");
    }
    let ci = ci_label(results.settings.conf_level);
    let label_size = 12.0;
    let row_h = 20.0;
    let header_h = 22.0;

    // Rows grouped as hand, spine, clinical, other; results order within.
    let mut groups: Vec<(usize, Vec<usize>)> = Vec::new();
    for g in 0..GROUP_NAMES.len() {
        let items: Vec<usize> = (0..results.prevalence.len())
            .filter(|&i| variable_group(&results.prevalence[i].variable) == g)
            .collect();
        if !items.is_empty() {
            groups.push((g, items));
        }
    }

    let label_w = results
        .prevalence
        .iter()
        .map(|p| text_width(&variable_label(&p.variable), label_size))
        .chain(
            groups
                .iter()
                .map(|(g, _)| text_width(GROUP_NAMES[*g], label_size)),
        )
        .fold(0.0, f64::max);
    let frac_w = results
        .prevalence
        .iter()
        .map(|p| text_width(&fraction(p.n as u64, p.denominator as u64), 11.0))
        .fold(0.0, f64::max);
    let x_label = 12.0;
    let x_frac = x_label + label_w + 14.0 + frac_w;
    let x0 = x_frac + 14.0;
    let plot_w = 360.0;
    let x1 = x0 + plot_w;
    let value_w = text_width("100.0 [100.0–100.0]", 11.0);
    let width = (x1 + 16.0 + value_w + 12.0).ceil();
    let top = 34.0;
    let rows_h: f64 = groups
        .iter()
        .map(|(_, items)| header_h + row_h * items.len() as f64)
        .sum();
    let bottom = top + rows_h;
    let height = bottom + 48.0;
    let x = |pct: f64| x0 + plot_w * pct.clamp(0.0, 100.0) / 100.0;

    let mut svg = Svg::new(
        width,
        height,
        title,
        format!("Percent of patients with each finding, with {ci} (Wilson score interval)."),
    );
    // Column headers.
    svg.push(text(x_frac, 20.0, "n/N", 11.0, Anchor::End).attr("fill", GREY));
    svg.push(text(x1 + 16.0, 20.0, format!("% [{ci}]"), 11.0, Anchor::Start).attr("fill", GREY));
    // Grid and axis.
    for tick in (0..=5).map(|i| f64::from(i) * 20.0) {
        svg.push(line(x(tick), top - 4.0, x(tick), bottom, GRID, 1.0));
        svg.push(line(x(tick), bottom, x(tick), bottom + 4.0, AXIS, 1.0));
        svg.push(text(
            x(tick),
            bottom + 17.0,
            format!("{tick}"),
            11.0,
            Anchor::Middle,
        ));
    }
    svg.push(line(x0, bottom, x1, bottom, AXIS, 1.0));
    svg.push(text(
        (x0 + x1) / 2.0,
        bottom + 36.0,
        format!("Patients, % (bars: {ci})"),
        12.0,
        Anchor::Middle,
    ));

    let mut y = top;
    for (g, items) in &groups {
        svg.push(
            text(
                x_label,
                y + 15.0,
                GROUP_NAMES[*g],
                label_size,
                Anchor::Start,
            )
            .attr("font-weight", "bold"),
        );
        y += header_h;
        for &i in items {
            let p = &results.prevalence[i];
            let cy = y + row_h / 2.0;
            let label = variable_label(&p.variable);
            svg.push(text(
                x_label + 8.0,
                cy + 4.0,
                label.clone(),
                label_size,
                Anchor::Start,
            ));
            svg.push(
                text(
                    x_frac,
                    cy + 4.0,
                    fraction(p.n as u64, p.denominator as u64),
                    11.0,
                    Anchor::End,
                )
                .attr("fill", GREY),
            );
            match p.percent {
                Some(pct) => {
                    svg.push(
                        rect(x0, cy - 6.0, x(pct) - x0, 12.0, GROUP_COLOURS[*g]).title(format!(
                            "{label}: {}/{} = {}% [{ci} {}]",
                            p.n,
                            p.denominator,
                            percent(Some(pct)),
                            percent_interval(p.ci_low, p.ci_high)
                        )),
                    );
                    if let (Some(lo), Some(hi)) = (p.ci_low, p.ci_high) {
                        svg.push(line(x(lo), cy, x(hi), cy, INK, 1.2));
                        svg.push(line(x(lo), cy - 4.0, x(lo), cy + 4.0, INK, 1.2));
                        svg.push(line(x(hi), cy - 4.0, x(hi), cy + 4.0, INK, 1.2));
                    }
                    svg.push(text(
                        x1 + 16.0,
                        cy + 4.0,
                        format!(
                            "{} [{}]",
                            percent(Some(pct)),
                            percent_interval(p.ci_low, p.ci_high)
                        ),
                        11.0,
                        Anchor::Start,
                    ));
                }
                None => {
                    svg.push(
                        text(
                            x0 + 6.0,
                            cy + 4.0,
                            "no patient with a value",
                            11.0,
                            Anchor::Start,
                        )
                        .attr("fill", GREY)
                        .attr("font-style", "italic"),
                    );
                }
            }
            y += row_h;
        }
    }
    svg.finish()
}

/// Cranio-caudal order of the level codes.
const LEVELS: [&str; 25] = [
    "c1", "c2", "c3", "c4", "c5", "c6", "c7", "t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8", "t9",
    "t10", "t11", "t12", "l1", "l2", "l3", "l4", "l5", "s1",
];
/// Order of the segments.
const SEGMENTS: [&str; 4] = ["anterior", "canal", "foraminal", "posterior"];

/// The heat-map colour of a share `t` in 0..=1 (light yellow to dark red).
fn heat(t: f64) -> String {
    const LOW: [u8; 3] = [0xff, 0xf7, 0xec];
    const MID: [u8; 3] = [0xfc, 0x8d, 0x59];
    const HIGH: [u8; 3] = [0xb3, 0x00, 0x00];
    if t <= 0.5 {
        mix(LOW, MID, t * 2.0)
    } else {
        mix(MID, HIGH, (t - 0.5) * 2.0)
    }
}

/// The region of a level code: 0 cervical, 1 thoracic, 2 lumbar, 3 sacral,
/// 4 unknown.
fn region(level: &str) -> usize {
    match level.chars().next().map(|c| c.to_ascii_lowercase()) {
        Some('c') => 0,
        Some('t') => 1,
        Some('l') => 2,
        Some('s') => 3,
        _ => 4,
    }
}

/// Spine heat map: vertebral levels (rows, C1 to S1) by segment (columns);
/// colour = share of the patients whose CT covered the level; levels that
/// no CT covered are hatched.
pub fn spine_heatmap(results: &Results) -> String {
    let title = "Spinal calcifications by vertebral level and segment";
    let cells = &results.level_prevalence;
    if cells.is_empty() {
        return placeholder(
            title,
            "No spine readings: calcifications per level need CT readings.",
        );
    }
    // Rows and columns: the known ones present, in anatomical order, then
    // any other in order of appearance.
    let mut levels: Vec<String> = LEVELS.iter().map(|s| s.to_string()).collect();
    let mut segments: Vec<String> = SEGMENTS
        .iter()
        .filter(|s| cells.iter().any(|c| c.segment.eq_ignore_ascii_case(s)))
        .map(|s| s.to_string())
        .collect();
    for c in cells {
        let level = c.level.to_ascii_lowercase();
        if !levels.contains(&level) {
            levels.push(level);
        }
        let segment = c.segment.to_ascii_lowercase();
        if !segments.contains(&segment) {
            segments.push(segment);
        }
    }
    let find = |level: &str, segment: &str| -> Option<&LevelPrevalence> {
        cells.iter().find(|c| {
            c.level.eq_ignore_ascii_case(level) && c.segment.eq_ignore_ascii_case(segment)
        })
    };
    let max_pct = cells
        .iter()
        .filter(|c| c.denominator > 0)
        .filter_map(|c| c.percent)
        .fold(0.0, f64::max);
    let scale_max = [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 80.0, 100.0]
        .into_iter()
        .find(|m| *m >= max_pct)
        .unwrap_or(100.0);

    let cell_w = 92.0;
    let cell_h = 19.0;
    let gap = 5.0;
    let x_cells = 78.0;
    let top = 44.0;
    let row_y = |i: usize| {
        // One gap between consecutive regions.
        let gaps = (0..i)
            .filter(|&j| region(&levels[j + 1]) != region(&levels[j]))
            .count();
        top + i as f64 * cell_h + gaps as f64 * gap
    };
    let last = levels.len().saturating_sub(1);
    let bottom = row_y(last) + cell_h;
    let x_legend = x_cells + segments.len() as f64 * cell_w + 28.0;
    let width = x_legend + 190.0;
    let height = (bottom + 12.0).max(top + 6.0 + 160.0 + 22.0 + 80.0);

    let mut svg = Svg::new(
        width,
        height,
        title,
        "Share of patients with a calcification at each vertebral level and segment, over the \
         patients whose CT showed that level; hatched cells: level shown by no CT.",
    );
    svg.def(
        El::new("pattern")
            .attr("id", "sclerad-hatch")
            .attr("patternUnits", "userSpaceOnUse")
            .num("width", 6.0)
            .num("height", 6.0)
            .attr("patternTransform", "rotate(45)")
            .child(rect(0.0, 0.0, 6.0, 6.0, "#f2f2f2"))
            .child(line(0.0, 0.0, 0.0, 6.0, "#bdbdbd", 2.0)),
    );
    let mut gradient = El::new("linearGradient")
        .attr("id", "sclerad-heat")
        .attr("x1", "0")
        .attr("y1", "1")
        .attr("x2", "0")
        .attr("y2", "0");
    for i in 0..=10 {
        let t = f64::from(i) / 10.0;
        gradient = gradient.child(
            El::new("stop")
                .attr("offset", format!("{}%", i * 10))
                .attr("stop-color", heat(t)),
        );
    }
    svg.def(gradient);

    // Column headers.
    for (j, segment) in segments.iter().enumerate() {
        svg.push(
            text(
                x_cells + (j as f64 + 0.5) * cell_w,
                top - 10.0,
                variable_label(segment),
                12.0,
                Anchor::Middle,
            )
            .attr("font-weight", "bold"),
        );
    }
    // Region brackets and names.
    let region_names = ["Cervical", "Thoracic", "Lumbar", "Sacral", ""];
    let mut start = 0;
    while start < levels.len() {
        let r = region(&levels[start]);
        let mut end = start;
        while end + 1 < levels.len() && region(&levels[end + 1]) == r {
            end += 1;
        }
        let (y_a, y_b) = (row_y(start) + 2.0, row_y(end) + cell_h - 2.0);
        svg.push(line(24.0, y_a, 24.0, y_b, GREY, 1.0));
        if end - start >= 3 {
            let cy = (y_a + y_b) / 2.0;
            svg.push(
                text(0.0, 0.0, region_names[r], 11.0, Anchor::Middle)
                    .attr("fill", GREY)
                    .attr(
                        "transform",
                        format!("translate(16 {}) rotate(-90)", crate::format::coord(cy)),
                    ),
            );
        }
        start = end + 1;
    }
    // Cells.
    for (i, level) in levels.iter().enumerate() {
        let y = row_y(i);
        svg.push(text(
            x_cells - 10.0,
            y + cell_h / 2.0 + 4.0,
            level_label(level),
            11.0,
            Anchor::End,
        ));
        for (j, segment) in segments.iter().enumerate() {
            let x = x_cells + j as f64 * cell_w;
            let cell = find(level, segment);
            let where_ = format!("{} {}", level_label(level), segment);
            match cell {
                Some(c) if c.denominator > 0 => {
                    let share = c.n as f64 / c.denominator as f64;
                    let t = 100.0 * share / scale_max;
                    let fill = heat(t);
                    svg.push(
                        rect(x + 1.0, y + 1.0, cell_w - 2.0, cell_h - 2.0, &fill).title(format!(
                            "{where_}: {}/{} patients whose CT showed the level ({}%)",
                            c.n,
                            c.denominator,
                            percent(Some(100.0 * share))
                        )),
                    );
                    let ink = if t > 0.62 { "#ffffff" } else { INK };
                    svg.push(
                        text(
                            x + cell_w / 2.0,
                            y + cell_h / 2.0 + 4.0,
                            fraction(c.n as u64, c.denominator as u64),
                            10.5,
                            Anchor::Middle,
                        )
                        .attr("fill", ink),
                    );
                }
                _ => {
                    svg.push(
                        rect(
                            x + 1.0,
                            y + 1.0,
                            cell_w - 2.0,
                            cell_h - 2.0,
                            "url(#sclerad-hatch)",
                        )
                        .title(format!("{where_}: not seen (no CT showed this level)")),
                    );
                    svg.push(
                        text(
                            x + cell_w / 2.0,
                            y + cell_h / 2.0 + 4.0,
                            "not seen",
                            10.0,
                            Anchor::Middle,
                        )
                        .attr("fill", GREY)
                        .attr("font-style", "italic"),
                    );
                }
            }
        }
    }
    // Legend: colour bar and hatch swatch.
    let bar_top = top + 6.0;
    let bar_h = 160.0;
    svg.push(text(x_legend, top - 24.0, "Patients with a", 11.0, Anchor::Start).attr("fill", GREY));
    svg.push(
        text(
            x_legend,
            top - 10.0,
            "calcification, %",
            11.0,
            Anchor::Start,
        )
        .attr("fill", GREY),
    );
    svg.push(rect(x_legend, bar_top, 16.0, bar_h, "url(#sclerad-heat)").attr("stroke", "#bdbdbd"));
    for v in nice_ticks(scale_max, 5)
        .into_iter()
        .filter(|v| *v <= scale_max + 1e-9)
    {
        let y = bar_top + bar_h * (1.0 - v / scale_max);
        svg.push(line(x_legend + 16.0, y, x_legend + 20.0, y, AXIS, 1.0));
        svg.push(text(
            x_legend + 24.0,
            y + 4.0,
            crate::format::fixed(v, 0),
            11.0,
            Anchor::Start,
        ));
    }
    let swatch_y = bar_top + bar_h + 22.0;
    svg.push(rect(x_legend, swatch_y, 16.0, 16.0, "url(#sclerad-hatch)").attr("stroke", "#bdbdbd"));
    svg.push(text(
        x_legend + 24.0,
        swatch_y + 8.0,
        "not seen: no CT",
        11.0,
        Anchor::Start,
    ));
    svg.push(text(
        x_legend + 24.0,
        swatch_y + 21.0,
        "showed the level",
        11.0,
        Anchor::Start,
    ));
    svg.push(
        text(
            x_legend,
            swatch_y + 46.0,
            "Cells: patients with a",
            11.0,
            Anchor::Start,
        )
        .attr("fill", GREY),
    );
    svg.push(
        text(
            x_legend,
            swatch_y + 60.0,
            "calcification / patients",
            11.0,
            Anchor::Start,
        )
        .attr("fill", GREY),
    );
    svg.push(
        text(
            x_legend,
            swatch_y + 74.0,
            "whose CT showed the level",
            11.0,
            Anchor::Start,
        )
        .attr("fill", GREY),
    );
    svg.finish()
}

/// A bound on the log axis of the forest plot, with where it falls.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Pos {
    /// Inside the axis, at this value.
    At(f64),
    /// Below the axis minimum (including 0).
    Below,
    /// Above the axis maximum (including +∞ and unknown upper bounds).
    Above,
}

/// Tick label on the log axis.
fn tick_label(v: f64) -> String {
    if v >= 1.0 {
        format!("{v:.0}")
    } else {
        let digits = (-v.log10().floor()) as usize;
        format!("{v:.digits$}")
    }
}

/// A small arrow head pointing left or right, tip at (x, y).
fn arrow(x: f64, y: f64, right: bool, colour: &str) -> El {
    let d = if right { -7.0 } else { 7.0 };
    El::new("path")
        .attr(
            "d",
            format!(
                "M{} {}L{} {}L{} {}Z",
                crate::format::coord(x),
                crate::format::coord(y),
                crate::format::coord(x + d),
                crate::format::coord(y - 4.0),
                crate::format::coord(x + d),
                crate::format::coord(y + 4.0)
            ),
        )
        .attr("fill", colour)
}

/// The binary comparisons of the prognosis family, grouped by outcome in
/// order of first appearance.
fn prognosis_rows(results: &Results) -> Vec<(String, Vec<(&Comparison, &BinaryDetail)>)> {
    let mut groups: Vec<(String, Vec<(&Comparison, &BinaryDetail)>)> = Vec::new();
    for c in results
        .comparisons
        .iter()
        .filter(|c| c.family == "prognosis")
    {
        let ComparisonDetail::Binary(b) = &c.detail else {
            continue;
        };
        match groups.iter_mut().find(|(o, _)| *o == c.outcome) {
            Some((_, rows)) => rows.push((c, b)),
            None => groups.push((c.outcome.clone(), vec![(c, b)])),
        }
    }
    groups
}

/// Forest plot of the odds ratios of the prognosis family (log scale, 95%
/// exact intervals, a line at OR = 1). Bounds outside the axis, zero or
/// infinite are drawn as arrows; an infinite odds ratio has no point.
pub fn forest_plot(results: &Results) -> String {
    let title = "Odds ratios of the prognosis family";
    let groups = prognosis_rows(results);
    if groups.is_empty() {
        return placeholder(title, "No binary comparison in the prognosis family.");
    }
    let ci = ci_label(results.settings.conf_level);
    // Axis range: whole decades around every finite positive value.
    let values = groups
        .iter()
        .flat_map(|(_, rows)| rows.iter())
        .flat_map(|(_, b)| [b.odds_ratio, b.or_ci_low, b.or_ci_high])
        .flatten()
        .filter(|v| v.is_finite() && *v > 0.0);
    let (lo, hi) = values.fold((1.0f64, 1.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let dec_lo = (lo.log10().floor() as i32).clamp(-3, -1);
    let dec_hi = (hi.log10().ceil() as i32).clamp(1, 3);
    let (axis_lo, axis_hi) = (10f64.powi(dec_lo), 10f64.powi(dec_hi));
    let pos = |v: Option<f64>, missing: Pos| -> Pos {
        match v {
            Some(v) if v.is_finite() && v > 0.0 => {
                if v < axis_lo {
                    Pos::Below
                } else if v > axis_hi {
                    Pos::Above
                } else {
                    Pos::At(v)
                }
            }
            Some(v) if v.is_infinite() && v > 0.0 => Pos::Above,
            Some(_) => Pos::Below,
            None => missing,
        }
    };

    let label_size = 12.0;
    let label_w = groups
        .iter()
        .flat_map(|(o, rows)| {
            std::iter::once(text_width(&variable_label(o), label_size)).chain(
                rows.iter()
                    .map(|(c, _)| text_width(&variable_label(&c.exposure), label_size) + 10.0),
            )
        })
        .fold(0.0, f64::max);
    let x0 = 12.0 + label_w + 20.0;
    let plot_w = 300.0;
    let x1 = x0 + plot_w;
    let x_or = x1 + 18.0;
    let or_w = text_width("300.00 [300.00–300.00]", 11.0);
    let x_p = x_or + or_w + 42.0;
    let width = x_p + 10.0;
    let x = |v: f64| x0 + plot_w * (v.log10() - f64::from(dec_lo)) / f64::from(dec_hi - dec_lo);
    let row_h = 18.0;
    let header_h = 22.0;
    let top = 34.0;
    let rows_h: f64 = groups
        .iter()
        .map(|(_, rows)| header_h + row_h * rows.len() as f64)
        .sum();
    let bottom = top + rows_h + 6.0;
    let height = bottom + 56.0;

    let mut svg = Svg::new(
        width,
        height,
        title,
        format!(
            "Odds ratio of each outcome with versus without each lesion, with its exact {ci} \
             (Fisher), on a logarithmic axis; arrows mark bounds beyond the axis, zero or infinite."
        ),
    );
    svg.push(text(12.0, 20.0, "Exposure", 11.0, Anchor::Start).attr("fill", GREY));
    svg.push(text(x_or, 20.0, format!("OR [{ci}]"), 11.0, Anchor::Start).attr("fill", GREY));
    svg.push(
        text(x_p, 20.0, "p", 11.0, Anchor::End)
            .attr("fill", GREY)
            .attr("font-style", "italic"),
    );
    // Grid: decades, and 2 and 5 within when the axis is short.
    let short = dec_hi - dec_lo <= 2;
    for d in dec_lo..=dec_hi {
        let v = 10f64.powi(d);
        svg.push(line(x(v), top - 4.0, x(v), bottom, GRID, 1.0));
        svg.push(line(x(v), bottom, x(v), bottom + 4.0, AXIS, 1.0));
        svg.push(text(
            x(v),
            bottom + 17.0,
            tick_label(v),
            11.0,
            Anchor::Middle,
        ));
        if short && d < dec_hi {
            for m in [2.0, 5.0] {
                let w = m * v;
                svg.push(line(x(w), bottom, x(w), bottom + 3.0, AXIS, 1.0));
                svg.push(
                    text(x(w), bottom + 17.0, tick_label(w), 10.0, Anchor::Middle)
                        .attr("fill", GREY),
                );
            }
        }
    }
    svg.push(line(x0, bottom, x1, bottom, AXIS, 1.0));
    svg.push(line(x(1.0), top - 4.0, x(1.0), bottom, AXIS, 1.0).attr("stroke-dasharray", "4 3"));
    svg.push(text(
        (x0 + x1) / 2.0,
        bottom + 34.0,
        format!("Odds ratio (log scale), {ci}"),
        12.0,
        Anchor::Middle,
    ));
    svg.push(
        text(
            x(1.0) - 6.0,
            bottom + 48.0,
            "← lower odds with lesion",
            10.0,
            Anchor::End,
        )
        .attr("fill", GREY),
    );
    svg.push(
        text(
            x(1.0) + 6.0,
            bottom + 48.0,
            "higher odds with lesion →",
            10.0,
            Anchor::Start,
        )
        .attr("fill", GREY),
    );

    let mut y = top;
    for (outcome, rows) in &groups {
        svg.push(
            text(
                12.0,
                y + 15.0,
                variable_label(outcome),
                label_size,
                Anchor::Start,
            )
            .attr("font-weight", "bold"),
        );
        y += header_h;
        for (c, b) in rows {
            let cy = y + row_h / 2.0;
            let label = variable_label(&c.exposure);
            svg.push(text(
                22.0,
                cy + 4.0,
                label.clone(),
                label_size,
                Anchor::Start,
            ));
            let estimate = ratio_with_ci(
                b.odds_ratio,
                b.or_ci_low,
                b.or_ci_high,
                b.odds_ratio_infinite,
            );
            let computable = b.odds_ratio.is_some() || b.odds_ratio_infinite;
            if computable {
                let low = pos(b.or_ci_low, Pos::Below);
                let high = pos(b.or_ci_high, Pos::Above);
                let x_low = match low {
                    Pos::At(v) => x(v),
                    Pos::Below => x0,
                    Pos::Above => x1,
                };
                let x_high = match high {
                    Pos::At(v) => x(v),
                    Pos::Below => x0,
                    Pos::Above => x1,
                };
                svg.push(line(x_low, cy, x_high, cy, INK, 1.3).title(format!(
                    "{label} → {}: OR {estimate}",
                    variable_label(outcome)
                )));
                if low == Pos::Below {
                    svg.push(arrow(x0, cy, false, INK));
                } else if x_low > x0 {
                    svg.push(line(x_low, cy - 3.5, x_low, cy + 3.5, INK, 1.3));
                }
                if high == Pos::Above {
                    svg.push(arrow(x1, cy, true, INK));
                } else if x_high < x1 {
                    svg.push(line(x_high, cy - 3.5, x_high, cy + 3.5, INK, 1.3));
                }
                // Infinite, zero or off-axis estimates get no point: the
                // arrows and the text say it.
                if let (false, Pos::At(v)) = (b.odds_ratio_infinite, pos(b.odds_ratio, Pos::Above))
                {
                    svg.push(
                        rect(x(v) - 4.0, cy - 4.0, 8.0, 8.0, "#1f3b73").title(format!(
                            "{label} → {}: OR {estimate}",
                            variable_label(outcome)
                        )),
                    );
                }
            } else {
                svg.push(
                    text(
                        x(1.0) + 8.0,
                        cy + 4.0,
                        "not computable",
                        11.0,
                        Anchor::Start,
                    )
                    .attr("fill", GREY)
                    .attr("font-style", "italic"),
                );
            }
            svg.push(text(x_or, cy + 4.0, estimate, 11.0, Anchor::Start));
            svg.push(text(x_p, cy + 4.0, p_value(c.p_value), 11.0, Anchor::End));
            y += row_h;
        }
    }
    svg.finish()
}

/// Colour and dash pattern of a Kaplan–Meier group (exposed first).
fn km_style(group: &str, index: usize) -> (&'static str, Option<&'static str>) {
    match (group, index) {
        ("yes", _) => ("#b2182b", None),
        ("no", _) => ("#2166ac", Some("6 3")),
        (_, 0) => ("#b2182b", None),
        (_, 1) => ("#2166ac", Some("6 3")),
        _ => ("#4d4d4d", Some("2 2")),
    }
}

/// The label of a Kaplan–Meier group.
fn km_group_label(group: &str) -> String {
    match group {
        "yes" => "With".to_string(),
        "no" => "Without".to_string(),
        other => variable_label(other),
    }
}

/// The number of patients at risk at a time, read from a curve's steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AtRisk {
    /// Patients at risk (still followed and alive) just before the time.
    pub n: u64,
    /// Whether `n` is exact. It is not when the results kept only some of
    /// the curve's steps (`KM_MAX_POINTS`) and steps were dropped just
    /// before the time: `n` is then the count at the next kept step, a
    /// lower bound.
    pub exact: bool,
}

/// Whether no step was dropped between two consecutive kept steps.
fn contiguous(a: &KmPoint, b: &KmPoint) -> bool {
    a.n_risk.checked_sub(a.n_event + a.n_censor) == Some(b.n_risk)
}

/// Patients at risk at time `t`: the `n_risk` of the first step at or
/// after `t` (nobody leaves between `t` and that step when no step was
/// dropped), the whole group before the first step, and those left after
/// the last step beyond it.
pub fn at_risk(curve: &KmCurve, t: f64) -> AtRisk {
    let points = &curve.points;
    match points.iter().position(|p| p.time >= t) {
        Some(0) => AtRisk {
            n: points[0].n_risk,
            exact: points[0].n_risk == curve.n as u64,
        },
        Some(j) => AtRisk {
            n: points[j].n_risk,
            exact: contiguous(&points[j - 1], &points[j]),
        },
        None => match points.last() {
            Some(last) => AtRisk {
                n: last.n_risk.saturating_sub(last.n_event + last.n_censor),
                exact: true,
            },
            None => AtRisk {
                n: curve.n as u64,
                exact: true,
            },
        },
    }
}

/// A file-name-safe form of a name.
pub(crate) fn file_stem(name: &str) -> String {
    let stem: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if stem.is_empty() {
        "unnamed".to_string()
    } else {
        stem
    }
}

/// The Kaplan–Meier figure of one survival result, or `None` when it has
/// no curve.
pub(crate) fn km_figure(result: &SurvivalResult, conf_level: f64) -> Option<String> {
    let curves: Vec<&KmCurve> = result.km.iter().collect();
    if curves.is_empty() {
        return None;
    }
    let ci = ci_label(conf_level);
    let phrase = variable_phrase(&result.exposure);
    let max_time = curves
        .iter()
        .flat_map(|c| c.points.iter())
        .map(|p| p.time)
        .filter(|t| t.is_finite())
        .fold(0.0, f64::max);
    let ticks = nice_ticks(if max_time > 0.0 { max_time } else { 1.0 }, 5);
    let t_max = ticks.last().copied().unwrap_or(1.0);

    let width = 560.0;
    let x0 = 64.0;
    let x1 = width - 22.0;
    let legend_top = 44.0;
    let top = legend_top + 16.0 * curves.len() as f64 + 8.0;
    let plot_h = 200.0;
    let bottom = top + plot_h;
    let risk_top = bottom + 52.0;
    let thinned = curves.iter().any(|c| {
        c.points.windows(2).any(|w| !contiguous(&w[0], &w[1]))
            || c.points.first().is_some_and(|p| p.n_risk != c.n as u64)
    });
    let height = risk_top + 18.0 * curves.len() as f64 + if thinned { 30.0 } else { 14.0 };
    let x = |t: f64| x0 + (x1 - x0) * (t / t_max).clamp(0.0, 1.0);
    let y = |s: f64| top + plot_h * (1.0 - s.clamp(0.0, 1.0));

    let hr = match (result.hazard_ratio, result.test) {
        (_, sclerad_analysis::results::SurvivalTest::NotComputable) => {
            "not computable (one exposure group only)".to_string()
        }
        (Some(h), _) => format!(
            "HR {} [{ci} {}–{}]",
            ratio(h),
            result.hr_ci_low.map_or("—".to_string(), ratio),
            result.hr_ci_high.map_or("—".to_string(), ratio)
        ),
        (None, _) => "HR not estimable (no death in a group)".to_string(),
    };
    let mut svg = Svg::new(
        width,
        height,
        format!("Survival by {}", phrase),
        format!(
            "Kaplan–Meier estimate of survival from the hand radiograph, patients with versus \
             without {}; log-rank {}; {hr}.",
            phrase,
            p_phrase(result.p_logrank)
        ),
    );
    svg.push(
        text(
            x0 - 50.0,
            18.0,
            format!("Survival by {}", phrase),
            13.0,
            Anchor::Start,
        )
        .attr("font-weight", "bold"),
    );
    svg.push(
        text(
            x0 - 50.0,
            34.0,
            format!("Log-rank {} · Cox {hr}", p_phrase(result.p_logrank)),
            11.0,
            Anchor::Start,
        )
        .attr("fill", GREY),
    );
    // Legend.
    for (i, c) in curves.iter().enumerate() {
        let (colour, dash) = km_style(c.group, i);
        let ly = legend_top + 16.0 * i as f64 + 6.0;
        let mut sample = line(x0, ly, x0 + 26.0, ly, colour, 2.0);
        if let Some(d) = dash {
            sample = sample.attr("stroke-dasharray", d);
        }
        svg.push(sample);
        svg.push(text(
            x0 + 34.0,
            ly + 4.0,
            format!(
                "{} {} (n = {}, {} death{})",
                km_group_label(c.group),
                phrase,
                c.n,
                c.events,
                if c.events == 1 { "" } else { "s" }
            ),
            11.0,
            Anchor::Start,
        ));
    }
    // Axes and grid.
    for k in 0..=5 {
        let s = f64::from(k) / 5.0;
        svg.push(line(x0, y(s), x1, y(s), GRID, 1.0));
        svg.push(line(x0 - 4.0, y(s), x0, y(s), AXIS, 1.0));
        svg.push(text(
            x0 - 7.0,
            y(s) + 4.0,
            crate::format::fixed(s, 1),
            11.0,
            Anchor::End,
        ));
    }
    for &t in &ticks {
        svg.push(line(x(t), bottom, x(t), bottom + 4.0, AXIS, 1.0));
        svg.push(text(
            x(t),
            bottom + 17.0,
            crate::format::coord(t),
            11.0,
            Anchor::Middle,
        ));
    }
    svg.push(line(x0, top, x0, bottom, AXIS, 1.0));
    svg.push(line(x0, bottom, x1, bottom, AXIS, 1.0));
    svg.push(text(
        (x0 + x1) / 2.0,
        bottom + 34.0,
        "Years since hand radiograph",
        12.0,
        Anchor::Middle,
    ));
    svg.push(
        text(0.0, 0.0, "Survival probability", 12.0, Anchor::Middle).attr(
            "transform",
            format!(
                "translate(16 {}) rotate(-90)",
                crate::format::coord((top + bottom) / 2.0)
            ),
        ),
    );
    // Curves: right-continuous steps from (0, 1); censoring as ticks.
    for (i, c) in curves.iter().enumerate() {
        let (colour, dash) = km_style(c.group, i);
        let mut d = format!(
            "M{} {}",
            crate::format::coord(x(0.0)),
            crate::format::coord(y(1.0))
        );
        let mut ticks_el = Vec::new();
        for p in c
            .points
            .iter()
            .filter(|p| p.time.is_finite() && p.surv.is_finite())
        {
            d.push_str(&format!(
                "H{}V{}",
                crate::format::coord(x(p.time)),
                crate::format::coord(y(p.surv))
            ));
            if p.n_censor > 0 {
                ticks_el.push(line(
                    x(p.time),
                    y(p.surv) - 4.0,
                    x(p.time),
                    y(p.surv) + 4.0,
                    colour,
                    1.3,
                ));
            }
        }
        let mut path = El::new("path")
            .attr("d", d)
            .attr("fill", "none")
            .attr("stroke", colour)
            .num("stroke-width", 2.0);
        if let Some(dash) = dash {
            path = path.attr("stroke-dasharray", dash);
        }
        svg.push(path.title(format!("{} {}", km_group_label(c.group), phrase)));
        svg.extend(ticks_el);
    }
    // Numbers at risk under the axis, aligned with the ticks.
    let mut approximate = false;
    svg.push(
        text(
            x0 - 50.0,
            risk_top - 4.0,
            "Number at risk",
            11.0,
            Anchor::Start,
        )
        .attr("font-weight", "bold"),
    );
    for (i, c) in curves.iter().enumerate() {
        let (colour, _) = km_style(c.group, i);
        let ry = risk_top + 14.0 + 18.0 * i as f64;
        svg.push(
            text(x0 - 50.0, ry, km_group_label(c.group), 11.0, Anchor::Start).attr("fill", colour),
        );
        for &t in &ticks {
            let risk = at_risk(c, t);
            let label = if risk.exact {
                risk.n.to_string()
            } else {
                approximate = true;
                format!("≈{}", risk.n)
            };
            svg.push(text(x(t), ry, label, 11.0, Anchor::Middle));
        }
    }
    if approximate {
        svg.push(
            text(
                x0 - 50.0,
                risk_top + 18.0 * curves.len() as f64 + 16.0,
                "≈: approximate, at least this many (the results keep only a sample of the steps).",
                10.0,
                Anchor::Start,
            )
            .attr("fill", GREY),
        );
    }
    Some(svg.finish())
}

/// The Kaplan–Meier figure of the survival result with this id, or `None`
/// when there is no such result or it has no curve.
pub fn km_plot(results: &Results, id: &str) -> Option<String> {
    let result = results.survival.iter().find(|s| s.id == id)?;
    km_figure(result, results.settings.conf_level)
}

/// Every Kaplan–Meier figure, with its file name (`km_EXPOSURE.svg`).
pub fn km_plots(results: &Results) -> Vec<(String, String)> {
    results
        .survival
        .iter()
        .filter_map(|s| {
            km_figure(s, results.settings.conf_level)
                .map(|svg| (format!("km_{}.svg", file_stem(&s.exposure)), svg))
        })
        .collect()
}

/// Every figure as a standalone `.svg` file: `prevalence.svg`,
/// `spine_heatmap.svg`, `forest_prognosis.svg` and one `km_EXPOSURE.svg`
/// per survival result with curves.
pub fn figures(results: &Results) -> Vec<(String, String)> {
    let mut out = vec![
        ("prevalence.svg".to_string(), prevalence_chart(results)),
        ("spine_heatmap.svg".to_string(), spine_heatmap(results)),
        ("forest_prognosis.svg".to_string(), forest_plot(results)),
    ];
    out.extend(km_plots(results));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(time: f64, n_risk: u64, n_event: u64, n_censor: u64, surv: f64) -> KmPoint {
        KmPoint {
            time,
            n_risk,
            n_event,
            n_censor,
            surv,
            lower: None,
            upper: None,
        }
    }

    #[test]
    fn numbers_at_risk_come_from_the_steps() {
        let curve = KmCurve {
            group: "yes",
            n: 5,
            events: 2,
            points: vec![
                point(1.0, 5, 1, 0, 0.8),
                point(2.5, 4, 0, 1, 0.8),
                point(3.0, 3, 1, 0, 0.533),
                point(4.0, 2, 0, 2, 0.533),
            ],
        };
        let exact = |n| AtRisk { n, exact: true };
        assert_eq!(at_risk(&curve, 0.0), exact(5));
        assert_eq!(at_risk(&curve, 1.0), exact(5));
        assert_eq!(at_risk(&curve, 2.0), exact(4));
        assert_eq!(at_risk(&curve, 3.5), exact(2));
        assert_eq!(at_risk(&curve, 4.5), exact(0));
        // A thinned curve: the step at 2.5 was dropped.
        let mut thinned = curve.clone();
        thinned.points.remove(1);
        assert_eq!(at_risk(&thinned, 2.0), AtRisk { n: 3, exact: false });
        assert_eq!(at_risk(&thinned, 1.0), exact(5));
        let empty = KmCurve {
            group: "no",
            n: 3,
            events: 0,
            points: vec![],
        };
        assert_eq!(at_risk(&empty, 1.0), exact(3));
    }

    #[test]
    fn file_stems_are_safe() {
        assert_eq!(file_stem("spine_canal"), "spine_canal");
        assert_eq!(file_stem("../a b"), "___a_b");
        assert_eq!(file_stem(""), "unnamed");
    }

    #[test]
    fn log_tick_labels() {
        assert_eq!(tick_label(0.01), "0.01");
        assert_eq!(tick_label(0.5), "0.5");
        assert_eq!(tick_label(1.0), "1");
        assert_eq!(tick_label(100.0), "100");
    }
}
