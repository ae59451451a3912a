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
    /// Counts `problems`.
    pub fn of(problems: &[Problem]) -> Self {
        let mut c = ProblemCounts::default();
        for p in problems {
            match p.severity {
                Severity::Error => c.errors += 1,
                Severity::Warning => c.warnings += 1,
                Severity::Note => c.notes += 1,
            }
        }
        c
    }
}
