//! The spine heat map: vertebral levels by segment.

use sclerad_analysis::results::{LevelPrevalence, Results};

use crate::format::{fraction, level_label, percent, variable_label};
use crate::svg::{line, mix, nice_ticks, rect, text, Anchor, El, Svg};

use super::{placeholder, AXIS, GREY, INK};

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
