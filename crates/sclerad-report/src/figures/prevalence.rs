//! The prevalence bar chart: every prevalence with its Wilson interval.

use sclerad_analysis::results::Results;
use sclerad_analysis::{BINARY_CLINICAL, HAND_LESIONS, SPINE_FLAGS};

use crate::format::{ci_label, fraction, percent, percent_interval, variable_label};
use crate::svg::{line, rect, text, text_width, Anchor, Svg};

use super::{placeholder, AXIS, GREY, GRID, INK};

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
