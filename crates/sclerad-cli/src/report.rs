//! The report files of `sclerad analyze`, rendered by `sclerad-report`.

use anyhow::Result;
use sclerad_analysis::Results;
use sclerad_report::{report_files, ReportContext};

/// Renders every report file (report.html, figures/*.svg, tables/*.csv,
/// tables/tables.xlsx) and hands each to `put(relative path, bytes)`;
/// `about`: paragraphs on where the data come from (the demo's), if any.
pub fn write(
    results: &Results,
    about: &[String],
    put: &mut impl FnMut(&str, &[u8]) -> Result<()>,
) -> Result<()> {
    let title = format!("sclerad analysis of {}", results.input.path);
    let generated = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string();
    let context = ReportContext::new(title, generated).with_about(about.to_vec());
    for (path, bytes) in report_files(results, &context)? {
        put(&path, &bytes)?;
    }
    Ok(())
}
