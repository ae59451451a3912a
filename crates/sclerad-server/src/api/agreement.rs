//! Agreement statistics (analysts, adjudicators): the same rows as
//! `sclerad analyze` writes for the study's exported bundle, computed by
//! [`sclerad_analysis::agreement`].

use std::collections::BTreeMap;

use axum::extract::State;
use sclerad_analysis::results::Agreement;
use sclerad_store::{read_study, Role};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{study, ApiResult};
use crate::auth::Caller;
use crate::{ApiJson, ApiPath, AppState, ErrorBody};

/// This area's routes, with their OpenAPI operations.
pub(super) fn routes(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router.routes(routes!(agreement))
}

/// Agreement on one finding between two readings of the same patients
/// (the schema of [`sclerad_analysis::results::Agreement`], which the
/// response carries; a test checks that its fields are the analysis's).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AgreementRow {
    /// `inter` (two readers) or `intra` (a reader's first and repeat reading).
    kind: String,
    /// `hand_radiograph` or `ct`.
    modality: String,
    /// Hand lesion code, or `spine_any`, `spine_anterior`, `spine_canal`,
    /// `spine_foraminal`, `spine_posterior`.
    variable: String,
    /// First reader.
    reader_a: String,
    /// Second reader (the same reader for `intra`).
    reader_b: String,
    /// Patients read in both readings.
    n: usize,
    /// Both readings positive.
    both_yes: usize,
    /// Both readings negative.
    both_no: usize,
    /// Percent of patients with the same rating.
    percent_agreement: Option<f64>,
    /// Cohen's kappa (null when not defined, see `note`).
    kappa: Option<f64>,
    /// Its standard error (Fleiss–Cohen–Everitt).
    kappa_se: Option<f64>,
    /// 95 % interval, kappa ± 1.96·SE, clipped to [−1, 1].
    kappa_ci_low: Option<f64>,
    /// Upper bound.
    kappa_ci_high: Option<f64>,
    /// Prevalence- and bias-adjusted kappa, 2·po − 1.
    pabak: Option<f64>,
    /// Landis and Koch's label: `poor`, `slight`, `fair`, `moderate`,
    /// `substantial`, `almost_perfect`.
    landis_koch: Option<String>,
    /// A graded hand lesion: the patients with a known highest grade from
    /// both readings (absent when neither reading grades it).
    graded_n: Option<usize>,
    /// Quadratic-weighted kappa on those highest grades.
    weighted_kappa: Option<f64>,
    /// Its standard error.
    weighted_kappa_se: Option<f64>,
    /// Why kappa is missing, when it is.
    note: Option<String>,
}

/// Agreement statistics of a study.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgreementView {
    /// One row per pair of readings (two readers, or a reader's first and
    /// repeat readings) and finding.
    #[schema(value_type = Vec<AgreementRow>)]
    pub rows: Vec<Agreement>,
    /// Readings counted per kind (`imported`, `primary`, `repeat`,
    /// `consensus`).
    pub readings: BTreeMap<String, usize>,
}

/// Cohen's kappa per lesion and spine segment, between readers and within
/// a reader (analysts, adjudicators): the rows `sclerad analyze` gives for
/// the study's export.
#[utoipa::path(get, path = "/api/studies/{study}/agreement", tag = "analysis",
    params(("study" = String, Path, description = "study name")),
    responses((status = 200, body = AgreementView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub async fn agreement(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<AgreementView> {
    caller.require(&[Role::Analyst, Role::Adjudicator])?;
    let study = study(&state, &name).await?;
    let patients = state.store.patients(study.id).await?;
    let readings = state.store.readings(study.id).await?;
    let mut counts = BTreeMap::new();
    for r in readings.iter().filter(|r| r.findings.is_some()) {
        *counts.entry(r.kind.code().to_string()).or_insert(0) += 1;
    }
    // The study as its export would be read. Agreement needs only the
    // readings, so it is given even while the clinical record has problems
    // that would stop `sclerad analyze` (a CT coverage edited since, say).
    let loaded = read_study(&study.columns, &patients, &readings);
    let rows = sclerad_analysis::agreement(&loaded.cohort);
    Ok(ApiJson(AgreementView {
        rows,
        readings: counts,
    }))
}
