//! Blinded reading (readers): the worklist and saving findings.

use axum::extract::State;
use sclerad_store::{Cells, Role, WorkItem};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::page::{Listed, PageQuery};
use super::{known_text, ApiResult};
use crate::auth::Caller;
use crate::{ApiJson, ApiPath, ApiQuery, AppError, AppState, ErrorBody, JsonBody};

/// This area's routes, with their OpenAPI operations.
pub(super) fn routes(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
        .routes(routes!(worklist))
        .routes(routes!(get_work_item, save_reading))
}

/// One finding (the schema of [`sclerad_model::Finding`], which requests
/// and responses carry and the store checks). A hand radiograph finding
/// has `side`, `site`, `lesion` and optionally `grade`; a CT finding has
/// `level`, `segment`, optionally `foraminal` (canal only), `side` and
/// `morphology`. Either may carry a mark on one of the exam's images
/// (`image_uid`, optionally `frame`, and `x`, `y`). An empty list of
/// findings means "read, nothing found". A test checks that its fields are the model's.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Finding {
    /// `left`/`right` (hand); `left`/`right`/`midline`/`bilateral` (CT).
    side: Option<String>,
    /// Hand site code (`tuft_d1`, `pip_d3`, `wrist`, …).
    site: Option<String>,
    /// Hand lesion code (`calcinosis`, `acro_osteolysis`, …).
    lesion: Option<String>,
    /// Semi-quantitative grade 0–3 (hand).
    grade: Option<u8>,
    /// Vertebral level (`c1`…`s1`), inside the CT's coverage.
    level: Option<String>,
    /// `anterior`, `canal` or `posterior`.
    segment: Option<String>,
    /// Foraminal extension of a canal calcification.
    foraminal: Option<bool>,
    /// `punctate`, `nodular`, `linear`, `amorphous` or `mass`.
    morphology: Option<String>,
    /// Where the finding was seen: the de-identified SOP Instance UID of
    /// an image of the exam (`images` of the exam's viewer).
    image_uid: Option<String>,
    /// The frame of a multi-frame image, from 1.
    frame: Option<u32>,
    /// The point on the image: column, in pixels (with `y`).
    x: Option<f64>,
    /// The point on the image: row, in pixels (with `x`).
    y: Option<f64>,
}

/// Stored cells as findings (none for "read, nothing found" or unread).
pub(super) fn findings_of(cells: Option<&[Cells]>) -> Vec<sclerad_model::Finding> {
    cells
        .map(sclerad_model::findings_of_cells)
        .unwrap_or_default()
}

/// One exam of a reader's worklist: a pseudonymous code and what the reader
/// needs to read it. Nothing here identifies the patient.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkItemView {
    /// Pseudonymous code of this presentation.
    pub code: String,
    /// Position in the reader's own order.
    pub position: i64,
    /// `hand_radiograph` or `ct`.
    pub modality: String,
    /// CT type.
    pub ct_type: Option<String>,
    /// Levels the CT covers.
    pub ct_levels: Option<String>,
    /// Whether a reading was saved.
    pub read: bool,
    /// The findings saved so far.
    #[schema(value_type = Vec<Finding>)]
    pub findings: Vec<sclerad_model::Finding>,
    /// Send back with the next save.
    pub version: i64,
}

impl From<WorkItem> for WorkItemView {
    fn from(w: WorkItem) -> Self {
        WorkItemView {
            code: w.code,
            position: w.position,
            modality: w.modality.code().into(),
            ct_type: w.ct_type,
            ct_levels: w.ct_levels,
            read: w.findings.is_some(),
            findings: findings_of(w.findings.as_deref()),
            version: w.version,
        }
    }
}

/// The caller's worklist (readers).
#[utoipa::path(get, path = "/api/worklist", tag = "reading", params(PageQuery),
    responses((status = 200, body = Vec<WorkItemView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub async fn worklist(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Listed<WorkItemView>, AppError> {
    caller.require(&[Role::Reader])?;
    let list = state
        .store
        .worklist_page(caller.user.id, page.page())
        .await?;
    Ok(Listed::new(list, page).map(WorkItemView::from))
}

async fn work_item(state: &AppState, caller: &Caller, code: &str) -> Result<WorkItem, AppError> {
    known_text(code, "exam code")?;
    state
        .store
        .work_item(caller.user.id, code)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("exam code {code:?} is not in your worklist")))
}

/// One exam of the caller's worklist (readers).
#[utoipa::path(get, path = "/api/worklist/{code}", tag = "reading",
    params(("code" = String, Path, description = "pseudonymous exam code")),
    responses((status = 200, body = WorkItemView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub async fn get_work_item(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(code): ApiPath<String>,
) -> ApiResult<WorkItemView> {
    caller.require(&[Role::Reader])?;
    Ok(ApiJson(WorkItemView::from(
        work_item(&state, &caller, &code).await?,
    )))
}

/// Findings to save.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FindingsSave {
    /// The version the save is based on (0 for a first reading).
    pub version: i64,
    /// Every finding; an empty list records "read, nothing found".
    #[schema(value_type = Vec<Finding>)]
    pub findings: Vec<sclerad_model::Finding>,
}

/// Save the caller's reading of an exam (readers). 409 if someone saved
/// since `version`.
#[utoipa::path(put, path = "/api/worklist/{code}", tag = "reading", request_body = FindingsSave,
    params(("code" = String, Path, description = "pseudonymous exam code")),
    responses((status = 200, body = WorkItemView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub async fn save_reading(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(code): ApiPath<String>,
    body: JsonBody,
) -> ApiResult<WorkItemView> {
    caller.require(&[Role::Reader])?;
    let save: FindingsSave = body.parse()?;
    known_text(&code, "exam code")?;
    // Checked by the store against the exam inside the saving transaction.
    let saved = state
        .store
        .save_reading(
            &caller.actor(),
            caller.user.id,
            &code,
            &save.findings,
            save.version,
        )
        .await?;
    Ok(ApiJson(WorkItemView::from(saved)))
}
