//! The web pages, beside the JSON API: server-rendered HTML (askama
//! templates under `templates/<area>/`, mirroring the handlers of
//! `web/<area>.rs`), plain links and forms, assets embedded in the binary,
//! a strict Content-Security-Policy. A page answers its role or 403; a
//! browser without a session is sent to the login page.

mod account;
mod adjudication;
mod admin;
mod analysis;
pub mod images;
mod intake;
mod manage;
mod marks;
mod patients;
mod reading;
mod redcap;
mod session;
pub mod setup;
mod worklists;

use askama::Template;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use sclerad_store::{Role, Study, User};

use crate::auth::{cookie, same, token_hash, SESSION_COOKIE};
use crate::{AppError, AppState};

/// The pages' Content-Security-Policy: nothing from another host, no
/// inline script or style, no framing (frames only of this site's own
/// pages: a kept report), forms posted only here.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; \
     img-src 'self'; script-src 'self'; connect-src 'self'; frame-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

/// The pages and their assets.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(session::home))
        .route("/login", get(session::login_page).post(session::login))
        .route("/logout", post(session::logout))
        .route(
            "/setup/{token}",
            get(setup::first_admin_page).post(setup::create_first_admin),
        )
        .route("/account", get(account::account))
        .route("/account/password", post(account::change_password))
        .route("/account/tokens", post(account::create_token))
        .route("/account/tokens/{id}/revoke", post(account::revoke_token))
        .route("/admin/users", get(admin::users).post(admin::create_user))
        .route("/admin/users/{id}", post(admin::change_user))
        .route("/admin/tokens", get(admin::tokens))
        .route("/admin/tokens/{id}/revoke", post(admin::revoke_token))
        .route("/admin/audit", get(admin::audit))
        .route("/admin/audit/verify", get(admin::verify))
        .route("/manage", get(manage::studies))
        .route(
            "/manage/import",
            get(manage::import_form)
                .post(manage::import)
                .layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route(
            "/manage/append",
            get(manage::append_form)
                .post(manage::append)
                .layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/manage/patients", get(patients::list))
        .route(
            "/manage/worklists",
            get(worklists::worklists).post(worklists::build),
        )
        .route(
            "/manage/patient",
            get(patients::patient).post(patients::save),
        )
        .route("/manage/export", get(analysis::manage_export))
        .route(
            "/manage/images",
            get(intake::images)
                .post(intake::import)
                .layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/manage/images/override", post(intake::override_quarantine))
        .route(
            "/manage/redcap",
            get(redcap::import_form)
                .post(redcap::import)
                .layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/manage/redcap/dictionary.csv", get(redcap::dictionary))
        .route(
            "/manage/redcap/mapping",
            get(redcap::mapping_form)
                .post(redcap::mapping_suggest)
                .layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/manage/redcap/mapping.csv", post(redcap::mapping_csv))
        .route("/analysis", get(analysis::studies))
        .route("/analysis/agreement", get(analysis::agreement))
        .route("/analysis/export", get(analysis::analysis_export))
        .route("/analysis/runs", get(analysis::runs).post(analysis::run))
        .route("/analysis/runs/{id}", get(analysis::run_page))
        .route("/analysis/runs/{id}/reproduce", post(analysis::reproduce))
        .route("/analysis/runs/{id}/input.zip", get(analysis::run_input))
        .route("/analysis/runs/{id}/files/{*path}", get(analysis::run_file))
        .route("/read", get(reading::worklist))
        .route("/read/next", get(reading::next_unread))
        .route(
            "/read/{code}",
            get(reading::reading_page).post(reading::save),
        )
        .route("/read/{code}/image/{n}", get(images::read_radiograph))
        .route(
            "/read/{code}/ct/{plane}/{index}",
            get(images::read_ct_plane),
        )
        .route("/read/{code}/hu", get(images::read_ct_hu))
        .route("/adjudicate", get(adjudication::studies))
        .route("/adjudicate/{study}", get(adjudication::list))
        .route(
            "/adjudicate/{study}/{exam}",
            get(adjudication::exam).post(adjudication::save),
        )
        .route(
            "/adjudicate/{study}/{exam}/image/{n}",
            get(images::adjudicate_radiograph),
        )
        .route(
            "/adjudicate/{study}/{exam}/ct/{plane}/{index}",
            get(images::adjudicate_ct_plane),
        )
        .route(
            "/adjudicate/{study}/{exam}/hu",
            get(images::adjudicate_ct_hu),
        )
        .route("/assets/sclerad.css", get(stylesheet))
        .route("/assets/sclerad.js", get(script))
        .layer(axum::middleware::map_response(page_headers))
}

/// Headers on every page and asset.
async fn page_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    let fixed = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    // A handler may narrow these for what it serves (a kept report, framed
    // by its run's page, has a stricter policy of its own).
    let defaults = [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_FRAME_OPTIONS, "DENY"),
    ];
    for (name, value) in defaults {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    }
    // Pages show blinded work in progress: never kept by a cache.
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        include_str!("../../assets/sclerad.css"),
    )
        .into_response()
}

async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        include_str!("../../assets/sclerad.js"),
    )
        .into_response()
}

