//! `AppError`: every way a request can fail, as one JSON body shape.

use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sclerad_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Machine-readable kind: `unauthenticated`, `forbidden`, `not_found`,
    /// `method_not_allowed`, `conflict`, `invalid`, `bad_request`,
    /// `payload_too_large`, `too_many_attempts`, `busy`, `internal`.
    pub error: &'static str,
    /// What went wrong, for people.
    pub message: String,
    /// The field at fault, when there is one (`findings[2].site`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// For `conflict`: the version now stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_version: Option<i64>,
}

/// Why a request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppError {
    /// 401: no valid credentials.
    Unauthenticated,
    /// 403: authenticated, but not allowed (role, CSRF).
    Forbidden(String),
    /// 404.
    NotFound(String),
    /// 409: the edit was based on an outdated version; nothing was written.
    Conflict {
        /// What happened.
        message: String,
        /// The version stored now.
        current_version: Option<i64>,
    },
    /// 422: a field is not valid.
    Invalid {
        /// Which field.
        field: String,
        /// Why.
        message: String,
    },
    /// 400: the request cannot be read (malformed JSON, wrong type).
    BadRequest(String),
    /// 400 at a known place of the body (`version`, `findings[0].grade`).
    BadField {
        /// Where in the body.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// 405: the route exists, not with this method.
    MethodNotAllowed,
    /// 503: too many logins are being checked at once.
    Busy,
    /// 413: the body is larger than the server accepts.
    PayloadTooLarge,
    /// 429: too many failed logins; retry after this many seconds.
    TooManyAttempts(i64),
    /// 500: logged in full, answered with a generic message.
    Internal(String),
}

impl AppError {
    /// A 422 for `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    /// A 403 for a role that may not do this.
    pub fn forbidden(message: impl Into<String>) -> Self {
        AppError::Forbidden(message.into())
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { what } => AppError::NotFound(format!("{what} not found")),
            StoreError::AlreadyExists { what } => AppError::Conflict {
                message: format!("{what} already exists"),
                current_version: None,
            },
            e @ StoreError::Conflict { current, .. } => AppError::Conflict {
                message: e.to_string(),
                current_version: Some(current),
            },
            StoreError::Invalid { field, message } => AppError::Invalid { field, message },
            StoreError::Backend(message) => AppError::Internal(message),
        }
    }
}

impl From<BytesRejection> for AppError {
    fn from(rejection: BytesRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::PayloadTooLarge
        } else {
            AppError::BadRequest(rejection.body_text())
        }
    }
}

/// A request body, read (within the size limit) but not yet parsed:
/// handlers check the caller's role first, so a caller without the role
/// gets 403 whatever they sent.
#[derive(Debug, Clone)]
pub struct JsonBody(pub axum::body::Bytes);

impl<S: Send + Sync> axum::extract::FromRequest<S> for JsonBody {
    type Rejection = AppError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, AppError> {
        let bytes = axum::body::Bytes::from_request(req, state).await?;
        Ok(JsonBody(bytes))
    }
}

impl JsonBody {
    /// The body as `T`; 400 naming the problem, and the field when there
    /// is one, if it is not.
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, AppError> {
        let mut json = serde_json::Deserializer::from_slice(&self.0);
        serde_path_to_error::deserialize(&mut json).map_err(|e| {
            let path = e.path().to_string();
            let message = format!("the JSON body is not valid: {}", e.inner());
            if path.is_empty() || path == "." {
                AppError::BadRequest(message)
            } else {
                AppError::BadField {
                    field: path,
                    message,
                }
            }
        })
    }
}

/// `axum::extract::Path` whose rejections are JSON [`AppError`]s.
#[derive(Debug, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(AppError))]
pub struct ApiPath<T>(pub T);

/// `axum::extract::Query` whose rejections are JSON [`AppError`]s.
#[derive(Debug, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(AppError))]
pub struct ApiQuery<T>(pub T);

impl From<PathRejection> for AppError {
    fn from(rejection: PathRejection) -> Self {
        AppError::BadRequest(rejection.body_text())
    }
}

impl From<QueryRejection> for AppError {
    fn from(rejection: QueryRejection) -> Self {
        AppError::BadRequest(rejection.body_text())
    }
}

impl From<JsonRejection> for AppError {
    fn from(rejection: JsonRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::PayloadTooLarge
        } else {
            AppError::BadRequest(rejection.body_text())
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, error, message, field, current_version) = match self {
            AppError::Unauthenticated => (
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "log in, or send an API token as 'Authorization: Bearer …'".to_string(),
                None,
                None,
            ),
            AppError::Forbidden(m) => (StatusCode::FORBIDDEN, "forbidden", m, None, None),
            AppError::NotFound(m) => (StatusCode::NOT_FOUND, "not_found", m, None, None),
            AppError::Conflict {
                message,
                current_version,
            } => (
                StatusCode::CONFLICT,
                "conflict",
                message,
                None,
                current_version,
            ),
            AppError::Invalid { field, message } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                message,
                Some(field),
                None,
            ),
            AppError::BadRequest(m) => (StatusCode::BAD_REQUEST, "bad_request", m, None, None),
            AppError::BadField { field, message } => (
                StatusCode::BAD_REQUEST,
                "bad_request",
                message,
                Some(field),
                None,
            ),
            AppError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this route does not take this method".to_string(),
                None,
                None,
            ),
            AppError::Busy => (
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "too many logins at once; try again".to_string(),
                None,
                None,
            ),
            AppError::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("the body is larger than {} bytes", crate::MAX_BODY_BYTES),
                None,
                None,
            ),
            AppError::TooManyAttempts(seconds) => {
                let body = ErrorBody {
                    error: "too_many_attempts",
                    message: format!("too many failed logins; try again in {seconds} s"),
                    field: None,
                    current_version: None,
                };
                let mut response =
                    (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
                if let Ok(v) = HeaderValue::from_str(&seconds.to_string()) {
                    response.headers_mut().insert(header::RETRY_AFTER, v);
                }
                return response;
            }
            AppError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "the server failed; the error was logged".to_string(),
                    None,
                    None,
                )
            }
        };
        let body = ErrorBody {
            error,
            message,
            field,
            current_version,
        };
        (status, axum::Json(body)).into_response()
    }
}

/// `axum::Json` whose rejections are [`AppError`]s (JSON bodies, 413 for
/// oversized ones).
#[derive(Debug, Clone, Copy, Default, axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(AppError))]
pub struct ApiJson<T>(pub T);

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}
