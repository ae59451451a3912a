//! The reader's pages: the blinded worklist and the reading form of one
//! exam (hand radiograph: sites × lesions of each hand; CT: levels ×
//! segments), as plain forms. Nothing on them identifies the patient: the
//! exam is known by its pseudonymous code only.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use sclerad_model::{
    ct_coverage, Finding, HandSide, HandSite, Lesion, SpineSegment, VertebralLevel,
};
use sclerad_store::{Modality, Role, StoreError, WorkItem};
use serde::Deserialize;

use super::{render, PageError, Viewer};
use crate::{AppError, AppState};

/// One line of the worklist.
struct Line {
    code: String,
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
            let kind = match item.ct_type.as_deref() {
                Some("thoracic") => "thoracic CT",
                Some("thoraco_abdomino_pelvic") => "thoraco-abdomino-pelvic CT",
                Some("lumbar") => "lumbar CT",
                _ => "CT",
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
            position: i.position,
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

/// A lesion's name as a radiologist writes it.
fn lesion_label(lesion: Lesion) -> &'static str {
    match lesion {
        Lesion::Calcinosis => "Calcinosis",
        Lesion::AcroOsteolysis => "Acro-osteolysis",
        Lesion::PeriarticularCalcification => "Periarticular calcification",
        Lesion::Erosion => "Erosion",
        Lesion::JointSpaceNarrowing => "Joint space narrowing",
        Lesion::Subluxation => "Subluxation",
        Lesion::FlexionContracture => "Flexion contracture",
    }
}

/// A site's name as a radiologist writes it (`pip_d3` → `PIP D3`).
fn site_label(site: HandSite) -> String {
    let code = site.code();
    let (kind, digit) = code.rsplit_once("_d").map_or((code, ""), |(k, d)| (k, d));
    let kind = match kind {
        "tuft" => "Tuft".to_string(),
        "soft_tissue" => "Soft tissue".to_string(),
        "carpus" => "Carpus".to_string(),
        "wrist" => "Wrist".to_string(),
        other => other.to_uppercase(),
    };
    if digit.is_empty() {
        kind
    } else {
        format!("{kind} D{digit}")
    }
}

/// One lesion choice at one site of one hand.
struct HandChoice {
    /// `side:site:lesion`, the form's value.
    key: String,
    lesion: &'static str,
    label: &'static str,
    allowed: bool,
    checked: bool,
    grade: Option<u8>,
    /// Each grade 0–3, and whether it is the one recorded.
    grades: [(u8, bool); 4],
}

struct HandRow {
    side: &'static str,
    site: &'static str,
    label: String,
    choices: Vec<HandChoice>,
}

struct HandView {
    side: &'static str,
    title: &'static str,
    rows: Vec<HandRow>,
}

/// One segment of one level.
struct SpineCell {
    /// `level:segment`, the form's value.
    key: String,
    segment: &'static str,
    checked: bool,
    /// Canal only: the foraminal toggle and whether it is on.
    foraminal: Option<bool>,
}

struct SpineRow {
    level: String,
    label: String,
    covered: bool,
    cells: Vec<SpineCell>,
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
    hands: Vec<HandView>,
    lesions: Vec<(&'static str, &'static str)>,
    spine: Vec<SpineRow>,
    segments: Vec<&'static str>,
}

fn exam_page(
    viewer: Viewer,
    item: &WorkItem,
    findings: &[Finding],
    version: i64,
    notice: Option<String>,
    problem: Option<String>,
) -> ExamPage {
    let hand = |side: HandSide, site: HandSite, lesion: Lesion| {
        findings.iter().find(|f| {
            f.side.as_deref() == Some(side.code())
                && f.site.as_deref() == Some(site.code())
                && f.lesion.as_deref() == Some(lesion.code())
        })
    };
    let mut hands = Vec::new();
    let mut spine = Vec::new();
    match item.modality {
        Modality::HandRadiograph => {
            // PA view, as the radiograph shows it: the patient's right hand
            // on the viewer's left.
            for (side, title) in [
                (HandSide::Right, "Right hand"),
                (HandSide::Left, "Left hand"),
            ] {
                let rows = HandSite::ALL
                    .iter()
                    .map(|site| HandRow {
                        side: side.code(),
                        site: site.code(),
                        label: site_label(*site),
                        choices: Lesion::ALL
                            .iter()
                            .map(|lesion| {
                                let found = hand(side, *site, *lesion);
                                HandChoice {
                                    key: format!(
                                        "{}:{}:{}",
                                        side.code(),
                                        site.code(),
                                        lesion.code()
                                    ),
                                    lesion: lesion.code(),
                                    label: lesion_label(*lesion),
                                    allowed: lesion.allowed_at(*site),
                                    checked: found.is_some(),
                                    grade: found.and_then(|f| f.grade),
                                    grades: [0, 1, 2, 3]
                                        .map(|g| (g, found.and_then(|f| f.grade) == Some(g))),
                                }
                            })
                            .collect(),
                    })
                    .collect();
                hands.push(HandView {
                    side: side.code(),
                    title,
                    rows,
                });
            }
        }
        Modality::Ct => {
            let covered = ct_coverage(item.ct_type.as_deref(), item.ct_levels.as_deref());
            for level in VertebralLevel::all() {
                let code = level.code();
                let seen = covered.is_some_and(|c| c.contains(level));
                let cells = SpineSegment::ALL
                    .iter()
                    .map(|segment| {
                        let found = findings.iter().find(|f| {
                            f.level.as_deref() == Some(code.as_str())
                                && f.segment.as_deref() == Some(segment.code())
                        });
                        SpineCell {
                            key: format!("{code}:{}", segment.code()),
                            segment: segment.code(),
                            checked: found.is_some(),
                            foraminal: (*segment == SpineSegment::Canal)
                                .then(|| found.and_then(|f| f.foraminal).unwrap_or(false)),
                        }
                    })
                    .collect();
                spine.push(SpineRow {
                    label: code.to_uppercase(),
                    level: code,
                    covered: seen,
                    cells,
                });
            }
        }
    }
    ExamPage {
        viewer,
        code: item.code.clone(),
        what: described(item),
        version,
        read: item.findings.is_some(),
        marked: findings.len(),
        notice,
        problem,
        hands,
        lesions: Lesion::ALL
            .iter()
            .map(|l| (l.code(), lesion_label(*l)))
            .collect(),
        spine,
        segments: SpineSegment::ALL.iter().map(|s| s.code()).collect(),
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
}

/// The reading form of one exam of the reader's worklist.
pub async fn reading_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(code): Path<String>,
    Query(q): Query<ExamQuery>,
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
    Ok(render(
        StatusCode::OK,
        &exam_page(viewer, &item, &findings, version, notice, None),
    ))
}

/// The findings a reading form marks, with its version, CSRF field and
/// action.
struct Submitted {
    csrf: String,
    version: i64,
    action: String,
    findings: Vec<Finding>,
}

/// Reads a reading form's body: `finding` = `side:site:lesion` (hand) or
/// `level:segment` (CT), `grade:side:site:lesion` = 0–3 or empty,
/// `foraminal:level` = 1. Anything else is refused as a bad request.
fn submitted(body: &[u8], modality: Modality) -> Result<Submitted, AppError> {
    let mut out = Submitted {
        csrf: String::new(),
        version: -1,
        action: String::new(),
        findings: Vec::new(),
    };
    let mut grades = std::collections::HashMap::new();
    let mut foraminal = std::collections::HashSet::new();
    let bad = |what: &str| AppError::BadRequest(format!("the form sent {what}"));
    for (key, value) in form_urlencoded::parse(body) {
        match key.as_ref() {
            "csrf" => out.csrf = value.into_owned(),
            "version" => {
                out.version = value
                    .parse()
                    .map_err(|_| bad("a version that is not a number"))?
            }
            "action" => out.action = value.into_owned(),
            "finding" => {
                let parts: Vec<&str> = value.split(':').collect();
                let finding = match (modality, parts.as_slice()) {
                    (Modality::HandRadiograph, [side, site, lesion]) => Finding {
                        side: Some((*side).into()),
                        site: Some((*site).into()),
                        lesion: Some((*lesion).into()),
                        ..Default::default()
                    },
                    (Modality::Ct, [level, segment]) => Finding {
                        level: Some((*level).into()),
                        segment: Some((*segment).into()),
                        ..Default::default()
                    },
                    _ => return Err(bad("a finding of another kind of exam")),
                };
                if out.findings.len() >= sclerad_model::MAX_FINDINGS {
                    return Err(bad("more findings than an exam can hold"));
                }
                out.findings.push(finding);
            }
            k if k.starts_with("grade:") => {
                if !value.is_empty() {
                    let grade: u8 = value
                        .parse()
                        .ok()
                        .filter(|g| *g <= 3)
                        .ok_or_else(|| bad("a grade other than 0–3"))?;
                    grades.insert(k["grade:".len()..].to_string(), grade);
                }
            }
            k if k.starts_with("foraminal:") => {
                foraminal.insert(k["foraminal:".len()..].to_string());
            }
            _ => return Err(bad(&format!("an unknown field {key:?}"))),
        }
        if grades.len() + foraminal.len() > 4 * sclerad_model::MAX_FINDINGS {
            return Err(bad("more fields than a reading form has"));
        }
    }
    // Foraminal is a kind of canal calcification: ticking it marks the
    // level's canal too.
    if modality == Modality::Ct {
        let mut levels: Vec<&String> = foraminal.iter().collect();
        levels.sort();
        for level in levels {
            let canal = out
                .findings
                .iter()
                .any(|f| f.level.as_ref() == Some(level) && f.segment.as_deref() == Some("canal"));
            if !canal {
                out.findings.push(Finding {
                    level: Some(level.clone()),
                    segment: Some("canal".into()),
                    ..Default::default()
                });
            }
        }
    }
    for f in &mut out.findings {
        if let (Some(side), Some(site), Some(lesion)) = (&f.side, &f.site, &f.lesion) {
            f.grade = grades.get(&format!("{side}:{site}:{lesion}")).copied();
        }
        if let (Some(level), Some("canal")) = (&f.level, f.segment.as_deref()) {
            if foraminal.contains(level) {
                f.foraminal = Some(true);
            }
        }
    }
    Ok(out)
}

/// Saves the reading form: `save` the marked findings, or `nothing-found`
/// (an explicit reading without findings). A save based on an old version
/// (another tab or device saved since) is shown as a conflict, never
/// written over.
pub async fn save(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(code): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    viewer.require(Role::Reader)?;
    let item = item_of(&state, &viewer, &code).await?;
    let form = submitted(&body, item.modality)?;
    viewer.check_csrf(&form.csrf)?;
    let refuse = |viewer: Viewer, findings: &[Finding], message: &str| {
        render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &exam_page(
                viewer,
                &item,
                findings,
                form.version,
                None,
                Some(message.into()),
            ),
        )
    };
    match form.action.as_str() {
        "save" if form.findings.is_empty() => {
            return Ok(refuse(
                viewer,
                &form.findings,
                "Nothing is marked. To record that you found nothing, use “Nothing found”.",
            ))
        }
        "nothing-found" if !form.findings.is_empty() => {
            return Ok(refuse(
                viewer,
                &form.findings,
                "Findings are marked: unmark them first to record “nothing found”, or save them.",
            ))
        }
        "save" | "nothing-found" => {}
        _ => return Err(AppError::BadRequest("the form sent no known action".into()).into()),
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
            Ok(Redirect::to(&format!("/read/{}?saved=true", super::encode(&code))).into_response())
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
                    &item,
                    &form.findings,
                    current,
                    None,
                    Some(message.into()),
                ),
            ))
        }
        Err(StoreError::Invalid { field, message }) => Ok(refuse(
            viewer,
            &form.findings,
            &format!("{field}: {message}"),
        )),
        Err(e) => Err(e.into()),
    }
}
