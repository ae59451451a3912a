//! Typing the three tables of a bundle into the model's records, collecting
//! every cell-level problem on the way.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use sclerad_model::Fnv;

use chrono::NaiveDate;
use sclerad_model::{
    ColumnKind, ColumnSet, CtType, HandReading, HandSide, HandSite, Lesion, LevelSet, Location,
    Morphology, Patient, PatientColumn as Col, Problem, Readings, Requirement, Sex, SpineFlag,
    SpineReading, SpineSegment, SpineSide, Subset, VertebralLevel,
};

use crate::cell::{self, DateFormat};
use crate::raw::{Cell, RawRow, RawTable};

/// A table's header and name, without its rows (which are consumed as they
/// are typed).
pub(crate) struct TableInfo<'t> {
    pub name: &'t sclerad_model::TableName,
    pub header_row: u32,
    pub header: &'t [String],
    pub decimal_comma: bool,
}

impl<'t> TableInfo<'t> {
    /// The header and name of `table` (its rows are taken separately).
    fn of(table: &'t RawTable<'_>) -> Self {
        TableInfo {
            name: &table.name,
            header_row: table.header_row,
            header: &table.header,
            decimal_comma: table.decimal_comma,
        }
    }
}

fn no_rows(t: &TableInfo<'_>, message: &str) -> Problem {
    Problem::error("no-rows", Location::table(t.name), message)
}

/// Positions asked for, in the order asked (keyed by name address), and the
/// cursor into them.
type Memo = (Vec<(usize, Option<usize>)>, usize);

/// The columns of one table: where each known column is, and the unknown ones.
#[derive(Clone)]
pub(crate) struct Columns {
    index: HashMap<String, usize, BuildHasherDefault<Fnv>>,
    /// Header names as written.
    names: Vec<String>,
    /// Positions of unknown columns, in order.
    pub extra: Vec<usize>,
    /// Positions of columns with an empty header, and whether a row with
    /// data there has been reported.
    unnamed: Vec<(usize, bool)>,
    /// `position` answers by the address of the (static) name asked for.
    /// Every row asks for the same names in the same order, so the answers
    /// are kept in that order with a cursor: usually one comparison.
    memo: std::cell::RefCell<Memo>,
}

impl Columns {
    /// Maps a header, reporting duplicate, unnamed and unknown columns.
    pub(crate) fn map(t: &TableInfo<'_>, known: &[&str], problems: &mut Vec<Problem>) -> Columns {
        let mut index: HashMap<String, usize, BuildHasherDefault<Fnv>> = HashMap::default();
        let mut extra = Vec::new();
        let mut unnamed = Vec::new();
        for (i, name) in t.header.iter().enumerate() {
            let key = name.trim().to_lowercase();
            let header_cell = Location::cell(t.name, t.header_row, name);
            if key.is_empty() {
                // Reported by `note_unnamed` if a row has data there.
                unnamed.push(i);
                continue;
            }
            if let Some(first) = index.get(&key) {
                problems.push(
                    Problem::error(
                        "duplicate-column",
                        header_cell,
                        format!(
                            "column '{name}' appears twice (columns {} and {}); only the first is read",
                            column_letter(*first),
                            column_letter(i)
                        ),
                    )
                    .with_value(name),
                );
                continue;
            }
            index.insert(key.clone(), i);
            if !known.contains(&key.as_str()) {
                extra.push(i);
                problems.push(
                    Problem::note(
                        "unknown-column",
                        header_cell,
                        format!(
                            "column '{name}' is not part of the bundle format; it is kept as it is"
                        ),
                    )
                    .with_value(name),
                );
            }
        }
        Columns {
            index,
            names: t.header.to_vec(),
            extra,
            unnamed: unnamed.into_iter().map(|i| (i, false)).collect(),
            memo: Default::default(),
        }
    }

    /// The position of a known column. Names are `'static`, so their
    /// address identifies them for the memo.
    pub(crate) fn position(&self, name: &'static str) -> Option<usize> {
        let key = name.as_ptr() as usize ^ (name.len() << 48);
        let mut memo = self.memo.borrow_mut();
        let (asked, cursor) = &mut *memo;
        if let Some((k, found)) = asked.get(*cursor) {
            if *k == key {
                *cursor += 1;
                return *found;
            }
        }
        let (at, found) = match asked.iter().position(|(k, _)| *k == key) {
            Some(at) => (at, asked[at].1),
            None => {
                asked.push((key, self.index.get(name).copied()));
                (asked.len() - 1, asked[asked.len() - 1].1)
            }
        };
        *cursor = at + 1;
        found
    }

