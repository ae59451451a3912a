//! Studies and clinical records (data managers, analysts).

use std::collections::BTreeMap;

use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use sclerad_store::{to_tables, Exam, Modality, Page, PatientRecord, Reading, Role, Study};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::page::{Listed, PageQuery};
use super::{known_text, study, ApiResult};
use crate::auth::Caller;
use crate::{ApiJson, ApiPath, ApiQuery, AppError, AppState, ErrorBody, JsonBody};

/// This area's routes, with their OpenAPI operations.
pub(super) fn routes(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
        .routes(routes!(list_studies))
        .routes(routes!(list_patients))
        .routes(routes!(get_patient, edit_patient))
        .routes(routes!(export))
}

/// A study.
#[derive(Debug, Serialize, ToSchema)]
pub struct StudyView {
    /// Store id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Creation time.
    pub created_at: String,
    /// The patients table's columns.
    pub columns: Vec<String>,
}

impl From<&Study> for StudyView {
    fn from(s: &Study) -> Self {
        StudyView {
            id: s.id,
            name: s.name.clone(),
            created_at: s.created_at.clone(),
            columns: s.columns.patients.clone(),
        }
    }
}

/// List studies (not for readers: they see only their worklist).
#[utoipa::path(get, path = "/api/studies", tag = "studies", params(PageQuery),
    responses((status = 200, body = Vec<StudyView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub async fn list_studies(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Listed<StudyView>, AppError> {
    caller.require(&[Role::DataManager, Role::Adjudicator, Role::Analyst])?;
    let studies = state.store.studies().await?;
    Ok(Listed::new(page.of(studies), page).map(|s| StudyView::from(&s)))
}

/// A patient's clinical record and exams.
#[derive(Debug, Serialize, ToSchema)]
pub struct PatientView {
    /// The study's patient identifier.
    pub patient_id: String,
    /// Every cell of the patients row but the exam columns.
    #[schema(value_type = Object)]
    pub cells: BTreeMap<String, String>,
    /// The hand radiograph.
    #[schema(value_type = Object)]
    pub hand_radiograph: Exam,
    /// The CT.
    #[schema(value_type = Object)]
    pub ct: Exam,
    /// Send back with an edit.
    pub version: i64,
}

impl From<PatientRecord> for PatientView {
    fn from(p: PatientRecord) -> Self {
        PatientView {
            patient_id: p.patient_id,
            cells: p.cells,
            hand_radiograph: p.hand_radiograph,
            ct: p.ct,
            version: p.version,
        }
    }
}

/// Patients of a study (data managers).
#[utoipa::path(get, path = "/api/studies/{study}/patients", tag = "studies",
    params(("study" = String, Path, description = "study name"), PageQuery),
    responses((status = 200, body = Vec<PatientView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub async fn list_patients(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(name): ApiPath<String>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Listed<PatientView>, AppError> {
    caller.require(&[Role::DataManager])?;
    let study = study(&state, &name).await?;
    let patients = state.store.patients_page(study.id, page.page()).await?;
    Ok(Listed::new(patients, page).map(PatientView::from))
}

/// One patient (data managers).
#[utoipa::path(get, path = "/api/studies/{study}/patients/{patient_id}", tag = "studies",
    params(("study" = String, Path, description = "study name"), ("patient_id" = String, Path, description = "patient identifier")),
    responses((status = 200, body = PatientView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub async fn get_patient(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((name, patient_id)): ApiPath<(String, String)>,
) -> ApiResult<PatientView> {
    caller.require(&[Role::DataManager])?;
    let study = study(&state, &name).await?;
    known_text(&patient_id, "patient")?;
    let p = state
        .store
        .patient(study.id, &patient_id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("patient {patient_id:?} not found")))?;
    Ok(ApiJson(PatientView::from(p)))
}

/// An edit of a patient's record.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatientEdit {
    /// The version the edit is based on (409 if it is no longer current).
    pub version: i64,
    /// Columns to change, as they would be written in the bundle; `null`
    /// clears a cell.
    #[schema(value_type = Object)]
    pub cells: BTreeMap<String, Option<String>>,
}

/// Edit a patient's record (data managers). Checked with the bundle
/// format's rules; a stale version gets 409 and nothing is written.
#[utoipa::path(patch, path = "/api/studies/{study}/patients/{patient_id}", tag = "studies",
    request_body = PatientEdit,
    params(("study" = String, Path, description = "study name"), ("patient_id" = String, Path, description = "patient identifier")),
    responses((status = 200, body = PatientView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub async fn edit_patient(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((name, patient_id)): ApiPath<(String, String)>,
    body: JsonBody,
) -> ApiResult<PatientView> {
    caller.require(&[Role::DataManager])?;
    let edit: PatientEdit = body.parse()?;
    let study = study(&state, &name).await?;
    known_text(&patient_id, "patient")?;
    let current = state
        .store
        .patient(study.id, &patient_id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("patient {patient_id:?} not found")))?;
    let edited = sclerad_store::edit_patient(&study.columns, &current, &edit.cells)?;
    let saved = state
        .store
        .update_patient(&caller.actor(), study.id, &edited, edit.version)
        .await?;
    Ok(ApiJson(PatientView::from(saved)))
}

/// A bundle as tables of text cells.
#[derive(Debug, Serialize, ToSchema)]
pub struct TableView {
    /// Column names.
    pub columns: Vec<String>,
    /// Rows of cells.
    pub rows: Vec<Vec<String>>,
}

/// The study as the bundle `sclerad export` writes.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportView {
    /// `patients`.
    pub patients: TableView,
    /// `hand_readings`, if any.
    pub hand_readings: Option<TableView>,
    /// `spine_readings`, if any.
    pub spine_readings: Option<TableView>,
}

/// Export a study's tables (data managers, analysts).
#[utoipa::path(get, path = "/api/studies/{study}/export", tag = "studies",
    params(("study" = String, Path, description = "study name")),
    responses((status = 200, body = ExportView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub async fn export(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(name): ApiPath<String>,
) -> Result<Response, AppError> {
    caller.require(&[Role::DataManager, Role::Analyst])?;
    let study = study(&state, &name).await?;
    // Written as it is read, a page of records at a time: the response
    // holds a few pages in memory whatever the study's size. A store
    // failure midway cuts the body short (invalid JSON), never a partial
    // document that parses.
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    tokio::spawn(async move {
        if let Err(e) = write_export(&state, &study, &sender).await {
            tracing::warn!(study = %study.name, error = %e, "export cut short");
            let _ = sender.send(Err(std::io::Error::other(e.to_string()))).await;
        }
    });
    let body = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|chunk| (chunk, receiver))
    });
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(body),
    )
        .into_response())
}

/// Patients a page of the export holds.
const EXPORT_PATIENTS: u64 = 500;
/// Readings a page of the export holds (each at most
/// `sclerad_model::MAX_FINDINGS` rows).
const EXPORT_READINGS: i64 = 100;

/// Writes the export of `study` as [`ExportView`] JSON into `out`, page by
/// page. Stops quietly if the client has gone.
async fn write_export(
    state: &AppState,
    study: &Study,
    out: &tokio::sync::mpsc::Sender<Result<Vec<u8>, std::io::Error>>,
) -> Result<(), sclerad_store::StoreError> {
    let send = |chunk: Vec<u8>| async move { out.send(Ok(chunk)).await.is_ok() };
    let columns = &study.columns;
    let mut chunk = format!(
        "{{\"patients\":{{\"columns\":{},\"rows\":[",
        json(&columns.patients)
    )
    .into_bytes();
    let mut first = true;
    let mut offset = 0;
    loop {
        let page = state
            .store
            .patients_page(study.id, Page::new(offset, EXPORT_PATIENTS))
            .await?;
        let n = page.items.len() as u64;
        for row in to_tables(columns, &page.items, &[]).patients.rows {
            if !std::mem::take(&mut first) {
                chunk.push(b',');
            }
            chunk.extend(json(&row).into_bytes());
        }
        if !send(std::mem::take(&mut chunk)).await {
            return Ok(());
        }
        offset += n;
        if n < EXPORT_PATIENTS {
            break;
        }
    }
    chunk.extend(b"]}");
    for (key, modality) in [
        ("hand_readings", Modality::HandRadiograph),
        ("spine_readings", Modality::Ct),
    ] {
        let stored = match modality {
            Modality::HandRadiograph => &columns.hand_readings,
            Modality::Ct => &columns.spine_readings,
        };
        chunk.extend(format!(",\"{key}\":").into_bytes());
        let mut opened = false;
        let mut after = 0;
        loop {
            let page = state
                .store
                .readings_after(study.id, after, EXPORT_READINGS)
                .await?;
            let Some(last) = page.last() else { break };
            after = last.id;
            let n = page.len() as i64;
            let readings: Vec<Reading> = page
                .into_iter()
                .filter(|r| r.modality == modality)
                .collect();
            let tables = to_tables(columns, &[], &readings);
            let table = match modality {
                Modality::HandRadiograph => tables.hand_readings,
                Modality::Ct => tables.spine_readings,
            };
            if let Some(table) = table.filter(|t| !t.rows.is_empty()) {
                for row in table.rows {
                    if !opened {
                        chunk.extend(
                            format!("{{\"columns\":{},\"rows\":[", json(&table.columns))
                                .into_bytes(),
                        );
                        opened = true;
                    } else {
                        chunk.push(b',');
                    }
                    chunk.extend(json(&row).into_bytes());
                }
            }
            if !send(std::mem::take(&mut chunk)).await {
                return Ok(());
            }
            if n < EXPORT_READINGS {
                break;
            }
        }
        if opened {
            chunk.extend(b"]}");
        } else {
            match stored {
                // Columns known, no read rows: an empty table, as the
                // bundle's own export writes it.
                Some(c) => {
                    chunk.extend(format!("{{\"columns\":{},\"rows\":[]}}", json(c)).into_bytes())
                }
                None => chunk.extend(b"null"),
            }
        }
    }
    chunk.push(b'}');
    send(chunk).await;
    Ok(())
}

/// JSON text of cells and column names (serialising strings cannot fail).
fn json<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}
