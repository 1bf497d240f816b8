//! The HTTP layers around every route: request ids, tracing, metrics, limits, CORS,
//! response hygiene, and problem+json for errors produced outside the handlers.

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower::ServiceBuilder;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::ApiConfig;
use crate::auth::rate_limit;
use crate::error::{PROBLEM_JSON, ProblemCode, problem, problem_response};

pub(crate) const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub(crate) fn apply(app: Router, config: &ApiConfig) -> Router {
    let trace = TraceLayer::new_for_http().make_span_with(|request: &Request<Body>| {
        let request_id = request
            .headers()
            .get(&REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        tracing::info_span!("request", method = %request.method(), uri = %request.uri().path(), request_id)
    });
    let app = app.layer(middleware::from_fn(crate::metrics::track)).layer(
        ServiceBuilder::new()
            .layer(middleware::from_fn(drop_unusable_request_id))
            .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
            .layer(middleware::from_fn(crate::error::with_request_id))
            .layer(middleware::from_fn_with_state(
                config.trusted_proxies.clone().into(),
                crate::client_addr::resolve_layer,
            ))
            .layer(trace)
            .layer(PropagateRequestIdLayer::new(REQUEST_ID))
            .layer(SetResponseHeaderLayer::overriding(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ))
            .layer(SetResponseHeaderLayer::overriding(
                header::X_FRAME_OPTIONS,
                HeaderValue::from_static("DENY"),
            ))
            .layer(SetResponseHeaderLayer::if_not_present(
                header::CACHE_CONTROL,
                HeaderValue::from_static("no-store"),
            ))
            .layer(middleware::from_fn_with_state(config.body_limit, problem_for_bare_errors))
            .layer(TimeoutLayer::with_status_code(
                StatusCode::SERVICE_UNAVAILABLE,
                config.request_timeout,
            ))
            .layer(middleware::from_fn(refuse_nul_in_query))
            .layer(middleware::from_fn(refuse_unacceptable))
            .layer(DefaultBodyLimit::disable())
            .layer(middleware::from_fn_with_state(
                BodyLimits {
                    body: config.body_limit,
                    upload: upload_limit(config.documents.max_bytes, config.body_limit),
                },
                limit_body,
            )),
    );
    if config.cors_origins.is_empty() {
        app
    } else {
        app.layer(
            CorsLayer::new()
                .allow_origin(AllowOrigin::list(config.cors_origins.clone()))
                .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
                .allow_headers([
                    header::AUTHORIZATION,
                    header::CONTENT_TYPE,
                    header::IF_MATCH,
                    HeaderName::from_static("idempotency-key"),
                    REQUEST_ID,
                ])
                .expose_headers([
                    header::ETAG,
                    header::LOCATION,
                    header::RETRY_AFTER,
                    rate_limit::RATELIMIT_LIMIT,
                    rate_limit::RATELIMIT_REMAINING,
                    rate_limit::RATELIMIT_RESET,
                    REQUEST_ID,
                ]),
        )
    }
}

/// The largest request bodies: a document upload's, and every other.
#[derive(Debug, Clone, Copy)]
struct BodyLimits {
    body: usize,
    upload: usize,
}

/// An upload's body holds the file and a few small fields: the largest document and the
/// ordinary limit beside it.
fn upload_limit(max_document: u64, body_limit: usize) -> usize {
    usize::try_from(max_document).unwrap_or(usize::MAX).saturating_add(body_limit)
}

/// `POST /v1/cases/{id}/documents`: the one route whose body may be a document.
fn is_upload(request: &Request) -> bool {
    request.method() == Method::POST
        && request
            .uri()
            .path()
            .strip_prefix("/v1/cases/")
            .and_then(|rest| rest.strip_suffix("/documents"))
            .is_some_and(|id| !id.is_empty() && !id.contains('/'))
}

/// Limits the request body (413 beyond it, as `RequestBodyLimitLayer` does): an upload's to
/// the largest document, every other to the body limit.
async fn limit_body(State(limits): State<BodyLimits>, request: Request, next: Next) -> Response {
    let limit = if is_upload(&request) { limits.upload } else { limits.body };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    }
    let request = request.map(|body| Body::new(http_body_util::Limited::new(body, limit)));
    next.run(request).await
}

/// The longest request id taken from a client; it is logged and kept in the access log.
const MAX_REQUEST_ID: usize = 128;

/// Drops a client's `X-Request-Id` that is too long or holds other than visible ASCII, so
/// that a fresh one is generated instead of storing whatever was sent.
async fn drop_unusable_request_id(mut request: Request, next: Next) -> Response {
    let usable = request.headers().get(&REQUEST_ID).is_none_or(|id| {
        !id.is_empty()
            && id.len() <= MAX_REQUEST_ID
            && id.as_bytes().iter().all(u8::is_ascii_graphic)
    });
    if !usable {
        request.headers_mut().remove(&REQUEST_ID);
    }
    next.run(request).await
}

/// PostgreSQL cannot compare text holding a NUL character, so a query parameter with one
/// (`?q=a%00b`) is refused for every route, naming it, before any handler reads it.
async fn refuse_nul_in_query(request: Request, next: Next) -> Response {
    let errors = crate::query::nul_errors(request.uri());
    if errors.is_empty() {
        next.run(request).await
    } else {
        axum::response::IntoResponse::into_response(crate::ApiError::Validation(errors))
    }
}

