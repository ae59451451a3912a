//! Writing CSV cells, and the problems of a CSV file that could not be read.

use sclerad_model::Problem;

/// Appends `cell`, quoted when it must be (a comma, a quote, a line break,
/// or spaces at either end, which a reader would trim).
pub(crate) fn quote(out: &mut String, cell: &str) {
    if cell.contains([',', '"', '\n', '\r', ';']) || cell.trim() != cell {
        out.push('"');
        out.push_str(&cell.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(cell);
    }
}

/// Appends one CSV line.
pub(crate) fn line(out: &mut String, cells: impl IntoIterator<Item = String>) {
    for (i, c) in cells.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        quote(out, &c);
    }
    out.push('\n');
}

/// The problems of a file the bundle's CSV reader refused (encoding, an
/// unclosed quote, a ragged row, an empty file), as they are.
pub(crate) fn table_problems(problems: Vec<Problem>) -> Vec<Problem> {
    problems
}
