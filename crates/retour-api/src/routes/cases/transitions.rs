//! Moving a case through the return workflow, and its history.
//!
//! A transition is decided by `retour_domain::workflow` (the status machine's table and its
//! guards), checked against the household's entitlement (approve) and the approval
//! (confirm_departure), and written with its record, the new status, the history entry and
//! the access-log event in one transaction under the case's row lock.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::Utc;
use retour_domain::Actor;
use retour_domain::Rappen;
use retour_domain::assistance::AssistanceComponent;
use retour_domain::entitlement::{CashPayout, check_approval, check_payout};
use retour_domain::governance::four_eyes_kind;
use retour_domain::policy::{self, Operation};
use retour_domain::records::CaseEvent;
use retour_domain::workflow::{
    self, Approval, ApprovedAmount, Transition, TransitionError, TransitionRecord,
    TransitionRequest,
};
use retour_store::cases::StoredCase;
use retour_store::holding;
use retour_store::workflow::{self as store, EventsRead, TransitionWrite};
use serde::Serialize;
use sqlx::PgConnection;
use utoipa::ToSchema;
use uuid::Uuid;

use super::dto::CaseResponse;
use super::entitlement::entitlement_of;
use super::request::{CaseRequest, CaseTx, transfer_pending};
use super::{case_reply, check_if_match};
use crate::auth::Caller;
use crate::error::{Problem, ProblemCode};
use crate::json::Json;
use crate::path::Path;
use crate::{ApiError, AppState, DocumentsConfig};

const ACTION: &str = "case.transition";

/// An approval within the household's entitlement, or above it with a justification: the
/// components approved above it.
async fn check_against_entitlement(
    conn: &mut PgConnection,
    case: &StoredCase,
    approval: &Approval,
) -> Result<Vec<AssistanceComponent>, ApiError> {
    let entitlement = entitlement_of(conn, case).await?;
    let approved: Option<Vec<_>> =
        approval.approved_assistance.iter().map(ApprovedAmount::amount).collect();
    let Some(approved) = approved else {
        return Err(ApiError::internal(std::io::Error::other(
            "an evaluated approval names an unknown component",
        )));
    };
    check_approval(&entitlement, &approved, approval.override_justification.as_deref())
        .map_err(ApiError::Validation)
}

/// Why a transition was not decided: a refusal the access log records as denied (403), or
/// one the refusal layer records (409, 422).
pub(super) enum Decided {
    Denied(ApiError),
    Refused(ApiError),
}

impl Decided {
    /// The answer to the refusal: a denial is recorded in the access log (after the
    /// transaction of `request` is rolled back), other refusals by the refusal layer.
    pub(super) async fn answer(self, tx: CaseTx, request: &CaseRequest<'_>) -> ApiError {
        match self {
            Decided::Denied(error) => request.deny_in(tx, error).await,
            Decided::Refused(error) => error,
        }
    }
}

impl<E: Into<ApiError>> From<E> for Decided {
    fn from(error: E) -> Self {
        Decided::Refused(error.into())
    }
}

