//! Who holds a case and who decides on it: reassigning its counsellor or SEM reviewer, SEM's
//! four-eyes proposals (proposed by one officer, confirmed or sent back by another), and
//! canton transfers between counselling services.
//!
//! These act on their own objects (an assignment, a proposal, a transfer) rather than on the
//! case's fields, so they take no `If-Match`: the case's row lock orders them, and each
//! moves the case's version on. Every step leaves a history entry (its reason or
//! justification only for the counselling service and SEM) and an access-log event.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use retour_domain::event::EventType;
use retour_domain::governance::{
    self, AssignmentInput, AssignmentRole, FourEyesKind, HoldingEvent, Proposal, ProposalInput,
    ProposalStatus, ProposedChange, ReasonInput, Transfer, TransferAcceptInput, TransferInput,
};
use retour_domain::policy::Operation;
use retour_domain::reclaim::{ReclaimStatus, ReclaimUpdate};
use retour_domain::workflow::TransitionRequest;
use retour_domain::{Actor, ActorKind, CaseStatus, FieldError, InstitutionKind, Role};
use retour_store::audit;
use retour_store::cases::{self, CaseHead, StoredCase};
use retour_store::events::{self, NewEvent};
use retour_store::holding::{self, HistoryActor, NewProposalRow};
use retour_store::workflow::{self as store, ReclaimChange};
use serde::Serialize;
use sqlx::PgConnection;
use utoipa::ToSchema;
use uuid::Uuid;

use super::case_reply;
use super::dto::CaseResponse;
use super::request::CaseRequest;
use super::transitions::{Decided, decide, details, write};
use crate::auth::Caller;
use crate::error::{Problem, ProblemCode};
use crate::json::Json;
use crate::path::Path;
use crate::routes::{Created, created};
use crate::{ApiError, AppState, DocumentsConfig};

/// The one leaving a history entry: the caller.
fn history_actor(actor: &Actor) -> Result<HistoryActor, ApiError> {
    let role = actor.role().ok_or_else(|| ApiError::Forbidden {
        code: ProblemCode::Forbidden,
        detail: "integrations do not change who holds a case".to_owned(),
    })?;
    Ok(HistoryActor { id: actor.id, institution_id: actor.institution_id, role })
}

/// Reassign a case
///
/// Make another user the case's counsellor (`role: counsellor`: a counsellor of the case's
/// service, to another counsellor of the same service, until the case ends) or its SEM
/// reviewer (`role: reviewer`: a SEM officer, to another SEM officer, from the review until
/// travel is booked). Only the reviewer takes SEM's decisions on the case. The reason is
/// kept in the history for the counselling service and SEM.
#[utoipa::path(post, path = "/v1/cases/{id}/assignment", tag = "cases", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The case id")),
    request_body = AssignmentInput,
    responses(
        (status = 200, description = "The case, held by the new assignee", body = CaseResponse,
            headers(("ETag" = String, description = "The case's new version"))),
        (status = 403, description = "Counsellors reassign the counsellor, SEM officers the reviewer", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case within the caller's scope", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`case_not_assignable` in this status; `transfer_pending`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: a missing field, or `user_id` not a fitting active user (`not_assignable`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn assign_case(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    Json(input): Json<AssignmentInput>,
) -> Result<Response, ApiError> {
    let request = CaseRequest::new(&state, &caller, id, "case.assign");
    let actor = request.actor();
    // The role asked for decides who may ask; a body without a valid one is refused (422)
    // once the caller is known to see the case.
    let operation = match input.role.as_deref().and_then(AssignmentRole::parse) {
        Some(AssignmentRole::Counsellor) => Operation::AssignCounsellor,
        Some(AssignmentRole::Reviewer) => Operation::AssignReviewer,
        None => Operation::ReadCase,
    };
    let (mut tx, head): (_, CaseHead) = request.lock(operation).await?;
    let assignment = governance::parse_assignment(&input).map_err(ApiError::Validation)?;
    let assignee = holding::assignee(&mut tx, assignment.user_id).await?;
    governance::check_assignee(
        assignment.role,
        assignee.as_ref(),
        head.counselling_service_id,
        actor.institution_id,
    )
    .map_err(|e| ApiError::Validation(vec![e]))?;
    let current = match assignment.role {
        AssignmentRole::Counsellor => Some(head.counsellor_id),
        AssignmentRole::Reviewer => head.reviewer_id,
    };
    if current == Some(assignment.user_id) {
        return Err(ApiError::Validation(vec![FieldError::new(
            "user_id",
            "already_assigned",
            "user_id already holds the case",
        )]));
    }
    holding::reassign(&mut tx, id, assignment.role, assignment.user_id).await?;
    cases::bump_version(&mut tx, id, head.version).await?;
    let history = history_actor(actor)?;
    holding::record_history(
        &mut tx,
        id,
        HoldingEvent::Reassign,
        head.status,
        history,
        Some(&assignment.reason),
    )
    .await?;
    let event = request.allowed().details(serde_json::json!({
        "role": assignment.role,
        "from": current,
        "to": assignment.user_id,
    }));
    let case = request.finish(tx, &event).await?;
    Ok(case_reply(StatusCode::OK, case, None))
}

/// A case's four-eyes proposals, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProposalList {
    pub items: Vec<Proposal>,
}

