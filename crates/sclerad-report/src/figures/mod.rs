//! The figures of the report, each a standalone SVG document, one module
//! per figure: prevalence bar chart ([`prevalence`]), spine heat map
//! ([`heatmap`]), forest plot of the prognosis family ([`forest`]) and
//! Kaplan–Meier curves ([`km`]). What they share is here.

mod forest;
mod heatmap;
mod km;
mod prevalence;

pub use forest::forest_plot;
pub use heatmap::spine_heatmap;
pub(crate) use km::km_figure;
pub use km::{at_risk, km_plot, km_plots, AtRisk};
pub use prevalence::prevalence_chart;

use sclerad_analysis::results::Results;

use crate::svg::{rect, text, Anchor, Svg};

/// Axis, text and rule colours.
pub(super) const INK: &str = "#1a1a1a";
pub(super) const GREY: &str = "#6b6b6b";
pub(super) const GRID: &str = "#e3e3e3";
pub(super) const AXIS: &str = "#4d4d4d";

/// A figure that only says why there is nothing to draw.
pub(super) fn placeholder(title: &str, message: &str) -> String {
    let width = 560.0;
    let mut svg = Svg::new(width, 60.0, title, message);
    svg.push(rect(0.5, 0.5, width - 1.0, 59.0, "none").attr("stroke", GRID));
    svg.push(text(width / 2.0, 34.0, message, 13.0, Anchor::Middle).attr("fill", GREY));
    svg.finish()
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

    #[test]
    fn file_stems_are_safe() {
        assert_eq!(file_stem("spine_canal"), "spine_canal");
        assert_eq!(file_stem("../a b"), "___a_b");
        assert_eq!(file_stem(""), "unnamed");
    }
}
