//! Reading and writing study bundles (format v1, `docs/bundle-format.md`).
//!
//! A bundle is a folder of CSVs, a single CSV read as `patients`, or an
//! `.xlsx` workbook. Reading never stops at the first problem: [`read_bundle`]
//! returns a [`Cohort`] of every row it could type, with every [`Problem`]
//! found (file or sheet, spreadsheet row, column, value, reason). Only
//! failures to reach the bundle at all (no such path, unreadable file,
//! unsupported kind) are a [`BundleError`].
//!
//! Cross-record rules (duplicate ids, date order, coverage, readings against
//! summaries) live in `sclerad_model::validate`; [`load`] runs both.

mod append;
mod archive;
mod cell;
#[doc(hidden)]
pub mod handmade;
mod raw;
mod tables;
mod write;
mod xlsx;

use std::path::{Path, PathBuf};

use sclerad_model::{
    validate, Cohort, ColumnSet, Location, Problem, TableName, ValidateOptions, Validation,
};

pub use append::{append, Appended};
pub use archive::{unzip, zip, ZIP_MEMBERS_MAX};
pub use cell::DateFormat;
pub use write::{
    derived_csv, write_bytes_atomically, write_file_atomically, write_folder, TableRows,
    TextSource, TextTable, TextTables, DERIVED_COLUMNS,
};

use raw::RawTable;
use tables::PatientContext;

/// A failure to reach the bundle (as opposed to a problem inside it).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// The path does not exist.
    #[error("{0}: no such file or folder")]
    NotFound(PathBuf),
    /// The path is neither a folder, a `.csv` nor an `.xlsx` file.
    #[error(
        "{0}: not a bundle; give a folder holding patients.csv, a .csv file or an .xlsx workbook"
    )]
    UnsupportedKind(PathBuf),
    /// The path is a FIFO, a device, a socket: only regular files are read
    /// (a pipe can block for ever, `/dev/zero` never ends).
    #[error("{0}: not a regular file (a pipe, device or socket); give a file or a folder")]
    NotARegularFile(PathBuf),
    /// The file is larger than the limit.
    #[error("{path}: {size} bytes is more than the limit of {limit} bytes; raise it with --max-file-size if this file is really a bundle")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size (at least), in bytes.
        size: u64,
        /// The limit, in bytes.
        limit: u64,
    },
    /// A zip archive that cannot be read, or holds more than it may.
    #[error("{path}: {reason}")]
    Archive {
        /// The archive (or its member, as `archive!member`).
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl BundleError {
    fn io(path: &Path, source: std::io::Error) -> Self {
        if source.kind() == std::io::ErrorKind::NotFound {
            BundleError::NotFound(path.to_path_buf())
        } else {
            BundleError::Io {
                path: path.to_path_buf(),
                source,
            }
        }
    }
}

/// The largest file read by default (1 GiB: a million patients take about
/// 190 MB).
pub const DEFAULT_MAX_FILE_BYTES: u64 = 1 << 30;

/// How to read cells the format leaves to the user, and how large a file
/// may be.
#[derive(Debug, Clone, Copy)]
pub struct ReadOptions {
    /// How text dates are written.
    pub date_format: DateFormat,
    /// The largest file read, in bytes.
    pub max_file_bytes: u64,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            date_format: DateFormat::default(),
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
        }
    }
}

/// Reads the whole of a regular file of at most `max` bytes. Anything else
/// is refused before it is read: a pipe or a device (which could block for
/// ever or never end), a file larger than `max` (also one that grows past
/// it while it is read).
pub fn read_file(path: &Path, max: u64) -> Result<Vec<u8>, BundleError> {
    use std::io::Read;
    let meta = std::fs::metadata(path).map_err(|e| BundleError::io(path, e))?;
    if !meta.is_file() {
        return Err(BundleError::NotARegularFile(path.to_path_buf()));
    }
    let too_large = |size: u64| BundleError::TooLarge {
        path: path.to_path_buf(),
        size,
        limit: max,
    };
    if meta.len() > max {
        return Err(too_large(meta.len()));
    }
    let mut open = std::fs::OpenOptions::new();
    open.read(true);
    // Should the path have become a pipe since it was looked at, opening it
    // must not wait for a writer.
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut open, libc::O_NONBLOCK);
    let file = open.open(path).map_err(|e| BundleError::io(path, e))?;
    let opened = file.metadata().map_err(|e| BundleError::io(path, e))?;
    if !opened.is_file() {
        return Err(BundleError::NotARegularFile(path.to_path_buf()));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(opened.len().min(max)).unwrap_or(0));
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| BundleError::io(path, e))?;
    if bytes.len() as u64 > max {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

/// A bundle as read: the typed records and the cell-level problems.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// Every row that could be typed.
    pub cohort: Cohort,
    /// Every problem found while reading.
    pub problems: Vec<Problem>,
}

