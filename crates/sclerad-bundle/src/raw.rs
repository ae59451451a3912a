//! Untyped tables: the rows and cells of a CSV file or a worksheet, with the
//! row numbers a spreadsheet would show.

use std::borrow::Cow;

use chrono::NaiveDate;
use sclerad_model::{Location, Problem, TableName};

/// One cell before it is typed. CSV text is borrowed from the file where it
/// can be (most cells), so reading a million rows allocates little.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell<'a> {
    /// Nothing in the cell.
    Empty,
    /// Text (every CSV cell; text cells of a workbook), trimmed.
    Text(Cow<'a, str>),
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

impl Cell<'_> {
    /// The cell as the user sees it, for messages and for kept columns.
    pub(crate) fn display(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(s) => s.to_string(),
            Cell::Invalid(s) => s.clone(),
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
pub(crate) struct RawRow<'a> {
    /// Row number as a spreadsheet shows it (header = 1).
    pub number: u32,
    pub cells: Vec<Cell<'a>>,
}

/// The data rows of a table, produced as they are read (blank rows left
/// out), so a large file is typed row by row instead of held as cells.
pub(crate) type Rows<'a> = Box<dyn Iterator<Item = RawRow<'a>> + Send + 'a>;

/// A table before typing.
pub(crate) struct RawTable<'a> {
    pub name: TableName,
    /// Row number of the header.
    pub header_row: u32,
    pub header: Vec<String>,
    /// The rows in consecutive chunks (one for a small file, one per core
    /// for a large one), so they can be typed in parallel.
    pub rows: Vec<Rows<'a>>,
    /// Whether numeric cells may use a decimal comma (`;`-delimited CSV).
    pub decimal_comma: bool,
}

/// Decodes CSV bytes and splits them into a table. Returns `None` (with a
/// problem) when the file cannot be read as text at all.
pub(crate) fn csv_table<'a>(
    name: TableName,
    bytes: &'a [u8],
    problems: &mut Vec<Problem>,
) -> Option<RawTable<'a>> {
    let text = decode(&name, bytes, problems)?;
    let delimiter = detect_delimiter(text);
    let parts = if text.len() < PARALLEL_BYTES {
        1
    } else {
        std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .clamp(1, 8)
    };
    let scan = scan(text, delimiter, parts);
    if let Some(row) = scan.unclosed_quote {
        problems.push(Problem::error(
            "unclosed-quote",
            Location::row(&name, row),
            "a quoted cell opened in this row is never closed; everything after it was read as one cell",
        ));
    }
    // Chunk k runs from cut k-1 (or the start) to cut k (or the end).
    let mut bounds = vec![(0usize, 1u32)];
    bounds.extend(scan.cuts.iter().copied());
    let mut chunks = bounds.iter().enumerate().map(|(k, (start, row))| {
        let end = bounds.get(k + 1).map_or(text.len(), |(e, _)| *e);
        Records::starting_at(&text[*start..end], delimiter, *row).filter(|r| !is_blank(&r.cells))
    });
    // The header is the first non-blank record, in whichever chunk it is.
    let (header, first) = loop {
        let Some(mut chunk) = chunks.next() else {
            problems.push(Problem::error(
                "empty-file",
                Location::table(&name),
                "the file is empty: it needs a header row with the column names",
            ));
            return None;
        };
        if let Some(header) = chunk.next() {
            break (header, chunk);
        }
    };
    let mut rows: Vec<Rows<'a>> = vec![Box::new(first)];
    rows.extend(chunks.map(|c| Box::new(c) as Rows<'a>));
    Some(RawTable {
        name,
        header_row: header.number,
        header: header.cells.iter().map(Cell::display).collect(),
        rows,
        decimal_comma: delimiter == ';',
    })
}

/// A table of text cells (a study store's records, an edited record) as
/// an untyped table, with the row numbers a written file would have
/// (header = 1) and its cells trimmed like a CSV file's.
pub(crate) fn text_table<'a>(
    name: TableName,
    header: &[String],
    rows: &'a [Vec<String>],
) -> RawTable<'a> {
    let rows = rows.iter().enumerate().map(|(i, row)| RawRow {
        number: u32::try_from(i + 2).unwrap_or(u32::MAX),
        cells: row
            .iter()
            .map(|c| text_cell(Cow::Borrowed(c.as_str())))
            .collect(),
    });
    RawTable {
        name,
        header_row: 1,
        header: header.iter().map(|h| h.trim().to_string()).collect(),
        rows: vec![Box::new(rows.filter(|r| !is_blank(&r.cells)))],
        decimal_comma: false,
    }
}

