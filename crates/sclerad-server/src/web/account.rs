//! Every user's own account: change the password, and make, list and
//! revoke one's API tokens for scripts.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use sclerad_store::ApiToken;
use serde::Deserialize;

use super::{render, PageError, Viewer};
use crate::auth::{change_own_password, issue_token, session_cookie};
use crate::{AppError, AppState};

/// A refused form: which field, and why.
struct Problem {
    form: &'static str,
    field: String,
    message: String,
}

#[derive(Template)]
#[template(path = "account/account.html")]
struct AccountPage {
    viewer: Viewer,
    tokens: Vec<ApiToken>,
    problem: Option<Problem>,
    notice: Option<&'static str>,
    /// A token just made: its label and secret, shown this once.
    made: Option<(String, String)>,
    label: String,
    days: String,
    days_default: u32,
    days_max: u32,
    min_length: usize,
}

impl AccountPage {
    /// Whether field `field` of form `form` was refused.
    fn refused(&self, form: &str, field: &str) -> bool {
        self.problem
            .as_ref()
            .is_some_and(|p| p.form == form && p.field == field)
    }
}

/// What the account page shows besides the forms.
#[derive(Default)]
struct Shown {
    status: Option<StatusCode>,
    problem: Option<Problem>,
    notice: Option<&'static str>,
    made: Option<(String, String)>,
    label: String,
    days: String,
}

async fn account_page(
    state: &AppState,
    viewer: Viewer,
    shown: Shown,
) -> Result<Response, PageError> {
    let tokens = state.store.tokens(viewer.user.id).await?;
    let page = AccountPage {
        tokens,
        problem: shown.problem,
        notice: shown.notice,
        made: shown.made,
        label: shown.label,
        days: shown.days,
        days_default: state
            .config
            .token_days_default
            .min(state.config.token_days_max),
        days_max: state.config.token_days_max,
        min_length: sclerad_store::password::MIN_LENGTH,
        viewer,
    };
    Ok(render(shown.status.unwrap_or(StatusCode::OK), &page))
}

/// The account page's query: what was just done.
#[derive(Debug, Default, Deserialize)]
pub struct AccountQuery {
    #[serde(default)]
    done: String,
}

/// The user's account: password form and API tokens.
pub async fn account(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<AccountQuery>,
) -> Result<Response, PageError> {
    let notice = match q.done.as_str() {
        "revoked" => Some("The token was revoked: scripts using it are refused from now on."),
        _ => None,
    };
    account_page(
        &state,
        viewer,
        Shown {
            notice,
            ..Shown::default()
        },
    )
    .await
}

/// The password form's fields.
#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    again: String,
    /// "on" to revoke the API tokens too.
    #[serde(default)]
    end_tokens: Option<String>,
}

/// Changes the user's own password; every session of the user ends, so
/// the browser goes to log in with the new one.
pub async fn change_password(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<PasswordForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf)?;
    let refuse = |field: &str, message: String, status: StatusCode| Shown {
        status: Some(status),
        problem: Some(Problem {
            form: "password",
            field: field.to_string(),
            message,
        }),
        ..Shown::default()
    };
    if form.new != form.again {
        let shown = refuse(
            "again",
            "The two new passwords differ.".into(),
            StatusCode::UNPROCESSABLE_ENTITY,
        );
        return account_page(&state, viewer, shown).await;
    }
    let changed = change_own_password(
        &state,
        &viewer.user,
        &form.current,
        form.new,
        form.end_tokens.is_some(),
    )
    .await;
    match changed {
        Ok(()) => Ok((
            [(header::SET_COOKIE, session_cookie(None, 0)?)],
            Redirect::to("/login?next=%2F"),
        )
            .into_response()),
        Err(AppError::Invalid { field, message }) => {
            let field = match field.as_str() {
                "current_password" => "current",
                _ => "new",
            };
            let shown = refuse(field, sentence(&message), StatusCode::UNPROCESSABLE_ENTITY);
            account_page(&state, viewer, shown).await
        }
        Err(AppError::TooManyAttempts(seconds)) => {
            let shown = refuse(
                "current",
                format!("Too many wrong passwords: try again in {seconds} s."),
                StatusCode::TOO_MANY_REQUESTS,
            );
            account_page(&state, viewer, shown).await
        }
        Err(e) => Err(e.into()),
    }
}

/// The new-token form's fields.
#[derive(Debug, Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    label: String,
    /// Days; empty for the server's default.
    #[serde(default)]
    days: String,
}

/// Makes an API token for the user's scripts and shows its secret once.
pub async fn create_token(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<TokenForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf)?;
    let refused = |field: &str, message: String| Shown {
        status: Some(StatusCode::UNPROCESSABLE_ENTITY),
        problem: Some(Problem {
            form: "token",
            field: field.to_string(),
            message,
        }),
        label: form.label.clone(),
        days: form.days.clone(),
        ..Shown::default()
    };
    let days = match form.days.trim() {
        "" => None,
        text => match text.parse::<u32>() {
            Ok(days) => Some(days),
            Err(_) => {
                let shown = refused(
                    "days",
                    format!(
                        "{text:?} is not a number of days: 1 to {}.",
                        state.config.token_days_max
                    ),
                );
                return account_page(&state, viewer, shown).await;
            }
        },
    };
    match issue_token(&state, &viewer.user, &form.label, days).await {
        Ok((stored, secret)) => {
            let shown = Shown {
                status: Some(StatusCode::CREATED),
                made: Some((stored.label, secret)),
                ..Shown::default()
            };
            account_page(&state, viewer, shown).await
        }
        Err(AppError::Invalid { field, message }) => {
            let field = if field == "days" { "days" } else { "label" };
            let shown = refused(field, sentence(&message));
            account_page(&state, viewer, shown).await
        }
        Err(e) => Err(e.into()),
    }
}

/// A form with only its CSRF field.
#[derive(Debug, Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

/// Revokes one of the user's own tokens.
pub async fn revoke_token(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf)?;
    let id: i64 = id
        .parse()
        .map_err(|_| AppError::NotFound(format!("API token {id:?} not found")))?;
    state
        .store
        .revoke_token(&viewer.actor(), id, Some(viewer.user.id))
        .await?;
    state.tokens.clear();
    Ok(Redirect::to("/account?done=revoked").into_response())
}

/// `message` with a capital first letter and a full stop.
pub(super) fn sentence(message: &str) -> String {
    let mut chars = message.chars();
    let mut text: String = chars
        .next()
        .map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect());
    if !text.ends_with('.') {
        text.push('.');
    }
    text
}
