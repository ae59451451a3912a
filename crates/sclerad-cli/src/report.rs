//! The report files of `sclerad analyze`, rendered by `sclerad-report`.

use anyhow::Result;
use sclerad_analysis::Results;
use sclerad_report::{figures, render_html, tables_csv, tables_xlsx, ReportContext};

/// Renders every report file and hands each to `put(relative path, bytes)`.
pub fn write(results: &Results, put: &mut impl FnMut(&str, &[u8]) -> Result<()>) -> Result<()> {
    let title = format!("sclerad analysis of {}", results.input.path);
    let generated = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string();
    let context = ReportContext::new(title, generated);
    put("report.html", render_html(results, &context).as_bytes())?;
    for (name, text) in tables_csv(results) {
        put(&format!("tables/{name}"), text.as_bytes())?;
    }
    put("tables.xlsx", &tables_xlsx(results)?)?;
    for (name, svg) in figures(results) {
        put(&format!("figures/{name}"), svg.as_bytes())?;
    }
    Ok(())
}
