//! Logging in and out, and the home page.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use sclerad_store::Role;
use serde::Deserialize;

use super::{local_path, render, PageError, Viewer};
use crate::auth::{cookie, open_session, session_cookie, token_hash, SESSION_COOKIE};
use crate::{AppError, AppState};

#[derive(Template)]
#[template(path = "session/login.html")]
struct LoginPage {
    next: String,
    message: Option<String>,
    name: String,
}

/// Where a login goes back to.
#[derive(Debug, Deserialize)]
pub struct NextQuery {
    #[serde(default)]
    next: String,
}

/// The login form.
pub async fn login_page(Query(q): Query<NextQuery>) -> Response {
    render(
        StatusCode::OK,
        &LoginPage {
            next: local_path(&q.next).to_string(),
            message: None,
            name: String::new(),
        },
    )
}

/// The login form's fields.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    name: String,
    password: String,
    #[serde(default)]
    next: String,
}

/// Logs in (the API's login, throttled alike) and goes on to `next`.
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    // No session yet, so no CSRF token: a login posted from another site
    // (which could sign the browser in as someone else) is refused.
    if headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|site| site == "cross-site")
    {
        return PageError::App(AppError::forbidden(
            "a login must be sent from sclerad's own page",
        ))
        .into_response();
    }
    let next = local_path(&form.next).to_string();
    match open_session(&state, &form.name, &form.password).await {
        Ok(opened) => match session_cookie(Some(&opened.token), state.config.session_seconds) {
            Ok(cookie) => ([(header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response(),
            Err(e) => PageError::App(e).into_response(),
        },
        Err(e) => {
            let (status, message) = match e {
                AppError::Unauthenticated => (
                    StatusCode::UNAUTHORIZED,
                    "Wrong name or password.".to_string(),
                ),
                AppError::TooManyAttempts(seconds) => (
                    StatusCode::TOO_MANY_REQUESTS,
                    format!("Too many failed attempts: try again in {seconds} s."),
                ),
                other => return PageError::App(other).into_response(),
            };
            render(
                status,
                &LoginPage {
                    next,
                    message: Some(message),
                    name: form.name,
                },
            )
        }
    }
}

/// The logout form's field.
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// Ends this session and goes to the login page.
pub async fn logout(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf)?;
    if let Some(value) = cookie(&headers, SESSION_COOKIE) {
        state.store.delete_session(&token_hash(value)).await?;
    }
    Ok((
        [(header::SET_COOKIE, session_cookie(None, 0)?)],
        Redirect::to("/login"),
    )
        .into_response())
}

/// The home page: each role's own start — a reader's worklist, an
/// adjudicator's and a data manager's studies, an admin's users, an
/// analyst's studies.
pub async fn home(viewer: Viewer) -> Response {
    let start = match viewer.user.role {
        Role::Reader => "/read",
        Role::Adjudicator => "/adjudicate",
        Role::Admin => "/admin/users",
        Role::DataManager => "/manage",
        Role::Analyst => "/analysis",
    };
    Redirect::to(start).into_response()
}
