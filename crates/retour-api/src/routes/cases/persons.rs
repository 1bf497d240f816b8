//! The persons of a case's household. Each change needs `If-Match` with the case's ETag and
//! bumps the case's version.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use retour_domain::case::{PERSONS_MAX, check_person_in_household};
use retour_domain::event::EventType;
use retour_domain::person::{PersonInput, parse_person};
use retour_domain::policy::Operation;
use retour_domain::{Person, Relationship, Validation};
use retour_store::audit;
use retour_store::cases::{self, StoredCase};
use sqlx::PgConnection;
use uuid::Uuid;

use super::dto::CaseResponse;
use super::request::{CaseRequest, CaseTx};
use super::{
    apply_merge_patch, case_reply, check_if_match, duplicate, etag, merge_patch_body,
    only_editable, store_error, today,
};
use crate::auth::Caller;
use crate::error::{Problem, ProblemCode};
use crate::json::Json;
use crate::path::Path;
use crate::{ApiError, AppState};

/// The person fields a merge patch may change: all of them.
const EDITABLE: [&str; 12] = [
    "relationship",
    "surname",
    "given_names",
    "aliases",
    "date_of_birth",
    "sex",
    "nationality",
    "zemis_number",
    "n_number",
    "residence_status",
    "entry_date",
    "travelling",
];

/// Locks the case for a household change (the caller may edit it, or the refusal is
/// answered and logged) and checks that `If-Match` is current.
async fn begin_change(
    request: &CaseRequest<'_>,
    headers: &HeaderMap,
) -> Result<(CaseTx, StoredCase), ApiError> {
    let (tx, case): (_, StoredCase) = request.lock(Operation::UpdateCase).await?;
    check_if_match(headers, case.head.version)?;
    Ok((tx, case))
}

/// 409 `duplicate_case` when `person`'s ZEMIS number belongs to another open case.
async fn check_duplicate(
    conn: &mut PgConnection,
    caller: &Caller,
    case_id: Uuid,
    person: &Person,
) -> Result<(), ApiError> {
    let Some(zemis) = &person.zemis_number else {
        return Ok(());
    };
    match cases::open_case_with_zemis(conn, &[zemis], Some(case_id)).await? {
        Some(existing) => Err(duplicate(&caller.actor, &existing, "zemis_number")),
        None => Ok(()),
    }
}