    /// Reports, once per column, data under a column with no name.
    pub(crate) fn note_unnamed(
        &mut self,
        t: &TableInfo<'_>,
        row: &RawRow<'_>,
        problems: &mut Vec<Problem>,
    ) {
        for (i, reported) in &mut self.unnamed {
            if !*reported && row.cells.get(*i).is_some_and(|c| *c != Cell::Empty) {
                *reported = true;
                problems.push(Problem::error(
                    "unnamed-column",
                    Location::cell(t.name, t.header_row, &format!("#{}", *i + 1)),
                    format!(
                        "column {} has data (first in row {}) but no name in the header row",
                        column_letter(*i),
                        row.number
                    ),
                ));
            }
        }
    }

    pub(crate) fn has(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    pub(crate) fn extra_names(&self) -> Vec<String> {
        self.extra.iter().map(|i| self.names[*i].clone()).collect()
    }
}

/// Spreadsheet column letter of a zero-based position (A, B, …, AA).
pub(crate) fn column_letter(mut i: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (i % 26) as u8);
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    s.reverse();
    String::from_utf8_lossy(&s).into_owned()
}

fn missing_column(t: &TableInfo<'_>, column: &str, why: &str) -> Problem {
    Problem::error(
        "missing-column",
        Location::cell(t.name, t.header_row, column),
        format!("required column '{column}' is missing from the header{why}"),
    )
}

/// One row being typed.
struct Row<'a, 'x> {
    t: &'a TableInfo<'a>,
    cols: &'a Columns,
    row: &'a RawRow<'x>,
    dates: DateFormat,
    problems: &'a mut Vec<Problem>,
    /// Rejected cells of each kind so far in this table.
    tally: &'a mut Tally,
    /// Whether a cell of this row was rejected.
    failed: bool,
}

