//! Users (admins).

use axum::extract::State;
use axum::http::StatusCode;
use sclerad_store::Role;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::page::{Listed, PageQuery};
use crate::auth::Caller;
use crate::{ApiJson, ApiQuery, AppError, AppState, ErrorBody, JsonBody};

/// This area's routes, with their OpenAPI operations.
pub(super) fn routes(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router.routes(routes!(list_users, create_user))
}

/// A user as the API shows them.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    /// Store id.
    pub id: i64,
    /// Login name.
    pub name: String,
    /// `admin`, `data_manager`, `reader`, `adjudicator` or `analyst`.
    pub role: String,
    /// Creation time.
    pub created_at: String,
}

impl From<&sclerad_store::User> for UserView {
    fn from(u: &sclerad_store::User) -> Self {
        UserView {
            id: u.id,
            name: u.name.clone(),
            role: u.role.code().into(),
            created_at: u.created_at.clone(),
        }
    }
}

/// List users (admin).
#[utoipa::path(get, path = "/api/users", tag = "admin", params(PageQuery),
    responses((status = 200, body = Vec<UserView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Listed<UserView>, AppError> {
    caller.require(&[Role::Admin])?;
    let users = state.store.users().await?;
    Ok(Listed::new(page.of(users), page).map(|u| UserView::from(&u)))
}

/// A new user.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// Login name: 1–64 characters, no spaces.
    pub name: String,
    /// Role.
    pub role: String,
    /// At least 10 characters.
    pub password: String,
}

/// Create a user (admin).
#[utoipa::path(post, path = "/api/users", tag = "admin", request_body = NewUser,
    responses((status = 201, body = UserView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    body: JsonBody,
) -> Result<(StatusCode, ApiJson<UserView>), AppError> {
    caller.require(&[Role::Admin])?;
    let req: NewUser = body.parse()?;

    let name = req.name.trim();
    // Before the password is hashed; the store checks again.
    sclerad_store::check_user_name(name)?;
    let role = Role::parse(&req.role)
        .ok_or_else(|| AppError::invalid("role", format!("one of {}", Role::expected())))?;
    let password = req.password;
    let hash = tokio::task::spawn_blocking(move || sclerad_store::password::hash(&password))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
        .map_err(|e| AppError::invalid("password", e.to_string()))?;
    let user = state
        .store
        .create_user(&caller.actor(), name, role, &hash)
        .await?;
    Ok((StatusCode::CREATED, ApiJson(UserView::from(&user))))
}