/// Add a person to a household
///
/// Add a person to the household of an editable case (at most 20 persons; the principal
/// applicant is set when the case is opened). Needs `If-Match`.
#[utoipa::path(post, path = "/v1/cases/{id}/persons", tag = "cases", security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "The case id"),
        ("If-Match" = String, Header, description = "The case's current ETag"),
    ),
    request_body = PersonInput,
    responses(
        (status = 201, description = "The case with the new person; `Location` names the person, `ETag` the case's new version", body = CaseResponse,
            headers(("ETag" = String, description = "The case's version, e.g. `\"3\"`; send it as `If-Match` to change the case"), ("Location" = String, description = "The new person's URL (to change or remove them)"))),
        (status = 403, description = "The caller's role may not change cases", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case within the caller's scope", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`case_not_editable`, `transfer_pending`, or `duplicate_case`: the ZEMIS number belongs to another open case", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "`stale_version`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` naming every invalid field", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "`precondition_required`: If-Match is missing", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn add_person(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    Json(input): Json<PersonInput>,
) -> Result<Response, ApiError> {
    let request = CaseRequest::new(&state, &caller, id, "case.person_add");
    let (mut tx, case) = begin_change(&request, &headers).await?;
    let mut v = Validation::new();
    if case.persons.len() >= PERSONS_MAX {
        v.push("persons", "too_many", format!("a household has at most {PERSONS_MAX} persons"));
    }
    let person = parse_person(&mut v, "", &input, today());
    if let Some(person) = &person {
        let others: Vec<&Person> = case.persons.iter().map(|p| &p.person).collect();
        check_person_in_household(&mut v, "", person, &others, None);
    }
    let person = match person {
        Some(person) if v.is_empty() => person,
        _ => return Err(ApiError::Validation(v.into_errors())),
    };
    check_duplicate(&mut tx, &caller, id, &person).await?;
    let person_id = cases::insert_person(&mut tx, id, &person).await.map_err(store_error)?;
    cases::bump_version(&mut tx, id, case.head.version).await?;
    request.announce(&mut tx, EventType::CaseUpdated, serde_json::json!({})).await?;
    let event = request.allowed().details(serde_json::json!({ "person_id": person_id }));
    let body = request.finish(tx, &event).await?;
    Ok(case_reply(StatusCode::CREATED, body, Some(format!("/v1/cases/{id}/persons/{person_id}"))))
}

/// Change a person
///
/// Change a person with a JSON merge patch (`application/merge-patch+json` or
/// `application/json`); `null` removes an optional value. The principal applicant stays the
/// principal. Needs `If-Match` with the case's ETag; the access log records the names of
/// the changed fields.
#[utoipa::path(patch, path = "/v1/cases/{id}/persons/{person_id}", tag = "cases", security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "The case id"),
        ("person_id" = Uuid, Path, description = "The person id"),
        ("If-Match" = String, Header, description = "The case's current ETag"),
    ),
    request_body(content = PersonInput, content_type = "application/merge-patch+json",
        description = "The fields to change"),
    responses(
        (status = 200, description = "The changed case; `ETag` holds its new version", body = CaseResponse,
            headers(("ETag" = String, description = "The case's version, e.g. `\"3\"`; send it as `If-Match` to change the case"))),
        (status = 403, description = "The caller's role may not change cases", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case within the caller's scope, or no such person in it", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`case_not_editable`, `transfer_pending`, or `duplicate_case`", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "`stale_version`", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not a JSON body", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` naming every invalid field", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "`precondition_required`: If-Match is missing", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn patch_person(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, person_id)): Path<(Uuid, Uuid)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let patch = merge_patch_body(&headers, &body)?;
    let request = CaseRequest::new(&state, &caller, id, "case.person_update");
    let (mut tx, case) = begin_change(&request, &headers).await?;
    let current = case.person(person_id).ok_or(ApiError::NotFound)?;
    only_editable(&patch, &EDITABLE)?;
    let document =
        serde_json::to_value(PersonInput::from(&current.person)).map_err(ApiError::internal)?;
    let input: PersonInput = apply_merge_patch(document, &patch)?;
    let mut v = Validation::new();
    let person = parse_person(&mut v, "", &input, today());
    if let Some(person) = &person {
        let others: Vec<&Person> =
            case.persons.iter().filter(|p| p.id != person_id).map(|p| &p.person).collect();
        let was_principal = current.person.relationship == Relationship::Principal;
        check_person_in_household(&mut v, "", person, &others, Some(was_principal));
    }
    let person = match person {
        Some(person) if v.is_empty() => person,
        _ => return Err(ApiError::Validation(v.into_errors())),
    };
    let changed = current.person.changed_fields(&person);
    if !changed.is_empty() {
        if person.zemis_number != current.person.zemis_number {
            check_duplicate(&mut tx, &caller, id, &person).await?;
        }
        cases::update_person(&mut tx, id, person_id, &person).await.map_err(store_error)?;
        cases::bump_version(&mut tx, id, case.head.version).await?;
        request.announce(&mut tx, EventType::CaseUpdated, serde_json::json!({})).await?;
    }
    let event =
        request.allowed().details(serde_json::json!({ "person_id": person_id, "fields": changed }));
    let body = request.finish(tx, &event).await?;
    Ok(case_reply(StatusCode::OK, body, None))
}

/// Remove a person from a household
///
/// Remove a person from the household. The principal applicant cannot be removed (409
/// `principal_required`). Needs `If-Match`; answers 204 with the case's new `ETag`.
#[utoipa::path(delete, path = "/v1/cases/{id}/persons/{person_id}", tag = "cases", security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "The case id"),
        ("person_id" = Uuid, Path, description = "The person id"),
        ("If-Match" = String, Header, description = "The case's current ETag"),
    ),
    responses(
        (status = 204, description = "Removed; `ETag` holds the case's new version",
            headers(("ETag" = String, description = "The case's version, e.g. `\"3\"`; send it as `If-Match` to change the case"))),
        (status = 403, description = "The caller's role may not change cases", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case within the caller's scope, or no such person in it", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`case_not_editable`, `transfer_pending`, or `principal_required`", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "`stale_version`", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "`precondition_required`: If-Match is missing", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn delete_person(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, person_id)): Path<(Uuid, Uuid)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let request = CaseRequest::new(&state, &caller, id, "case.person_delete");
    let (mut tx, case) = begin_change(&request, &headers).await?;
    let current = case.person(person_id).ok_or(ApiError::NotFound)?;
    if current.person.relationship == Relationship::Principal {
        return Err(ApiError::Conflict {
            code: ProblemCode::PrincipalRequired,
            detail: "the principal applicant cannot be removed from the case".to_owned(),
        });
    }
    cases::delete_person(&mut tx, id, person_id).await?;
    let version = cases::bump_version(&mut tx, id, case.head.version).await?;
    request.announce(&mut tx, EventType::CaseUpdated, serde_json::json!({})).await?;
    let event = request.allowed().details(serde_json::json!({ "person_id": person_id }));
    audit::record(&mut *tx, &event).await?;
    tx.commit().await?;
    Ok((StatusCode::NO_CONTENT, [(header::ETAG, etag(version))]).into_response())
}
