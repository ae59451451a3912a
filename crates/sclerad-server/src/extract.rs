//! The extractors of the API: request bodies, paths and queries whose
//! rejections are [`AppError`]s, and the JSON response wrapper.

use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::AppError;

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
pub struct JsonBody {
    bytes: axum::body::Bytes,
    /// Whether the request said `Content-Type: application/json`.
    json: bool,
}

/// Whether a `Content-Type` value is JSON (`application/json`, any case,
/// parameters such as `charset=utf-8` allowed).
fn is_json(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

impl<S: Send + Sync> axum::extract::FromRequest<S> for JsonBody {
    type Rejection = AppError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, AppError> {
        let json = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(is_json);
        let bytes = axum::body::Bytes::from_request(req, state).await?;
        Ok(JsonBody { bytes, json })
    }
}

impl JsonBody {
    /// The body as `T`: 415 unless it was sent as `application/json`; 400
    /// naming the problem, and the field when there is one, if it is not
    /// one JSON value of that shape with nothing after it.
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, AppError> {
        if !self.json {
            return Err(AppError::UnsupportedMediaType);
        }
        let mut json = serde_json::Deserializer::from_slice(&self.bytes);
        let value = serde_path_to_error::deserialize(&mut json).map_err(|e| {
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
        })?;
        json.end().map_err(|e| {
            AppError::BadRequest(format!("the JSON body is not valid: {e} after the value"))
        })?;
        Ok(value)
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
