//! The adjudicator's pages: a study's exams whose readers disagree (open
//! ones first, with counts of open and resolved), and one exam's readings
//! side by side with their differences marked, where one reader's reading
//! is accepted, or the consensus edited, and saved.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use sclerad_model::{ct_coverage, findings_of_cells, Finding, HandSide, HandSite, Lesion};
use sclerad_store::{review, Modality, Role, StoreError, Study};
use serde::Deserialize;

use super::images::{adjudicator_pane, reader_marks, Pane, ViewQuery};
use super::marks::{lesion_label, site_label, submitted, Comparison, Marks, Recorded};
use super::{encode, render, PageError, Viewer};
use crate::{AppError, AppState};

#[derive(Template)]
#[template(path = "adjudication/studies.html")]
struct StudiesPage {
    viewer: Viewer,
    studies: Vec<String>,
}

/// The studies to adjudicate.
pub async fn studies(State(state): State<AppState>, viewer: Viewer) -> Result<Response, PageError> {
    viewer.require(Role::Adjudicator)?;
    let studies = state
        .store
        .studies()
        .await?
        .into_iter()
        .map(|s| s.name)
        .collect();
    Ok(render(StatusCode::OK, &StudiesPage { viewer, studies }))
}

struct ListLine {
    exam_id: i64,
    modality: &'static str,
    flags: String,
    resolved: bool,
}

#[derive(Template)]
#[template(path = "adjudication/list.html")]
struct ListPage {
    viewer: Viewer,
    study: String,
    open: usize,
    resolved: usize,
    lines: Vec<ListLine>,
}

fn modality_name(modality: Modality) -> &'static str {
    match modality {
        Modality::HandRadiograph => "Hand radiograph",
        Modality::Ct => "Spine CT",
    }
}

/// A study's disagreements: open ones first.
pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(name): Path<String>,
) -> Result<Response, PageError> {
    viewer.require(Role::Adjudicator)?;
    let study = super::study_named(&state, &name).await?;
    let all = review::disagreements(&state.store.readings(study.id).await?);
    let resolved = all.iter().filter(|d| d.resolved()).count();
    let lines = all
        .iter()
        .map(|d| ListLine {
            exam_id: d.exam_id,
            modality: modality_name(d.modality),
            flags: flag_words(&d.flags),
            resolved: d.resolved(),
        })
        .collect();
    Ok(render(
        StatusCode::OK,
        &ListPage {
            viewer,
            study: study.name,
            open: all.len() - resolved,
            resolved,
            lines,
        },
    ))
}

/// One line of the side-by-side comparison: a finding someone recorded,
/// and what each reader (then the consensus) recorded of it.
struct CompareLine {
    label: String,
    cells: Vec<String>,
    consensus: String,
    differs: bool,
}

#[derive(Template)]
#[template(path = "adjudication/exam.html")]
struct ExamPage {
    viewer: Viewer,
    study: String,
    exam_id: i64,
    modality: &'static str,
    flags: String,
    readers: Vec<String>,
    lines: Vec<CompareLine>,
    resolved: bool,
    version: i64,
    problem: Option<String>,
    compare: Comparison,
    marks: Marks,
    pane: Pane,
    reader_marks: String,
}

