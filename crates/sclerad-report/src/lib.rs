//! The sclerad report: renders the analysis [`Results`] into
//!
//! - one self-contained HTML file ([`render_html`]): inline CSS with a print
//!   stylesheet, inline SVG figures, no script and nothing loaded from the
//!   network, every data string escaped;
//! - standalone SVG figures ([`prevalence_chart`], [`spine_heatmap`],
//!   [`forest_plot`], [`km_plot`], or all of them with [`figures`]), drawn by
//!   a small hand-written SVG writer;
//! - the tables as CSV files ([`tables_csv`]) and as one xlsx workbook
//!   ([`tables_xlsx`]), with full-precision numbers.
//!
//! [`report_files`] gives all of them as (relative path, bytes) pairs; the
//! caller writes them. This crate does no I/O.
//!
//! Every number shown to a reader is formatted in [`format`](mod@crate::format).

#![warn(missing_docs)]

mod csv;
mod figures;
pub mod format;
mod html;
mod svg;
mod tables;
mod xlsx;

use sclerad_analysis::results::Results;

pub use crate::csv::tables_csv;
pub use crate::figures::{
    at_risk, figures, forest_plot, km_plot, km_plots, prevalence_chart, spine_heatmap, AtRisk,
};
pub use crate::html::render_html;
pub use crate::xlsx::tables_xlsx;

/// What the report says about itself beyond the results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportContext {
    /// Title of the report (the study's name).
    pub title: String,
    /// When the report was generated, as text (e.g. an RFC 3339 time); shown
    /// as given.
    pub generated_at: String,
    /// Paragraphs about where the data come from (shown under "About
    /// these data" in the provenance section), such as how the demo cohort
    /// is built; none for a study's own data.
    pub about: Vec<String>,
}

impl ReportContext {
    /// A context with a title and a generation time.
    pub fn new(title: impl Into<String>, generated_at: impl Into<String>) -> ReportContext {
        ReportContext {
            title: title.into(),
            generated_at: generated_at.into(),
            about: Vec::new(),
        }
    }

    /// The context with paragraphs about the data ([`ReportContext::about`]).
    pub fn with_about(mut self, about: Vec<String>) -> ReportContext {
        self.about = about;
        self
    }
}

impl Default for ReportContext {
    fn default() -> Self {
        ReportContext::new("sclerad analysis report", "")
    }
}

/// A report that could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The xlsx writer failed.
    #[error("cannot write the xlsx workbook: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    /// A table has more rows or columns than a worksheet holds.
    #[error("the table {0} is too large for a worksheet")]
    TooLarge(&'static str),
}

/// Every file of the report as (relative path, content): `report.html`,
/// `figures/*.svg`, `tables/*.csv` and `tables/tables.xlsx`.
pub fn report_files(
    results: &Results,
    context: &ReportContext,
) -> Result<Vec<(String, Vec<u8>)>, ReportError> {
    // The workbook (compression and column fitting) takes as long as all
    // the rest together: build it on another core meanwhile.
    std::thread::scope(|scope| {
        let xlsx = scope.spawn(|| tables_xlsx(results));
        let mut files = vec![(
            "report.html".to_string(),
            render_html(results, context).into_bytes(),
        )];
        files.extend(
            figures(results)
                .into_iter()
                .map(|(name, svg)| (format!("figures/{name}"), svg.into_bytes())),
        );
        files.extend(
            tables_csv(results)
                .into_iter()
                .map(|(name, csv)| (format!("tables/{name}"), csv.into_bytes())),
        );
        let workbook = match xlsx.join() {
            Ok(result) => result?,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        files.push(("tables/tables.xlsx".to_string(), workbook));
        Ok(files)
    })
}
