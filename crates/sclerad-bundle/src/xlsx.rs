//! Reading the sheets of an `.xlsx` workbook into untyped tables.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use chrono::NaiveDate;
use sclerad_model::{Location, Problem, TableName};

use crate::raw::{Cell, RawRow, RawTable};

/// The sheets of a workbook, by name as written.
pub(crate) struct Workbook {
    file: String,
    book: Xlsx<Cursor<Vec<u8>>>,
    pub sheet_names: Vec<String>,
}

impl Workbook {
    /// Opens a workbook; a file that is not one becomes a problem.
    pub(crate) fn open(file: &str, bytes: Vec<u8>, problems: &mut Vec<Problem>) -> Option<Self> {
        let opened = std::panic::catch_unwind(move || Xlsx::new(Cursor::new(bytes)));
        match opened {
            Ok(Ok(book)) => {
                let sheet_names = book.sheet_names().to_vec();
                Some(Workbook {
                    file: file.to_string(),
                    book,
                    sheet_names,
                })
            }
            Ok(Err(e)) => {
                problems.push(Problem::error(
                    "bad-workbook",
                    Location::table(&TableName::file(file)),
                    format!("this file cannot be read as an .xlsx workbook ({e})"),
                ));
                None
            }
            Err(_) => {
                problems.push(Problem::error(
                    "bad-workbook",
                    Location::table(&TableName::file(file)),
                    "this file cannot be read as an .xlsx workbook (its structure is damaged)",
                ));
                None
            }
        }
    }

    /// The sheet whose name matches `wanted` (case-insensitive, trimmed).
    pub(crate) fn find(&self, wanted: &str) -> Option<String> {
        self.sheet_names
            .iter()
            .find(|s| s.trim().eq_ignore_ascii_case(wanted))
            .cloned()
    }

    /// Reads one sheet into a table.
    pub(crate) fn table(
        &mut self,
        sheet: &str,
        problems: &mut Vec<Problem>,
    ) -> Option<RawTable<'static>> {
        let name = TableName::sheet(&self.file, sheet);
        let book = &mut self.book;
        // Cell by cell, keeping only the cells present: memory follows the
        // data, never the extent a cell's address or the sheet's dimension
        // claims (a lone cell at XFD1048576 must not build a dense range).
        let read =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sparse_cells(book, sheet)));
        let cells = match read {
            Ok(Ok(Ok(cells))) => cells,
            Ok(Ok(Err((row, column)))) => {
                problems.push(Problem::error(
                    "sheet-too-large",
                    Location::table(&name),
                    format!(
                        "this sheet has a cell at row {}, column {}, beyond what a spreadsheet can hold ({MAX_ROWS} rows, {MAX_COLUMNS} columns); the sheet was not read",
                        u64::from(row) + 1,
                        crate::tables::column_letter(usize::try_from(column).unwrap_or(usize::MAX))
                    ),
                ));
                return None;
            }
            Ok(Err(e)) => {
                problems.push(Problem::error(
                    "bad-workbook",
                    Location::table(&name),
                    format!("this sheet cannot be read ({e})"),
                ));
                return None;
            }
            Err(_) => {
                problems.push(Problem::error(
                    "bad-workbook",
                    Location::table(&name),
                    "this sheet cannot be read (its structure is damaged)",
                ));
                return None;
            }
        };
        let mut rows = cells.into_iter();
        let Some((header_index, header_cells)) = rows.next() else {
            problems.push(Problem::error(
                "empty-file",
                Location::table(&name),
                "the sheet is empty: it needs a header row with the column names",
            ));
            return None;
        };
        let width = header_cells
            .iter()
            .map(|(c, _)| usize::try_from(*c).unwrap_or(usize::MAX).saturating_add(1))
            .max()
            .unwrap_or(0);
        if width > MAX_TABLE_COLUMNS {
            problems.push(Problem::error(
                "sheet-too-large",
                Location::row(&name, header_index.saturating_add(1)),
                format!(
                    "the header row reaches column {} ({width} columns); a bundle table has at most {MAX_TABLE_COLUMNS} columns, so the sheet was not read",
                    crate::tables::column_letter(width - 1)
                ),
            ));
            return None;
        }
        let mut header = vec![String::new(); width];
        for (c, v) in header_cells {
            if let Some(slot) = usize::try_from(c).ok().and_then(|c| header.get_mut(c)) {
                *slot = v.display().trim().to_string();
            }
        }
        // Each row as wide as the header; a cell past it is kept as one
        // extra cell, so the row is reported as ragged.
        let rows: Vec<RawRow<'static>> = rows
            .map(|(index, present)| {
                let mut cells = vec![Cell::Empty; width];
                let mut extra = None;
                for (c, v) in present {
                    match usize::try_from(c).ok().filter(|c| *c < width) {
                        Some(c) => cells[c] = v,
                        None => extra = extra.or(Some(v)),
                    }
                }
                cells.extend(extra);
                RawRow {
                    number: index.saturating_add(1),
                    cells,
                }
            })
            .collect();
        Some(RawTable {
            name,
            header_row: header_index.saturating_add(1),
            header,
            rows: vec![Box::new(rows.into_iter())],
            decimal_comma: false,
        })
    }
}

