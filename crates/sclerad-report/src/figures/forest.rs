//! The forest plot of the prognosis family's odds ratios.

use sclerad_analysis::results::{BinaryDetail, Comparison, ComparisonDetail, Results};

use crate::format::{ci_label, p_value, ratio_with_ci, variable_label};
use crate::svg::{line, rect, text, text_width, Anchor, El, Svg};

use super::{placeholder, AXIS, GREY, GRID, INK};

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

#[cfg(test)]
mod tests {
    use super::tick_label;

    #[test]
    fn log_tick_labels() {
        assert_eq!(tick_label(0.01), "0.01");
        assert_eq!(tick_label(0.5), "0.5");
        assert_eq!(tick_label(1.0), "1");
        assert_eq!(tick_label(100.0), "100");
    }
}
