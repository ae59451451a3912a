//! Writing a cohort back out as a bundle folder of comma-separated UTF-8
//! CSVs with ISO dates: the form every other reader accepts.

use std::borrow::Cow;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use sclerad_model::{Cohort, HandReading, Patient, PatientColumn as Col, Readings, SpineReading};

use crate::BundleError;

fn quote(out: &mut String, cell: &str) {
    if cell.contains([',', '"', '\n', '\r', ';']) || cell.trim() != cell {
        out.push('"');
        out.push_str(&cell.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(cell);
    }
}

fn line(out: &mut String, cells: impl IntoIterator<Item = String>) {
    for (i, c) in cells.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        quote(out, &c);
    }
    out.push('\n');
}

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map(ToString::to_string).unwrap_or_default()
}

fn yes_no(v: Option<bool>) -> String {
    match v {
        Some(true) => "yes".into(),
        Some(false) => "no".into(),
        None => String::new(),
    }
}

/// The cell of `column` for `p`, as the reader reads it back.
fn patient_cell(p: &Patient, column: Col) -> String {
    if let Some(item) = p.acr_eular.get(column) {
        return yes_no(item);
    }
    match column {
        Col::PatientId => p.patient_id.clone(),
        Col::Sex => p.sex.code().into(),
        Col::AgeYears => opt(&p.age_years),
        Col::BirthDate => opt(&p.birth_date),
        Col::Subset => p.subset.code().into(),
        Col::OnsetDate => opt(&p.onset_date),
        Col::DiseaseDurationYears => opt(&p.disease_duration_years),
        Col::HandXrayDate => opt(&p.hand_xray_date),
        Col::CtDate => opt(&p.ct_date),
        Col::CtType => opt(&p.ct_type),
        Col::CtLevels => opt(&p.ct_levels),
        Col::DigitalUlcers => yes_no(p.digital_ulcers),
        Col::IldCt => yes_no(p.ild_ct),
        Col::RestrictiveSyndrome => yes_no(p.restrictive_syndrome),
        Col::FvcPctPred => opt(&p.fvc_pct_pred),
        Col::TlcPctPred => opt(&p.tlc_pct_pred),
        Col::DlcoPctPred => opt(&p.dlco_pct_pred),
        Col::Pah => yes_no(p.pah),
        Col::MpapMmhg => opt(&p.mpap_mmhg),
        Col::PawpMmhg => opt(&p.pawp_mmhg),
        Col::PvrWu => opt(&p.pvr_wu),
        Col::Death => yes_no(p.death),
        Col::DeathDate => opt(&p.death_date),
        Col::LastFollowupDate => opt(&p.last_followup_date),
        Col::Mrss => opt(&p.mrss),
        Col::Calcinosis
        | Col::AcroOsteolysis
        | Col::PeriarticularCalcification
        | Col::Erosion
        | Col::JointSpaceNarrowing
        | Col::Subluxation
        | Col::FlexionContracture => {
            let lesion = sclerad_model::Lesion::ALL
                .iter()
                .find(|l| Col::of_lesion(**l) == column)
                .copied();
            yes_no(lesion.and_then(|l| p.lesion(l)))
        }
        Col::SpineAnterior | Col::SpineCanal | Col::SpineForaminal | Col::SpinePosterior => {
            let flag = sclerad_model::SpineFlag::ALL
                .iter()
                .find(|f| Col::of_spine(**f) == column)
                .copied();
            yes_no(flag.and_then(|f| p.spine_flag(f)))
        }
        // Every ACR/EULAR item was handled above.
        _ => String::new(),
    }
}

fn patient_header(cohort: &Cohort) -> Vec<String> {
    cohort
        .patient_columns
        .iter()
        .map(|c| c.code().to_string())
        .chain(cohort.patient_extra_columns.iter().cloned())
        .collect()
}

fn patient_row(p: &Patient, columns: &[Col]) -> Vec<String> {
    columns
        .iter()
        .map(|c| patient_cell(p, *c))
        .chain(p.extra.iter().cloned())
        .collect()
}

/// The columns of a readings table: the format's, the mark's only when a
/// reading has a mark (a version-1 bundle stays version 1).
fn known_columns(codes: &[&str], marks: bool) -> Vec<String> {
    codes
        .iter()
        .filter(|c| marks || !sclerad_model::MARK_COLUMNS.contains(c))
        .map(|c| c.to_string())
        .collect()
}