/// Files smaller than this are read on one core.
const PARALLEL_BYTES: usize = 4 << 20;

pub(crate) fn is_blank(cells: &[Cell<'_>]) -> bool {
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

/// What one pass over the text finds before it is split into records.
struct Scan {
    /// The row where a quoted cell opens and is never closed, if any.
    unclosed_quote: Option<u32>,
    /// Record boundaries cutting the text into `parts` chunks of similar
    /// size: (byte offset, row number of the record starting there).
    cuts: Vec<(usize, u32)>,
}

fn scan(text: &str, delimiter: char, parts: usize) -> Scan {
    let bytes = text.as_bytes();
    // Machine-written files usually have no quotes and `\n` line ends: then
    // every `\n` ends a record, and counting them is all there is to do.
    if !bytes.contains(&b'"') && !bytes.contains(&b'\r') {
        let mut cuts = Vec::new();
        let (mut from, mut row) = (0usize, 1u32);
        for k in 1..parts {
            let target = (k * bytes.len() / parts).max(from);
            let Some(nl) = bytes[target..].iter().position(|b| *b == b'\n') else {
                break;
            };
            let cut = target + nl + 1;
            if cut >= bytes.len() {
                break;
            }
            let lines = bytes[from..cut].iter().filter(|b| **b == b'\n').count();
            row = row.saturating_add(u32::try_from(lines).unwrap_or(u32::MAX));
            cuts.push((cut, row));
            from = cut;
        }
        return Scan {
            unclosed_quote: None,
            cuts,
        };
    }
    let (mut row, mut quoted, mut at_start, mut opened) = (1u32, false, true, 1u32);
    let mut cuts = Vec::new();
    let mut next_cut = 1;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        i += 1;
        if quoted {
            if b == b'"' {
                if bytes.get(i) == Some(&b'"') {
                    i += 1;
                } else {
                    quoted = false;
                }
            }
            continue;
        }
        match b {
            b'"' if at_start => {
                quoted = true;
                opened = row;
                at_start = false;
            }
            b'\r' | b'\n' => {
                if b == b'\r' && bytes.get(i) == Some(&b'\n') {
                    i += 1;
                }
                row = row.saturating_add(1);
                at_start = true;
                if next_cut < parts && i >= next_cut * bytes.len() / parts && i < bytes.len() {
                    cuts.push((i, row));
                    next_cut += 1;
                }
            }
            b if b == delimiter as u8 => at_start = true,
            _ => at_start = false,
        }
    }
    Scan {
        unclosed_quote: quoted.then_some(opened),
        cuts,
    }
}

/// The records of CSV text (RFC 4180 quoting; `\n`, `\r\n` or `\r` line
/// ends), each with its spreadsheet row number (a quoted line break does not
/// start a row). Unquoted cells are borrowed from the text; a quote that is
/// never closed swallows the rest of the text into one cell.
pub(crate) struct Records<'a> {
    text: &'a str,
    pos: usize,
    row: u32,
    delimiter: u8,
}

impl<'a> Records<'a> {
    /// The records of `text`, the first of which is spreadsheet row `row`.
    pub(crate) fn starting_at(text: &'a str, delimiter: char, row: u32) -> Self {
        Records {
            text,
            pos: 0,
            row,
            delimiter: delimiter as u8,
        }
    }

    /// One field starting at `self.pos`; leaves `pos` on the delimiter, the
    /// line end or the end of the text.
    fn field(&mut self) -> Cell<'a> {
        let bytes = self.text.as_bytes();
        let start = self.pos;
        let at = |i: usize| bytes.get(i).copied();
        if at(start) != Some(b'"') {
            let mut i = start;
            while let Some(b) = at(i) {
                if b == self.delimiter || b == b'\n' || b == b'\r' {
                    break;
                }
                i += 1;
            }
            self.pos = i;
            return text_cell(Cow::Borrowed(&self.text[start..i]));
        }
        // Quoted: find the closing quote, unescaping "" if any.
        let mut owned: Option<String> = None;
        let mut i = start + 1;
        let mut piece = i;
        loop {
            match at(i) {
                None => {
                    let tail = &self.text[piece..];
                    let value = match owned {
                        Some(mut o) => {
                            o.push_str(tail);
                            Cow::Owned(o)
                        }
                        None => Cow::Borrowed(tail),
                    };
                    self.pos = i;
                    return text_cell(value);
                }
                Some(b'"') if at(i + 1) == Some(b'"') => {
                    let o = owned.get_or_insert_with(String::new);
                    o.push_str(&self.text[piece..=i]);
                    i += 2;
                    piece = i;
                }
                Some(b'"') => break,
                Some(_) => i += 1,
            }
        }
        let inside = &self.text[piece..i];
        i += 1;
        // Anything after the closing quote up to the delimiter is kept, as
        // spreadsheets do.
        let after_start = i;
        while let Some(b) = at(i) {
            if b == self.delimiter || b == b'\n' || b == b'\r' {
                break;
            }
            i += 1;
        }
        self.pos = i;
        let after = &self.text[after_start..i];
        let value = match (owned, after.is_empty()) {
            (None, true) => Cow::Borrowed(inside),
            (owned, _) => {
                let mut o = owned.unwrap_or_default();
                o.push_str(inside);
                o.push_str(after);
                Cow::Owned(o)
            }
        };
        text_cell(value)
    }
}

