//! Cases and their households: creating, reading, listing and searching, changing under
//! optimistic concurrency, the household's persons, and notes.
//!
//! Every request is decided per object by `retour_domain::policy`; a case outside the
//! caller's scope answers 404 as if it did not exist, and the attempt is logged as denied.
//! Every read and write of case data leaves an access-log event: writes in their own
//! transaction, reads before the response leaves.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDate, Utc};
use retour_domain::Actor;
use retour_domain::policy::{self, Decision, Operation};
use retour_store::StoreError;
use retour_store::audit::trail;
use retour_store::cases::ExistingCase;
use serde::de::DeserializeOwned;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ProblemCode;
use crate::json::Json;
use crate::{ApiError, AppState};

mod case;
pub(crate) mod consents;
mod deadlines;
mod documents;
pub mod dto;
mod entitlement;
mod holding;
mod information;
mod legal_hold;
mod list;
pub(crate) use list::TimeOrDate;
mod notes;
mod persons;
mod reclaims;
mod reintegration;
mod request;
mod transitions;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list::list_cases, case::create_case))
        .routes(routes!(case::get_case, case::patch_case))
        .routes(routes!(persons::add_person))
        .routes(routes!(persons::patch_person, persons::delete_person))
        .routes(routes!(notes::list_notes, notes::add_note))
        .routes(routes!(transitions::transition_case))
        .routes(routes!(transitions::list_case_events))
        .routes(routes!(entitlement::get_case_entitlement))
        .routes(routes!(reintegration::add_disbursement))
        .routes(routes!(reintegration::add_monitoring_visit))
        .routes(routes!(reintegration::update_monitoring_visit))
        .routes(routes!(information::create_information_request))
        .routes(routes!(reclaims::add_reclaim))
        .routes(routes!(reclaims::patch_reclaim))
        .routes(routes!(holding::assign_case))
        .routes(routes!(holding::list_proposals, holding::create_proposal))
        .routes(routes!(holding::confirm_proposal))
        .routes(routes!(holding::return_proposal))
        .routes(routes!(holding::propose_transfer))
        .routes(routes!(holding::accept_transfer))
        .routes(routes!(holding::decline_transfer))
        .routes(routes!(deadlines::extend_deadline))
        .routes(routes!(documents::list_documents, documents::upload_document))
        .routes(routes!(documents::get_document_content))
        .routes(routes!(documents::delete_document))
        .routes(routes!(consents::list_consents, consents::record_consent))
        .routes(routes!(consents::withdraw_consent))
        .routes(routes!(
            legal_hold::get_legal_hold,
            legal_hold::set_legal_hold,
            legal_hold::lift_legal_hold,
        ))
}

/// The date rules (birth, entry, departure) are checked against.
fn today() -> NaiveDate {
    Utc::now().date_naive()
}

/// The `ETag` of a case version: `"3"`.
fn etag(version: i32) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).unwrap_or(HeaderValue::from_static("\"0\""))
}

