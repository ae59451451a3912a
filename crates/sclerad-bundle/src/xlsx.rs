//! Reading the sheets of an `.xlsx` workbook into untyped tables.

use std::io::Cursor;
use std::sync::Arc;

use calamine::{Data, Reader, Xlsx};
use chrono::NaiveDate;
use sclerad_model::{Location, Problem, TableName};

use crate::raw::{Cell, RawRow, RawTable};

/// A workbook's bytes, shared between the readers of its sheets.
#[derive(Clone)]
pub(crate) struct Shared(Arc<Vec<u8>>);

impl AsRef<[u8]> for Shared {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// A workbook opened over its shared bytes.
pub(crate) type Book = Xlsx<Cursor<Shared>>;

/// The sheets of a workbook, by name as written.
pub(crate) struct Workbook {
    file: String,
    bytes: Shared,
    book: Book,
    pub sheet_names: Vec<String>,
}

impl Workbook {
    /// Opens a workbook; a file that is not one becomes a problem.
    pub(crate) fn open(file: &str, bytes: Vec<u8>, problems: &mut Vec<Problem>) -> Option<Self> {
        let bytes = Shared(Arc::new(bytes));
        let shared = bytes.clone();
        let opened = std::panic::catch_unwind(move || Xlsx::new(Cursor::new(shared)));
        match opened {
            Ok(Ok(book)) => {
                let sheet_names = book.sheet_names().to_vec();
                Some(Workbook {
                    file: file.to_string(),
                    bytes,
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

    /// Reads one sheet into a table, its rows produced as the typing asks
    /// for them: memory follows the rows being typed, never the sheet's
    /// size, nor the extent a cell's address or the sheet's dimension
    /// claims (a lone cell at XFD1048576 must not build a dense range, and
    /// a 3 MB workbook may hold 20 million cells).
    ///
    /// A first pass over the cells checks the sheet's extent and finds the
    /// header, keeping nothing else; the rows are then read again, lazily,
    /// by a reader over `rows_book` (a book of their own), as the typing
    /// asks for them.
    /// Worksheets list rows in order (as the format requires); one that
    /// does not is read whole, up to [`MAX_UNORDERED_CELLS`] cells.
    pub(crate) fn table<'b>(
        &mut self,
        sheet: &str,
        problems: &mut Vec<Problem>,
        rows_book: &'b mut Option<Book>,
    ) -> Option<RawTable<'b>> {
        let name = TableName::sheet(&self.file, sheet);
        let book = &mut self.book;
        let scanned = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| scan(book, sheet)));
        let scan = match scanned {
            Ok(Ok(scan)) => scan,
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
        if let Some((row, column)) = scan.beyond {
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
        let Some((header_index, header_cells)) = scan.header else {
            problems.push(Problem::error(
                "empty-file",
                Location::table(&name),
                "the sheet is empty: it needs a header row with the column names",
            ));
            return None;
        };
        if !scan.ordered && scan.cells > MAX_UNORDERED_CELLS {
            problems.push(Problem::error(
                "sheet-too-large",
                Location::table(&name),
                format!(
                    "this sheet lists its rows out of order and holds {} cells; such a sheet is read whole, and at most {MAX_UNORDERED_CELLS} cells are; save it again from a spreadsheet to put its rows in order",
                    scan.cells
                ),
            ));
            return None;
        }
        // Out of order: read whole, sorted; its first row is the header.
        let mut unordered = Vec::new();
        let (header_index, header_cells) = if scan.ordered {
            (header_index, header_cells)
        } else {
            let book = &mut self.book;
            let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                sparse_cells(book, sheet)
            }));
            let Ok(Ok(Ok(cells))) = read else {
                problems.push(Problem::error(
                    "bad-workbook",
                    Location::table(&name),
                    "this sheet cannot be read (its structure is damaged)",
                ));
                return None;
            };
            let mut cells = cells.into_iter();
            let Some(first) = cells.next() else {
                problems.push(Problem::error(
                    "empty-file",
                    Location::table(&name),
                    "the sheet is empty: it needs a header row with the column names",
                ));
                return None;
            };
            unordered = cells.collect();
            first
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
        let rows: crate::raw::Rows<'b> = if scan.ordered {
            // The rows are read again, lazily, by a reader over a book of
            // their own, as the typing asks for them.
            let opened = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                Xlsx::new(Cursor::new(self.bytes.clone()))
            }));
            let Ok(Ok(book)) = opened else {
                problems.push(Problem::error(
                    "bad-workbook",
                    Location::table(&name),
                    "this sheet cannot be read (its structure is damaged)",
                ));
                return None;
            };
            let book = rows_book.insert(book);
            // The first pass opened a reader on this sheet already.
            let Ok(reader) = book.worksheet_cells_reader(sheet) else {
                problems.push(Problem::error(
                    "bad-workbook",
                    Location::table(&name),
                    "this sheet cannot be read (its structure is damaged)",
                ));
                return None;
            };
            Box::new(SheetRows {
                reader: Some(reader),
                header_index,
                width,
                current: None,
            })
        } else {
            let rows: Vec<RawRow<'static>> = unordered
                .into_iter()
                .map(|(index, present)| raw_row(index, present, width))
                .collect();
            Box::new(rows.into_iter())
        };
        Some(RawTable {
            name,
            header_row: header_index.saturating_add(1),
            header,
            rows: vec![rows],
            decimal_comma: false,
        })
    }
}

