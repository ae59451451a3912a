//! The data manager's patient records: a study's patients, searchable and
//! paged, each with the values its analyses still lack; and a form per
//! patient, checked with the rules a bundle file is checked with
//! (`sclerad_store::check_patient_edit`), every refused value named at its
//! field, an edit made on an outdated version shown beside the stored one.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use sclerad_store::{FieldProblem, PatientRecord, Role, StoreError, Study};
use serde::Deserialize;

use super::{encode, form_value, render, study_named, PageError, Viewer};
use crate::{AppError, AppState};

/// Patients a page of the list shows.
const PAGE_SIZE: usize = 100;

/// Records read from the store at a time while the list is searched.
const CHUNK: u64 = 1_000;

/// A patient as the list shows it.
struct PatientRow {
    patient_id: String,
    href: String,
    subset: String,
    sex: String,
    hand_date: String,
    ct_date: String,
    /// The values the analyses lack, as their columns.
    missing: Vec<String>,
}

#[derive(Template)]
#[template(path = "patients/list.html")]
struct ListPage {
    viewer: Viewer,
    study: String,
    q: String,
    incomplete: bool,
    rows: Vec<PatientRow>,
    /// Patients matching the search.
    matched: usize,
    /// Patients in the study.
    total: usize,
    /// Patients of the matches lacking a value.
    lacking: usize,
    page: usize,
    pages: usize,
    /// Links to the pages before and after, with the search.
    previous: Option<String>,
    next: Option<String>,
}

/// The list's query.
#[derive(Deserialize)]
pub struct ListQuery {
    study: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    incomplete: Option<String>,
    #[serde(default)]
    page: Option<usize>,
}

/// The record as the text of the study's patients columns.
fn text_of(study: &Study, record: &PatientRecord) -> Vec<(String, String)> {
    let table = sclerad_store::to_tables(&study.columns, std::slice::from_ref(record), &[]);
    table
        .patients
        .columns
        .into_iter()
        .zip(table.patients.rows.into_iter().next().unwrap_or_default())
        .collect()
}

/// The values the analyses lack, for each of `records` (read as a bundle
/// would read them).
fn missing_of(study: &Study, records: &[PatientRecord]) -> Vec<Vec<String>> {
    let loaded = sclerad_store::read_study(&study.columns, records, &[]);
    let mut by_id: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for p in &loaded.cohort.patients {
        by_id.insert(
            p.patient_id.as_str(),
            p.missing_values()
                .into_iter()
                .map(sclerad_model::MissingValue::columns)
                .collect(),
        );
    }
    records
        .iter()
        .map(|r| {
            by_id
                .get(r.patient_id.as_str())
                .cloned()
                // A record that no longer reads is incomplete as a whole.
                .unwrap_or_else(|| vec!["the record (it does not read as a bundle row)".into()])
        })
        .collect()
}

/// A study's patients: those whose id holds the search text (any case),
/// only those lacking a value if asked, a hundred a page.
pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<ListQuery>,
) -> Result<Response, PageError> {
    viewer.require(Role::DataManager)?;
    let study = study_named(&state, &query.study).await?;
    let q = query.q.trim().to_string();
    let needle = q.to_lowercase();
    let incomplete = query.incomplete.as_deref().is_some_and(|v| !v.is_empty());
    let page = query.page.unwrap_or(1).max(1);
    let first = (page - 1).saturating_mul(PAGE_SIZE);
    let mut rows = Vec::new();
    let (mut matched, mut lacking, mut total) = (0_usize, 0_usize, 0_usize);
    let mut offset = 0_u64;
    // A chunk of records at a time: the list holds one chunk and one page.
    loop {
        let chunk = state
            .store
            .patients_page(
                study.id,
                sclerad_store::Page {
                    offset,
                    limit: CHUNK,
                },
            )
            .await?;
        if chunk.items.is_empty() {
            break;
        }
        offset += chunk.items.len() as u64;
        total += chunk.items.len();
        let found: Vec<PatientRecord> = chunk
            .items
            .into_iter()
            .filter(|p| needle.is_empty() || p.patient_id.to_lowercase().contains(&needle))
            .collect();
        let missing = missing_of(&study, &found);
        for (record, missing) in found.into_iter().zip(missing) {
            if !missing.is_empty() {
                lacking += 1;
            } else if incomplete {
                continue;
            }
            if matched >= first && rows.len() < PAGE_SIZE {
                let cell = |name: &str| record.cells.get(name).cloned().unwrap_or_default();
                rows.push(PatientRow {
                    href: patient_href(&study.name, &record.patient_id),
                    subset: cell("subset"),
                    sex: cell("sex"),
                    hand_date: record.hand_radiograph.date.clone().unwrap_or_default(),
                    ct_date: record.ct.date.clone().unwrap_or_default(),
                    patient_id: record.patient_id,
                    missing,
                });
            }
            matched += 1;
        }
    }
    let pages = matched.div_ceil(PAGE_SIZE).max(1);
    let link = |page: usize| {
        let mut href = format!("/manage/patients?study={}&page={page}", encode(&study.name));
        if !q.is_empty() {
            href.push_str(&format!("&q={}", encode(&q)));
        }
        if incomplete {
            href.push_str("&incomplete=1");
        }
        href
    };
    let list = ListPage {
        previous: (page > 1).then(|| link(page - 1)),
        next: (page < pages).then(|| link(page + 1)),
        viewer,
        study: study.name,
        q,
        incomplete,
        rows,
        matched,
        total,
        lacking,
        page,
        pages,
    };
    Ok(render(StatusCode::OK, &list))
}