fn mark_cells<'r>(mark: &'r Option<sclerad_model::ImageMark>, out: &mut Vec<Cow<'r, str>>) {
    match mark {
        Some(m) => out.extend([
            Cow::Borrowed(m.image_uid.as_str()),
            m.frame
                .map_or(Cow::Borrowed(""), |f| Cow::Owned(f.to_string())),
            m.point
                .map_or(Cow::Borrowed(""), |p| Cow::Owned(p.0.to_string())),
            m.point
                .map_or(Cow::Borrowed(""), |p| Cow::Owned(p.1.to_string())),
        ]),
        None => out.extend([const { Cow::Borrowed("") }; 4]),
    }
}

fn hand_header(h: &Readings<HandReading>) -> Vec<String> {
    let marks = h.rows.iter().any(|r| r.mark.is_some());
    known_columns(sclerad_model::HandColumn::CODES, marks)
        .into_iter()
        .chain(h.extra_columns.iter().cloned())
        .collect()
}

fn hand_row(r: &HandReading, marks: bool) -> Vec<String> {
    let mut cells = Vec::new();
    hand_cells(r, marks, &mut cells);
    cells.into_iter().map(Cow::into_owned).collect()
}

/// The cells of a hand readings row, borrowed from it where it holds them.
fn hand_cells<'r>(r: &'r HandReading, marks: bool, out: &mut Vec<Cow<'r, str>>) {
    out.clear();
    out.extend([
        Cow::Borrowed(r.patient_id.as_str()),
        Cow::Borrowed(r.reader.as_str()),
        Cow::Borrowed(r.side.map_or("", |s| s.code())),
        Cow::Borrowed(r.site.map_or("", |s| s.code())),
        Cow::Borrowed(r.lesion.map_or("none", |l| l.code())),
        r.grade
            .map_or(Cow::Borrowed(""), |g| Cow::Owned(g.to_string())),
    ]);
    if marks {
        mark_cells(&r.mark, out);
    }
    out.extend(r.extra.iter().map(|e| Cow::Borrowed(e.as_str())));
}

fn spine_header(s: &Readings<SpineReading>) -> Vec<String> {
    let marks = s.rows.iter().any(|r| r.mark.is_some());
    known_columns(sclerad_model::SpineColumn::CODES, marks)
        .into_iter()
        .chain(s.extra_columns.iter().cloned())
        .collect()
}

fn spine_row(r: &SpineReading, marks: bool) -> Vec<String> {
    let mut cells = Vec::new();
    spine_cells(r, marks, &mut cells);
    cells.into_iter().map(Cow::into_owned).collect()
}

/// The cells of a spine readings row, borrowed from it where it holds them.
fn spine_cells<'r>(r: &'r SpineReading, marks: bool, out: &mut Vec<Cow<'r, str>>) {
    out.clear();
    out.extend([
        Cow::Borrowed(r.patient_id.as_str()),
        Cow::Borrowed(r.reader.as_str()),
        r.level
            .map_or(Cow::Borrowed(""), |l| Cow::Owned(l.to_string())),
        Cow::Borrowed(r.segment.map_or("none", |s| s.code())),
        Cow::Borrowed(match r.foraminal {
            Some(true) => "yes",
            Some(false) => "no",
            None => "",
        }),
        Cow::Borrowed(r.side.map_or("", |s| s.code())),
        Cow::Borrowed(r.morphology.map_or("", |m| m.code())),
    ]);
    if marks {
        mark_cells(&r.mark, out);
    }
    out.extend(r.extra.iter().map(|e| Cow::Borrowed(e.as_str())));
}

/// Writes a header and rows as CSV, in blocks of about 64 KiB.
fn write_csv(
    w: &mut impl Write,
    header: Vec<String>,
    rows: impl Iterator<Item = Vec<String>>,
) -> std::io::Result<()> {
    let mut text = String::new();
    line(&mut text, header);
    for row in rows {
        line(&mut text, row);
        if text.len() > 1 << 16 {
            w.write_all(text.as_bytes())?;
            text.clear();
        }
    }
    w.write_all(text.as_bytes())
}

/// One table of a bundle as the text of its cells: what a store keeps and
/// what an export writes back.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TextTable {
    /// Column names, in file order (unknown columns included).
    pub columns: Vec<String>,
    /// Rows, each with one cell per column.
    pub rows: Vec<Vec<String>>,
}

