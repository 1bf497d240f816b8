//! What a case's household is entitled to (issue "Assistance"): computed from the case's
//! household, programme, procedure phase, destination and eligibility answers, with the
//! tariffs and destination lists valid on the planned departure date.

use axum::extract::State;
use retour_domain::entitlement::{Entitlement, EntitlementError, EntitlementInput, calculate};
use retour_domain::policy::{self, CaseView, Operation};
use retour_store::audit;
use retour_store::cases::{CaseRead, StoredCase};
use retour_store::tariffs;
use sqlx::PgConnection;
use uuid::Uuid;

use super::request::CaseRequest;
use crate::auth::Caller;
use crate::error::Problem;
use crate::json::Json;
use crate::path::Path;
use crate::{ApiError, AppState};

/// The entitlement of `case` (read with the full view): the tariffs and destination rules of
/// its planned departure date (today in Switzerland when none is planned).
pub(super) async fn entitlement_of(
    conn: &mut PgConnection,
    case: &StoredCase,
) -> Result<Entitlement, ApiError> {
    let head = &case.head;
    let date = match head.planned_departure_date {
        Some(date) => date,
        None => tariffs::swiss_today(&mut *conn).await?,
    };
    let tariffs: Vec<_> = tariffs::tariffs_on(&mut *conn, Some(head.programme), date)
        .await?
        .into_iter()
        .map(|version| version.tariff)
        .collect();
    let destination =
        tariffs::destination_on(&mut *conn, head.destination_country.as_str(), date).await?;
    let input = EntitlementInput {
        programme: head.programme,
        phase: case.procedure_phase.flatten(),
        household: case.household(),
        destination,
        eligibility: case.eligibility_answers(),
        higher_travel_money: false,
        departure_date: date,
        tariffs,
    };
    calculate(&input).map_err(|error| match error {
        EntitlementError::PhaseRequired => ApiError::validation(
            "procedure_phase",
            "required",
            "the federal-centre tariffs depend on the procedure phase: set the case's \
             procedure_phase first",
        ),
        EntitlementError::Overflow => ApiError::internal(error),
    })
}

/// Get a case's entitlement
///
/// The most the case's household may receive per assistance component, each with the rules
/// that produced it (`explanation`), on the planned departure date (today when none is
/// planned): ages on that date (minor = under 18), the stay since entry (cantonal start-up
/// cash halved under three months), the programme and procedure phase, the destination
/// (visa-exempt: travel costs only; suspended: nothing) and the eligibility answers.
/// `is_example` marks amounts from example tariffs (the federal-centre phase table is not
/// public). `total_rappen` adds the components that have a maximum. Travel money is given at
/// the standard rate; SEM grants the higher rate (country or health reasons) as an approval
/// above the entitlement, with a justification. For the roles that see the case's assistance
/// (counselling service, SEM, swissREPAT, IOM Bern); for swissREPAT and IOM Bern a sentence
/// derived from data their role does not see (eligibility answers, the stay since entry, the
/// procedure phase) is replaced by "Further rules about this household apply that your role
/// does not see."
#[utoipa::path(get, path = "/v1/cases/{id}/entitlement", tag = "cases", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The case id")),
    responses(
        (status = 200, description = "The entitlement", body = Entitlement),
        (status = 403, description = "The caller's role does not see the case's assistance", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case within the caller's scope", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: a federal-centre case without its procedure phase", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn get_case_entitlement(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<Json<Entitlement>, ApiError> {
    let actor = &caller.actor;
    let request = CaseRequest::new(&state, &caller, id, "case.entitlement_read");
    // The full household is read (entry dates decide the halving), but only the entitlement
    // leaves: never the data the caller's view withholds.
    let read = state.store().read_case(id, policy::case_scope(actor), &CaseView::FULL).await?;
    let case = match read {
        CaseRead::Visible(case) => Some(case),
        CaseRead::Missing | CaseRead::OutOfScope => None,
    };
    let facts = case.as_ref().map(|c| c.head.facts());
    request.authorize(Operation::ReadEntitlement, facts.as_ref()).await?;
    let Some(case) = case else { return Err(ApiError::NotFound) };
    let mut conn = state.store().pool().acquire().await?;
    // The explanation says only what the caller's view allows: a sentence derived from
    // eligibility answers, the stay since entry or the procedure phase is replaced for
    // swissREPAT and IOM Bern.
    let entitlement =
        entitlement_of(&mut conn, &case).await?.as_seen_with(&policy::case_view(actor));
    let event = request.allowed().details(serde_json::json!({ "on": entitlement.on }));
    audit::record(&mut *conn, &event).await?;
    Ok(Json(entitlement))
}
