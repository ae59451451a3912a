//! Problems found in a bundle: what, where, and how bad.
//!
//! Readers and validation rules never stop at the first problem; they return
//! a value together with every [`Problem`] they found (as rust-analyzer's
//! parser returns a tree plus errors).

use std::fmt;

use serde::Serialize;

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The bundle cannot be analysed until this is fixed.
    Error,
    /// Worth a look; the analysis can proceed.
    Warning,
    /// Information, such as an unknown column that was kept.
    Note,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        })
    }
}

/// Where a problem is: file (and sheet), spreadsheet row (header = 1), column.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize)]
pub struct Location {
    /// File name as the user gave it or as found in the bundle folder.
    pub file: String,
    /// Worksheet, for an `.xlsx` bundle.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sheet: Option<String>,
    /// Row as a spreadsheet shows it; the header is row 1.
    pub row: Option<u32>,
    /// Column name as written in the header.
    pub column: Option<String>,
}

impl Location {
    /// A location in `table` at `row`, `column`.
    pub fn cell(table: &TableName, row: u32, column: &str) -> Self {
        Location {
            file: table.file.clone(),
            sheet: table.sheet.clone(),
            row: Some(row),
            column: Some(column.to_string()),
        }
    }

    /// A whole row of `table`.
    pub fn row(table: &TableName, row: u32) -> Self {
        Location {
            file: table.file.clone(),
            sheet: table.sheet.clone(),
            row: Some(row),
            column: None,
        }
    }

    /// A whole table.
    pub fn table(table: &TableName) -> Self {
        Location {
            file: table.file.clone(),
            sheet: table.sheet.clone(),
            row: None,
            column: None,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(sheet) = &self.sheet {
            write!(f, " [sheet {sheet}]")?;
        }
        if let Some(row) = self.row {
            write!(f, ", row {row}")?;
        }
        if let Some(column) = &self.column {
            write!(f, ", column {column}")?;
        }
        Ok(())
    }
}

/// The name of a table as the user sees it: a file, or a sheet in a workbook.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize)]
pub struct TableName {
    /// File name.
    pub file: String,
    /// Worksheet name, for a workbook.
    pub sheet: Option<String>,
}

impl TableName {
    /// A CSV file.
    pub fn file(file: impl Into<String>) -> Self {
        TableName {
            file: file.into(),
            sheet: None,
        }
    }

    /// A sheet of a workbook.
    pub fn sheet(file: impl Into<String>, sheet: impl Into<String>) -> Self {
        TableName {
            file: file.into(),
            sheet: Some(sheet.into()),
        }
    }
}

impl fmt::Display for TableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.sheet {
            Some(sheet) => write!(f, "{} [sheet {}]", self.file, sheet),
            None => f.write_str(&self.file),
        }
    }
}

/// One problem in a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Error, warning or note.
    pub severity: Severity,
    /// A stable machine-readable code, e.g. `bad-boolean`.
    pub code: &'static str,
    /// Where it is.
    #[serde(flatten)]
    pub location: Location,
    /// The offending cell value, as written.
    pub value: Option<String>,
    /// What is wrong, in plain language, and what to do about it.
    pub message: String,
    /// For a line that stands for problems left out (see [`cap_problems`]):
    /// how many. Such a line is not a problem itself; 0 for every other.
    #[serde(skip_serializing_if = "is_zero")]
    pub omitted: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// How many problems of one kind (severity, code, table, column) are kept;
/// the rest are counted in one line ("… and 1,204,331 more").
pub const PROBLEMS_PER_RULE: usize = 100;