/// A bundle as text tables, in the canonical form [`write_folder`] writes:
/// codes in lower case, ISO dates, `yes`/`no`, empty for missing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TextTables {
    /// `patients`.
    pub patients: TextTable,
    /// `hand_readings`, when the bundle has it.
    pub hand_readings: Option<TextTable>,
    /// `spine_readings`, when the bundle has it.
    pub spine_readings: Option<TextTable>,
}

/// One table as text cells, a row at a time: held whole (a
/// [`TextTable`]) or rendered from a cohort row by row on demand, so a
/// caller that goes through it in batches never holds all its text.
pub struct TableRows<'a> {
    columns: Vec<String>,
    rows: Rows<'a>,
}

enum Rows<'a> {
    Held(&'a [Vec<String>]),
    Patients(&'a [sclerad_model::Patient], Vec<Col>),
    /// The rows, and whether the table has the mark columns.
    Hands(&'a [HandReading], bool),
    Spines(&'a [SpineReading], bool),
}

impl<'a> TableRows<'a> {
    /// The patient id and reader of readings row `i`, borrowed from the
    /// table (empty where the row has none); `None` past the end and for
    /// the patients table. Cheaper than [`TableRows::cells`] for a caller
    /// that only groups rows into readings.
    pub fn reading_key(&self, i: usize) -> Option<(&'a str, &'a str)> {
        match &self.rows {
            Rows::Held(rows) => {
                let at = |name: &str| self.columns.iter().position(|c| c == name);
                let (p, r) = (at("patient_id"), at("reader"));
                let row = rows.get(i)?;
                let get = |k: Option<usize>| k.and_then(|k| row.get(k)).map_or("", String::as_str);
                Some((get(p), get(r)))
            }
            Rows::Patients(..) => None,
            Rows::Hands(rows, _) => rows
                .get(i)
                .map(|r| (r.patient_id.as_str(), r.reader.as_str())),
            Rows::Spines(rows, _) => rows
                .get(i)
                .map(|r| (r.patient_id.as_str(), r.reader.as_str())),
        }
    }
}

impl TableRows<'_> {
    /// Column names, in file order.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        match &self.rows {
            Rows::Held(rows) => rows.len(),
            Rows::Patients(rows, _) => rows.len(),
            Rows::Hands(rows, _) => rows.len(),
            Rows::Spines(rows, _) => rows.len(),
        }
    }

    /// Whether the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Row `i` as [`TableRows::row`] gives it, into `out`, each cell
    /// borrowed where the table holds its text: going through a table this
    /// way allocates next to nothing for most rows.
    pub fn cells<'s>(&'s self, i: usize, out: &mut Vec<Cow<'s, str>>) {
        out.clear();
        match &self.rows {
            Rows::Held(rows) => {
                if let Some(row) = rows.get(i) {
                    out.extend(row.iter().map(|c| Cow::Borrowed(c.as_str())));
                }
            }
            Rows::Patients(rows, columns) => {
                if let Some(p) = rows.get(i) {
                    out.extend(patient_row(p, columns).into_iter().map(Cow::Owned));
                }
            }
            Rows::Hands(rows, marks) => {
                if let Some(r) = rows.get(i) {
                    hand_cells(r, *marks, out);
                }
            }
            Rows::Spines(rows, marks) => {
                if let Some(r) = rows.get(i) {
                    spine_cells(r, *marks, out);
                }
            }
        }
    }

    /// Row `i` (`0..len()`), one cell per column; an empty row past the end.
    pub fn row(&self, i: usize) -> std::borrow::Cow<'_, [String]> {
        use std::borrow::Cow;
        match &self.rows {
            Rows::Held(rows) => rows
                .get(i)
                .map_or(Cow::Owned(Vec::new()), |r| Cow::Borrowed(r)),
            Rows::Patients(rows, columns) => Cow::Owned(
                rows.get(i)
                    .map_or_else(Vec::new, |p| patient_row(p, columns)),
            ),
            Rows::Hands(rows, marks) => {
                Cow::Owned(rows.get(i).map_or_else(Vec::new, |r| hand_row(r, *marks)))
            }
            Rows::Spines(rows, marks) => {
                Cow::Owned(rows.get(i).map_or_else(Vec::new, |r| spine_row(r, *marks)))
            }
        }
    }
}

/// A bundle's tables as [`TableRows`]: [`TextTables`] without holding
/// their text.
pub struct TextSource<'a> {
    /// `patients`.
    pub patients: TableRows<'a>,
    /// `hand_readings`, when the bundle has it.
    pub hand_readings: Option<TableRows<'a>>,
    /// `spine_readings`, when the bundle has it.
    pub spine_readings: Option<TableRows<'a>>,
}