/// Decides `request` by `actor` on the locked `case`: the workflow's table and guards, the
/// case's holding, and the household's entitlement (approve) or the approval
/// (confirm_departure). Returns the transition and the components approved above the
/// entitlement.
pub(super) async fn decide(
    tx: &mut PgConnection,
    actor: &Actor,
    case: &StoredCase,
    request: &TransitionRequest,
    documents: &DocumentsConfig,
) -> Result<(Transition, Vec<AssistanceComponent>), Decided> {
    let mission = match request.mission_id() {
        Some(mission_id) => store::mission_facts(tx, mission_id).await?,
        None => None,
    };
    let mut ctx = case.transition_context(mission, Utc::now());
    if matches!(request, TransitionRequest::Submit) && documents.require_return_request {
        ctx.return_request_missing =
            !retour_store::documents::has_return_request(tx, case.head.id).await?;
    }
    if matches!(request, TransitionRequest::StartReintegration(_)) {
        ctx.mission_consent_missing =
            retour_store::lifecycle::mission_consent_missing(tx, case.head.id, super::today())
                .await?;
    }
    let transition = match workflow::evaluate(actor, &ctx, request) {
        Ok(transition) => transition,
        Err(error @ TransitionError::Forbidden { .. }) => {
            return Err(Decided::Denied(ApiError::Forbidden {
                code: ProblemCode::ForbiddenAction,
                detail: error.to_string(),
            }));
        }
        Err(error @ TransitionError::NotAssigned { .. }) => {
            return Err(Decided::Denied(ApiError::Forbidden {
                code: ProblemCode::NotAssigned,
                detail: error.to_string(),
            }));
        }
        Err(TransitionError::TransferPending { .. }) => {
            return Err(Decided::Refused(transfer_pending()));
        }
        Err(error @ TransitionError::InvalidTransition { .. }) => {
            return Err(Decided::Refused(ApiError::Conflict {
                code: ProblemCode::InvalidTransition,
                detail: error.to_string(),
            }));
        }
        Err(TransitionError::Invalid(errors)) => {
            return Err(Decided::Refused(ApiError::Validation(errors)));
        }
    };
    let overridden = match &transition.record {
        TransitionRecord::Approval(approval) => {
            check_against_entitlement(tx, case, approval).await?
        }
        TransitionRecord::Departure(departure) => {
            let payout = CashPayout {
                startup_cash_rappen: Rappen::new(departure.payout.startup_cash_rappen),
                travel_money_rappen: Rappen::new(departure.payout.travel_money_rappen),
            };
            check_payout(&case.approved_amounts(), &payout).map_err(ApiError::Validation)?;
            Vec::new()
        }
        _ => Vec::new(),
    };
    Ok((transition, overridden))
}

/// Writes a decided transition taken by `actor`: its record, the new status and the history
/// entry; an open four-eyes proposal the case moved past is closed as superseded.
pub(super) async fn write(
    tx: &mut PgConnection,
    actor: &Actor,
    case: &StoredCase,
    transition: &Transition,
    overridden: &[AssistanceComponent],
) -> Result<(), ApiError> {
    let role = actor.role().ok_or_else(|| ApiError::Forbidden {
        code: ProblemCode::ForbiddenAction,
        detail: "integrations do not move cases".to_owned(),
    })?;
    store::apply_transition(
        tx,
        TransitionWrite {
            case_id: case.head.id,
            expected_version: case.head.version,
            actor_id: actor.id,
            institution_id: actor.institution_id,
            role,
            transition,
            overridden,
            itinerary_id: case.current_itinerary().map(|i| i.id),
        },
    )
    .await?;
    holding::supersede_open_proposal(tx, case.head.id).await?;
    Ok(())
}

/// The access-log details of a transition: the action, from and to, and what an approval
/// overrode (never the justification: its free text stays with the decision, readable by
/// the counselling service and SEM only).
pub(super) fn details(
    transition: &Transition,
    overridden: &[AssistanceComponent],
) -> serde_json::Value {
    let mut details = serde_json::json!({
        "action": transition.action,
        "from": transition.from,
        "to": transition.to,
    });
    if matches!(transition.record, TransitionRecord::Approval(_)) && !overridden.is_empty() {
        details["overridden_components"] = serde_json::json!(overridden);
    }
    details
}