/// Keeps the first `per_rule` problems of each kind (same severity, code,
/// table and column), in their order, and replaces the others by one line
/// per kind that counts them (`omitted`), at the end. Lines from an
/// earlier call are merged, so a long read can call it as it goes and stay
/// bounded by the kinds of problems, not their number.
pub fn cap_problems(problems: &mut Vec<Problem>, per_rule: usize) {
    type Key = (Severity, &'static str, TableName, Option<String>);
    let key = |p: &Problem| -> Key {
        (
            p.severity,
            p.code,
            TableName {
                file: p.location.file.clone(),
                sheet: p.location.sheet.clone(),
            },
            p.location.column.clone(),
        )
    };
    let mut kept: std::collections::HashMap<Key, usize> = std::collections::HashMap::new();
    let mut omitted: std::collections::HashMap<Key, u64> = std::collections::HashMap::new();
    let mut order: Vec<Key> = Vec::new();
    let mut out = Vec::with_capacity(problems.len().min(per_rule * 64));
    for p in problems.drain(..) {
        let k = key(&p);
        if p.omitted > 0 {
            if !omitted.contains_key(&k) {
                order.push(k.clone());
            }
            *omitted.entry(k).or_insert(0) += p.omitted;
            continue;
        }
        let n = kept.entry(k.clone()).or_insert(0);
        if *n < per_rule {
            *n += 1;
            out.push(p);
        } else {
            if !omitted.contains_key(&k) {
                order.push(k.clone());
            }
            *omitted.entry(k).or_insert(0) += 1;
        }
    }
    for k in order {
        let n = omitted.get(&k).copied().unwrap_or(0);
        let (severity, code, table, column) = k;
        let what = match &column {
            Some(c) => format!("{code} problems in column {c}"),
            None => format!("{code} problems"),
        };
        out.push(Problem {
            severity,
            code,
            location: Location {
                file: table.file,
                sheet: table.sheet,
                row: None,
                column,
            },
            value: None,
            message: format!(
                "… and {} more {what} (the first {per_rule} are listed)",
                thousands(n)
            ),
            omitted: n,
        });
    }
    *problems = out;
}

/// Caps `problems` once they reach `*at`, then moves `*at` past what is
/// left, so a long loop compacts now and then, not at every row.
pub fn cap_problems_as_they_grow(problems: &mut Vec<Problem>, at: &mut usize) {
    if problems.len() >= *at {
        cap_problems(problems, PROBLEMS_PER_RULE);
        *at = (*at).max(2 * problems.len());
    }
}

/// Where a long loop first compacts its problems.
pub const CAP_PROBLEMS_AT: usize = 20_000;

/// `n` with a comma every three digits.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

impl Problem {
    /// An error.
    pub fn error(code: &'static str, location: Location, message: impl Into<String>) -> Self {
        Problem {
            severity: Severity::Error,
            code,
            location,
            value: None,
            message: message.into(),
            omitted: 0,
        }
    }

    /// A warning.
    pub fn warning(code: &'static str, location: Location, message: impl Into<String>) -> Self {
        Problem {
            severity: Severity::Warning,
            code,
            location,
            value: None,
            message: message.into(),
            omitted: 0,
        }
    }

    /// A note.
    pub fn note(code: &'static str, location: Location, message: impl Into<String>) -> Self {
        Problem {
            severity: Severity::Note,
            code,
            location,
            value: None,
            message: message.into(),
            omitted: 0,
        }
    }

    /// The same problem with the offending value attached.
    pub fn with_value(mut self, value: impl Into<String>) -> Self {
        self.value = Some(value.into());
        self
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.severity, self.location, self.message)?;
        if let Some(value) = &self.value {
            write!(f, " (value: {value:?})")?;
        }
        Ok(())
    }
}

/// Counts of problems by severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ProblemCounts {
    /// Errors.
    pub errors: usize,
    /// Warnings.
    pub warnings: usize,
    /// Notes.
    pub notes: usize,
}

impl ProblemCounts {
    /// Counts `problems`, the left-out ones of [`cap_problems`] included.
    pub fn of(problems: &[Problem]) -> Self {
        let mut c = ProblemCounts::default();
        for p in problems {
            let n = if p.omitted > 0 {
                usize::try_from(p.omitted).unwrap_or(usize::MAX)
            } else {
                1
            };
            let count = match p.severity {
                Severity::Error => &mut c.errors,
                Severity::Warning => &mut c.warnings,
                Severity::Note => &mut c.notes,
            };
            *count = count.saturating_add(n);
        }
        c
    }
}

/// Sorts problems by file, sheet and row, as a data manager reads them.
pub fn sort_problems(problems: &mut [Problem]) {
    problems.sort_by(|a, b| {
        let key = |p: &Problem| {
            (
                p.location.file.clone(),
                p.location.sheet.clone(),
                // "… and N more" lines after the rows of their table.
                p.omitted > 0,
                p.location.row.unwrap_or(0),
            )
        };
        key(a).cmp(&key(b))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bad_age(row: u32) -> Problem {
        Problem::error(
            "bad-number",
            Location::cell(&TableName::file("patients.csv"), row, "age_years"),
            "not a number",
        )
    }

    #[test]
    fn problems_are_capped_per_kind_and_counted() {
        let mut problems: Vec<Problem> = (2..1_002).map(bad_age).collect();
        problems.push(Problem::warning(
            "imaging-gap",
            Location::cell(&TableName::file("patients.csv"), 5, "ct_date"),
            "far apart",
        ));
        cap_problems(&mut problems, 100);
        assert_eq!(problems.len(), 102);
        assert_eq!(
            problems[99].location.row,
            Some(101),
            "the first ones, in order"
        );
        let more = problems.last().expect("summary");
        assert_eq!(more.omitted, 900);
        assert_eq!(
            more.message,
            "… and 900 more bad-number problems in column age_years (the first 100 are listed)"
        );
        let counts = ProblemCounts::of(&problems);
        assert_eq!((counts.errors, counts.warnings), (1_000, 1));
        // Capping again, with more of the same, merges the counts.
        problems.extend((2_000..3_500).map(bad_age));
        cap_problems(&mut problems, 100);
        assert_eq!(problems.len(), 102);
        assert_eq!(problems.last().map(|p| p.omitted), Some(2_400));
        assert_eq!(ProblemCounts::of(&problems).errors, 2_500);
        assert_eq!(thousands(1_204_331), "1,204,331");
        assert_eq!(thousands(999), "999");
    }
}
