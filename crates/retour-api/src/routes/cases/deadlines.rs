//! SEM's extension of a case's deadline: the approval's travel (an expired approval is
//! extended or the case cancelled with `approval_expired`) or the answer to its own
//! information request.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use retour_domain::deadline::{ExtensionInput, parse_extension};
use retour_domain::event::EventType;
use retour_domain::policy::Operation;
use retour_store::cases::CaseHead;
use retour_store::events::NewEvent;
use retour_store::{cases, deadlines};
use uuid::Uuid;

use super::dto::CaseResponse;
use super::request::CaseRequest;
use super::{case_reply, check_if_match, today};
use crate::auth::Caller;
use crate::error::{Problem, ProblemCode};
use crate::json::Json;
use crate::path::Path;
use crate::{ApiError, AppState};

/// Extend a deadline
///
/// Move the due date of an open `travel` or `information_answer` deadline of the case
/// (the case's SEM reviewer, while the case is approved or booked, or SEM awaits
/// information): `due_on` after
/// the current due date, not before today and at most a year ahead, with a `reason`. An
/// overdue deadline is no longer overdue. The reason is kept with the deadline and in the
/// case's history (`extend_deadline`, its comment for the counselling service and SEM).
/// `If-Match` with the case's ETag is required. Answers the case.
#[utoipa::path(post, path = "/v1/cases/{id}/deadlines/{deadline_id}/extension", tag = "cases",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "The case id"),
        ("deadline_id" = Uuid, Path, description = "The deadline's id (`deadlines` of the case)"),
        ("If-Match" = String, Header, description = "The case's current ETag, e.g. \"3\""),
    ),
    request_body = ExtensionInput,
    responses(
        (status = 200, description = "The case with the extended deadline; `ETag` holds the new version", body = CaseResponse,
            headers(("ETag" = String, description = "The case's version, e.g. `\"3\"`"))),
        (status = 403, description = "Only SEM extends deadlines (`forbidden`), and only the case's reviewer (`not_assigned`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case within the caller's scope, or no such deadline of it", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`deadline_not_extendable`: the deadline is closed or of another kind, or the case's status has no such deadline", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "`stale_version`: the case changed since it was read", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` naming every invalid field", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "`precondition_required`: If-Match is missing", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn extend_deadline(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, deadline_id)): Path<(Uuid, Uuid)>,
    headers: HeaderMap,
    Json(input): Json<ExtensionInput>,
) -> Result<Response, ApiError> {
    const ACTION: &str = "case.deadline_extend";
    let request = CaseRequest::new(&state, &caller, id, ACTION);
    let (mut tx, head): (_, CaseHead) = request.lock(Operation::ExtendDeadline).await?;
    // Extending the approval's travel or the time to answer SEM's question is a decision of
    // SEM on the case, and SEM's decisions are its reviewer's (as the workflow's
    // `not_assigned`): another officer asks for the case to be reassigned first.
    if !head.holding().decided_by(request.actor().id) {
        let detail = "only the case's SEM reviewer extends its deadlines; reassign the case first"
            .to_owned();
        let error = ApiError::Forbidden { code: ProblemCode::NotAssigned, detail };
        return Err(request.deny_in(tx, error).await);
    }
    check_if_match(&headers, head.version)?;
    let Some(deadline) = deadlines::deadline_of_case(&mut tx, id, deadline_id).await? else {
        return Err(ApiError::NotFound);
    };
    if !deadline.open || !deadline.kind.extendable() {
        let detail = if deadline.open {
            format!("a {} deadline follows a date set by others and is not extended", deadline.kind)
        } else {
            format!("the {} deadline is closed", deadline.kind)
        };
        return Err(ApiError::Conflict { code: ProblemCode::DeadlineNotExtendable, detail });
    }
    let extension =
        parse_extension(&input, deadline.due_on, today()).map_err(ApiError::Validation)?;
    let actor = request.actor();
    let role = actor.role().ok_or_else(|| ApiError::Forbidden {
        code: ProblemCode::Forbidden,
        detail: "integrations do not extend deadlines".to_owned(),
    })?;
    deadlines::extend_deadline(
        &mut tx,
        &deadline,
        &extension,
        actor.id,
        actor.institution_id,
        role.as_str(),
        head.status.as_str(),
    )
    .await?;
    cases::bump_version(&mut tx, id, head.version).await?;
    let extended = NewEvent::new(EventType::DeadlineExtended, id, Some(actor.institution_id))
        .group(EventType::deadline_group(deadline.kind))
        .data(serde_json::json!({ "deadline_id": deadline.id, "kind": deadline.kind }));
    request.announce_as(&mut tx, extended).await?;
    // The access log names the deadline and its kind; its dates (a travel deadline's are of
    // the travel's field group) and the reason (SEM's free text) stay with the case.
    let event = request
        .allowed()
        .details(serde_json::json!({ "deadline_id": deadline.id, "kind": deadline.kind }));
    let case: CaseResponse = request.finish(tx, &event).await?;
    Ok(case_reply(StatusCode::OK, case, None))
}
