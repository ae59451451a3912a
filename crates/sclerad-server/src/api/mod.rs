//! The JSON API under `/api/`, one module per area. Each module owns its
//! request and response types and its handlers; [`routes`] puts them
//! together with the OpenAPI document generated from their
//! `#[utoipa::path]` attributes. Every handler but health, login and
//! logout names the roles it allows (admins may do everything) before it
//! reads its body, taken as a [`JsonBody`](crate::JsonBody); errors are
//! answered as [`AppError`](crate::AppError) JSON. No handler decides a rule of the
//! study: findings, record edits, worklists, disagreements and agreement
//! are checked and computed below (store, bundle, model, analysis).

mod adjudication;
mod agreement;
mod assignments;
mod audit;
mod images;
mod page;
mod reading;
mod session;
mod studies;
mod users;

use sclerad_store::{Role, Study};
use utoipa_axum::router::OpenApiRouter;

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

/// Every API route, with its OpenAPI operation: each area adds its own.
pub(crate) fn routes(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    [
        session::routes,
        users::routes,
        studies::routes,
        images::routes,
        assignments::routes,
        reading::routes,
        adjudication::routes,
        agreement::routes,
        audit::routes,
    ]
    .into_iter()
    .fold(router, |router, area| area(router))
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
