//! The one error type of the API, rendered as RFC 9457 `application/problem+json`.

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use retour_domain::FieldError;
use retour_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

pub use crate::problems::ProblemCode;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem document.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// The problem type: `/problems/{code}`, relative to the API's address, which describes
    /// it.
    #[serde(rename = "type")]
    #[schema(format = "uri-reference")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable machine-readable code; `GET /problems` lists them all.
    pub code: ProblemCode,
    /// This occurrence: `urn:uuid:` and the request id (`X-Request-Id`), which the server's
    /// log and the access log also carry. Absent when the client sent a request id that is no
    /// UUID.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = "uri", nullable = false)]
    pub instance: Option<String>,
    /// For `validation_failed`: every invalid field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// For `mfa_required`: the token of the sign-in's second step, for
    /// `POST /v1/auth/login/mfa` (five minutes, single use).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub mfa_token: Option<String>,
    /// For `mfa_required`: `true` when the user has no authenticator yet and must enrol one
    /// (`POST /v1/auth/login/mfa/totp`) before the second step.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub mfa_enrolment_required: Option<bool>,
}

/// Everything a handler can fail with. Each variant maps to one status and one `code`.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("the request body is not valid: {0}")]
    BadRequest(String),
    #[error("{} field(s) are invalid", .0.len())]
    Validation(Vec<FieldError>),
    #[error("authentication is required: send a bearer token")]
    Unauthorized,
    /// A sign-in refused: wrong email or password, or a locked or disabled account (one
    /// answer for all, so that none is told apart).
    #[error("the email or the password is wrong, or the account is locked or disabled")]
    InvalidCredentials,
    /// The password was right; the second factor is still to come.
    #[error("a second factor is required: send a code with the mfa_token to /v1/auth/login/mfa")]
    MfaRequired { mfa_token: String, enrolment: bool },
    /// A bearer token presented and refused (expired, revoked, forged, of a closed session).
    #[error(
        "the bearer token is not valid (expired, signed out or not issued here); sign in again"
    )]
    InvalidToken,
    /// A service account's token without the scope the operation needs.
    #[error("this token lacks the scope {scope}, which this operation needs")]
    InsufficientScope { scope: &'static str },
    #[error("{detail}")]
    Forbidden { code: ProblemCode, detail: String },
    #[error("the resource does not exist")]
    NotFound,
    /// A record of a resource the caller may see that does not exist, named (`"monitoring
    /// visit"`); answered as `not_found` like any other.
    #[error("the {0} does not exist")]
    NoSuch(&'static str),
    #[error("the method is not allowed on this resource")]
    MethodNotAllowed,
    #[error("{detail}")]
    Conflict { code: ProblemCode, detail: String },
    /// A well-formed request that cannot be processed, with its own code (422).
    #[error("{detail}")]
    Unprocessable { code: ProblemCode, detail: String },
    /// A document refused or failed, with its own code (`document_…`), whose status the
    /// catalogue gives (413, 415, 410, 500).
    #[error("{detail}")]
    Document { code: ProblemCode, detail: String },
    #[error("the resource was changed since it was read; fetch it again and retry")]
    StaleVersion,
    #[error("this request needs an If-Match header with the resource's ETag")]
    PreconditionRequired,
    #[error("the request body is too large")]
    PayloadTooLarge,
    #[error("the media type of the request body is not supported; send application/json")]
    UnsupportedMediaType,
    #[error("too many requests; retry later")]
    TooManyRequests,
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    pub fn validation(field: &str, code: &str, message: impl Into<String>) -> Self {
        ApiError::Validation(vec![FieldError::new(field, code, message)])
    }

    pub fn internal(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        ApiError::Internal(Box::new(error))
    }

    /// The status the catalogue gives this error's code (`ProblemCode::status`), so that
    /// an answer and the catalogue's entry for it cannot disagree.
    pub fn status(&self) -> StatusCode {
        self.code().status().unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    pub fn code(&self) -> ProblemCode {
        match self {
            ApiError::BadRequest(_) => ProblemCode::MalformedRequest,
            ApiError::Validation(_) => ProblemCode::ValidationFailed,
            ApiError::Unauthorized => ProblemCode::Unauthorized,
            ApiError::InvalidCredentials => ProblemCode::InvalidCredentials,
            ApiError::MfaRequired { .. } => ProblemCode::MfaRequired,
            ApiError::InvalidToken => ProblemCode::InvalidToken,
            ApiError::InsufficientScope { .. } => ProblemCode::InsufficientScope,
            ApiError::Forbidden { code, .. }
            | ApiError::Conflict { code, .. }
            | ApiError::Unprocessable { code, .. }
            | ApiError::Document { code, .. } => *code,
            ApiError::NotFound | ApiError::NoSuch(_) => ProblemCode::NotFound,
            ApiError::MethodNotAllowed => ProblemCode::MethodNotAllowed,
            ApiError::StaleVersion => ProblemCode::StaleVersion,
            ApiError::PreconditionRequired => ProblemCode::PreconditionRequired,
            ApiError::PayloadTooLarge => ProblemCode::PayloadTooLarge,
            ApiError::UnsupportedMediaType => ProblemCode::UnsupportedMediaType,
            ApiError::TooManyRequests => ProblemCode::TooManyRequests,
            ApiError::Unavailable(_) => ProblemCode::ServiceUnavailable,
            ApiError::Internal(_) => ProblemCode::InternalError,
        }
    }

    pub fn problem(&self) -> Problem {
        let status = self.status();
        let errors = match self {
            ApiError::Validation(errors) => errors.clone(),
            _ => Vec::new(),
        };
        let detail = match self {
            ApiError::Validation(errors) => {
                errors.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join("; ")
            }
            other => other.to_string(),
        };
        let mut problem = problem(status, self.code(), detail, errors);
        if let ApiError::MfaRequired { mfa_token, enrolment } = self {
            problem.mfa_token = Some(mfa_token.clone());
            problem.mfa_enrolment_required = Some(*enrolment);
        }
        problem
    }
}

/// Builds a problem document for `status`, naming the request being served as its instance.
pub fn problem(
    status: StatusCode,
    code: ProblemCode,
    detail: String,
    errors: Vec<FieldError>,
) -> Problem {
    Problem {
        kind: code.type_uri(),
        title: status.canonical_reason().unwrap_or("Error").to_owned(),
        status: status.as_u16(),
        detail,
        code,
        instance: REQUEST_ID.try_with(|id| id.map(|id| id.urn().to_string())).ok().flatten(),
        errors,
        mfa_token: None,
        mfa_enrolment_required: None,
    }
}

tokio::task_local! {
    /// The request id of the request being served, when it is a UUID.
    static REQUEST_ID: Option<Uuid>;
}

/// Serves the request with its request id at hand, for the problem documents' `instance`.
pub(crate) async fn with_request_id(request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(&crate::layers::REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| Uuid::parse_str(v).ok());
    REQUEST_ID.scope(id, next.run(request)).await
}

/// Renders a problem document with its media type.
pub fn problem_response(problem: &Problem) -> Response {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_vec(problem).unwrap_or_default();
    let mut response = (status, body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(cause) = &self {
            tracing::error!(error = %cause, "request failed");
        }
        if let ApiError::Unavailable(cause) = &self {
            tracing::warn!(error = %cause, "service unavailable");
        }
        let problem = self.problem();
        let mut response = problem_response(&problem);
        // For the access log's record of the refusal: the code and the fields, no values.
        response.extensions_mut().insert(crate::refusals::RefusalSummary {
            code: self.code().as_str(),
            fields: problem.errors.iter().map(|e| e.field.clone()).collect(),
        });
        // RFC 6750: the challenge says what was wrong with the token. A failed sign-in is no
        // bearer-token problem and carries none.
        let challenge = match &self {
            ApiError::Unauthorized => Some("Bearer".to_owned()),
            ApiError::InvalidToken => Some("Bearer error=\"invalid_token\"".to_owned()),
            ApiError::InsufficientScope { scope } => {
                Some(format!("Bearer error=\"insufficient_scope\", scope=\"{scope}\""))
            }
            _ => None,
        };
        if let Some(value) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        StoreError::from(error).into()
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => ApiError::NotFound,
            StoreError::StaleVersion => ApiError::StaleVersion,
            StoreError::Unavailable(_) => {
                ApiError::Unavailable("the database is unavailable; retry shortly".to_owned())
            }
            StoreError::Constraint(name) => {
                // The constraint's name is the schema's business, not the client's.
                tracing::warn!(constraint = %name, "request refused by a database constraint");
                ApiError::Conflict {
                    code: ProblemCode::Conflict,
                    detail: "the request conflicts with data already stored; fetch it again \
                             and check it before retrying"
                        .to_owned(),
                }
            }
            other => ApiError::internal(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;

    use super::{ApiError, ProblemCode};

    #[test]
    fn each_error_answers_the_status_of_its_code() {
        let detail = || "x".to_owned();
        let cases = [
            (ApiError::BadRequest(detail()), StatusCode::BAD_REQUEST),
            (ApiError::Validation(Vec::new()), StatusCode::UNPROCESSABLE_ENTITY),
            (ApiError::Unauthorized, StatusCode::UNAUTHORIZED),
            (ApiError::InvalidCredentials, StatusCode::UNAUTHORIZED),
            (ApiError::InvalidToken, StatusCode::UNAUTHORIZED),
            (ApiError::InsufficientScope { scope: "cases:read" }, StatusCode::FORBIDDEN),
            (
                ApiError::Forbidden { code: ProblemCode::ForbiddenAction, detail: detail() },
                StatusCode::FORBIDDEN,
            ),
            (ApiError::NotFound, StatusCode::NOT_FOUND),
            (ApiError::NoSuch("monitoring visit"), StatusCode::NOT_FOUND),
            (ApiError::MethodNotAllowed, StatusCode::METHOD_NOT_ALLOWED),
            (
                ApiError::Conflict { code: ProblemCode::DuplicateCase, detail: detail() },
                StatusCode::CONFLICT,
            ),
            (
                ApiError::Unprocessable {
                    code: ProblemCode::IdempotencyKeyReused,
                    detail: detail(),
                },
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            (ApiError::StaleVersion, StatusCode::PRECONDITION_FAILED),
            (ApiError::PreconditionRequired, StatusCode::PRECONDITION_REQUIRED),
            (ApiError::PayloadTooLarge, StatusCode::PAYLOAD_TOO_LARGE),
            (ApiError::UnsupportedMediaType, StatusCode::UNSUPPORTED_MEDIA_TYPE),
            (ApiError::TooManyRequests, StatusCode::TOO_MANY_REQUESTS),
            (ApiError::Unavailable(detail()), StatusCode::SERVICE_UNAVAILABLE),
            (ApiError::internal(std::fmt::Error), StatusCode::INTERNAL_SERVER_ERROR),
        ];
        for (error, status) in cases {
            assert_eq!(error.status(), status, "{error:?}");
            assert_eq!(error.problem().status, status.as_u16(), "{error:?}");
        }
    }
}
