//! The data manager's pages: the studies, and a study created by
//! uploading its bundle — CSV files or a workbook, read and validated by
//! `sclerad-bundle` exactly as `sclerad import` reads a folder, the
//! problems shown as a table (file, row, column, value, problem), nothing
//! imported while there is an error.

use std::path::PathBuf;

use askama::Template;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::Response;
use sclerad_bundle::{DateFormat, ReadOptions};
use sclerad_model::{Problem, ProblemCounts, Severity, ValidateOptions};
use sclerad_store::{Role, StoreError, StudyImport};

use super::account::sentence;
use super::{broken_upload, multipart, render, CsrfFirst, MultipartForm, PageError, Viewer};
use crate::{AppError, AppState};

/// A study as the studies page lists it.
struct StudyRow {
    name: String,
    created_at: String,
    patients: u64,
    /// Its append page.
    append_href: String,
    /// Its patients.
    patients_href: String,
    /// Its worklists.
    worklists_href: String,
    /// Its bundle, as a zip.
    export_href: String,
    /// Its images.
    images_href: String,
}

#[derive(Template)]
#[template(path = "manage/studies.html")]
struct StudiesPage {
    viewer: Viewer,
    studies: Vec<StudyRow>,
}

/// The studies in the store, with their patients.
pub async fn studies(State(state): State<AppState>, viewer: Viewer) -> Result<Response, PageError> {
    viewer.require(Role::DataManager)?;
    let mut studies = Vec::new();
    for s in state.store.studies().await? {
        let patients = super::patient_count(&state, s.id).await?;
        studies.push(StudyRow {
            append_href: format!("/manage/append?study={}", super::encode(&s.name)),
            patients_href: format!("/manage/patients?study={}", super::encode(&s.name)),
            worklists_href: format!("/manage/worklists?study={}", super::encode(&s.name)),
            export_href: format!("/manage/export?study={}", super::encode(&s.name)),
            images_href: format!("/manage/images?study={}", super::encode(&s.name)),
            name: s.name,
            created_at: s.created_at,
            patients,
        });
    }
    Ok(render(StatusCode::OK, &StudiesPage { viewer, studies }))
}

/// A problem as a row of the problems table.
pub(super) struct ProblemRow {
    pub(super) severity: Severity,
    pub(super) file: String,
    pub(super) sheet: String,
    pub(super) row: String,
    pub(super) column: String,
    pub(super) value: String,
    pub(super) message: String,
}

impl From<&Problem> for ProblemRow {
    fn from(p: &Problem) -> Self {
        ProblemRow {
            severity: p.severity,
            file: p.location.file.clone(),
            sheet: p.location.sheet.clone().unwrap_or_default(),
            row: p.location.row.map(|r| r.to_string()).unwrap_or_default(),
            column: p.location.column.clone().unwrap_or_default(),
            value: p.value.clone().unwrap_or_default(),
            message: p.message.clone(),
        }
    }
}

/// What an import did, or why it did nothing.
enum Outcome {
    /// Imported: the study, its patients and readings.
    Imported {
        study: String,
        patients: usize,
        readings: usize,
    },
    /// Appended: the study, the patients and readings added, and the
    /// patients it has now.
    Appended {
        study: String,
        patients: usize,
        readings: usize,
        total: usize,
    },
    /// Refused for the errors among the problems.
    Refused { errors: usize },
}

/// The study an append page grows.
struct AppendTo {
    name: String,
    patients: u64,
}

