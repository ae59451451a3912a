//! The data manager's REDCap pages: sclerad's data dictionary to download;
//! a REDCap records export (with the project's dictionary and, for a
//! centre's own field names, a mapping) uploaded and turned into a bundle
//! by `sclerad_redcap::import` — the code `sclerad redcap import` runs —
//! then imported as a new study or downloaded as a zip bundle; and a
//! mapping written from a centre's dictionary, suggested by
//! `sclerad_redcap::suggest_mapping` and edited in a form.

use askama::Template;
use axum::extract::{Multipart, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use sclerad_model::ValidateOptions;
use sclerad_redcap::{DateOrder, ImportOptions, Mapping, MappingRow, Upload};
use sclerad_store::{Role, StoreError, StudyImport};

use super::account::sentence;
use super::manage::{problem_rows, ProblemRow};
use super::{
    broken_upload, encode, form_value, multipart, render, uploaded_name, CsrfFirst, MultipartForm,
    PageError, Viewer,
};
use crate::{AppError, AppState};

/// What an upload did.
enum Outcome {
    /// Imported as a new study.
    Imported {
        study: String,
        patients: usize,
        href: String,
    },
    /// Refused for the errors among the problems.
    Refused { errors: usize },
}

#[derive(Template)]
#[template(path = "redcap/import.html")]
struct ImportPage {
    viewer: Viewer,
    study: String,
    date_format: String,
    outcome: Option<Outcome>,
    /// A field of the form that was refused, and why.
    problem: Option<(&'static str, String)>,
    problems: Vec<ProblemRow>,
    max_mb: u64,
}

impl ImportPage {
    fn refused(&self, field: &str) -> bool {
        self.problem.as_ref().is_some_and(|(f, _)| *f == field)
    }
}

fn import_page(state: &AppState, viewer: Viewer) -> ImportPage {
    ImportPage {
        viewer,
        study: String::new(),
        date_format: "ymd".into(),
        outcome: None,
        problem: None,
        problems: Vec::new(),
        max_mb: state.config.max_upload_bytes >> 20,
    }
}

/// The upload form.
pub async fn import_form(
    State(state): State<AppState>,
    viewer: Viewer,
) -> Result<Response, PageError> {
    viewer.require(Role::DataManager)?;
    Ok(render(StatusCode::OK, &import_page(&state, viewer)))
}

/// sclerad's REDCap data dictionary, to upload into a new REDCap project.
pub async fn dictionary(viewer: Viewer) -> Result<Response, PageError> {
    viewer.require(Role::DataManager)?;
    Ok(csv_file(
        sclerad_redcap::dictionary_csv(),
        "sclerad-redcap-dictionary.csv",
    ))
}

fn csv_file(text: String, name: &'static str) -> Response {
    let mut response = text.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static(match name {
            "sclerad-redcap-dictionary.csv" => {
                "attachment; filename=\"sclerad-redcap-dictionary.csv\""
            }
            _ => "attachment; filename=\"mapping.csv\"",
        }),
    );
    response
}

/// A multipart form read into memory: its text fields and its files (the
/// files of a REDCap project are a few megabytes; every one is bounded).
struct Sent {
    fields: Vec<(String, String)>,
    files: Vec<(String, String, Vec<u8>)>,
}

impl Sent {
    fn text(&self, name: &str) -> &str {
        form_value(&self.fields, name).trim()
    }

    /// The file of field `field`, if one was chosen: (file name, bytes).
    fn file(&self, field: &str) -> Option<(&str, &[u8])> {
        self.files
            .iter()
            .find(|(f, _, _)| f == field)
            .map(|(_, name, bytes)| (name.as_str(), bytes.as_slice()))
    }
}

/// Reads a multipart form: the CSRF field first (a file before it is
/// refused unread), then `texts` and `files` fields; each file at most
/// `max_file` bytes, all at most `max_total`.
async fn read_form(
    viewer: &Viewer,
    mut form: Multipart,
    texts: &[&str],
    files: &[&'static str],
    (max_total, max_file): (u64, u64),
) -> Result<Result<Sent, (&'static str, String)>, PageError> {
    let mut sent = Sent {
        fields: Vec::new(),
        files: Vec::new(),
    };
    let mut total = 0u64;
    let mut csrf = CsrfFirst::new(viewer);
    while let Some(field) = form.next_field().await.map_err(broken_upload)? {
        let name = field.name().unwrap_or_default().to_string();
        let Some(mut field) = csrf.field(&name, field).await? else {
            continue;
        };
        if texts.contains(&name.as_str()) {
            let text = field.text().await.map_err(broken_upload)?;
            if text.len() > 10_000 {
                return Err(
                    AppError::invalid(name, "this field holds at most 10,000 bytes").into(),
                );
            }
            sent.fields.push((name, text));
            continue;
        }
        let Some(slot) = files.iter().find(|f| **f == name) else {
            return Err(AppError::invalid("form", format!("unknown field {name:?}")).into());
        };
        let given = uploaded_name(&field);
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(broken_upload)? {
            total += chunk.len() as u64;
            if bytes.len() as u64 + chunk.len() as u64 > max_file {
                return Ok(Err((
                    *slot,
                    format!("{given} is larger than the {max_file} bytes a file may be."),
                )));
            }
            if total > max_total {
                return Ok(Err((
                    *slot,
                    format!(
                        "The upload is larger than the {} MB this server takes (sclerad serve --max-upload-mb).",
                        max_total >> 20
                    ),
                )));
            }
            bytes.extend_from_slice(&chunk);
        }
        if given.is_empty() && bytes.is_empty() {
            // The file input left empty.
            continue;
        }
        let given = if given.is_empty() {
            format!("{name}.csv")
        } else {
            given
        };
        sent.files.push((name, given, bytes));
    }
    csrf.finish()?;
    Ok(Ok(sent))
}

/// Which form field of the page a slot is (for a refusal).
fn slot(name: &str) -> &'static str {
    match name {
        "records" => "records",
        "dictionary" => "dictionary",
        "mapping" => "mapping",
        _ => "files",
    }
}

/// Turns an uploaded records export into a bundle, as `sclerad redcap
/// import` does; then, without an error, imports it as a new study
/// (`action=import`) or sends it as a zip bundle (`action=bundle`).
pub async fn import(
    State(state): State<AppState>,
    viewer: Viewer,
    form: MultipartForm,
) -> Result<Response, PageError> {
    viewer.require(Role::DataManager)?;
    let form = multipart(form, "REDCap form")?;
    let limits = (
        state.config.max_upload_bytes,
        sclerad_bundle::ReadOptions::default().max_file_bytes,
    );
    let mut page = import_page(&state, viewer);
    let sent = match read_form(
        &page.viewer,
        form,
        &["study", "date_format", "action"],
        &["records", "dictionary", "mapping"],
        limits,
    )
    .await?
    {
        Ok(sent) => sent,
        Err((field, message)) => {
            page.problem = Some((slot(field), message));
            return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
        }
    };
    page.study = sent.text("study").to_string();
    page.date_format = match sent.text("date_format") {
        "dmy" => "dmy",
        "mdy" => "mdy",
        _ => "ymd",
    }
    .into();
    let bundle_only = sent.text("action") == "bundle";
    let refuse = |mut page: ImportPage, field: &'static str, message: String| {
        page.problem = Some((field, message));
        Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
    };
    let Some((records_name, _)) = sent.file("records") else {
        return refuse(
            page,
            "records",
            "Choose the records export: the project's data as CSV (raw data).".into(),
        );
    };
    let records_name = records_name.to_string();
    let study = page.study.clone();
    if !bundle_only {
        if let Err(StoreError::Invalid { message, .. }) = sclerad_store::check_study_name(&study) {
            return refuse(page, "study", sentence(&message));
        }
        if state.store.study(&study).await?.is_some() {
            return refuse(
                page,
                "study",
                format!("There is a study named {study:?} already: choose another name."),
            );
        }
    }
    let options = ImportOptions {
        date_order: match page.date_format.as_str() {
            "dmy" => DateOrder::Dmy,
            "mdy" => DateOrder::Mdy,
            _ => DateOrder::Ymd,
        },
        validate: ValidateOptions::default(),
    };
    let imported = tokio::task::spawn_blocking(move || {
        let own = sclerad_redcap::dictionary_csv();
        let (records, records_bytes) = sent.file("records").unwrap_or(("", &[]));
        let dictionary = match sent.file("dictionary") {
            Some((name, bytes)) => Upload { name, bytes },
            None => Upload {
                name: "sclerad's dictionary",
                bytes: own.as_bytes(),
            },
        };
        let mapping = sent
            .file("mapping")
            .map(|(name, bytes)| Upload { name, bytes });
        sclerad_redcap::import(
            Upload {
                name: records,
                bytes: records_bytes,
            },
            dictionary,
            mapping,
            None,
            &options,
        )
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))?;
    let errors = imported.counts().errors;
    let (rows, _) = problem_rows(imported.problems);
    page.problems = rows;
    let Some(bundle) = imported.bundle.filter(|_| errors == 0) else {
        page.outcome = Some(Outcome::Refused {
            errors: errors.max(1),
        });
        return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
    };
    if bundle_only {
        let files = bundle.files();
        let zip = sclerad_bundle::zip(&files).map_err(|e| AppError::Internal(e.to_string()))?;
        let stem: String = records_name
            .trim_end_matches(".csv")
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let mut response = zip.into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/zip"),
        );
        if let Ok(value) =
            HeaderValue::from_str(&format!("attachment; filename=\"{stem}-bundle.zip\""))
        {
            headers.insert(header::CONTENT_DISPOSITION, value);
        }
        return Ok(response);
    }
    let import = StudyImport::from_tables(&bundle);
    match state
        .store
        .import_study(&page.viewer.actor(), &study, &import)
        .await
    {
        Ok(summary) => {
            page.outcome = Some(Outcome::Imported {
                href: format!("/manage/patients?study={}", encode(&summary.study.name)),
                study: summary.study.name,
                patients: summary.patients,
            });
            Ok(render(StatusCode::CREATED, &page))
        }
        Err(StoreError::AlreadyExists { .. }) => refuse(
            page,
            "study",
            format!("There is a study named {study:?} already: choose another name."),
        ),
        Err(e) => Err(e.into()),
    }
}

