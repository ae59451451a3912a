//! The JSON API under `/api/`, one module per area. Each module owns its
//! request and response types and its handlers; [`routes`] puts them
//! together with the OpenAPI document generated from their
//! `#[utoipa::path]` attributes. Every handler names the roles it allows
//! (admins may do everything) before it reads its body, takes the body as
//! a [`JsonBody`](crate::JsonBody) and answers errors as
//! [`AppError`](crate::AppError) JSON. No handler decides a rule of the
//! study: findings, record edits, worklists, disagreements and agreement
//! are checked and computed below (store, bundle, model, analysis).

mod adjudication;
mod agreement;
mod assignments;
mod audit;
mod reading;
mod session;
mod studies;
mod users;

use sclerad_store::{Role, Study};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::plain_text;
use crate::{ApiJson, AppError, AppState};

/// What a handler answers.
type ApiResult<T> = Result<ApiJson<T>, AppError>;

/// Every role: for what any signed-in user may do.
const EVERYONE: &[Role] = &[
    Role::Admin,
    Role::DataManager,
    Role::Reader,
    Role::Adjudicator,
    Role::Analyst,
];

/// Every API route, with its OpenAPI operation.
pub(crate) fn routes(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
        .routes(routes!(session::health))
        .routes(routes!(session::login))
        .routes(routes!(session::logout))
        .routes(routes!(session::me))
        .routes(routes!(session::list_tokens, session::create_token))
        .routes(routes!(session::revoke_token))
        .routes(routes!(users::list_users, users::create_user))
        .routes(routes!(studies::list_studies))
        .routes(routes!(studies::list_patients))
        .routes(routes!(studies::get_patient, studies::edit_patient))
        .routes(routes!(studies::export))
        .routes(routes!(assignments::create_assignments))
        .routes(routes!(reading::worklist))
        .routes(routes!(reading::get_work_item, reading::save_reading))
        .routes(routes!(adjudication::disagreements))
        .routes(routes!(adjudication::save_consensus))
        .routes(routes!(agreement::agreement))
        .routes(routes!(audit::audit_events))
        .routes(routes!(audit::audit_verify))
}

/// A path segment no record can have is simply not found.
fn known_text(text: &str, what: &str) -> Result<(), AppError> {
    if plain_text(text, 500) {
        Ok(())
    } else {
        Err(AppError::NotFound(format!("{what} {text:?} not found")))
    }
}

/// The study named in a path.
async fn study(state: &AppState, name: &str) -> Result<Study, AppError> {
    known_text(name, "study")?;
    state
        .store
        .study(name)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("study {name:?} not found")))
}