#[derive(Template)]
#[template(path = "manage/import.html")]
struct ImportPage {
    viewer: Viewer,
    study: String,
    dmy: bool,
    outcome: Option<Outcome>,
    /// A field of the form that was refused, and why.
    problem: Option<(&'static str, String)>,
    problems: Vec<ProblemRow>,
    max_mb: u64,
    /// On the append page, the study it grows.
    append_to: Option<AppendTo>,
}

impl ImportPage {
    /// Whether the form's field `field` was refused.
    fn refused(&self, field: &str) -> bool {
        self.problem.as_ref().is_some_and(|(f, _)| *f == field)
    }
}

/// The upload form.
pub async fn import_form(
    State(state): State<AppState>,
    viewer: Viewer,
) -> Result<Response, PageError> {
    viewer.require(Role::DataManager)?;
    Ok(render(
        StatusCode::OK,
        &ImportPage {
            viewer,
            study: String::new(),
            dmy: false,
            outcome: None,
            problem: None,
            problems: Vec::new(),
            max_mb: state.config.max_upload_bytes >> 20,
            append_to: None,
        },
    ))
}

/// The patients study `name` has, or `NotFound`.
async fn append_to(state: &AppState, name: &str) -> Result<AppendTo, PageError> {
    let study = super::study_named(state, name).await?;
    let patients = state
        .store
        .patients_page(
            study.id,
            sclerad_store::Page {
                offset: 0,
                limit: 1,
            },
        )
        .await?
        .total;
    Ok(AppendTo {
        name: study.name,
        patients,
    })
}

/// Which study an append page grows.
#[derive(serde::Deserialize)]
pub struct AppendQuery {
    study: String,
}

/// The form that grows a study.
pub async fn append_form(
    State(state): State<AppState>,
    viewer: Viewer,
    axum::extract::Query(query): axum::extract::Query<AppendQuery>,
) -> Result<Response, PageError> {
    viewer.require(Role::DataManager)?;
    let to = append_to(&state, &query.study).await?;
    Ok(render(
        StatusCode::OK,
        &ImportPage {
            viewer,
            study: to.name.clone(),
            dmy: false,
            outcome: None,
            problem: None,
            problems: Vec::new(),
            max_mb: state.config.max_upload_bytes >> 20,
            append_to: Some(to),
        },
    ))
}

/// The file names a folder bundle is made of.
const TABLE_FILES: [&str; 3] = ["patients.csv", "hand_readings.csv", "spine_readings.csv"];

/// The uploaded files, in a folder of their own that goes with this value.
struct Upload {
    dir: tempfile::TempDir,
    files: Vec<String>,
}

impl Upload {
    /// What to read: the folder (the three tables by name), the one
    /// workbook, or the one CSV file; or why the files are not a bundle.
    fn bundle(&self) -> Result<PathBuf, String> {
        let tables = self
            .files
            .iter()
            .filter(|f| TABLE_FILES.contains(&f.as_str()))
            .count();
        match self.files.as_slice() {
            [] => Err("Choose the bundle's files: patients.csv (with hand_readings.csv and spine_readings.csv if it has them), or one .xlsx workbook.".into()),
            [one] if !TABLE_FILES.contains(&one.as_str()) || one == "patients.csv" => {
                Ok(self.dir.path().join(one))
            }
            files if tables == files.len() && files.iter().any(|f| f == "patients.csv") => {
                Ok(self.dir.path().to_path_buf())
            }
            files => Err(format!(
                "{} are not one bundle: give patients.csv with hand_readings.csv and spine_readings.csv if it has them, or one .xlsx workbook, or one CSV file.",
                files.join(", ")
            )),
        }
    }
}

/// The base name of an uploaded file, as the bundle reader will name it:
/// no folder, nothing but printable characters, `.csv` or `.xlsx`.
fn upload_name(given: &str) -> Result<String, String> {
    let base = given
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default()
        .trim()
        .to_string();
    let lower = base.to_ascii_lowercase();
    if base.is_empty()
        || base.starts_with('.')
        || base.chars().count() > 200
        || base.chars().any(char::is_control)
        || !(lower.ends_with(".csv") || lower.ends_with(".xlsx"))
    {
        return Err(format!(
            "{given:?} is not a bundle file: a bundle is CSV files (.csv) or one workbook (.xlsx)."
        ));
    }
    // The table files are named as the bundle reader looks for them.
    Ok(if TABLE_FILES.contains(&lower.as_str()) {
        lower
    } else {
        base
    })
}

/// What the form sent besides its files.
#[derive(Default)]
struct Fields {
    study: String,
    dmy: bool,
}

/// Why an upload was not read: the form's field and the sentence.
type Refusal = (&'static str, String);

/// Reads the multipart form: the CSRF field first (as the page orders
/// it; a file before it is refused unread), then the study name, the
/// date format and the files, each written to the upload's folder within
/// the limits.
async fn read_upload(
    viewer: &Viewer,
    mut form: Multipart,
    limits: (u64, u64),
) -> Result<Result<(Fields, Upload), Refusal>, PageError> {
    let (max_total, max_file) = limits;
    let dir = tempfile::tempdir().map_err(|e| AppError::Internal(e.to_string()))?;
    let mut upload = Upload {
        dir,
        files: Vec::new(),
    };
    let mut fields = Fields::default();
    let mut total: u64 = 0;
    let mut csrf = CsrfFirst::new(viewer);
    while let Some(field) = form.next_field().await.map_err(broken_upload)? {
        let name = field.name().unwrap_or_default().to_string();
        let Some(mut field) = csrf.field(&name, field).await? else {
            continue;
        };
        match name.as_str() {
            "study" => fields.study = field.text().await.map_err(broken_upload)?,
            "date_format" => fields.dmy = field.text().await.map_err(broken_upload)? == "dmy",
            "files" => {
                let given = field.file_name().unwrap_or_default().to_string();
                if given.is_empty() {
                    // The file input left empty.
                    while field.chunk().await.map_err(broken_upload)?.is_some() {}
                    continue;
                }
                let file = match upload_name(&given) {
                    Ok(file) => file,
                    Err(message) => return Ok(Err(("files", message))),
                };
                if upload.files.iter().any(|f| f.eq_ignore_ascii_case(&file)) {
                    return Ok(Err(("files", format!("{file} was given twice."))));
                }
                let path = upload.dir.path().join(&file);
                // Chunks of a few kilobytes into the page cache: written
                // in place rather than sent to a blocking thread each.
                let mut out = std::fs::File::create(&path)
                    .map_err(|e| AppError::Internal(format!("{}: {e}", path.display())))?;
                let mut size: u64 = 0;
                while let Some(chunk) = field.chunk().await.map_err(broken_upload)? {
                    let n = chunk.len() as u64;
                    size += n;
                    total += n;
                    if size > max_file {
                        return Ok(Err((
                            "files",
                            format!(
                                "{file} is larger than the {max_file} bytes a bundle file may be."
                            ),
                        )));
                    }
                    if total > max_total {
                        return Ok(Err((
                            "files",
                            format!(
                                "The upload is larger than the {} MB this server takes (sclerad serve --max-upload-mb).",
                                max_total >> 20
                            ),
                        )));
                    }
                    std::io::Write::write_all(&mut out, &chunk)
                        .map_err(|e| AppError::Internal(format!("{}: {e}", path.display())))?;
                }
                std::io::Write::flush(&mut out)
                    .map_err(|e| AppError::Internal(format!("{}: {e}", path.display())))?;
                upload.files.push(file);
            }
            other => {
                return Err(AppError::invalid("form", format!("unknown field {other:?}")).into())
            }
        }
    }
    csrf.finish()?;
    Ok(Ok((fields, upload)))
}

/// Imports an uploaded bundle as a new study: read and validated as
/// `sclerad import` does, its problems shown by file, row and column;
/// nothing is imported while one is an error.
pub async fn import(
    State(state): State<AppState>,
    viewer: Viewer,
    form: MultipartForm,
) -> Result<Response, PageError> {
    // The role first: a form of the wrong kind is refused after it.
    viewer.require(Role::DataManager)?;
    let form = multipart(form, "import form")?;
    let limits = (
        state.config.max_upload_bytes,
        ReadOptions::default().max_file_bytes,
    );
    let max_mb = state.config.max_upload_bytes >> 20;
    let page = |viewer: Viewer, fields: &Fields| ImportPage {
        viewer,
        study: fields.study.clone(),
        dmy: fields.dmy,
        outcome: None,
        problem: None,
        problems: Vec::new(),
        max_mb,
        append_to: None,
    };
    let refuse = |mut page: ImportPage, refusal: Refusal| {
        page.problem = Some(refusal);
        Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
    };
    let (fields, upload) = match read_upload(&viewer, form, limits).await? {
        Ok(read) => read,
        Err(refusal) => return refuse(page(viewer, &Fields::default()), refusal),
    };
    let study = fields.study.trim().to_string();
    if let Err(StoreError::Invalid { message, .. }) = sclerad_store::check_study_name(&study) {
        return refuse(page(viewer, &fields), ("study", sentence(&message)));
    }
    if state.store.study(&study).await?.is_some() {
        return refuse(
            page(viewer, &fields),
            (
                "study",
                format!("There is a study named {study:?} already: choose another name."),
            ),
        );
    }
    let bundle = match upload.bundle() {
        Ok(path) => path,
        Err(message) => return refuse(page(viewer, &fields), ("files", message)),
    };
    let read = read_options(&fields);
    let loaded = tokio::task::spawn_blocking(move || {
        let loaded = sclerad_bundle::load(&bundle, &read, &ValidateOptions::default());
        drop(upload);
        loaded
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))?;
    let (loaded, _) = match loaded {
        Ok(loaded) => loaded,
        Err(e) => return refuse(page(viewer, &fields), ("files", sentence(&e.to_string()))),
    };
    let (rows, counts) = problem_rows(loaded.problems);
    let mut shown = page(viewer, &fields);
    shown.problems = rows;
    if counts.errors > 0 {
        shown.outcome = Some(Outcome::Refused {
            errors: counts.errors,
        });
        return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &shown));
    }
    let import = StudyImport::from_cohort(&loaded.cohort);
    let actor = shown.viewer.actor();
    match state.store.import_study(&actor, &study, &import).await {
        Ok(summary) => {
            shown.outcome = Some(Outcome::Imported {
                study: summary.study.name,
                patients: summary.patients,
                readings: summary.readings,
            });
            Ok(render(StatusCode::CREATED, &shown))
        }
        Err(StoreError::AlreadyExists { .. }) => refuse(
            shown,
            (
                "study",
                format!("There is a study named {study:?} already: choose another name."),
            ),
        ),
        Err(StoreError::Invalid { message, .. }) => refuse(shown, ("study", sentence(&message))),
        Err(e) => Err(e.into()),
    }
}