/// The form page of a patient.
fn patient_href(study: &str, patient_id: &str) -> String {
    format!(
        "/manage/patient?study={}&id={}",
        encode(study),
        encode(patient_id)
    )
}

/// A field of the patient form.
struct Field {
    /// The column.
    column: String,
    /// The element id (`cell-3`): a column name may hold anything.
    id: String,
    /// The text the form shows.
    value: String,
    /// Why it was refused.
    problem: Option<String>,
    /// The stored text, when an edit met a newer version and it differs.
    stored: Option<String>,
}

#[derive(Template)]
#[template(path = "patients/patient.html")]
struct PatientPage {
    viewer: Viewer,
    study: String,
    patient_id: String,
    list_href: String,
    version: i64,
    fields: Vec<Field>,
    missing: Vec<String>,
    notice: Option<String>,
    /// A refusal of the record as a whole, not of one field.
    problem: Option<String>,
    /// The edit was made on version `.0`; `.1` is stored now.
    conflict: Option<(i64, i64)>,
}

impl PatientPage {
    /// The number of refused fields.
    fn refused(&self) -> usize {
        self.fields.iter().filter(|f| f.problem.is_some()).count()
            + usize::from(self.problem.is_some())
    }
}

/// Which patient.
#[derive(Deserialize)]
pub struct PatientQuery {
    study: String,
    id: String,
    #[serde(default)]
    saved: Option<String>,
}

/// The study's record of `patient_id`, or `NotFound`.
async fn record_of(
    state: &AppState,
    study: &Study,
    patient_id: &str,
) -> Result<PatientRecord, PageError> {
    Ok(state
        .store
        .patient(study.id, patient_id)
        .await?
        .ok_or_else(|| {
            AppError::NotFound(format!(
                "no patient {patient_id:?} in study {:?}",
                study.name
            ))
        })?)
}

/// The page of `record`, its fields showing `values` (column → text).
fn patient_page(
    viewer: Viewer,
    study: &Study,
    record: &PatientRecord,
    values: &BTreeMap<String, String>,
) -> PatientPage {
    let stored = text_of(study, record);
    let fields = stored
        .into_iter()
        .enumerate()
        .filter(|(_, (column, _))| column != "patient_id")
        .map(|(i, (column, value))| Field {
            id: format!("cell-{i}"),
            value: values.get(&column).cloned().unwrap_or(value),
            column,
            problem: None,
            stored: None,
        })
        .collect();
    PatientPage {
        viewer,
        list_href: format!("/manage/patients?study={}", encode(&study.name)),
        study: study.name.clone(),
        patient_id: record.patient_id.clone(),
        version: record.version,
        fields,
        missing: missing_of(study, std::slice::from_ref(record))
            .into_iter()
            .next()
            .unwrap_or_default(),
        notice: None,
        problem: None,
        conflict: None,
    }
}

/// A patient's record as a form.
pub async fn patient(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<PatientQuery>,
) -> Result<Response, PageError> {
    viewer.require(Role::DataManager)?;
    let study = study_named(&state, &query.study).await?;
    let record = record_of(&state, &study, &query.id).await?;
    let mut page = patient_page(viewer, &study, &record, &BTreeMap::new());
    page.notice = match query.saved.as_deref() {
        Some("1") => Some(format!("Saved: version {}.", record.version)),
        Some("0") => Some("Nothing was changed.".into()),
        _ => None,
    };
    Ok(render(StatusCode::OK, &page))
}

