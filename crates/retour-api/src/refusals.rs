//! Each request to a documented route leaves one INFO log line (method, route template,
//! status, latency, request id, actor id — nothing personal), and every refusal on case data
//! or administration leaves one access-log event.
//!
//! Handlers record the refusals they decide (out of scope, forbidden) with their own action
//! names. Everything else a request can be refused with — a missing token, a stale
//! `If-Match`, a transition not possible in the case's status, a validation error, a
//! duplicate — is recorded here, after the handler answered and its transaction was rolled
//! back: the operation's id as the action (e.g. `transition_case`), the caller, the record
//! named in the path (or by the handler), and in the details the status, the problem's
//! `code`, the names of the fields it refused, and the action attempted. Never a value of
//! the request: the access log outlives the data and must not hold it.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use retour_store::audit::{AuditActor, AuditEvent, Outcome, trail};
use uuid::Uuid;

use crate::AppState;
use crate::auth::RequestMeta;

/// What a problem answer said, for the access log: its code and the fields it named.
#[derive(Debug, Clone)]
pub(crate) struct RefusalSummary {
    pub code: &'static str,
    pub fields: Vec<String>,
}

/// The operation id of every documented route, by method and path template.
#[derive(Debug, Clone, Default)]
pub(crate) struct Operations(Arc<HashMap<(Method, String), String>>);

impl Operations {
    pub(crate) fn of(document: &utoipa::openapi::OpenApi) -> Self {
        let mut operations = HashMap::new();
        let value = serde_json::to_value(document).unwrap_or_default();
        for (path, item) in value["paths"].as_object().into_iter().flatten() {
            for (method, operation) in item.as_object().into_iter().flatten() {
                let (Ok(method), Some(id)) =
                    (method.to_uppercase().parse::<Method>(), operation["operationId"].as_str())
                else {
                    continue;
                };
                operations.insert((method, path.clone()), id.to_owned());
            }
        }
        Operations(Arc::new(operations))
    }

    fn get(&self, method: &Method, template: &str) -> Option<&str> {
        self.0.get(&(method.clone(), template.to_owned())).map(String::as_str)
    }
}

/// The routes of case data and of administration, whose refusals are logged. Signing in
/// logs its own attempts; `/v1/me` and the public destination rules hold neither.
const GOVERNED: [&str; 9] = [
    "/v1/cases",
    "/v1/me/queue",
    "/v1/information-requests",
    "/v1/stats/",
    "/v1/audit",
    "/v1/users",
    "/v1/institutions",
    "/v1/service-accounts",
    "/v1/tariffs",
];

/// Whether a refusal with `status` of a request with `method` on `template` is logged: on
/// the routes of case data and administration, 401, 403 and 404 on any request, and on
/// writes also 409, 412, 413, 422 and 428.
pub(crate) fn is_logged(method: &Method, template: &str, status: StatusCode) -> bool {
    if !GOVERNED.iter().any(|prefix| template.starts_with(prefix)) {
        return false;
    }
    match status.as_u16() {
        401 | 403 | 404 => true,
        409 | 412 | 413 | 422 | 428 => *method != Method::GET && *method != Method::HEAD,
        _ => false,
    }
}

/// The record a path names: the last `{…}` parameter that holds a UUID, typed by the
/// collection it follows (`/v1/cases/{id}` → a case).
fn resource_of(template: &str, path: &str) -> Option<(&'static str, Uuid)> {
    let (mut kind, mut found) = (None, None);
    for (pattern, segment) in template.split('/').zip(path.split('/')) {
        if pattern.starts_with('{') {
            if let (Some(kind), Ok(id)) = (kind, segment.parse::<Uuid>()) {
                found = Some((kind, id));
            }
        } else {
            kind = match pattern {
                "cases" => Some("case"),
                "persons" => Some("person"),
                "reclaims" => Some("reclaim"),
                "information-requests" => Some("information_request"),
                "institutions" => Some("institution"),
                "users" => Some("user"),
                "service-accounts" => Some("service_account"),
                _ => None,
            };
        }
    }
    found
}