/// The problems as the table shows them: errors first, then warnings;
/// notes (such as a kept unknown column) too, as `sclerad validate` shows
/// them.
pub(super) fn problem_rows(mut problems: Vec<Problem>) -> (Vec<ProblemRow>, ProblemCounts) {
    sclerad_model::sort_problems(&mut problems);
    problems.sort_by_key(|p| p.severity);
    let counts = ProblemCounts::of(&problems);
    (problems.iter().map(ProblemRow::from).collect(), counts)
}

/// The date format the form chose.
fn read_options(fields: &Fields) -> ReadOptions {
    ReadOptions {
        date_format: if fields.dmy {
            DateFormat::Dmy
        } else {
            DateFormat::Iso
        },
        ..ReadOptions::default()
    }
}

/// Grows a study with an uploaded bundle: read as a bundle, then checked
/// with the study's records as one bundle (`sclerad import --append`),
/// every problem at its row of the uploaded files; nothing is added
/// while one is an error.
pub async fn append(
    State(state): State<AppState>,
    viewer: Viewer,
    form: MultipartForm,
) -> Result<Response, PageError> {
    viewer.require(Role::DataManager)?;
    let form = multipart(form, "append form")?;
    let limits = (
        state.config.max_upload_bytes,
        ReadOptions::default().max_file_bytes,
    );
    let max_mb = state.config.max_upload_bytes >> 20;
    let (fields, upload) = match read_upload(&viewer, form, limits).await? {
        Ok(read) => read,
        Err(refusal) => {
            // The study's name comes before the files: without it there
            // is no page to show the refusal on.
            return Err(AppError::invalid(refusal.0, refusal.1).into());
        }
    };
    let to = append_to(&state, &fields.study).await?;
    let mut shown = ImportPage {
        viewer,
        study: to.name.clone(),
        dmy: fields.dmy,
        outcome: None,
        problem: None,
        problems: Vec::new(),
        max_mb,
        append_to: Some(to),
    };
    let refuse = |mut page: ImportPage, refusal: Refusal| {
        page.problem = Some(refusal);
        Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
    };
    let bundle = match upload.bundle() {
        Ok(path) => path,
        Err(message) => return refuse(shown, ("files", message)),
    };
    let read = read_options(&fields);
    let loaded = tokio::task::spawn_blocking(move || {
        let loaded = sclerad_bundle::read_bundle(&bundle, &read);
        drop(upload);
        loaded
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))?;
    let loaded = match loaded {
        Ok(loaded) => loaded,
        Err(e) => return refuse(shown, ("files", sentence(&e.to_string()))),
    };
    let name = shown.study.clone();
    let checked = sclerad_store::check_append(
        state.store.as_ref(),
        &name,
        &loaded,
        &read_options(&fields),
        &ValidateOptions::default(),
    )
    .await?;
    drop(loaded);
    let (rows, counts) = problem_rows(checked.appended.problems.clone());
    shown.problems = rows;
    if counts.errors > 0 {
        shown.outcome = Some(Outcome::Refused {
            errors: counts.errors,
        });
        return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &shown));
    }
    let actor = shown.viewer.actor();
    match state
        .store
        .append_to_study(&actor, &name, &checked.import(), checked.checked_patients)
        .await
    {
        Ok(summary) => {
            let total = checked.checked_patients + summary.patients;
            if let Some(to) = shown.append_to.as_mut() {
                to.patients = total as u64;
            }
            shown.outcome = Some(Outcome::Appended {
                study: summary.study.name,
                patients: summary.patients,
                readings: summary.readings,
                total,
            });
            Ok(render(StatusCode::CREATED, &shown))
        }
        Err(StoreError::Conflict { .. }) => refuse(
            shown,
            (
                "files",
                format!("Study {name:?} took new patients while these files were checked; nothing was added: upload them again."),
            ),
        ),
        Err(StoreError::Invalid { message, .. }) => refuse(shown, ("files", sentence(&message))),
        Err(StoreError::AlreadyExists { what }) => refuse(
            shown,
            ("files", sentence(&format!("{what} is there already; nothing was added."))),
        ),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::upload_name;

    #[test]
    fn uploaded_names_lose_their_folders_and_keep_to_bundle_files() {
        assert_eq!(upload_name("Patients.CSV").as_deref(), Ok("patients.csv"));
        assert_eq!(
            upload_name("C:\\data\\hand_readings.csv").as_deref(),
            Ok("hand_readings.csv")
        );
        assert_eq!(
            upload_name("../../etc/study.xlsx").as_deref(),
            Ok("study.xlsx")
        );
        assert_eq!(
            upload_name("Cohort 2019.csv").as_deref(),
            Ok("Cohort 2019.csv")
        );
        for bad in [
            "../../etc/passwd",
            ".hidden.csv",
            "notes.txt",
            "x\u{7}.csv",
            "",
            "/",
        ] {
            assert!(upload_name(bad).is_err(), "{bad:?}");
        }
    }
}