/// A trimmed text cell; empty text is an empty cell.
fn text_cell(value: Cow<'_, str>) -> Cell<'_> {
    let bytes = value.as_bytes();
    let plain = |b: Option<&u8>| b.is_some_and(|b| !b.is_ascii_whitespace() && b.is_ascii());
    // Most cells have nothing to trim: check the two ends before trimming.
    if plain(bytes.first()) && plain(bytes.last()) {
        return Cell::Text(value);
    }
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Cell::Empty;
    }
    match value {
        Cow::Borrowed(b) => Cell::Text(Cow::Borrowed(b.trim())),
        Cow::Owned(o) if o.len() == trimmed.len() => Cell::Text(Cow::Owned(o)),
        Cow::Owned(_) => Cell::Text(Cow::Owned(trimmed.to_string())),
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = RawRow<'a>;

    fn next(&mut self) -> Option<RawRow<'a>> {
        let bytes = self.text.as_bytes();
        if self.pos >= bytes.len() {
            return None;
        }
        let mut cells = Vec::new();
        loop {
            cells.push(self.field());
            match bytes.get(self.pos).copied() {
                Some(b) if b == self.delimiter => self.pos += 1,
                Some(b'\r') => {
                    self.pos += if bytes.get(self.pos + 1) == Some(&b'\n') {
                        2
                    } else {
                        1
                    };
                    break;
                }
                Some(b'\n') => {
                    self.pos += 1;
                    break;
                }
                _ => break,
            }
        }
        let number = self.row;
        self.row = self.row.saturating_add(1);
        Some(RawRow { number, cells })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Split<'a> = (Vec<String>, Vec<RawRow<'a>>, bool);

    fn table(text: &str) -> (Option<Split<'_>>, Vec<Problem>) {
        let mut problems = Vec::new();
        let t = csv_table(
            TableName::file("patients.csv"),
            text.as_bytes(),
            &mut problems,
        )
        .map(|t| {
            (
                t.header,
                t.rows.into_iter().flatten().collect(),
                t.decimal_comma,
            )
        });
        (t, problems)
    }

    fn texts(row: &RawRow<'_>) -> Vec<String> {
        row.cells.iter().map(Cell::display).collect()
    }

    #[test]
    fn splits_quoted_cells_and_counts_spreadsheet_rows() {
        let (t, p) = table("a,b\r\n1,\"x, \"\"y\"\"\"\n\n\"multi\nline\",2\n3,4");
        assert!(p.is_empty(), "{p:?}");
        let (header, rows, decimal_comma) = t.expect("table");
        assert_eq!(header, ["a", "b"]);
        assert_eq!(rows.len(), 3);
        assert_eq!(texts(&rows[0]), ["1", "x, \"y\""]);
        assert_eq!(rows[0].number, 2);
        // The blank line is row 3; the multi-line cell starts in row 4.
        assert_eq!(rows[1].number, 4);
        assert_eq!(texts(&rows[1]), ["multi\nline", "2"]);
        // A spreadsheet shows the multi-line cell as one row.
        assert_eq!(rows[2].number, 5);
        assert!(!decimal_comma);
    }

    #[test]
    fn detects_semicolons_and_strips_bom() {
        let (t, p) = table("\u{feff}patient_id;age_years\nP1;56,9\n");
        assert!(p.is_empty());
        let (header, rows, decimal_comma) = t.expect("table");
        assert_eq!(header, ["patient_id", "age_years"]);
        assert!(decimal_comma);
        assert_eq!(texts(&rows[0]), ["P1", "56,9"]);
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
