//! Untyped tables: the rows and cells of a CSV file or a worksheet, with the
//! row numbers a spreadsheet would show.

use chrono::NaiveDate;
use sclerad_model::{Location, Problem, TableName};

/// One cell before it is typed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    /// Nothing in the cell.
    Empty,
    /// Text (every CSV cell; text cells of a workbook), trimmed.
    Text(String),
    /// A numeric workbook cell.
    Number(f64),
    /// A boolean workbook cell.
    Bool(bool),
    /// A workbook cell formatted as a date.
    Date(NaiveDate),
    /// A workbook cell that cannot hold data (an Excel error, a duration…);
    /// the text says what it is.
    Invalid(String),
}

impl Cell {
    /// The cell as the user sees it, for messages and for kept columns.
    pub(crate) fn display(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(s) | Cell::Invalid(s) => s.clone(),
            Cell::Number(x) => format_number(*x),
            Cell::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
            Cell::Date(d) => d.to_string(),
        }
    }
}

/// Formats a number the way a user typed it: integers without `.0`.
pub(crate) fn format_number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

/// One data row.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RawRow {
    /// Row number as a spreadsheet shows it (header = 1).
    pub number: u32,
    pub cells: Vec<Cell>,
}

/// A table before typing.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RawTable {
    pub name: TableName,
    /// Row number of the header.
    pub header_row: u32,
    pub header: Vec<String>,
    pub rows: Vec<RawRow>,
    /// Whether numeric cells may use a decimal comma (`;`-delimited CSV).
    pub decimal_comma: bool,
}

/// Decodes CSV bytes and splits them into a table. Returns `None` (with a
/// problem) when the file cannot be read as text at all.
pub(crate) fn csv_table(
    name: TableName,
    bytes: &[u8],
    problems: &mut Vec<Problem>,
) -> Option<RawTable> {
    let text = decode(&name, bytes, problems)?;
    let delimiter = detect_delimiter(text);
    let (records, unclosed) = tokenize(text, delimiter);
    if let Some(row) = unclosed {
        problems.push(Problem::error(
            "unclosed-quote",
            Location::row(&name, row),
            "a quoted cell opened in this row is never closed; everything after it was read as one cell",
        ));
    }
    let mut records = records.into_iter();
    let Some((header_row, header)) = records.find(|(_, cells)| !is_blank(cells)) else {
        problems.push(Problem::error(
            "empty-file",
            Location::table(&name),
            "the file is empty: it needs a header row with the column names",
        ));
        return None;
    };
    let rows = records
        .filter(|(_, cells)| !is_blank(cells))
        .map(|(number, cells)| RawRow { number, cells })
        .collect();
    Some(RawTable {
        name,
        header_row,
        header: header.iter().map(Cell::display).collect(),
        rows,
        decimal_comma: delimiter == ';',
    })
}

fn is_blank(cells: &[Cell]) -> bool {
    cells.iter().all(|c| *c == Cell::Empty)
}

fn decode<'a>(name: &TableName, bytes: &'a [u8], problems: &mut Vec<Problem>) -> Option<&'a str> {
    let mut fail = |code: &'static str, at: Option<usize>, message: String| {
        let (row, column) = match at {
            Some(pos) => (Some(line_of(bytes, pos)), column_at(bytes, pos)),
            None => (None, None),
        };
        let location = Location {
            row,
            column,
            ..Location::table(name)
        };
        problems.push(Problem::error(code, location, message));
        None
    };
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return fail(
            "not-utf8",
            None,
            "the file is UTF-16 encoded; save it as \"CSV UTF-8\"".into(),
        );
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return fail(
            "binary-file",
            None,
            "this is a zip archive (an .xlsx workbook?), not a CSV file; give the workbook an .xlsx name".into(),
        );
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Some(pos) = bytes.iter().position(|b| *b == 0) {
        return fail(
            "binary-file",
            Some(pos),
            "the file holds binary data (a NUL byte), not CSV text".into(),
        );
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => Some(text),
        Err(e) => {
            let pos = e.valid_up_to();
            fail(
                "not-utf8",
                Some(pos),
                format!(
                    "the file is not UTF-8 (byte 0x{:02X} at offset {pos}); it is probably Latin-1/Windows-1252: save it as \"CSV UTF-8\"",
                    bytes.get(pos).copied().unwrap_or(0)
                ),
            )
        }
    }
}

/// The header name of the cell holding byte `pos`, found by counting
/// separators on its line (quotes ignored: this is only a pointer for the
/// user, in a file that cannot be parsed anyway).
fn column_at(bytes: &[u8], pos: usize) -> Option<String> {
    let pos = pos.min(bytes.len());
    let header_end = bytes
        .iter()
        .position(|b| *b == b'\n')
        .unwrap_or(bytes.len());
    let header = String::from_utf8_lossy(&bytes[..header_end]);
    let delimiter = detect_delimiter(&header);
    let line_start = bytes[..pos]
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    let index = bytes[line_start..pos]
        .iter()
        .filter(|b| **b == delimiter as u8)
        .count();
    let name = header.split(delimiter).nth(index)?.trim().to_string();
    (!name.is_empty()).then_some(name)
}

