//! First start: on a store with no user, `sclerad serve` prints a link
//! holding a one-time secret; its page creates the first admin.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use sclerad_store::{Actor, Role, StoreError};
use serde::Deserialize;

use super::{render, PageError};
use crate::auth::{random_token, same, token_hash};
use crate::{AppError, AppState};

/// The one-time secret of the first-start link, while it is unused: only
/// its hash is held.
#[derive(Debug, Default)]
pub struct FirstStart {
    secret_hash: std::sync::Mutex<Option<String>>,
}

impl FirstStart {
    /// Whether `token` is the unused secret.
    fn matches(&self, token: &str) -> bool {
        let hash = token_hash(token);
        self.secret_hash
            .lock()
            .ok()
            .and_then(|held| held.as_ref().map(|h| same(h, &hash)))
            .unwrap_or(false)
    }

    /// Takes the secret if `token` is it: one request at a time can.
    fn take(&self, token: &str) -> bool {
        let hash = token_hash(token);
        let Ok(mut held) = self.secret_hash.lock() else {
            return false;
        };
        if held.as_ref().is_some_and(|h| same(h, &hash)) {
            *held = None;
            true
        } else {
            false
        }
    }

    /// Puts the secret back (the form was refused).
    fn restore(&self, token: &str) {
        if let Ok(mut held) = self.secret_hash.lock() {
            *held = Some(token_hash(token));
        }
    }
}

impl AppState {
    /// The path of the first-start page (`/setup/SECRET`) when the store
    /// has no user yet, with a new secret; `None` when it has users. The
    /// link works once, and not after any user exists.
    pub async fn first_start_path(&self) -> Result<Option<String>, AppError> {
        if !self.store.users().await?.is_empty() {
            return Ok(None);
        }
        let token = random_token()?;
        if let Ok(mut held) = self.first_start.secret_hash.lock() {
            *held = Some(token_hash(&token));
        }
        Ok(Some(format!("/setup/{token}")))
    }
}

#[derive(Template)]
#[template(path = "setup/first_admin.html")]
struct FirstAdminPage {
    token: String,
    name: String,
    field: &'static str,
    message: Option<String>,
    min_length: usize,
}

fn page(
    status: StatusCode,
    token: &str,
    name: &str,
    problem: Option<(&'static str, String)>,
) -> Response {
    let (field, message) = problem.map_or(("", None), |(f, m)| (f, Some(m)));
    render(
        status,
        &FirstAdminPage {
            token: token.to_string(),
            name: name.to_string(),
            field,
            message,
            min_length: sclerad_store::password::MIN_LENGTH,
        },
    )
}

/// What a used, wrong or expired link gets.
fn gone() -> PageError {
    PageError::App(AppError::NotFound(
        "this first-start link is not valid: it was used, the server was restarted, or the store has users already"
            .into(),
    ))
}

/// The first-start form, for the unused secret on a store with no user.
pub async fn first_admin_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    if !state.first_start.matches(&token) || !state.store.users().await?.is_empty() {
        return Err(gone());
    }
    Ok(page(StatusCode::OK, &token, "", None))
}

/// The first-start form's fields.
#[derive(Debug, Deserialize)]
pub struct FirstAdminForm {
    name: String,
    password: String,
    again: String,
}

/// Creates the first admin, then sends the browser to log in.
pub async fn create_first_admin(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    Form(form): Form<FirstAdminForm>,
) -> Result<Response, PageError> {
    // No session, so no CSRF token: the secret in the path stands for one,
    // and a post from another site is refused as a login's is.
    if headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|site| site == "cross-site")
    {
        return Err(PageError::App(AppError::forbidden(
            "the first admin must be created from sclerad's own page",
        )));
    }
    if !state.first_start.take(&token) {
        return Err(gone());
    }
    let refused = |field: &'static str, message: String| {
        state.first_start.restore(&token);
        Ok(page(
            StatusCode::UNPROCESSABLE_ENTITY,
            &token,
            &form.name,
            Some((field, message)),
        ))
    };
    if !state.store.users().await?.is_empty() {
        return Err(gone());
    }
    if form.password != form.again {
        return refused("again", "The two passwords differ.".into());
    }
    let password = form.password.clone();
    let hashed = tokio::task::spawn_blocking(move || sclerad_store::password::hash(&password))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let hash = match hashed {
        Ok(hash) => hash,
        Err(sclerad_store::password::PasswordError::Hashing(e)) => {
            state.first_start.restore(&token);
            return Err(PageError::App(AppError::Internal(e)));
        }
        Err(e) => return refused("password", format!("{}.", capitalised(&e.to_string()))),
    };
    let actor = Actor {
        user_id: None,
        name: "web:first-start".into(),
    };
    match state
        .store
        .create_user(&actor, form.name.trim(), Role::Admin, &hash)
        .await
    {
        Ok(_) => Ok(Redirect::to("/login?next=%2F").into_response()),
        Err(StoreError::Invalid { message, .. }) => refused("name", capitalised(&message)),
        Err(e) => {
            state.first_start.restore(&token);
            Err(PageError::App(e.into()))
        }
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}