/// The file names of a bundle folder and the sheet names of a workbook.
pub const PATIENTS: &str = "patients";
/// Hand readings table name.
pub const HAND_READINGS: &str = "hand_readings";
/// Spine readings table name.
pub const SPINE_READINGS: &str = "spine_readings";

/// Reads a bundle: a folder, a `.csv` file or an `.xlsx` workbook.
pub fn read_bundle(path: &Path, options: &ReadOptions) -> Result<Loaded, BundleError> {
    let meta = std::fs::metadata(path).map_err(|e| BundleError::io(path, e))?;
    if meta.is_dir() {
        return read_folder(path, options);
    }
    let file = display_name(path);
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let read = |p: &Path| read_file(p, options.max_file_bytes);
    match ext.as_deref() {
        Some("csv") | Some("txt") => Ok(read_csv_bytes(&file, &read(path)?, options)),
        Some("xlsx") | Some("xlsm") => Ok(read_xlsx_bytes(&file, read(path)?, options)),
        _ => Err(BundleError::UnsupportedKind(path.to_path_buf())),
    }
}

/// Reads a bundle and runs every validation rule: the cell-level problems
/// of reading followed by the cross-record ones.
pub fn load(
    path: &Path,
    read: &ReadOptions,
    check: &ValidateOptions,
) -> Result<(Loaded, Validation), BundleError> {
    let mut loaded = read_bundle(path, read)?;
    let validation = validate(&loaded.cohort, check);
    loaded.problems.extend(validation.problems.iter().cloned());
    sclerad_model::cap_problems(&mut loaded.problems, sclerad_model::PROBLEMS_PER_RULE);
    Ok((loaded, validation))
}

fn display_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// Reads CSV bytes as the `patients` table of a single-file bundle.
pub fn read_csv_bytes(file: &str, bytes: &[u8], options: &ReadOptions) -> Loaded {
    let mut problems = Vec::new();
    let patients = raw::csv_table(TableName::file(file), bytes, &mut problems);
    assemble(
        TableName::file(file),
        patients,
        None,
        None,
        options,
        problems,
    )
}

/// Reads a bundle given as tables of text cells — a study store's records,
/// or a record being edited — with exactly the rules of a file, without
/// writing it out. The tables are named as in a folder bundle
/// (`patients.csv`, `hand_readings.csv`, `spine_readings.csv`) and their
/// rows numbered as that file's would be (header = 1), so problems read as
/// they would for the exported bundle. Cells are text as in a CSV file
/// (ISO dates, `.` decimals).
pub fn read_text_tables(tables: &TextTables, options: &ReadOptions) -> Loaded {
    fn name(table: &str) -> TableName {
        TableName::file(format!("{table}.csv"))
    }
    fn raw<'t>(table: &str, t: &'t TextTable) -> RawTable<'t> {
        raw::text_table(name(table), &t.columns, &t.rows)
    }
    let patients = raw(PATIENTS, &tables.patients);
    let hand = tables
        .hand_readings
        .as_ref()
        .map(|t| Some(raw(HAND_READINGS, t)));
    let spine = tables
        .spine_readings
        .as_ref()
        .map(|t| Some(raw(SPINE_READINGS, t)));
    assemble(
        name(PATIENTS),
        Some(patients),
        hand,
        spine,
        options,
        Vec::new(),
    )
}

/// Reads an `.xlsx` workbook held in memory.
pub fn read_xlsx_bytes(file: &str, bytes: Vec<u8>, options: &ReadOptions) -> Loaded {
    let mut problems = Vec::new();
    let Some(mut book) = xlsx::Workbook::open(file, bytes, &mut problems) else {
        return assemble(TableName::file(file), None, None, None, options, problems);
    };
    let patients_sheet = book.find(PATIENTS);
    if patients_sheet.is_none() {
        problems.push(Problem::error(
            "missing-table",
            Location::table(&TableName::file(file)),
            format!(
                "the workbook has no sheet named 'patients' (sheets found: {})",
                book.sheet_names.join(", ")
            ),
        ));
    }
    let hand_sheet = book.find(HAND_READINGS);
    let spine_sheet = book.find(SPINE_READINGS);
    for sheet in &book.sheet_names {
        let wanted = [&patients_sheet, &hand_sheet, &spine_sheet];
        if !wanted.iter().any(|w| w.as_deref() == Some(sheet.as_str())) {
            problems.push(Problem::note(
                "unknown-table",
                Location::table(&TableName::sheet(file, sheet)),
                "this sheet is not part of the bundle format; it is ignored",
            ));
        }
    }
    let patients_name = TableName::sheet(file, patients_sheet.as_deref().unwrap_or(PATIENTS));
    // Each sheet's rows are read lazily over a book of their own.
    let (mut patients_book, mut hand_book, mut spine_book) = (None, None, None);
    let patients = patients_sheet.and_then(|n| book.table(&n, &mut problems, &mut patients_book));
    let hand = hand_sheet.map(|n| book.table(&n, &mut problems, &mut hand_book));
    let spine = spine_sheet.map(|n| book.table(&n, &mut problems, &mut spine_book));
    assemble(patients_name, patients, hand, spine, options, problems)
}

