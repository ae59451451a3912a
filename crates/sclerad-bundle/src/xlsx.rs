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
        let range = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            book.worksheet_range(sheet)
        })) {
            Ok(Ok(range)) => range,
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
        let first_row = range.start().map_or(0, |(r, _)| r);
        let mut rows = range.rows().enumerate().map(|(i, cells)| {
            let number = first_row
                .saturating_add(u32::try_from(i).unwrap_or(u32::MAX))
                .saturating_add(1);
            (number, cells.iter().map(cell).collect::<Vec<_>>())
        });
        let blank = |cells: &[Cell<'_>]| cells.iter().all(|c| *c == Cell::Empty);
        let Some((header_row, header)) = rows.find(|(_, c)| !blank(c)) else {
            problems.push(Problem::error(
                "empty-file",
                Location::table(&name),
                "the sheet is empty: it needs a header row with the column names",
            ));
            return None;
        };
        let rows: Vec<RawRow<'static>> = rows
            .filter(|(_, c)| !blank(c))
            .map(|(number, cells)| RawRow { number, cells })
            .collect();
        Some(RawTable {
            name,
            header_row,
            header: header
                .iter()
                .map(|c| c.display().trim().to_string())
                .collect(),
            rows: vec![Box::new(rows.into_iter())],
            decimal_comma: false,
        })
    }
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
