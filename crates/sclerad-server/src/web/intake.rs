//! The data manager's images page: a study's stored images, exam by exam,
//! with what to look at (`sclerad_store::check_images`); DICOM files taken
//! in — a zip (or DICOM files) uploaded, or a folder named under the
//! server's `--images-root` — exactly as `sclerad images import` takes them
//! (`sclerad_intake`: de-identified, routed by the map, quarantined when
//! their pixels may show text); the de-identification report, a line per
//! file; and the explicit override of a quarantine.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use askama::Template;
use axum::extract::{Multipart, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use sclerad_intake::{IntakeError, Line, StudyIntake};
use sclerad_store::{check_images, ExamImages, Modality, Role, Study};
use serde::Deserialize;

use super::{
    broken_upload, form_value, multipart, render, study_named, uploaded_name, CsrfFirst,
    MultipartForm, PageError, Viewer,
};
use crate::{AppError, AppState};

/// The largest map file read (a map is a line per source patient).
const MAP_MAX_BYTES: u64 = 64 << 20;

/// An exam as the page lists it.
struct ExamRow {
    patient_id: String,
    exam: &'static str,
    instances: usize,
    series: usize,
    megabytes: String,
    proposed_ct_levels: String,
    problems: Vec<(&'static str, &'static str, String)>,
}

impl From<ExamImages> for ExamRow {
    fn from(e: ExamImages) -> Self {
        ExamRow {
            patient_id: e.patient_id,
            exam: match e.exam {
                Modality::HandRadiograph => "hand_radiograph",
                Modality::Ct => "ct",
            },
            instances: e.instances,
            series: e.series,
            megabytes: format!("{:.1}", e.bytes as f64 / 1e6),
            proposed_ct_levels: e.proposed_ct_levels.unwrap_or_default(),
            problems: e
                .problems
                .into_iter()
                .map(|p| (p.severity, p.code, p.message))
                .collect(),
        }
    }
}

/// A report line as the page shows it.
struct ReportRow {
    source: String,
    outcome: &'static str,
    reason: String,
    patient_id: String,
    exam: String,
    warnings: String,
    /// For a quarantined file of a folder: its path under the images root,
    /// for the override.
    override_path: Option<String>,
}

/// What an intake did.
struct Report {
    rows: Vec<ReportRow>,
    stored: usize,
    unchanged: usize,
    quarantined: usize,
    refused: usize,
    skipped: usize,
    /// The map, carried by each override form.
    map_name: String,
    map_text: String,
}

impl Report {
    /// Whether a line can be overridden from the page.
    fn overridable(&self) -> bool {
        self.rows.iter().any(|l| l.override_path.is_some())
    }
}

#[derive(Template)]
#[template(path = "intake/images.html")]
struct ImagesPage {
    viewer: Viewer,
    study: String,
    /// Exams with images, and those with a problem.
    exams: Vec<ExamRow>,
    with_images: usize,
    instances: usize,
    /// The folder source is offered (the server has an images root).
    folders: bool,
    folder: String,
    report: Option<Report>,
    problem: Option<(&'static str, String)>,
    method: String,
    max_mb: u64,
}

impl ImagesPage {
    fn refused(&self, field: &str) -> bool {
        self.problem.as_ref().is_some_and(|(f, _)| *f == field)
    }
}

async fn page_of(state: &AppState, viewer: Viewer, study: &Study) -> Result<ImagesPage, PageError> {
    let patients = state.store.patients(study.id).await?;
    let mut images = Vec::new();
    let mut after = 0;
    loop {
        let chunk = state.store.images_after(study.id, after, 10_000).await?;
        let Some(last) = chunk.last() else { break };
        after = last.id;
        images.extend(chunk);
    }
    let checked = check_images(&patients, &images);
    let with_images = checked.iter().filter(|e| e.instances > 0).count();
    // Exams with images or with something to look at; an exam neither
    // dated nor imaged says nothing.
    let exams = checked
        .into_iter()
        .filter(|e| e.instances > 0 || !e.problems.is_empty())
        .map(ExamRow::from)
        .collect();
    Ok(ImagesPage {
        viewer,
        study: study.name.clone(),
        exams,
        with_images,
        instances: images.len(),
        folders: state.config.images_root.is_some(),
        folder: String::new(),
        report: None,
        problem: None,
        method: sclerad_dicom::deid::method(),
        max_mb: state.config.max_upload_bytes >> 20,
    })
}

/// Which study.
#[derive(Deserialize)]
pub struct StudyQuery {
    study: String,
}

/// The study's images and the form.
pub async fn images(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<StudyQuery>,
) -> Result<Response, PageError> {
    viewer.require(Role::DataManager)?;
    let study = study_named(&state, &query.study).await?;
    let page = page_of(&state, viewer, &study).await?;
    Ok(render(StatusCode::OK, &page))
}

/// A folder (or file) named relative to the images root, if it is one
/// under it: no `..`, no absolute path, no link leading out.
fn under_root(root: &Path, given: &str) -> Result<PathBuf, String> {
    let relative = Path::new(given.trim());
    if given.trim().is_empty()
        || relative.is_absolute()
        || relative
            .components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)))
    {
        return Err(format!(
            "{given:?}: name a folder under the server's images folder, as a relative path without '..'"
        ));
    }
    let root = root
        .canonicalize()
        .map_err(|e| format!("the server's images folder cannot be read: {e}"))?;
    let path = root
        .join(relative)
        .canonicalize()
        .map_err(|_| format!("{given:?}: no such folder under the server's images folder"))?;
    if !path.starts_with(&root) {
        return Err(format!("{given:?} leads out of the server's images folder"));
    }
    Ok(path)
}