/// A row as wide as the header from its non-empty cells; a cell past the
/// header is kept as one extra cell, so the row is reported as ragged.
fn raw_row(index: u32, present: Vec<(u32, Cell<'static>)>, width: usize) -> RawRow<'static> {
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
}

/// What the first pass over a sheet found.
struct Scan {
    /// The first row holding a non-empty cell, with those cells.
    header: Option<(u32, Vec<(u32, Cell<'static>)>)>,
    /// A cell beyond a worksheet's limits.
    beyond: Option<(u32, u32)>,
    /// Whether rows come in order.
    ordered: bool,
    /// Non-empty cells.
    cells: u64,
}

fn scan(book: &mut Book, sheet: &str) -> Result<Scan, calamine::XlsxError> {
    let mut reader = book.worksheet_cells_reader(sheet)?;
    let mut scan = Scan {
        header: None,
        beyond: None,
        ordered: true,
        cells: 0,
    };
    let mut last = 0;
    while let Some(c) = reader.next_cell()? {
        let (row, column) = c.get_position();
        if row >= MAX_ROWS || column >= MAX_COLUMNS {
            scan.beyond = Some((row, column));
            return Ok(scan);
        }
        scan.ordered &= row >= last;
        last = last.max(row);
        // Only the header's values are made; the others are only looked at.
        if blank(c.get_value()) {
            continue;
        }
        scan.cells += 1;
        let header_row = scan.header.as_ref().map(|(at, _)| *at);
        if header_row.is_none() || header_row == Some(row) {
            let value = cell_of(c.get_value());
            match &mut scan.header {
                None => scan.header = Some((row, vec![(column, value)])),
                Some((_, cells)) => cells.push((column, value)),
            }
        }
    }
    Ok(scan)
}

/// The rows of an ordered sheet after its header, read as they are asked
/// for: one row's cells at a time in memory. The first pass already read
/// the same bytes without error, so this simply ends on one (or on a panic
/// of the reader).
struct SheetRows<'b> {
    reader: Option<calamine::XlsxCellReader<'b, Cursor<Shared>>>,
    header_index: u32,
    width: usize,
    /// The row being gathered.
    current: Option<(u32, Vec<(u32, Cell<'static>)>)>,
}

impl<'b> Iterator for SheetRows<'b> {
    type Item = RawRow<'b>;

    fn next(&mut self) -> Option<RawRow<'b>> {
        loop {
            let Some(reader) = self.reader.as_mut() else {
                let (at, cells) = self.current.take()?;
                return Some(raw_row(at, cells, self.width));
            };
            let next = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                reader.next_cell().ok().flatten().map(|c| {
                    let (row, column) = c.get_position();
                    let value = if blank(c.get_value()) {
                        Cell::Empty
                    } else {
                        cell_of(c.get_value())
                    };
                    (row, column, value)
                })
            }));
            let Ok(Some((row, column, value))) = next else {
                self.reader = None;
                continue;
            };
            if row <= self.header_index || value == Cell::Empty {
                continue;
            }
            match &mut self.current {
                Some((at, cells)) if *at == row => cells.push((column, value)),
                _ => {
                    if let Some((at, cells)) = self.current.replace((row, vec![(column, value)])) {
                        return Some(raw_row(at, cells, self.width));
                    }
                }
            }
        }
    }
}

/// The most cells of a sheet whose rows are out of order, which is read
/// whole (about 70 bytes a cell).
const MAX_UNORDERED_CELLS: u64 = 5_000_000;

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
    book: &mut Book,
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
        let value = cell_of(c.get_value());
        if value != Cell::Empty {
            rows.entry(row).or_default().push((column, value));
        }
    }
    Ok(Ok(rows.into_iter().collect()))
}

/// Whether a cell reads as [`Cell::Empty`], without making its value.
fn blank(value: &calamine::DataRef<'_>) -> bool {
    use calamine::DataRef;
    match value {
        DataRef::Empty | DataRef::Error(calamine::CellErrorType::NA) => true,
        DataRef::String(s) => s.trim().is_empty(),
        DataRef::SharedString(s) => s.trim().is_empty(),
        _ => false,
    }
}

/// The most characters a spreadsheet cell holds (Excel's limit); a longer
/// text is not a value any column can take, and is not kept.
const MAX_CELL_CHARS: usize = 32_767;

/// A cell from the reader's value, its text copied once (trimmed) and only
/// if a spreadsheet could hold it.
fn cell_of(value: &calamine::DataRef<'_>) -> Cell<'static> {
    use calamine::DataRef;
    let text = match value {
        DataRef::String(s) => s.as_str(),
        DataRef::SharedString(s) => s,
        other => return cell(&Data::from(other.clone())),
    };
    let t = text.trim();
    if t.is_empty() {
        return Cell::Empty;
    }
    if t.len() > MAX_CELL_CHARS && t.chars().count() > MAX_CELL_CHARS {
        return Cell::Invalid(format!(
            "{} characters, more than the 32,767 a spreadsheet cell holds",
            t.chars().count()
        ));
    }
    Cell::Text(t.to_string().into())
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