/// The patient form's own fields, before its cells.
const FORM_FIELDS: [&str; 4] = ["csrf", "study", "id", "version"];

/// Saves a patient's form: the changed cells checked with the format's
/// rules, every refused one at its field; an edit of an outdated version
/// shown beside the stored one, to be saved over it or dropped.
pub async fn save(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    viewer.require(Role::DataManager)?;
    let get = |name: &str| form_value(&form, name);
    viewer.check_csrf(get("csrf"))?;
    let study = study_named(&state, get("study")).await?;
    let patient_id = get("id").to_string();
    let version: i64 = get("version")
        .parse()
        .map_err(|_| AppError::invalid("version", "the form's version is not a number"))?;
    let mut record = record_of(&state, &study, &patient_id).await?;
    let stored: BTreeMap<String, String> = text_of(&study, &record).into_iter().collect();
    // The form's cells, by column (each input is named after its column);
    // a column not sent is left as it is. The form's own fields come
    // first, so a kept column that shares a name with one of them is its
    // name's second value.
    let sent: BTreeMap<String, String> = stored
        .keys()
        .filter_map(|column| {
            let skip = usize::from(FORM_FIELDS.contains(&column.as_str()));
            form.iter()
                .filter(|(k, _)| k == column)
                .nth(skip)
                .map(|(_, v)| (column.clone(), v.clone()))
        })
        .collect();
    let changes = |against: &BTreeMap<String, String>| -> BTreeMap<String, Option<String>> {
        sent.iter()
            .filter(|(column, text)| against.get(*column) != Some(*text))
            .map(|(column, text)| {
                let value = (!text.trim().is_empty()).then(|| text.clone());
                (column.clone(), value)
            })
            .collect()
    };
    if version != record.version {
        return Ok(conflict(viewer, &study, &record, version, &sent));
    }
    let changed = changes(&stored);
    if changed.is_empty() {
        return Ok(Redirect::to(&format!(
            "{}&saved=0",
            patient_href(&study.name, &patient_id)
        ))
        .into_response());
    }
    let edited = match sclerad_store::check_patient_edit(&study.columns, &record, &changed) {
        Ok(edited) => edited,
        Err(problems) => return Ok(refused(viewer, &study, &record, &sent, problems)),
    };
    match state
        .store
        .update_patient(&viewer.actor(), study.id, &edited, version)
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!(
            "{}&saved=1",
            patient_href(&study.name, &patient_id)
        ))
        .into_response()),
        Err(StoreError::Conflict { .. }) => {
            record = record_of(&state, &study, &patient_id).await?;
            Ok(conflict(viewer, &study, &record, version, &sent))
        }
        Err(StoreError::Invalid { field, message }) => Ok(refused(
            viewer,
            &study,
            &record,
            &sent,
            vec![FieldProblem { field, message }],
        )),
        Err(e) => Err(e.into()),
    }
}

/// The form again with the values sent, each refused one at its field.
fn refused(
    viewer: Viewer,
    study: &Study,
    record: &PatientRecord,
    sent: &BTreeMap<String, String>,
    problems: Vec<FieldProblem>,
) -> Response {
    let mut page = patient_page(viewer, study, record, sent);
    for problem in problems {
        let message = super::account::sentence(&problem.message);
        match page.fields.iter_mut().find(|f| f.column == problem.field) {
            Some(field) => field.problem = Some(message),
            None => page.problem = Some(message),
        }
    }
    render(StatusCode::UNPROCESSABLE_ENTITY, &page)
}

/// The edit made on version `based_on` beside the record stored now: the
/// form keeps the edit, on the stored version, so that saving it again
/// replaces what is stored, knowingly.
fn conflict(
    viewer: Viewer,
    study: &Study,
    record: &PatientRecord,
    based_on: i64,
    sent: &BTreeMap<String, String>,
) -> Response {
    let stored: BTreeMap<String, String> = text_of(study, record).into_iter().collect();
    let mut page = patient_page(viewer, study, record, sent);
    for field in &mut page.fields {
        let now = stored.get(&field.column).cloned().unwrap_or_default();
        if now != field.value {
            field.stored = Some(now);
        }
    }
    page.conflict = Some((based_on, record.version));
    render(StatusCode::CONFLICT, &page)
}
