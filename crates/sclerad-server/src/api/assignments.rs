//! Blinded worklists (data managers).

use axum::extract::State;
use axum::http::StatusCode;
use sclerad_store::{blinding, Role};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::study;
use crate::auth::Caller;
use crate::{ApiJson, ApiPath, AppError, AppState, ErrorBody, JsonBody};

/// This area's routes, with their OpenAPI operations.
pub(super) fn routes(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router.routes(routes!(create_assignments))
}

/// Which exams to assign.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ExamChoice {
    /// Hand radiographs only.
    HandRadiograph,
    /// CTs only.
    Ct,
    /// Both.
    Both,
}

impl From<ExamChoice> for blinding::ExamChoice {
    fn from(c: ExamChoice) -> Self {
        match c {
            ExamChoice::HandRadiograph => blinding::ExamChoice::HandRadiograph,
            ExamChoice::Ct => blinding::ExamChoice::Ct,
            ExamChoice::Both => blinding::ExamChoice::Both,
        }
    }
}

/// A request to build blinded worklists.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignmentRequest {
    /// Reader user names.
    pub readers: Vec<String>,
    /// Which exams.
    pub exams: ExamChoice,
    /// Share (0–0.5) of exams presented a second time, later and under a new
    /// code, for intra-reader agreement.
    #[serde(default)]
    pub repeat_share: f64,
    /// Only these patients (their ids); every patient when absent.
    #[serde(default)]
    pub patients: Option<Vec<String>>,
    /// Leave out, for each reader, the exams already on their worklist, so
    /// that worklists grow by the patients added since (otherwise such an
    /// exam is a 409 and nothing is assigned).
    #[serde(default)]
    pub skip_assigned: bool,
}

/// How many assignments were made.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssignmentResponse {
    /// Assignments created.
    pub created: usize,
}

/// Build blinded worklists: every reader gets every chosen exam of the
/// chosen patients once (with `skip_assigned`, those not on their
/// worklist yet), in a random order of their own, under random codes
/// (data managers).
#[utoipa::path(post, path = "/api/studies/{study}/assignments", tag = "reading", request_body = AssignmentRequest,
    params(("study" = String, Path, description = "study name")),
    responses((status = 201, body = AssignmentResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub async fn create_assignments(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(name): ApiPath<String>,
    body: JsonBody,
) -> Result<(StatusCode, ApiJson<AssignmentResponse>), AppError> {
    caller.require(&[Role::DataManager])?;
    let req: AssignmentRequest = body.parse()?;
    blinding::check_request(&req.readers, req.repeat_share)?;
    let study = study(&state, &name).await?;
    let created = blinding::assign(
        state.store.as_ref(),
        &caller.actor(),
        study.id,
        &blinding::WorklistRequest {
            readers: req.readers,
            exams: req.exams.into(),
            repeat_share: req.repeat_share,
            patients: req.patients,
            skip_assigned: req.skip_assigned,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, ApiJson(AssignmentResponse { created })))
}