impl<'a> TextSource<'a> {
    /// The tables of `cohort`, rendered a row at a time exactly as
    /// [`TextTables::of`] renders them.
    pub fn of(cohort: &'a Cohort) -> Self {
        let columns: Vec<Col> = cohort.patient_columns.iter().collect();
        TextSource {
            patients: TableRows {
                columns: patient_header(cohort),
                rows: Rows::Patients(&cohort.patients, columns),
            },
            hand_readings: cohort.hand_readings.as_ref().map(|h| TableRows {
                columns: hand_header(h),
                rows: Rows::Hands(&h.rows, h.rows.iter().any(|r| r.mark.is_some())),
            }),
            spine_readings: cohort.spine_readings.as_ref().map(|s| TableRows {
                columns: spine_header(s),
                rows: Rows::Spines(&s.rows, s.rows.iter().any(|r| r.mark.is_some())),
            }),
        }
    }

    /// Tables held whole.
    pub fn held(tables: &'a TextTables) -> Self {
        let held = |t: &'a TextTable| TableRows {
            columns: t.columns.clone(),
            rows: Rows::Held(&t.rows),
        };
        TextSource {
            patients: held(&tables.patients),
            hand_readings: tables.hand_readings.as_ref().map(held),
            spine_readings: tables.spine_readings.as_ref().map(held),
        }
    }
}

impl TextTables {
    /// The tables of `cohort`, cell for cell as [`write_folder`] writes them.
    pub fn of(cohort: &Cohort) -> Self {
        let text = TextSource::of(cohort);
        let whole = |t: &TableRows<'_>| TextTable {
            columns: t.columns().to_vec(),
            rows: (0..t.len()).map(|i| t.row(i).into_owned()).collect(),
        };
        TextTables {
            patients: whole(&text.patients),
            hand_readings: text.hand_readings.as_ref().map(whole),
            spine_readings: text.spine_readings.as_ref().map(whole),
        }
    }

    /// The bundle's files (name, bytes), byte for byte as
    /// [`TextTables::write_folder`] writes them: `patients.csv`, then the
    /// readings files the bundle has.
    pub fn files(&self) -> Vec<(&'static str, Vec<u8>)> {
        let csv = |t: &TextTable| {
            let mut bytes = Vec::new();
            // Writing into memory fails only on exhausted memory.
            let _ = write_csv(&mut bytes, t.columns.clone(), t.rows.iter().cloned());
            bytes
        };
        let mut files = vec![("patients.csv", csv(&self.patients))];
        if let Some(h) = &self.hand_readings {
            files.push(("hand_readings.csv", csv(h)));
        }
        if let Some(s) = &self.spine_readings {
            files.push(("spine_readings.csv", csv(s)));
        }
        files
    }

    /// Writes the tables as a bundle folder, with [`write_folder`]'s
    /// all-or-nothing guarantee.
    pub fn write_folder(&self, dir: &Path) -> Result<(), BundleError> {
        fn table(t: &TextTable) -> Writer<'_> {
            Box::new(move |w| write_csv(w, t.columns.clone(), t.rows.iter().cloned()))
        }
        let mut files: Vec<(&str, Writer<'_>)> = vec![("patients.csv", table(&self.patients))];
        if let Some(h) = &self.hand_readings {
            files.push(("hand_readings.csv", table(h)));
        }
        if let Some(s) = &self.spine_readings {
            files.push(("spine_readings.csv", table(s)));
        }
        write_files(dir, &files)
    }
}

type Writer<'a> = Box<dyn Fn(&mut BufWriter<File>) -> std::io::Result<()> + 'a>;

/// Writes `cohort` as `patients.csv` (and the readings files it has) into
/// `dir`, creating it if needed. Each file is written beside its final name
/// and renamed into place only once every file is complete, so a failure
/// leaves no half-written bundle behind.
pub fn write_folder(cohort: &Cohort, dir: &Path) -> Result<(), BundleError> {
    let columns: Vec<Col> = cohort.patient_columns.iter().collect();
    let columns = &columns;
    let mut files: Vec<(&str, Writer<'_>)> = vec![(
        "patients.csv",
        Box::new(move |w| {
            let rows = cohort.patients.iter().map(|p| patient_row(p, columns));
            write_csv(w, patient_header(cohort), rows)
        }),
    )];
    if let Some(h) = &cohort.hand_readings {
        files.push((
            "hand_readings.csv",
            Box::new(move |w| {
                let marks = h.rows.iter().any(|r| r.mark.is_some());
                write_csv(
                    w,
                    hand_header(h),
                    h.rows.iter().map(move |r| hand_row(r, marks)),
                )
            }),
        ));
    }
    if let Some(s) = &cohort.spine_readings {
        files.push((
            "spine_readings.csv",
            Box::new(move |w| {
                let marks = s.rows.iter().any(|r| r.mark.is_some());
                write_csv(
                    w,
                    spine_header(s),
                    s.rows.iter().map(move |r| spine_row(r, marks)),
                )
            }),
        ));
    }
    write_files(dir, &files)
}