/// The flags the readers disagree on, in words: `calcinosis, flexion
/// contracture, foraminal extension`.
fn flag_words(flags: &[String]) -> String {
    flags
        .iter()
        .map(|f| match Lesion::parse(f) {
            Some(l) => lesion_label(l).to_lowercase(),
            None if f == "foraminal" => "foraminal extension".into(),
            None => format!("{f} calcification"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a finding is, in words, and the key that matches it across
/// readings.
fn finding_key(f: &Finding) -> (String, String) {
    match (&f.side, &f.site, &f.lesion, &f.level, &f.segment) {
        (Some(side), Some(site), Some(lesion), _, _) => {
            let side_name = match HandSide::parse(side) {
                Some(HandSide::Right) => "Right",
                _ => "Left",
            };
            let site_name = HandSite::parse(site).map_or_else(|| site.clone(), site_label);
            let lesion_name = Lesion::parse(lesion)
                .map_or_else(|| lesion.clone(), |l| lesion_label(l).to_string());
            (
                format!("{side}:{site}:{lesion}"),
                format!("{side_name} · {site_name} · {lesion_name}"),
            )
        }
        (_, _, _, Some(level), Some(segment)) => (
            format!("{level}:{segment}"),
            format!("{} · {segment}", level.to_uppercase()),
        ),
        _ => (String::new(), "(finding)".into()),
    }
}

/// How a reading records the finding of `key`: `✓` with its grade or
/// foraminal extension, or `–`.
fn recorded(findings: &[Finding], key: &str) -> String {
    match findings.iter().find(|f| finding_key(f).0 == key) {
        None => "–".into(),
        Some(f) => {
            let mut text = "✓".to_string();
            if let Some(g) = f.grade {
                text.push_str(&format!(" grade {g}"));
            }
            if f.foraminal == Some(true) {
                text.push_str(" foraminal");
            }
            text
        }
    }
}

/// An exam id from a path.
fn exam_number(text: &str) -> Result<i64, PageError> {
    text.parse()
        .map_err(|_| AppError::NotFound(format!("no exam {text:?}")).into())
}

/// The disagreement on `exam_id` in `study`, and the exam's CT coverage.
async fn disagreement(
    state: &AppState,
    study: &Study,
    exam_id: i64,
) -> Result<(review::Disagreement, Option<sclerad_model::LevelSet>), PageError> {
    let found = review::disagreements(&state.store.readings(study.id).await?)
        .into_iter()
        .find(|d| d.exam_id == exam_id)
        .ok_or_else(|| {
            AppError::NotFound(format!(
                "exam {exam_id} is not a disagreement of this study"
            ))
        })?;
    let mut covered = None;
    if found.modality == Modality::Ct {
        let patients = state.store.patients(study.id).await?;
        covered = patients
            .iter()
            .map(|p| &p.ct)
            .find(|e| e.id == exam_id)
            .and_then(|e| ct_coverage(e.ct_type.as_deref(), e.ct_levels.as_deref()));
    }
    Ok((found, covered))
}

/// What the consensus form shows: the marks sent (else the consensus
/// saved), the version, the hand site chosen, and why it was not saved.
struct Shown<'a> {
    marked: Option<&'a [Finding]>,
    version: i64,
    site: Option<&'a str>,
    problem: Option<String>,
}

fn exam_page(
    viewer: Viewer,
    study: &Study,
    d: &review::Disagreement,
    covered: Option<sclerad_model::LevelSet>,
    pane: Pane,
    form: Shown<'_>,
) -> ExamPage {
    let Shown {
        marked,
        version,
        site,
        problem,
    } = form;
    let readings: Vec<(String, Vec<Finding>)> = d
        .readings
        .iter()
        .map(|(reader, cells)| (reader.clone(), findings_of_cells(cells)))
        .collect();
    let consensus: Vec<Finding> = d
        .consensus
        .as_deref()
        .map(findings_of_cells)
        .unwrap_or_default();
    let mut keys: Vec<(String, String)> = Vec::new();
    for f in readings.iter().flat_map(|(_, fs)| fs).chain(&consensus) {
        let key = finding_key(f);
        if !keys.iter().any(|(k, _)| *k == key.0) {
            keys.push(key);
        }
    }
    keys.sort();
    let lines = keys
        .iter()
        .map(|(key, label)| {
            let cells: Vec<String> = readings.iter().map(|(_, fs)| recorded(fs, key)).collect();
            let differs = cells.iter().any(|c| c != &cells[0]);
            CompareLine {
                label: label.clone(),
                consensus: recorded(&consensus, key),
                cells,
                differs,
            }
        })
        .collect();
    let shown = marked.unwrap_or(&consensus);
    ExamPage {
        viewer,
        study: study.name.clone(),
        exam_id: d.exam_id,
        modality: modality_name(d.modality),
        flags: flag_words(&d.flags),
        readers: readings.iter().map(|(r, _)| r.clone()).collect(),
        compare: Comparison::of(d.modality, covered, &readings),
        lines,
        resolved: d.resolved(),
        version,
        problem,
        marks: Marks::of(d.modality, covered, shown, site),
        pane,
        reader_marks: reader_marks(&readings),
    }
}

/// The hand site chosen on a consensus form (`side:site`).
#[derive(Debug, Deserialize)]
pub struct SiteQuery {
    site: Option<String>,
}

/// One disagreement: the readings side by side, and the consensus form.
pub async fn exam(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((name, exam)): Path<(String, String)>,
    Query(q): Query<SiteQuery>,
    Query(view): Query<ViewQuery>,
) -> Result<Response, PageError> {
    viewer.require(Role::Adjudicator)?;
    let exam_id = exam_number(&exam)?;
    let study = super::study_named(&state, &name).await?;
    let (d, covered) = disagreement(&state, &study, exam_id).await?;
    let version = d.consensus_version;
    let pane = adjudicator_pane(&state, &study.name, exam_id, &view, covered).await?;
    Ok(render(
        StatusCode::OK,
        &exam_page(
            viewer,
            &study,
            &d,
            covered,
            pane,
            Shown {
                marked: None,
                version,
                site: q.site.as_deref(),
                problem: None,
            },
        ),
    ))
}

/// Saves the consensus: `accept:N` takes reader N's reading (in the order
/// shown) as it is; `save` takes the form's marks; `nothing-found` an
/// explicit empty consensus.
pub async fn save(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((name, exam)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, PageError> {
    viewer.require(Role::Adjudicator)?;
    let exam_id = exam_number(&exam)?;
    let study = super::study_named(&state, &name).await?;
    let (d, covered) = disagreement(&state, &study, exam_id).await?;
    let form = submitted(&body, d.modality)?;
    viewer.check_csrf(&form.csrf)?;
    let pane =
        adjudicator_pane(&state, &study.name, exam_id, &ViewQuery::default(), covered).await?;
    // The page again, with the findings sent and why they were not saved.
    let again = |status,
                 d: &review::Disagreement,
                 covered,
                 findings: &[Finding],
                 version,
                 message: String| {
        render(
            status,
            &exam_page(
                viewer.clone(),
                &study,
                d,
                covered,
                pane.clone(),
                Shown {
                    marked: Some(findings),
                    version,
                    site: form.site.as_deref(),
                    problem: Some(message),
                },
            ),
        )
    };
    let findings = if let Some(n) = form.action.strip_prefix("accept:") {
        let (_, cells) = n
            .parse::<usize>()
            .ok()
            .and_then(|n| d.readings.get(n))
            .ok_or_else(|| AppError::BadRequest("no such reader to accept".into()))?;
        findings_of_cells(cells)
    } else {
        match form.recorded()? {
            Recorded::Findings(findings) => findings.to_vec(),
            Recorded::Refused(why) => {
                return Ok(again(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &d,
                    covered,
                    &form.findings,
                    form.version,
                    why.into(),
                ));
            }
        }
    };
    let saved = state
        .store
        .save_consensus(&viewer.actor(), study.id, exam_id, &findings, form.version)
        .await;
    match saved {
        Ok(_) => Ok(Redirect::to(&format!("/adjudicate/{}", encode(&study.name))).into_response()),
        Err(StoreError::Conflict { current, .. }) => {
            let message = "Another adjudicator saved this consensus after you opened it. \
                 Your marks are shown below and were not saved; the table shows the consensus saved now. \
                 Save again to replace it.";
            let (now, covered) = disagreement(&state, &study, exam_id).await?;
            Ok(again(
                StatusCode::CONFLICT,
                &now,
                covered,
                &findings,
                current,
                message.into(),
            ))
        }
        Err(StoreError::Invalid { field, message }) => Ok(again(
            StatusCode::UNPROCESSABLE_ENTITY,
            &d,
            covered,
            &findings,
            form.version,
            format!("{field}: {message}"),
        )),
        Err(e) => Err(e.into()),
    }
}