fn read_folder(dir: &Path, options: &ReadOptions) -> Result<Loaded, BundleError> {
    let mut problems = Vec::new();
    let mut found: [Option<PathBuf>; 3] = [None, None, None];
    let names = [PATIENTS, HAND_READINGS, SPINE_READINGS];
    let entries = std::fs::read_dir(dir).map_err(|e| BundleError::io(dir, e))?;
    let mut listing = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| BundleError::io(dir, e))?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        listing.push(name.clone());
        let lower = name.to_ascii_lowercase();
        let Some(stem) = lower.strip_suffix(".csv") else {
            continue;
        };
        match names.iter().position(|n| *n == stem) {
            Some(i) => found[i] = Some(path),
            None => problems.push(Problem::note(
                "unknown-table",
                Location::table(&TableName::file(&name)),
                "this CSV file is not part of the bundle format; it is ignored",
            )),
        }
    }
    listing.sort();
    // Each file's bytes live here while its rows are typed from them.
    let mut files: Vec<Option<(String, Vec<u8>)>> = Vec::new();
    for p in &found {
        files.push(match p {
            Some(p) => Some((display_name(p), read_file(p, options.max_file_bytes)?)),
            None => None,
        });
    }
    let patients_name = TableName::file(
        found[0]
            .as_deref()
            .map_or_else(|| "patients.csv".into(), display_name),
    );
    if found[0].is_none() {
        problems.push(Problem::error(
            "missing-table",
            Location::table(&TableName::file(display_name(dir))),
            format!(
                "the folder has no patients.csv (files found: {})",
                if listing.is_empty() {
                    "none".to_string()
                } else {
                    listing.join(", ")
                }
            ),
        ));
    }
    let table = |i: usize, problems: &mut Vec<Problem>| {
        files[i]
            .as_ref()
            .map(|(name, bytes)| raw::csv_table(TableName::file(name.as_str()), bytes, problems))
    };
    let patients = table(0, &mut problems).flatten();
    let hand = table(1, &mut problems);
    let spine = table(2, &mut problems);
    Ok(assemble(
        patients_name,
        patients,
        hand,
        spine,
        options,
        problems,
    ))
}

/// Types the tables. A readings table that is present but unreadable
/// (`Some(None)`) still counts as given, so the summary columns it replaces
/// are not demanded.
fn assemble(
    patients_name: TableName,
    patients: Option<RawTable<'_>>,
    hand: Option<Option<RawTable<'_>>>,
    spine: Option<Option<RawTable<'_>>>,
    options: &ReadOptions,
    mut problems: Vec<Problem>,
) -> Loaded {
    let dates = options.date_format;
    let mut cohort = Cohort {
        patients_table: patients_name,
        patients: Vec::new(),
        patient_columns: ColumnSet::default(),
        patient_extra_columns: Vec::new(),
        hand_readings: None,
        spine_readings: None,
        all_patient_ids: Vec::new(),
    };
    let ctx = PatientContext {
        dates,
        hand_readings_given: hand.is_some(),
        spine_readings_given: spine.is_some(),
    };
    // The spine readings are typed on a core of their own while the
    // patients and the hand readings are; the problems are joined in the
    // tables' order, as if read one after the other.
    let (spine_readings, spine_problems) = std::thread::scope(|scope| {
        let spine = scope.spawn(move || {
            let mut problems = Vec::new();
            let readings = spine
                .flatten()
                .map(|t| tables::read_spine(t, dates, &mut problems));
            (readings, problems)
        });
        if let Some(t) = patients {
            let table = tables::read_patients(t, &ctx, &mut problems);
            cohort.patients = table.patients;
            cohort.patient_columns = table.columns;
            cohort.patient_extra_columns = table.extra_columns;
            cohort.all_patient_ids = table.all_ids;
        }
        cohort.hand_readings = hand
            .flatten()
            .map(|t| tables::read_hand(t, dates, &mut problems));
        spine
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    });
    cohort.spine_readings = spine_readings;
    problems.extend(spine_problems);
    sclerad_model::cap_problems(&mut problems, sclerad_model::PROBLEMS_PER_RULE);
    Loaded { cohort, problems }
}