/// List a case's four-eyes proposals
///
/// SEM's four-eyes proposals on the case, oldest first, open or settled, with their
/// justifications: for the counselling service and SEM.
#[utoipa::path(get, path = "/v1/cases/{id}/proposals", tag = "cases", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The case id")),
    responses(
        (status = 200, description = "The proposals", body = ProposalList),
        (status = 403, description = "Only the counselling service and SEM read SEM's review", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case within the caller's scope", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn list_proposals(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<Json<ProposalList>, ApiError> {
    let request = CaseRequest::new(&state, &caller, id, "case.proposals_read");
    let mut conn = state.store().pool().acquire().await?;
    let head = cases::case_head(&mut conn, id).await?;
    request
        .authorize(Operation::ReadProposals, head.as_ref().map(CaseHead::facts).as_ref())
        .await?;
    let items = holding::list_proposals(&mut conn, id).await?;
    let event = request.allowed().details(serde_json::json!({ "proposals": items.len() }));
    audit::record(&mut *conn, &event).await?;
    Ok(Json(ProposalList { items }))
}

/// The officer who proposed a change, acting on the case as they did when proposing it.
fn proposer(proposal: &Proposal, confirmer: &Actor) -> Actor {
    Actor {
        id: proposal.proposed_by,
        kind: ActorKind::User { role: Role::SemOfficer },
        institution_id: confirmer.institution_id,
        institution_kind: InstitutionKind::Sem,
        canton: None,
        mission_country: None,
    }
}

/// The reclaim a waiver names, if it is one of the case's open reclaims.
fn open_reclaim(case: &StoredCase, reclaim_id: Uuid) -> Result<(), ApiError> {
    let reclaim = case.reclaims.iter().flatten().find(|r| r.id == reclaim_id);
    match reclaim {
        None => Err(ApiError::Validation(vec![FieldError::new(
            "reclaim_waiver.reclaim_id",
            "unknown_reclaim",
            "reclaim_waiver.reclaim_id names no reclaim of this case",
        )])),
        Some(r) if r.status != ReclaimStatus::Open => Err(ApiError::Conflict {
            code: ProblemCode::ReclaimNotOpen,
            detail: format!("the reclaim is {} already", r.status),
        }),
        Some(_) => Ok(()),
    }
}

/// The 422 of a change that needs no second officer.
fn no_second_person(field: &str, why: &str) -> ApiError {
    ApiError::Validation(vec![FieldError::new(field, "no_second_person", why)])
}

/// Propose a four-eyes change
///
/// Propose a change that needs a second SEM officer: an `approve` above the household's
/// entitlement or a `cancel` of a case whose travel is booked (`transition`, as
/// `POST /v1/cases/{id}/transitions` takes it), or waiving a reclaim (`reclaim_waiver`). The
/// change is checked now as if it were taken (its rules, the entitlement, the reviewer) and
/// carried out when another SEM officer confirms it. A case has one open proposal at a time.
/// Which changes need a second officer is the installation's configuration; a change that
/// needs none is refused with 422 `no_second_person`.
#[utoipa::path(post, path = "/v1/cases/{id}/proposals", tag = "cases", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The case id")),
    request_body = ProposalInput,
    responses(
        (status = 201, description = "The open proposal", body = Proposal,
            headers(("Location" = String, description = "The case's proposals"))),
        (status = 403, description = "Only SEM officers propose; SEM's decisions only by the case's reviewer (`not_assigned`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case within the caller's scope", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`proposal_pending`, `invalid_transition`, `reclaim_not_open`, `reclaim_not_possible`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: a missing or invalid field, or a change that needs no second officer", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn create_proposal(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    Json(input): Json<ProposalInput>,
) -> Result<Created<Proposal>, ApiError> {
    let request = CaseRequest::new(&state, &caller, id, "case.proposal_create");
    let actor = request.actor();
    let (mut tx, case): (_, StoredCase) = request.lock(Operation::ProposeChange).await?;
    let proposal = governance::parse_proposal(&input).map_err(ApiError::Validation)?;
    if holding::open_proposal(&mut tx, id).await?.is_some() {
        return Err(ApiError::Conflict {
            code: ProblemCode::ProposalPending,
            detail: "the case has an open proposal; it is confirmed or sent back first".to_owned(),
        });
    }
    let (kind, transition, reclaim_id) = match &proposal.change {
        ProposedChange::Transition(change) => {
            let (transition, overridden) =
                match decide(&mut tx, actor, &case, change, &state.config().documents).await {
                    Ok(decided) => decided,
                    Err(refusal) => return Err(refusal.answer(tx, &request).await),
                };
            let kind = governance::four_eyes_kind(&transition, !overridden.is_empty()).ok_or_else(
                || {
                    no_second_person(
                        "transition",
                        "this transition needs no second SEM officer (an approval within the \
                         entitlement, a cancellation before travel is booked): take it at \
                         /v1/cases/{id}/transitions",
                    )
                },
            )?;
            let json = serde_json::to_value(change).map_err(ApiError::internal)?;
            (kind, Some(json), None)
        }
        ProposedChange::ReclaimWaiver { reclaim_id } => {
            request.authorize(Operation::ManageReclaims, Some(&case.head.facts())).await?;
            open_reclaim(&case, *reclaim_id)?;
            (FourEyesKind::ReclaimWaiver, None, Some(*reclaim_id))
        }
    };
    if !holding::four_eyes_required(&mut tx, kind).await? {
        return Err(no_second_person(
            if transition.is_some() { "transition" } else { "reclaim_waiver" },
            "this installation lets one SEM officer take this change directly",
        ));
    }
    let created_proposal = holding::insert_proposal(
        &mut tx,
        NewProposalRow {
            case_id: id,
            kind,
            transition,
            reclaim_id,
            justification: &proposal.justification,
            proposed_by: actor.id,
        },
    )
    .await?;
    cases::bump_version(&mut tx, id, case.head.version).await?;
    holding::record_history(
        &mut tx,
        id,
        HoldingEvent::Propose,
        case.head.status,
        history_actor(actor)?,
        Some(&proposal.justification),
    )
    .await?;
    let event = request
        .allowed()
        .details(serde_json::json!({ "proposal_id": created_proposal.id, "kind": kind }));
    audit::record(&mut *tx, &event).await?;
    tx.commit().await?;
    Ok(created(format!("/v1/cases/{id}/proposals"), created_proposal))
}

/// Locks the case for a decision on proposal `proposal_id` by a second SEM officer: the
/// proposal must be open and the caller not its proposer.
async fn second_look<'a>(
    request: &CaseRequest<'a>,
    proposal_id: Uuid,
) -> Result<(super::request::CaseTx, StoredCase, Proposal), ApiError> {
    let (mut tx, case): (_, StoredCase) = request.lock(Operation::ProposeChange).await?;
    let Some(proposal) = holding::proposal(&mut tx, case.head.id, proposal_id).await? else {
        return Err(ApiError::NotFound);
    };
    if proposal.status != ProposalStatus::Open {
        return Err(ApiError::Conflict {
            code: ProblemCode::ProposalNotOpen,
            detail: format!("the proposal is {} already", proposal.status),
        });
    }
    if let Err(why) = governance::check_second_person(proposal.proposed_by, request.actor().id) {
        let error = ApiError::Forbidden { code: ProblemCode::SamePerson, detail: why.to_owned() };
        return Err(request.deny_in(tx, error).await);
    }
    Ok((tx, case, proposal))
}

/// The 409 of a proposal the case has moved away from.
fn stale(error: ApiError) -> ApiError {
    let why = match &error {
        ApiError::Conflict { detail, .. } | ApiError::Forbidden { detail, .. } => detail.clone(),
        ApiError::Validation(errors) => {
            errors.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join("; ")
        }
        _ => return error,
    };
    ApiError::Conflict {
        code: ProblemCode::ProposalStale,
        detail: format!("the proposal no longer applies: {why}"),
    }
}

/// Carries out a confirmed change as its proposer takes it; the case's status after it.
async fn carry_out(
    tx: &mut PgConnection,
    case: &StoredCase,
    proposal: &Proposal,
    proposer: &Actor,
    documents: &DocumentsConfig,
) -> Result<(CaseStatus, serde_json::Value), ApiError> {
    match (&proposal.transition, proposal.reclaim_id) {
        (Some(json), _) => {
            let change: TransitionRequest =
                serde_json::from_value(json.clone()).map_err(ApiError::internal)?;
            let (transition, overridden) = match decide(tx, proposer, case, &change, documents)
                .await
            {
                Ok(decided) => decided,
                Err(Decided::Denied(error) | Decided::Refused(error)) => return Err(stale(error)),
            };
            write(tx, proposer, case, &transition, &overridden).await?;
            Ok((transition.to, details(&transition, &overridden)))
        }
        (None, Some(reclaim_id)) => {
            let waiver = ReclaimUpdate {
                status: ReclaimStatus::Waived,
                comment: Some(proposal.justification.clone()),
            };
            match store::update_reclaim(tx, case.head.id, reclaim_id, &waiver).await? {
                ReclaimChange::Changed(_) => {}
                ReclaimChange::NotOpen(status) => {
                    return Err(stale(ApiError::Conflict {
                        code: ProblemCode::ReclaimNotOpen,
                        detail: format!("the reclaim is {status} already"),
                    }));
                }
                ReclaimChange::Missing => {
                    return Err(ApiError::internal(retour_store::StoreError::NotFound));
                }
            }
            cases::bump_version(tx, case.head.id, case.head.version).await?;
            let waived = NewEvent::new(
                EventType::ReclaimUpdated,
                case.head.id,
                Some(proposer.institution_id),
            )
            .data(serde_json::json!({ "reclaim_id": reclaim_id, "reclaim_status": ReclaimStatus::Waived }));
            events::record(tx, &waived).await?;
            Ok((
                case.head.status,
                serde_json::json!({ "reclaim_id": reclaim_id, "status": "waived" }),
            ))
        }
        (None, None) => {
            Err(ApiError::internal(std::io::Error::other("a proposal without a change")))
        }
    }
}

/// Confirm a four-eyes proposal
///
/// Confirm another SEM officer's open proposal (never one's own: 403 `same_person`): the
/// change is checked again against the case as it is now and carried out as its proposer's
/// decision, with the confirmation beside it in the history. A proposal the case has moved
/// away from answers 409 `proposal_stale` and stays open to be sent back.
#[utoipa::path(post, path = "/v1/cases/{id}/proposals/{proposal_id}/confirm", tag = "cases",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "The case id"),
        ("proposal_id" = Uuid, Path, description = "The proposal id"),
    ),
    responses(
        (status = 200, description = "The case after the change", body = CaseResponse,
            headers(("ETag" = String, description = "The case's new version"))),
        (status = 403, description = "Only SEM officers; `same_person` for the proposer", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case within the caller's scope, or no such proposal of it", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`proposal_not_open`, `proposal_stale`", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn confirm_proposal(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, proposal_id)): Path<(Uuid, Uuid)>,
) -> Result<Response, ApiError> {
    let request = CaseRequest::new(&state, &caller, id, "case.proposal_confirm");
    let actor = request.actor();
    let (mut tx, case, proposal) = second_look(&request, proposal_id).await?;
    if !holding::settle_proposal(&mut tx, proposal.id, ProposalStatus::Confirmed, actor.id, None)
        .await?
    {
        return Err(ApiError::Conflict {
            code: ProblemCode::ProposalNotOpen,
            detail: "the proposal was settled a moment ago".to_owned(),
        });
    }
    let (status, mut details) = carry_out(
        &mut tx,
        &case,
        &proposal,
        &proposer(&proposal, actor),
        &state.config().documents,
    )
    .await?;
    holding::record_history(
        &mut tx,
        id,
        HoldingEvent::ConfirmProposal,
        status,
        history_actor(actor)?,
        None,
    )
    .await?;
    details["proposal_id"] = serde_json::json!(proposal.id);
    details["kind"] = serde_json::json!(proposal.kind);
    let event = request.allowed().details(details);
    let case = request.finish(tx, &event).await?;
    Ok(case_reply(StatusCode::OK, case, None))
}

/// Send a four-eyes proposal back
///
/// Send another SEM officer's open proposal back with a reason (never one's own: 403
/// `same_person`); nothing of it is carried out.
#[utoipa::path(post, path = "/v1/cases/{id}/proposals/{proposal_id}/return", tag = "cases",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "The case id"),
        ("proposal_id" = Uuid, Path, description = "The proposal id"),
    ),
    request_body = ReasonInput,
    responses(
        (status = 200, description = "The returned proposal", body = Proposal),
        (status = 403, description = "Only SEM officers; `same_person` for the proposer", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case within the caller's scope, or no such proposal of it", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`proposal_not_open`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: the reason is missing or too long", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn return_proposal(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, proposal_id)): Path<(Uuid, Uuid)>,
    Json(input): Json<ReasonInput>,
) -> Result<Json<Proposal>, ApiError> {
    let request = CaseRequest::new(&state, &caller, id, "case.proposal_return");
    let actor = request.actor();
    let (mut tx, case, proposal) = second_look(&request, proposal_id).await?;
    let reason = governance::parse_reason(&input).map_err(ApiError::Validation)?;
    holding::settle_proposal(
        &mut tx,
        proposal.id,
        ProposalStatus::Returned,
        actor.id,
        Some(&reason),
    )
    .await?;
    cases::bump_version(&mut tx, id, case.head.version).await?;
    holding::record_history(
        &mut tx,
        id,
        HoldingEvent::ReturnProposal,
        case.head.status,
        history_actor(actor)?,
        Some(&reason),
    )
    .await?;
    let returned = holding::proposal(&mut tx, id, proposal.id).await?.ok_or(ApiError::NotFound)?;
    let event = request
        .allowed()
        .details(serde_json::json!({ "proposal_id": proposal.id, "kind": proposal.kind }));
    audit::record(&mut *tx, &event).await?;
    tx.commit().await?;
    Ok(Json(returned))
}

/// Propose a canton transfer
///
/// Propose handing the case to another cantonal counselling service, with a reason (the
/// person moved…): by a counsellor of the case's service, before travel is booked. Until the
/// receiving service accepts or declines, the sending service changes nothing on the case
/// (409 `transfer_pending`). The receiving service sees the transfer at `GET /v1/transfers`
/// (the reference and the principal applicant's name and date of birth), not the case.
#[utoipa::path(post, path = "/v1/cases/{id}/transfer", tag = "cases", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The case id")),
    request_body = TransferInput,
    responses(
        (status = 201, description = "The pending transfer", body = Transfer,
            headers(("Location" = String, description = "The case"))),
        (status = 403, description = "Only the case's counselling service", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case within the caller's scope", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`transfer_not_possible` in this status; `transfer_pending`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: a missing field, or `to_service_id` not another active cantonal counselling service", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn propose_transfer(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    Json(input): Json<TransferInput>,
) -> Result<Created<Transfer>, ApiError> {
    let request = CaseRequest::new(&state, &caller, id, "case.transfer_propose");
    let actor = request.actor();
    let (mut tx, head): (_, CaseHead) = request.lock(Operation::ProposeTransfer).await?;
    let new = governance::parse_transfer(&input).map_err(ApiError::Validation)?;
    let to = holding::receiving_service(&mut tx, new.to_service_id).await?;
    governance::check_receiving_service(head.counselling_service_id, to.as_ref())
        .map_err(|e| ApiError::Validation(vec![e]))?;
    let transfer = holding::insert_transfer(
        &mut tx,
        id,
        head.counselling_service_id,
        new.to_service_id,
        &new.reason,
        actor.id,
    )
    .await?;
    cases::bump_version(&mut tx, id, head.version).await?;
    holding::record_history(
        &mut tx,
        id,
        HoldingEvent::ProposeTransfer,
        head.status,
        history_actor(actor)?,
        Some(&new.reason),
    )
    .await?;
    let event = request.allowed().details(serde_json::json!({
        "transfer_id": transfer.id,
        "to_service_id": new.to_service_id,
    }));
    audit::record(&mut *tx, &event).await?;
    tx.commit().await?;
    Ok(created(format!("/v1/cases/{id}"), transfer))
}

/// Locks the case for the receiving service's answer to its pending transfer.
async fn pending_for_receiver<'a>(
    request: &CaseRequest<'a>,
) -> Result<(super::request::CaseTx, CaseHead, Transfer), ApiError> {
    let (mut tx, head): (_, CaseHead) = request.lock(Operation::DecideTransfer).await?;
    let Some(transfer) = holding::pending_transfer(&mut tx, head.id).await? else {
        return Err(ApiError::Conflict {
            code: ProblemCode::NoPendingTransfer,
            detail: "the case has no transfer waiting for an answer".to_owned(),
        });
    };
    Ok((tx, head, transfer))
}

/// Accept a canton transfer
///
/// Accept the pending transfer of a case to the caller's counselling service, naming the
/// counsellor who takes it over. The case's service, canton and counsellor change; its
/// reference stays. From now on the sending service no longer sees the case (its earlier
/// reads stay in the access log).
#[utoipa::path(post, path = "/v1/cases/{id}/transfer/accept", tag = "cases",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The case id")),
    request_body = TransferAcceptInput,
    responses(
        (status = 200, description = "The accepted transfer", body = Transfer),
        (status = 403, description = "Only the receiving counselling service answers", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case transferred to the caller's service", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`transfer_not_possible`: the case's travel was booked or it ended meanwhile (decline it)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: `counsellor_id` missing or not an active counsellor of the caller's service", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn accept_transfer(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    Json(input): Json<TransferAcceptInput>,
) -> Result<Json<Transfer>, ApiError> {
    let request = CaseRequest::new(&state, &caller, id, "case.transfer_accept");
    let actor = request.actor();
    let (mut tx, head, transfer) = pending_for_receiver(&request).await?;
    let counsellor_id = governance::parse_transfer_accept(&input).map_err(ApiError::Validation)?;
    if !head.status.transferable() {
        return Err(ApiError::Conflict {
            code: ProblemCode::TransferNotPossible,
            detail: format!("the case is {} now; decline the transfer", head.status),
        });
    }
    let assignee = holding::assignee(&mut tx, counsellor_id).await?;
    governance::check_assignee(
        AssignmentRole::Counsellor,
        assignee.as_ref(),
        actor.institution_id,
        actor.institution_id,
    )
    .map_err(|mut e| {
        e.field = "counsellor_id".to_owned();
        e.message = "counsellor_id must name an active counsellor of your service".to_owned();
        ApiError::Validation(vec![e])
    })?;
    let accepted = holding::accept_transfer(&mut tx, &transfer, counsellor_id, actor.id).await?;
    cases::bump_version(&mut tx, id, head.version).await?;
    holding::record_history(
        &mut tx,
        id,
        HoldingEvent::AcceptTransfer,
        head.status,
        history_actor(actor)?,
        None,
    )
    .await?;
    let event = request.allowed().details(serde_json::json!({
        "transfer_id": transfer.id,
        "from_service_id": transfer.from_service_id,
        "counsellor_id": counsellor_id,
    }));
    audit::record(&mut *tx, &event).await?;
    tx.commit().await?;
    Ok(Json(accepted))
}

/// Decline a canton transfer
///
/// Decline the pending transfer of a case to the caller's counselling service, with a
/// reason; the case stays with the sending service, which can change it again.
#[utoipa::path(post, path = "/v1/cases/{id}/transfer/decline", tag = "cases",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The case id")),
    request_body = ReasonInput,
    responses(
        (status = 200, description = "The declined transfer", body = Transfer),
        (status = 403, description = "Only the receiving counselling service answers", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case transferred to the caller's service", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: the reason is missing or too long", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn decline_transfer(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    Json(input): Json<ReasonInput>,
) -> Result<Json<Transfer>, ApiError> {
    let request = CaseRequest::new(&state, &caller, id, "case.transfer_decline");
    let actor = request.actor();
    let (mut tx, head, transfer) = pending_for_receiver(&request).await?;
    let reason = governance::parse_reason(&input).map_err(ApiError::Validation)?;
    let declined = holding::decline_transfer(&mut tx, &transfer, &reason, actor.id).await?;
    cases::bump_version(&mut tx, id, head.version).await?;
    holding::record_history(
        &mut tx,
        id,
        HoldingEvent::DeclineTransfer,
        head.status,
        history_actor(actor)?,
        Some(&reason),
    )
    .await?;
    let event = request.allowed().details(serde_json::json!({ "transfer_id": transfer.id }));
    audit::record(&mut *tx, &event).await?;
    tx.commit().await?;
    Ok(Json(declined))
}
