//! Opening, reading and changing one case.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use retour_domain::case::{
    CaseFieldsInput, NewCaseInput, allowed_actions, parse_case_fields, parse_new_case,
};
use retour_domain::event::EventType;
use retour_domain::policy::{self, CaseScope, Decision, Operation};
use retour_domain::{Validation, ZemisNumber};
use retour_store::audit::{self, Outcome};
use retour_store::cases::{self, CaseRead, IdempotencyClaim, StoredCase};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::dto::CaseResponse;
use super::request::CaseRequest;
use super::{
    apply_merge_patch, case_reply, check_if_match, duplicate, merge_patch_body, only_editable,
    store_error, today,
};
use crate::auth::Caller;
use crate::error::{Problem, ProblemCode};
use crate::json::Json;
use crate::path::Path;
use crate::{ApiError, AppState};

/// The case fields a merge patch may change.
const EDITABLE: [&str; 9] = [
    "programme",
    "procedure_phase",
    "destination_country",
    "planned_departure_date",
    "vulnerabilities",
    "medical",
    "eligibility",
    "voluntariness_declaration",
    "requested_assistance",
];

/// The `Idempotency-Key` header: 1 to 255 visible ASCII characters.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value.to_str().ok().map(str::trim).filter(|k| {
        !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
    });
    key.map(|k| Some(k.to_owned())).ok_or_else(|| {
        ApiError::validation(
            "Idempotency-Key",
            "invalid_format",
            "Idempotency-Key must be 1 to 255 visible ASCII characters",
        )
    })
}