/// A plain CSV table (any columns), for the commands that read small data
/// files other than bundles, such as `sclerad stats survival`.
#[derive(Debug, Clone, PartialEq)]
pub struct PlainTable {
    /// Where it came from.
    pub name: TableName,
    /// Header names as written (trimmed).
    pub header: Vec<String>,
    /// Data rows with their spreadsheet row numbers; cells trimmed, missing
    /// markers kept as written.
    pub rows: Vec<(u32, Vec<String>)>,
    /// Whether the file is `;`-separated, where `1,5` means 1.5.
    pub decimal_comma: bool,
}

impl PlainTable {
    /// Position of a column, matched case-insensitively.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.header
            .iter()
            .position(|h| h.eq_ignore_ascii_case(name))
    }
}

/// Reads a CSV file with the bundle rules for encoding, delimiter and rows.
/// Unreadable text, an empty file and ragged rows are problems.
pub fn read_plain_csv(
    path: &Path,
    max_file_bytes: u64,
) -> Result<Result<PlainTable, Vec<Problem>>, BundleError> {
    let bytes = read_file(path, max_file_bytes)?;
    Ok(read_plain_csv_bytes(&display_name(path), &bytes))
}

/// [`read_plain_csv`] of bytes already read (an upload), named `file` in
/// its problems.
pub fn read_plain_csv_bytes(file: &str, bytes: &[u8]) -> Result<PlainTable, Vec<Problem>> {
    let mut problems = Vec::new();
    let Some(t) = raw::csv_table(TableName::file(file), bytes, &mut problems) else {
        return Err(problems);
    };
    let width = t.header.len();
    let mut rows = Vec::new();
    for r in t.rows.into_iter().flatten() {
        if r.cells.len() != width {
            problems.push(Problem::error(
                "ragged-row",
                Location::row(&t.name, r.number),
                format!(
                    "this row has {} cells but the header has {width} columns",
                    r.cells.len()
                ),
            ));
            continue;
        }
        rows.push((r.number, r.cells.iter().map(raw::Cell::display).collect()));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(PlainTable {
        name: t.name,
        header: t.header,
        rows,
        decimal_comma: t.decimal_comma,
    })
}

/// The SHA-256 fingerprint of a bundle, for provenance. For a single file
/// it is the file's SHA-256 (what `sha256sum FILE` prints). For a folder it
/// is the SHA-256 of the lines `<sha256 of file>  <file name>\n` of its
/// bundle files (patients, hand_readings, spine_readings, as found), in that
/// order: what `sha256sum patients.csv hand_readings.csv spine_readings.csv
/// | sha256sum` prints.
///
/// Files are read as the bundle is, at most `max_file_bytes` each.
pub fn fingerprint(path: &Path, max_file_bytes: u64) -> Result<String, BundleError> {
    use sha2::{Digest, Sha256};
    let hex = |bytes: &[u8]| -> String { sclerad_model::hex(&Sha256::digest(bytes)) };
    let meta = std::fs::metadata(path).map_err(|e| BundleError::io(path, e))?;
    if !meta.is_dir() {
        let bytes = read_file(path, max_file_bytes)?;
        return Ok(hex(&bytes));
    }
    let entries: Vec<(String, PathBuf)> = std::fs::read_dir(path)
        .map_err(|e| BundleError::io(path, e))?
        .filter_map(Result::ok)
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .collect();
    let mut files = Vec::new();
    for table in [PATIENTS, HAND_READINGS, SPINE_READINGS] {
        let wanted = format!("{table}.csv");
        if let Some((name, p)) = entries
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(&wanted))
        {
            files.push((name.clone(), read_file(p, max_file_bytes)?));
        }
    }
    Ok(fingerprint_files(&files))
}

/// [`fingerprint`] of a folder holding `files` (name, bytes): what
/// `sclerad analyze` records for that folder, computed without writing it.
/// Files that are not bundle files are left out, as they are from a folder.
pub fn fingerprint_files<N: AsRef<str>, B: AsRef<[u8]>>(files: &[(N, B)]) -> String {
    use sha2::{Digest, Sha256};
    let hex = |bytes: &[u8]| -> String { sclerad_model::hex(&Sha256::digest(bytes)) };
    let mut listing = String::new();
    for table in [PATIENTS, HAND_READINGS, SPINE_READINGS] {
        let wanted = format!("{table}.csv");
        if let Some((name, bytes)) = files
            .iter()
            .find(|(n, _)| n.as_ref().eq_ignore_ascii_case(&wanted))
        {
            listing.push_str(&format!("{}  {}\n", hex(bytes.as_ref()), name.as_ref()));
        }
    }
    hex(listing.as_bytes())
}
