//! The reader's pages: the blinded worklist and the reading form of one
//! exam (hand radiograph: sites × lesions of each hand; CT: levels ×
//! segments), as plain forms. Nothing on them identifies the patient: the
//! exam is known by its pseudonymous code only.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Redirect, Response};
use sclerad_model::{ct_coverage, CtType, Finding};
use sclerad_store::{Modality, Role, StoreError, WorkItem};
use serde::Deserialize;

use super::images::{reader_pane, Pane, ViewQuery};
use super::marks::{submitted, Marks, Recorded, Submitted};
use super::{render, PageError, Viewer};
use crate::{AppError, AppState};

/// One line of the worklist.
struct Line {
    code: String,
    /// From 1, as a person counts (the store counts from 0).
    position: i64,
    what: String,
    read: bool,
}

#[derive(Template)]
#[template(path = "reading/worklist.html")]
struct WorklistPage {
    viewer: Viewer,
    lines: Vec<Line>,
    read: usize,
    next: Option<String>,
}

/// What the reader is told of an exam: its modality and, for a CT, what
/// was imaged (the reader must know which levels to read).
fn described(item: &WorkItem) -> String {
    match item.modality {
        Modality::HandRadiograph => "Hand radiograph (both hands, PA)".to_string(),
        Modality::Ct => {
            let kind = match item.ct_type.as_deref().and_then(CtType::parse) {
                Some(CtType::Thoracic) => "thoracic CT",
                Some(CtType::ThoracoAbdominoPelvic) => "thoraco-abdomino-pelvic CT",
                Some(CtType::Lumbar) => "lumbar CT",
                None => "CT",
            };
            let covered: Vec<String> =
                ct_coverage(item.ct_type.as_deref(), item.ct_levels.as_deref())
                    .map(|set| set.iter().map(|l| l.code().to_uppercase()).collect())
                    .unwrap_or_default();
            match (covered.first(), covered.last()) {
                (Some(a), Some(b)) => format!("Spine on {kind}, {a}–{b}"),
                _ => format!("Spine on {kind}"),
            }
        }
    }
}

/// The reader's worklist: codes in the reader's own order, progress, and
/// the next exam not read yet.
pub async fn worklist(
    State(state): State<AppState>,
    viewer: Viewer,
) -> Result<Response, PageError> {
    viewer.require(Role::Reader)?;
    let items = state.store.worklist(viewer.user.id).await?;
    let read = items.iter().filter(|i| i.findings.is_some()).count();
    let next = items
        .iter()
        .find(|i| i.findings.is_none())
        .map(|i| i.code.clone());
    let lines = items
        .iter()
        .map(|i| Line {
            code: i.code.clone(),
            position: i.position + 1,
            what: described(i),
            read: i.findings.is_some(),
        })
        .collect();
    Ok(render(
        StatusCode::OK,
        &WorklistPage {
            viewer,
            lines,
            read,
            next,
        },
    ))
}

/// To the first exam of the worklist not read yet (or the worklist, when
/// every exam is read).
pub async fn next_unread(
    State(state): State<AppState>,
    viewer: Viewer,
) -> Result<Response, PageError> {
    viewer.require(Role::Reader)?;
    let items = state.store.worklist(viewer.user.id).await?;
    Ok(match items.iter().find(|i| i.findings.is_none()) {
        Some(item) => Redirect::to(&format!("/read/{}", super::encode(&item.code))),
        None => Redirect::to("/read"),
    }
    .into_response())
}

#[derive(Template)]
#[template(path = "reading/exam.html")]
struct ExamPage {
    viewer: Viewer,
    code: String,
    what: String,
    version: i64,
    read: bool,
    marked: usize,
    notice: Option<String>,
    problem: Option<String>,
    marks: Marks,
    pane: Pane,
}

#[allow(clippy::too_many_arguments)]
fn exam_page(
    viewer: Viewer,
    pane: Pane,
    item: &WorkItem,
    findings: &[Finding],
    version: i64,
    site: Option<&str>,
    notice: Option<String>,
    problem: Option<String>,
) -> ExamPage {
    ExamPage {
        viewer,
        code: item.code.clone(),
        what: described(item),
        version,
        read: item.findings.is_some(),
        marked: findings.len(),
        notice,
        problem,
        marks: Marks::of(
            item.modality,
            ct_coverage(item.ct_type.as_deref(), item.ct_levels.as_deref()),
            findings,
            site,
        ),
        pane,
    }
}

async fn item_of(state: &AppState, viewer: &Viewer, code: &str) -> Result<WorkItem, PageError> {
    if !crate::auth::plain_text(code, 200) {
        return Err(AppError::NotFound("no such exam in your worklist".into()).into());
    }
    state
        .store
        .work_item(viewer.user.id, code)
        .await?
        .ok_or_else(|| AppError::NotFound("no such exam in your worklist".into()).into())
}

/// What a reading page was asked to say.
#[derive(Debug, Deserialize)]
pub struct ExamQuery {
    #[serde(default)]
    saved: bool,
    /// The hand site chosen (`side:site`).
    site: Option<String>,
}