/// Checks `If-Match` against the case's current version: 428 without it (or with `*`),
/// 412 `stale_version` when no listed ETag is the current one.
fn check_if_match(headers: &HeaderMap, current: i32) -> Result<(), ApiError> {
    let values: Vec<&str> = headers
        .get_all(header::IF_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .collect();
    if values.is_empty() || values.contains(&"*") {
        return Err(ApiError::PreconditionRequired);
    }
    // An entity tag is quoted (`"3"`, or weak `W/"3"`): a bare `3` is a malformed header,
    // not an old version.
    if let Some(bare) =
        values.iter().find(|v| !(v.ends_with('"') && (v.starts_with('"') || v.starts_with("W/\""))))
    {
        return Err(ApiError::validation(
            "If-Match",
            "invalid_format",
            format!("If-Match must be the ETag in double quotes, e.g. \"3\", not {bare}"),
        ));
    }
    // Weak ETags never match (RFC 9110 strong comparison).
    let matches = values.iter().any(|v| {
        v.strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .and_then(|v| v.parse::<i32>().ok())
            .is_some_and(|v| v == current)
    });
    if matches { Ok(()) } else { Err(ApiError::StaleVersion) }
}

/// A case answer with its `ETag` (and `Location` for a creation).
fn case_reply(status: StatusCode, body: dto::CaseResponse, location: Option<String>) -> Response {
    let mut response = (status, Json(&body)).into_response();
    response.headers_mut().insert(header::ETAG, etag(body.version));
    if let Some(location) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// 409 `duplicate_case`: naming the existing case only to a caller who may see it.
fn duplicate(actor: &Actor, existing: &ExistingCase, field: &str) -> ApiError {
    // The refusal's access-log event names the case the number belongs to, so that a probe
    // for a person's case elsewhere is seen by the data-protection officers.
    trail::concerning("case", existing.id);
    trail::refused_field(field);
    let detail =
        if policy::decide(actor, Operation::ReadCase, Some(&existing.facts)) == Decision::Allow {
            format!(
                "{field}: this ZEMIS number already belongs to the open case {}",
                existing.reference
            )
        } else {
            format!("{field}: this ZEMIS number already belongs to another open case")
        };
    ApiError::Conflict { code: ProblemCode::DuplicateCase, detail }
}

/// Named constraints of the case tables as the errors a client can act on.
fn store_error(error: StoreError) -> ApiError {
    let field = |field: &str, code: &str, message: &str| ApiError::validation(field, code, message);
    match error {
        StoreError::Constraint(name) => match name.as_str() {
            "case_persons_one_principal_key" => field(
                "relationship",
                "duplicate_principal",
                "the household already has a principal applicant",
            ),
            "case_persons_zemis_in_case_key" => field(
                "zemis_number",
                "duplicate",
                "another person of the household has this ZEMIS number",
            ),
            "case_persons_n_number_in_case_key" => {
                field("n_number", "duplicate", "another person of the household has this N number")
            }
            _ => StoreError::Constraint(name).into(),
        },
        other => other.into(),
    }
}

/// The body of a PATCH: a JSON object sent as `application/merge-patch+json` or
/// `application/json`.
fn merge_patch_body(headers: &HeaderMap, body: &[u8]) -> Result<serde_json::Value, ApiError> {
    let media_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    if !matches!(media_type.as_deref(), Some("application/merge-patch+json" | "application/json")) {
        return Err(ApiError::UnsupportedMediaType);
    }
    let patch: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    if !patch.is_object() {
        return Err(ApiError::validation(
            "body",
            "invalid_type",
            "a merge patch must be a JSON object",
        ));
    }
    Ok(patch)
}

/// Applies a JSON merge patch (RFC 7396) to `document` and reads the result back, naming the
/// field of any value of the wrong type.
fn apply_merge_patch<T: DeserializeOwned>(
    mut document: serde_json::Value,
    patch: &serde_json::Value,
) -> Result<T, ApiError> {
    json_patch::merge(&mut document, patch);
    crate::json::from_value(document)
}

/// Refuses top-level keys of a merge patch that are not among `editable`, naming each.
fn only_editable(patch: &serde_json::Value, editable: &[&str]) -> Result<(), ApiError> {
    let unknown: Vec<_> = patch
        .as_object()
        .into_iter()
        .flat_map(|o| o.keys())
        .filter(|k| !editable.contains(&k.as_str()))
        .map(|k| {
            retour_domain::FieldError::new(
                k.as_str(),
                "not_editable",
                format!("{k} cannot be changed here; editable: {}", editable.join(", ")),
            )
        })
        .collect();
    if unknown.is_empty() { Ok(()) } else { Err(ApiError::Validation(unknown)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(header::IF_MATCH, HeaderValue::from_str(v).expect("header"));
        }
        map
    }

    #[test]
    fn if_match_needs_a_strong_etag_of_the_current_version() {
        assert!(matches!(check_if_match(&headers(&[]), 3), Err(ApiError::PreconditionRequired)));
        assert!(matches!(check_if_match(&headers(&["*"]), 3), Err(ApiError::PreconditionRequired)));
        assert!(check_if_match(&headers(&["\"3\""]), 3).is_ok());
        assert!(check_if_match(&headers(&["\"1\", \"3\""]), 3).is_ok());
        for stale in ["\"2\"", "W/\"3\"", "\"x\""] {
            assert!(matches!(check_if_match(&headers(&[stale]), 3), Err(ApiError::StaleVersion)));
        }
        // An unquoted value is no entity tag at all.
        for malformed in ["3", "\"3", "3\""] {
            assert!(
                matches!(check_if_match(&headers(&[malformed]), 3), Err(ApiError::Validation(_))),
                "{malformed}"
            );
        }
    }

    #[test]
    fn only_editable_names_every_other_key() {
        let patch = serde_json::json!({"status": "approved", "medical": null, "id": 1});
        let Err(ApiError::Validation(errors)) = only_editable(&patch, &["medical"]) else {
            panic!("expected a validation error");
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["id", "status"]);
    }
}
