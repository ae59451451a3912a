//! The data manager's worklists: each reader's progress through a study,
//! and blinded worklists built for chosen readers over chosen patients and
//! exams, with the repeat share — grown later by the patients not on them
//! yet, never rebuilt (`sclerad_store::blinding::assign`, as the API).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use sclerad_store::blinding::{self, ExamChoice, ReaderProgress, WorklistRequest};
use sclerad_store::{Role, StoreError, Study};
use serde::Deserialize;

use super::account::sentence;
use super::{form_value, render, study_named, PageError, Viewer};
use crate::AppState;

/// A reader the form offers.
struct ReaderChoice {
    name: String,
    checked: bool,
}

#[derive(Template)]
#[template(path = "worklists/worklists.html")]
struct WorklistsPage {
    viewer: Viewer,
    study: String,
    progress: Vec<ReaderProgress>,
    readers: Vec<ReaderChoice>,
    exams: &'static str,
    repeat_percent: String,
    patients: String,
    skip_assigned: bool,
    notice: Option<String>,
    /// A refused field and why.
    problem: Option<(String, String)>,
}

impl WorklistsPage {
    /// Whether the form's field `field` was refused.
    fn refused(&self, field: &str) -> bool {
        self.problem.as_ref().is_some_and(|(f, _)| f == field)
    }

    /// A whole percentage of `part` in `whole`.
    fn percent(&self, part: &usize, whole: &usize) -> usize {
        (part * 100).checked_div(*whole).unwrap_or(0)
    }
}

/// Which study.
#[derive(Deserialize)]
pub struct StudyQuery {
    study: String,
}

/// The page with the study's progress and the form as given.
async fn page_of(
    state: &AppState,
    viewer: Viewer,
    study: &Study,
    form: FormState,
) -> Result<WorklistsPage, PageError> {
    let readers = state
        .store
        .users()
        .await?
        .into_iter()
        .filter(|u| u.role == Role::Reader && !u.disabled)
        .map(|u| ReaderChoice {
            checked: form.readers.contains(&u.name),
            name: u.name,
        })
        .collect();
    Ok(WorklistsPage {
        viewer,
        study: study.name.clone(),
        progress: blinding::progress(state.store.as_ref(), study.id).await?,
        readers,
        exams: form.exams,
        repeat_percent: form.repeat_percent,
        patients: form.patients,
        skip_assigned: form.skip_assigned,
        notice: None,
        problem: None,
    })
}

/// What the form holds.
struct FormState {
    readers: Vec<String>,
    exams: &'static str,
    repeat_percent: String,
    patients: String,
    skip_assigned: bool,
}

impl Default for FormState {
    fn default() -> Self {
        FormState {
            readers: Vec::new(),
            exams: "both",
            repeat_percent: "10".into(),
            patients: String::new(),
            skip_assigned: true,
        }
    }
}

/// The study's worklists: progress and the form.
pub async fn worklists(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<StudyQuery>,
) -> Result<Response, PageError> {
    viewer.require(Role::DataManager)?;
    let study = study_named(&state, &query.study).await?;
    let page = page_of(&state, viewer, &study, FormState::default()).await?;
    Ok(render(StatusCode::OK, &page))
}

/// Builds the worklists the form asks for.
pub async fn build(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    viewer.require(Role::DataManager)?;
    let get = |name: &str| form_value(&form, name).trim();
    viewer.check_csrf(get("csrf"))?;
    let study = study_named(&state, get("study")).await?;
    let given = FormState {
        readers: form
            .iter()
            .filter(|(k, _)| k == "reader")
            .map(|(_, v)| v.clone())
            .collect(),
        exams: match get("exams") {
            "hand_radiograph" => "hand_radiograph",
            "ct" => "ct",
            _ => "both",
        },
        repeat_percent: get("repeat_percent").to_string(),
        patients: get("patients").to_string(),
        skip_assigned: !get("skip_assigned").is_empty(),
    };
    let refuse = |mut page: WorklistsPage, field: &str, message: &str| {
        page.problem = Some((field.to_string(), sentence(message)));
        render(StatusCode::UNPROCESSABLE_ENTITY, &page)
    };
    let share = given.repeat_percent.replace(',', ".").parse::<f64>();
    let readers = given.readers.clone();
    let patients: Vec<String> = given
        .patients
        .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    let exams = match given.exams {
        "hand_radiograph" => ExamChoice::HandRadiograph,
        "ct" => ExamChoice::Ct,
        _ => ExamChoice::Both,
    };
    let skip_assigned = given.skip_assigned;
    let page = page_of(&state, viewer, &study, given).await?;
    let share = match share {
        Ok(p) if p.is_finite() => p / 100.0,
        _ => {
            return Ok(refuse(
                page,
                "repeat_percent",
                "the repeat share is a percentage, 0 to 50",
            ))
        }
    };
    if readers.is_empty() {
        return Ok(refuse(page, "reader", "choose at least one reader"));
    }
    let request = WorklistRequest {
        readers,
        exams,
        repeat_share: share,
        patients: (!patients.is_empty()).then_some(patients),
        skip_assigned,
    };
    let actor = page.viewer.actor();
    match blinding::assign(state.store.as_ref(), &actor, study.id, &request).await {
        Ok(created) => {
            let mut page = page_of(&state, page.viewer, &study, FormState::default()).await?;
            page.notice = Some(if created == 0 {
                "Nothing to add: every chosen reader has every chosen exam already.".into()
            } else {
                format!("{created} readings assigned.")
            });
            Ok(render(StatusCode::CREATED, &page))
        }
        Err(StoreError::Invalid { field, message }) => {
            let field = match field.as_str() {
                f if f.starts_with("readers") => "reader",
                f if f.starts_with("patients") => "patients",
                "repeat_share" => "repeat_percent",
                _ => "patients",
            };
            let message = if field == "repeat_percent" {
                "the repeat share is a percentage, 0 to 50".to_string()
            } else {
                message
            };
            Ok(refuse(page, field, &message))
        }
        Err(StoreError::AlreadyExists { .. }) => Ok(refuse(
            page,
            "skip_assigned",
            "a chosen reader has some of these exams already: nothing was assigned. Tick \"only what each reader lacks\" to add the others",
        )),
        Err(e) => Err(e.into()),
    }
}