/// Move a case on in the workflow
///
/// Move the case on in the return workflow: one object tagged by `action`, each action with
/// its own fields (see `TransitionRequest`). `If-Match` with the case's ETag is required.
/// The transition's record (decision, question, answer, booking, payout, mission, ending),
/// the new status, the history entry and the access-log event are stored together, or
/// nothing is. An approval above the household's entitlement needs an
/// `override_justification`, which is kept with the decision; a payout cannot exceed the
/// approval. SEM's decisions are taken by the case's reviewer (`reviewer_id`); an approval
/// above the entitlement and a cancellation after travel was booked need a second SEM
/// officer and are proposed at `/v1/cases/{id}/proposals` instead. Answers the case as the
/// caller may now see it.
#[utoipa::path(post, path = "/v1/cases/{id}/transitions", tag = "cases", security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "The case id"),
        ("If-Match" = String, Header, description = "The case's current ETag, e.g. \"3\""),
    ),
    request_body = TransitionRequest,
    responses(
        (status = 200, description = "The case after the transition; `ETag` holds the new version", body = CaseResponse,
            headers(("ETag" = String, description = "The case's version, e.g. `\"3\"`; send it as `If-Match` to change the case"))),
        (status = 403, description = "`forbidden_action`: the caller sees the case, but their role may not take this action; `not_assigned`: a SEM decision on a case assigned to another reviewer", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case within the caller's scope", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: not possible in the case's status; `second_person_required`: a four-eyes change, to be proposed at `/v1/cases/{id}/proposals`; `transfer_pending`: the counselling service is handing the case to another", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "`stale_version`: the case changed since it was read", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` listing what is missing or invalid (also an amount above the entitlement or the approval)", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "`precondition_required`: If-Match is missing", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn transition_case(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    Json(request): Json<TransitionRequest>,
) -> Result<Response, ApiError> {
    let actor = &caller.actor;
    let action = request.action();
    // Every refusal of this request names the workflow action that was tried.
    retour_store::audit::trail::attempting(action.as_str());
    let gate = CaseRequest::new(&state, &caller, id, ACTION);
    // Who may take which action in which status is the workflow's table: the policy only
    // decides whether the caller sees the case.
    let (mut tx, case): (_, StoredCase) = gate.lock(Operation::ReadCase).await?;
    check_if_match(&headers, case.head.version)?;
    let (transition, overridden) =
        match decide(&mut tx, actor, &case, &request, &state.config().documents).await {
            Ok(decided) => decided,
            Err(refusal) => return Err(refusal.answer(tx, &gate).await),
        };
    if let Some(kind) = four_eyes_kind(&transition, !overridden.is_empty())
        && holding::four_eyes_required(&mut tx, kind).await?
    {
        return Err(ApiError::Conflict {
            code: ProblemCode::SecondPersonRequired,
            detail: format!(
                "{} needs a second SEM officer: propose it at /v1/cases/{id}/proposals",
                kind.describe()
            ),
        });
    }
    write(&mut tx, actor, &case, &transition, &overridden).await?;
    let details = details(&transition, &overridden);
    let event = gate.allowed().details(details);
    let case = gate.finish(tx, &event).await?;
    tracing::info!(case.id = %id, action = %action, to = %transition.to, "case moved on");
    Ok(case_reply(StatusCode::OK, case, None))
}

/// A case's history, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseEventList {
    pub items: Vec<CaseEvent>,
}

/// Get a case's history
///
/// The history of a case, oldest first: its opening and every transition, with who took it
/// (user, institution, role), from → to, when, and the comment: SEM's questions, the
/// answers, the reasons of a decision and of a withdrawal or cancellation only for the
/// counselling service and SEM; a no-show's comment for those who see the travel; a
/// closure's for those who see the reintegration (`null` for the others). Also who held the
/// case: reassignments (`reassign`), four-eyes steps (`propose`, `confirm_proposal`,
/// `return_proposal`) and canton transfers (`propose_transfer`, `accept_transfer`,
/// `decline_transfer`), the case staying in its status; their reasons only for the
/// counselling service and SEM.
#[utoipa::path(get, path = "/v1/cases/{id}/events", tag = "cases", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The case id")),
    responses(
        (status = 200, description = "The history", body = CaseEventList),
        (status = 404, description = "No such case within the caller's scope", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn list_case_events(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<Json<CaseEventList>, ApiError> {
    let actor = &caller.actor;
    let gate = CaseRequest::new(&state, &caller, id, "case.events_read");
    let withheld =
        retour_domain::governance::history_comments_withheld_from(&policy::case_view(actor));
    let read = state.store().read_case_events(id, policy::case_scope(actor), &withheld).await?;
    let (facts, events) = match read {
        EventsRead::Visible { head, events } => (Some(head.facts()), events),
        EventsRead::OutOfScope | EventsRead::Missing => (None, Vec::new()),
    };
    gate.authorize(Operation::ReadCase, facts.as_ref()).await?;
    let event = gate.allowed().details(serde_json::json!({ "events": events.len() }));
    state.store().log(&event).await?;
    Ok(Json(CaseEventList { items: events }))
}