/// The paths whose answers can also be CSV (`Accept: text/csv`).
const CSV_PATHS: [&str; 2] = ["/v1/audit-events", "/v1/stats/"];

/// Whether an `Accept` header's media ranges (parameters aside; `q=0` is not honoured as a
/// refusal) allow an answer of the API at `path`: JSON, a problem document, or CSV where
/// the resource exports it.
fn acceptable(accept: &str, path: &str) -> bool {
    let csv = CSV_PATHS.iter().any(|prefix| path.starts_with(prefix));
    media_ranges(accept).any(|essence| match essence.as_str() {
        "" | "*/*" | "application/*" | "application/json" | "application/problem+json" => true,
        "text/*" | "text/csv" => csv,
        _ => false,
    })
}

/// The media ranges of an `Accept` header value, lowercase, without their parameters.
pub(crate) fn media_ranges(accept: &str) -> impl Iterator<Item = String> + '_ {
    accept
        .split(',')
        .map(|range| range.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
}

/// 406 for a request to the API whose `Accept` allows nothing the API answers, before any
/// handler runs.
async fn refuse_unacceptable(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let mut accepts = request.headers().get_all(header::ACCEPT).iter().peekable();
    let refused = path.starts_with("/v1/")
        && accepts.peek().is_some()
        && !accepts.any(|v| v.to_str().is_ok_and(|accept| acceptable(accept, path)));
    if !refused {
        return next.run(request).await;
    }
    let detail = if CSV_PATHS.iter().any(|prefix| path.starts_with(prefix)) {
        "this resource answers application/json or text/csv; send an Accept header that allows one"
    } else {
        "this resource answers application/json; send an Accept header that allows it"
    };
    problem_response(&problem(
        StatusCode::NOT_ACCEPTABLE,
        ProblemCode::NotAcceptable,
        detail.to_owned(),
        Vec::new(),
    ))
}

/// Turns error responses that did not come from a handler (axum's 405, the body limit's 413,
/// the timeout's 503) into problem documents, so every error has one shape. A 413, from the
/// limit layer or a handler, states the limit.
async fn problem_for_bare_errors(
    State(body_limit): State<usize>,
    request: Request,
    next: Next,
) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let own_code = response
        .extensions()
        .get::<crate::refusals::RefusalSummary>()
        .is_some_and(|summary| summary.code == ProblemCode::DocumentTooLarge.as_str());
    if status == StatusCode::PAYLOAD_TOO_LARGE && !own_code {
        let detail = format!(
            "the request body is larger than the limit of {body_limit} bytes; send a smaller one"
        );
        let (parts, _) = response.into_parts();
        let mut rendered =
            problem_response(&problem(status, ProblemCode::PayloadTooLarge, detail, Vec::new()));
        rendered.extensions_mut().extend(parts.extensions);
        return rendered;
    }
    // Handlers answer JSON: problem documents, or RFC 6749 errors at the token endpoint.
    let from_handler = response.headers().get(header::CONTENT_TYPE).is_some_and(|v| {
        let v = v.as_bytes();
        v.starts_with(PROBLEM_JSON.as_bytes()) || v.starts_with(b"application/json")
    });
    if !(status.is_client_error() || status.is_server_error()) || from_handler {
        return response;
    }
    let (code, detail) = match status {
        // axum's own rejections, e.g. a path parameter that does not parse.
        StatusCode::BAD_REQUEST => (ProblemCode::MalformedRequest, "the request is malformed"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            ProblemCode::UnsupportedMediaType,
            "the media type of the request body is not supported; send application/json",
        ),
        StatusCode::NOT_FOUND => (ProblemCode::NotFound, "the resource does not exist"),
        StatusCode::METHOD_NOT_ALLOWED => {
            (ProblemCode::MethodNotAllowed, "the method is not allowed on this resource")
        }
        StatusCode::PAYLOAD_TOO_LARGE => {
            (ProblemCode::PayloadTooLarge, "the request body is too large")
        }
        StatusCode::SERVICE_UNAVAILABLE => (
            ProblemCode::RequestTimeout,
            "the request took too long and was abandoned; retry later",
        ),
        StatusCode::TOO_MANY_REQUESTS => {
            (ProblemCode::TooManyRequests, "too many requests; retry later")
        }
        _ => (ProblemCode::HttpError, status.canonical_reason().unwrap_or("error")),
    };
    let (parts, _) = response.into_parts();
    let mut rendered = problem_response(&problem(status, code, detail.to_owned(), Vec::new()));
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            rendered.headers_mut().insert(name.clone(), value.clone());
        }
    }
    rendered
}

#[cfg(test)]
mod tests {
    use super::acceptable;

    #[test]
    fn json_problem_documents_and_csv_exports_are_acceptable_where_they_are_answered() {
        assert!(acceptable("application/json", "/v1/cases"));
        assert!(acceptable("text/html, application/xhtml+xml, */*;q=0.8", "/v1/cases"));
        assert!(acceptable("application/problem+json", "/v1/cases"));
        assert!(acceptable("text/csv", "/v1/stats/cases"));
        assert!(acceptable("text/csv; charset=utf-8", "/v1/audit-events"));
        assert!(!acceptable("text/csv", "/v1/cases"));
        assert!(!acceptable("application/xml", "/v1/cases"));
        assert!(!acceptable("text/html", "/v1/stats/cases"));
    }
}