/// Rejected cells of each kind (code, column) of one table, so that past
/// the first [`sclerad_model::PROBLEMS_PER_RULE`] a rejected cell costs a
/// count, not a problem made and dropped: a file of twenty million invalid
/// cells is typed in the time it takes to read it.
#[derive(Default)]
struct Tally(HashMap<&'static str, HashMap<String, u64>>);

impl Tally {
    /// Counts one more of this kind; whether it is still within the cap
    /// (and so is to be reported in full).
    fn count(&mut self, code: &'static str, header: &str) -> bool {
        let columns = self.0.entry(code).or_default();
        let n = match columns.get_mut(header) {
            Some(n) => n,
            None => columns.entry(header.to_string()).or_insert(0),
        };
        *n += 1;
        *n <= sclerad_model::PROBLEMS_PER_RULE as u64
    }

    /// Whether a problem of this kind would be past the cap.
    fn full(&self, code: &'static str, header: &str) -> bool {
        self.0
            .get(code)
            .and_then(|c| c.get(header))
            .is_some_and(|n| *n >= sclerad_model::PROBLEMS_PER_RULE as u64)
    }

    /// Adds the counted-only cells as problems that count them
    /// (`omitted`), merged by [`sclerad_model::cap_problems`] into its
    /// "… and N more" lines.
    fn flush(self, table: &sclerad_model::TableName, problems: &mut Vec<Problem>) {
        let cap = sclerad_model::PROBLEMS_PER_RULE as u64;
        let mut kinds: Vec<(&'static str, String, u64)> = self
            .0
            .into_iter()
            .flat_map(|(code, columns)| columns.into_iter().map(move |(c, n)| (code, c, n)))
            .filter(|(_, _, n)| *n > cap)
            .collect();
        kinds.sort();
        for (code, column, n) in kinds {
            let mut p = Problem::error(code, Location::cell(table, 0, &column), String::new());
            p.omitted = n - cap;
            problems.push(p);
        }
    }
}

/// How a number is bounded.
#[derive(Clone, Copy)]
enum Bounds {
    /// lo < x < hi
    Open(f64, f64),
    /// lo ≤ x ≤ hi
    Closed(f64, f64),
}

impl Bounds {
    fn admits(self, x: f64) -> bool {
        match self {
            Bounds::Open(lo, hi) => lo < x && x < hi,
            Bounds::Closed(lo, hi) => lo <= x && x <= hi,
        }
    }

    fn describe(self) -> String {
        match self {
            Bounds::Open(lo, hi) => format!("greater than {lo} and less than {hi}"),
            Bounds::Closed(lo, hi) => format!("between {lo} and {hi}"),
        }
    }
}

impl<'x> Row<'_, 'x> {
    fn cell(&self, name: &'static str) -> Option<(&Cell<'x>, &str)> {
        let i = self.cols.position(name)?;
        let header = self.cols.names[i].as_str();
        Some((self.row.cells.get(i).unwrap_or(&Cell::Empty), header))
    }

    fn reject(&mut self, code: &'static str, header: &str, cell: &Cell, reason: String) {
        self.failed = true;
        if !self.tally.count(code, header) {
            return;
        }
        let loc = Location::cell(self.t.name, self.row.number, header);
        self.problems.push(
            Problem::error(code, loc, format!("{header}: {reason}")).with_value(cell.display()),
        );
    }

    fn typed<T>(
        &mut self,
        name: &'static str,
        code: &'static str,
        parse: impl Fn(&Cell) -> Result<Option<T>, String>,
    ) -> Option<T> {
        let (cell, _) = self.cell(name)?;
        match parse(cell) {
            Ok(v) => v,
            Err(reason) => {
                // Past the cap, only counted.
                if let Some((_, header)) = self.cell(name) {
                    if self.tally.full(code, header) {
                        let header = header.to_string();
                        self.failed = true;
                        self.tally.count(code, &header);
                        return None;
                    }
                }
                // Copies only on the error path: typing a valid cell
                // allocates nothing.
                let (cell, header) = self.cell(name).map(|(c, h)| (c.clone(), h.to_string()))?;
                self.reject(code, &header, &cell, reason);
                None
            }
        }
    }

    fn text(&mut self, name: &'static str) -> Option<String> {
        let (cell, header) = self.cell(name)?;
        if let Cell::Invalid(what) = cell {
            // A workbook cell no text can stand for (an Excel error, a text
            // longer than a cell holds): reported, never kept as its
            // description.
            let (cell, header, what) = (cell.clone(), header.to_string(), what.clone());
            self.reject(
                "bad-text",
                &header,
                &cell,
                format!("holds {what}; no text is kept from it"),
            );
            return None;
        }
        cell::text(cell)
    }

    /// A cell that must not be empty.
    fn required_text(&mut self, name: &'static str, what: &str) -> Option<String> {
        let value = self.text(name);
        if value.is_none() {
            if let Some((cell, header)) = self.cell(name) {
                let (cell, header) = (cell.clone(), header.to_string());
                self.reject("missing-cell", &header, &cell, format!("is empty; {what}"));
            }
        }
        value
    }

    fn boolean(&mut self, name: &'static str) -> Option<bool> {
        self.typed(name, "bad-boolean", cell::boolean)
    }

    fn number(&mut self, name: &'static str, bounds: Bounds) -> Option<f64> {
        let decimal_comma = self.t.decimal_comma;
        self.typed(name, "bad-number", |c| cell::number(c, decimal_comma))
            .and_then(|x| {
                if bounds.admits(x) {
                    Some(x)
                } else {
                    let (cell, header) =
                        self.cell(name).map(|(c, h)| (c.clone(), h.to_string()))?;
                    self.reject(
                        "out-of-range",
                        &header,
                        &cell,
                        format!("{x} is out of range: it must be {}", bounds.describe()),
                    );
                    None
                }
            })
    }

    /// A number of a `patients` column, in the range the format gives it.
    fn number_column(&mut self, column: Col) -> Option<f64> {
        let bounds = match column.kind() {
            ColumnKind::Number {
                min,
                max,
                exclusive: true,
            } => Bounds::Open(min, max),
            ColumnKind::Number { min, max, .. } => Bounds::Closed(min, max),
            _ => Bounds::Closed(f64::MIN, f64::MAX),
        };
        self.number(column.code(), bounds)
    }

    fn integer(&mut self, name: &'static str, lo: u8, hi: u8) -> Option<u8> {
        let x = self.number(name, Bounds::Closed(f64::from(lo), f64::from(hi)))?;
        if x.fract() != 0.0 {
            let (cell, header) = self.cell(name).map(|(c, h)| (c.clone(), h.to_string()))?;
            self.reject(
                "bad-number",
                &header,
                &cell,
                format!("{x} is not a whole number"),
            );
            return None;
        }
        Some(x as u8)
    }

    /// The mark on an image (`image_uid`, `frame`, `x`, `y`; version 2):
    /// a frame or point without `image_uid`, or `x` without `y`, is a
    /// problem and no mark is kept (the finding itself is).
    fn mark(&mut self) -> Option<sclerad_model::ImageMark> {
        let uid = self.text("image_uid");
        let frame = self.number("frame", Bounds::Closed(1.0, 1e6));
        let frame = match frame {
            Some(f) if f.fract() != 0.0 => {
                let (cell, header) = self
                    .cell("frame")
                    .map(|(c, h)| (c.clone(), h.to_string()))?;
                self.reject(
                    "bad-number",
                    &header,
                    &cell,
                    format!("{f} is not a whole number"),
                );
                return None;
            }
            other => other.map(|f| f as u32),
        };
        let x = self.number("x", Bounds::Closed(0.0, 1e6));
        let y = self.number("y", Bounds::Closed(0.0, 1e6));
        let Some(uid) = uid else {
            for name in ["frame", "x", "y"] {
                if let Some((cell, header)) = self.cell(name) {
                    if !matches!(cell, Cell::Empty) {
                        let (cell, header) = (cell.clone(), header.to_string());
                        self.reject(
                            "mark-without-image",
                            &header,
                            &cell,
                            "a mark needs the image it was made on (image_uid)".into(),
                        );
                        return None;
                    }
                }
            }
            return None;
        };
        let point = match (x, y) {
            (Some(x), Some(y)) => Some((x, y)),
            (None, None) => None,
            _ => {
                let name = if x.is_none() { "x" } else { "y" };
                let (cell, header) = self.cell(name).map(|(c, h)| (c.clone(), h.to_string()))?;
                self.reject(
                    "missing-cell",
                    &header,
                    &cell,
                    "is empty; a point on an image has both x and y".into(),
                );
                return None;
            }
        };
        Some(sclerad_model::ImageMark {
            image_uid: uid,
            frame,
            point,
        })
    }

    fn date(&mut self, name: &'static str) -> Option<NaiveDate> {
        let dates = self.dates;
        self.typed(name, "bad-date", |c| cell::date(c, dates))
    }

    fn code<T>(
        &mut self,
        name: &'static str,
        parse: fn(&str) -> Option<T>,
        what: &str,
        expected: &str,
    ) -> Option<T> {
        self.typed(name, "unknown-code", |c| match cell::text(c) {
            None => Ok(None),
            Some(t) => parse(&t)
                .map(Some)
                .ok_or_else(|| format!("'{t}' is not {what}; expected one of: {expected}")),
        })
    }

    /// A coded cell where `none` is allowed: `Some(None)` is `none`.
    fn code_or_none<T>(
        &mut self,
        name: &'static str,
        parse: fn(&str) -> Option<T>,
        what: &str,
        expected: &str,
    ) -> Option<Option<T>> {
        self.typed(name, "unknown-code", |c| match cell::text(c) {
            None => Ok(None),
            Some(t) if t.trim().eq_ignore_ascii_case("none") => Ok(Some(None)),
            Some(t) => parse(&t)
                .map(|v| Some(Some(v)))
                .ok_or_else(|| format!("'{t}' is not {what}; expected one of: {expected}, none")),
        })
    }

    /// A coded cell where `none` is allowed but an empty cell is not.
    fn required_code_or_none<T>(
        &mut self,
        name: &'static str,
        parse: fn(&str) -> Option<T>,
        what: &str,
        expected: &str,
        described: &str,
    ) -> Option<Option<T>> {
        let value = self.code_or_none(name, parse, what, expected);
        if value.is_none() && !self.failed {
            if let Some((cell, header)) = self.cell(name).map(|(c, h)| (c.clone(), h.to_string())) {
                self.reject(
                    "missing-cell",
                    &header,
                    &cell,
                    format!("is empty; write {described}, or none when the reader found nothing"),
                );
            }
        }
        value
    }

    fn extra(&mut self) -> Vec<String> {
        let mut out = Vec::with_capacity(self.cols.extra.len());
        for k in 0..self.cols.extra.len() {
            let i = self.cols.extra[k];
            match self.row.cells.get(i) {
                Some(Cell::Invalid(what)) => {
                    let cell = Cell::Invalid(what.clone());
                    let header = self.cols.names.get(i).cloned().unwrap_or_default();
                    let what = what.clone();
                    self.reject(
                        "bad-text",
                        &header,
                        &cell,
                        format!("holds {what}; no text is kept from it"),
                    );
                    out.push(String::new());
                }
                Some(cell) => out.push(cell.display()),
                None => out.push(String::new()),
            }
        }
        out
    }

    /// Reports a row whose cell count differs from the header's.
    fn ragged(&mut self) -> bool {
        let (have, want) = (self.row.cells.len(), self.t.header.len());
        let extra_filled = self.row.cells.iter().skip(want).any(|c| *c != Cell::Empty);
        if have < want || extra_filled {
            self.failed = true;
            // Name the column where the row runs out (or over).
            let column = if have < want {
                let name = &self.t.header[have];
                if name.is_empty() {
                    format!("#{}", have + 1)
                } else {
                    name.clone()
                }
            } else {
                format!("#{} (past the last column)", want + 1)
            };
            self.problems.push(Problem::error(
                "ragged-row",
                Location::cell(self.t.name, self.row.number, &column),
                format!(
                    "this row has {have} cells but the header has {want} columns; a separator is missing or extra (is a cell with '{}' unquoted?)",
                    if self.t.decimal_comma { ';' } else { ',' }
                ),
            ));
            return true;
        }
        false
    }
}

/// What the `patients` table needs to know about the rest of the bundle.
pub(crate) struct PatientContext {
    pub dates: DateFormat,
    pub hand_readings_given: bool,
    pub spine_readings_given: bool,
}

/// The typed `patients` table.
pub(crate) struct PatientTable {
    pub patients: Vec<Patient>,
    pub columns: ColumnSet,
    pub extra_columns: Vec<String>,
    pub all_ids: Vec<String>,
}

pub(crate) fn read_patients(
    table: RawTable<'_>,
    ctx: &PatientContext,
    problems: &mut Vec<Problem>,
) -> PatientTable {
    let mut table = table;
    let rows = std::mem::take(&mut table.rows);
    let t = &TableInfo::of(&table);
    let known: Vec<&str> = Col::ALL.iter().map(|c| c.code()).collect();
    let cols = Columns::map(t, &known, problems);
    let mut columns = ColumnSet::default();
    for c in Col::ALL {
        if cols.has(c.code()) {
            columns.insert(*c);
        }
    }
    let mut out = PatientTable {
        patients: Vec::new(),
        columns,
        extra_columns: cols.extra_names(),
        all_ids: Vec::new(),
    };

    let mut keys_present = true;
    let required = |want: Requirement| {
        Col::ALL
            .iter()
            .copied()
            .filter(move |c| c.requirement() == want)
    };
    for key in required(Requirement::ColumnAndCell) {
        if !cols.has(key.code()) {
            problems.push(missing_column(
                t,
                key.code(),
                "; no patient can be read without it",
            ));
            keys_present = false;
        }
    }
    for c in required(Requirement::Column) {
        if !cols.has(c.code()) {
            problems.push(missing_column(t, c.code(), ""));
        }
    }
    for a in Col::ALL.iter().copied() {
        let Requirement::OneOf(b) = a.requirement() else {
            continue;
        };
        // Each pair once, at its first column.
        if b.index() < a.index() {
            continue;
        }
        if !cols.has(a.code()) && !cols.has(b.code()) {
            problems.push(Problem::error(
                "missing-column",
                Location::cell(t.name, t.header_row, a.code()),
                format!(
                    "the header needs '{}' or '{}'; neither is present",
                    a.code(),
                    b.code()
                ),
            ));
        }
    }
    if !ctx.hand_readings_given {
        for c in required(Requirement::UnlessHandReadings) {
            if !cols.has(c.code()) {
                problems.push(missing_column(
                    t,
                    c.code(),
                    " (it is required unless hand_readings are given)",
                ));
            }
        }
    }
    if !ctx.spine_readings_given {
        for c in required(Requirement::UnlessSpineReadings) {
            if !cols.has(c.code()) {
                problems.push(missing_column(
                    t,
                    c.code(),
                    " (it is required unless spine_readings are given)",
                ));
            }
        }
    }
    if !keys_present {
        return out;
    }
    // Chunks of rows are typed on their own cores and joined in order.
    let typed: Vec<PatientChunk> = if rows.len() == 1 {
        rows.into_iter()
            .map(|chunk| type_patients(t, cols.clone(), chunk, ctx))
            .collect()
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> = rows
                .into_iter()
                .map(|chunk| {
                    let cols = cols.clone();
                    scope.spawn(move || type_patients(t, cols, chunk, ctx))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .collect()
        })
    };
    let mut rows_read = 0usize;
    let mut unnamed_reported = std::collections::HashSet::new();
    for (k, chunk) in typed.into_iter().enumerate() {
        rows_read += chunk.rows_read;
        if k == 0 {
            // The first chunk's vectors become the table's: no copy.
            out.all_ids = chunk.ids;
            out.patients = chunk.patients;
        } else {
            out.all_ids.extend(chunk.ids);
            out.patients.extend(chunk.patients);
        }
        for p in chunk.problems {
            // Each chunk reports an unnamed column with data once; keep the first.
            if p.code == "unnamed-column" && !unnamed_reported.insert(p.location.column.clone()) {
                continue;
            }
            problems.push(p);
        }
    }
    if rows_read == 0 {
        problems.push(no_rows(
            t,
            "the patients table has a header but no patient rows",
        ));
    }
    out
}

/// What one chunk of `patients` rows gave.
struct PatientChunk {
    rows_read: usize,
    ids: Vec<String>,
    patients: Vec<Patient>,
    problems: Vec<Problem>,
}

fn type_patients(
    t: &TableInfo<'_>,
    mut cols: Columns,
    rows: crate::raw::Rows<'_>,
    ctx: &PatientContext,
) -> PatientChunk {
    let mut chunk = PatientChunk {
        rows_read: 0,
        ids: Vec::new(),
        patients: Vec::new(),
        problems: Vec::new(),
    };
    let mut problems = std::mem::take(&mut chunk.problems);
    let mut tally = Tally::default();
    let mut cap_at = sclerad_model::CAP_PROBLEMS_AT;
    for raw in rows {
        // Memory follows the kinds of problems, not their number.
        sclerad_model::cap_problems_as_they_grow(&mut problems, &mut cap_at);
        chunk.rows_read += 1;
        cols.note_unnamed(t, &raw, &mut problems);
        let raw = &raw;
        let mut r = Row {
            t,
            cols: &cols,
            row: raw,
            dates: ctx.dates,
            problems: &mut problems,
            tally: &mut tally,
            failed: false,
        };
        let id = r.required_text(Col::PatientId.code(), "every patient needs an identifier");
        if let Some(id) = &id {
            chunk.ids.push(id.clone());
        }
        if r.ragged() {
            continue;
        }
        let sex = r.code(Col::Sex.code(), Sex::parse, Sex::WHAT, "female, male, f, m");
        let subset = r.code(
            Col::Subset.code(),
            Subset::parse,
            Subset::WHAT,
            &Subset::expected(),
        );
        for (value, col, what) in [
            (sex.is_some(), Col::Sex, "sex is required for every patient"),
            (
                subset.is_some(),
                Col::Subset,
                "the cutaneous subset is required for every patient",
            ),
        ] {
            if !value {
                if let Some((cell, header)) = r.cell(col.code()) {
                    if cell::text(cell).is_none() {
                        let (cell, header) = (cell.clone(), header.to_string());
                        r.reject("missing-cell", &header, &cell, format!("is empty; {what}"));
                    }
                }
            }
        }
        let mut p = Patient::new(
            raw.number,
            id.clone().unwrap_or_default(),
            sex.unwrap_or(Sex::Female),
            subset.unwrap_or(Subset::Limited),
        );
        p.age_years = r.number_column(Col::AgeYears);
        p.birth_date = r.date(Col::BirthDate.code());
        p.onset_date = r.date(Col::OnsetDate.code());
        p.disease_duration_years = r.number_column(Col::DiseaseDurationYears);
        p.hand_xray_date = r.date(Col::HandXrayDate.code());
        p.ct_date = r.date(Col::CtDate.code());
        p.ct_type = r.code(
            Col::CtType.code(),
            CtType::parse,
            CtType::WHAT,
            &CtType::expected(),
        );
        p.ct_levels = r.typed(
            Col::CtLevels.code(),
            "bad-level-list",
            |c| match cell::text(c) {
                None => Ok(None),
                Some(t) => LevelSet::parse(&t)
                    .map(Some)
                    .map_err(|e| format!("{e} (write ranges such as t1-l2 or c7-t12,l1-l5)")),
            },
        );
        p.digital_ulcers = r.boolean(Col::DigitalUlcers.code());
        p.ild_ct = r.boolean(Col::IldCt.code());
        p.restrictive_syndrome = r.boolean(Col::RestrictiveSyndrome.code());
        p.fvc_pct_pred = r.number_column(Col::FvcPctPred);
        p.tlc_pct_pred = r.number_column(Col::TlcPctPred);
        p.dlco_pct_pred = r.number_column(Col::DlcoPctPred);
        p.pah = r.boolean(Col::Pah.code());
        p.mpap_mmhg = r.number_column(Col::MpapMmhg);
        p.pawp_mmhg = r.number_column(Col::PawpMmhg);
        p.pvr_wu = r.number_column(Col::PvrWu);
        p.death = r.boolean(Col::Death.code());
        p.death_date = r.date(Col::DeathDate.code());
        p.last_followup_date = r.date(Col::LastFollowupDate.code());
        p.mrss = match Col::Mrss.kind() {
            ColumnKind::WholeNumber { min, max } => r.integer(Col::Mrss.code(), min, max),
            _ => None,
        };
        for item in Col::ACR_EULAR_ITEMS {
            let v = r.boolean(item.code());
            if let Some(slot) = p.acr_eular.get_mut(item) {
                *slot = v;
            }
        }
        for lesion in Lesion::ALL {
            p.hand[lesion.index()] = r.boolean(Col::of_lesion(*lesion).code());
        }
        for flag in SpineFlag::ALL {
            p.spine[flag.index()] = r.boolean(Col::of_spine(*flag).code());
        }
        p.extra = r.extra();
        if id.is_some() && sex.is_some() && subset.is_some() {
            chunk.patients.push(p);
        }
    }
    tally.flush(t.name, &mut problems);
    chunk.problems = problems;
    chunk
}

const NO_READINGS: &str = "this readings table has a header but no rows; add the readings (use lesion/segment = none for a reading with no finding) or remove it";

fn readings_header(
    t: &TableInfo<'_>,
    known: &[&str],
    required: &[&str],
    problems: &mut Vec<Problem>,
) -> Option<Columns> {
    let cols = Columns::map(t, known, problems);
    let mut ok = true;
    for c in required {
        if !cols.has(c) {
            problems.push(missing_column(t, c, ""));
            ok = false;
        }
    }
    ok.then_some(cols)
}

/// Reads a readings table: the header rules shared by both kinds, then
/// each row through `type_row`, which sees the row after the ragged-row
/// check and gets its `patient_id` and `reader` (both required).
fn read_readings<T>(
    table: RawTable<'_>,
    known: &[&str],
    required: &[&str],
    dates: DateFormat,
    problems: &mut Vec<Problem>,
    check_header: impl FnOnce(&TableInfo<'_>, &Columns, &mut Vec<Problem>),
    mut type_row: impl FnMut(&mut Row<'_, '_>, Option<String>, Option<String>) -> Option<T>,
) -> Readings<T> {
    let mut table = table;
    let rows = std::mem::take(&mut table.rows);
    let t = &TableInfo::of(&table);
    let mut out = Readings {
        table: t.name.clone(),
        rows: Vec::new(),
        extra_columns: Vec::new(),
    };
    let Some(mut cols) = readings_header(t, known, required, problems) else {
        return out;
    };
    check_header(t, &cols, problems);
    out.extra_columns = cols.extra_names();
    let mut rows_read = 0usize;
    let mut tally = Tally::default();
    let mut cap_at = problems.len() + sclerad_model::CAP_PROBLEMS_AT;
    for raw in rows.into_iter().flatten() {
        sclerad_model::cap_problems_as_they_grow(problems, &mut cap_at);
        rows_read += 1;
        cols.note_unnamed(t, &raw, problems);
        let mut r = Row {
            t,
            cols: &cols,
            row: &raw,
            dates,
            problems: &mut *problems,
            tally: &mut tally,
            failed: false,
        };
        if r.ragged() {
            continue;
        }
        let patient_id = r.required_text("patient_id", "every reading names its patient");
        let reader = r.required_text("reader", "every reading names its reader");
        if let Some(reading) = type_row(&mut r, patient_id, reader) {
            out.rows.push(reading);
        }
    }
    tally.flush(t.name, problems);
    if rows_read == 0 {
        problems.push(no_rows(t, NO_READINGS));
    }
    out
}

pub(crate) fn read_hand(
    table: RawTable<'_>,
    dates: DateFormat,
    problems: &mut Vec<Problem>,
) -> Readings<HandReading> {
    let required = ["patient_id", "reader", "side", "site", "lesion"];
    read_readings(
        table,
        sclerad_model::HandColumn::CODES,
        &required,
        dates,
        problems,
        |_, _, _| {},
        |r, patient_id, reader| {
            let side = r.code(
                "side",
                HandSide::parse,
                HandSide::WHAT,
                &HandSide::expected(),
            );
            let site = r.code("site", HandSite::parse, HandSite::WHAT, "tuft_d1…tuft_d5, soft_tissue_d1…d5, ip_d1, dip_d2…d5, pip_d2…d5, mcp_d1…d5, cmc_d1, carpus, wrist");
            let lesion = r.required_code_or_none(
                "lesion",
                Lesion::parse,
                Lesion::WHAT,
                &Lesion::expected(),
                "the lesion code",
            );
            // A bad side, site or lesion drops the row (the rules that need
            // them would only repeat the problem); a bad grade only loses the grade.
            let failed = r.failed;
            let grade = r.integer("grade", 0, 3);
            let mark = r.mark();
            let extra = r.extra();
            match (patient_id, reader, lesion, failed) {
                (Some(patient_id), Some(reader), Some(lesion), false) => Some(HandReading {
                    row: r.row.number,
                    patient_id,
                    reader,
                    side,
                    site,
                    lesion,
                    grade,
                    mark,
                    extra,
                }),
                _ => None,
            }
        },
    )
}

pub(crate) fn read_spine(
    table: RawTable<'_>,
    dates: DateFormat,
    problems: &mut Vec<Problem>,
) -> Readings<SpineReading> {
    let required = ["patient_id", "reader", "level", "segment"];
    let check_header = |t: &TableInfo<'_>, cols: &Columns, problems: &mut Vec<Problem>| {
        if !cols.has("foraminal") {
            problems.push(Problem::note(
                "no-foraminal-column",
                Location::cell(t.name, t.header_row, "foraminal"),
                "there is no foraminal column: no canal calcification is counted as foraminal",
            ));
        }
    };
    read_readings(
        table,
        sclerad_model::SpineColumn::CODES,
        &required,
        dates,
        problems,
        check_header,
        |r, patient_id, reader| {
            let level = r.code(
                "level",
                VertebralLevel::parse,
                "a vertebral level",
                "c1…c7, t1…t12, l1…l5, s1",
            );
            let segment = r.required_code_or_none(
                "segment",
                SpineSegment::parse,
                SpineSegment::WHAT,
                &SpineSegment::expected(),
                "the segment",
            );
            // A bad level or segment drops the row; a bad optional cell only loses that cell.
            let failed = r.failed;
            let foraminal = r.boolean("foraminal");
            let side = r.code(
                "side",
                SpineSide::parse,
                SpineSide::WHAT,
                &SpineSide::expected(),
            );
            let morphology = r.code(
                "morphology",
                Morphology::parse,
                Morphology::WHAT,
                &Morphology::expected(),
            );
            let mark = r.mark();
            let extra = r.extra();
            match (patient_id, reader, segment, failed) {
                (Some(patient_id), Some(reader), Some(segment), false) => Some(SpineReading {
                    row: r.row.number,
                    patient_id,
                    reader,
                    level,
                    segment,
                    foraminal,
                    side,
                    morphology,
                    mark,
                    extra,
                }),
                _ => None,
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::column_letter;

    #[test]
    fn column_letters() {
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(25), "Z");
        assert_eq!(column_letter(26), "AA");
        assert_eq!(column_letter(27), "AB");
        assert_eq!(column_letter(701), "ZZ");
        assert_eq!(column_letter(702), "AAA");
    }
}