// ---- mapping ----

/// A mapping row as the form shows it.
struct RowForm {
    field: String,
    choice: String,
    column: String,
    value: String,
    label: String,
}

#[derive(Template)]
#[template(path = "redcap/mapping.html")]
struct MappingPage {
    viewer: Viewer,
    dictionary: String,
    /// The dictionary's text, sent back with the edited mapping to check it.
    dictionary_csv: String,
    rows: Vec<RowForm>,
    /// The format's patients columns, for each row's choice.
    columns: &'static [&'static str],
    problem: Option<(&'static str, String)>,
    problems: Vec<ProblemRow>,
}

fn mapping_page(viewer: Viewer) -> MappingPage {
    MappingPage {
        viewer,
        dictionary: String::new(),
        dictionary_csv: String::new(),
        rows: Vec::new(),
        columns: sclerad_model::PatientColumn::CODES,
        problem: None,
        problems: Vec::new(),
    }
}

/// The mapping form: first the centre's dictionary to upload.
pub async fn mapping_form(viewer: Viewer) -> Result<Response, PageError> {
    viewer.require(Role::DataManager)?;
    Ok(render(StatusCode::OK, &mapping_page(viewer)))
}

/// Reads a centre's dictionary and shows the suggested mapping as a form,
/// one row per field and choice.
pub async fn mapping_suggest(
    State(state): State<AppState>,
    viewer: Viewer,
    form: MultipartForm,
) -> Result<Response, PageError> {
    viewer.require(Role::DataManager)?;
    let form = multipart(form, "dictionary")?;
    let limits = (
        state.config.max_upload_bytes,
        sclerad_bundle::ReadOptions::default().max_file_bytes,
    );
    let mut page = mapping_page(viewer);
    let sent = match read_form(&page.viewer, form, &[], &["dictionary"], limits).await? {
        Ok(sent) => sent,
        Err((_, message)) => {
            page.problem = Some(("dictionary", message));
            return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
        }
    };
    let Some((name, bytes)) = sent.file("dictionary") else {
        page.problem = Some((
            "dictionary",
            "Choose the project's data dictionary (REDCap: Project Setup → Data Dictionary → download).".into(),
        ));
        return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
    };
    let (dictionary, problems) = sclerad_redcap::read_dictionary(name, bytes);
    page.dictionary = name.to_string();
    page.dictionary_csv = String::from_utf8_lossy(bytes).into_owned();
    let errors = problems
        .iter()
        .filter(|p| p.severity == sclerad_model::Severity::Error)
        .count();
    page.problems = problem_rows(problems).0;
    if errors > 0 {
        page.problem = Some((
            "dictionary",
            format!("{name} has {errors} error(s): it cannot be read as a data dictionary."),
        ));
        return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    page.rows = sclerad_redcap::suggest_mapping(&dictionary)
        .rows
        .into_iter()
        .map(|r| RowForm {
            field: r.redcap_field,
            choice: r.choice,
            column: r.column,
            value: r.value,
            label: r.redcap_label,
        })
        .collect();
    Ok(render(StatusCode::OK, &page))
}

/// The edited mapping as a mapping file, checked as `sclerad redcap import
/// --mapping` reads one; a refused row is shown in the form again.
pub async fn mapping_csv(
    viewer: Viewer,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    viewer.require(Role::DataManager)?;
    viewer.check_csrf(form_value(&form, "csrf").trim())?;
    let list = |name: &str| -> Vec<String> {
        form.iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_string())
            .collect()
    };
    let (fields, choices, columns, values, labels) = (
        list("field"),
        list("choice"),
        list("column"),
        list("value"),
        list("label"),
    );
    let n = fields.len();
    if [&choices, &columns, &values, &labels]
        .iter()
        .any(|l| l.len() != n)
    {
        return Err(AppError::invalid("form", "the mapping's rows are incomplete").into());
    }
    let mapping = Mapping {
        file: "mapping.csv".into(),
        rows: (0..n)
            .map(|i| MappingRow {
                row: 0,
                redcap_field: fields[i].clone(),
                choice: choices[i].clone(),
                column: columns[i].clone(),
                value: values[i].clone(),
                redcap_label: labels[i].clone(),
            })
            .collect(),
    };
    let text = mapping.to_csv();
    let (read, mut problems) = sclerad_redcap::read_mapping("mapping.csv", text.as_bytes());
    let dictionary_name = form_value(&form, "dictionary").trim().to_string();
    let dictionary_csv = form_value(&form, "dictionary_csv");
    let (dictionary, dictionary_problems) =
        sclerad_redcap::read_dictionary(&dictionary_name, dictionary_csv.as_bytes());
    if dictionary_problems
        .iter()
        .any(|p| p.severity == sclerad_model::Severity::Error)
    {
        return Err(AppError::invalid(
            "dictionary",
            "the form lost its dictionary: upload the dictionary again",
        )
        .into());
    }
    problems.extend(sclerad_redcap::check_mapping(&dictionary, &read));
    let errors = problems
        .iter()
        .filter(|p| p.severity == sclerad_model::Severity::Error)
        .count();
    if errors == 0 {
        return Ok(csv_file(text, "mapping.csv"));
    }
    let mut page = mapping_page(viewer);
    page.dictionary = dictionary_name;
    page.dictionary_csv = dictionary_csv.to_string();
    page.rows = mapping
        .rows
        .into_iter()
        .map(|r| RowForm {
            field: r.redcap_field,
            choice: r.choice,
            column: r.column,
            value: r.value,
            label: r.redcap_label,
        })
        .collect();
    page.problems = problem_rows(problems).0;
    page.problem = Some((
        "mapping",
        format!("{errors} row(s) of the mapping cannot be used: see the table (rows as in the file, its header row 1)."),
    ));
    Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
}