/// Who is looking at a page: the user of the session cookie, and the
/// token its forms must carry.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// The user.
    pub user: User,
    /// The session's CSRF token, a hidden field of every form.
    pub csrf: String,
}

impl Viewer {
    /// The viewer, if their role is `role` (pages are for one role each:
    /// an admin is not a reader).
    pub fn require(&self, role: Role) -> Result<(), PageError> {
        if self.user.role == role {
            Ok(())
        } else {
            Err(PageError::App(AppError::forbidden(format!(
                "this page is for the role {} (you are {})",
                role.code(),
                self.user.role
            ))))
        }
    }

    /// Whether the viewer is an admin (the bar links the admin's pages).
    pub fn is_admin(&self) -> bool {
        self.user.role == Role::Admin
    }

    /// The viewer as the audit trail names them.
    pub fn actor(&self) -> sclerad_store::Actor {
        sclerad_store::Actor::user(&self.user)
    }

    /// Refuses a form whose CSRF field is not this session's.
    pub fn check_csrf(&self, sent: &str) -> Result<(), PageError> {
        if same(sent, &self.csrf) {
            Ok(())
        } else {
            Err(PageError::App(AppError::forbidden(
                "this form is out of date or was not sent from sclerad's own page: reload the page and try again",
            )))
        }
    }
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        let login = || PageError::Login {
            next: parts
                .uri
                .path_and_query()
                .map_or_else(|| "/".to_string(), |p| p.as_str().to_string()),
        };
        let Some(value) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(login());
        };
        let session = state
            .store
            .session(&token_hash(value), &sclerad_store::now())
            .await
            .map_err(|e| PageError::App(e.into()))?;
        match session {
            Some(s) => Ok(Viewer {
                user: s.user,
                csrf: s.csrf_token,
            }),
            None => Err(login()),
        }
    }
}

/// Why a page cannot be shown: no session (the browser is sent to log
/// in, then back), or an [`AppError`] rendered as an HTML page with its
/// status.
#[derive(Debug)]
pub enum PageError {
    /// No valid session: to the login page, then back to `next`.
    Login {
        /// Where to come back to.
        next: String,
    },
    /// Any other failure.
    App(AppError),
}

impl From<AppError> for PageError {
    fn from(e: AppError) -> Self {
        PageError::App(e)
    }
}

impl From<sclerad_store::StoreError> for PageError {
    fn from(e: sclerad_store::StoreError) -> Self {
        PageError::App(e.into())
    }
}

/// The error page.
#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    title: String,
    status: u16,
    message: String,
    signed_in: bool,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::Login { next } => {
                Redirect::to(&format!("/login?next={}", encode(&next))).into_response()
            }
            PageError::App(e) => {
                if let AppError::Internal(detail) = &e {
                    tracing::error!("page failed: {detail}");
                }
                let signed_in = !matches!(e, AppError::Unauthenticated);
                let (status, body) = e.status_and_body();
                let page = ErrorPage {
                    title: status.canonical_reason().unwrap_or("Error").to_string(),
                    status: status.as_u16(),
                    message: body.message,
                    signed_in,
                };
                render(status, &page)
            }
        }
    }
}