/// The viewer pane of the reader's exam.
async fn pane_of(
    state: &AppState,
    viewer: &Viewer,
    item: &WorkItem,
    view: &ViewQuery,
) -> Result<Pane, PageError> {
    reader_pane(
        state,
        viewer,
        &item.code,
        view,
        ct_coverage(item.ct_type.as_deref(), item.ct_levels.as_deref()),
    )
    .await
}

/// The reading form of one exam of the reader's worklist.
pub async fn reading_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(code): Path<String>,
    Query(q): Query<ExamQuery>,
    Query(view): Query<ViewQuery>,
) -> Result<Response, PageError> {
    viewer.require(Role::Reader)?;
    let item = item_of(&state, &viewer, &code).await?;
    let findings = item
        .findings
        .as_deref()
        .map(sclerad_model::findings_of_cells)
        .unwrap_or_default();
    let notice = q.saved.then(|| "Saved.".to_string());
    let version = item.version;
    let pane = pane_of(&state, &viewer, &item, &view).await?;
    Ok(render(
        StatusCode::OK,
        &exam_page(
            viewer,
            pane,
            &item,
            &findings,
            version,
            q.site.as_deref(),
            notice,
            None,
        ),
    ))
}

/// The page script's save while the reader marks: the same form, answered
/// in JSON (`{"version", "findings"}`, or the API's error body: 409 with
/// the version saved now when another tab or device saved since, 422 when
/// nothing is marked).
async fn autosave(state: &AppState, viewer: &Viewer, code: &str, form: &Submitted) -> Response {
    if let Ok(Recorded::Refused(why)) = form.recorded() {
        return AppError::Invalid {
            field: "findings".into(),
            message: why.into(),
        }
        .into_response();
    }
    let saved = state
        .store
        .save_reading(
            &viewer.actor(),
            viewer.user.id,
            code,
            &form.findings,
            form.version,
        )
        .await;
    match saved {
        Ok(item) => Json(serde_json::json!({
            "version": item.version,
            "findings": form.findings.len(),
        }))
        .into_response(),
        Err(e) => AppError::from(e).into_response(),
    }
}

/// Saves the reading form: `save` the marked findings, or `nothing-found`
/// (an explicit reading without findings); `autosave` is the page script's
/// save as the reader marks. A save based on an old version (another tab
/// or device saved since) is shown as a conflict, never written over.
pub async fn save(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(code): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    viewer.require(Role::Reader)?;
    let item = item_of(&state, &viewer, &code).await?;
    let form = submitted(&body, item.modality)?;
    let csrf = viewer.check_csrf(super::csrf_sent(&form.csrf, &headers));
    if form.action == "autosave" {
        // The script's request is answered in JSON, refusals too.
        return Ok(match csrf {
            Err(PageError::App(e)) => e.into_response(),
            Err(e) => e.into_response(),
            Ok(()) => autosave(&state, &viewer, &code, &form).await,
        });
    }
    csrf?;
    let site = form.site.as_deref();
    let pane = pane_of(&state, &viewer, &item, &ViewQuery::default()).await?;
    let refuse = |viewer: Viewer, pane: Pane, findings: &[Finding], message: &str| {
        render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &exam_page(
                viewer,
                pane,
                &item,
                findings,
                form.version,
                site,
                None,
                Some(message.into()),
            ),
        )
    };
    if let Recorded::Refused(why) = form.recorded()? {
        return Ok(refuse(viewer, pane, &form.findings, why));
    }
    let saved = state
        .store
        .save_reading(
            &viewer.actor(),
            viewer.user.id,
            &code,
            &form.findings,
            form.version,
        )
        .await;
    match saved {
        Ok(_) => {
            let mut to = format!("/read/{}?saved=true", super::encode(&code));
            if let Some(site) = site {
                to.push_str(&format!("&site={}", super::encode(site)));
            }
            Ok(Redirect::to(&to).into_response())
        }
        Err(StoreError::Conflict { current, .. }) => {
            // Shown with the reader's own marks and the version saved now:
            // saving again replaces the other save, knowingly.
            let message = "This reading was saved elsewhere (another tab or device) after you opened it. \
                 Your marks are shown below and were not saved. Save again to replace the other save \
                 with them, or open the exam again to see what was saved.";
            Ok(render(
                StatusCode::CONFLICT,
                &exam_page(
                    viewer,
                    pane,
                    &item,
                    &form.findings,
                    current,
                    site,
                    None,
                    Some(message.into()),
                ),
            ))
        }
        Err(StoreError::Invalid { field, message }) => Ok(refuse(
            viewer,
            pane,
            &form.findings,
            &format!("{field}: {message}"),
        )),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ct_is_described_by_its_type_and_levels() {
        let ct = |ct_type: &str, ct_levels: Option<&str>| WorkItem {
            code: "C-1".into(),
            position: 0,
            modality: Modality::Ct,
            ct_type: Some(ct_type.into()),
            ct_levels: ct_levels.map(String::from),
            findings: None,
            version: 0,
        };
        assert_eq!(
            described(&ct("tap", None)),
            "Spine on thoraco-abdomino-pelvic CT, C7–S1"
        );
        assert_eq!(
            described(&ct("lumbar", Some("l1-l5"))),
            "Spine on lumbar CT, L1–L5"
        );
        assert_eq!(described(&ct("other", None)), "Spine on CT");
    }
}
