//! The report files of `sclerad analyze`, rendered by `sclerad-report`.

use anyhow::Result;
use sclerad_analysis::Results;
use sclerad_report::{report_files, ReportContext};

/// Renders every report file (report.html, figures/*.svg, tables/*.csv,
/// tables/tables.xlsx) and hands each to `put(relative path, bytes)`.
pub fn write(results: &Results, put: &mut impl FnMut(&str, &[u8]) -> Result<()>) -> Result<()> {
    let title = format!("sclerad analysis of {}", results.input.path);
    let generated = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string();
    for (path, bytes) in report_files(results, &ReportContext::new(title, generated))? {
        put(&path, &bytes)?;
    }
    Ok(())
}