/// What the upload form sent.
#[derive(Default)]
struct Sent {
    study: String,
    folder: String,
    allow_burned_in: bool,
    map: Option<(String, Vec<u8>)>,
    /// The uploaded files, in a folder of their own.
    upload: Option<(tempfile::TempDir, Vec<String>)>,
}

/// Reads the multipart form: the CSRF field first, the map in memory,
/// the DICOM files or zips streamed to a temporary folder, all within the
/// upload limit.
async fn read_form(
    viewer: &Viewer,
    mut form: Multipart,
    max_total: u64,
) -> Result<Result<Sent, (&'static str, String)>, PageError> {
    let mut sent = Sent::default();
    let mut total = 0u64;
    let mut csrf = CsrfFirst::new(viewer);
    while let Some(field) = form.next_field().await.map_err(broken_upload)? {
        let name = field.name().unwrap_or_default().to_string();
        let Some(mut field) = csrf.field(&name, field).await? else {
            continue;
        };
        let file_name = uploaded_name(&field);
        match name.as_str() {
            "study" => sent.study = field.text().await.map_err(broken_upload)?,
            "folder" => sent.folder = field.text().await.map_err(broken_upload)?,
            "allow_burned_in" => {
                sent.allow_burned_in = !field.text().await.map_err(broken_upload)?.is_empty()
            }
            "map" => {
                let mut bytes = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(broken_upload)? {
                    if (bytes.len() + chunk.len()) as u64 > MAP_MAX_BYTES {
                        return Ok(Err((
                            "map",
                            "The map is larger than 64 MiB: it is a line per source patient."
                                .into(),
                        )));
                    }
                    bytes.extend_from_slice(&chunk);
                }
                if !bytes.is_empty() {
                    let name = if file_name.is_empty() {
                        "map.csv".into()
                    } else {
                        file_name
                    };
                    sent.map = Some((name, bytes));
                }
            }
            "files" => {
                if file_name.is_empty() || file_name.starts_with('.') {
                    while field.chunk().await.map_err(broken_upload)?.is_some() {}
                    continue;
                }
                if sent.upload.is_none() {
                    let dir = tempfile::tempdir().map_err(|e| AppError::Internal(e.to_string()))?;
                    sent.upload = Some((dir, Vec::new()));
                }
                let Some((dir, names)) = sent.upload.as_mut() else {
                    continue;
                };
                if names.contains(&file_name) {
                    return Ok(Err(("files", format!("{file_name} was given twice."))));
                }
                let path = dir.path().join(&file_name);
                let mut out = std::fs::File::create(&path)
                    .map_err(|e| AppError::Internal(format!("{}: {e}", path.display())))?;
                while let Some(chunk) = field.chunk().await.map_err(broken_upload)? {
                    total += chunk.len() as u64;
                    if total > max_total {
                        return Ok(Err((
                            "files",
                            format!(
                                "The upload is larger than the {} MB this server takes (sclerad serve --max-upload-mb): name a folder on the server instead.",
                                max_total >> 20
                            ),
                        )));
                    }
                    std::io::Write::write_all(&mut out, &chunk)
                        .map_err(|e| AppError::Internal(format!("{}: {e}", path.display())))?;
                }
                names.push(file_name);
            }
            other => {
                return Err(AppError::invalid("form", format!("unknown field {other:?}")).into())
            }
        }
    }
    csrf.finish()?;
    Ok(Ok(sent))
}

