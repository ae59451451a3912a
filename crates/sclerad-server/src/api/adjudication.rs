//! Adjudication (adjudicators): disagreements and the consensus reading.

use axum::extract::State;
use sclerad_store::{review, Modality, Role};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::page::{Listed, PageQuery};
use super::reading::{findings_of, Finding, FindingsSave};
use super::{study, ApiResult};
use crate::auth::Caller;
use crate::{ApiJson, ApiPath, ApiQuery, AppError, AppState, ErrorBody, JsonBody};

/// This area's routes, with their OpenAPI operations.
pub(super) fn routes(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
        .routes(routes!(disagreements))
        .routes(routes!(save_consensus))
}

/// An exam whose readers disagree on at least one flag.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Disagreement {
    /// The exam (adjudicators work on exams, not patients).
    pub exam_id: i64,
    /// Hand radiograph or CT.
    #[schema(value_type = String)]
    pub modality: Modality,
    /// The flags the readers disagree on: hand lesions (`calcinosis`, …), CT
    /// segments (`anterior`, `canal`, `posterior`) and `foraminal`.
    pub flags: Vec<String>,
    /// Each reader's findings.
    pub readings: Vec<ReaderFindings>,
    /// The consensus reading's version (0: none yet), to send with a save.
    pub consensus_version: i64,
    /// Whether a consensus reading exists (saved here or imported): the
    /// disagreement is settled. Open ones are listed first.
    pub resolved: bool,
    /// The current consensus findings, when resolved.
    #[schema(value_type = Option<Vec<Finding>>)]
    pub consensus: Option<Vec<sclerad_model::Finding>>,
}

/// One reader's findings of an exam.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReaderFindings {
    /// Reader name.
    pub reader: String,
    /// Findings, in the shape a consensus save takes (grades as numbers,
    /// foraminal as a boolean): one reader's reading can be sent back as
    /// the consensus as it is.
    #[schema(value_type = Vec<Finding>)]
    pub findings: Vec<sclerad_model::Finding>,
}

impl From<review::Disagreement> for Disagreement {
    fn from(d: review::Disagreement) -> Self {
        let resolved = d.resolved();
        Disagreement {
            exam_id: d.exam_id,
            modality: d.modality,
            flags: d.flags,
            readings: d
                .readings
                .into_iter()
                .map(|(reader, findings)| ReaderFindings {
                    reader,
                    findings: findings_of(Some(&findings)),
                })
                .collect(),
            consensus_version: d.consensus_version,
            resolved,
            consensus: d.consensus.map(|c| findings_of(Some(&c))),
        }
    }
}

/// Exams whose readers disagree (adjudicators): the open ones (no
/// consensus yet) first, then the resolved ones with their consensus;
/// `X-Open-Count` and `X-Resolved-Count` count each.
#[utoipa::path(get, path = "/api/studies/{study}/disagreements", tag = "adjudication",
    params(("study" = String, Path, description = "study name"), PageQuery),
    responses((status = 200, body = Vec<Disagreement>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub async fn disagreements(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(name): ApiPath<String>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Listed<Disagreement>, AppError> {
    caller.require(&[Role::Adjudicator])?;
    let study = study(&state, &name).await?;
    let readings = state.store.readings(study.id).await?;
    let all = review::disagreements(&readings);
    drop(readings);
    let resolved = all.iter().filter(|d| d.resolved()).count();
    let open = all.len() - resolved;
    Ok(Listed::new(page.of(all), page)
        .map(Disagreement::from)
        .with_header("x-open-count", open)
        .with_header("x-resolved-count", resolved))
}

/// The consensus reading as saved.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsensusView {
    /// The exam.
    pub exam_id: i64,
    /// Findings.
    #[schema(value_type = Vec<Finding>)]
    pub findings: Vec<sclerad_model::Finding>,
    /// Send back with the next save.
    pub version: i64,
}

/// Save the consensus reading of an exam (adjudicators); it becomes the
/// reading `consensus` of the study.
#[utoipa::path(put, path = "/api/studies/{study}/exams/{exam_id}/consensus", tag = "adjudication",
    request_body = FindingsSave,
    params(("study" = String, Path, description = "study name"), ("exam_id" = i64, Path, description = "exam id")),
    responses((status = 200, body = ConsensusView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub async fn save_consensus(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((name, exam_id)): ApiPath<(String, String)>,
    body: JsonBody,
) -> ApiResult<ConsensusView> {
    caller.require(&[Role::Adjudicator])?;
    let exam_id: i64 = exam_id
        .parse()
        .map_err(|_| AppError::NotFound(format!("exam {exam_id:?} not found")))?;
    let save: FindingsSave = body.parse()?;
    let study = study(&state, &name).await?;
    // Checked by the store against the exam inside the saving transaction.
    let saved = state
        .store
        .save_consensus(
            &caller.actor(),
            study.id,
            exam_id,
            &save.findings,
            save.version,
        )
        .await?;
    Ok(ApiJson(ConsensusView {
        exam_id,
        findings: findings_of(saved.findings.as_deref()),
        version: saved.version,
    }))
}