fn line_of(bytes: &[u8], pos: usize) -> u32 {
    let lines = bytes[..pos.min(bytes.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count();
    u32::try_from(lines).unwrap_or(u32::MAX).saturating_add(1)
}

/// `;` when the header line (the first non-blank line) has more semicolons
/// than commas outside quotes.
fn detect_delimiter(text: &str) -> char {
    let (mut commas, mut semicolons, mut quoted) = (0usize, 0usize, false);
    for c in text.trim_start_matches(['\n', '\r', ' ', '\t']).chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => commas += 1,
            ';' if !quoted => semicolons += 1,
            '\n' | '\r' if !quoted => break,
            _ => {}
        }
    }
    if semicolons > commas {
        ';'
    } else {
        ','
    }
}

/// One field as a cell: trimmed, empty cells carry no allocation.
fn field_cell(field: &str) -> Cell {
    let t = field.trim();
    if t.is_empty() {
        Cell::Empty
    } else {
        Cell::Text(t.to_string())
    }
}

/// Splits CSV text into records (RFC 4180 quoting; `\n`, `\r\n` or `\r`
/// line ends). Each record carries its spreadsheet row number. Returns the
/// row of a quote that is never closed, if any.
fn tokenize(text: &str, delimiter: char) -> (Vec<(u32, Vec<Cell>)>, Option<u32>) {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut row: u32 = 1;
    let mut chars = text.chars().peekable();
    let mut in_quotes = false;
    let mut quote_row = None;
    let mut at_field_start = true;
    let mut any = false;
    while let Some(c) = chars.next() {
        any = true;
        if in_quotes {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    in_quotes = false;
                }
            } else {
                field.push(c);
            }
            continue;
        }
        match c {
            '"' if at_field_start => {
                in_quotes = true;
                quote_row = Some(row);
                at_field_start = false;
            }
            c if c == delimiter => {
                record.push(field_cell(&field));
                field.clear();
                at_field_start = true;
            }
            '\r' | '\n' => {
                if c == '\r' && chars.peek() == Some(&'\n') {
                    chars.next();
                }
                record.push(field_cell(&field));
                field.clear();
                let width = record.len();
                records.push((
                    row,
                    std::mem::replace(&mut record, Vec::with_capacity(width)),
                ));
                row = row.saturating_add(1);
                at_field_start = true;
                any = false;
            }
            c => {
                field.push(c);
                at_field_start = false;
            }
        }
    }
    if any || !record.is_empty() {
        record.push(field_cell(&field));
        records.push((row, record));
    }
    (records, if in_quotes { quote_row } else { None })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> (Option<RawTable>, Vec<Problem>) {
        let mut problems = Vec::new();
        let t = csv_table(
            TableName::file("patients.csv"),
            text.as_bytes(),
            &mut problems,
        );
        (t, problems)
    }

    fn texts(row: &RawRow) -> Vec<String> {
        row.cells.iter().map(Cell::display).collect()
    }

    #[test]
    fn splits_quoted_cells_and_counts_spreadsheet_rows() {
        let (t, p) = table("a,b\r\n1,\"x, \"\"y\"\"\"\n\n\"multi\nline\",2\n3,4");
        assert!(p.is_empty(), "{p:?}");
        let t = t.expect("table");
        assert_eq!(t.header, ["a", "b"]);
        assert_eq!(t.rows.len(), 3);
        assert_eq!(texts(&t.rows[0]), ["1", "x, \"y\""]);
        assert_eq!(t.rows[0].number, 2);
        // The blank line is row 3; the multi-line cell starts in row 4.
        assert_eq!(t.rows[1].number, 4);
        assert_eq!(texts(&t.rows[1]), ["multi\nline", "2"]);
        // A spreadsheet shows the multi-line cell as one row.
        assert_eq!(t.rows[2].number, 5);
        assert!(!t.decimal_comma);
    }

    #[test]
    fn detects_semicolons_and_strips_bom() {
        let (t, p) = table("\u{feff}patient_id;age_years\nP1;56,9\n");
        assert!(p.is_empty());
        let t = t.expect("table");
        assert_eq!(t.header, ["patient_id", "age_years"]);
        assert!(t.decimal_comma);
        assert_eq!(texts(&t.rows[0]), ["P1", "56,9"]);
    }

    #[test]
    fn refuses_binary_and_non_utf8_with_a_row() {
        let mut problems = Vec::new();
        let name = TableName::file("p.csv");
        assert!(csv_table(name.clone(), b"a,b\n1,\xE9t\xE9\n", &mut problems).is_none());
        assert_eq!(problems[0].code, "not-utf8");
        assert_eq!(problems[0].location.row, Some(2));
        assert_eq!(problems[0].location.column.as_deref(), Some("b"));
        problems.clear();
        assert!(csv_table(name.clone(), b"a,b\n\0\x01", &mut problems).is_none());
        assert_eq!(problems[0].code, "binary-file");
        problems.clear();
        assert!(csv_table(name.clone(), b"", &mut problems).is_none());
        assert_eq!(problems[0].code, "empty-file");
        problems.clear();
        assert!(csv_table(name, b"\n ; \n", &mut problems).is_none());
        assert_eq!(problems[0].code, "empty-file");
    }

    #[test]
    fn reports_an_unclosed_quote() {
        let (_, p) = table("a,b\n1,\"never closed\n2,3\n");
        assert_eq!(p[0].code, "unclosed-quote");
        assert_eq!(p[0].location.row, Some(2));
    }
}
