//! Legal holds: a case kept past its retention while proceedings, an inquiry or an appeal
//! need it. SEM sets and lifts them on the cases it sees, the oversight's auditors on any
//! case; the retention run destroys no case under a hold.

use axum::extract::State;
use chrono::{DateTime, Utc};
use retour_domain::lifecycle::{LegalHoldInput, parse_legal_hold};
use retour_domain::policy::Operation;
use retour_store::StoreError;
use retour_store::cases::{self, CaseHead};
use retour_store::lifecycle::{self, LegalHold};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::request::CaseRequest;
use crate::auth::Caller;
use crate::error::{Problem, ProblemCode};
use crate::json::Json;
use crate::path::Path;
use crate::routes::{Created, created};
use crate::{ApiError, AppState};

/// A legal hold on a case.
#[derive(Debug, Serialize, ToSchema)]
pub struct LegalHoldResponse {
    pub id: Uuid,
    pub case_id: Uuid,
    /// Why the case is kept.
    pub reason: String,
    pub set_by: Uuid,
    pub set_by_institution: Uuid,
    pub set_at: DateTime<Utc>,
    /// Who lifted it, and when; `null` while it is in force.
    pub lifted_by: Option<Uuid>,
    pub lifted_at: Option<DateTime<Utc>>,
}

impl From<LegalHold> for LegalHoldResponse {
    fn from(h: LegalHold) -> Self {
        LegalHoldResponse {
            id: h.id,
            case_id: h.case_id,
            reason: h.reason,
            set_by: h.set_by,
            set_by_institution: h.set_by_institution,
            set_at: h.set_at,
            lifted_by: h.lifted_by,
            lifted_at: h.lifted_at,
        }
    }
}

/// A case's legal holds: the one in force, if any, and those lifted.
#[derive(Debug, Serialize, ToSchema)]
pub struct LegalHolds {
    /// The hold in force; `null` when the case is not held.
    pub in_force: Option<LegalHoldResponse>,
    /// The holds lifted, oldest first.
    pub lifted: Vec<LegalHoldResponse>,
}

/// Read the legal holds
///
/// The legal hold in force on the case, if any, and those lifted: for those who set and
/// lift them.
#[utoipa::path(get, path = "/v1/cases/{id}/legal-hold", tag = "cases", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The case id")),
    responses(
        (status = 200, description = "The holds", body = LegalHolds),
        (status = 403, description = "The caller's role does not hold cases", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case within the caller's scope", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn get_legal_hold(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<Json<LegalHolds>, ApiError> {
    let request = CaseRequest::new(&state, &caller, id, "case.legal_hold_read");
    let mut conn = state.store().pool().acquire().await.map_err(StoreError::from)?;
    let head = cases::case_head(&mut conn, id).await?;
    request.authorize(Operation::HoldCase, head.map(|h| h.facts()).as_ref()).await?;
    let holds = lifecycle::legal_holds(&mut conn, id).await?;
    let event = request.allowed().details(serde_json::json!({ "legal_holds": holds.len() }));
    retour_store::audit::record(&mut *conn, &event).await?;
    let (lifted, in_force): (Vec<_>, Vec<_>) =
        holds.into_iter().partition(|hold| hold.lifted_at.is_some());
    Ok(Json(LegalHolds {
        in_force: in_force.into_iter().next().map(LegalHoldResponse::from),
        lifted: lifted.into_iter().map(LegalHoldResponse::from).collect(),
    }))
}

/// Set a legal hold
///
/// Keeps the case past its retention: the retention run neither offers it to the archive
/// nor destroys it while the hold is in force. SEM sets one on a case it sees; an auditor
/// on any case.
#[utoipa::path(post, path = "/v1/cases/{id}/legal-hold", tag = "cases", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The case id")),
    request_body = LegalHoldInput,
    responses(
        (status = 201, description = "The hold", body = LegalHoldResponse,
            headers(("Location" = String, description = "The case's legal hold"))),
        (status = 403, description = "The caller's role does not hold cases", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case within the caller's scope", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`legal_hold_in_force`: the case is held already", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` naming `reason`", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn set_legal_hold(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    Json(input): Json<LegalHoldInput>,
) -> Result<Created<LegalHoldResponse>, ApiError> {
    let actor = &caller.actor;
    let request = CaseRequest::new(&state, &caller, id, "case.legal_hold_set");
    let (mut tx, _): (_, CaseHead) = request.lock(Operation::HoldCase).await?;
    let reason = parse_legal_hold(&input).map_err(ApiError::Validation)?;
    let hold = lifecycle::set_legal_hold(&mut tx, id, &reason, actor.id, actor.institution_id)
        .await?
        .ok_or_else(|| ApiError::Conflict {
            code: ProblemCode::LegalHoldInForce,
            detail: "a legal hold is in force on the case already".to_owned(),
        })?;
    let event = request.allowed().details(serde_json::json!({ "legal_hold_id": hold.id }));
    retour_store::audit::record(&mut *tx, &event).await?;
    tx.commit().await?;
    Ok(created(format!("/v1/cases/{id}/legal-hold"), hold.into()))
}

/// Lift the legal hold
///
/// Ends the hold in force on the case; its retention applies again from the next run. The
/// hold stays on record, lifted.
#[utoipa::path(delete, path = "/v1/cases/{id}/legal-hold", tag = "cases", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The case id")),
    responses(
        (status = 200, description = "The hold, lifted", body = LegalHoldResponse),
        (status = 403, description = "The caller's role does not hold cases", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case within the caller's scope", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`no_legal_hold`: no hold is in force", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn lift_legal_hold(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<Json<LegalHoldResponse>, ApiError> {
    let actor = &caller.actor;
    let request = CaseRequest::new(&state, &caller, id, "case.legal_hold_lift");
    let (mut tx, _): (_, CaseHead) = request.lock(Operation::HoldCase).await?;
    let hold = lifecycle::lift_legal_hold(&mut tx, id, actor.id).await?.ok_or_else(|| {
        ApiError::Conflict {
            code: ProblemCode::NoLegalHold,
            detail: "no legal hold is in force on the case".to_owned(),
        }
    })?;
    let event = request.allowed().details(serde_json::json!({ "legal_hold_id": hold.id }));
    retour_store::audit::record(&mut *tx, &event).await?;
    tx.commit().await?;
    Ok(Json(hold.into()))
}
