//! Errors as the client sees them: a status and `{"error": {"code", "message"}}`, never internal
//! text. The one place where assistant errors become HTTP statuses, and the JSON and query-string
//! extractors whose rejections speak the same shape.

use std::time::Duration;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use utoipa::ToSchema;

/// The body of every error response.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong, for a program (`code`) and for a person (`message`).
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable machine-readable code: `invalid_json`, `invalid_request`, `empty_question`,
    /// `question_too_long`, `payload_too_large`, `unsupported_media_type`, `unauthorized`,
    /// `not_found`, `method_not_allowed`, `unknown_calculation`, `invalid_inputs`,
    /// `unknown_concept`, `overloaded`, `queue_timeout`, `timeout`, `upstream_unavailable`,
    /// `internal`.
    pub code: String,
    /// What was wrong and what to do next.
    pub message: String,
}

/// An error response.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The stable code.
    pub code: &'static str,
    /// The client-facing message (no internals).
    pub message: String,
    /// Sent as `retry-after` when set.
    pub retry_after: Option<Duration>,
}

impl ApiError {
    /// An error with this status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// The same error with a `retry-after` header.
    pub fn with_retry_after(mut self, after: Duration) -> Self {
        self.retry_after = Some(after);
        self
    }

    /// 422 for a request whose shape is right but whose values are not.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request", message)
    }

    /// 404 for a path that names no route.
    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such route; GET /openapi.json lists the routes",
        )
    }

    /// 500 whose cause goes to the log, not to the client.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the server failed to answer; the details are in its log under this request's x-request-id",
        )
    }

    /// The JSON body.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message.clone(),
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body())).into_response();
        if let Some(after) = self.retry_after {
            let secs = after.as_secs().max(1);
            if let Ok(value) = HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}

impl From<assistant::AssistantError> for ApiError {
    fn from(error: assistant::AssistantError) -> Self {
        map_assistant_error(error)
    }
}

/// Maps the assistant's errors: the caller's mistakes keep their message (it names the field and
/// the fix); failures inside the pipeline are logged in full and answered with a generic message.
fn map_assistant_error(error: assistant::AssistantError) -> ApiError {
    use assistant::AssistantError as E;
    let message = error.to_string();
    match error {
        E::EmptyQuestion => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "empty_question", message)
        }
        E::QuestionTooLong { .. } => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "question_too_long",
            message,
        ),
        E::UnknownCalculation { .. } => {
            ApiError::new(StatusCode::NOT_FOUND, "unknown_calculation", message)
        }
        E::InvalidInputs { .. } => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_inputs", message)
        }
        E::UnknownConcept { .. } => {
            ApiError::new(StatusCode::NOT_FOUND, "unknown_concept", message)
        }
        E::UnknownQuery { .. } => ApiError::new(StatusCode::NOT_FOUND, "unknown_query", message),
        E::InvalidTopK { .. } | E::UnknownMode { .. } | E::InvalidRating { .. } => {
            ApiError::invalid(message)
        }
        other => {
            tracing::error!(error = %other, "assistant failed");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "upstream_unavailable",
                "the answering pipeline failed (retrieval or generation); retry later, the details are in the server log under this request's x-request-id",
            )
            .with_retry_after(Duration::from_secs(1))
        }
    }
}

/// `Json<T>` whose rejections are [`ApiError`]s: 400 for malformed JSON (invalid UTF-8 included),
/// 422 for JSON of the wrong shape (wrong types, missing fields), 413 for a body over the limit,
/// 415 without a JSON content type.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_rejection(&rejection)),
        }
    }
}

fn json_rejection(rejection: &JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::JsonDataError(e) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            format!(
                "{}; GET /openapi.json gives the request schema",
                source_text(e)
            ),
        ),
        JsonRejection::JsonSyntaxError(e) => ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("the body is not valid UTF-8 JSON: {}", source_text(e)),
        ),
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as JSON with `content-type: application/json`",
        ),
        JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            too_large()
        }
        other => ApiError::new(other.status(), "invalid_request", other.body_text()),
    }
}

/// 413 with the shared message.
pub fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        "the request body is over the server's limit (server.max_body_bytes); send a shorter question",
    )
}

/// The innermost message of a rejection: serde's text with line and column, without axum's
/// prefix.
fn source_text(error: &dyn std::error::Error) -> String {
    let mut current: &dyn std::error::Error = error;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

/// `Query<T>` whose rejections are 422 [`ApiError`]s.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Self(value)),
            Err(QueryRejection::FailedToDeserializeQueryString(e)) => Err(ApiError::invalid(
                format!("bad query string: {}", source_text(&e)),
            )),
            Err(other) => Err(ApiError::invalid(other.body_text())),
        }
    }
}

/// The fallback for unknown paths.
pub async fn not_found() -> ApiError {
    ApiError::not_found()
}

/// The fallback for a known path with the wrong method.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not take that method; GET /openapi.json lists each route's methods",
    )
}
