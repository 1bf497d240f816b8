//! The per-client-address rate limit of the endpoints that take credentials (tower_governor).
//!
//! It is kept in each process's memory: it slows down guessing from one address, while the
//! account lockout (counted in the database) holds across every process.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderName, HeaderValue, Request, Response, StatusCode, header};
use tower_governor::GovernorError;
use tower_governor::GovernorLayer;
use tower_governor::governor::GovernorConfigBuilder;
use tower_governor::key_extractor::KeyExtractor;
use utoipa_axum::router::OpenApiRouter;

use crate::AppState;
use crate::client_addr::ClientAddr;
use crate::error::{ProblemCode, problem, problem_response};

/// Keys the limit by client address. Requests without one (a router driven without connect
/// info, as in tests) share a single bucket.
#[derive(Debug, Clone, Copy)]
pub struct ClientKey;

impl KeyExtractor for ClientKey {
    type Key = Option<IpAddr>;

    fn extract<T>(&self, request: &Request<T>) -> Result<Self::Key, GovernorError> {
        let extensions = request.extensions();
        Ok(extensions.get::<ClientAddr>().map(|ClientAddr(ip)| *ip).or_else(|| {
            extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip())
        }))
    }
}

pub(crate) const RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
pub(crate) const RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
pub(crate) const RATELIMIT_RESET: HeaderName = HeaderName::from_static("ratelimit-reset");

/// How often addresses not seen for a while are forgotten.
const FORGET_EVERY: Duration = Duration::from_secs(60);

/// Limits `router` to `per_minute` requests per client address and minute (bursts of up to
/// `per_minute`, refilled evenly); 0 leaves it unlimited.
pub(crate) fn limit(router: OpenApiRouter<AppState>, per_minute: u32) -> OpenApiRouter<AppState> {
    if per_minute == 0 {
        return router;
    }
    let period = Duration::from_secs(60) / per_minute;
    let Some(config) = GovernorConfigBuilder::default()
        .period(period)
        .burst_size(per_minute)
        .key_extractor(ClientKey)
        .finish()
    else {
        return router;
    };
    // Forget idle addresses so the map does not grow without bound; the task ends with the
    // router.
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        let limiter = Arc::downgrade(config.limiter());
        runtime.spawn(async move {
            let mut ticks = tokio::time::interval(FORGET_EVERY);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                let Some(limiter) = limiter.upgrade() else { break };
                limiter.retain_recent();
            }
        });
    }
    router.layer(
        GovernorLayer::new(config).error_handler(move |error| too_many_requests(error, per_minute)),
    )
}

/// 429 as a problem document, with `Retry-After` in whole seconds (at least 1) and the
/// limit's state in `RateLimit-Limit` (`per_minute`), `RateLimit-Remaining` (0) and
/// `RateLimit-Reset` (as `Retry-After`).
fn too_many_requests(error: GovernorError, per_minute: u32) -> Response<Body> {
    let (status, code, detail, retry_after) = match error {
        GovernorError::TooManyRequests { wait_time, .. } => (
            StatusCode::TOO_MANY_REQUESTS,
            ProblemCode::TooManyRequests,
            "too many sign-in attempts from this address; retry later",
            Some(wait_time.max(1)),
        ),
        GovernorError::UnableToExtractKey | GovernorError::Other { .. } => {
            (StatusCode::INTERNAL_SERVER_ERROR, ProblemCode::InternalError, "internal error", None)
        }
    };
    let mut response = problem_response(&problem(status, code, detail.to_owned(), Vec::new()));
    if let Some(seconds) = retry_after {
        let headers = response.headers_mut();
        headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        headers.insert(RATELIMIT_LIMIT, HeaderValue::from(per_minute));
        headers.insert(RATELIMIT_REMAINING, HeaderValue::from(0));
        headers.insert(RATELIMIT_RESET, HeaderValue::from(seconds));
    }
    response
}
