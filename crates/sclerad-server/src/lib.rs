//! The sclerad study server: a JSON API under `/api/` over one
//! [`Store`](sclerad_store::Store), for the people of a study: data
//! managers, blinded readers, adjudicators, analysts, admins.
//!
//! [`router`] builds the whole application (tests drive it in-process with
//! `tower::ServiceExt::oneshot`); [`serve`] runs it on a socket with
//! graceful shutdown, header, body and write timeouts and a connection cap
//! ([`ServeLimits`]; the design is in the `serve` module's source). This is
//! the only crate that knows HTTP.

mod api;
pub mod auth;
mod error;
mod extract;
mod serve;
pub mod web;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::Router;
use sclerad_store::Store;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

pub use error::{AppError, ErrorBody};
pub use extract::{ApiJson, ApiPath, ApiQuery, JsonBody};
pub use serve::{
    connection_cap, fd_soft_limit, serve, serve_on, serve_tls_on, ServeLimits, TlsConfig, TlsError,
    ACCEPT_RETRY, FD_RESERVE, MIN_CONNECTIONS,
};

/// The largest request body accepted (1 MiB): a worklist save is a few
/// kilobytes; anything larger is refused with 413 before it is parsed.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// Server settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// How long a session lasts.
    pub session_seconds: i64,
    /// How long an API token lasts when its request does not say.
    pub token_days_default: u32,
    /// The longest an API token may last (set by the admin who runs the
    /// server: `sclerad serve --max-token-days`).
    pub token_days_max: u32,
    /// The largest upload of a page (a bundle), in bytes (`sclerad serve
    /// --max-upload-mb`); each file of it is also bounded by the bundle
    /// reader's file limit.
    pub max_upload_bytes: u64,
    /// The folder under which the data manager's images page may name
    /// folders of DICOM files to take in (`sclerad serve --images-root`);
    /// `None`: images are uploaded only.
    pub images_root: Option<std::path::PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            session_seconds: 12 * 3600,
            token_days_default: 90,
            token_days_max: 365,
            max_upload_bytes: 256 << 20,
            images_root: None,
        }
    }
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The study store.
    pub store: Arc<dyn Store>,
    /// Settings.
    pub config: Arc<Config>,
    /// A valid Argon2id hash of nothing, verified against when a login names
    /// an unknown user, so that such a login takes as long as a real one.
    pub dummy_hash: Arc<str>,
    /// Login turns, unknown-name throttling and the hashing bound.
    pub logins: Arc<auth::LoginGuard>,
    /// API tokens recently found valid.
    pub tokens: Arc<auth::TokenCache>,
    /// Exams' images assembled for the viewer, recently used.
    pub images: Arc<web::images::ImageCache>,
    /// The first-start link's secret, while unused.
    pub first_start: Arc<web::setup::FirstStart>,
}

impl AppState {
    /// State over `store`.
    pub fn new(store: Arc<dyn Store>, config: Config) -> Result<Self, AppError> {
        let secret = auth::random_token()?;
        let dummy = sclerad_store::password::hash(&secret)
            .map_err(|e| AppError::Internal(e.to_string()))?;
        Ok(AppState {
            store,
            config: Arc::new(config),
            dummy_hash: dummy.into(),
            logins: Arc::new(auth::LoginGuard::default()),
            tokens: Arc::new(auth::TokenCache::default()),
            images: Arc::new(web::images::ImageCache::default()),
            first_start: Arc::new(web::setup::FirstStart::default()),
        })
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "sclerad study server", description = "Blinded multi-reader imaging studies in systemic sclerosis: clinical records, worklists, adjudication, agreement, audit."),
    modifiers(&Security),
    tags(
        (name = "session", description = "Login, logout, API tokens"),
        (name = "admin", description = "Users and the audit trail"),
        (name = "studies", description = "Studies and clinical records"),
        (name = "reading", description = "Blinded worklists"),
        (name = "adjudication", description = "Disagreements and consensus"),
        (name = "analysis", description = "Agreement statistics"),
    )
)]
struct ApiDoc;

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                auth::SESSION_COOKIE,
                "Set by POST /api/login; state-changing requests also need the X-CSRF-Token header",
            ))),
        );
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API token from POST /api/tokens"))
                    .build(),
            ),
        );
    }
}

/// The API routes and their OpenAPI document.
fn api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    api::routes(OpenApiRouter::with_openapi(ApiDoc::openapi())).split_for_parts()
}

/// The OpenAPI document, as served at `/api/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api().1
}

/// The whole application: the API, `/api/openapi.json`, the Swagger UI
/// at `/api/docs/` (vendored: no network needed) and the web pages
/// ([`web`]).
pub fn router(state: AppState) -> Router {
    let (api, doc) = api();
    api.merge(SwaggerUi::new("/api/docs").url("/api/openapi.json", doc))
        .merge(web::routes())
        .fallback(|| async { AppError::NotFound("no such route".into()) })
        .method_not_allowed_fallback(|| async { AppError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}