/// The most rows and columns a worksheet can have (Excel's limits).
const MAX_ROWS: u32 = 1 << 20;
const MAX_COLUMNS: u32 = 1 << 14;
/// The widest header a bundle table may have (the format defines about 50
/// columns; unknown ones are kept, within reason).
const MAX_TABLE_COLUMNS: usize = 1_024;

/// The rows of a sheet that hold at least one non-empty cell, in order, each
/// with its non-empty cells (column index, cell); or the position of a cell
/// beyond a worksheet's limits.
#[allow(clippy::type_complexity)]
fn sparse_cells(
    book: &mut Xlsx<Cursor<Vec<u8>>>,
    sheet: &str,
) -> Result<Result<Vec<(u32, Vec<(u32, Cell<'static>)>)>, (u32, u32)>, calamine::XlsxError> {
    let mut reader = book.worksheet_cells_reader(sheet)?;
    let mut rows: std::collections::BTreeMap<u32, Vec<(u32, Cell<'static>)>> =
        std::collections::BTreeMap::new();
    while let Some(c) = reader.next_cell()? {
        let (row, column) = c.get_position();
        if row >= MAX_ROWS || column >= MAX_COLUMNS {
            return Ok(Err((row, column)));
        }
        let value = cell(&Data::from(c.get_value().clone()));
        if value != Cell::Empty {
            rows.entry(row).or_default().push((column, value));
        }
    }
    Ok(Ok(rows.into_iter().collect()))
}

fn cell(data: &Data) -> Cell<'static> {
    match data {
        Data::Empty => Cell::Empty,
        Data::String(s) => {
            let t = s.trim();
            if t.is_empty() {
                Cell::Empty
            } else {
                Cell::Text(t.to_string().into())
            }
        }
        Data::Int(i) => Cell::Number(*i as f64),
        Data::Float(x) => Cell::Number(*x),
        Data::Bool(b) => Cell::Bool(*b),
        Data::DateTime(dt) => {
            let serial = dt.as_f64();
            if !dt.is_datetime() {
                return Cell::Invalid(format!("duration {serial}"));
            }
            // Excel's calendar ends at serial 2958465 (9999-12-31).
            if !(0.0..2_958_466.0).contains(&serial) {
                return Cell::Invalid(format!("date serial {serial}"));
            }
            let (y, m, d, ..) = dt.to_ymd_hms_milli();
            match NaiveDate::from_ymd_opt(i32::from(y), u32::from(m), u32::from(d)) {
                Some(date) => Cell::Date(date),
                None => Cell::Invalid(format!("{y:04}-{m:02}-{d:02}")),
            }
        }
        Data::DateTimeIso(s) => {
            let date = s
                .get(..10)
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
            date.map_or_else(|| Cell::Invalid(s.clone()), Cell::Date)
        }
        Data::DurationIso(s) => Cell::Invalid(format!("duration {s}")),
        Data::Error(calamine::CellErrorType::NA) => Cell::Empty,
        Data::Error(e) => Cell::Invalid(format!("Excel error {e}")),
    }
}