fn write_files(dir: &Path, files: &[(&str, Writer<'_>)]) -> Result<(), BundleError> {
    std::fs::create_dir_all(dir).map_err(|e| BundleError::io(dir, e))?;
    let mut staged: Vec<(PathBuf, PathBuf)> = Vec::new();
    let result = (|| {
        for (name, write) in files {
            let target = dir.join(name);
            let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
            staged.push((tmp.clone(), target));
            let file = File::create(&tmp).map_err(|e| BundleError::io(&tmp, e))?;
            let mut w = BufWriter::new(file);
            write(&mut w)
                .and_then(|()| w.flush())
                .map_err(|e| BundleError::io(&tmp, e))?;
        }
        for (tmp, target) in &staged {
            std::fs::rename(tmp, target).map_err(|e| BundleError::io(target, e))?;
        }
        Ok(())
    })();
    if result.is_err() {
        for (tmp, _) in &staged {
            let _ = std::fs::remove_file(tmp);
        }
    }
    result
}

/// The columns of [`derived_csv`], in order.
pub const DERIVED_COLUMNS: [&str; 25] = [
    "patient_id",
    "age_years",
    "disease_duration_years",
    "imaging_gap_days",
    "imaging_within_window",
    "restrictive_syndrome",
    "acr_eular_2013_score",
    "acr_eular_2013_lower_bound",
    "acr_eular_2013_classified",
    "ct_coverage",
    "calcinosis",
    "acro_osteolysis",
    "periarticular_calcification",
    "erosion",
    "joint_space_narrowing",
    "subluxation",
    "flexion_contracture",
    "hand_source",
    "spine_anterior",
    "spine_canal",
    "spine_foraminal",
    "spine_posterior",
    "spine_any",
    "spine_source",
    "spine_levels_covered",
];

/// The derived per-patient variables as CSV text (full precision, empty
/// cells for missing values).
pub fn derived_csv(derived: &[sclerad_model::DerivedPatient]) -> String {
    use sclerad_model::{FlagSource, Lesion, SpineFlag};
    let source = |s: FlagSource| {
        match s {
            FlagSource::Readings => "readings",
            FlagSource::Summary => "summary",
            FlagSource::Missing => "",
        }
        .to_string()
    };
    let mut text = String::new();
    line(&mut text, DERIVED_COLUMNS.map(String::from));
    for d in derived {
        let acr = d.acr_eular_2013;
        let mut cells = vec![
            // A file for people: an id that starts like a formula is defused.
            sclerad_model::spreadsheet_safe(&d.patient_id).into_owned(),
            opt(&d.age_years),
            opt(&d.disease_duration_years),
            opt(&d.imaging_gap_days),
            yes_no(d.imaging_within_window),
            yes_no(d.restrictive_syndrome),
            opt(&acr.map(|a| a.score)),
            yes_no(acr.map(|a| a.lower_bound)),
            yes_no(acr.and_then(|a| a.classified)),
            opt(&d.ct_coverage),
        ];
        cells.extend(Lesion::ALL.iter().map(|l| yes_no(d.lesion(*l))));
        cells.push(source(d.hand_source));
        cells.extend(SpineFlag::ALL.iter().map(|f| yes_no(d.spine_flag(*f))));
        cells.push(yes_no(d.spine_any));
        cells.push(source(d.spine_source));
        cells.push(opt(&d.ct_coverage.map(|c| c.len())));
        line(&mut text, cells);
    }
    text
}

/// Writes `text` to `path` through a temporary file renamed into place.
pub fn write_file_atomically(path: &Path, text: &str) -> Result<(), BundleError> {
    write_bytes_atomically(path, text.as_bytes())
}

/// Writes `bytes` to `path` through a temporary file renamed into place:
/// never a half-written file.
pub fn write_bytes_atomically(path: &Path, bytes: &[u8]) -> Result<(), BundleError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(|e| BundleError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        BundleError::io(path, e)
    })
}
