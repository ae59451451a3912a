//! Studies and clinical records (data managers, analysts).

use std::collections::BTreeMap;

use axum::extract::State;
use sclerad_store::{to_tables, Exam, PatientRecord, Role, Study};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{known_text, study, ApiResult};
use crate::auth::Caller;
use crate::{ApiJson, ApiPath, AppError, AppState, ErrorBody, JsonBody};

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
#[utoipa::path(get, path = "/api/studies", tag = "studies",
    responses((status = 200, body = Vec<StudyView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub async fn list_studies(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Vec<StudyView>> {
    caller.require(&[Role::DataManager, Role::Adjudicator, Role::Analyst])?;
    let studies = state.store.studies().await?;
    Ok(ApiJson(studies.iter().map(StudyView::from).collect()))
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
    params(("study" = String, Path, description = "study name")),
    responses((status = 200, body = Vec<PatientView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub async fn list_patients(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<Vec<PatientView>> {
    caller.require(&[Role::DataManager])?;
    let study = study(&state, &name).await?;
    let patients = state.store.patients(study.id).await?;
    Ok(ApiJson(
        patients.into_iter().map(PatientView::from).collect(),
    ))
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
) -> ApiResult<ExportView> {
    caller.require(&[Role::DataManager, Role::Analyst])?;
    let study = study(&state, &name).await?;
    let patients = state.store.patients(study.id).await?;
    let readings = state.store.readings(study.id).await?;
    let t = to_tables(&study.columns, &patients, &readings);
    let view = |t: sclerad_bundle::TextTable| TableView {
        columns: t.columns,
        rows: t.rows,
    };
    Ok(ApiJson(ExportView {
        patients: view(t.patients),
        hand_readings: t.hand_readings.map(view),
        spine_readings: t.spine_readings.map(view),
    }))
}
