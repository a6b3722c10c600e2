//! One error type for every API response that is not a success: [`Error`] becomes an
//! `application/problem+json` body (RFC 9457) with a `type`, a human `title`, the `status`, a
//! `detail`, and for validation errors every bad field with what was expected (`errors`).

use crate::service::{self, FieldError};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The problem document.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem, `urn:goalkeeper:problem:<kind>`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Validation errors: each bad field and what was expected.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct FieldProblem {
    pub field: String,
    pub message: String,
}

/// Why a request failed.
#[derive(Debug)]
pub enum Error {
    Service(service::Error),
    /// No token, or one that does not authenticate (never says which).
    Unauthorized,
    /// Too many failed attempts from this address: retry after this many seconds.
    TooManyAttempts(u64),
    /// The body is not JSON of the expected shape.
    BadJson {
        field: Option<String>,
        message: String,
    },
    /// Anything else about the request (a query string, a path).
    BadRequest(String),
    TooLarge,
    Timeout,
    NoRoute,
    MethodNotAllowed,
}

impl From<service::Error> for Error {
    fn from(e: service::Error) -> Self {
        Error::Service(e)
    }
}

fn problem(status: StatusCode, kind: &str, title: &str, detail: String, errors: Vec<FieldError>) -> Response {
    let body = Problem {
        kind: format!("urn:goalkeeper:problem:{kind}"),
        title: title.to_owned(),
        status: status.as_u16(),
        detail,
        errors: errors
            .into_iter()
            .map(|f| FieldProblem {
                field: f.field,
                message: f.message,
            })
            .collect(),
    };
    let mut response = (status, axum::Json(body)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        use service::Error as S;
        match self {
            Error::Service(S::NotFound { what, id }) => problem(
                StatusCode::NOT_FOUND,
                "not-found",
                "Not found",
                format!("no {what} {id:?}"),
                vec![],
            ),
            Error::Service(S::Invalid(fields)) => {
                let detail = fields
                    .iter()
                    .map(|f| format!("{}: {}", f.field, f.message))
                    .collect::<Vec<_>>()
                    .join("; ");
                problem(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "validation",
                    "Invalid input",
                    detail,
                    fields,
                )
            }
            Error::Service(S::Conflict(m)) => problem(StatusCode::CONFLICT, "conflict", "Conflict", m, vec![]),
            Error::Service(S::Unprocessable(m)) => problem(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unprocessable",
                "Cannot be done yet",
                m,
                vec![],
            ),
            Error::Service(e @ S::Stale { .. }) => problem(
                StatusCode::PRECONDITION_FAILED,
                "stale",
                "Changed since it was read",
                e.to_string(),
                vec![],
            ),
            Error::Service(S::Internal(e)) => {
                tracing::error!(error = %format!("{e:#}"), "an API request failed");
                problem(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "Internal error",
                    "the server could not complete the request; it is logged".to_owned(),
                    vec![],
                )
            }
            Error::Unauthorized => {
                let mut r = problem(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    "Unauthorized",
                    "expected a valid bearer token: Authorization: Bearer gk_...".to_owned(),
                    vec![],
                );
                r.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                r
            }
            Error::TooManyAttempts(seconds) => {
                let mut r = problem(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too-many-attempts",
                    "Too many failed attempts",
                    format!("too many failed authentication attempts from this address; retry after {seconds} s"),
                    vec![],
                );
                if let Ok(v) = HeaderValue::from_str(&seconds.to_string()) {
                    r.headers_mut().insert(header::RETRY_AFTER, v);
                }
                r
            }
            Error::BadJson { field, message } => {
                let errors = field
                    .into_iter()
                    .map(|field| FieldError {
                        field,
                        message: message.clone(),
                    })
                    .collect();
                problem(
                    StatusCode::BAD_REQUEST,
                    "malformed",
                    "Malformed request body",
                    message,
                    errors,
                )
            }
            Error::BadRequest(m) => problem(StatusCode::BAD_REQUEST, "bad-request", "Bad request", m, vec![]),
            Error::TooLarge => problem(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-large",
                "Request body too large",
                format!("expected a body of at most {} bytes", super::BODY_LIMIT),
                vec![],
            ),
            Error::Timeout => problem(
                StatusCode::REQUEST_TIMEOUT,
                "timeout",
                "Request timed out",
                "the request took too long".to_owned(),
                vec![],
            ),
            Error::NoRoute => problem(
                StatusCode::NOT_FOUND,
                "not-found",
                "Not found",
                "no such endpoint; see /api/v1/openapi.json".to_owned(),
                vec![],
            ),
            Error::MethodNotAllowed => problem(
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
                "this endpoint does not take that method; see /api/v1/openapi.json".to_owned(),
                vec![],
            ),
        }
    }
}

/// Turns the bare responses the layers and the router make (413 from the body limit, 408 from the
/// timeout, 404/405 from routing) into problem documents, so every API error has one shape.
pub async fn as_problem(response: Response) -> Response {
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    if is_problem {
        return response;
    }
    match response.status() {
        StatusCode::PAYLOAD_TOO_LARGE => Error::TooLarge.into_response(),
        StatusCode::REQUEST_TIMEOUT => Error::Timeout.into_response(),
        StatusCode::NOT_FOUND => Error::NoRoute.into_response(),
        StatusCode::METHOD_NOT_ALLOWED => Error::MethodNotAllowed.into_response(),
        _ => response,
    }
}