/// What to take in.
struct Source {
    /// The files and folders.
    paths: Vec<PathBuf>,
    /// The folder the report's sources are shown relative to.
    shown_from: PathBuf,
    /// Whether they are under the images root (their quarantined files can
    /// be overridden from the report), not an upload.
    folder: bool,
}

/// Takes in the files of `source`, with the map, as `sclerad images import`
/// does.
async fn take_in(
    state: &AppState,
    viewer: &Viewer,
    study: &Study,
    map: (&str, &[u8]),
    source: Source,
    allow_burned_in: bool,
) -> Result<Result<Report, (&'static str, String)>, PageError> {
    let Source {
        paths,
        shown_from,
        folder: folder_source,
    } = source;
    let options = sclerad_dicom::Options { allow_burned_in };
    let intake = match StudyIntake::open(
        Arc::clone(&state.store),
        viewer.actor(),
        study.id,
        map.0,
        map.1,
        options,
    )
    .await
    {
        Ok(intake) => intake,
        Err(IntakeError::Map(text)) => return Ok(Err(("map", text))),
        Err(e) => return Err(AppError::Internal(e.to_string()).into()),
    };
    let limit = sclerad_bundle::ReadOptions::default().max_file_bytes;
    let (mut produced, summary) =
        match sclerad_intake::import_paths(Arc::new(intake), paths, limit, false).await {
            Ok(done) => done,
            Err(IntakeError::Store(e)) => return Err(e.into()),
            Err(e @ (IntakeError::File { .. } | IntakeError::TooLarge { .. })) => {
                let text = e
                    .to_string()
                    .replace(&format!("{}/", shown_from.display()), "");
                return Ok(Err(("files", format!("{text}: nothing was stored."))));
            }
            Err(e) => return Err(AppError::Internal(e.to_string()).into()),
        };
    let (stored, unchanged, refused_by_store) = produced.apply(&summary.results);
    let prefix = format!("{}/", shown_from.display());
    let rows = produced
        .lines
        .iter()
        .map(|l: &Line| {
            let source = l
                .source
                .strip_prefix(&prefix)
                .unwrap_or(&l.source)
                .to_string();
            ReportRow {
                override_path: (folder_source
                    && l.action == "quarantined"
                    && !source.contains('!'))
                .then(|| source.clone()),
                source,
                outcome: l.action,
                reason: l.reason.clone(),
                patient_id: l.patient_id.clone(),
                exam: l.exam.clone(),
                warnings: l.warnings.clone(),
            }
        })
        .collect();
    Ok(Ok(Report {
        rows,
        stored,
        unchanged,
        quarantined: produced.tally.quarantined,
        refused: produced.tally.refused + refused_by_store,
        skipped: produced.tally.skipped,
        map_name: map.0.to_string(),
        map_text: String::from_utf8_lossy(map.1).into_owned(),
    }))
}

