//! Kaplan–Meier curves with patients at risk.

use sclerad_analysis::results::{KmCurve, KmPoint, Results, SurvivalResult};

use crate::format::{ci_label, p_phrase, ratio, variable_label, variable_phrase};
use crate::svg::{line, nice_ticks, text, Anchor, El, Svg};

use super::{file_stem, AXIS, GREY, GRID};

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
}
