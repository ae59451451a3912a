//! Session: liveness, login, logout, who am I, API tokens.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use sclerad_store::Role;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiResult, EVERYONE};
use crate::api::users::UserView;
use crate::auth::{
    change_own_password, cookie, issue_token, open_session, session_cookie, token_hash, Caller,
    SESSION_COOKIE,
};
use crate::{ApiJson, ApiPath, ApiQuery, AppError, AppState, ErrorBody, JsonBody};

/// This area's routes, with their OpenAPI operations.
pub(super) fn routes(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
        .routes(routes!(health))
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(change_password))
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
}

/// Liveness.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok`.
    pub status: &'static str,
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    /// Server version.
    pub version: &'static str,
}

/// Is the server up? (No credentials needed.)
#[utoipa::path(get, path = "/api/health", tag = "session",
    responses((status = 200, body = Health)))]
pub async fn health(State(state): State<AppState>) -> ApiJson<Health> {
    ApiJson(Health {
        status: "ok",
        backend: match state.store.backend() {
            sclerad_store::Backend::Sqlite => "sqlite",
            sclerad_store::Backend::Postgres => "postgres",
        },
        version: env!("CARGO_PKG_VERSION"),
    })
}

/// Login request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// User name.
    pub name: String,
    /// Password.
    pub password: String,
}

/// A new session.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    /// Who logged in.
    pub user: UserView,
    /// Send as the `X-CSRF-Token` header with every POST, PUT, PATCH or
    /// DELETE of this session.
    pub csrf_token: String,
    /// When the session ends.
    pub expires_at: String,
}

/// Log in: sets the session cookie (Secure, HttpOnly, SameSite=Strict).
/// Five failed attempts lock the account for 30 s, doubling up to 15 min.
#[utoipa::path(post, path = "/api/login", tag = "session", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse),
        (status = 401, body = ErrorBody, description = "wrong name or password"),
        (status = 429, body = ErrorBody, description = "locked after too many failures")))]
pub async fn login(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Response, AppError> {
    let opened = open_session(&state, &req.name, &req.password).await?;
    let cookie = session_cookie(Some(&opened.token), state.config.session_seconds)?;
    let mut response = ApiJson(LoginResponse {
        user: UserView::from(&opened.user),
        csrf_token: opened.csrf_token,
        expires_at: opened.expires_at,
    })
    .into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(response)
}

/// Which sessions a logout ends.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogoutQuery {
    /// Every session of the user, on every device (default: this one).
    #[serde(default)]
    pub everywhere: bool,
    /// Also revoke every API token of the user.
    #[serde(default)]
    pub tokens: bool,
}

/// Log out: ends this session; with `everywhere`, every session of the
/// user; with `tokens`, the user's API tokens too.
#[utoipa::path(post, path = "/api/logout", tag = "session", params(LogoutQuery),
    responses((status = 204), (status = 401, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub async fn logout(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<LogoutQuery>,
) -> Result<Response, AppError> {
    if let Some(value) = cookie(&headers, SESSION_COOKIE) {
        state.store.delete_session(&token_hash(value)).await?;
    }
    if q.everywhere || q.tokens {
        state
            .store
            .end_sessions(&caller.actor(), caller.user.id, q.tokens)
            .await?;
        if q.tokens {
            state.tokens.clear();
        }
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, session_cookie(None, 0)?);
    Ok(response)
}

/// A password change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// The password now.
    pub current_password: String,
    /// The new one: 10 characters to 1,000 bytes.
    pub new_password: String,
    /// Also revoke every API token of the user.
    #[serde(default)]
    pub end_tokens: bool,
}

/// Change the caller's password. Every session of the user ends (log in
/// again with the new password); with `end_tokens`, the API tokens too.
#[utoipa::path(post, path = "/api/me/password", tag = "session", request_body = PasswordChange,
    responses((status = 204), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub async fn change_password(
    State(state): State<AppState>,
    caller: Caller,
    body: JsonBody,
) -> Result<Response, AppError> {
    caller.require(EVERYONE)?;
    let req: PasswordChange = body.parse()?;
    change_own_password(
        &state,
        &caller.user,
        &req.current_password,
        req.new_password,
        req.end_tokens,
    )
    .await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, session_cookie(None, 0)?);
    Ok(response)
}

/// Who am I?
#[utoipa::path(get, path = "/api/me", tag = "session",
    responses((status = 200, body = UserView), (status = 401, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub async fn me(caller: Caller) -> ApiResult<UserView> {
    caller.require(EVERYONE)?;
    Ok(ApiJson(UserView::from(&caller.user)))
}

/// A request for an API token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// What the token is for.
    pub label: String,
    /// How many days it lasts (default 90; at most what the server allows,
    /// 365 unless its admin set otherwise).
    #[serde(default)]
    pub days: Option<u32>,
}

/// A new API token; the secret is shown only here.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// Token id.
    pub id: i64,
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    /// Label.
    pub label: String,
    /// When it stops working.
    pub expires_at: String,
}

/// Create an API token for scripts, acting as the caller.
#[utoipa::path(post, path = "/api/tokens", tag = "session", request_body = TokenRequest,
    responses((status = 201, body = TokenResponse), (status = 401, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    body: JsonBody,
) -> Result<(StatusCode, ApiJson<TokenResponse>), AppError> {
    caller.require(EVERYONE)?;
    let req: TokenRequest = body.parse()?;

    let (stored, token) = issue_token(&state, &caller.user, &req.label, req.days).await?;
    Ok((
        StatusCode::CREATED,
        ApiJson(TokenResponse {
            id: stored.id,
            token,
            label: stored.label,
            expires_at: stored.expires_at,
        }),
    ))
}

/// An API token as listed (never its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    /// Token id.
    pub id: i64,
    /// Label.
    pub label: String,
    /// Creation time.
    pub created_at: String,
    /// When it stops working.
    pub expires_at: String,
}

/// The caller's API tokens.
#[utoipa::path(get, path = "/api/tokens", tag = "session",
    responses((status = 200, body = Vec<TokenView>), (status = 401, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub async fn list_tokens(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Vec<TokenView>> {
    caller.require(EVERYONE)?;
    let tokens = state.store.tokens(caller.user.id).await?;
    Ok(ApiJson(
        tokens
            .into_iter()
            .map(|t| TokenView {
                id: t.id,
                label: t.label,
                created_at: t.created_at,
                expires_at: t.expires_at,
            })
            .collect(),
    ))
}

/// Revoke an API token: the caller's own, or anyone's for an admin.
#[utoipa::path(delete, path = "/api/tokens/{id}", tag = "session",
    params(("id" = i64, Path, description = "token id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, AppError> {
    caller.require(EVERYONE)?;
    let id: i64 = id
        .parse()
        .map_err(|_| AppError::NotFound(format!("API token {id:?} not found")))?;
    let owner = (caller.user.role != Role::Admin).then_some(caller.user.id);
    state.store.revoke_token(&caller.actor(), id, owner).await?;
    state.tokens.clear();
    Ok(StatusCode::NO_CONTENT)
}
