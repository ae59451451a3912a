//! `AppError`: every way a request can fail, as one body shape
//! ([`ErrorBody`]) with its status. The API renders it as JSON; a page
//! can render the same status and body as HTML.

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
    /// `payload_too_large`, `unsupported_media_type`, `too_many_attempts`,
    /// `request_timeout`, `busy`, `internal`.
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
    /// 503: the connection was closed to make room just as its request
    /// arrived (the server is at its connection cap).
    Overloaded,
    /// 408: the request body did not arrive within the body timeout.
    RequestTimeout,
    /// 413: the body is larger than the server accepts.
    PayloadTooLarge,
    /// 415: a body that is not sent as `application/json`.
    UnsupportedMediaType,
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

impl AppError {
    /// The status and body this error is answered with (a 500's detail is
    /// logged here and never sent).
    pub fn status_and_body(self) -> (StatusCode, ErrorBody) {
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
            AppError::Overloaded => (
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "the server is at its connection limit; try again".to_string(),
                None,
                None,
            ),
            AppError::RequestTimeout => (
                StatusCode::REQUEST_TIMEOUT,
                "request_timeout",
                "the request body did not arrive in time".to_string(),
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
            AppError::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON, with the header 'Content-Type: application/json'"
                    .to_string(),
                None,
                None,
            ),
            AppError::TooManyAttempts(seconds) => (
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_attempts",
                format!("too many failed logins; try again in {seconds} s"),
                None,
                None,
            ),
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
        (status, body)
    }

    /// Seconds to wait before retrying, for a `Retry-After` header.
    pub fn retry_after(&self) -> Option<i64> {
        match self {
            AppError::TooManyAttempts(seconds) => Some(*seconds),
            _ => None,
        }
    }
}

/// Answered as JSON ([`ErrorBody`]), with `Retry-After` when there is one.
impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let retry = self.retry_after();
        let (status, body) = self.status_and_body();
        let mut response = (status, axum::Json(body)).into_response();
        if let Some(v) = retry.and_then(|s| HeaderValue::from_str(&s.to_string()).ok()) {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
    }
}