/// Takes in the uploaded files, or the folder named, and shows the report.
pub async fn import(
    State(state): State<AppState>,
    viewer: Viewer,
    form: MultipartForm,
) -> Result<Response, PageError> {
    viewer.require(Role::DataManager)?;
    let form = multipart(form, "images form")?;
    let sent = read_form(&viewer, form, state.config.max_upload_bytes).await?;
    let sent = match sent {
        Ok(sent) => sent,
        Err((field, message)) => {
            return Err(AppError::invalid(field, message).into());
        }
    };
    let study = study_named(&state, sent.study.trim()).await?;
    let mut page = page_of(&state, viewer, &study).await?;
    page.folder = sent.folder.trim().to_string();
    let refuse = |mut page: ImagesPage, field: &'static str, message: String| {
        page.problem = Some((field, message));
        Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
    };
    let Some((map_name, map_bytes)) = sent.map else {
        return refuse(
            page,
            "map",
            "Choose the map: a CSV with a line per source PatientID and the study patient it is."
                .into(),
        );
    };
    let (paths, shown_from, folder_source) = match (&sent.upload, page.folder.is_empty()) {
        (Some((dir, names)), true) => (
            names.iter().map(|n| dir.path().join(n)).collect::<Vec<_>>(),
            dir.path().to_path_buf(),
            false,
        ),
        (None, false) => {
            let Some(root) = state.config.images_root.clone() else {
                return refuse(
                    page,
                    "folder",
                    "This server takes no folder: it was started without --images-root.".into(),
                );
            };
            match under_root(&root, &page.folder) {
                Ok(path) => {
                    let from = root.canonicalize().unwrap_or(root);
                    (vec![path], from, true)
                }
                Err(message) => return refuse(page, "folder", message),
            }
        }
        (Some(_), false) => {
            return refuse(
                page,
                "files",
                "Upload files or name a folder, not both.".into(),
            )
        }
        (None, true) => {
            return refuse(
                page,
                "files",
                "Choose the images: a zip of the DICOM files, or the files themselves.".into(),
            )
        }
    };
    let viewer = page.viewer.clone();
    match take_in(
        &state,
        &viewer,
        &study,
        (&map_name, &map_bytes),
        Source {
            paths,
            shown_from,
            folder: folder_source,
        },
        sent.allow_burned_in,
    )
    .await?
    {
        Ok(report) => {
            let mut page = page_of(&state, viewer, &study).await?;
            page.folder = if folder_source {
                sent.folder.trim().to_string()
            } else {
                String::new()
            };
            page.report = Some(report);
            Ok(render(StatusCode::OK, &page))
        }
        Err((field, message)) => refuse(page, field, message),
    }
}

/// Stores the quarantined files of a folder ticked on the report, on the
/// data manager's word that their pixels show no identifying text: the
/// files taken in again, alone, with the override.
pub async fn override_quarantine(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    viewer.require(Role::DataManager)?;
    let get = |name: &str| form_value(&form, name).trim().to_string();
    viewer.check_csrf(&get("csrf"))?;
    let study = study_named(&state, &get("study")).await?;
    let Some(root) = state.config.images_root.clone() else {
        return Err(AppError::invalid("folder", "this server takes no folder").into());
    };
    if get("checked").is_empty() {
        return Err(AppError::invalid(
            "checked",
            "say that you have checked the pixels before overriding the quarantine",
        )
        .into());
    }
    let mut paths = Vec::new();
    for (_, file) in form.iter().filter(|(k, _)| k == "file") {
        paths.push(under_root(&root, file).map_err(|m| AppError::invalid("file", m))?);
    }
    if paths.is_empty() {
        return Err(AppError::invalid("file", "tick the quarantined files to store").into());
    }
    let (map_name, map_text) = (get("map_name"), form_value(&form, "map_text").to_string());
    let from = root.canonicalize().unwrap_or(root);
    match take_in(
        &state,
        &viewer,
        &study,
        (&map_name, map_text.as_bytes()),
        Source {
            paths,
            shown_from: from,
            folder: true,
        },
        true,
    )
    .await?
    {
        Ok(report) => {
            let mut page = page_of(&state, viewer, &study).await?;
            page.report = Some(report);
            Ok(render(StatusCode::OK, &page))
        }
        Err((field, message)) => Err(AppError::invalid(field, message).into()),
    }
}