/// Runs the request with an access-log trail, logs it, and records its refusal when no
/// handler did.
pub(crate) async fn record_refusals(
    State((state, operations)): State<(AppState, Operations)>,
    matched: Option<MatchedPath>,
    request: Request,
    next: Next,
) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let (mut parts, body) = request.into_parts();
    let Ok(meta) = RequestMeta::from_request_parts(&mut parts, &()).await;
    let request = Request::from_parts(parts, body);
    let started = std::time::Instant::now();
    let (response, trail) = trail::watch(next.run(request)).await;
    let Some(template) = matched.as_ref().map(MatchedPath::as_str) else { return response };
    let status = response.status();
    tracing::info!(
        method = %method,
        route = template,
        status = status.as_u16(),
        latency_ms = started.elapsed().as_secs_f64() * 1000.0,
        request_id = meta.request_id.as_deref().unwrap_or_default(),
        actor_id = trail.actor.as_ref().and_then(|a| a.id).map(|id| id.to_string()).unwrap_or_default(),
        "request"
    );
    if trail.refusal_recorded || !is_logged(&method, template, status) {
        return response;
    }
    let summary = response.extensions().get::<RefusalSummary>();
    let operation = operations.get(&method, template).unwrap_or(template);
    let mut details = serde_json::json!({
        "status": status.as_u16(),
        "code": summary.map_or("refused", |s| s.code),
    });
    let fields: Vec<&str> = summary
        .into_iter()
        .flat_map(|s| &s.fields)
        .chain(&trail.fields)
        .map(String::as_str)
        .collect();
    if !fields.is_empty() {
        details["fields"] = fields.into();
    }
    if let Some(attempted) = trail.attempted {
        details["attempted"] = attempted.into();
    }
    let actor = trail.actor.unwrap_or_else(AuditActor::anonymous);
    let mut event = AuditEvent::new(actor, operation, Outcome::Denied)
        .details(details)
        .request(meta.request_id, meta.client_addr);
    if let Some((kind, id)) = trail.resource.or_else(|| resource_of(template, &path)) {
        event = event.resource(kind, id);
    }
    match state.store().log(&event).await {
        Ok(()) => response,
        // Nothing is answered that the access log could not hold.
        Err(error) => {
            tracing::error!(%error, "a refusal could not be recorded");
            axum::response::IntoResponse::into_response(crate::ApiError::from(error))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_names_the_record_of_its_last_identifier() {
        let case = Uuid::now_v7();
        let person = Uuid::now_v7();
        assert_eq!(
            resource_of("/v1/cases/{id}", &format!("/v1/cases/{case}")),
            Some(("case", case))
        );
        assert_eq!(
            resource_of(
                "/v1/cases/{id}/persons/{person_id}",
                &format!("/v1/cases/{case}/persons/{person}")
            ),
            Some(("person", person))
        );
        assert_eq!(
            resource_of("/v1/cases/{id}/transitions", &format!("/v1/cases/{case}/transitions")),
            Some(("case", case))
        );
        assert_eq!(resource_of("/v1/cases/{id}", "/v1/cases/not-a-uuid"), None);
        assert_eq!(resource_of("/v1/cases", "/v1/cases"), None);
    }

    #[test]
    fn refusals_of_reads_and_writes_are_logged_outside_sign_in() {
        let logged =
            |m: Method, t: &str, s: u16| is_logged(&m, t, StatusCode::from_u16(s).expect("status"));
        assert!(logged(Method::GET, "/v1/cases/{id}", 404));
        assert!(logged(Method::GET, "/v1/users", 403));
        assert!(logged(Method::GET, "/v1/cases", 401));
        assert!(logged(Method::POST, "/v1/cases/{id}/transitions", 409));
        assert!(logged(Method::PATCH, "/v1/cases/{id}", 412));
        assert!(logged(Method::POST, "/v1/cases", 422));
        assert!(!logged(Method::GET, "/v1/cases", 422), "a bad filter refuses no data");
        assert!(!logged(Method::POST, "/v1/auth/login", 401), "sign-in logs its own");
        assert!(!logged(Method::GET, "/v1/me", 401), "no case data, no administration");
        assert!(!logged(Method::GET, "/health/ready", 503));
        assert!(!logged(Method::POST, "/v1/cases", 201));
    }
}
