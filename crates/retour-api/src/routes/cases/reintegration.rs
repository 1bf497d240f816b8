//! What the assigned IOM mission records during a reintegration: disbursements of the
//! approved project (their total never exceeds it) and monitoring visits, a planned one
//! later recorded done. No `If-Match` is needed: these are appends, and a planned visit
//! changes once, like a reclaim; the case's row lock keeps the total check and the change of
//! a visit free of races.

use axum::extract::State;
use retour_domain::assistance::AssistanceComponent;
use retour_domain::event::EventType;
use retour_domain::policy::Operation;
use retour_domain::records::{Disbursement, MonitoringVisit};
use retour_domain::reintegration::{
    DisbursementInput, MonitoringVisitDoneInput, MonitoringVisitInput, check_disbursement_total,
    parse_disbursement, parse_monitoring_visit, parse_monitoring_visit_done,
};
use retour_store::audit;
use retour_store::cases::{self, CaseHead};
use retour_store::workflow::{self, VisitChange};
use uuid::Uuid;

use super::request::CaseRequest;
use super::today;
use crate::auth::Caller;
use crate::error::{Problem, ProblemCode};
use crate::json::Json;
use crate::path::Path;
use crate::routes::{Created, created};
use crate::{ApiError, AppState};

/// Record a disbursement
///
/// Record a disbursement of the reintegration project (the IOM mission assigned to the case,
/// while the case is in reintegration). With the earlier disbursements it may not exceed the
/// approved reintegration project (422 `exceeds_approval` on `amount_rappen`).
#[utoipa::path(post, path = "/v1/cases/{id}/disbursements", tag = "cases", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The case id")),
    request_body = DisbursementInput,
    responses(
        (status = 201, description = "The disbursement", body = Disbursement,
            headers(("Location" = String, description = "The case, whose `reintegration` lists the disbursement"))),
        (status = 403, description = "Only the assigned IOM mission records disbursements", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case within the caller's scope", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`case_not_in_reintegration`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` naming every invalid field, or the approved project exceeded", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn add_disbursement(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    Json(input): Json<DisbursementInput>,
) -> Result<Created<Disbursement>, ApiError> {
    const ACTION: &str = "case.disbursement_add";
    let request = CaseRequest::new(&state, &caller, id, ACTION);
    let (mut tx, head): (_, CaseHead) = request.lock(Operation::RecordReintegration).await?;
    let new = parse_disbursement(&input, today()).map_err(ApiError::Validation)?;
    let approved =
        workflow::approved_amount(&mut tx, id, AssistanceComponent::ReintegrationProject)
            .await?
            .unwrap_or_default();
    let disbursed = workflow::disbursed_total(&mut tx, id).await?;
    check_disbursement_total(approved, disbursed, new.amount)
        .map_err(|e| ApiError::Validation(vec![e]))?;
    let record = workflow::insert_disbursement(&mut tx, id, caller.actor.id, &new).await?;
    cases::bump_version(&mut tx, id, head.version).await?;
    let data = serde_json::json!({ "disbursement_id": record.id });
    request.announce(&mut tx, EventType::DisbursementRecorded, data).await?;
    let event = request.allowed().details(serde_json::json!({ "disbursement_id": record.id }));
    audit::record(&mut *tx, &event).await?;
    tx.commit().await?;
    Ok(created(format!("/v1/cases/{id}"), record))
}

/// Record a monitoring visit
///
/// Record a monitoring visit of the reintegration, planned (`due_on`) or done (`done_on`,
/// `outcome`, an optional `sustainability_score` from 0 to 1): the IOM mission assigned to
/// the case, while the case is in reintegration.
#[utoipa::path(post, path = "/v1/cases/{id}/monitoring-visits", tag = "cases", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The case id")),
    request_body = MonitoringVisitInput,
    responses(
        (status = 201, description = "The visit", body = MonitoringVisit,
            headers(("Location" = String, description = "The case, whose `reintegration` lists the visit"))),
        (status = 403, description = "Only the assigned IOM mission records visits", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case within the caller's scope", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`case_not_in_reintegration`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` naming every invalid field", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn add_monitoring_visit(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    Json(input): Json<MonitoringVisitInput>,
) -> Result<Created<MonitoringVisit>, ApiError> {
    const ACTION: &str = "case.monitoring_visit_add";
    let request = CaseRequest::new(&state, &caller, id, ACTION);
    let (mut tx, head): (_, CaseHead) = request.lock(Operation::RecordReintegration).await?;
    let new = parse_monitoring_visit(&input, today()).map_err(ApiError::Validation)?;
    let record = workflow::insert_monitoring_visit(&mut tx, id, caller.actor.id, &new).await?;
    cases::bump_version(&mut tx, id, head.version).await?;
    let data = serde_json::json!({ "monitoring_visit_id": record.id });
    request.announce(&mut tx, EventType::VisitPlanned, data).await?;
    let event = request.allowed().details(serde_json::json!({ "monitoring_visit_id": record.id }));
    audit::record(&mut *tx, &event).await?;
    tx.commit().await?;
    Ok(created(format!("/v1/cases/{id}"), record))
}

/// Record a planned monitoring visit as done
///
/// Record a planned monitoring visit of the reintegration as done: `done_on` (not in the
/// future, not before the departure), `outcome` and an optional `sustainability_score` from 0
/// to 1. The IOM mission assigned to the case, while the case is in reintegration. A visit
/// changes once: one done already answers 409 `visit_already_done`.
#[utoipa::path(patch, path = "/v1/cases/{id}/monitoring-visits/{visit_id}", tag = "cases",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "The case id"),
        ("visit_id" = Uuid, Path, description = "The monitoring visit id"),
    ),
    request_body = MonitoringVisitDoneInput,
    responses(
        (status = 200, description = "The visit, done", body = MonitoringVisit),
        (status = 403, description = "Only the assigned IOM mission records visits", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case within the caller's scope, or no such visit of it", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`case_not_in_reintegration`, or `visit_already_done`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` naming every invalid field", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn update_monitoring_visit(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, visit_id)): Path<(Uuid, Uuid)>,
    Json(input): Json<MonitoringVisitDoneInput>,
) -> Result<Json<MonitoringVisit>, ApiError> {
    const ACTION: &str = "case.monitoring_visit_update";
    let request = CaseRequest::new(&state, &caller, id, ACTION);
    let (mut tx, head): (_, CaseHead) = request.lock(Operation::RecordReintegration).await?;
    let departed_on = head.departed_at.map(|at| at.date_naive());
    let done =
        parse_monitoring_visit_done(&input, today(), departed_on).map_err(ApiError::Validation)?;
    let visit = match workflow::complete_monitoring_visit(&mut tx, id, visit_id, &done).await? {
        VisitChange::Changed(visit) => visit,
        VisitChange::AlreadyDone(day) => {
            return Err(ApiError::Conflict {
                code: ProblemCode::VisitAlreadyDone,
                detail: format!("the visit was recorded as done on {day} already"),
            });
        }
        VisitChange::Missing => return Err(ApiError::NoSuch("monitoring visit")),
    };
    cases::bump_version(&mut tx, id, head.version).await?;
    let data = serde_json::json!({ "monitoring_visit_id": visit.id });
    request.announce(&mut tx, EventType::VisitCompleted, data).await?;
    let event = request.allowed().details(serde_json::json!({ "monitoring_visit_id": visit.id }));
    audit::record(&mut *tx, &event).await?;
    tx.commit().await?;
    Ok(Json(visit))
}
