//! Reclaims of return assistance (AsylV 2 Art. 62 al. 5), recorded by SEM after a departure
//! (re-entry) or a cancellation (non-departure), then settled or waived.

use axum::extract::State;
use retour_domain::event::EventType;
use retour_domain::governance::FourEyesKind;
use retour_domain::policy::Operation;
use retour_domain::reclaim::{
    ReclaimInput, ReclaimStatus, ReclaimUpdateInput, parse_reclaim, parse_reclaim_update,
};
use retour_domain::records::Reclaim;
use retour_store::audit;
use retour_store::cases::{self, CaseHead};
use retour_store::holding;
use retour_store::workflow::{self, ReclaimChange};
use uuid::Uuid;

use super::request::CaseRequest;
use crate::auth::Caller;
use crate::error::{Problem, ProblemCode};
use crate::json::Json;
use crate::path::Path;
use crate::routes::{Created, created};
use crate::{ApiError, AppState};

/// Record a reclaim
///
/// Record a reclaim: the amount a person who re-entered (`re_entry`) or did not leave
/// (`non_departure`) must repay. SEM, once the case departed or was cancelled. All reclaims
/// of the case that are open or settled add up to at most what was paid out to it: the cash
/// at the departure and the disbursements, or before a departure what SEM approved (422
/// `exceeds_paid_out` on `amount_rappen`). Shown in the case to SEM and the counselling
/// service.
#[utoipa::path(post, path = "/v1/cases/{id}/reclaims", tag = "cases", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The case id")),
    request_body = ReclaimInput,
    responses(
        (status = 201, description = "The reclaim, open", body = Reclaim,
            headers(("Location" = String, description = "The reclaim's URL (to settle or waive it)"))),
        (status = 403, description = "Only SEM records reclaims", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case within the caller's scope", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`reclaim_not_possible`: the case neither departed nor was cancelled", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` naming every invalid field, or more reclaimed than was paid out", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn add_reclaim(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    Json(input): Json<ReclaimInput>,
) -> Result<Created<Reclaim>, ApiError> {
    const ACTION: &str = "case.reclaim_add";
    let request = CaseRequest::new(&state, &caller, id, ACTION);
    let (mut tx, head): (_, CaseHead) = request.lock(Operation::ManageReclaims).await?;
    let new = parse_reclaim(&input).map_err(ApiError::Validation)?;
    // The case's row lock, taken with the request, keeps concurrent reclaims from both fitting.
    let basis = workflow::reclaim_basis(&mut tx, id).await?;
    basis.check(new.amount_rappen).map_err(|error| ApiError::Validation(vec![error]))?;
    let reclaim = workflow::insert_reclaim(&mut tx, id, caller.actor.id, &new).await?;
    cases::bump_version(&mut tx, id, head.version).await?;
    let data = serde_json::json!({ "reclaim_id": reclaim.id, "reclaim_status": reclaim.status });
    request.announce(&mut tx, EventType::ReclaimOpened, data).await?;
    // Which fields were given, never their values (the access log outlives them).
    let fields: Vec<&str> = ["reason", "amount_rappen"]
        .into_iter()
        .chain(new.comment.as_ref().map(|_| "comment"))
        .collect();
    let event = request
        .allowed()
        .details(serde_json::json!({ "reclaim_id": reclaim.id, "fields": fields }));
    audit::record(&mut *tx, &event).await?;
    tx.commit().await?;
    Ok(created(format!("/v1/cases/{id}/reclaims/{}", reclaim.id), reclaim))
}

/// Settle or waive a reclaim
///
/// Settle or waive an open reclaim (SEM). An open reclaim changes once: a settled or waived
/// one answers 409 `reclaim_not_open`. Where the installation requires a second SEM officer
/// to waive a reclaim (the default), a waiver is proposed at `/v1/cases/{id}/proposals`
/// instead (409 `second_person_required` here).
#[utoipa::path(patch, path = "/v1/cases/{id}/reclaims/{reclaim_id}", tag = "cases",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "The case id"),
        ("reclaim_id" = Uuid, Path, description = "The reclaim id"),
    ),
    request_body = ReclaimUpdateInput,
    responses(
        (status = 200, description = "The reclaim", body = Reclaim),
        (status = 403, description = "Only SEM changes reclaims", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case within the caller's scope, or no such reclaim of it", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`reclaim_not_open`; `second_person_required` for a waiver that needs a second SEM officer", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` naming every invalid field", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn patch_reclaim(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, reclaim_id)): Path<(Uuid, Uuid)>,
    Json(input): Json<ReclaimUpdateInput>,
) -> Result<Json<Reclaim>, ApiError> {
    const ACTION: &str = "case.reclaim_update";
    let request = CaseRequest::new(&state, &caller, id, ACTION);
    let (mut tx, head): (_, CaseHead) = request.lock(Operation::ManageReclaims).await?;
    let update = parse_reclaim_update(&input).map_err(ApiError::Validation)?;
    // A waiver of an open reclaim may need a second officer; one that is not open is refused
    // as not open below.
    let open =
        workflow::reclaim_status(&mut tx, id, reclaim_id).await? == Some(ReclaimStatus::Open);
    if update.status == ReclaimStatus::Waived
        && open
        && holding::four_eyes_required(&mut tx, FourEyesKind::ReclaimWaiver).await?
    {
        return Err(ApiError::Conflict {
            code: ProblemCode::SecondPersonRequired,
            detail: format!(
                "waiving a reclaim needs a second SEM officer: propose it at \
                 /v1/cases/{id}/proposals"
            ),
        });
    }
    let reclaim = match workflow::update_reclaim(&mut tx, id, reclaim_id, &update).await? {
        ReclaimChange::Changed(reclaim) => reclaim,
        ReclaimChange::NotOpen(status) => {
            return Err(ApiError::Conflict {
                code: ProblemCode::ReclaimNotOpen,
                detail: format!("the reclaim is {status} already"),
            });
        }
        ReclaimChange::Missing => return Err(ApiError::NotFound),
    };
    cases::bump_version(&mut tx, id, head.version).await?;
    let data = serde_json::json!({ "reclaim_id": reclaim.id, "reclaim_status": reclaim.status });
    request.announce(&mut tx, EventType::ReclaimUpdated, data).await?;
    let event = request
        .allowed()
        .details(serde_json::json!({ "reclaim_id": reclaim.id, "status": reclaim.status }));
    audit::record(&mut *tx, &event).await?;
    tx.commit().await?;
    Ok(Json(reclaim))
}