/// A page rendered with `status` (a template that fails is a 500 logged,
/// never a half page).
pub fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!("template failed: {e}");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page could not be rendered",
            )
                .into_response()
        }
    }
}

/// The CSRF token a form or script sent: the form's `csrf` field, else
/// (a page script's request) the `X-CSRF-Token` header.
pub fn csrf_sent<'a>(field: &'a str, headers: &'a axum::http::HeaderMap) -> &'a str {
    if field.is_empty() {
        headers
            .get(crate::auth::CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    } else {
        field
    }
}

/// The study named `name`, or the page's 404 (a name no study could have
/// is not looked up).
pub(super) async fn study_named(state: &AppState, name: &str) -> Result<Study, PageError> {
    if !crate::auth::plain_text(name, 200) {
        return Err(AppError::NotFound("no such study".into()).into());
    }
    Ok(state
        .store
        .study(name)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no study named {name:?}")))?)
}

/// The first value of field `name` of a form read as pairs (a form whose
/// fields are not known in advance: a study's columns, checked readers).
pub(super) fn form_value<'a>(form: &'a [(String, String)], name: &str) -> &'a str {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_default()
}

/// A page's multipart form as its handler takes it: the rejection kept
/// until the role has been checked (a form of the wrong kind from the
/// wrong role is a 403, not a 422).
pub(super) type MultipartForm =
    Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>;

/// The multipart form `what` (for the error), or why it is not one.
pub(super) fn multipart(
    form: MultipartForm,
    what: &str,
) -> Result<axum::extract::Multipart, PageError> {
    form.map_err(|e| {
        AppError::invalid(
            "form",
            format!("the {what} is sent as multipart/form-data: {e}"),
        )
        .into()
    })
}

/// The CSRF rule of a multipart form read a field at a time: its CSRF
/// field first, checked as it comes; a field before it is refused unread.
pub(super) struct CsrfFirst<'v> {
    viewer: &'v Viewer,
    checked: bool,
}

impl<'v> CsrfFirst<'v> {
    pub(super) fn new(viewer: &'v Viewer) -> Self {
        CsrfFirst {
            viewer,
            checked: false,
        }
    }

    /// The field `field` named `name` if it is one for the caller; `None`
    /// when it was the CSRF field (checked here).
    pub(super) async fn field<'a>(
        &mut self,
        name: &str,
        field: axum::extract::multipart::Field<'a>,
    ) -> Result<Option<axum::extract::multipart::Field<'a>>, PageError> {
        if name == "csrf" {
            let sent = field.text().await.map_err(broken_upload)?;
            self.viewer.check_csrf(&sent)?;
            self.checked = true;
            return Ok(None);
        }
        self.finish()?;
        Ok(Some(field))
    }

    /// At the form's end (or before any other field): refused unless the
    /// token came.
    pub(super) fn finish(&self) -> Result<(), PageError> {
        if self.checked {
            Ok(())
        } else {
            // Nothing of a form without its token is read.
            self.viewer.check_csrf("")
        }
    }
}

/// An upload cut short or malformed.
pub(super) fn broken_upload(e: axum::extract::multipart::MultipartError) -> PageError {
    AppError::invalid(
        "files",
        format!("the upload was cut short or malformed: {e}"),
    )
    .into()
}

/// The base name of an uploaded file as the browser sent it: no folder,
/// no control character, at most 200 characters.
pub(super) fn uploaded_name(field: &axum::extract::multipart::Field<'_>) -> String {
    field
        .file_name()
        .unwrap_or_default()
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect()
}

/// How many patients a study has (one row read).
pub(super) async fn patient_count(state: &AppState, study_id: i64) -> Result<u64, PageError> {
    Ok(state
        .store
        .patients_page(
            study_id,
            sclerad_store::Page {
                offset: 0,
                limit: 1,
            },
        )
        .await?
        .total)
}

/// `text` percent-encoded for a query value.
pub fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// A path of this site to come back to after login: a local path only
/// (never `//host` or a scheme), else the home page.
pub fn local_path(next: &str) -> &str {
    if next.starts_with('/') && !next.starts_with("//") && !next.starts_with("/\\") {
        next
    } else {
        "/"
    }
}
