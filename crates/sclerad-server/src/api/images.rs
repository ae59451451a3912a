//! A study's images, as the data manager checks them.

use axum::extract::State;
use sclerad_store::{check_images, Modality, Role};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::page::{Listed, PageQuery};
use super::study;
use crate::auth::Caller;
use crate::{ApiPath, ApiQuery, AppError, AppState, ErrorBody};

/// This area's routes, with their OpenAPI operations.
pub(super) fn routes(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router.routes(routes!(list_images))
}

/// A problem of an exam's images.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImageProblemView {
    /// `warning` or `note`.
    pub severity: String,
    /// `image-date-mismatch`, `images-without-exam-date`,
    /// `exam-without-images`, `burned-in-override` or `ct-levels-proposed`.
    pub code: String,
    /// In words.
    pub message: String,
}

/// One exam's stored images.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExamImagesView {
    /// The study patient.
    pub patient_id: String,
    /// `hand_radiograph` or `ct`.
    pub exam: String,
    /// Instances stored.
    pub instances: usize,
    /// Series among them.
    pub series: usize,
    /// Bytes stored.
    pub bytes: i64,
    /// The largest gap, in days, between an image's date and the bundle's
    /// exam date (checked at import, before any date was shifted).
    pub date_gap_days: Option<i64>,
    /// For a CT whose `ct_levels` is empty: the levels its images seem to
    /// cover (a proposal to check, from the series' extent and its type
    /// or Body Part Examined).
    pub proposed_ct_levels: Option<String>,
    /// What to look at.
    pub problems: Vec<ImageProblemView>,
}

/// Every exam of a study with its stored images and their problems
/// (data managers): images dated other than the bundle's exam date, an
/// exam dated in the bundle but without images, images of an exam the
/// bundle does not date, instances stored on an overridden quarantine.
#[utoipa::path(get, path = "/api/studies/{study}/images", tag = "studies",
    params(("study" = String, Path, description = "study name"), PageQuery),
    responses((status = 200, body = Vec<ExamImagesView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub async fn list_images(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(name): ApiPath<String>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Listed<ExamImagesView>, AppError> {
    caller.require(&[Role::DataManager])?;
    let study = study(&state, &name).await?;
    let patients = state.store.patients(study.id).await?;
    let mut images = Vec::new();
    let mut after = 0;
    loop {
        let chunk = state.store.images_after(study.id, after, 10_000).await?;
        let Some(last) = chunk.last() else { break };
        after = last.id;
        images.extend(chunk);
    }
    let checked = check_images(&patients, &images);
    let total = checked.len() as u64;
    let p = page.page();
    let items: Vec<ExamImagesView> = checked
        .into_iter()
        .skip(usize::try_from(p.offset).unwrap_or(usize::MAX))
        .take(usize::try_from(p.limit).unwrap_or(0))
        .map(|e| ExamImagesView {
            patient_id: e.patient_id,
            exam: match e.exam {
                Modality::HandRadiograph => "hand_radiograph".into(),
                Modality::Ct => "ct".into(),
            },
            instances: e.instances,
            series: e.series,
            bytes: e.bytes,
            date_gap_days: e.date_gap_days,
            proposed_ct_levels: e.proposed_ct_levels,
            problems: e
                .problems
                .into_iter()
                .map(|p| ImageProblemView {
                    severity: p.severity.into(),
                    code: p.code.into(),
                    message: p.message,
                })
                .collect(),
        })
        .collect();
    Ok(Listed::new(sclerad_store::Paged { items, total }, page))
}