/// Open a case
///
/// Open a case for the caller's counselling service (counsellors only). The canton, the
/// counselling service and the responsible counsellor come from the caller. With an
/// `Idempotency-Key`, repeating the same request within 24 hours answers the first response
/// again (the case as it is now) without opening another case; the same key with another
/// body answers 422 `idempotency_key_reused`. A ZEMIS number that belongs to another open
/// case answers 409 `duplicate_case`, naming that case only if the caller may see it.
#[utoipa::path(post, path = "/v1/cases", tag = "cases", security(("bearer" = [])),
    request_body = NewCaseInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried creation safe: 1 to 255 characters, kept 24 hours")),
    responses(
        (status = 201, description = "Opened; `ETag` holds the version, `Location` the URL", body = CaseResponse,
            headers(("ETag" = String, description = "The case's version, e.g. `\"3\"`; send it as `If-Match` to change the case"), ("Location" = String, description = "The new case's URL"))),
        (status = 403, description = "Only counsellors open cases", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`duplicate_case`: a person's ZEMIS number belongs to another open case", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` naming every invalid field, or `idempotency_key_reused`", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn create_case(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Json(input): Json<NewCaseInput>,
) -> Result<Response, ApiError> {
    let actor = &caller.actor;
    if policy::decide(actor, Operation::CreateCase, None) != Decision::Allow {
        let event = caller.event("case.create", Outcome::Denied);
        state.store().log(&event).await?;
        return Err(ApiError::Forbidden {
            code: ProblemCode::Forbidden,
            detail: "only counsellors open cases".to_owned(),
        });
    }
    let key = idempotency_key(&headers)?;
    // The parsed body re-serialised is canonical: key order and spacing do not matter.
    let request_hash = Sha256::digest(serde_json::to_vec(&input).map_err(ApiError::internal)?);
    let new_case = parse_new_case(input, today()).map_err(ApiError::Validation)?;

    let mut tx = state.store().begin().await?;
    if let Some(key) = &key {
        let claim = cases::claim_idempotency_key(&mut tx, actor.id, key, &request_hash).await?;
        if let IdempotencyClaim::Completed { request_hash: first, status, resource_id } = claim {
            tx.rollback().await?;
            if first[..] != request_hash[..] {
                return Err(ApiError::Unprocessable {
                    code: ProblemCode::IdempotencyKeyReused,
                    detail: "this Idempotency-Key was used for a different request in the last \
                             24 hours; use a new key for a new request"
                        .to_owned(),
                });
            }
            let id = resource_id.ok_or(ApiError::NotFound)?;
            let status = status
                .and_then(|s| StatusCode::from_u16(u16::try_from(s).unwrap_or(500)).ok())
                .unwrap_or(StatusCode::CREATED);
            return replay(&state, &caller, id, status).await;
        }
    }
    let numbers: Vec<&ZemisNumber> =
        new_case.persons.iter().filter_map(|p| p.zemis_number.as_ref()).collect();
    if let Some(existing) = cases::open_case_with_zemis(&mut tx, &numbers, None).await? {
        tx.rollback().await?;
        let index = new_case
            .persons
            .iter()
            .position(|p| p.zemis_number.as_ref() == Some(&existing.zemis_number))
            .unwrap_or(0);
        return Err(duplicate(actor, &existing, &format!("persons[{index}].zemis_number")));
    }
    let (id, _reference) = cases::insert_case(&mut tx, actor.institution_id, actor.id, &new_case)
        .await
        .map_err(store_error)?;
    let mut fields = new_case.fields.filled_fields();
    fields.push("persons");
    let event = caller
        .event("case.create", Outcome::Allowed)
        .resource("case", id)
        .details(serde_json::json!({ "fields": fields }));
    audit::record(&mut *tx, &event).await?;
    if let Some(key) = &key {
        cases::complete_idempotency_key(&mut tx, actor.id, key, StatusCode::CREATED.as_u16(), id)
            .await?;
    }
    let view = policy::case_view(actor);
    let CaseRead::Visible(case) =
        cases::read_case(&mut tx, id, policy::case_scope(actor), &view).await?
    else {
        return Err(ApiError::internal(retour_store::StoreError::NotFound));
    };
    tx.commit().await?;
    tracing::info!(case.id = %id, "case opened");
    let actions =
        allowed_actions(actor, case.head.status, case.approved_assistance(), case.head.holding());
    Ok(case_reply(
        StatusCode::CREATED,
        CaseResponse::new(*case, &view, actions),
        Some(format!("/v1/cases/{id}")),
    ))
}

/// Answers a repeated creation with the case it opened, as the caller may see it now.
async fn replay(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let actor = &caller.actor;
    let request = CaseRequest::new(state, caller, id, "case.read");
    let view = policy::case_view(actor);
    let mut conn = state.store().pool().acquire().await?;
    let read = cases::read_case(&mut conn, id, policy::case_scope(actor), &view).await?;
    let CaseRead::Visible(case) = read else {
        drop(conn);
        return Err(request.deny(ApiError::NotFound).await);
    };
    let event = request.allowed().details(serde_json::json!({ "idempotent_replay": true }));
    audit::record(&mut *conn, &event).await?;
    let actions =
        allowed_actions(actor, case.head.status, case.approved_assistance(), case.head.holding());
    Ok(case_reply(
        status,
        CaseResponse::new(*case, &view, actions),
        Some(format!("/v1/cases/{id}")),
    ))
}

/// Get a case
///
/// A case with its household, as the caller's role may see it (see the schema for the parts
/// some roles do not receive). `ETag` holds its version. A case outside the caller's scope
/// answers 404.
#[utoipa::path(get, path = "/v1/cases/{id}", tag = "cases", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The case id")),
    responses(
        (status = 200, description = "The case; `ETag` holds its version", body = CaseResponse,
            headers(("ETag" = String, description = "The case's version, e.g. `\"3\"`; send it as `If-Match` to change the case"))),
        (status = 404, description = "No such case within the caller's scope", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn get_case(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<Response, ApiError> {
    let actor = &caller.actor;
    let view = policy::case_view(actor);
    // A user who broke the glass for this case reads it through the use, logged once with it.
    if let Some(response) = read_broken_glass(&state, &caller, id, &view).await? {
        return Ok(response);
    }
    // One statement reads the case, its persons and the parts of the view; the read is
    // recorded (allowed within the scope, denied otherwise) before anything is answered.
    let event = caller.event("case.read", Outcome::Allowed).resource("case", id);
    let read = state.store().read_case_logged(id, policy::case_scope(actor), &view, &event).await?;
    let case = match read {
        CaseRead::Visible(case) => case,
        CaseRead::Missing | CaseRead::OutOfScope => return Err(ApiError::NotFound),
    };
    // The SQL scope is the policy's (its tests hold them equal); a disagreement is a defect,
    // never an answer with the case.
    if policy::decide(actor, Operation::ReadCase, Some(&case.head.facts())) != Decision::Allow {
        return Err(ApiError::internal(std::io::Error::other(format!(
            "case {id}: the SQL scope and the access policy disagree"
        ))));
    }
    let actions =
        allowed_actions(actor, case.head.status, case.approved_assistance(), case.head.holding());
    Ok(case_reply(StatusCode::OK, CaseResponse::new(*case, &view, actions), None))
}

/// The case for a user who opened it with break-glass and has not run out of time: the
/// view of their role, no action allowed, the read logged with the use. `None` for everyone
/// else (a user of a role that may not break the glass asks nothing more).
async fn read_broken_glass(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    view: &policy::CaseView,
) -> Result<Option<Response>, ApiError> {
    let may_break =
        caller.actor.role().is_some_and(|r| state.config().break_glass.roles.contains(&r));
    if !may_break {
        return Ok(None);
    }
    let Some(opened) = state.store().open_break_glass_for(caller.actor.id, id).await? else {
        return Ok(None);
    };
    let event = caller
        .event("case.read", Outcome::Allowed)
        .resource("case", id)
        .details(serde_json::json!({ "break_glass_id": opened.id }));
    let read = state.store().read_case_logged(id, CaseScope::Case(id), view, &event).await?;
    match read {
        CaseRead::Visible(case) => {
            Ok(Some(case_reply(StatusCode::OK, CaseResponse::new(*case, view, Vec::new()), None)))
        }
        CaseRead::Missing | CaseRead::OutOfScope => Err(ApiError::NotFound),
    }
}

/// Change a case
///
/// Change a case's fields with a JSON merge patch (RFC 7396; `application/merge-patch+json`
/// or `application/json`): a field sent replaces the stored one, `null` removes it, objects
/// (`medical`, `eligibility`) merge field by field, arrays are replaced whole. Editable:
/// programme, procedure_phase (federal_centre only), destination_country, planned_departure_date, vulnerabilities, medical,
/// eligibility, voluntariness_declaration, requested_assistance — by the case's counselling
/// service while the case is in counselling or SEM asks for information. `If-Match` with the
/// case's ETag is required. The access log records the names of the changed fields.
#[utoipa::path(patch, path = "/v1/cases/{id}", tag = "cases", security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "The case id"),
        ("If-Match" = String, Header, description = "The case's current ETag, e.g. \"3\""),
    ),
    request_body(content = CaseFieldsInput, content_type = "application/merge-patch+json",
        description = "The fields to change; `null` removes a value"),
    responses(
        (status = 200, description = "The changed case; `ETag` holds the new version", body = CaseResponse,
            headers(("ETag" = String, description = "The case's version, e.g. `\"3\"`; send it as `If-Match` to change the case"))),
        (status = 403, description = "The caller's role may not change cases", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case within the caller's scope", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`case_not_editable`: the case left counselling; `transfer_pending`: the counselling service is handing the case to another", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "`stale_version`: the case changed since it was read", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not a JSON body", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` naming every invalid field", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "`precondition_required`: If-Match is missing", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn patch_case(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let patch = merge_patch_body(&headers, &body)?;
    let request = CaseRequest::new(&state, &caller, id, "case.update");
    let (mut tx, current): (_, StoredCase) = request.lock(Operation::UpdateCase).await?;
    check_if_match(&headers, current.head.version)?;
    only_editable(&patch, &EDITABLE)?;
    let fields =
        current.fields().ok_or_else(|| ApiError::internal(retour_store::StoreError::NotFound))?;
    let document =
        serde_json::to_value(CaseFieldsInput::from(&fields)).map_err(ApiError::internal)?;
    let input: CaseFieldsInput = apply_merge_patch(document, &patch)?;
    let mut v = Validation::new();
    let parsed = parse_case_fields(&mut v, &input, today(), Some(&fields));
    let new_fields = match parsed {
        Some(new_fields) if v.is_empty() => new_fields,
        _ => return Err(ApiError::Validation(v.into_errors())),
    };
    let changed = fields.changed_fields(&new_fields);
    if !changed.is_empty() {
        cases::update_case_fields(&mut tx, id, current.head.version, &new_fields, &changed)
            .await
            .map_err(store_error)?;
        // Which fields changed is not said: a field's name can be of a group (the medical
        // summary, vulnerabilities) the event's readers do not hold.
        request.announce(&mut tx, EventType::CaseUpdated, serde_json::json!({})).await?;
    }
    let event = request.allowed().details(serde_json::json!({ "fields": changed }));
    let case = request.finish(tx, &event).await?;
    Ok(case_reply(StatusCode::OK, case, None))
}
