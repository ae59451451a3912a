//! The tables as CSV files (RFC 4180: comma-separated, CRLF line ends,
//! fields quoted when they hold a comma, a quote or a line break).

use sclerad_analysis::results::Results;

use crate::format::full_precision;
use crate::tables::{tables, Cell};

/// Quotes a field when RFC 4180 requires it. A text that a spreadsheet
/// would run as a formula is prefixed with an apostrophe
/// ([`sclerad_model::spreadsheet_safe`]): tables hold names from the data,
/// never formulas.
fn field(text: &str) -> String {
    let text = sclerad_model::spreadsheet_safe(text);
    if text.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

fn cell(c: &Cell) -> String {
    match c {
        Cell::Int(n) => n.to_string(),
        Cell::Num(Some(x)) => full_precision(*x),
        Cell::Num(None) => String::new(),
        Cell::Text(t) => field(t),
        Cell::Bool(b) => b.to_string(),
    }
}

/// Every table as a CSV file: `population.csv`, `prevalence.csv`,
/// `level_prevalence.csv`, `comparisons.csv`, `survival.csv`,
/// `km_points.csv` and `agreement.csv`, as (file name, text) pairs. Numbers
/// have full precision; a missing value is an empty field.
pub fn tables_csv(results: &Results) -> Vec<(String, String)> {
    tables(results)
        .into_iter()
        .map(|table| {
            let mut text = String::new();
            let header: Vec<String> = table.header.iter().map(|h| field(h)).collect();
            text.push_str(&header.join(","));
            text.push_str("\r\n");
            for row in &table.rows {
                let cells: Vec<String> = row.iter().map(cell).collect();
                text.push_str(&cells.join(","));
                text.push_str("\r\n");
            }
            (format!("{}.csv", table.name), text)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_as_rfc_4180_says() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
        assert_eq!(field("=cmd()"), "'=cmd()");
        assert_eq!(field("=a,b"), "\"'=a,b\"");
        assert_eq!(cell(&Cell::Num(Some(0.1 + 0.2))), "0.30000000000000004");
        assert_eq!(cell(&Cell::Num(None)), "");
        assert_eq!(cell(&Cell::Bool(true)), "true");
    }
}
